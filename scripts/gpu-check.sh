#!/usr/bin/env bash
# The GPU check on a machine with one GPU (made for an H200, sm_90): configure build/gpu, build only
# what the check runs (test_cuda, the GPU benchmarks, lessons 04-09), run every GPU test (kernels
# against their CPU references, autograd, the GPT trained on both devices, GPU error messages), run
# lessons 04-09 with --quick --device cuda, run the GPU benchmarks, then compute-sanitizer on some of
# the GPU tests with the time left, and print one summary table.
# The CPU tests are `./lab test`'s job.
#
# The lent GPU machine has nvcc, CMake, ninja and a C++ compiler but none of loralab's libraries, and
# no network: run scripts/gpu-deps.sh here first, and carry .gpu-deps (this script unpacks it into
# /tmp). One call: command "scripts/gpu-check.sh", carry [".gpu-deps"], timeout_s 540.
#
# Every step runs under one deadline, GPU_CHECK_SECONDS (default 480) from the start: a step that
# would run past it is cut short or skipped, and the summary says so. Full logs go to build/gpu/logs/
# (configure, build, ctest, each lesson, each benchmark); where $OUT is set (the device machine),
# summary.txt, ctest.log and logs.tgz (all of them) are copied there, because only a few files come
# back. Exit status: 0 only when the build, every GPU test, every lesson and the GPU benchmarks succeeded
# and compute-sanitizer found no error.
# Usage: scripts/gpu-check.sh
set -euo pipefail

cd "$(dirname "$0")/.."
BUILD=build/gpu
LOGS=$BUILD/logs
rm -rf "$LOGS"
mkdir -p "$LOGS"
deadline=$((SECONDS + ${GPU_CHECK_SECONDS:-480}))

say() { printf '\n== %s\n' "$*"; }
die() { printf 'gpu-check: %s\n' "$*" >&2; exit 1; }
# On failure, show the end of the log that says why.
fail_with_log() { tail -n 40 "$2" >&2; die "$1 failed (full log: $2)"; }
# seconds_for N: N, or what is left before the deadline (keeping 20 s for the summary) if that is less.
seconds_for() { local left=$((deadline - SECONDS - 20)); ((left < $1)) && echo "$((left > 1 ? left : 1))" || echo "$1"; }
# have_time: false once less than 15 s are left for the next step (it is then skipped, and says so).
have_time() { ((deadline - SECONDS - 20 >= 15)); }
skipped_steps=()
# Copy what the caller reads back to $OUT (only a few files come back from the device machine).
copy_out() {
  [[ -n ${OUT:-} && -d ${OUT:-} ]] || return 0
  cp -f "$LOGS"/summary.txt "$LOGS"/ctest.log "$OUT"/ 2>/dev/null || true
  tar czf "$OUT/logs.tgz" -C "$BUILD" logs 2>/dev/null || true
}
trap copy_out EXIT

say "dependencies"
[[ -x /usr/local/cuda/bin/nvcc ]] && export PATH="/usr/local/cuda/bin:$PATH"
command -v nvcc >/dev/null || die "nvcc not found: install the CUDA toolkit (the GPU code would not be built)"
# A .deb's files: dpkg -x where dpkg exists; else its data archive, taken out with ar and read by tar.
unpack_deb() {
  if command -v dpkg >/dev/null; then dpkg -x "$1" "$2"; return; fi
  local data
  data=$(ar t "$1" | grep '^data\.tar')
  ar p "$1" "$data" >"$2/$data" && tar -xf "$2/$data" -C "$2" && rm -f "$2/$data"
}
cmake_deps=()
if compgen -G ".gpu-deps/*.deb" >/dev/null; then
  # The packages scripts/gpu-deps.sh downloaded, unpacked into /tmp (never into /, which they could
  # break), and every search path pointed there: CMake's packages, pkg-config's .pc files (with the
  # sysroot prepended to the /usr paths written in them), the compiler's headers, the loader's libraries.
  deps=/tmp/loralab-deps
  rm -rf "$deps" && mkdir -p "$deps"
  for f in .gpu-deps/*.deb; do unpack_deb "$f" "$deps"; done
  lib=$deps/usr/lib/x86_64-linux-gnu
  export LD_LIBRARY_PATH="$lib:$lib/openblas-pthread${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  export LIBRARY_PATH="$lib:$lib/openblas-pthread${LIBRARY_PATH:+:$LIBRARY_PATH}"
  export CPATH="$deps/usr/include${CPATH:+:$CPATH}"
  export PKG_CONFIG_LIBDIR="$lib/pkgconfig:$lib/openblas-pthread/pkgconfig:$deps/usr/share/pkgconfig"
  export PKG_CONFIG_SYSROOT_DIR=$deps
  cmake_deps=(-DCMAKE_PREFIX_PATH="$deps/usr;$lib/openblas-pthread" -DPKG_CONFIG_EXECUTABLE="$deps/usr/bin/pkgconf")
  echo "unpacked $(ls .gpu-deps/*.deb | wc -l) packages from .gpu-deps/ into $deps"
else
  # A machine of one's own: its packages, as ./lab installs them (./lab build first where apt works).
  echo "no .gpu-deps/: using this machine's packages (on the lent GPU machine, carry .gpu-deps from scripts/gpu-deps.sh)"
fi
gpu_name=$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -n 1 || true)
echo "GPU: ${gpu_name:-none seen by nvidia-smi (the GPU tests will skip)}; nvcc $(nvcc --version | sed -n 's/.*release \([0-9.]*\).*/\1/p'); $(nproc) cores"

say "configure $BUILD"
cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_CUDA_ARCHITECTURES=90 "${cmake_deps[@]}" >"$LOGS/configure.log" 2>&1 ||
  fail_with_log "configure" "$LOGS/configure.log"

# Only these targets: test_cuda and bench_cuda exist only where CMake found nvcc.
cmake --build "$BUILD" --target help >"$LOGS/targets.log" 2>&1 || fail_with_log "listing targets" "$LOGS/targets.log"
grep -q '^test_cuda:' "$LOGS/targets.log" || die "no test_cuda target: CMake did not find nvcc (see $LOGS/configure.log)"
targets=(test_cuda bench_cuda)
for t in bench_cuda_sgemm bench_quant_nf4 bench_cuda_nf4_kernels; do grep -q "^$t:" "$LOGS/targets.log" && targets+=("$t"); done
# The lessons that train, each run once with --quick --device cuda (issues 7, 8, 9 and 11 ask for them on a GPU).
lessons=(04_tiny_transformer 05_lora 06_qlora 07_paged_adamw 08_kernels 09_real_model)
for l in "${lessons[@]}"; do grep -q "^lesson_$l:" "$LOGS/targets.log" && targets+=("lesson_$l"); done

say "build ${targets[*]} with $(nproc) jobs"
start=$SECONDS
timeout "$(seconds_for 360)" cmake --build "$BUILD" -j "$(nproc)" --target "${targets[@]}" >"$LOGS/build.log" 2>&1 ||
  fail_with_log "build (or its share of the deadline)" "$LOGS/build.log"
echo "built in $((SECONDS - start)) s"

say "GPU tests"
ctest_status=0
timeout "$(seconds_for 240)" ctest --test-dir "$BUILD" -R '^test_cuda:' --output-on-failure -j8 --timeout 120 >"$LOGS/ctest.log" 2>&1 ||
  ctest_status=$?
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

# One line for a named test: passed, FAILED, skipped or not run, from ctest's line for it.
test_result() {
  local line
  line=$(grep -F "test_cuda:" "$LOGS/ctest.log" | grep -F "$1" | grep -E 'Passed|Failed|Skipped|Exception|Timeout|Not Run' | head -n 1 || true)
  if [[ -z $line ]]; then echo "not run"
  elif [[ $line == *Passed* ]]; then echo "passed"
  elif [[ $line == *Skipped* ]]; then echo "skipped"
  else echo "FAILED (see $LOGS/ctest.log)"
  fi
}
gpt_result=$(test_result "the GPT trains on the GPU as on the CPU")
oom_result=$(test_result "a GPU allocation larger than the card")
launch_result=$(test_result "a launch with an invalid configuration")

say "lessons with --quick --device cuda"
lesson_lines=()
lessons_failed=0
for l in "${lessons[@]}"; do
  bin="$BUILD/lessons/lesson_$l"
  [[ -x $bin ]] || { lesson_lines+=("$(printf '  %-22s not built' "$l")"); continue; }
  have_time || { lesson_lines+=("$(printf '  %-22s skipped (deadline)' "$l")"); lessons_failed=1; continue; }
  start=$SECONDS
  status=0
  timeout "$(seconds_for 90)" "$bin" --quick --device cuda --out "$LOGS/lesson_$l" >"$LOGS/lesson_$l.log" 2>&1 || status=$?
  result="passed"
  [[ $status -eq 0 ]] || { result="FAILED (exit $status, see $LOGS/lesson_$l.log)"; lessons_failed=1; }
  lesson_lines+=("$(printf '  %-22s %s in %d s' "$l" "$result" "$((SECONDS - start))")")
  echo "${lesson_lines[-1]}"
  [[ $status -eq 0 ]] || tail -n 5 "$LOGS/lesson_$l.log"
done

say "GPU benchmarks"
bench_status=0
if have_time; then
  timeout "$(seconds_for 150)" "$BUILD/bench/bench_cuda" --benchmark_min_time=0.2 --benchmark_out="$LOGS/bench_cuda.json" \
    --benchmark_out_format=json >"$LOGS/bench_cuda.log" 2>&1 || bench_status=$?
  cat "$LOGS/bench_cuda.log"
else
  skipped_steps+=(bench_cuda) bench_status=124
fi

# Every numbered SGEMM version beside cuBLAS (and the GPU's FP32 peak); it prints its own table at the end.
if [[ -x $BUILD/bench/bench_cuda_sgemm ]] && { have_time || { skipped_steps+=(bench_cuda_sgemm); false; }; }; then
  timeout "$(seconds_for 150)" "$BUILD/bench/bench_cuda_sgemm" --benchmark_min_time=0.1 --benchmark_out="$LOGS/bench_sgemm.json" \
    --benchmark_out_format=json >"$LOGS/bench_sgemm.log" 2>&1 || { bench_status=$?; echo "bench_cuda_sgemm exited with status $bench_status"; }
  sed -n '/^GFLOP\/s by square size/,$p' "$LOGS/bench_sgemm.log"
fi

# The GPU half of the NF4 benchmark: quantize/dequantize against cudaMemcpy device to device.
if [[ -x $BUILD/bench/bench_quant_nf4 ]] && { have_time || { skipped_steps+=(bench_quant_nf4); false; }; }; then
  timeout "$(seconds_for 60)" "$BUILD/bench/bench_quant_nf4" --benchmark_filter=gpu_ --benchmark_min_time=0.2 --benchmark_out="$LOGS/bench_nf4.json" \
    --benchmark_out_format=json >"$LOGS/bench_nf4.log" 2>&1 || echo "warning: bench_quant_nf4 exited with status $? (see $LOGS/bench_nf4.log)"
fi

# Lesson 08's NF4 kernels (dequantization versions against cudaMemcpy, fused GEMV/GEMM) and the fused LoRA forward.
if [[ -x $BUILD/bench/bench_cuda_nf4_kernels ]] && { have_time || { skipped_steps+=(bench_cuda_nf4_kernels); false; }; }; then
  timeout "$(seconds_for 90)" "$BUILD/bench/bench_cuda_nf4_kernels" --benchmark_min_time=0.1 --benchmark_out="$LOGS/bench_nf4_kernels.json" \
    --benchmark_out_format=json >"$LOGS/bench_nf4_kernels.log" 2>&1 ||
    echo "warning: bench_cuda_nf4_kernels exited with status $? (see $LOGS/bench_nf4_kernels.log)"
fi

# Last, with what is left of the deadline: compute-sanitizer over the reduction, nn and matmul tests,
# memcheck (out-of-bounds and misaligned accesses) then racecheck (shared-memory races). These are
# the checks the emulator cannot make on a real GPU's memory and scheduling. KINDS.md saw both work
# on a Firecracker machine and fail on gVisor ("Device not supported"). A tool that cannot run there
# is reported, not counted as a failure; errors it finds are.
say "compute-sanitizer"
sanitizer_lines=()
sanitizer_failed=0
sanitized_tests="[reduce],[nn],[matmul]"
if ! command -v compute-sanitizer >/dev/null; then
  sanitizer_lines+=("  compute-sanitizer not found")
else
  for tool in memcheck racecheck; do
    have_time || { sanitizer_lines+=("$(printf '  %-9s skipped (deadline)' "$tool")"); continue; }
    start=$SECONDS
    status=0
    timeout "$(seconds_for 120)" compute-sanitizer --tool "$tool" --error-exitcode 9 "$BUILD/tests/test_cuda" "$sanitized_tests" \
      >"$LOGS/sanitizer_$tool.log" 2>&1 || status=$?
    case $status in
      0) result="no errors" ;;
      9) result="ERRORS (see $LOGS/sanitizer_$tool.log)"; sanitizer_failed=1 ;;
      124) result="cut at the deadline; no errors before it (see $LOGS/sanitizer_$tool.log)" ;;
      *) result="exit $status: a test failed, or the tool could not run here (see $LOGS/sanitizer_$tool.log)" ;;
    esac
    # Cut short, it prints no summary: its error lines ("========= Invalid __global__ read ...",
    # "========= Error: Race reported ...") are what it found.
    [[ $status -eq 124 ]] && grep -qE '^========= +(Invalid|Error|Warning|Program hit)' "$LOGS/sanitizer_$tool.log" &&
      { result="ERRORS before the deadline cut it (see $LOGS/sanitizer_$tool.log)"; sanitizer_failed=1; }
    sanitizer_lines+=("$(printf '  %-9s %s, %d s' "$tool" "$result" "$((SECONDS - start))")")
    echo "${sanitizer_lines[-1]}"
  done
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
  printf 'GPU tests   %s passed, %s failed, %s skipped (of %s)\n' "$passed" "$failed" "$skipped" "$total"
  printf 'GPT on GPU  %s (logits, loss, every gradient and 3 AdamW steps against the CPU)\n' "$gpt_result"
  printf 'GPU errors  out of memory: %s, bad launch: %s\n' "$oom_result" "$launch_result"
  echo "lessons     --quick --device cuda"
  printf '%s\n' "${lesson_lines[@]}"
  echo "compute-sanitizer on test_cuda $sanitized_tests"
  printf '%s\n' "${sanitizer_lines[@]}"
  if [[ -s $LOGS/bench_cuda.json ]]; then
    echo "bench_cuda  (exit status $bench_status)"
    bench_table "$LOGS/bench_cuda.json"
  else
    echo "bench_cuda  no results (exit status $bench_status, see $LOGS/bench_cuda.log)"
  fi
  if [[ -s $LOGS/bench_sgemm.log ]]; then
    echo "bench_cuda_sgemm (full log: $LOGS/bench_sgemm.log)"
    grep -m1 '^FP32 peak' "$LOGS/bench_sgemm.log" || true
    sed -n '/^GFLOP\/s by square size/,$p' "$LOGS/bench_sgemm.log"
  fi
  if [[ -s $LOGS/bench_nf4.json ]]; then
    echo "bench_quant_nf4 (GPU)"
    bench_table "$LOGS/bench_nf4.json"
  fi
  if [[ -s $LOGS/bench_nf4_kernels.json ]]; then
    echo "bench_cuda_nf4_kernels (microseconds; GB/s read + written; out_GB/s of f32 output; GFLOP/s)"
    awk -F'"' '
      $2 == "name" { name = $4; sub(/\/manual_time$/, "", name) }
      $2 == "real_time" { t = $3; gsub(/[:, ]/, "", t) }
      $2 == "GB" || $2 == "out_GB" || $2 == "GFLOP" { v = $3; gsub(/[:, ]/, "", v); c[$2] = v }
      /^ *},?$/ && name != "" {
        printf "  %-64s %10.1f us", name, t
        for (k in c) printf "  %s %.1f", k, c[k]
        printf "\n"; delete c; name = ""
      }' "$LOGS/bench_nf4_kernels.json"
  fi
  ((${#skipped_steps[@]} == 0)) || echo "SKIPPED     ${skipped_steps[*]}: the deadline (GPU_CHECK_SECONDS=${GPU_CHECK_SECONDS:-480}) came first"
  echo "logs        $LOGS/ (${OUT:+and in \$OUT: summary.txt, ctest.log, logs.tgz; }$((SECONDS)) s in all)"
} | tee "$LOGS/summary.txt"

[[ $ctest_status -eq 0 && $bench_status -eq 0 && $lessons_failed -eq 0 && $sanitizer_failed -eq 0 ]]
