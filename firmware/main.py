# Boot: the board module is whatever board this firmware was built or copied for.
import asyncio
import sys

import board
from lock.app import App


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
