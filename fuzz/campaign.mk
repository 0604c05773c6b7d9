# fuzz/campaign.mk: campaigns, coverage, mutants and the OSS-Fuzz build check
# (see fuzz/rules.mk). None of these is part of check or ci.

TARGET  ?= diff_fast_ref
ENGINE  ?= libfuzzer
SECONDS ?= 1800
JOBS    ?= 1

fuzz: $(FUZZ_OUT)/libfuzzer/$(TARGET) $(if $(filter afl,$(ENGINE)),$(FUZZ_OUT)/afl-asan/$(TARGET) \
      $(FUZZ_OUT)/afl/$(TARGET))
	fuzz/campaign.sh $(TARGET) $(ENGINE) $(SECONDS) $(JOBS)

# ---- make fuzz-cov: the corpus replay under clang source-based coverage ------
FUZZ_COV := $(FUZZ_OUT)/cov
fuzz-cov: $(FUZZ_TARGETS:%=$(FUZZ_COV)/%)
	@rm -rf $(FUZZ_COV)/prof && mkdir -p $(FUZZ_COV)/prof
	@set -e; for t in $(FUZZ_TARGETS); do \
	  LLVM_PROFILE_FILE=$(FUZZ_COV)/prof/$$t.profraw $(FUZZ_COV)/$$t fuzz/corpus/$$t; done
	$(FUZZ_LLVM_PROFDATA) merge -sparse $(FUZZ_COV)/prof/*.profraw -o $(FUZZ_COV)/all.profdata
	$(FUZZ_LLVM_COV) report $(FUZZ_COV)/diff_fast_ref $(foreach t,$(filter-out diff_fast_ref,$(FUZZ_TARGETS)),-object $(FUZZ_COV)/$(t)) \
	  -instr-profile=$(FUZZ_COV)/all.profdata $(sort $(wildcard fast/*.c fast/*.h ref/*.c core/*.c tools/npy*.c tools/cli_num.c tools/cli_est_parse.c tools/cmd_grad.c tools/cmd_bench.c)) \
	  | tee $(FUZZ_COV)/report.txt

# ---- make fuzz-mutants: does diff_fast_ref find each planted bug? -----------
# fast/ is rebuilt with -DSUS_MUTANT=N (fast/fwd_kern.h, fast/bwd.c: an
# off-by-one in the causal limit, u <= q, minc without its cap, D from the
# masked output, V's head stride d for dv); the rest is the libFuzzer build.
FUZZ_MUTANTS := 1 2 3 4 5
FUZZ_MUTANT_NAMES := causal-off-by-one u-le-q minc-no-cap d-from-masked-output v-stride-d
FUZZ_MUTANT_SECONDS ?= 60
FUZZ_LF_FLAGS := $(FUZZ_CFLAGS_BASE) $(FUZZ_SAN) -fsanitize=fuzzer-no-link
FAST_SRC := $(wildcard fast/*.c)
define fuzz_mutant
$(FUZZ_OUT)/mutant-$(1)/obj/%.o: %.c
	@mkdir -p $$(dir $$@)
	$(FUZZ_CLANG) $(FUZZ_LF_FLAGS) -DSUS_MUTANT=$(1) $$(if $$(findstring _avx512,$$<),$(SIMD_AVX512),$$(if $$(findstring _avx2,$$<),$(SIMD_AVX2))) -c $$< -o $$@
$(FUZZ_OUT)/mutant-$(1)/diff_fast_ref: $(FAST_SRC:%.c=$(FUZZ_OUT)/mutant-$(1)/obj/%.o) \
    $(patsubst %.c,$(FUZZ_OUT)/libfuzzer/obj/%.o,fuzz/diff_fast_ref.c $(filter-out $(FAST_SRC),$(LIB_SRC)) $(FUZZ_COMMON) $(FUZZ_SUPPORT_SRC))
	$(FUZZ_CLANG) $(FUZZ_SAN) -fsanitize=fuzzer -fopenmp -o $$@ $$^ $(TESTLIBS) $(LIBS)
-include $(FAST_SRC:%.c=$(FUZZ_OUT)/mutant-$(1)/obj/%.d)
endef
$(foreach n,$(FUZZ_MUTANTS),$(eval $(call fuzz_mutant,$(n))))

fuzz-mutants: $(FUZZ_MUTANTS:%=$(FUZZ_OUT)/mutant-%/diff_fast_ref)
	@FUZZ_MUTANT_SEED=$(FUZZ_MUTANT_SEED) fuzz/mutants.sh $(FUZZ_MUTANT_SECONDS) $(FUZZ_MUTANT_NAMES)

# ---- make oss-fuzz-build-check ----------------------------------------------
oss-fuzz-build-check:
	@rm -rf $(FUZZ_OUT)/oss-fuzz && mkdir -p $(FUZZ_OUT)/oss-fuzz/out $(FUZZ_OUT)/oss-fuzz/work
	SRC=$(CURDIR) OUT=$(abspath $(FUZZ_OUT)/oss-fuzz/out) WORK=$(abspath $(FUZZ_OUT)/oss-fuzz/work) \
	  CC=clang CXX=clang++ SANITIZER=address \
	  CFLAGS="-O1 -fno-omit-frame-pointer -gline-tables-only -fsanitize=address -fsanitize-address-use-after-scope -fsanitize=fuzzer-no-link" \
	  LIB_FUZZING_ENGINE=-fsanitize=fuzzer bash .clusterfuzzlite/build.sh
	@set -e; for t in $(FUZZ_TARGETS); do test -x $(FUZZ_OUT)/oss-fuzz/out/$$t || \
	  { echo "oss-fuzz-build-check: $$t missing" >&2; exit 1; }; \
	  $(FUZZ_OUT)/oss-fuzz/out/$$t -runs=0 $(FUZZ_OUT)/oss-fuzz/work/none >/dev/null 2>&1 || \
	  $(FUZZ_OUT)/oss-fuzz/out/$$t -runs=1 >/dev/null 2>&1 || \
	  { echo "oss-fuzz-build-check: $$t does not run" >&2; exit 1; }; done
	@ls $(FUZZ_OUT)/oss-fuzz/out
	@echo "oss-fuzz-build-check: $(words $(FUZZ_TARGETS)) fuzzers, seed corpora and dictionaries built"
