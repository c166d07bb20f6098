# The simulated board: parameters like a real board's, hardware served by `simlock run` over a
# loopback bus (see docs/DESIGN.md). The world (cylinder, battery, button) lives in simlock so that
# it outlives a power cut of this process.
import os
import json
import time
import errno
import select
import socket
from micropython import const

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

# Security timers: the ESP32 board's values, so that a person's simulator behaves as the lock does. Tests
# shorten them through the environment (host_tests/sim.py TEST_TIMERS); nothing else should.
PAIRING_TIMEOUT_MS = int(os.getenv("SIMLOCK_PAIRING_TIMEOUT_MS") or 60000)
FIRST_LOCKOUT_MS = int(os.getenv("SIMLOCK_FIRST_LOCKOUT_MS") or 30000)

# The radio as the ESP32 board's (the simulated controller, boards/sim/bluetooth.py, has room for 4
# connections too), with shorter connection timeouts so that tests of them wait seconds, not half a minute.
MAX_CONNECTIONS = 4
CONNECTION_OPEN_MS = 4000
CONNECTION_IDLE_MS = 8000

_bus = None
_BUS_TIMEOUT_MS = const(10000)


class _World:
    """The wire to the world, and every driver at once: each driver is a few bytes on it, and the board
    has RAM for one object, not six. Reads drain the wire synchronously, so a driver always sees the
    world as it is now, as a real I2C or GPIO read would (a cached value lags whenever this process is
    descheduled)."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = b""
        self.sensor = self.button = self.uv = self.reads = self.answered = 0
        self.poller = select.poll()
        self.poller.register(sock, select.POLLIN)

    def send(self, obj):
        data = (json.dumps(obj) + "\n").encode()
        while data:
            try:
                n = self.sock.send(data)
            except OSError as e:
                if e.errno != errno.EAGAIN:
                    raise SystemExit(3)  # the bench went away: a board without its world cannot go on
                n = 0  # the kernel's buffer is full for a moment
            data = data[n:]

    def pump(self):
        """Apply every message that has arrived; returns True if one was the world's hello."""
        hello = False
        while True:
            try:
                chunk = self.sock.recv(256)  # small: a large buffer needs a large hole in a fragmented heap
            except OSError as e:
                if e.errno != errno.EAGAIN:
                    raise SystemExit(3)
                return hello
            if not chunk:
                raise SystemExit(3)
            self.buf += chunk
            while b"\n" in self.buf:
                line, self.buf = self.buf.split(b"\n", 1)
                msg = json.loads(line)
                for key in ("sensor", "button", "uv"):
                    if key in msg:
                        setattr(self, key, msg[key])
                self.answered = msg.get("read", self.answered)
                hello = hello or msg.get("hello")

    # --- the drivers' methods: Stepper, Sensor, Ring, Button, BatteryADC ----------------------------
    def step(self, n):
        if n:
            self.send({"step": n})

    def enable(self, on):
        self.send({"enable": bool(on)})

    def read(self):
        # A round trip, as an I2C read is: the answer reflects every step already sent, however late the
        # world (another process) gets to them.
        self.reads += 1
        self.send({"read": self.reads})
        while self.answered != self.reads:
            if not self.poller.poll(_BUS_TIMEOUT_MS):
                raise SystemExit(3)  # the world stopped answering
            self.pump()
        return self.sensor

    def write(self, pixels):
        self.send({"ring": [list(p) for p in pixels]})

    def pressed(self):
        self.pump()
        return bool(self.button)

    def read_uv(self):
        self.pump()
        return self.uv

    def feed(self):
        pass  # no watchdog on the simulated board: a hung firmware shows as a lock that stops answering


def _world():
    return _bus


Stepper = Sensor = Ring = Button = BatteryADC = Watchdog = _world


async def start():
    global _bus
    port = int(os.getenv("SIMLOCK_BUS") or "0")
    if not port:
        raise OSError("SIMLOCK_BUS not set: run the simulated board with `simlock run`")
    sock = socket.socket()
    # TCP_NODELAY (MicroPython names no constants for it): without it each step waits for a delayed ACK.
    sock.setsockopt(6, 1, 1)
    sock.connect(socket.getaddrinfo("127.0.0.1", port)[0][-1])
    sock.setblocking(False)
    _bus = _World(sock)
    # The world sends sensor, button and battery first: drivers must not read before that.
    while not _bus.pump():
        time.sleep_ms(5)


def report(status):
    if _bus:
        _bus.send({"status": status})


def reset():
    # A reboot: the bench restarts this process on the same flash, as the chip would restart.
    _bus.send({"reset": True})
    raise SystemExit(0)
