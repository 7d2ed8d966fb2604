#!/usr/bin/env bash
# Experiment data (scripts/experiment.sh runs this with RECKONING set to the binary): ProofWriter-
# style theories (attribute and relation, with negation, open-world assumption, questions at depth
# 0..5), generated in the release's meta format and converted with RECKONING's preprocessing:
# questions whose proof uses fewer than 2 statements dropped, labels balanced per theory, every
# other statement of the theory kept as a distractor (the arms choose how many to encode with
# data.distractors). Train, validation and test come from disjoint theories (different seeds).
set -euo pipefail
out=runs/experiments/proofwriter/data
[ -s "$out/test.jsonl" ] && exit 0
mkdir -p "$out"
split() {  # NAME THEORIES SEED
  "$RECKONING" data generate proofwriter --format meta --depth 5 --world owa --theories "$2" --seed "$3" \
    --out "$out/meta-$1.jsonl"
  "$RECKONING" data convert --from proofwriter "$out/meta-$1.jsonl" --distractors all --balance --seed "$3" \
    --out "$out/$1.jsonl"
}
split train 3000 11
split valid 60 12
split test 200 13
