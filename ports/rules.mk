# ports/rules.mk: the example ports checked end to end by the oracle
# (included by the Makefile). ports-check runs the PyTorch port and its
# broken twins through `sus check` with the $(SUS) of this build, so under
# SAN=1 the checker itself runs under ASan and UBSan (Python and torch do
# not load anything of ours here).
.PHONY: ports-check

ports-check: $(SUS)
	SUS_BIN=$(abspath $(SUS)) $(PYTHON) -m unittest discover -s ports/pytorch \
	  -p 'test_*.py'

CHECK_EXTRA += ports-check

# ---- Golden vectors (tests/vectors/) ------------------------------------------
# make vectors regenerates them in place; vectors-check (part of make check)
# regenerates them into the build directory, checks tests/vectors/MANIFEST
# and requires the two trees to be equal bit for bit.
.PHONY: vectors vectors-check
VECTORS_REGEN := $(BUILD)/vectors

vectors: $(SUS)
	find tests/vectors -mindepth 1 -maxdepth 1 -type d -exec rm -rf {} +
	$(PYTHON) tests/vectors/gen.py --sus $(SUS) --out tests/vectors

vectors-check: $(SUS)
	rm -rf $(VECTORS_REGEN)
	$(PYTHON) tests/vectors/gen.py --sus $(SUS) --out $(VECTORS_REGEN)
	cd tests/vectors && sha256sum --quiet --strict -c MANIFEST
	diff -r -x gen.py -x README.md -x __pycache__ tests/vectors $(VECTORS_REGEN)
	@echo "vectors-check: MANIFEST holds, and the regenerated vectors equal tests/vectors/ bit for bit"

CHECK_EXTRA += vectors-check
