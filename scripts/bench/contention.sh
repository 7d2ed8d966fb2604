#!/usr/bin/env bash
# Threads under contention (docs/PERFORMANCE.md, "Threads on a shared machine"): the meta step
# (`reckoning bench meta-step`) and training throughput (tasks/s of a short `reckoning train` of the
# main job's recipe) at 1 thread, at N threads, with the default setting (no --threads: the CPUs
# this process may use, OpenMP waiting passively) and at N threads with OpenMP spinning
# (OMP_WAIT_POLICY=active, what the default was before) - each alone on the machine and next to
# one competing busy process, side by side in one run. Prints a markdown table.
#
# Usage: scripts/bench/contention.sh [--bin build/reckoning] [--threads N] [--repeat R] [--out FILE]
#   N defaults to the CPUs of this process's affinity mask; R (default 3) alternates the settings
#   R times and reports the median of each; --out also writes the table to FILE.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
bin="$here/build/reckoning"
threads="$(nproc)"
repeat=3
out=""
while [ $# -gt 0 ]; do
  case "$1" in
    --bin) bin="$2"; shift 2 ;;
    --threads) threads="$2"; shift 2 ;;
    --repeat) repeat="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    *) echo "contention.sh: unknown argument '$1' (expected --bin, --threads, --repeat or --out)" >&2; exit 2 ;;
  esac
done
[ -x "$bin" ] || { echo "contention.sh: no executable at $bin (build first: scripts/build.sh reckoning)" >&2; exit 1; }

work="$(mktemp -d /tmp/reckoning-contention.XXXXXX)"
busy_pid=""
cleanup() { [ -n "$busy_pid" ] && kill "$busy_pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

# Training data: the main job's puzzles, fewer of them (only throughput is measured).
"$bin" --threads 1 data generate clutrr --style letters --hops 2,4,6 --test-hops 2 --per-hop 200 \
  --valid-per-hop 2 --test-per-hop 2 --seed 1 --out-dir "$work/data" >/dev/null

# settings: label | environment | --threads argument
settings=("1 thread|env|--threads 1"
          "$threads threads|env|--threads $threads"
          "default|env|"
          "$threads threads, spinning (old default)|env OMP_WAIT_POLICY=active|--threads $threads")

meta_step() {  # seconds per meta step (median of 5)
  local environment="$1" thread_arg="$2"
  $environment "$bin" $thread_arg bench meta-step --layers 2 --width 128 --heads 4 --vocab 512 \
    --warmup 1 --steps 5 --no-peak | sed -E 's/.*"seconds_median":([0-9.e+-]+).*/\1/'
}

train_rate() {  # tasks per second over training steps 11-60 of the main job's recipe
  local environment="$1" thread_arg="$2" run="$work/run"
  rm -rf "$run"
  $environment "$bin" $thread_arg train --config "$here/configs/main-job.yaml" --no-test \
    --set data.train="$work/data/train.jsonl" --set data.valid= --set data.test= \
    --set outer.max_steps=60 --set eval.every=1000 --set threads=0 --set run_dir="$run" >/dev/null 2>&1
  python3 - "$run/metrics.jsonl" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])][10:]
print(sum(4 for r in rows) / sum(4 / r["tasks_per_s"] for r in rows))
PY
}

median() { sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }

declare -A step rate
for load in alone busy; do
  if [ "$load" = busy ]; then
    sh -c 'while :; do :; done' &
    busy_pid=$!
  fi
  for r in $(seq "$repeat"); do
    for s in "${settings[@]}"; do
      IFS='|' read -r label environment thread_arg <<<"$s"
      step["$load|$label"]+="$(meta_step "$environment" "$thread_arg") "
      rate["$load|$label"]+="$(train_rate "$environment" "$thread_arg") "
    done
  done
  if [ -n "$busy_pid" ]; then kill "$busy_pid"; wait "$busy_pid" 2>/dev/null || true; busy_pid=""; fi
done

{
  echo "| setting | meta step alone (s) | meta step next to a busy process (s) | training alone (tasks/s) | training next to a busy process (tasks/s) |"
  echo "|---|---|---|---|---|"
  for s in "${settings[@]}"; do
    IFS='|' read -r label environment thread_arg <<<"$s"
    printf '| %s | %.3f | %.3f | %.1f | %.1f |\n' "$label" \
      "$(tr ' ' '\n' <<<"${step["alone|$label"]}" | grep . | median)" \
      "$(tr ' ' '\n' <<<"${step["busy|$label"]}" | grep . | median)" \
      "$(tr ' ' '\n' <<<"${rate["alone|$label"]}" | grep . | median)" \
      "$(tr ' ' '\n' <<<"${rate["busy|$label"]}" | grep . | median)"
  done
  echo
  echo "Machine: $(nproc) CPUs usable, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); median of $repeat alternating runs; $(date -u +%Y-%m-%d)."
} | tee "${out:-/dev/null}"
