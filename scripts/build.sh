#!/usr/bin/env bash
# Installs what is missing and builds reckoning (Release) into ./build.
# Usage: scripts/build.sh [TARGET...]   (no target: everything, tests and benchmarks included)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$here/scripts/install-deps.sh"
jobs="${RECKONING_BUILD_JOBS:-$(nproc)}"
cmake -S "$here" -B "$here/build" -DCMAKE_BUILD_TYPE=Release >/dev/null
if [ "$#" -eq 0 ]; then
  cmake --build "$here/build" -j "$jobs"
else
  for target in "$@"; do cmake --build "$here/build" -j "$jobs" --target "$target"; done
fi
