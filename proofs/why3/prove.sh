#!/bin/sh
# prove.sh: proves every Why3 theory file in this directory and prints one
# line per file on stdout:
#     PROOF <file> <goals> <proved> <prover-summary>
# e.g. "PROOF proofs/why3/count.mlw 27 27 z3:25,cvc4:2"; exits 1 if any goal
# is unproved (or a file does not parse, or a prover is missing).
#
# No committed session: a session records prover versions and goal
# shapes, and replays break when either differs. Instead every goal is
# proved afresh by `why3 prove -a split_vc` (each assertion and each case
# its own goal), with a private configuration from `why3 config detect`
# (the user's ~/.why3.conf is neither needed nor touched).
#
# Provers: each file may name its order in a header line
# "(* provers: cvc4 z3 *)"; the default is z3 then cvc4. The first prover
# runs on every goal; each next one only on the goals still unproved
# (selected by line). A goal counts for the first prover that proves it.
#
# Environment: WHY3_TIMEOUT (seconds per goal, default 10).
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
timeout=${WHY3_TIMEOUT:-10}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/sus-why3.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT INT TERM

for tool in why3 z3 cvc4; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "prove.sh: $tool not found (Debian: apt-get install why3 z3 cvc4)" >&2
        exit 1
    fi
done
conf="$tmp/why3.conf"
if ! why3 config detect -C "$conf" >"$tmp/detect.log" 2>&1; then
    cat "$tmp/detect.log" >&2
    exit 1
fi

# run PROVER FILE [-g SEL]...: one "KEY STATUS" line per goal, where KEY
# is the goal's position (line and characters, plus its occurrence number
# when several goals share one) and STATUS is Valid or what went wrong.
run() {
    prover=$1 file=$2
    shift 2
    (cd "$here" && why3 -C "$conf" prove -L . -P "$prover" -t "$timeout" \
        -a split_vc "$file" "$@") 2>&1 | awk '
        /^File ".*", line [0-9]+, characters [0-9]+-[0-9]+:$/ {
            loc = $3 $4 $5 $6; sub(/:$/, "", loc); next }
        /^Prover result is: / {
            st = $4; sub(/[(.].*$/, "", st); if (st == "") st = "?"
            n = ++seen[loc]; print loc "#" n, st; next }
        /error|Error|syntax|Unbound|unbound/ { print "ERROR", $0 }'
}

status=0
for path in "$here"/*.mlw; do
    file=$(basename "$path")
    rel=${path#"$root"/}
    order=$(sed -n 's/^(\* provers: \(.*\) \*)$/\1/p' "$path" | head -n 1)
    [ -n "$order" ] || order="z3 cvc4"
    : >"$tmp/proved"
    summary=""
    first=1
    err=0
    for prover in $order; do
        if [ $first -eq 1 ]; then
            run "$prover" "$file" >"$tmp/out" || true
            grep -v '^ERROR' "$tmp/out" | awk '{print $1}' >"$tmp/all"
            first=0
        else
            # only the still unproved goals, selected by line
            sel=$(grep -vxFf "$tmp/proved" "$tmp/all" |
                sed 's/^line\([0-9]*\),.*/\1/' | sort -un |
                while read -r l; do printf ' -g %s:%s' "$file" "$l"; done)
            [ -n "$sel" ] || break
            # shellcheck disable=SC2086
            run "$prover" "$file" $sel >"$tmp/out" || true
        fi
        if grep -q '^ERROR' "$tmp/out"; then
            grep '^ERROR' "$tmp/out" | sed 's/^ERROR /prove.sh: /' >&2
            err=1
        fi
        k=0
        awk '$2 == "Valid" {print $1}' "$tmp/out" >"$tmp/valid"
        while read -r key; do
            if grep -qxF "$key" "$tmp/all" && ! grep -qxF "$key" "$tmp/proved"; then
                echo "$key" >>"$tmp/proved"
                k=$((k + 1))
            fi
        done <"$tmp/valid"
        summary="$summary${summary:+,}$prover:$k"
    done
    goals=$(wc -l <"$tmp/all" | tr -d ' ')
    proved=$(wc -l <"$tmp/proved" | tr -d ' ')
    echo "PROOF $rel $goals $proved $summary"
    if [ "$goals" -eq 0 ] || [ "$proved" -ne "$goals" ] || [ $err -ne 0 ]; then
        grep -vxFf "$tmp/proved" "$tmp/all" | sed "s|^|prove.sh: unproved: $rel |" >&2
        status=1
    fi
done
exit $status
