#!/usr/bin/env bash
# Installs what is missing and builds reckoning (Release) into ./build. Usage: scripts/build.sh
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$here/scripts/install-deps.sh"
jobs="${RECKONING_BUILD_JOBS:-$(nproc)}"
cmake -S "$here" -B "$here/build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$here/build" -j "$jobs"
