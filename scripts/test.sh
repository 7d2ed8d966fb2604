#!/usr/bin/env bash
# The test command: installs what is missing, builds, runs the whole GoogleTest suite via CTest.
# Extra arguments go to ctest (e.g. scripts/test.sh -L tokenizer, scripts/test.sh -LE slow).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$here/scripts/build.sh"
cd "$here/build"
ctest --output-on-failure -j "$(nproc)" "$@"
