#!/usr/bin/env bash
# The parameter-efficient inner loop's cost (docs/PERFORMANCE.md, "LoRA inner loop"): one
# second-order meta-step (4 AdamW inner steps, 8 facts x 24 tokens, a 32-token question; random
# weights and tokens) of GPT-2 small, medium, large and XL shapes with rank-R LoRA adapters on every
# attention and MLP projection and a frozen base, and of GPT-2 small with the full inner loop, side
# by side (small: full and LoRA alternated --repeat times). The Llama family's published shapes run
# the same way (random weights, every q/k/v/o/gate/up/down projection adapted): smollm-135m,
# qwen2.5-0.5b, llama-3.2-1b (docs/MODELS.md); --full names the shapes also measured with the full
# inner loop. Each measurement is its own process, so its peak resident memory is its own. Prints a
# markdown table.
#
# Usage: scripts/bench/lora.sh [--bin build/reckoning] [--threads N] [--rank R] [--repeat K]
#                              [--shapes "small medium large xl"] [--full "small"] [--out FILE]
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
bin="$here/build/reckoning"; threads=1; rank=16; repeat=2; shapes="small medium large xl"; full="small"; out=""
while [ $# -gt 0 ]; do
  case "$1" in
    --bin) bin="$2"; shift 2 ;;
    --threads) threads="$2"; shift 2 ;;
    --rank) rank="$2"; shift 2 ;;
    --repeat) repeat="$2"; shift 2 ;;
    --shapes) shapes="$2"; shift 2 ;;
    --full) full="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    *) echo "lora.sh: unknown argument '$1' (expected --bin, --threads, --rank, --repeat, --shapes, --full or --out)" >&2; exit 2 ;;
  esac
done
[ -x "$bin" ] || { echo "lora.sh: no executable at $bin (build first: scripts/build.sh reckoning)" >&2; exit 1; }

shape_args() {  # GPT-2's published shapes, and the Llama family's (bench meta-step --shape)
  case "$1" in
    small) echo "--layers 12 --width 768 --heads 12 --vocab 50257" ;;
    medium) echo "--layers 24 --width 1024 --heads 16 --vocab 50257" ;;
    large) echo "--layers 36 --width 1280 --heads 20 --vocab 50257" ;;
    xl) echo "--layers 48 --width 1600 --heads 25 --vocab 50257" ;;
    smollm-135m|qwen2.5-0.5b|llama-3.2-1b) echo "--shape $1" ;;
    *) echo "lora.sh: unknown shape '$1' (small, medium, large, xl, smollm-135m, qwen2.5-0.5b, llama-3.2-1b)" >&2; exit 2 ;;
  esac
}

results="$(mktemp /tmp/reckoning-lora-bench.XXXXXX)"
trap 'rm -f "$results"' EXIT
step() {  # shape adapt -> one JSON line appended to $results
  local shape="$1" adapt="$2" extra=""
  [ "$adapt" = lora ] && extra="--adapt lora --lora-rank $rank --lora-alpha $((2 * rank)) --lora-targets all --frozen-base"
  local steps=2
  case "$shape" in xl|large|qwen2.5-0.5b|llama-3.2-1b) steps=1 ;; esac
  # shellcheck disable=SC2046
  "$bin" --threads "$threads" bench meta-step $(shape_args "$shape") $extra \
    --warmup 1 --steps "$steps" --no-peak | sed "s/^{/{\"shape\":\"$shape\",/" >> "$results"
}

for r in $(seq "$repeat"); do
  for shape in $shapes; do
    if echo " $full " | grep -q " $shape "; then step "$shape" full; fi
    step "$shape" lora
  done
  # the larger shapes once: their runs are long and their ratios are not side by side
  shapes="$(echo "$shapes" | tr ' ' '\n' | grep -x -e small -e smollm-135m || true)"
done

python3 - "$results" "$rank" "$threads" <<'PY' | tee ${out:+"$out"}
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
rank, threads = sys.argv[2], sys.argv[3]
groups = {}
for r in rows:
    groups.setdefault((r["shape"], r["config"]["adapt"]), []).append(r)
order = ["small", "medium", "large", "xl", "smollm-135m", "qwen2.5-0.5b", "llama-3.2-1b"]
print(f"| shape | parameters | inner loop | outer parameters | seconds per meta-step | peak memory (GB) | knowledge file (MB) |")
print("|---|---|---|---|---|---|---|")
for shape in order:
    for adapt in ["full", "lora"]:
        g = groups.get((shape, adapt))
        if not g:
            continue
        secs = statistics.median(x["seconds_median"] for x in g)
        peak = max(x["peak_rss_bytes"] for x in g) / 1e9
        label = "full (every weight)" if adapt == "full" else f"LoRA rank {rank}, frozen base"
        print(f"| {shape} | {g[0]['parameters'] / 1e6:.0f}M | {label} | {g[0]['outer_parameters'] / 1e6:.2f}M "
              f"| {secs:.2f} | {peak:.2f} | {g[0]['knowledge_bytes'] / 1e6:.1f} |")
for shape in order:
    full, lora = groups.get((shape, "full")), groups.get((shape, "lora"))
    if full and lora:
        ratio = statistics.median(x["seconds_median"] for x in full) / statistics.median(x["seconds_median"] for x in lora)
        print(f"\n{shape}, side by side ({len(full)} alternations, {threads} thread(s)): LoRA {ratio:.2f}x faster, "
              f"peak memory {max(x['peak_rss_bytes'] for x in full) / max(x['peak_rss_bytes'] for x in lora):.1f}x lower.")
PY
