#!/usr/bin/env bash
# Regenerates docs/report.png, the screenshot in docs/REPORT.md: two short training runs of
# configs/main-job.yaml (300 steps, validation every 100), one with a single static inner rate and
# one with learned per-layer rates, then `reckoning report` over both and a headless-Chromium
# screenshot of the page. ~5 minutes on 2 cores (the runs use one thread each, in parallel).
# Usage: scripts/report-screenshot.sh   (SEEDS="1 2" for more seeds per arm; outputs under runs/report/)
#        scripts/report-screenshot.sh REPORT.html   (only the screenshot, of an existing report, e.g.
#        runs/experiments/rates/report.html written by scripts/experiment.sh)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here"

screenshot() {  # HTML_FILE PROFILE_DIR
  local chromium
  chromium=$(command -v chromium || command -v chromium-browser || true)
  [ -n "$chromium" ] || { echo "report-screenshot: chromium not found (scripts/install-deps.sh installs it)" >&2; exit 1; }
  "$chromium" --headless --no-sandbox --disable-gpu --hide-scrollbars --user-data-dir="$2" \
    --window-size="${WIDTH:-1450}","${HEIGHT:-3500}" --screenshot="$here/docs/report.png" "file://$(realpath "$1")" 2>/dev/null
  echo "wrote docs/report.png from $1"
}

if [ $# -ge 1 ]; then
  [ -f "$1" ] || { echo "report-screenshot: no such report '$1'" >&2; exit 2; }
  screenshot "$1" "$(mktemp -d)"
  exit 0
fi

"$here/scripts/build.sh" reckoning
bin="$here/build/reckoning"
out=runs/report
data="$out/data"
seeds="${SEEDS:-1}"
rm -rf "$out"

"$bin" data generate clutrr --style letters --hops 2,4,6 --test-hops 2,4,6 \
  --per-hop 1000 --valid-per-hop 50 --test-per-hop 50 --seed 1 --out-dir "$data"

run_dirs=()
pids=()
for mode in static per-layer; do
  for seed in $seeds; do
    run="$out/$mode-seed$seed"
    run_dirs+=("$run")
    "$bin" train --config configs/main-job.yaml \
      --set outer.max_steps=300 --set eval.every=100 --set inner.lr_mode="$mode" --set seed="$seed" \
      --set threads=1 --set data.train="$data/train.jsonl" --set data.valid="$data/valid.jsonl" \
      --set data.test="$data/test.jsonl" --set run_dir="$run" >"$run.log" 2>&1 &
    pids+=($!)
  done
done
for pid in "${pids[@]}"; do wait "$pid" || { echo "report-screenshot: a training run failed (logs: $out/*.log)" >&2; exit 1; }; done
"$bin" report "${run_dirs[@]}" --out "$out/report.html" --title "RECKONING report: static vs learned per-layer rates (300 steps)"
screenshot "$out/report.html" "$out/chromium-profile"
