#!/usr/bin/env bash
# Experiment data (scripts/experiment.sh runs this with RECKONING set to the binary): CLUTRR-style
# kinship puzzles, letter style, trained on 2, 4 and 6 hops (3000 each), validated on 2/4/6
# (50 each, model selection only) and tested once on 2, 4, 6 and, for generalisation, 8 and 10
# hops (100 each). Deterministic for the seed.
set -euo pipefail
out=runs/experiments/kinship/data
[ -s "$out/test.jsonl" ] && exit 0
"$RECKONING" data generate clutrr --style letters --hops 2,4,6 --test-hops 2,4,6,8,10 \
  --per-hop 3000 --valid-per-hop 50 --test-per-hop 100 --seed 1 --out-dir "$out"
