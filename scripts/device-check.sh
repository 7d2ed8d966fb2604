#!/usr/bin/env bash
# Builds and checks reckoning on a machine with a GPU and a CUDA LibTorch but no package registry
# (the GPU machine lent to some sessions: PyTorch 2.x with its bundled LibTorch, CMake, Ninja, no
# Debian -dev packages). The header and library packages come as Debian .deb files in DEBS_DIR
# (fetch them here with `scripts/device-check.sh --fetch`), extracted under a private prefix.
#
#   scripts/device-check.sh --fetch          # on the development machine: download the .debs
#   OUT=/some/dir scripts/device-check.sh    # on the GPU machine: build, test, benchmark, train
#
# Stages (each under its own time limit, each writing OUT/<stage>.log): build against the CUDA
# LibTorch, the unit and cli test labels (device_test compares GPU and CPU meta-gradients),
# `bench meta-step` on the GPU against the same machine's CPU (and GPT-2 small at 8 tasks per step,
# task-batched against one at a time), and a short RECKONING training run
# on the GPU with evaluation, then `bench eval` of that model one task at a time against task-batched.
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here"
debs="${DEBS_DIR:-$here/.gpu/debs}"
packages="nlohmann-json3-dev libcli11-dev libyaml-cpp-dev libyaml-cpp0.7 libpcre2-dev libpcre2-8-0 libgtest-dev libgmock-dev"

if [[ "${1:-}" == "--fetch" ]]; then
  mkdir -p "$debs" && cd "$debs" && apt-get download $packages ${DEBS_EXTRA:-}
  exit $?
fi

out="${OUT:-/tmp/reckoning-device-check}"
mkdir -p "$out"
prefix=/tmp/reckoning-deps
build=/tmp/reckoning-build-cuda
jobs="$(nproc)"
mkdir -p "$prefix"
for f in "$debs"/*.deb; do dpkg -x "$f" "$prefix"; done
torch_prefix="$(python3 -c 'import torch; print(torch.utils.cmake_prefix_path)')"
lib="$prefix/usr/lib/x86_64-linux-gnu"
export CPATH="$prefix/usr/include${CPATH:+:$CPATH}"
export LIBRARY_PATH="$lib${LIBRARY_PATH:+:$LIBRARY_PATH}"
export LD_LIBRARY_PATH="$lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export PKG_CONFIG_PATH="$lib/pkgconfig" PKG_CONFIG_SYSROOT_DIR="$prefix"
python3 -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda, "cxx11 abi", torch._C._GLIBCXX_USE_CXX11_ABI, "gpu", torch.cuda.get_device_name(0) if torch.cuda.is_available() else None)' | tee "$out/env.log"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv >>"$out/env.log" 2>&1

stage() {  # stage NAME SECONDS COMMAND...
  local name=$1 limit=$2
  shift 2
  echo "== $name (limit ${limit}s)"
  local start=$SECONDS
  timeout "$limit" "$@" >"$out/$name.log" 2>&1
  local rc=$?
  echo "== $name: rc $rc, $((SECONDS - start)) s"
  tail -n 5 "$out/$name.log"
  return $rc
}

stage configure 120 cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_PREFIX_PATH="$torch_prefix;$prefix/usr" -DRECKONING_BUILD_BENCH=OFF || exit 1
# BUILD_TARGETS: only these targets (a short check), else everything.
stage build "${BUILD_LIMIT:-300}" cmake --build "$build" -j "$jobs" ${BUILD_TARGETS:+--target $BUILD_TARGETS} || exit 1
bin="$build/reckoning"
{
  # Which C++ runtime symbols LibTorch itself exports (a wheel's bundled libstdc++ parts), and the
  # order the executable looks for them in.
  torch_lib="$(dirname "$torch_prefix")/../lib"
  for l in "$torch_lib"/libtorch_cpu.so "$torch_lib"/libc10.so; do
    echo "$l: $(nm -D --defined-only "$l" 2>/dev/null | c++filt | grep -c 'std::filesystem') std::filesystem symbols exported"
  done
  readelf -d "$bin" | grep NEEDED
} >"$out/runtime.log" 2>&1
cat "$out/runtime.log"

if [[ -n "${FIRST_TESTS:-}" ]]; then  # a quick look at chosen tests first, with a backtrace on a crash
  for entry in $FIRST_TESTS; do  # test executable, or executable:gtest-filter
    t=${entry%%:*}
    filter=*
    [[ "$entry" == *:* ]] && filter=${entry#*:}
    echo "-- $entry"
    (cd "$here" && timeout 90 "$build/$t" --gtest_filter="$filter" 2>&1 | grep -E "^\[  (FAILED|PASSED|SKIPPED) |Failure|rror" | head -n 20) || true
  done >"$out/first-tests.log" 2>&1
  cat "$out/first-tests.log"
  if grep -q -i "segmentation\|core dumped" "$out/first-tests.log" && command -v cuda-gdb >/dev/null; then
    first=${FIRST_TESTS%% *}
    (cd "$here" && timeout 90 cuda-gdb -batch -ex run -ex bt --args "$build/${first%%:*}") >"$out/backtrace.log" 2>&1
    grep -E "^#|signal" "$out/backtrace.log" | head -30
  fi
fi
[[ "${SKIP_CTEST:-0}" == 1 ]] || (cd "$build" && stage tests "${TEST_LIMIT:-120}" ctest -L 'unit|cli' -j "$jobs" --timeout 120 --output-on-failure)
[[ -f "$out/tests.log" ]] && grep -E "tests passed|Failed|Skipped|\*\*\*" "$out/tests.log" | head -40

bench() {  # bench LABEL ARGS...: one JSON line per run into OUT/bench.jsonl
  local label=$1
  shift
  echo "-- $label: $*"
  timeout 240 "$bin" bench meta-step "$@" | sed "s/^{/{\"label\":\"$label\",/" | tee -a "$out/bench.jsonl"
}
gpt2_small="--layers 12 --width 768 --heads 12 --question-len 30 --answer-len 2"
[[ "${SKIP_BENCH:-0}" == 1 ]] || {
  # The fused AdamW node (tensor operations on the GPU) next to plain ops, side by side.
  bench tiny-50k-cuda --device cuda --steps 5
  bench tiny-50k-cuda-plain --device cuda --steps 5 --no-fused
  bench tiny-512-cuda --device cuda --vocab 512 --steps 5
  bench small-4x256-cuda --device cuda --layers 4 --width 256 --steps 5
  bench small-4x256-cuda-plain --device cuda --layers 4 --width 256 --steps 5 --no-fused
  bench gpt2-small-cuda --device cuda $gpt2_small --steps 3
  bench gpt2-small-cuda-plain --device cuda $gpt2_small --steps 3 --no-fused
  # Task-batched inner loops (issue 18): GPT-2 small at 8 tasks per step, batched vs one at a time.
  bench gpt2-small-cuda-8tasks --device cuda $gpt2_small --steps 2 --tasks 8
  bench gpt2-small-cuda-8tasks-seq --device cuda $gpt2_small --steps 2 --tasks 8 --sequential
  # Each task's meta-gradient apart (outer.task_clip batched: per-task replicas, per-task rates in
  # the AdamW node's tensor-operation form), at 4 tasks: the replicas are 0.5 GB per task.
  bench small-4x256-cuda-4tasks-taskgrads --device cuda --layers 4 --width 256 --steps 3 --tasks 4 --task-grads
  bench gpt2-small-cuda-4tasks-taskgrads --device cuda $gpt2_small --steps 2 --tasks 4 --task-grads
  if [[ "${CPU_BENCH:-0}" == 1 ]]; then
    bench tiny-50k-cpu --threads "$jobs" --steps 3
    bench small-4x256-cpu --threads "$jobs" --layers 4 --width 256 --steps 3
    bench gpt2-small-cuda-bf16 --device cuda $gpt2_small --steps 3 --matmul-dtype bfloat16
    bench gpt2-small-cpu --threads "$jobs" $gpt2_small --warmup 0 --steps 1 --no-peak
  fi
} >"$out/bench.log" 2>&1
[[ -f "$out/bench.log" ]] && grep -v '^{' "$out/bench.log" | head -20

if [[ "${SKIP_TRAIN:-0}" != 1 ]]; then
  data=/tmp/reckoning-main-job-data
  "$bin" data generate clutrr --style letters --hops 2,4,6 --test-hops 2,4,6 \
    --per-hop 3000 --valid-per-hop 50 --test-per-hop 100 --seed 1 --out-dir "$data" >/dev/null
  train_args=(train --config configs/main-job.yaml --set device=cuda
    --set outer.max_steps="${TRAIN_STEPS:-300}" --set eval.every=150 --set data.max_eval=60
    --set run_dir=/tmp/reckoning-run-cuda
    --set data.train="$data/train.jsonl" --set data.valid="$data/valid.jsonl" --set data.test="$data/test.jsonl")
  stage train-cuda "${TRAIN_LIMIT:-120}" "$bin" "${train_args[@]}"
  rc=$?
  tail -n 12 "$out/train-cuda.log"
  if ((rc > 128 && rc != 137)) && command -v cuda-gdb >/dev/null; then  # a crash: where
    timeout 120 cuda-gdb -batch -ex run -ex bt --args "$bin" "${train_args[@]}" >"$out/train-backtrace.log" 2>&1
    grep -E "^#|signal" "$out/train-backtrace.log" | head -30
  fi
  # Evaluation of that model on the GPU: one task at a time against task-batched encoding and
  # answering (the same predictions, tasks per second; issue 18).
  if [[ -d /tmp/reckoning-run-cuda/checkpoints/last ]]; then
    stage eval-cuda "${EVAL_LIMIT:-120}" "$bin" bench eval --model /tmp/reckoning-run-cuda/checkpoints/last \
      --data "$data/test.jsonl" --batch-tasks 1 8 32 --max-tasks 96 --repeat 2
    grep '^{' "$out/eval-cuda.log" >>"$out/bench.jsonl"
  fi
fi

# Several processes (issue 19), opt-in (DIST_CHECK=1; needs libgloo-dev's .deb in DEBS_DIR: fetch it
# with `DEBS_EXTRA=libgloo-dev scripts/device-check.sh --fetch`): a second build with c10d's Gloo
# backend against the wheel's LibTorch 2.x (its own gloo, so Debian's libgloo is not linked), then
# the process-group and distributed tests. NCCL between ranks needs two GPUs (NCCL refuses two ranks
# on one device); the lent machine has one, so only the CPU (Gloo) path runs here.
if [[ "${DIST_CHECK:-0}" == 1 ]]; then
  dist_build=/tmp/reckoning-build-dist
  stage dist-configure 120 cmake -S . -B "$dist_build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_PREFIX_PATH="$torch_prefix;$prefix/usr" -DRECKONING_BUILD_BENCH=OFF \
    -DRECKONING_GLOO_LIBRARY=RECKONING_GLOO_LIBRARY-NOTFOUND &&
  stage dist-build "${DIST_BUILD_LIMIT:-300}" cmake --build "$dist_build" -j "$jobs" \
    --target reckoning process_group_test distributed_test &&
  (cd "$here" && stage dist-tests 240 bash -c "$dist_build/process_group_test && $dist_build/distributed_test")
  grep -E "c10d|PASSED|FAILED" "$out/dist-configure.log" "$out/dist-tests.log" 2>/dev/null | head -20
fi
