#!/usr/bin/env bash
# The README's main job, end to end: install what is missing, build, generate a small CLUTRR-style
# kinship dataset (2, 4 and 6 hops, letter style), meta-train a small GPT-2 from scratch with
# RECKONING, multi-task, learned per-layer inner rates (configs/main-job.yaml, 1 thread, ~10 min),
# evaluate the best checkpoint on the test set (per-hop accuracy next to chance), and show
# `reckoning answer` on one test question. Everything goes to runs/main-job/ (replaced each run).
# Usage: scripts/main-job.sh   (from anywhere; RECKONING_BUILD_JOBS sets the build's parallelism)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here"

"$here/scripts/build.sh" reckoning
bin="$here/build/reckoning"
run=runs/main-job
data="$run/data"
rm -rf "$run"

echo "== data: CLUTRR-style kinship puzzles, letter style, 2/4/6 hops -> $data"
"$bin" data generate clutrr --style letters --hops 2,4,6 --test-hops 2,4,6 \
  --per-hop 3000 --valid-per-hop 50 --test-per-hop 100 --seed 1 --out-dir "$data"

echo "== training (configs/main-job.yaml) -> $run"
start=$(date +%s)
"$bin" train --config configs/main-job.yaml
end=$(date +%s)
echo "training + evaluation took $(( (end - start) / 60 ))m$(( (end - start) % 60 ))s"

# Three 2-hop test questions: each task's facts go into the weights, then its question is answered.
echo
echo "== examples: reckoning answer --model $run/checkpoints/best --facts FACTS.json --question QUESTION"
grep -m 3 '"hops":2,' "$data/test.jsonl" | while IFS= read -r example; do
  facts="$(sed -E 's/.*"facts":(\[[^]]*\]).*/\1/' <<<"$example")"
  question="$(sed -E 's/.*"question":"([^"]*)".*/\1/' <<<"$example")"
  gold="$(sed -E 's/.*"answer":"([^"]*)".*/\1/' <<<"$example")"
  printf '%s\n' "$facts" >"$run/example_facts.json"
  answer="$("$bin" answer --model "$run/checkpoints/best" --facts "$run/example_facts.json" \
    --question "$question")"
  echo "facts $facts  question \"$question\"  ->  $answer   (gold: $gold)"
done
echo
echo "model:       $run/checkpoints/best   (learned inner rates: $bin inspect $run/checkpoints/best)"
echo "metrics:     $run/metrics.jsonl (per step), $run/eval.jsonl (validations)"
echo "test report: $run/test_report.json"
