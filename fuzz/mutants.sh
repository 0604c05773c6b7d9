#!/usr/bin/env bash
# mutants.sh SECONDS NAME...: runs build-fuzz/mutant-N/diff_fast_ref (N = 1, 2,
# ...) from a copy of the committed corpus (or, with FUZZ_MUTANT_SEED=FILE, from
# that one input alone) for at most SECONDS and reports the time to the first
# failure. Exit 1 if a mutant survives.
set -uo pipefail
secs=$1; shift
out=build-fuzz/mutants${FUZZ_MUTANT_SEED:+-one-seed}
rm -rf "$out" && mkdir -p "$out"
echo "| mutant | found | time to find (s) | failure line |" > "$out/table.md"
echo "|---|---|---|---|" >> "$out/table.md"
n=0 survived=0
for name in "$@"; do
  n=$((n + 1))
  mkdir -p "$out/$n/corpus"
  if [ -n "${FUZZ_MUTANT_SEED:-}" ]; then
    cp "$FUZZ_MUTANT_SEED" "$out/$n/corpus/"
  else
    cp fuzz/corpus/diff_fast_ref/* "$out/$n/corpus/"
  fi
  t0=$(date +%s.%N)
  timeout $((secs + 30)) build-fuzz/mutant-$n/diff_fast_ref -max_total_time="$secs" \
    -timeout=30 -artifact_prefix="$out/$n/" "$out/$n/corpus" > "$out/$n.log" 2>&1
  rc=$?
  t1=$(date +%s.%N)
  line=$(grep -m1 -E 'sus-fuzz FAIL|ERROR: AddressSanitizer|runtime error' "$out/$n.log" | cut -c1-160)
  if [ $rc -ne 0 ] && [ -n "$line" ]; then
    dt=$(echo "$t1 - $t0" | bc)
    printf '| %d %s | yes | %.1f | `%s` |\n' "$n" "$name" "$dt" "$line" >> "$out/table.md"
  else
    printf '| %d %s | NO | > %s | |\n' "$n" "$name" "$secs" >> "$out/table.md"
    survived=1
  fi
done
cat "$out/table.md"
exit $survived
