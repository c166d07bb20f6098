# The simulated board runs from sources or from `make mpy` (build/sim); nothing is frozen, but the list of
# what makes up a sim build is the same shape as a real board's.
module("board.py")
module("bluetooth.py")
module("aioble.py")
package("lock", base_path="../../firmware")
module("main.py", base_path="../../firmware")
