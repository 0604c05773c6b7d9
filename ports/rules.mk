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
