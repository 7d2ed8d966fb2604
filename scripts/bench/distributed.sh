#!/usr/bin/env bash
# Training over 1 and 2 processes of this machine, side by side in one run (docs/PERFORMANCE.md,
# "Several processes"): the README's main job (configs/main-job.yaml), 1 thread per process, a short
# run per setting, the settings alternated `--repeat` times; the median tasks per second of all
# processes together (rank 0's metrics.jsonl, steps 6 and on) and the bytes each process all-reduced
# per step (metrics.jsonl's comm_bytes).
#   1 process x 4 tasks per step        (the main job as it is)
#   2 processes x 2 tasks per step      (the same 4 tasks per step, the same training)
#   2 processes x 4 tasks per step      (8 tasks per step)
# Usage: scripts/bench/distributed.sh [--repeat N] [--steps N]
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$here"
bin="${RECKONING:-build/reckoning}"
repeat=2 steps=60
while [[ $# -gt 0 ]]; do
  case "$1" in
    --repeat) repeat="$2"; shift 2 ;;
    --steps) steps="$2"; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
[[ -x "$bin" ]] || { echo "no $bin: build first (scripts/build.sh reckoning)" >&2; exit 1; }
[[ -f runs/main-job/data/train.jsonl ]] || { echo "no runs/main-job/data: run scripts/main-job.sh first" >&2; exit 1; }
out="$(mktemp -d /tmp/reckoning-distributed.XXXXXX)"
trap 'rm -rf "$out"' EXIT

median() { python3 -c 'import sys,statistics; print("%.2f" % statistics.median(float(x) for x in sys.argv[1:]))' "$@"; }
declare -A rate bytes
for ((r = 1; r <= repeat; r++)); do
  for setting in "1 4" "2 2" "2 4"; do
    set -- $setting
    dir="$out/run-$1-$2"
    rm -rf "$dir"
    args=(train --config configs/main-job.yaml --no-test --set run_dir="$dir" --set outer.max_steps="$steps"
          --set outer.batch_tasks="$2" --set threads=1 --set eval.every=100000 --set data.max_eval=8)
    if [[ $1 == 1 ]]; then "$bin" "${args[@]}" >/dev/null 2>&1; else "$bin" launch --nproc "$1" -- "${args[@]}" >/dev/null 2>&1; fi
    read -r v b < <(python3 -c '
import json, sys, statistics
lines = [json.loads(l) for l in open(sys.argv[1])][5:]
print(statistics.median(l["tasks_per_s"] for l in lines), statistics.median(l.get("comm_bytes", 0) for l in lines))' "$dir/metrics.jsonl")
    rate["$1 $2"]+=" $v"
    bytes["$1 $2"]="$b"
  done
done
echo "processes x tasks each | tasks/s (median) | bytes all-reduced per process per step"
for k in "1 4" "2 2" "2 4"; do
  set -- $k
  printf '  %s x %s | %s | %s\n' "$1" "$2" "$(median ${rate[$k]})" "${bytes[$k]}"
done
