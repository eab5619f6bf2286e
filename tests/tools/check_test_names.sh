#!/bin/sh
# CTest's Catch2 discovery mangles two things in a test name, and the damaged tests then "pass"
# without running a single assertion:
#   ';'            splits the name into two entries whose filters match nothing;
#   an unclosed '[' ("ids in [0, 256)") opens a CMake bracket that swallows the names after it.
# Balanced brackets ("A [r, in]") are fine. Refuse the two others.
# Usage: check_test_names.sh TESTS_DIR
bad=$(grep -rn 'TEST_CASE("[^"]*"' "$1" --include='*.cpp' | awk '{
  name = $0; sub(/^[^"]*"/, "", name); sub(/".*$/, "", name)
  depth = 0; ok = 1
  for (i = 1; i <= length(name); i++) {
    c = substr(name, i, 1)
    if (c == ";") ok = 0
    if (c == "[") depth++
    if (c == "]") { depth--; if (depth < 0) ok = 0 }
  }
  if (depth != 0) ok = 0
  if (!ok) print
}')
if [ -n "$bad" ]; then
  echo "test names with ';' or an unbalanced '[' (CTest would skip them silently; use ',' and '(' instead):"
  echo "$bad"
  exit 1
fi
echo "no test name contains ';' or an unbalanced '['"
