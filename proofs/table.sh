#!/usr/bin/env bash
# proofs/table.sh: everything `make proofs` runs. Detects the provers into
# a why3 configuration of its own (never $HOME's), runs the Frama-C/WP
# proofs (proofs/wp/prove.sh) and the Why3 proofs (proofs/why3/prove.sh,
# when present), and prints one table of their PROOF rows: goals per file,
# how many proved, and by which provers. Exits non-zero if any goal is
# unproved or a runner fails.
#
# Usage: proofs/table.sh OUTDIR   (the table is also written to
# OUTDIR/table.md, the provers' logs under OUTDIR/wp/)
set -u -o pipefail
out="${1:?usage: proofs/table.sh OUTDIR}"
cd "$(dirname "$0")/.."
mkdir -p "$out"
out=$(cd "$out" && pwd)
export WHY3CONFIG="$out/why3.conf"
export PROOF_OUT="$out/wp"
# A clean CI machine has no why3.conf: detect z3 and cvc4 afresh each run.
if ! why3 config detect >"$out/why3-detect.log" 2>&1; then
    cat "$out/why3-detect.log" >&2
    echo "make proofs: why3 config detect failed" >&2
    exit 1
fi
for p in z3 cvc4; do
    if ! why3 config list-provers 2>/dev/null | grep -qi "^$p "; then
        echo "make proofs: why3 found no $p (apt-get install $p)" >&2
        exit 1
    fi
done

rows="$out/rows.txt"
: >"$rows"
status=0
bash proofs/wp/prove.sh proofs/wp/*/ | tee -a "$rows" || status=1
if [ -f proofs/why3/prove.sh ]; then
    # Its rows have the same form: PROOF <file> <goals> <proved> <provers>.
    PROOF_OUT="$out/why3" bash proofs/why3/prove.sh | tee -a "$rows" || status=1
fi

{
    echo "| proof | goals | proved | provers |"
    echo "|---|---:|---:|---|"
    awk '$1 == "PROOF" {printf "| %s | %s | %s | %s |\n", $2, $3, $4, $5;
                        g += $3; p += $4}
         END {printf "| **total** | %d | %d | |\n", g, p}' "$rows"
} >"$out/table.md"
echo
cat "$out/table.md"
if awk '$1 == "PROOF" && $3 != $4 {bad = 1} END {exit !bad}' "$rows"; then
    status=1
fi
if [ "$status" -ne 0 ]; then
    echo "make proofs: FAILED: a goal is unproved or a prover run failed (logs: $out)" >&2
fi
exit $status
