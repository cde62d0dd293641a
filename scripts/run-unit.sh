#!/usr/bin/env bash
# Runs every unit test binary; prints one summary line, fails if any test failed.
set -u
fail=0; pass=0; failed=()
for t in "$@"; do
  if "$t"; then pass=$((pass+1)); else fail=$((fail+1)); failed+=("$t"); fi
done
echo "unit test binaries: $pass passed, $fail failed"
[ $fail -eq 0 ] || { echo "failed: ${failed[*]}"; exit 1; }
