# The simulated board: parameters like a real board's, hardware served by `simlock run` over a
# loopback bus (see docs/DESIGN.md). The world (cylinder, battery, button) lives in simlock so that
# it outlives a power cut of this process.
import os
import json
import asyncio

NAME = "sim"

# Motion: a geared stepper, 400 steps per cylinder turn.
STEPS_PER_REV = 400
MAX_SPEED = 800
ACCEL = 4000
JAM_MARGIN_MS = 400
FULL_LOCK = True
UNLATCH_HOLD_MS = 800

# Ring: 16 pixels, pixel 0 at 12 o'clock, clockwise.
RING_PIXELS = 16
RING_FPS = 30
RING_UPPER = (14, 15, 0, 1, 2)

BATTERY_KIND = "alkaline"
BATTERY_CELLS = 4

FLASH_ROOT = os.getenv("SIMLOCK_FLASH") or "."

_bus = None


class _Bus:
    def __init__(self, reader, writer):
        self.reader = reader
        self.writer = writer
        self.sensor = 0
        self.button = 0
        self.uv = 0
        self.pending = asyncio.Event()

    def send(self, obj):
        self.writer.write(json.dumps(obj) + "\n")
        self.pending.set()

    async def flush(self):
        while True:
            await self.pending.wait()
            self.pending.clear()
            await self.writer.drain()

    def apply(self, msg):
        for key in ("sensor", "button", "uv"):
            if key in msg:
                setattr(self, key, msg[key])

    async def listen(self):
        while True:
            line = await self.reader.readline()
            if not line:
                # The bench went away: a board without its world cannot go on.
                raise SystemExit(3)
            self.apply(json.loads(line))


async def start():
    global _bus
    port = int(os.getenv("SIMLOCK_BUS") or "0")
    if not port:
        raise OSError("SIMLOCK_BUS not set: run the simulated board with `simlock run`")
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    _bus = _Bus(reader, writer)
    # The world sends sensor, button and battery first: drivers must not read before that.
    while True:
        msg = json.loads(await reader.readline())
        _bus.apply(msg)
        if msg.get("hello"):
            break
    asyncio.create_task(_bus.listen())
    asyncio.create_task(_bus.flush())


def report(status):
    if _bus:
        _bus.send({"status": status})


class _Stepper:
    def step(self, n):
        if n:
            _bus.send({"step": n})

    def enable(self, on):
        _bus.send({"enable": bool(on)})


class _Sensor:
    def read(self):
        return _bus.sensor


class _Ring:
    def write(self, pixels):
        _bus.send({"ring": [list(p) for p in pixels]})


class _Button:
    def pressed(self):
        return bool(_bus.button)


class _BatteryADC:
    def read_uv(self):
        return _bus.uv


def stepper():
    return _Stepper()


def sensor():
    return _Sensor()


def ring():
    return _Ring()


def button():
    return _Button()


def battery_adc():
    return _BatteryADC()


def reset():
    # A reboot: the bench restarts this process on the same flash, as the chip would restart.
    _bus.send({"reset": True})
    _bus.writer.s.close() if hasattr(_bus.writer, "s") else None
    raise SystemExit(0)
