# fuzz/rules.mk: the differential fuzzers (issue 5; README "Fuzzing").
#
#   make fuzz-build      every harness three ways: libFuzzer, AFL++ (ASan and
#                        plain), and the plain replay driver
#   make fuzz-replay     replay every committed corpus (gcc; ASan+UBSan with SAN=1)
#   make fuzz-smoke      fuzz-replay, then each target for FUZZ_SMOKE_SECONDS
#                        with libFuzzer (make check runs it)
#   make fuzz TARGET=t ENGINE=libfuzzer|afl SECONDS=s JOBS=j   a campaign
#   make fuzz-cov        clang source-based coverage of the corpus replay
#   make fuzz-mutants    each planted bug of fast/ must be found within 60 s
#   make oss-fuzz-build-check   .clusterfuzzlite/build.sh run as OSS-Fuzz would
#
# The gcc replay driver lives in $(BUILD)/fuzz (build/ or build-san/); every
# clang build lives in build-fuzz/, shared by the plain and the SAN=1 check,
# so the two never rebuild each other's objects.

FUZZ_TARGETS := diff_fast_ref diff_ref_mpfr sampler npy mask_csr cli moments check_port
FUZZ_COMMON  := fuzz/fz_read.c fuzz/fz_case.c fuzz/fz_fail.c fuzz/fz_check.c
# The cli target links the argument parsers of tools/ (no runners, no I/O).
FUZZ_CLI_SRC := tools/cli_num.c tools/cli_rule.c tools/cli_est_parse.c tools/cmd_grad.c \
                tools/cmd_bench.c
# The check_port target's checks, one job per file (fuzz/port.h).
FUZZ_PORT_SRC := fuzz/port_uniforms.c fuzz/port_spec.c fuzz/port_report.c \
                 fuzz/port_honest.c fuzz/port_moved.c fuzz/port_mask.c fuzz/port_refused.c
FUZZ_SUPPORT_SRC := tests/support_fast.c tests/support_problem.c tests/support_rng.c \
                    tests/support_bound.c
FUZZ_OUT     := build-fuzz
FUZZ_SMOKE_SECONDS ?= 20
# A fixed libFuzzer seed, so that make check explores the same inputs on
# every run (as far as 20 s reach) rather than a new random sequence: a
# CI failure then reproduces. FUZZ_SMOKE_SEED=0 asks libFuzzer for a random one.
FUZZ_SMOKE_SEED ?= 1
FUZZ_CLANG   ?= clang
FUZZ_AFL_CC  ?= afl-clang-fast
FUZZ_LLVM_PROFDATA ?= llvm-profdata-14
FUZZ_LLVM_COV ?= llvm-cov-14

# Sources of a target's binary besides its harness.
fuzz_srcs = $(FUZZ_COMMON) $(FUZZ_SUPPORT_SRC) $(if $(filter cli,$(1)),$(FUZZ_CLI_SRC)) \
            $(if $(filter check_port,$(1)),$(FUZZ_PORT_SRC))

.PHONY: fuzz-build fuzz-replay fuzz-smoke fuzz fuzz-cov fuzz-mutants \
        oss-fuzz-build-check fuzz-memcheck

# ---- The plain replay driver (the project's compiler and flags) ------------
FUZZ_REPLAY := $(FUZZ_TARGETS:%=$(BUILD)/fuzz/replay_%)
$(BUILD)/fuzz/replay_%: $(BUILD)/obj/fuzz/%.o $(BUILD)/obj/fuzz/replay.o \
    $(FUZZ_COMMON:%.c=$(BUILD)/obj/%.o) $(FUZZ_SUPPORT_SRC:%.c=$(BUILD)/obj/%.o) \
    $(FUZZ_CLI_SRC:%.c=$(BUILD)/obj/%.o) $(FUZZ_PORT_SRC:%.c=$(BUILD)/obj/%.o) $(STATIC)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $(BUILD)/obj/fuzz/$*.o $(BUILD)/obj/fuzz/replay.o \
	  $(patsubst %.c,$(BUILD)/obj/%.o,$(call fuzz_srcs,$*)) $(STATIC) $(TESTLIBS) $(LIBS)

fuzz-replay: $(FUZZ_REPLAY)
	@set -e; for t in $(FUZZ_TARGETS); do \
	  $(BUILD)/fuzz/replay_$$t fuzz/corpus/$$t; done

# Valgrind replays a sample of each corpus (the first FUZZ_VG_FILES by name):
# the MPFR targets run about 50 times slower under it.
FUZZ_VG_FILES ?= 8
fuzz-memcheck: $(FUZZ_REPLAY)
	@set -e; for t in $(FUZZ_TARGETS); do \
	  files=$$(ls fuzz/corpus/$$t | head -n $(FUZZ_VG_FILES) | sed "s|^|fuzz/corpus/$$t/|"); \
	  echo "== valgrind replay_$$t ($(FUZZ_VG_FILES) inputs)"; \
	  OMP_NUM_THREADS=1 $(VALGRIND) $(VGFLAGS) $(BUILD)/fuzz/replay_$$t $$files; done

# ---- clang builds: one object tree per flavour in build-fuzz/ ---------------
FUZZ_CFLAGS_BASE := -std=c11 -g -O1 -fPIC -ffp-contract=off -fopenmp -Wall -Wextra \
                    -Iinclude -D_POSIX_C_SOURCE=200809L -MMD -MP
FUZZ_SAN := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
FUZZ_ALL_SRC := $(sort $(LIB_SRC) $(FUZZ_COMMON) $(FUZZ_SUPPORT_SRC) $(FUZZ_CLI_SRC) \
                        $(FUZZ_PORT_SRC) $(FUZZ_TARGETS:%=fuzz/%.c) fuzz/replay.c)

# $(call fuzz_flavour,NAME,CC,CFLAGS,LINKFLAGS,EXTRA): the objects in
# build-fuzz/NAME/obj and one binary build-fuzz/NAME/TARGET per target, which
# also links the sources EXTRA (the cov flavour adds the replay driver).
define fuzz_flavour
$(FUZZ_OUT)/$(1)/obj/%.o: %.c
	@mkdir -p $$(dir $$@)
	$(2) $(3) $$(if $$(findstring _avx512,$$<),$(SIMD_AVX512),$$(if $$(findstring _avx2,$$<),$(SIMD_AVX2))) -c $$< -o $$@
-include $(patsubst %.c,$(FUZZ_OUT)/$(1)/obj/%.d,$(FUZZ_ALL_SRC))
endef
define fuzz_flavour_eval
$(eval $(call fuzz_flavour,$(1),$(2),$(3),$(4),$(5)))
$(foreach t,$(FUZZ_TARGETS),$(eval $(call fuzz_binary,$(1),$(2),$(4),$(t),$(5))))
endef
define fuzz_binary
$(FUZZ_OUT)/$(1)/$(4): $(patsubst %.c,$(FUZZ_OUT)/$(1)/obj/%.o,fuzz/$(4).c $(LIB_SRC) $(call fuzz_srcs,$(4)) $(5))
	$(2) $(3) -o $$@ $$^ $(TESTLIBS) $(LIBS)
endef

$(call fuzz_flavour_eval,libfuzzer,$(FUZZ_CLANG),$(FUZZ_CFLAGS_BASE) $(FUZZ_SAN) \
  -fsanitize=fuzzer-no-link,$(FUZZ_SAN) -fsanitize=fuzzer -fopenmp)
$(call fuzz_flavour_eval,afl-asan,AFL_QUIET=1 $(FUZZ_AFL_CC),$(FUZZ_CFLAGS_BASE) \
  -fsanitize=address -fno-omit-frame-pointer,-fsanitize=fuzzer -fsanitize=address -fopenmp)
$(call fuzz_flavour_eval,afl,AFL_QUIET=1 $(FUZZ_AFL_CC),$(FUZZ_CFLAGS_BASE),\
  -fsanitize=fuzzer -fopenmp)
$(call fuzz_flavour_eval,cov,$(FUZZ_CLANG),$(FUZZ_CFLAGS_BASE) \
  -fprofile-instr-generate -fcoverage-mapping,-fprofile-instr-generate -fopenmp,fuzz/replay.c)

FUZZ_LIBFUZZER := $(FUZZ_TARGETS:%=$(FUZZ_OUT)/libfuzzer/%)
fuzz-build: $(FUZZ_REPLAY) $(FUZZ_LIBFUZZER) $(FUZZ_TARGETS:%=$(FUZZ_OUT)/afl-asan/%) \
            $(FUZZ_TARGETS:%=$(FUZZ_OUT)/afl/%)

# ---- make fuzz-smoke: replay, then 20 s of libFuzzer per target -------------
# A stamp per target, so that the second make check of CI (plain after SAN=1)
# does not run the same 20 s again unless the binary, the corpus directory
# (files added or removed) or the dictionary changed.
# New inputs go to a scratch directory; the committed corpus is read only.
FUZZ_SMOKE_STAMPS := $(FUZZ_TARGETS:%=$(FUZZ_OUT)/smoke/%.ok)
define fuzz_smoke_rule
$(FUZZ_OUT)/smoke/$(1).ok: $(FUZZ_OUT)/libfuzzer/$(1) fuzz/corpus/$(1) \
    $(wildcard fuzz/dict/$(1).dict)
	@rm -rf $(FUZZ_OUT)/smoke/$(1) && mkdir -p $(FUZZ_OUT)/smoke/$(1)/new
	$$< -max_total_time=$(FUZZ_SMOKE_SECONDS) -seed=$(FUZZ_SMOKE_SEED) -timeout=25 \
	  -rss_limit_mb=2048 \
	  -print_final_stats=1 -artifact_prefix=$(FUZZ_OUT)/smoke/$(1)/ \
	  $(if $(wildcard fuzz/dict/$(1).dict),-dict=fuzz/dict/$(1).dict) \
	  $(FUZZ_OUT)/smoke/$(1)/new fuzz/corpus/$(1) > $(FUZZ_OUT)/smoke/$(1).log 2>&1 || \
	  { tail -n 40 $(FUZZ_OUT)/smoke/$(1).log; exit 1; }
	@grep -E 'stat::number_of_executed_units|stat::peak_rss_mb' \
	  $(FUZZ_OUT)/smoke/$(1).log | tr '\n' ' ' | sed 's/^/fuzz-smoke $(1): /'; echo
	@touch $$@
endef
$(foreach t,$(FUZZ_TARGETS),$(eval $(call fuzz_smoke_rule,$(t))))

fuzz-smoke: fuzz-replay $(FUZZ_SMOKE_STAMPS)

CHECK_EXTRA    += fuzz-smoke
MEMCHECK_EXTRA += fuzz-memcheck

-include fuzz/campaign.mk
