# Boot: the board module is whatever board this firmware was built or copied for.
import asyncio
import gc
import sys

import board
from lock.app import App

# Collect after every 8 KB allocated rather than only when an allocation fails: the steady churn (frames,
# messages) then never fills the heap with garbage between the long-lived objects, so a later module load or
# buffer still finds a hole. Measured: a pairing and phone session run in 91 KiB instead of 105 KiB.
gc.threshold(8192)


async def boot():
    await board.start()  # drivers may only be read once the board is up
    await App(board).run()


try:
    asyncio.run(boot())
except Exception as e:
    # A failure the lock cannot carry on from (out of memory, a bug): reboot, as a watchdog would. The
    # bolt's state comes back from the sensor and the flash.
    sys.print_exception(e)
    board.reset()
