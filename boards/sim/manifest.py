# The simulated board: the firmware, this board's drivers and its low-level radio (`bluetooth`), and the
# parts of micropython-lib's aioble the firmware uses (peripheral role, GATT server), exactly as a board's
# image holds them. The simulator compiles the same list (tools/simlock/mpybuild.py `build_board`).
require("aioble-core")
require("aioble-peripheral")
require("aioble-server")
module("board.py")
module("bluetooth.py")
package("lock", base_path="../../firmware")
module("main.py", base_path="../../firmware")
