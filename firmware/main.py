# Boot: the board module is whatever board this firmware was built or copied for.
import asyncio

import board
from lock.app import App

asyncio.run(App(board).run())
