#!/usr/bin/env bash
# Experiment data (scripts/experiment.sh runs this with RECKONING set to the binary): ProofWriter-
# style theories (attribute and relation, with negation, open-world assumption, questions at depth
# 0..5), generated in the release's meta format and converted with RECKONING's preprocessing
# (questions whose proof uses fewer than 2 statements dropped, every other statement of the theory
# kept as a distractor; the arms choose how many to encode with data.distractors), then balanced
# over each file per hop across label x question polarity (--balance-polarity), so that the
# question alone carries no label: without it, "not -> false, else -> true" scored 65 % (the
# No-Facts control's 64.5 %; docs/PROOFWRITER.md). Balancing keeps ~4.5 tasks per theory, hence
# more theories than before (3000 gave 35k tasks balanced per theory, ~13k now). Train, validation
# and test come from disjoint theories (different seeds).
set -euo pipefail
out=runs/experiments/proofwriter-balanced/data
[ -s "$out/test.jsonl" ] && exit 0
mkdir -p "$out"
split() {  # NAME THEORIES SEED
  "$RECKONING" data generate proofwriter --format meta --depth 5 --world owa --theories "$2" --seed "$3" \
    --out "$out/meta-$1.jsonl"
  "$RECKONING" data convert --from proofwriter "$out/meta-$1.jsonl" --distractors all --balance-polarity \
    --seed "$3" --out "$out/$1.jsonl"
  "$RECKONING" data stats "$out/$1.jsonl" > "$out/$1.stats.txt"
}
split train 3000 11
split valid 100 12
split test 300 13
