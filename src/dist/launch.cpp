// One machine's processes of a run; see launch.h.
#include "reckoning/dist/launch.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>

#include "reckoning/base/error.h"
#include "reckoning/base/threads.h"

namespace reckoning {

namespace {

// The children, for the signal handler that passes SIGTERM / SIGINT on.
std::vector<pid_t> g_children;

void forward_signal(int signal) {
  for (pid_t pid : g_children) {
    if (pid > 0) ::kill(pid, signal);
  }
}

std::string exit_text(int status) {
  if (WIFEXITED(status)) return str("exited with code ", WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return str("was killed by signal ", WTERMSIG(status), " (", ::strsignal(WTERMSIG(status)), ")");
  return "stopped";
}

int exit_code(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 1;
}

}  // namespace

int free_tcp_port(const std::string& addr) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  check(fd >= 0, "launch", "a socket to find a free port", std::strerror(errno));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = 0;
  if (::inet_pton(AF_INET, addr.c_str(), &a.sin_addr) != 1) a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
                  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0;
  const int err = errno;
  ::close(fd);
  check(ok, str("launch: a free port on ", addr), "a port to bind", std::strerror(err));
  return ntohs(a.sin_port);
}

int launch(const std::vector<std::string>& args, const LaunchOptions& options) {
  check(options.nproc >= 1, "launch --nproc", "at least 1 process", std::to_string(options.nproc));
  check(!args.empty(), "launch", "a command after -- (e.g. -- train --config run.yaml)", "nothing");
  const std::string exe = options.executable.empty() ? "/proc/self/exe" : options.executable;
  const int port = options.master_port > 0 ? options.master_port : free_tcp_port(options.master_addr);
  const bool user_threads = std::getenv("RECKONING_THREADS") != nullptr;
  const int threads = std::max(1, cpu_budget().cpus / options.nproc);
  std::fprintf(stderr, "reckoning launch: %d processes, rendezvous at %s:%d%s\n", options.nproc,
               options.master_addr.c_str(), port,
               user_threads ? "" : str(", ", threads, " thread(s) each (RECKONING_THREADS)").c_str());

  g_children.assign(static_cast<size_t>(options.nproc), -1);
  struct sigaction forward{}, old_term{}, old_int{};
  forward.sa_handler = forward_signal;
  sigemptyset(&forward.sa_mask);
  ::sigaction(SIGTERM, &forward, &old_term);
  ::sigaction(SIGINT, &forward, &old_int);

  for (int rank = 0; rank < options.nproc; ++rank) {
    const pid_t pid = ::fork();
    check(pid >= 0, "launch", "a child process", std::strerror(errno));
    if (pid == 0) {
      ::signal(SIGTERM, SIG_DFL);
      ::signal(SIGINT, SIG_DFL);
      ::setenv("RANK", std::to_string(rank).c_str(), 1);
      ::setenv("LOCAL_RANK", std::to_string(rank).c_str(), 1);
      ::setenv("WORLD_SIZE", std::to_string(options.nproc).c_str(), 1);
      ::setenv("LOCAL_WORLD_SIZE", std::to_string(options.nproc).c_str(), 1);
      ::setenv("MASTER_ADDR", options.master_addr.c_str(), 1);
      ::setenv("MASTER_PORT", std::to_string(port).c_str(), 1);
      if (!user_threads) ::setenv("RECKONING_THREADS", std::to_string(threads).c_str(), 1);
      std::vector<char*> argv;
      std::string name = "reckoning";
      argv.push_back(name.data());
      std::vector<std::string> copy = args;
      for (std::string& a : copy) argv.push_back(a.data());
      argv.push_back(nullptr);
      ::execv(exe.c_str(), argv.data());
      std::fprintf(stderr, "reckoning launch: rank %d: cannot run %s: %s\n", rank, exe.c_str(), std::strerror(errno));
      ::_exit(127);
    }
    g_children[static_cast<size_t>(rank)] = pid;
  }

  // Wait for all; the first failure stops the rest.
  int result = 0, running = options.nproc;
  bool stopping = false;
  auto stop_deadline = std::chrono::steady_clock::time_point::max();
  while (running > 0) {
    int status = 0;
    const pid_t pid = ::waitpid(-1, &status, stopping ? WNOHANG : 0);
    if (pid < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (pid == 0) {  // stopping: poll until the grace period ends, then kill what is left
      if (std::chrono::steady_clock::now() >= stop_deadline) {
        forward_signal(SIGKILL);
        stop_deadline = std::chrono::steady_clock::time_point::max();
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      continue;
    }
    const auto it = std::find(g_children.begin(), g_children.end(), pid);
    if (it == g_children.end()) continue;
    const int rank = static_cast<int>(it - g_children.begin());
    *it = -1;
    --running;
    if (exit_code(status) == 0 || stopping) continue;
    result = exit_code(status);
    std::fprintf(stderr, "reckoning launch: rank %d (pid %d) %s; stopping the other %d process(es)\n", rank, pid,
                 exit_text(status).c_str(), running);
    stopping = true;
    forward_signal(SIGTERM);
    stop_deadline = std::chrono::steady_clock::now() +
                    std::chrono::milliseconds(static_cast<int64_t>(options.grace_seconds * 1000));
  }
  ::sigaction(SIGTERM, &old_term, nullptr);
  ::sigaction(SIGINT, &old_int, nullptr);
  g_children.clear();
  return result;
}

}  // namespace reckoning
