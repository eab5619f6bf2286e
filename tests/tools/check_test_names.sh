#!/bin/sh
# CTest's Catch2 discovery splits a test name at ';' into two entries whose filters match nothing,
# and both then "pass" without running a single assertion. Refuse such names.
# Usage: check_test_names.sh TESTS_DIR
bad=$(grep -rn 'TEST_CASE("[^"]*;' "$1" --include='*.cpp')
if [ -n "$bad" ]; then
  echo "test names with ';' (CTest would skip them silently; use ',' instead):"
  echo "$bad"
  exit 1
fi
echo "no test name contains ';'"
