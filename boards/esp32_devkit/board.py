# ESP32-DevKitC (WROOM-32) fitted as in docs/HARDWARE.md: TMC2209 stepper driver (STEP/DIR/EN) on a
# geared NEMA-14, AS5600 magnetic encoder on the cylinder shaft (I2C), a 16-pixel WS2812 ring,
# one button to GND, 4 x AA cells through a 200k/100k divider.
import time
import esp32
import machine
import neopixel

NAME = "esp32_devkit"

STEPS_PER_REV = 1600       # 200 full steps x 8 microsteps, 1:1 to the cylinder through the gearbox
MAX_SPEED = 1600
ACCEL = 6400
JAM_MARGIN_MS = 500
FULL_LOCK = True
UNLATCH_HOLD_MS = 1000

RING_PIXELS = 16
RING_FPS = 30
RING_UPPER = (14, 15, 0, 1, 2)

BATTERY_KIND = "alkaline"
BATTERY_CELLS = 4

FLASH_ROOT = "/data"

PAIRING_TIMEOUT_MS = 60000
FIRST_LOCKOUT_MS = 30000       # after 5 free wrong codes; doubles per further one, capped at 4 h

# The radio. MicroPython's ESP32 build gives NimBLE room for 4 connections (CONFIG_BT_NIMBLE_MAX_CONNECTIONS);
# the lock stops advertising at that many. A connection must open a session (one authentic frame) or a
# pairing exchange within CONNECTION_OPEN_MS (a phone connects, discovers and subscribes in 1-3 s), and is
# dropped after CONNECTION_IDLE_MS without a message (an app on screen sends one per command; the next
# one reconnects in about a second).
MAX_CONNECTIONS = 4
CONNECTION_OPEN_MS = 8000
CONNECTION_IDLE_MS = 30000

_PIN_STEP = 25
_PIN_DIR = 26
_PIN_EN = 27          # low = driver enabled
_PIN_SDA = 21
_PIN_SCL = 22
_PIN_RING = 13
_PIN_BUTTON = 0       # the DevKit's BOOT button doubles as the lock button
_PIN_BATTERY = 34
_DIVIDER = 3          # (200k + 100k) / 100k

_AS5600 = 0x36
_AS5600_RAW_ANGLE = 0x0C


class Stepper:
    def __init__(self):
        self._step = machine.Pin(_PIN_STEP, machine.Pin.OUT, value=0)
        self._dir = machine.Pin(_PIN_DIR, machine.Pin.OUT, value=0)
        self._en = machine.Pin(_PIN_EN, machine.Pin.OUT, value=1)

    def step(self, n):
        self._dir.value(1 if n > 0 else 0)
        for _ in range(abs(n)):
            # TMC2209 needs >100 ns high and low; a few microseconds is ample and still cheap.
            self._step.value(1)
            time.sleep_us(2)
            self._step.value(0)
            time.sleep_us(2)

    def enable(self, on):
        self._en.value(0 if on else 1)


class Sensor:
    """AS5600 absolute angle, unwrapped across turns (one revolution = STEPS_PER_REV). The unwrapped
    position is saved to NVS every quarter turn, so a reboot resolves the turn it is in."""

    def __init__(self):
        self._i2c = machine.I2C(0, sda=machine.Pin(_PIN_SDA), scl=machine.Pin(_PIN_SCL), freq=400000)
        self._buf = bytearray(2)
        self._nvs = esp32.NVS("sensor")
        try:
            saved = self._nvs.get_i32("pos")
        except OSError:
            saved = 0
        raw = self._raw()
        # The turn that puts the angle nearest the last saved position.
        self._turns = (saved - raw + 2048) // 4096
        self._last = raw
        self._saved = saved

    def _raw(self):
        self._i2c.readfrom_mem_into(_AS5600, _AS5600_RAW_ANGLE, self._buf)
        return ((self._buf[0] & 0x0F) << 8) | self._buf[1]

    def read(self):
        raw = self._raw()
        # Between two reads the cylinder turns far less than half a revolution: a jump means a wrap.
        if raw - self._last > 2048:
            self._turns -= 1
        elif self._last - raw > 2048:
            self._turns += 1
        self._last = raw
        pos = self._turns * 4096 + raw
        if abs(pos - self._saved) >= 1024:
            self._nvs.set_i32("pos", pos)
            self._nvs.commit()
            self._saved = pos
        return pos * STEPS_PER_REV // 4096


class Ring:
    def __init__(self):
        self._np = neopixel.NeoPixel(machine.Pin(_PIN_RING), RING_PIXELS)

    def write(self, pixels):
        for i in range(RING_PIXELS):
            self._np[i] = pixels[i]
        self._np.write()


class Button:
    def __init__(self):
        self._pin = machine.Pin(_PIN_BUTTON, machine.Pin.IN, machine.Pin.PULL_UP)

    def pressed(self):
        return self._pin.value() == 0


class BatteryADC:
    def __init__(self):
        self._adc = machine.ADC(machine.Pin(_PIN_BATTERY), atten=machine.ADC.ATTN_11DB)

    def read_uv(self):
        return self._adc.read_uv() * _DIVIDER


async def start():
    pass


def report(status):
    pass


def reset():
    machine.reset()
