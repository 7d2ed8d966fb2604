#!/usr/bin/env bash
# The parsers' libFuzzer targets (fuzz/README.md): builds fuzz/ with clang into build-fuzz/
# (AddressSanitizer + UndefinedBehaviorSanitizer + libFuzzer), seeds each target's corpus from the
# real samples and fixtures (../shared/data, tests/fixtures, runs/main-job/data when present, a few
# hand-written seeds below) and its kept regression inputs (fuzz/regressions/<target>/), and runs
# each for --runs executions. A crash, a sanitizer report, a leak, a hang (> 10 s for one input) or
# an escaping exception that is not reckoning::Error stops it: the input is written to
# build-fuzz/findings/<target>/ and the script exits non-zero.
#
# Usage: scripts/fuzz.sh [--runs N] [--targets "csv tasks ..."] [--seed S]    (N default 20000: a
#        short pass; 1000000 is the documented long pass, docs/RELIABILITY.md; S: libFuzzer's seed,
#        0 = a fresh one each run; the test suite's pass uses a fixed one, so it is deterministic)
# Needs clang++ and its libFuzzer runtime (Debian: clang, libclang-rt-14-dev).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
runs=20000; targets=""; seed=0
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) runs="$2"; shift 2 ;;
    --targets) targets="$2"; shift 2 ;;
    --seed) seed="$2"; shift 2 ;;
    *) echo "fuzz.sh: unknown argument '$1' (expected --runs, --targets or --seed)" >&2; exit 2 ;;
  esac
done
command -v clang++ >/dev/null || { echo "fuzz.sh: clang++ not found (Debian: apt-get install clang libclang-rt-14-dev)" >&2; exit 1; }
build="$here/build-fuzz"
# The run_config target links the rest of reckoning from the main build's library when it is there.
library="$here/build/libreckoning.a"
[ -f "$library" ] || library=""
cmake -S "$here/fuzz" -B "$build" -DCMAKE_CXX_COMPILER=clang++ -DRECKONING_LIBRARY="$library" >/dev/null
cmake --build "$build" -j"$(nproc)" >/dev/null
[ -n "$targets" ] || targets="$(cd "$build" && ls -- *_fuzz | sed 's/_fuzz$//' | tr '\n' ' ')"

shared="$here/../shared/data"
corpus="$build/corpus"
seed() {  # target file-name < content
  mkdir -p "$corpus/$1"
  cat > "$corpus/$1/$2"
}
seed_file() {  # target source [head-lines]
  [ -f "$2" ] || return 0
  mkdir -p "$corpus/$1"
  if [ -n "${3:-}" ]; then head -n "$3" "$2" > "$corpus/$1/$(basename "$2")"; else cp "$2" "$corpus/$1/"; fi
}
rm -rf "$corpus"
seed_file csv "$shared/clutrr/1.2_test.csv" 6
seed_file clutrr_csv "$shared/clutrr/1.2_test.csv" 6
seed_file clutrr_csv "$shared/clutrr/1.4_test.csv" 4
seed_file folio "$shared/folio/folio-validation.jsonl" 3
seed_file clutrr_sg "$here/tests/fixtures/clutrr_sg_sample.txt" 1
seed_file tasks "$here/runs/main-job/data/valid.jsonl" 3
mkdir -p "$corpus/safetensors"
for file in "$here"/tests/golden/llama/mistral_window/model-00002-of-00002.safetensors \
            "$here"/tests/golden/llama/llama_bias_bf16/model.safetensors "$here"/tests/golden/llama/llama_gqa/expected.safetensors \
            "$here"/tests/golden/checkpoints/gpt2_bare/model.safetensors; do
  [ -f "$file" ] && cp "$file" "$corpus/safetensors/$(basename "$(dirname "$file")")-$(basename "$file")"
done
mkdir -p "$corpus/run_config"
for config in "$here"/configs/main-job.yaml "$here"/configs/models/llama-kinship.yaml "$here"/configs/paper/base.yaml; do
  [ -f "$config" ] && cp "$config" "$corpus/run_config/"
done
mkdir -p "$corpus/hf_config"
for config in "$here"/tests/golden/llama/*/config.json "$here"/tests/golden/checkpoints/*/config.json; do
  [ -f "$config" ] && cp "$config" "$corpus/hf_config/$(basename "$(dirname "$config")").json"
done
seed python_literal s1 <<'S'
[('A', 'B'), {'x': "y\n", 'z': [1, 2.5, -3]}, (None, True), u'\u00e9']
S
seed proofwriter_english s1 <<'S'
The cat is big. The dog is not red. If something is big then it is red. All red things are kind. If the cat chases the dog and the dog is kind then the cat is rough.
S
seed proofwriter_meta s1 <<'S'
{"id": "RelNeg-D2-1", "maxD": 2, "NFact": 2, "NRule": 1, "theory": "The cat is big. The dog is red. If something is big then it is kind.", "triples": {"triple1": {"text": "The cat is big.", "representation": "(\"cat\" \"is\" \"big\" \"+\")"}, "triple2": {"text": "The dog is red.", "representation": "(\"dog\" \"is\" \"red\" \"+\")"}}, "rules": {"rule1": {"text": "If something is big then it is kind.", "representation": "(((\"something\" \"is\" \"big\" \"+\")) -> (\"something\" \"is\" \"kind\" \"+\"))"}}, "questions": {"Q1": {"question": "The cat is kind.", "answer": true, "QDep": 1, "proofs": "[(((triple1) -> rule1))]", "proofsWithIntermediates": []}}}
S
seed bpe_merges s1 <<'S'
Ġ t
S
seed hf_tokenizer s1 <<'S'
{"normalizer":{"type":"Sequence","normalizers":[{"type":"NFKC"},{"type":"Lowercase"},{"type":"Prepend","prepend":"▁"},{"type":"Replace","pattern":{"String":" "},"content":"▁"}]},"pre_tokenizer":{"type":"Sequence","pretokenizers":[{"type":"Split","pattern":{"Regex":"\\s+"},"behavior":"Isolated","invert":false},{"type":"Digits","individual_digits":true},{"type":"ByteLevel","add_prefix_space":false,"trim_offsets":true,"use_regex":true}]},"decoder":{"type":"Sequence","decoders":[{"type":"ByteFallback"},{"type":"Fuse"},{"type":"Replace","pattern":{"String":"▁"},"content":" "},{"type":"Strip","content":" ","start":1,"stop":0}]},"model":{"type":"BPE","unk_token":"<unk>","fuse_unk":true,"byte_fallback":true,"vocab":{"<unk>":0,"<s>":1,"</s>":2,"a":3,"b":4,"ab":5,"<0x41>":6},"merges":["a b"]},"added_tokens":[{"id":1,"content":"<s>","special":true,"normalized":false,"lstrip":true,"rstrip":false,"single_word":false},{"id":2,"content":"</s>","special":true,"normalized":false}],"post_processor":{"type":"TemplateProcessing","single":[{"SpecialToken":{"id":"<s>","type_id":0}},{"Sequence":{"id":"A","type_id":0}}]}}
S
# Knowledge files: one encoded by the target's own tiny model (so that it gets past the model's
# fingerprint), a facts file in each form, a knowledge-sets line.
if [ -x "$build/knowledge_fuzz" ]; then
  mkdir -p "$corpus/knowledge"
  RECKONING_FUZZ_WRITE_SEED="$corpus/knowledge/tiny.knowledge" "$build/knowledge_fuzz" >/dev/null 2>&1 || true
  printf 'A B son\n{"fact": "B C father"}\n' > "$corpus/knowledge/facts.txt"
  printf '["A B son", "B C father"]' > "$corpus/knowledge/facts.json"
  printf '{"id": "s1", "facts": ["A B son"], "questions": ["How are A and B related ?"]}\n' > "$corpus/knowledge/sets.jsonl"
fi
for t in $targets; do
  [ -d "$here/fuzz/regressions/$t" ] && { mkdir -p "$corpus/$t"; cp "$here/fuzz/regressions/$t/"* "$corpus/$t/"; }
  mkdir -p "$corpus/$t"
  if [ "$t" = word_tokenizer ] && [ -f "$here/runs/main-job/checkpoints/best/word_tokenizer.json" ]; then
    cp "$here/runs/main-job/checkpoints/best/word_tokenizer.json" "$corpus/$t/"
  fi
done

status=0
printf '| target | executions | seconds | result |\n|---|---|---|---|\n'
for t in $targets; do
  findings="$build/findings/$t"; mkdir -p "$findings"
  log="$build/$t.log"
  start=$(date +%s)
  if "$build/${t}_fuzz" -runs="$runs" -seed="$seed" -timeout=10 -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1 \
       -artifact_prefix="$findings/" "$corpus/$t" >"$log" 2>&1; then
    result="clean"
  else
    result="FOUND: $(grep -m1 -E 'ERROR|SUMMARY' "$log" | cut -c1-100) (input in $findings)"; status=1
  fi
  executed="$(grep -m1 'stat::number_of_executed_units' "$log" | awk '{print $2}')"
  printf '| %s | %s | %s | %s |\n' "$t" "${executed:-?}" "$(( $(date +%s) - start ))" "$result"
done
exit $status
