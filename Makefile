# Two commands on a fresh machine: `make demo` and `make test`. Everything else is setup they share.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
COMETBFT_VERSION := v0.38.19
COMETBFT := $(BIN)/cometbft

.PHONY: setup demo test lint bench emu images clean

# qosd's hot modules compiled by mypyc into the venv (host/chain/native.py), again after an edit
setup: $(STAMP) $(COMETBFT)
	@$(BIN)/python -m host.devtools.native

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

# CometBFT runs multi-validator networks: Go builds it from its module with the patches in
# third_party/cometbft (README there says why).
$(COMETBFT): third_party/cometbft/build.sh $(wildcard third_party/cometbft/*.patch)
	@if command -v go >/dev/null 2>&1; then \
		echo "building CometBFT $(COMETBFT_VERSION) with third_party/cometbft's patches"; \
		mkdir -p $(BIN) && third_party/cometbft/build.sh $(COMETBFT_VERSION) $(abspath $(COMETBFT)); \
	else \
		echo "go not found: CometBFT tests will be skipped"; \
	fi

demo: setup
	$(BIN)/python -m host.devtools.demo

lint: setup
	$(BIN)/ruff check host qrng tests hil bench firmware
	$(BIN)/mypy

# The HIL suite runs again on the stock-board path (the .mpy tree in the emulator's heap), and
# where the QEMU tools are installed (docs/boards.md): on the QEMU Cortex-M55 board, with the
# crypto vectors and the codec cross-tests there; the viper kernels' tests also run on a Cortex-M0
# (the RP2040's ARMv6-M code; the rest is bytecode, the same on every core).
VIPER_TESTS = tests/crypto/test_hashes.py tests/qrng/test_health_kernel.py
test: setup lint
	PATH=$(abspath $(BIN)):$$PATH $(BIN)/python -m pytest
	PATH=$(abspath $(BIN)):$$PATH $(BIN)/python -m pytest hil --board stock -q
	if $(BIN)/python -m host.devtools.qemu; then \
		PATH=$(abspath $(BIN)):$$PATH $(BIN)/python -m pytest hil --board qemu -q && \
		QOS_MICROPYTHON=qemu $(BIN)/python -m pytest tests/crypto tests/codec \
			tests/qrng/test_health_kernel.py -q && \
		QOS_MICROPYTHON=qemu-m0 $(BIN)/python -m pytest $(VIPER_TESTS) -q; fi

bench: setup
	PATH=$(abspath $(BIN)):$$PATH $(BIN)/python -m bench

emu: setup
	$(BIN)/qos emu --interactive

# Board images from the pinned MicroPython sources (~/.cache/qos/images; docs/boards.md).
images: setup
	$(BIN)/qos fw build --board qemu --image
	$(BIN)/qos fw build --board qemu --image --debug
	$(BIN)/qos fw build --board rp2350 --image
	$(BIN)/qos fw build --board rp2350 --image --debug
	$(BIN)/qos fw build --board rp2040 --image
	$(BIN)/qos fw build --board rp2040 --image --debug

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
