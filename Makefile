# sus: GNU Makefile. The one entry point (DESIGN.md section 5).
#   make              libsus.a, libsus.so, the sus CLI and sus.pc, in $(BUILD)/
#   make check        unit tests (CMocka) and the PyTorch cross-check
#   make check SAN=1  the same, built with ASan and UBSan, in build-san/
#   make memcheck     the unit tests under Valgrind memcheck
#   make ci           everything CI runs
#   make example      sus grad on the built-in example (examples/tiny)
#   make bench        time fast/ against OpenBLAS's sgemm and PyTorch (build/bench/table.md)
#   make install / uninstall (PREFIX, DESTDIR), make clean

PREFIX  ?= /usr/local
DESTDIR ?=
CC      ?= cc
PYTHON  ?= /usr/bin/python3
VALGRIND ?= valgrind

VERSION := $(shell sed -n 's/^\#define SUS_VERSION_STRING "\(.*\)"/\1/p' include/sus.h)
SOMAJOR := $(firstword $(subst ., ,$(VERSION)))

ifeq ($(SAN),1)
BUILD   ?= build-san
SANFLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
else
BUILD   ?= build
SANFLAGS :=
endif

WARN    := -Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes -Wmissing-prototypes
ifneq ($(CI),)
WARN    += -Werror
endif
OPT     ?= -O2 -g
CPPFLAGS += -Iinclude -D_POSIX_C_SOURCE=200809L
# No fused multiply-add contraction: the canonical mask's q must round the
# same under gcc and clang and on any target (README, canonical mask).
CFLAGS  += -std=c11 $(OPT) -fPIC -ffp-contract=off -fopenmp $(WARN) $(SANFLAGS) -MMD -MP
LDFLAGS += $(SANFLAGS) -fopenmp
LIBS    := -lmpfr -lgmp -lm
TESTLIBS := -lcmocka

# The library: the shared core, the reference, the optimized implementation
# and the .npy I/O of tools/.
LIB_SRC := $(wildcard core/*.c) $(wildcard ref/*.c) $(wildcard fast/*.c) \
           $(wildcard tools/npy*.c)
CLI_SRC := $(filter-out $(wildcard tools/npy*.c),$(wildcard tools/*.c))
TEST_SUPPORT_SRC := $(wildcard tests/support_*.c)
TEST_SRC := $(wildcard tests/test_*.c)

LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/obj/%.o)
CLI_OBJ := $(CLI_SRC:%.c=$(BUILD)/obj/%.o)
TEST_SUPPORT_OBJ := $(TEST_SUPPORT_SRC:%.c=$(BUILD)/obj/%.o)
TEST_BIN := $(TEST_SRC:tests/%.c=$(BUILD)/tests/%)

STATIC  := $(BUILD)/libsus.a
SHARED  := $(BUILD)/libsus.so
SUS     := $(BUILD)/sus
PC      := $(BUILD)/sus.pc

.SECONDARY:
.PHONY: all check memcheck ci install uninstall clean format tests torch-crosscheck example \
        install-check bench bench-deps
all: $(STATIC) $(SHARED) $(SUS) $(PC)

# fast/'s SIMD kernels: one file per level, compiled for that level and
# chosen at run time (fast/ctx.c), so one binary runs on any x86-64.
SIMD_AVX2   := -mavx2 -mfma
SIMD_AVX512 := -mavx512f -mavx512dq -mavx512vl -mavx512bw -mavx2 -mfma
$(BUILD)/obj/fast/%_avx2.o: CFLAGS += $(SIMD_AVX2)
$(BUILD)/obj/fast/%_avx512.o: CFLAGS += $(SIMD_AVX512)
# The forward's kernels: -O3 so that the register-blocked micro-kernels'
# fixed-size loops are unrolled into registers.
$(BUILD)/obj/fast/kern_fwd_%.o: CFLAGS += -O3
# The backward kernels (fast/bwd_kern.h) need -O3's complete unrolling of
# their constant-bound tile loops to keep the register tiles in registers.
$(BUILD)/obj/fast/kern_bwd_%.o: CFLAGS += -O3

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -c $< -o $@

$(STATIC): $(LIB_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@
	ar rcs $@ $^

$(SHARED): $(LIB_OBJ)
	$(CC) -shared -Wl,-soname,libsus.so.$(SOMAJOR) $(LDFLAGS) -o $@ $^ $(LIBS)

$(SUS): $(CLI_OBJ) $(STATIC)
	$(CC) $(LDFLAGS) -o $@ $(CLI_OBJ) $(STATIC) $(LIBS)

$(PC): sus.pc.in include/sus.h
	@mkdir -p $(dir $@)
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@VERSION@|$(VERSION)|g' $< > $@

$(BUILD)/tests/%: $(BUILD)/obj/tests/%.o $(TEST_SUPPORT_OBJ) $(STATIC)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $< $(TEST_SUPPORT_OBJ) $(STATIC) $(TESTLIBS) $(LIBS)

tests: $(TEST_BIN) $(SUS)

# The test binaries find the CLI and test data through the environment.
TEST_ENV := SUS_BIN=$(abspath $(SUS)) SUS_TESTDATA=$(abspath tests)

# Each part of the suite with rules of its own keeps them in a fragment next to
# its sources (fuzz/, proofs/, python/, ports/, tests/mc/). A fragment hooks
# into the shared targets through these lists:
#   CHECK_EXTRA     targets that make check also runs (plain and SAN=1)
#   MEMCHECK_EXTRA  targets that make memcheck also runs
#   CI_EXTRA        targets that make ci runs once, after install-check
CHECK_EXTRA    :=
MEMCHECK_EXTRA :=
CI_EXTRA       :=
include $(sort $(wildcard fuzz/rules.mk proofs/rules.mk python/rules.mk ports/rules.mk \
                          tests/mc/rules.mk))

torch-crosscheck: $(SUS)
	$(PYTHON) tests/torch_crosscheck.py --sus $(SUS)

# The PyTorch cross-check runs first, so that the output ends with CMocka's
# summaries.
check: all tests torch-crosscheck $(CHECK_EXTRA)
	@set -e; for t in $(TEST_BIN); do echo "== $$t"; $(TEST_ENV) $$t; done

VGFLAGS := --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \
           --show-leak-kinds=definite --track-origins=yes --quiet
memcheck: all tests $(MEMCHECK_EXTRA)
	@set -e; for t in $(TEST_BIN); do echo "== valgrind $$t"; \
	  $(TEST_ENV) SUS_TEST_QUICK=1 SUS_VALGRIND="$(VALGRIND) $(VGFLAGS)" \
	  $(VALGRIND) $(VGFLAGS) $$t; done

# The built-in example of README.md: exact gradients of a small causal
# problem, certified from MPFR at 256 bits.
example: $(SUS)
	$(SUS) grad --q examples/tiny/Q.npy --k examples/tiny/K.npy --v examples/tiny/V.npy \
	  --do examples/tiny/dO.npy --causal --mag --out $(BUILD)/example
	@echo "wrote $(BUILD)/example/: O lse dQ dK dV and their *_mag, float64 .npy"

# Everything CI runs; plain check last, so the log ends with its summaries.
ci:
	$(MAKE) check SAN=1
	$(MAKE) memcheck
	$(MAKE) install-check
	$(if $(strip $(CI_EXTRA)),$(MAKE) $(CI_EXTRA))
	$(MAKE) check

install: all
	install -d $(DESTDIR)$(PREFIX)/include $(DESTDIR)$(PREFIX)/lib/pkgconfig $(DESTDIR)$(PREFIX)/bin
	install -m 644 include/sus.h $(DESTDIR)$(PREFIX)/include/sus.h
	install -m 644 $(STATIC) $(DESTDIR)$(PREFIX)/lib/libsus.a
	install -m 755 $(SHARED) $(DESTDIR)$(PREFIX)/lib/libsus.so.$(VERSION)
	ln -sf libsus.so.$(VERSION) $(DESTDIR)$(PREFIX)/lib/libsus.so.$(SOMAJOR)
	ln -sf libsus.so.$(SOMAJOR) $(DESTDIR)$(PREFIX)/lib/libsus.so
	install -m 644 $(PC) $(DESTDIR)$(PREFIX)/lib/pkgconfig/sus.pc
	install -m 755 $(SUS) $(DESTDIR)$(PREFIX)/bin/sus

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/include/sus.h $(DESTDIR)$(PREFIX)/lib/libsus.a \
	  $(DESTDIR)$(PREFIX)/lib/libsus.so.$(VERSION) $(DESTDIR)$(PREFIX)/lib/libsus.so.$(SOMAJOR) \
	  $(DESTDIR)$(PREFIX)/lib/libsus.so $(DESTDIR)$(PREFIX)/lib/pkgconfig/sus.pc \
	  $(DESTDIR)$(PREFIX)/bin/sus

# Installs into a staging directory, builds a program against the installed
# header, static library and sus.pc, runs it, and checks that uninstall
# removes every installed file.
STAGE := $(abspath $(BUILD)/stage)
install-check: all
	rm -rf $(STAGE)
	$(MAKE) install DESTDIR=$(STAGE) PREFIX=/usr
	$(CC) -std=c11 $(WARN) -o $(BUILD)/install_smoke tests/install_smoke.c \
	  $$(PKG_CONFIG_PATH=$(STAGE)/usr/lib/pkgconfig pkg-config --static \
	     --define-variable=prefix=$(STAGE)/usr --cflags --libs sus) -static-libgcc
	LD_LIBRARY_PATH=$(STAGE)/usr/lib $(BUILD)/install_smoke
	$(MAKE) uninstall DESTDIR=$(STAGE) PREFIX=/usr
	test -z "$$(find $(STAGE) -type f -o -type l)"

# ---- Benchmarks ---------------------------------------------------------------
# make bench: sus bench over a trimmed grid, the OpenBLAS sgemm ceiling and the
# PyTorch peer, side by side in one run; writes $(BENCH_OUT)/table.md and
# results.json (bench/run_bench.py). Never part of all, check or ci: OpenBLAS
# (libopenblas-dev), GNU time and python3-torch are needed only here.
# BENCH_THREADS (default: online CPUs), BENCH_REPS (3), BENCH_GRID (full or
# quick, a smoke test).
BENCH_OUT     ?= $(BUILD)/bench
BENCH_THREADS ?= $(shell nproc)
BENCH_REPS    ?= 3
BENCH_GRID    ?= full
SGEMM_CEILING := $(BENCH_OUT)/sgemm_ceiling

bench-deps:
	@pkg-config --exists openblas || { echo "make bench: OpenBLAS is missing; it measures the" \
	  "sgemm ceiling and serves PyTorch. Install it with: apt-get install libopenblas-dev" >&2; \
	  exit 1; }
	@test -x /usr/bin/time || { echo "make bench: GNU time (/usr/bin/time) is missing; it" \
	  "measures peak RSS. Install it with: apt-get install time" >&2; exit 1; }
	@$(PYTHON) -c 'import torch' 2>/dev/null || { echo "make bench: $(PYTHON) cannot import" \
	  "torch, the peer. Install it with: apt-get install python3-torch" >&2; exit 1; }

$(SGEMM_CEILING): bench/sgemm_ceiling.c | bench-deps
	@mkdir -p $(dir $@)
	$(CC) -std=c11 -O2 $(WARN) $$(pkg-config --cflags openblas) $< -o $@ \
	  $$(pkg-config --libs openblas)

bench: bench-deps $(SUS) $(SGEMM_CEILING)
	$(PYTHON) bench/run_bench.py --sus $(SUS) --sgemm $(SGEMM_CEILING) --out $(BENCH_OUT) \
	  --threads $(BENCH_THREADS) --reps $(BENCH_REPS) --grid $(BENCH_GRID)

format:
	clang-format -i $(wildcard include/*.h core/*.[ch] ref/*.[ch] fast/*.[ch] tools/*.[ch] tests/*.[ch] \
	  bench/*.c)

clean:
	rm -rf build build-san

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
