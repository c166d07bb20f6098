# Freeze the firmware and this board into an ESP32 build:
#   make -C ports/esp32 BOARD=ESP32_GENERIC FROZEN_MANIFEST=<repo>/boards/esp32_devkit/manifest.py
# Paths are relative to this file; the port's own manifest brings asyncio and neopixel.
include("$(PORT_DIR)/boards/manifest.py")
require("aioble")
module("board.py")
package("lock", base_path="../../firmware")
module("main.py", base_path="../../firmware")
