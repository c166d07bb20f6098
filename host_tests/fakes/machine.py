# A fake of the ESP32 port's `machine` module, for driver tests under the MicroPython Unix port (put this
# folder on MICROPYPATH). Public names and signatures are those of micropython-esp32-stubs, checked by
# host_tests/test_fakes.py so they cannot drift; names starting with "_" are the test bench's handles.
#
# Time is virtual: timers fire, and RMT pulse trains run, only when the bench calls _advance_us(). Every
# output pin keeps its level history [(t_us, level)], so a test reads the wire as a logic analyser would.
import errno

PWRON_RESET = 1
HARD_RESET = 2
WDT_RESET = 3
DEEPSLEEP_RESET = 4
SOFT_RESET = 5

_now = 0            # virtual microseconds
_timers = []        # running Timer objects
_levels = {}        # pin id -> current level (outputs and the bench's inputs alike)
_history = {}       # pin id -> [(t_us, level)] every change of an output
_modes = {}         # pin id -> mode
_pulls = {}         # pin id -> pull
_irqs = {}          # pin id -> (handler, trigger, pin object)
_i2c_devices = {}   # address -> object with read(register, n) -> bytes
_adc_uv = {}        # pin id -> microvolts at the pin
_wdt = []           # WDT objects made
_resets = []        # virtual times machine.reset() was called
_reset_cause = PWRON_RESET


def _now_us():
    return _now


def _advance_us(us):
    """Let `us` microseconds pass: every timer fires at its due time, in order."""
    global _now
    end = _now + us
    while True:
        due = [t for t in _timers if t._due <= end]
        if not due:
            break
        t = min(due, key=lambda t: t._due)
        _now = max(_now, t._due)
        if t._mode == Timer.PERIODIC:
            t._due += t._period
        else:
            _timers.remove(t)
        if t._callback:
            t._callback(t)
    _now = end


def _set_level(pin_id, level):
    level = 1 if level else 0
    old = _levels.get(pin_id)
    _levels[pin_id] = level
    if old != level:
        _history.setdefault(pin_id, []).append((_now, level))
    return old


def _drive(pin_id, level):
    """The outside world sets an input pin: fires its IRQ on a matching edge, as the hardware would."""
    old = _set_level(pin_id, level)
    irq = _irqs.get(pin_id)
    if irq and old is not None and old != _levels[pin_id]:
        handler, trigger, pin = irq
        if trigger & (Pin.IRQ_RISING if _levels[pin_id] else Pin.IRQ_FALLING):
            handler(pin)


def _reset_bench():
    global _now, _reset_cause
    _now = 0
    _reset_cause = PWRON_RESET
    for table in (_levels, _history, _modes, _pulls, _irqs, _i2c_devices, _adc_uv):
        table.clear()
    for lst in (_timers, _wdt, _resets):
        lst[:] = []


class Pin:
    IN = 1
    OUT = 3
    OPEN_DRAIN = 7
    PULL_DOWN = 1
    PULL_UP = 2
    IRQ_RISING = 1
    IRQ_FALLING = 2

    def __init__(self, id, mode=-1, pull=-1, *, value=None, drive=None, alt=None):
        self._id = id
        self.init(mode, pull, value=value, drive=drive, alt=alt)

    def init(self, mode=-1, pull=-1, *, value=None, drive=None, alt=None):
        if mode != -1:
            _modes[self._id] = mode
        if pull != -1:
            _pulls[self._id] = pull
            if pull == Pin.PULL_UP and self._id not in _levels:
                _set_level(self._id, 1)  # an open input with a pull-up reads high
        if value is not None:
            _set_level(self._id, value)

    def value(self, x=None):
        if x is None:
            return _levels.get(self._id, 0)
        if _modes.get(self._id) != Pin.OUT:
            raise AssertionError("pin %r written while not an output" % self._id)
        _set_level(self._id, x)

    def on(self):
        self.value(1)

    def off(self):
        self.value(0)

    def irq(self, handler=None, trigger=3, *, priority=1, wake=None, hard=False):
        if handler is None:
            _irqs.pop(self._id, None)
        else:
            _irqs[self._id] = (handler, trigger, self)

    def __repr__(self):
        return "Pin(%r)" % self._id


def _pin_id(p):
    return p._id if isinstance(p, Pin) else p


class I2C:
    def __init__(self, id, *, scl, sda, freq=400000, timeout=50000):
        self._bus = (id, _pin_id(scl), _pin_id(sda))

    def scan(self):
        return sorted(_i2c_devices)

    def _device(self, addr):
        dev = _i2c_devices.get(addr)
        if dev is None:
            raise OSError(errno.ENODEV)  # no ACK: what the ESP32 port raises for an absent device
        return dev

    def readfrom_mem(self, addr, memaddr, nbytes, *, addrsize=8):
        return bytes(self._device(addr).read(memaddr, nbytes))

    def readfrom_mem_into(self, addr, memaddr, buf, *, addrsize=8):
        data = self._device(addr).read(memaddr, len(buf))
        for i in range(len(buf)):
            buf[i] = data[i]


class ADC:
    ATTN_0DB = 0
    ATTN_2_5DB = 1
    ATTN_6DB = 2
    ATTN_11DB = 3
    # The calibrated range of read_uv() per attenuation (ESP32 datasheet, "ADC characteristics").
    _FULL_UV = (950000, 1250000, 1750000, 3100000)

    def __init__(self, id, *, sample_ns=0, atten=0):
        self._pin = _pin_id(id)
        self._atten = atten

    def atten(self, atten):
        self._atten = atten

    def read_uv(self):
        return max(0, min(_adc_uv.get(self._pin, 0), ADC._FULL_UV[self._atten]))


class WDT:
    def __init__(self, *, id=0, timeout=5000):
        self._timeout = timeout
        self._feeds = []  # ticks_ms of every feed (real time: the app's loop runs on the real clock)
        _wdt.append(self)

    def feed(self):
        import time
        self._feeds.append(time.ticks_ms())


class Timer:
    ONE_SHOT = 0
    PERIODIC = 1

    def __init__(self, id, *, mode=1, period=None, callback=None, hard=None):
        self._id = id
        self._due = None
        if period is not None:
            self.init(mode=mode, period=period, callback=callback, hard=hard)

    def init(self, *, mode=1, period=None, freq=None, callback=None, hard=None):
        # The real ESP32 timer also takes tick_hz; the drivers here never use it.
        if self in _timers:
            _timers.remove(self)
        self._mode = mode
        self._period = period * 1000 if period is not None else 1000000 // freq
        if self._period <= 0:
            raise ValueError("period")
        self._callback = callback
        self._due = _now + self._period
        _timers.append(self)

    def deinit(self):
        if self in _timers:
            _timers.remove(self)


def reset():
    _resets.append(_now)
    raise SystemExit("machine.reset()")


def reset_cause():
    return _reset_cause


def lightsleep(time_ms=None):
    _advance_us((time_ms or 0) * 1000)
