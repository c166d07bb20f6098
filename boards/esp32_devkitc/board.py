# ESP32-DevKitC with an ESP32-WROOM-32 (4 MB flash), built as docs/HARDWARE.md "Build A": a 28BYJ-48
# geared stepper on a ULN2003 board, an AS5600 magnetic angle sensor on the cylinder's shaft, a 16-pixel
# WS2812B ring, one button, an optional door contact, 4 x AA cells.
#
# Power: the cells (6.4 V new, the lock stops unlatching at "critical", about 4.0 V) feed a 5 V buck-boost
# converter that holds 5 V over that whole range; it powers the motor, the ring and the DevKitC's 5V pin. The
# 28BYJ-48 is a 5 V motor and the ULN2003 has no lower limit, so the drive works down to the last cell volt.
#
# Pins. Avoided: the strapping pins 0, 2, 5, 12, 15 (a button or a driver input there can stop the chip
# booting: GPIO0 held low at power-on enters the ROM download mode, GPIO12 high picks 1.8 V flash), 6-11
# (the module's flash), 1 and 3 (the USB serial console), 14 (it toggles during boot: the motor would
# twitch), 16 and 17 (PSRAM on WROVER modules, should one be fitted instead), and ADC2 for the battery
# (unusable while the radio is on).
import machine
from drivers import as5600, uln2003, neoring, inputs, system

NAME = "esp32_devkitc"

# Motion. The 28BYJ-48: 32 full steps per motor turn x 2 (half-stepping) x a 63.684:1 gearbox
# (32*22*26*31 / (11*9*10*9) = 25792/405), coupled 1:1 to the cylinder: 64 * 25792 / 405 = 4075.8 -> 4076
# half-steps per cylinder turn. The AS5600 reads the cylinder itself, so 0.006 % rounding never adds up.
STEPS_PER_REV = 4076
MAX_SPEED = 600            # half-steps/s: 8.8 rpm at the cylinder; the 28BYJ-48 stalls above ~800 under load
ACCEL = 1500
JAM_MARGIN_MS = 800
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

# The control loop feeds the watchdog every 10 ms tick; the longest step that holds it up is a pairing's
# X25519 in Python (about a second on this chip), so 8 s never fires on a healthy lock.
WDT_TIMEOUT_MS = 8000

_COILS = (25, 26, 27, 32)  # ULN2003 IN1..IN4: plain outputs, free on every WROOM-32 board
_TIMER = 0                 # hardware timer 0 paces the half-steps
_MOTOR_REVERSED = False    # True if the cylinder turns the wrong way during the first calibration
_SDA = 21                  # the ESP32's usual I2C pins, not strapping, beside each other on the DevKitC
_SCL = 22
_SENSOR_REVERSED = False   # or swap the AS5600's DIR pin to the other rail (docs/HARDWARE.md)
_RING = 13                 # any output; 13 is free (JTAG only) and next to GND on the header
_RING_POWER = 18           # P-MOSFET gate for the ring's 5 V: low = on (a dark ring still draws ~16 mA)
_BUTTON = 4                # not strapping, has an internal pull-up, RTC-capable (can wake the chip)
_DOOR = 19                 # reed switch to GND (optional: unconnected reads "open")
_BATTERY = 34              # ADC1 channel 6, input only (the divider needs no pull)
_DIVIDER = (200000, 100000)  # 200k from the cells' +, 100k to GND: 6.4 V -> 2.13 V at the pin

_MAINTENANCE = "/maintenance"  # outside /data: a factory reset keeps it

_i2c = machine.I2C(0, scl=machine.Pin(_SCL), sda=machine.Pin(_SDA), freq=400000)
_WHERE = "SDA GPIO%d, SCL GPIO%d" % (_SDA, _SCL)


class Stepper(uln2003.HalfStepper):
    def __init__(self):
        super().__init__(_COILS, _TIMER, _MOTOR_REVERSED)


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
