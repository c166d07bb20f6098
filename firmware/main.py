# Boot: the board module is whatever board this firmware was built or copied for.
import asyncio

import board
from lock.app import App


async def boot():
    await board.start()  # drivers may only be read once the board is up
    await App(board).run()


asyncio.run(boot())
