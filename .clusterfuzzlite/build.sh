#!/bin/bash -eu
# build.sh: the OSS-Fuzz / ClusterFuzzLite build of sus's fuzzers. It builds
# the library and the harnesses of fuzz/ with $CC and $CFLAGS, links each
# harness with $LIB_FUZZING_ENGINE, and puts each fuzzer with its seed corpus
# (TARGET_seed_corpus.zip) and dictionary (TARGET.dict) in $OUT.
# make oss-fuzz-build-check runs it locally with the variables OSS-Fuzz sets.
cd "${SRC}/sus" 2>/dev/null || cd "${SRC}"
targets="diff_fast_ref diff_ref_mpfr sampler npy mask_csr cli moments check_port"
common="fuzz/fz_read.c fuzz/fz_case.c fuzz/fz_fail.c fuzz/fz_check.c"
support="tests/support_fast.c tests/support_problem.c tests/support_rng.c tests/support_bound.c"
cli="tools/cli_num.c tools/cli_rule.c tools/cli_est_parse.c tools/cmd_grad.c tools/cmd_bench.c"
# the check_port harness's own files (fuzz/port.h), linked into it alone
port="fuzz/port_uniforms.c fuzz/port_spec.c fuzz/port_report.c fuzz/port_honest.c fuzz/port_moved.c fuzz/port_mask.c fuzz/port_refused.c"
lib="$(ls core/*.c ref/*.c fast/*.c tools/npy*.c)"
work="${WORK:-/tmp}/sus-obj"
mkdir -p "$work"
flags="-std=c11 -Iinclude -D_POSIX_C_SOURCE=200809L -ffp-contract=off -fopenmp"
objs=()
for src in $lib $common $support $cli; do
  obj="$work/$(echo "$src" | tr / _).o"
  simd=""
  case $src in
    *_avx512.c) simd="-mavx512f -mavx512dq -mavx512vl -mavx512bw -mavx2 -mfma" ;;
    *_avx2.c) simd="-mavx2 -mfma" ;;
  esac
  $CC $CFLAGS $flags $simd -c "$src" -o "$obj"
  objs+=("$obj")
done
port_objs=()
for src in $port; do
  obj="$work/$(echo "$src" | tr / _).o"
  $CC $CFLAGS $flags -c "$src" -o "$obj"
  port_objs+=("$obj")
done
for t in $targets; do
  $CC $CFLAGS $flags -c "fuzz/$t.c" -o "$work/$t.o"
  extra=()
  if [ "$t" = check_port ]; then extra=("${port_objs[@]}"); fi
  # each harness links what it uses: the cli objects are harmless elsewhere
  ${CXX:-clang++} $CFLAGS -fopenmp "$work/$t.o" "${extra[@]}" "${objs[@]}" $LIB_FUZZING_ENGINE \
    -lcmocka -lmpfr -lgmp -lm -o "$OUT/$t"
  if [ -d "fuzz/corpus/$t" ]; then
    (cd "fuzz/corpus/$t" && zip -q -r "$OUT/${t}_seed_corpus.zip" .)
  fi
  if [ -f "fuzz/dict/$t.dict" ]; then cp "fuzz/dict/$t.dict" "$OUT/$t.dict"; fi
done
