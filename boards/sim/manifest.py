# The simulated board's image (`make frozen`): the Unix port, 32-bit, with the firmware and this board frozen
# in, the way an ESP32 image is built. Without it the simulator loads the same modules as mpy-cross files.
# Paths are relative to this file. The variant's own manifest is replaced, so asyncio is included here.
include("$(MPY_DIR)/extmod/asyncio")
module("board.py")
module("bluetooth.py")
module("aioble.py")
package("lock", base_path="../../firmware")
module("main.py", base_path="../../firmware")
