/* Disk faults for tests, injected with LD_PRELOAD into an unmodified `reckoning` process.
 *
 * Environment:
 *   RECKONING_FAULT_PREFIX       only paths starting with this are affected (required)
 *   RECKONING_FAULT_ERRNO        the error to give: 28 (ENOSPC, "No space left on device") or 30
 *                                (EROFS, "Read-only file system")
 *   RECKONING_FAULT_AFTER_BYTES  ENOSPC: writes under the prefix succeed until this many bytes
 *                                have been written there, then every one fails
 *   RECKONING_FAULT_AFTER_OPENS  EROFS: this many opens for writing / mkdirs / renames under the
 *                                prefix succeed, then every one fails
 * A write's path is the one /proc/self/fd names, so files opened any way are covered; write,
 * writev and fwrite are interposed (glibc's own write underneath fwrite is not interposable).
 * Used by tests/train/disk_faults_test.cpp.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

static long long written = 0, opens = 0;

static const char* prefix(void) { return getenv("RECKONING_FAULT_PREFIX"); }
static int fault_errno(void) {
  const char* e = getenv("RECKONING_FAULT_ERRNO");
  return e ? atoi(e) : 0;
}
static long long limit(const char* name) {
  const char* v = getenv(name);
  return v ? atoll(v) : -1;
}
static int under_prefix(const char* path) {
  const char* p = prefix();
  if (p == NULL || path == NULL) return 0;
  char resolved[4096];
  if (path[0] != '/') {
    char cwd[2048];
    if (getcwd(cwd, sizeof cwd) == NULL) return 0;
    snprintf(resolved, sizeof resolved, "%s/%s", cwd, path);
    path = resolved;
  }
  return strncmp(path, p, strlen(p)) == 0;
}
static int fd_under_prefix(int fd) {
  char link[64], target[4096];
  snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
  const ssize_t n = readlink(link, target, sizeof target - 1);
  if (n <= 0) return 0;
  target[n] = '\0';
  return under_prefix(target);
}
/* EROFS: whether this open-for-writing / mkdir / rename under the prefix fails. */
static int refuse_change(const char* path) {
  if (fault_errno() != EROFS || !under_prefix(path)) return 0;
  const long long after = limit("RECKONING_FAULT_AFTER_OPENS");
  return after >= 0 && ++opens > after;
}

/* ENOSPC: whether `count` more bytes to `fd` fail (counted when they do not). */
static int disk_full(int fd, long long count) {
  if (fault_errno() != ENOSPC || fd <= 2 || !fd_under_prefix(fd)) return 0;
  const long long after = limit("RECKONING_FAULT_AFTER_BYTES");
  if (after >= 0 && written + count > after) {
    errno = ENOSPC;
    return 1;
  }
  written += count;
  return 0;
}

ssize_t write(int fd, const void* buf, size_t count) {
  static ssize_t (*real)(int, const void*, size_t) = NULL;
  if (!real) real = (ssize_t(*)(int, const void*, size_t))dlsym(RTLD_NEXT, "write");
  return disk_full(fd, (long long)count) ? -1 : real(fd, buf, count);
}

/* writev (libstdc++'s filebuf writes its buffer and the new data with one writev). */
ssize_t writev(int fd, const struct iovec* iov, int n) {
  static ssize_t (*real)(int, const struct iovec*, int) = NULL;
  if (!real) real = (ssize_t(*)(int, const struct iovec*, int))dlsym(RTLD_NEXT, "writev");
  long long count = 0;
  for (int i = 0; i < n; ++i) count += (long long)iov[i].iov_len;
  return disk_full(fd, count) ? -1 : real(fd, iov, n);
}

/* fwrite too: glibc's own write underneath it is not interposable. */
size_t fwrite(const void* buf, size_t size, size_t n, FILE* f) {
  static size_t (*real)(const void*, size_t, size_t, FILE*) = NULL;
  if (!real) real = (size_t(*)(const void*, size_t, size_t, FILE*))dlsym(RTLD_NEXT, "fwrite");
  return disk_full(f ? fileno(f) : -1, (long long)(size * n)) ? 0 : real(buf, size, n, f);
}

/* EROFS for opens that would write: open, open64, fopen, fopen64, mkdir, rename. */
static int refuse_open(const char* path, int flags) {
  if ((flags & (O_WRONLY | O_RDWR | O_CREAT | O_TRUNC)) == 0 || !refuse_change(path)) return 0;
  errno = EROFS;
  return 1;
}
static int refuse_fopen(const char* path, const char* how) {
  if (how == NULL || !(strchr(how, 'w') || strchr(how, 'a') || strchr(how, '+')) || !refuse_change(path)) return 0;
  errno = EROFS;
  return 1;
}

#define OPEN_WRAPPER(name)                                                        \
  int name(const char* path, int flags, ...) {                                    \
    static int (*real)(const char*, int, ...) = NULL;                             \
    if (!real) real = (int (*)(const char*, int, ...))dlsym(RTLD_NEXT, #name);    \
    mode_t mode = 0;                                                              \
    if (flags & O_CREAT) {                                                        \
      va_list ap;                                                                 \
      va_start(ap, flags);                                                        \
      mode = (mode_t)va_arg(ap, int);                                             \
      va_end(ap);                                                                 \
    }                                                                             \
    return refuse_open(path, flags) ? -1 : real(path, flags, mode);               \
  }
OPEN_WRAPPER(open)
OPEN_WRAPPER(open64)

#define FOPEN_WRAPPER(name)                                                         \
  FILE* name(const char* path, const char* how) {                                   \
    static FILE* (*real)(const char*, const char*) = NULL;                          \
    if (!real) real = (FILE * (*)(const char*, const char*)) dlsym(RTLD_NEXT, #name); \
    return refuse_fopen(path, how) ? NULL : real(path, how);                        \
  }
FOPEN_WRAPPER(fopen)
FOPEN_WRAPPER(fopen64)

int mkdir(const char* path, mode_t mode) {
  static int (*real)(const char*, mode_t) = NULL;
  if (!real) real = (int (*)(const char*, mode_t))dlsym(RTLD_NEXT, "mkdir");
  if (refuse_change(path)) {
    errno = EROFS;
    return -1;
  }
  return real(path, mode);
}

int rename(const char* from, const char* to) {
  static int (*real)(const char*, const char*) = NULL;
  if (!real) real = (int (*)(const char*, const char*))dlsym(RTLD_NEXT, "rename");
  if (refuse_change(to)) {
    errno = EROFS;
    return -1;
  }
  return real(from, to);
}
