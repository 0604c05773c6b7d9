#!/usr/bin/env bash
# campaign.sh TARGET ENGINE SECONDS JOBS: one fuzzing campaign (make fuzz).
#   libfuzzer: build-fuzz/libfuzzer/TARGET adds new inputs to fuzz/corpus/TARGET
#   afl:       afl-fuzz on build-fuzz/afl-asan/TARGET (JOBS > 1 adds secondaries
#              on build-fuzz/afl/TARGET, without ASan), then its queue is merged
#              into fuzz/corpus/TARGET with libFuzzer's -merge=1
# Crashes go to fuzz/findings/TARGET/. Prints exec/s, corpus size, coverage.
# FUZZ_MAX_LEN (default 1024): libFuzzer's input length limit, with its
# length control off (-len_control=0). Length control starts at the longest
# seed (64 bytes) and raises the limit only while coverage stalls, which at
# diff_fast_ref's 30-50 exec/s never happened in two 30-minute campaigns,
# with or without -max_len: the decoder's header takes ~25 of those bytes.
set -euo pipefail
t=$1 engine=$2 secs=$3 jobs=$4
corpus=fuzz/corpus/$t findings=fuzz/findings/$t dict=fuzz/dict/$t.dict
mkdir -p "$corpus" "$findings"
dictopt=() aflx=()
[ -f "$dict" ] && dictopt=(-dict="$dict") && aflx=(-x "$dict")
case $engine in
libfuzzer)
  log=$findings/libfuzzer.log
  jobopt=()
  [ "$jobs" -gt 1 ] && jobopt=(-jobs="$jobs" -workers="$jobs")
  rc=0
  build-fuzz/libfuzzer/"$t" -max_total_time="$secs" -timeout=30 -rss_limit_mb=2048 \
    -max_len="${FUZZ_MAX_LEN:-1024}" -len_control=0 \
    -print_final_stats=1 -artifact_prefix="$findings/" "${dictopt[@]}" "${jobopt[@]}" \
    "$corpus" > "$log" 2>&1 || rc=$?
  [ "$jobs" -gt 1 ] && cat fuzz-*.log >> "$log" 2>/dev/null && rm -f fuzz-*.log
  last=$(grep -E '^#[0-9]+' "$log" | tail -n 1 || true)
  echo "campaign $t libfuzzer ${secs}s: $last"
  grep -E 'stat::(number_of_executed_units|average_exec_per_sec|new_units_added|peak_rss_mb)' "$log" || true
  echo "corpus $corpus: $(ls "$corpus" | wc -l) inputs; findings: $(ls "$findings" | grep -cv '\.log$' || true)"
  [ $rc -eq 0 ] || { grep -m1 -E 'sus-fuzz FAIL|ERROR:' "$log" || true; exit $rc; }
  ;;
afl)
  out=$findings/afl
  export AFL_SKIP_CPUFREQ=1 AFL_NO_UI=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1
  pids=()
  afl-fuzz -i "$corpus" -o "$out" -V "$secs" -M main "${aflx[@]}" \
    -- build-fuzz/afl-asan/"$t" > "$findings/afl-main.log" 2>&1 & pids+=($!)
  for j in $(seq 2 "$jobs"); do
    afl-fuzz -i "$corpus" -o "$out" -V "$secs" -S "s$j" -- build-fuzz/afl/"$t" \
      > "$findings/afl-s$j.log" 2>&1 & pids+=($!)
  done
  wait "${pids[@]}" || true
  for s in "$out"/*/fuzzer_stats; do
    grep -E '^(execs_per_sec|corpus_count|bitmap_cvg|saved_crashes|saved_hangs|execs_done)' "$s" |
      tr -s ' ' | tr '\n' ' ' | sed "s|^|campaign $t afl $(basename "$(dirname "$s")"): |"; echo
  done
  build-fuzz/libfuzzer/"$t" -merge=1 "$corpus" "$out"/*/queue > "$findings/merge.log" 2>&1 || true
  echo "corpus $corpus: $(ls "$corpus" | wc -l) inputs"
  ;;
*) echo "ENGINE must be libfuzzer or afl" >&2; exit 2 ;;
esac
