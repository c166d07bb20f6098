# The watchdog, and what the board does at boot when a part is missing or the lock is being maintained.
import asyncio
import os
from machine import WDT


class Watchdog:
    """machine.WDT: once made it cannot be stopped; the app's control loop feeds it every tick, so a hung
    loop (a task that never yields, a deadlock) reboots the board within timeout_ms."""

    def __init__(self, timeout_ms):
        self._wdt = WDT(timeout=timeout_ms)

    def feed(self):
        self._wdt.feed()


async def hold_while_faulty(check, ring, pixels, period_ms=3000):
    """Boot waits here while check() names a fault: the console says which part and what to look at, the
    ring blinks red, and boot goes on by itself once the part answers. A lock cannot run without its parts,
    and rebooting into the same fault again and again would hide the message."""
    while True:
        fault = check()
        if fault is None:
            return
        print("lock: hardware fault:", fault)
        ring.write([(64, 0, 0)] * pixels)
        await asyncio.sleep_ms(300)
        ring.write([(0, 0, 0)] * pixels)
        await asyncio.sleep_ms(period_ms)


async def hold_for_maintenance(marker):
    """While the file `marker` exists the lock is not started, so its watchdog is never armed: `make deploy`
    (which creates and removes it) and a long session at the REPL cannot be cut short by a watchdog reset.
    Ctrl-C (mpremote connecting) ends the wait and leaves the REPL."""
    try:
        os.stat(marker)
    except OSError:
        return
    print("lock: maintenance mode, not started (%s exists; `make resume` or `make deploy` ends it)" % marker)
    while True:
        await asyncio.sleep_ms(60000)
