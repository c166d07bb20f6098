# Freeze the firmware and this board into an ESP32 build:
#   make -C ports/esp32 BOARD=ESP32_GENERIC FROZEN_MANIFEST=<repo>/boards/esp32_devkit/manifest.py
include("$(PORT_DIR)/boards/manifest.py")
require("aioble")
module("board.py", base_path="$(MPY_DIR)/../boards/esp32_devkit")
package("lock", base_path="$(MPY_DIR)/../firmware")
module("main.py", base_path="$(MPY_DIR)/../firmware")
