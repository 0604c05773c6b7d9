# proofs/rules.mk: make proofs, the machine-checked proofs (README, "Proofs:
# what is proved, and what is only tested"). Frama-C/WP proves the ACSL
# contracts of the integer and memory code that ref/, fast/, core/ and
# tools/ run (proofs/wp/<function>/proof.cfg names each source file and its
# functions); Why3 proves the real-number lemmas (proofs/why3/). Needs
# frama-c-base, why3, z3 and cvc4 (Debian); writes only under
# $(BUILD)/proofs/ (why3's prover configuration included, not $HOME).
# WP_PAR: parallel prover runs (2); WP_TIMEOUT: seconds per goal and prover (20).
PROOF_DIR := $(BUILD)/proofs
WP_PAR     ?= 2
WP_TIMEOUT ?= 20

.PHONY: proofs
proofs:
	WP_PAR=$(WP_PAR) WP_TIMEOUT=$(WP_TIMEOUT) proofs/table.sh $(PROOF_DIR)

CI_EXTRA += proofs
