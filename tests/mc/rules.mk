# tests/mc/rules.mk: the Monte Carlo suite of issue 6 (README.md,
# "Statistical report").
#   make report         sus report on the built-in workloads -> $(REPORT_OUT)/
#   make mc-power       the power table of the test-only biased variants
#   make mc-calibrate   the observed false-alarm rate at nominal alpha 0.01
# make check runs tests/test_mc_engine.c (automatically, as every test_*.c)
# and tests/mc/shards.sh (4 shards through GNU parallel, merged).

# The engine, linked into the test binaries that need it (the CLI gets it
# through CLI_SRC).
MC_ENGINE_SRC := tools/workload.c tools/mc_exact.c tools/mc_acc.c tools/mc_tests.c \
                 tools/mc_pvalue.c tools/mc_draw.c tools/mc_shard.c tools/mc_campaign.c \
                 tools/mc_binom.c tools/cli_msg.c tools/cli_num.c tools/cli_fast.c \
                 tools/cli_rule.c
MC_ENGINE_OBJ := $(MC_ENGINE_SRC:%.c=$(BUILD)/obj/%.o) $(BUILD)/obj/tests/mc/variants.o

$(BUILD)/tests/test_mc_engine: $(MC_ENGINE_OBJ)
$(BUILD)/tests/test_mc_engine: TEST_SUPPORT_OBJ += $(MC_ENGINE_OBJ)

# The test build of the CLI with the biased variants (-DSUS_TEST_VARIANTS):
# only the two files with the hook are compiled twice.
MC_VARIANT_SRC := tools/cmd_mc.c tools/mc_draw.c
MC_VARIANT_OBJ := $(MC_VARIANT_SRC:%.c=$(BUILD)/obj-variants/%.o)
SUS_VARIANTS := $(BUILD)/tests/sus-variants

$(BUILD)/obj-variants/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) -DSUS_TEST_VARIANTS $(CFLAGS) -c $< -o $@

$(SUS_VARIANTS): $(filter-out $(MC_VARIANT_SRC:%.c=$(BUILD)/obj/%.o),$(CLI_OBJ)) \
                 $(MC_VARIANT_OBJ) $(BUILD)/obj/tests/mc/variants.o $(STATIC)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

tests: $(SUS_VARIANTS)

.PHONY: mc-shards report mc-power mc-calibrate
mc-shards: $(SUS)
	SUS=$(abspath $(SUS)) OUT=$(abspath $(BUILD))/mc-shards sh tests/mc/shards.sh

CHECK_EXTRA += mc-shards

REPORT_OUT ?= $(BUILD)/report
REPORT_SAMPLES ?= 1000
report: $(SUS)
	$(SUS) report --workloads all --c 8 --samples $(REPORT_SAMPLES) --rho --out $(REPORT_OUT)

mc-power: $(SUS_VARIANTS)
	$(SUS_VARIANTS) mc --workload peaked --power --reruns 100

mc-calibrate: $(SUS)
	$(SUS) mc --workload peaked --calibrate 200 --alpha 0.05
