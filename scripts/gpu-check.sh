#!/usr/bin/env bash
# The whole check on a machine with one GPU (made for an H200, sm_90): configure and build
# build/gpu, run every test (the GPU ones included), run the GPU benchmarks (and the CPU matmul
# benchmark when it exists), then print one summary table.
#
# Full logs go to ${OUT:-build/gpu}/ (configure.log, build.log, ctest.log, bench_cuda.log/.json,
# bench_matmul.log, summary.txt). Exit status: 0 only when the build, every test and the GPU
# benchmarks succeeded. Takes a few minutes on 16 cores. Usage: scripts/gpu-check.sh
set -euo pipefail

cd "$(dirname "$0")/.."
BUILD=build/gpu
LOGS="${OUT:-$BUILD}"
mkdir -p "$LOGS"

say() { printf '\n== %s\n' "$*"; }
die() { printf 'gpu-check: %s\n' "$*" >&2; exit 1; }
# On failure, show the end of the log that says why.
fail_with_log() { tail -n 40 "$2" >&2; die "$1 failed (full log: $2)"; }

say "dependencies"
packages=(cmake ninja-build libfmt-dev catch2 nlohmann-json3-dev libcli11-dev libbenchmark-dev libopenblas-dev)
missing=()
for p in "${packages[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if ((${#missing[@]} > 0)); then
  if command -v apt-get >/dev/null; then
    sudo=()
    if [[ $(id -u) -ne 0 ]] && command -v sudo >/dev/null; then sudo=(sudo); fi
    echo "installing: ${missing[*]}"
    if ! { "${sudo[@]}" apt-get update -qq && "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
             apt-get install -y -qq --no-install-recommends "${missing[@]}"; } >"$LOGS/apt.log" 2>&1; then
      echo "warning: could not install ${missing[*]} (see $LOGS/apt.log); trying the build anyway"
    fi
  else
    echo "warning: missing ${missing[*]} and no apt-get to install them; trying the build anyway"
  fi
else
  echo "all present"
fi
command -v nvcc >/dev/null || [[ -x /usr/local/cuda/bin/nvcc ]] || die "nvcc not found: install the CUDA toolkit (the GPU code would not be built)"
gpu_name=$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -n 1 || true)
echo "GPU: ${gpu_name:-none seen by nvidia-smi (the GPU tests will skip)}"

say "configure $BUILD"
cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_CUDA_ARCHITECTURES=90 >"$LOGS/configure.log" 2>&1 ||
  fail_with_log "configure" "$LOGS/configure.log"

say "build with $(nproc) jobs"
start=$SECONDS
cmake --build "$BUILD" -j "$(nproc)" >"$LOGS/build.log" 2>&1 || fail_with_log "build" "$LOGS/build.log"
echo "built in $((SECONDS - start)) s"
[[ -x $BUILD/bench/bench_cuda ]] || die "$BUILD/bench/bench_cuda was not built: CMake did not find nvcc (see $LOGS/configure.log)"

say "tests"
ctest_status=0
ctest --test-dir "$BUILD" --output-on-failure -j8 --timeout 300 >"$LOGS/ctest.log" 2>&1 || ctest_status=$?
# "100% tests passed, 0 tests failed out of 131": skipped tests count as passed there.
summary_line=$(grep -E 'tests passed, [0-9]+ tests? failed out of [0-9]+' "$LOGS/ctest.log" || true)
total=$(sed -E 's/.* out of ([0-9]+).*/\1/' <<<"$summary_line")
failed=$(sed -E 's/.*passed, ([0-9]+) tests? failed.*/\1/' <<<"$summary_line")
skipped=$(grep -c '(Skipped)$' "$LOGS/ctest.log" || true)
if [[ -z $summary_line ]]; then
  total=0 failed="?" skipped=0
  echo "ctest printed no summary (exit $ctest_status)"
else
  echo "$summary_line; $skipped skipped"
fi
grep -E '\*\*\*(Failed|Exception|Timeout)|Not Run' "$LOGS/ctest.log" || true
passed=$((total - ${failed/\?/0} - skipped))

say "GPU benchmarks"
bench_status=0
timeout 300 "$BUILD/bench/bench_cuda" --benchmark_min_time=0.2 --benchmark_out="$LOGS/bench_cuda.json" \
  --benchmark_out_format=json >"$LOGS/bench_cuda.log" 2>&1 || bench_status=$?
cat "$LOGS/bench_cuda.log"

# The GPU half of the NF4 benchmark: quantize/dequantize against cudaMemcpy device to device.
if [[ -x $BUILD/bench/bench_quant_nf4 ]]; then
  timeout 120 "$BUILD/bench/bench_quant_nf4" --benchmark_filter=gpu_ --benchmark_min_time=0.2 --benchmark_out="$LOGS/bench_nf4.json" \
    --benchmark_out_format=json >"$LOGS/bench_nf4.log" 2>&1 || echo "warning: bench_quant_nf4 exited with status $? (see $LOGS/bench_nf4.log)"
fi

if [[ -x $BUILD/bench/bench_matmul ]]; then
  say "CPU matmul benchmark"
  timeout 120 "$BUILD/bench/bench_matmul" --benchmark_min_time=0.2 >"$LOGS/bench_matmul.log" 2>&1 ||
    echo "warning: bench_matmul exited with status $? (see $LOGS/bench_matmul.log)"
  tail -n 20 "$LOGS/bench_matmul.log"
fi

# Google Benchmark's JSON has one key a line: each run's "name", then its counters.
bench_table() {
  awk -F'"' '
    $2 == "name" { name = $4; sub(/\/manual_time$/, "", name) }
    $2 == "GFLOP/s" || $2 == "GB/s" || $2 == "GB" { v = $3; gsub(/[:, ]/, "", v); printf "  %-32s %10.1f %s\n", name, v, $2 }' "$1"
}

{
  echo
  echo "==================== loralab GPU check: ${gpu_name:-no GPU} ===================="
  printf 'tests       %s passed, %s failed, %s skipped (of %s)\n' "$passed" "$failed" "$skipped" "$total"
  if [[ -s $LOGS/bench_cuda.json ]]; then
    echo "bench_cuda  (exit status $bench_status)"
    bench_table "$LOGS/bench_cuda.json"
  else
    echo "bench_cuda  no results (exit status $bench_status, see $LOGS/bench_cuda.log)"
  fi
  if [[ -s $LOGS/bench_nf4.json ]]; then
    echo "bench_quant_nf4 (GPU)"
    bench_table "$LOGS/bench_nf4.json"
  fi
  echo "logs        $LOGS/"
} | tee "$LOGS/summary.txt"

[[ $ctest_status -eq 0 && $bench_status -eq 0 ]]
