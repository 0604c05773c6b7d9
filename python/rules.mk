# python/rules.mk: the susref binding's tests (included by the Makefile).
#
# The tests load libsus.so through ctypes into /usr/bin/python3. Under SAN=1
# the library in build-san/ is built with ASan and UBSan, whose runtimes
# must be loaded before anything else (LD_PRELOAD of libasan) and then also
# watch the interpreter, numpy and torch: that checks them, not us. So the
# SAN pass skips these tests, saying so; the plain pass (make check, run by
# CI too) runs them against build/libsus.so, and the C functions they call
# are themselves tested under ASan, UBSan and Valgrind by tests/test_*.c.
.PHONY: python-check

ifeq ($(SAN),1)
python-check:
	@echo "python-check: skipped under SAN=1 (an ASan libsus.so needs libasan preloaded" \
	  "into python3); the plain make check runs python/tests against build/libsus.so"
else
python-check: $(SHARED) $(SUS)
	SUS_LIB=$(abspath $(SHARED)) SUS_BIN=$(abspath $(SUS)) \
	  $(PYTHON) -m unittest discover -s python/tests
endif

CHECK_EXTRA += python-check
