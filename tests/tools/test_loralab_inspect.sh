#!/bin/sh
# `loralab inspect` from the outside: exit codes and what reaches stdout and stderr.
#   0: a good file or folder; its tensor names on stdout, nothing on stderr
#   1: a bad or missing file; exactly one line on stderr, with the phrase listed below
#   2: a bad command line; exactly one line on stderr
# Usage: test_loralab_inspect.sh LORALAB_BINARY DATA_DIR (CTest passes both; the fixtures in DATA_DIR
# come from tests/reference/make_safetensors_fixtures.py). The messages themselves are tested in test_safetensors.
set -u
loralab=$1
data=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0

# expect CODE PHRASE ARGS...: run `loralab ARGS...`; check the exit code, and the phrase on stdout
# (code 0) or as the one line of stderr (other codes).
expect() {
  code=$1 phrase=$2
  shift 2
  "$loralab" "$@" >"$tmp/out" 2>"$tmp/err"
  rc=$?
  problem=""
  if [ "$rc" -ne "$code" ]; then
    problem="exit code $rc, expected $code"
  elif [ "$code" -eq 0 ]; then
    grep -qF -- "$phrase" "$tmp/out" || problem="stdout lacks '$phrase'"
    [ -s "$tmp/err" ] && problem="stderr is not empty"
  else
    [ "$(wc -l <"$tmp/err")" -eq 1 ] || problem="stderr has $(wc -l <"$tmp/err") lines, expected 1"
    grep -qF -- "$phrase" "$tmp/err" || problem="${problem:+$problem; }stderr lacks '$phrase'"
  fi
  if [ -n "$problem" ]; then
    echo "FAIL: loralab $*: $problem"
    sed 's/^/  stdout: /' "$tmp/out" | head -20
    sed 's/^/  stderr: /' "$tmp/err"
    failures=$((failures + 1))
  else
    echo "ok:   loralab $*"
  fi
}

# Good files and folders.
expect 0 "attn.0" inspect "$data/good_golden.safetensors"
expect 0 "h.0.mlp.weight" inspect "$data/good_mixed.safetensors"
expect 0 "step = 100" inspect --no-stats "$data/good_mixed.safetensors"
expect 0 "... 4 tensors not shown" inspect --limit 2 "$data/good_mixed.safetensors"
mkdir "$tmp/ckpt"
cp "$data/good_golden.safetensors" "$tmp/ckpt/model-00001-of-00002.safetensors"
cp "$data/good_mixed.safetensors" "$tmp/ckpt/model-00002-of-00002.safetensors"
echo '{"n_layer": 2, "n_embd": 4}' >"$tmp/ckpt/config.json"
echo '{"metadata": {"total_size": 67}, "weight_map": {"attn.0": "model-00001-of-00002.safetensors", "tokens": "model-00002-of-00002.safetensors"}}' \
  >"$tmp/ckpt/model.safetensors.index.json"
expect 0 '"n_embd": 4' inspect "$tmp/ckpt"
expect 0 "model-00002-of-00002.safetensors  1 tensor" inspect "$tmp/ckpt"
expect 0 "all files 20 parameters" inspect "$tmp/ckpt"
expect 0 "Usage" --help
expect 0 "--no-stats" inspect --help

# Bad files: exit 1, one line.
while IFS='|' read -r file phrase; do
  expect 1 "loralab: error: $data/$file: " inspect "$data/$file"
  expect 1 "$phrase" inspect "$data/$file"
done <<'TABLE'
bad_too_small.safetensors|file is 3 bytes, too small for a safetensors file
bad_header_too_large.safetensors|is over the safetensors limit of 100000000 bytes
bad_header_past_end.safetensors|header length 60 runs past the end of the file
bad_not_utf8.safetensors|header is not valid UTF-8
bad_json.safetensors|header is not valid JSON
bad_not_object.safetensors|header must be a JSON object of tensors
bad_missing_shape.safetensors|tensor 'w': missing "shape"
bad_extra_key.safetensors|tensor 'w': unexpected key 'strides'
bad_unknown_dtype.safetensors|unknown dtype 'F33'
bad_fp8_dtype.safetensors|dtype 'F8_E4M3' is valid safetensors but not supported by loralab
bad_negative_shape.safetensors|shape must be an array of non-negative integers
bad_shape_overflow.safetensors|overflows
bad_size_mismatch.safetensors|hold 4 bytes, expected 16 for I32 of shape [2, 2]
bad_offset_not_zero.safetensors|begin at 4, expected 0
bad_hole.safetensors|leave a hole after tensor 'a'
bad_overlap.safetensors|overlap tensor 'a'
bad_trailing_bytes.safetensors|34 trailing bytes after the last tensor
bad_truncated.safetensors|file is truncated
bad_duplicate_name.safetensors|tensor name 'w' appears twice
bad_metadata_not_string.safetensors|__metadata__ value of 'step' must be a string
TABLE
expect 1 "no such file or folder" inspect "$tmp/missing.safetensors"
mkdir "$tmp/empty"
expect 1 "no .safetensors files in this folder" inspect "$tmp/empty"
cp "$data/bad_hole.safetensors" "$tmp/ckpt/zz_bad.safetensors"
expect 1 "zz_bad.safetensors: tensor 'b'" inspect "$tmp/ckpt"

# Bad command lines: exit 2, one line.
expect 2 "Run 'loralab --help' for usage." inspect --bogus "$data/good_golden.safetensors"
expect 2 "path is required" inspect
expect 2 "loralab: error: " frobnicate
expect 2 "A subcommand is required"
expect 2 "loralab: error: " inspect --limit -3 "$data/good_golden.safetensors"

if [ "$failures" -ne 0 ]; then
  echo "$failures check(s) failed"
  exit 1
fi
echo "all checks passed"
