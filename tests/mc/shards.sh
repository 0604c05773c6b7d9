#!/bin/sh
# shards.sh: a campaign spread over 4 shards run through GNU parallel, merged
# by `sus report --merge`, must give the verdict and the statistics of one
# `sus mc` run over the same seeds (within 1e-12 relative: Chan's update
# reorders the sums; the printed digits must agree, tests/test_mc_engine.c
# checks the full doubles). One of the at most 20 evaluations that share the
# suite's false-alarm budget of 1e-6 (tests/test_mc_engine.c): alpha = 5e-8.
# Needs SUS (the sus binary) and OUT (a scratch directory).
set -eu
: "${SUS:?}" "${OUT:?}"
rm -rf "$OUT" && mkdir -p "$OUT"
W=mixed N=800 ALPHA=5e-8
command -v parallel >/dev/null || { echo "shards.sh: GNU parallel is missing" >&2; exit 1; }
parallel --will-cite -j 2 "$SUS" mc --workload $W --samples $N --alpha $ALPHA \
  --shard {}/4 --out "$OUT/shard{}.mc" ::: 0 1 2 3
"$SUS" report --alpha $ALPHA --merge "$OUT"/shard*.mc > "$OUT/merged.txt"
"$SUS" mc --workload $W --samples $N --alpha $ALPHA > "$OUT/single.txt"
# The merged report's first line is the overall verdict; the campaign's own
# lines follow, as sus mc prints them.
head -1 "$OUT/merged.txt" | grep -q '^PASS' || { cat "$OUT/merged.txt"; exit 1; }
tail -n +2 "$OUT/merged.txt" > "$OUT/merged_body.txt"
# Same tests, same verdicts; numbers equal within 1e-12 relative.
awk 'NR == FNR { a[FNR] = $0; n = FNR; next }
     { if (FNR > n) { print "extra line: " $0; bad = 1; next }
       split(a[FNR], x, " "); m = split($0, y, " ");
       for (i = 1; i <= m; i++) {
         if (x[i] == y[i]) continue;
         if (x[i] + 0 == x[i] && y[i] + 0 == y[i]) {
           d = x[i] - y[i]; if (d < 0) d = -d;
           s = x[i] < 0 ? -x[i] : x[i];
           if (d <= 1e-12 * s + 1e-300) continue;
         }
         print "differs: " a[FNR] " <> " $0; bad = 1; break } }
     END { exit bad }' "$OUT/single.txt" "$OUT/merged_body.txt"
grep -c '^  ok' "$OUT/single.txt" | grep -qx 7
echo "shards.sh: 4 shards through GNU parallel, merged = single run (N = $N, $W): PASS"
