# Freeze the firmware and this board into an ESP32 build (docs/HARDWARE.md, "A frozen build"):
#   make -C ports/esp32 BOARD=ESP32_GENERIC_S3 FROZEN_MANIFEST=<repo>/boards/esp32s3_devkitc/manifest.py
# Paths are relative to this file. The port's own manifest brings asyncio and neopixel; of aioble only the
# parts the lock uses: it advertises (peripheral) and serves characteristics (server).
include("$(PORT_DIR)/boards/manifest.py")
require("aioble-core")
require("aioble-peripheral")
require("aioble-server")
module("board.py")
package("lock", base_path="../../firmware")
package("drivers", files=("__init__.py", "pace.py", "as5600.py", "stepdir.py", "neoring.py", "inputs.py",
                          "system.py"), base_path="../../firmware")
module("main.py", base_path="../../firmware")
