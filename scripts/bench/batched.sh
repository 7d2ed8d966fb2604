#!/usr/bin/env bash
# Task-batched inner loops against one task at a time, side by side in one run (docs/PERFORMANCE.md,
# "Task-batched inner loops"). Every comparison alternates its settings `--repeat` times and reports
# the median tasks per second of each:
#   1. training: the README's main job (configs/main-job.yaml, 1 thread) without outer.task_clip
#      (which takes the tasks one at a time), a short run per setting, tasks/s from metrics.jsonl
#      (steps 6 and on): outer.batched false vs true at 4 tasks per step, and batched at 16;
#   2. the meta step of the anchor presets (2 x 128 and 4 x 256, vocabulary 512, 8 tasks per step,
#      `--threads`): --sequential vs batched;
#   3. evaluation: `reckoning bench eval` of a trained model (default the main job's best
#      checkpoint) on its test tasks, eval.batch_tasks 1 vs 8 vs 32.
# Usage: scripts/bench/batched.sh [--repeat N] [--threads N] [--steps N] [--model DIR] [--data FILE]
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$here"
bin="${RECKONING:-build/reckoning}"
repeat=2 threads=2 steps=60 model=runs/main-job/checkpoints/best data=runs/main-job/data/test.jsonl
while [[ $# -gt 0 ]]; do
  case "$1" in
    --repeat) repeat="$2"; shift 2 ;;
    --threads) threads="$2"; shift 2 ;;
    --steps) steps="$2"; shift 2 ;;
    --model) model="$2"; shift 2 ;;
    --data) data="$2"; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
[[ -x "$bin" ]] || { echo "no $bin: build first (scripts/build.sh reckoning)" >&2; exit 1; }
[[ -f runs/main-job/data/train.jsonl ]] || { echo "no runs/main-job/data: run scripts/main-job.sh first" >&2; exit 1; }
out="$(mktemp -d /tmp/reckoning-batched.XXXXXX)"
trap 'rm -rf "$out"' EXIT

median() { python3 -c 'import sys,statistics; print("%.2f" % statistics.median(float(x) for x in sys.argv[1:]))' "$@"; }

echo "== 1. training, configs/main-job.yaml with outer.task_clip 0, 1 thread, $steps steps per run (tasks/s)"
declare -A train
for ((r = 1; r <= repeat; r++)); do
  for setting in "sequential 4 false" "batched 4 true" "batched 16 true"; do
    set -- $setting
    dir="$out/train-$1-$2"
    rm -rf "$dir"
    "$bin" train --config configs/main-job.yaml --no-test --set run_dir="$dir" --set outer.max_steps="$steps" \
      --set outer.batch_tasks="$2" --set outer.batched="$3" --set outer.task_clip=0 --set eval.every=100000 --set data.max_eval=8 >/dev/null 2>&1
    rate=$(python3 -c 'import json,sys,statistics; r=[json.loads(l)["tasks_per_s"] for l in open(sys.argv[1])][5:]; print(statistics.median(r))' "$dir/metrics.jsonl")
    train["$1 $2"]+=" $rate"
  done
done
for k in "sequential 4" "batched 4" "batched 16"; do printf '  %-14s %s\n' "$k" "$(median ${train[$k]})"; done

echo "== 2. meta step, 8 tasks per step, vocabulary 512, $threads threads (tasks/s)"
for shape in "2 128 4" "4 256 4"; do
  set -- $shape
  declare -A step=()
  for ((r = 1; r <= repeat; r++)); do
    for mode in sequential batched; do
      flag=""; [[ $mode == sequential ]] && flag="--sequential"
      rate=$("$bin" bench meta-step --layers "$1" --width "$2" --heads "$3" --vocab 512 --tasks 8 $flag \
        --threads "$threads" --warmup 1 --steps 3 --no-peak | python3 -c 'import json,sys; print(json.load(sys.stdin)["tasks_per_second"])')
      step[$mode]+=" $rate"
    done
  done
  printf '  %s x %-4s sequential %s  batched %s\n' "$1" "$2" "$(median ${step[sequential]})" "$(median ${step[batched]})"
done

echo "== 3. evaluation: bench eval --model $model (1 thread)"
if [[ -d "$model" && -f "$data" ]]; then
  "$bin" bench eval --model "$model" --data "$data" --batch-tasks 1 8 32 --max-tasks 96 --repeat "$repeat" --threads 1 |
    python3 -c 'import json,sys; j=json.load(sys.stdin)
for r in j["by_batch"]: print("  batch_tasks %-3d %6.2f tasks/s  accuracy %.3f  same predictions %s" % (r["batch_tasks"], r["tasks_per_second"], r["label_accuracy"], r["same_predictions"]))
print("  speedup %.2fx" % j["speedup"])'
else
  echo "  (no model at $model: train the main job first)"
fi
