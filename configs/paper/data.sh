#!/usr/bin/env bash
# Data for the paper's presets (configs/paper/*.yaml), converted from the releases, which cannot be
# downloaded by this script (get them first; see ../shared/reference/DATASETS.md):
#   PROOFWRITER=DIR   the ProofWriter release (its OWA/depth-5/meta-{train,dev,test}.jsonl), as
#                     RECKONING built it: proofs of at least 2 statements, labels balanced per
#                     theory, all other statements of the theory as distractors
#                     (PROOFWRITER_DEPTH=2|3|5 picks the depth, default 5)
#   CLUTRR_SG=DIR     CLUTRR-SG line files: DIR/train.txt, DIR/valid.txt, DIR/test.txt
# Usage: PROOFWRITER=~/data/proofwriter CLUTRR_SG=~/data/clutrr-sg configs/paper/data.sh
# Writes runs/paper/{proofwriter,clutrr-sg}/{train,valid,test}.jsonl; a dataset whose variable is
# unset is skipped. RECKONING=/path/to/reckoning picks the binary (default build/reckoning).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$here"
bin="${RECKONING:-$here/build/reckoning}"
[ -x "$bin" ] || { echo "data.sh: no reckoning binary at $bin (scripts/build.sh reckoning)" >&2; exit 2; }
if [ -z "${PROOFWRITER:-}" ] && [ -z "${CLUTRR_SG:-}" ]; then
  sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
fi
if [ -n "${PROOFWRITER:-}" ]; then
  depth="${PROOFWRITER_DEPTH:-5}"
  out=runs/paper/proofwriter
  mkdir -p "$out"
  for split in train:train dev:valid test:test; do
    "$bin" data convert --from proofwriter "$PROOFWRITER/OWA/depth-$depth/meta-${split%%:*}.jsonl" \
      --out "$out/${split##*:}.jsonl" --distractors all --min-statements 2 --balance --seed 1
  done
fi
if [ -n "${CLUTRR_SG:-}" ]; then
  out=runs/paper/clutrr-sg
  mkdir -p "$out"
  for split in train valid test; do
    "$bin" data convert --from clutrr-sg "$CLUTRR_SG/$split.txt" --out "$out/$split.jsonl"
  done
fi
