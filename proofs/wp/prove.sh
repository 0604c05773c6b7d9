#!/usr/bin/env bash
# proofs/wp/prove.sh: runs Frama-C/WP on every proof directory given (each
# holds a proof.cfg naming the real source file SRC and the functions
# FUNCS it defines, whose ACSL contracts are proved: WP proves every
# function and lemma of SRC, so no contract is assumed unproved; SRC may
# be a harness that includes the real header, LABEL naming it) and
# prints one row per directory:
#   PROOF <source>:<functions> <goals> <proved> <prover-summary>
# (prover-summary: qed:N,z3:N,cvc4:N; a goal proved by two provers counts
# for both). The full log of each run is kept in $PROOF_OUT/<dir>.log.
# Exits non-zero if a goal is unproved or Frama-C fails.
#
# Environment: PROOF_OUT (the log directory, required), WHY3CONFIG (the
# why3 configuration written by `why3 config detect`, required: nothing
# is read from or written to $HOME), WP_PAR (parallel prover runs, 2),
# WP_TIMEOUT (seconds per goal and prover, 20).
set -u
: "${PROOF_OUT:?set PROOF_OUT to a directory for the logs}"
: "${WHY3CONFIG:?set WHY3CONFIG to a why3.conf from why3 config detect}"
export WHY3CONFIG
WP_PAR="${WP_PAR:-2}"
WP_TIMEOUT="${WP_TIMEOUT:-20}"
mkdir -p "$PROOF_OUT"
status=0
for dir in "$@"; do
    SRC= FUNCS= EXTRA= LABEL=
    # shellcheck source=/dev/null
    . "$dir/proof.cfg"
    name=$(basename "$dir")
    log="$PROOF_OUT/$name.log"
    # -warn-unsigned-overflow: size_t arithmetic must not wrap either.
    # The session directory lives under PROOF_OUT, never in the tree.
    frama-c -cpp-extra-args="-Iinclude -Icore -D_POSIX_C_SOURCE=200809L" \
        -c11 -warn-unsigned-overflow -warn-unsigned-downcast -warn-signed-downcast \
        $SRC -wp -wp-rte -wp-prover z3,cvc4 \
        -wp-par "$WP_PAR" -wp-timeout "$WP_TIMEOUT" -wp-cache none \
        -wp-session "$PROOF_OUT/$name.session" $EXTRA >"$log" 2>&1
    rc=$?
    line=$(grep -E '^\[wp\] Proved goals: +[0-9]+ / [0-9]+' "$log" | tail -n 1)
    proved=$(sed -E 's/.*: +([0-9]+) \/ ([0-9]+).*/\1/' <<<"$line")
    goals=$(sed -E 's/.*: +([0-9]+) \/ ([0-9]+).*/\2/' <<<"$line")
    # The summary after "Proved goals": "  Qed: 57 (...)", "  Z3 4.8.12: 11 (...)".
    summary=$(awk '/^\[wp\] Proved goals:/ {on = 1; next}
                   on && /^  [A-Za-z]/ {
                       split($0, kv, ":"); name = kv[1]; gsub(/^ +/, "", name);
                       split(name, w, " "); n = kv[2]; sub(/^ +/, "", n); sub(/ .*/, "", n);
                       out = out (out ? "," : "") tolower(w[1]) ":" n; next }
                   on {on = 0} END {print out}' "$log")
    fns=$(tr ', ' '++' <<<"$FUNCS" | sed 's/++*/+/g')
    # LABEL: the file that holds the proved code when SRC is a harness.
    label="${LABEL:-$SRC}"
    if [ "$rc" -ne 0 ] || [ -z "$line" ]; then
        echo "PROOF $label:$fns 0 0 frama-c-failed(see $log)"
        status=1
        continue
    fi
    echo "PROOF $label:$fns $goals $proved ${summary:-none}"
    if [ "$proved" != "$goals" ]; then
        grep -A3 -E '^\[wp\] \[(Failed|Timeout|Unknown)' "$log" | sed 's/^/  /' >&2
        status=1
    fi
done
exit $status
