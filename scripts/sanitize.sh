#!/usr/bin/env bash
# The whole test suite under AddressSanitizer + UndefinedBehaviorSanitizer (docs/RELIABILITY.md):
# builds reckoning with -DRECKONING_SANITIZE=ON into ./build-asan (-O1, line tables) and runs
# the suite there. Any sanitizer report fails the test that triggered it (UBSan does not recover;
# ASan aborts). The caching CPU allocator keeps no freed blocks (RECKONING_MEMORY_CACHE_MB=0), so
# that a use after free of a tensor's memory faults instead of reading a reused block.
# (verify_asan_link_order=0: the disk-fault tests preload their shim before the ASan runtime.)
# LibTorch itself is not instrumented. Extra arguments go to ctest (e.g. -L unit, -E Fuzz).
# Usage: scripts/sanitize.sh [ctest arguments]
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$here/scripts/install-deps.sh"
jobs="${RECKONING_BUILD_JOBS:-$(nproc)}"
cmake -S "$here" -B "$here/build-asan" -DCMAKE_BUILD_TYPE=None -DRECKONING_SANITIZE=ON \
      -DRECKONING_BUILD_BENCH=OFF >/dev/null
cmake --build "$here/build-asan" -j "$jobs"
export ASAN_OPTIONS="detect_leaks=1:verify_asan_link_order=0:abort_on_error=1:strict_string_checks=1:detect_stack_use_after_return=1:check_initialization_order=1${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
export LSAN_OPTIONS="suppressions=$here/scripts/sanitize.supp${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"
export RECKONING_MEMORY_CACHE_MB=0
cd "$here/build-asan"
# The suite's own fuzz pass builds fuzz/ (already sanitized) and is left to scripts/test.sh.
ctest --output-on-failure -j "$(nproc)" -E '^Fuzz\.' "$@"
