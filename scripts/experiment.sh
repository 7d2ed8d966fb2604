#!/usr/bin/env bash
# Runs one experiment of configs/experiments/ end to end and collects its results:
#   1. builds reckoning (and installs what is missing),
#   2. generates the experiment's data (configs/experiments/NAME/data.sh; skipped when present),
#   3. trains and tests every arm (configs/experiments/NAME/*.yaml except base.yaml) for every seed,
#      into ARM_RUN_DIR/seed-S (ARM_RUN_DIR = the arm's resolved run_dir); a run whose
#      test_report.json exists is kept, so an interrupted experiment continues where it stopped and
#      arms shared by two experiments (same run_dir) are trained once,
#   4. writes runs/experiments/NAME/report.html (reckoning report) and results.md (the tables).
# Usage: scripts/experiment.sh NAME [--seeds "1 2 3"] [--arms "per-layer static"] [--jobs N]
#   --seeds  model seeds per arm (default "1 2 3"; the data are the same for every seed)
#   --arms   only these arms (config file names without .yaml; default: all)
#   --jobs   runs in parallel (default 1; each run uses the arm's `threads`, 1 in our configs)
# A single arm runs without the driver too: reckoning train --config configs/experiments/NAME/ARM.yaml
# With RECKONING=/path/to/reckoning set, that binary is used and nothing is built (e.g. a frozen copy
# of a build, so that experiments keep running while the source tree changes).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here"

usage() { sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
[ $# -ge 1 ] || usage
name=$1; shift
seeds="1 2 3"; arms=""; jobs=1
while [ $# -gt 0 ]; do
  case $1 in
    --seeds) seeds=$2; shift 2 ;;
    --arms) arms=$2; shift 2 ;;
    --jobs) jobs=$2; shift 2 ;;
    *) echo "experiment.sh: unknown option '$1'" >&2; usage ;;
  esac
done
dir="configs/experiments/$name"
[ -d "$dir" ] || { echo "experiment.sh: no experiment '$name' (expected a directory $dir; have: $(ls configs/experiments | tr '\n' ' '))" >&2; exit 2; }
if [ -z "$arms" ]; then
  arms=$(ls "$dir"/*.yaml | xargs -n1 basename | sed 's/\.yaml$//' | grep -vx base | tr '\n' ' ')
fi
for arm in $arms; do
  [ -f "$dir/$arm.yaml" ] || { echo "experiment.sh: no arm '$arm' (expected $dir/$arm.yaml)" >&2; exit 2; }
done

if [ -n "${RECKONING:-}" ]; then
  [ -x "$RECKONING" ] || { echo "experiment.sh: RECKONING=$RECKONING is not an executable" >&2; exit 2; }
else
  "$here/scripts/build.sh" reckoning
  RECKONING="$here/build/reckoning"
fi
export RECKONING
out="runs/experiments/$name"
mkdir -p "$out"

echo "== data ($dir/data.sh)"
"$dir/data.sh"

# One line per run: ARM SEED RUN_DIR (one plan per invocation: two drivers may share an experiment)
plan=$(mktemp "$out/plan.XXXXXX")
trap 'rm -f "$plan"' EXIT
for arm in $arms; do
  base_run_dir=$("$RECKONING" train --config "$dir/$arm.yaml" --print-config | sed -n 's/^run_dir: "\(.*\)"$/\1/p')
  [ -n "$base_run_dir" ] || { echo "experiment.sh: $dir/$arm.yaml resolves to an empty run_dir" >&2; exit 1; }
  for seed in $seeds; do echo "$arm $seed $base_run_dir/seed-$seed" >>"$plan"; done
done

run_one() {  # ARM SEED RUN_DIR
  local arm=$1 seed=$2 run_dir=$3
  if [ -f "$run_dir/test_report.json" ]; then echo "== $arm seed $seed: done before ($run_dir)"; return 0; fi
  local resume=()
  [ -f "$run_dir/checkpoints/last/config.json" ] && resume=(--resume)
  echo "== $arm seed $seed -> $run_dir ${resume[*]:-}"
  mkdir -p "$run_dir"
  local start; start=$(date +%s)
  if "$RECKONING" train --config "$EXPERIMENT_DIR/$arm.yaml" --set seed="$seed" --set run_dir="$run_dir" \
      "${resume[@]}" >"$run_dir/train.log" 2>&1; then
    echo "== $arm seed $seed: finished in $(( ($(date +%s) - start) / 60 )) min ($run_dir/train.log)"
  else
    echo "== $arm seed $seed: FAILED, see $run_dir/train.log" >&2
    tail -5 "$run_dir/train.log" >&2
    return 1
  fi
}
export -f run_one
export EXPERIMENT_DIR="$dir"
status=0
xargs -P "$jobs" -L 1 bash -c 'run_one "$@"' _ <"$plan" || status=$?

echo "== results"
finished=(); labels=()
while read -r arm seed run_dir; do
  [ -f "$run_dir/config.json" ] || continue
  finished+=("$run_dir"); labels+=(--label "$run_dir=$arm")  # arms are named by their config file
done <"$plan"
if [ ${#finished[@]} -gt 0 ]; then
  "$RECKONING" report "${finished[@]}" "${labels[@]}" --title "RECKONING experiment: $name" \
    --out "$out/report.html" --markdown "$out/results.md"
  cat "$out/results.md"
fi
exit $status
