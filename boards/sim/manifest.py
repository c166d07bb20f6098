# The simulated board: the firmware, this board's drivers and its low-level radio (`bluetooth`), and the
# parts of micropython-lib's aioble the firmware uses (peripheral role, GATT server), exactly as a board's
# image holds them. The simulator compiles the same list (tools/simlock/mpybuild.py `build_board`);
# `make frozen` freezes it into the Unix port, 32-bit, the way an ESP32 image is built. Paths are relative to
# this file. A frozen build replaces the variant's own manifest, so asyncio is included here (the PyPI port
# the simulator runs has it built in; mpybuild takes only the micropython-lib parts).
include("$(MPY_DIR)/extmod/asyncio")
require("aioble-core")
require("aioble-peripheral")
require("aioble-server")
module("board.py")
module("bluetooth.py")
package("lock", base_path="../../firmware")
module("main.py", base_path="../../firmware")
