#!/usr/bin/env bash
# The same kinship data as experiment 1 (rates/data.sh).
exec "$(dirname "${BASH_SOURCE[0]}")/../rates/data.sh"
