#!/usr/bin/env bash
# Experiment data (scripts/experiment.sh runs this with RECKONING set to the binary): the README's
# main-job data (scripts/main-job.sh): CLUTRR-style kinship puzzles, letter style, 2/4/6 hops,
# 3000 per hop for training, 50 per hop for validation, 100 per hop for the test. Deterministic.
set -euo pipefail
out=runs/experiments/main-job/data
[ -s "$out/test.jsonl" ] && exit 0
"$RECKONING" data generate clutrr --style letters --hops 2,4,6 --test-hops 2,4,6 \
  --per-hop 3000 --valid-per-hop 50 --test-per-hop 100 --seed 1 --out-dir "$out"
