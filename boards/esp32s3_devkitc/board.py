# ESP32-S3-DevKitC-1 (N8 or N8R8), built as docs/HARDWARE.md "Build B": a bipolar NEMA-14 stepper with a
# 5.18:1 planetary gearbox on a DRV8834 STEP/DIR driver, an AS5600 magnetic angle sensor on the cylinder's
# shaft, a 16-pixel WS2812B ring, one button, an optional door contact, 4 x AA cells.
#
# Power: the DRV8834 runs its motor straight from the cells: its VM range is 2.5-10.8 V, so it drives from
# 6.4 V (new) down past the lock's 4.0 V "critical" (a TMC2209 or an A4988 would not: they need 4.75 V and
# 8 V). A 5 V buck-boost feeds the ring and the DevKitC's 5V pin.
#
# Pins. Avoided: the strapping pins 0, 3, 45, 46 (GPIO0 held low at power-on enters the ROM download mode),
# 19 and 20 (USB), 26-32 (flash), 33-37 (octal PSRAM on the R8 modules), 38 and 48 (the on-board RGB LED on
# the two board revisions), 43 and 44 (the serial console), and ADC2 (GPIO11-20) for the battery.
import machine
from drivers import as5600, stepdir, neoring, inputs, system

NAME = "esp32s3_devkitc"

# Motion. 200 full steps per motor turn x 8 microsteps (DRV8834 M1 high, M0 low) x a 57:11 (5.18:1)
# planetary gearbox, coupled 1:1 to the cylinder: 200 * 8 * 57 / 11 = 8290.9 -> 8291 steps per cylinder turn.
STEPS_PER_REV = 8291
MAX_SPEED = 3200           # steps/s: 120 rpm at the motor, 23 rpm at the cylinder, within its torque at 4 V
ACCEL = 12800
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

# The radio. MicroPython's ESP32 builds give NimBLE room for 4 connections (CONFIG_BT_NIMBLE_MAX_CONNECTIONS);
# the lock stops advertising at that many. A connection must open a session (one authentic frame) or a
# pairing exchange within CONNECTION_OPEN_MS (a phone connects, discovers and subscribes in 1-3 s), and is
# dropped after CONNECTION_IDLE_MS without a message (an app on screen sends one per command; the next
# one reconnects in about a second).
MAX_CONNECTIONS = 4
CONNECTION_OPEN_MS = 8000
CONNECTION_IDLE_MS = 30000

# Fed every 10 ms tick by the control loop; a pairing's X25519 in Python holds it up for under a second.
WDT_TIMEOUT_MS = 8000

_STEP = 4                  # plain outputs on the left header, side by side: STEP, DIR, EN
_DIR = 5
_EN = 6                    # DRV8834 ENBL (the carrier's pin is active low: high = outputs off)
_RMT = 0                   # RMT channel for the STEP train (neopixel's bitstream uses another)
_MOTOR_REVERSED = False    # True if the cylinder turns the wrong way during the first calibration
_SDA = 8                   # the S3 DevKitC's customary I2C pins, not strapping
_SCL = 9
_SENSOR_REVERSED = False   # or swap the AS5600's DIR pin to the other rail (docs/HARDWARE.md)
_RING = 14
_RING_POWER = 13           # P-MOSFET gate for the ring's 5 V: low = on (a dark ring still draws ~16 mA)
_BUTTON = 7                # not strapping, internal pull-up, an RTC pin (can wake the chip)
_DOOR = 10                 # reed switch to GND (optional: unconnected reads "open")
_BATTERY = 1               # ADC1 channel 0
_DIVIDER = (200000, 100000)  # 200k from the cells' +, 100k to GND: 6.4 V -> 2.13 V at the pin

_MAINTENANCE = "/maintenance"  # outside /data: a factory reset keeps it

_i2c = machine.I2C(0, scl=machine.Pin(_SCL), sda=machine.Pin(_SDA), freq=400000)
_WHERE = "SDA GPIO%d, SCL GPIO%d" % (_SDA, _SCL)


class Stepper(stepdir.StepDir):
    def __init__(self):
        super().__init__(_STEP, _DIR, _EN, _RMT, _MOTOR_REVERSED)


class Sensor(as5600.AS5600):
    def __init__(self):
        super().__init__(_i2c, STEPS_PER_REV, _SENSOR_REVERSED)


class Ring(neoring.NeoRing):
    def __init__(self):
        super().__init__(_RING, RING_PIXELS, _RING_POWER)


class Button(inputs.LatchedButton):
    def __init__(self):
        super().__init__(_BUTTON)


class Door(inputs.ReedSwitch):
    def __init__(self):
        super().__init__(_DOOR)


class BatteryADC(inputs.DividerADC):
    def __init__(self):
        super().__init__(_BATTERY, _DIVIDER[0], _DIVIDER[1])


class Watchdog(system.Watchdog):
    def __init__(self):
        super().__init__(WDT_TIMEOUT_MS)


async def start():
    if machine.reset_cause() == machine.WDT_RESET:
        print("lock: restarted by the watchdog")
    await system.hold_for_maintenance(_MAINTENANCE)
    # A missing sensor would crash the app at once and reboot into the same crash: wait here, saying why.
    await system.hold_while_faulty(lambda: as5600.check(_i2c, _WHERE), Ring(), RING_PIXELS)


def report(status):
    print("lock:", status)  # the serial console (`make logs`)


def reset():
    machine.reset()
