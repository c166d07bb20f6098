# STEP/DIR/EN stepper drivers (DRV8834, A4988, TMC2209 in standalone mode): the STEP train goes out through
# an RMT channel, evenly spaced over the tick, while the CPU carries on. EN is released (driver outputs
# off) whenever the motor rests: no idle current, and a hand can turn the key.
import esp32
from machine import Pin

from .pace import Pace

_DIR_SETUP_US = 2  # DRV8834 needs 650 ns between a DIR change and the STEP edge, the others less


class StepDir:
    def __init__(self, step, dir, enable, rmt_channel=0, reverse=False, pace=None):
        self._dir = Pin(dir, Pin.OUT, value=0)
        self._en = Pin(enable, Pin.OUT, value=1)  # EN is active low on all of these drivers: start released
        # 1 MHz: durations in microseconds (the longest, PULSE_MAX, is 32 ms: more than any span).
        self._rmt = esp32.RMT(rmt_channel, pin=Pin(step, Pin.OUT, value=0), resolution_hz=1000000,
                              idle_level=False)
        self._reverse = reverse
        self._forward = None  # the DIR level last set
        self._pace = pace or Pace()

    def enable(self, on):
        self._en.value(0 if on else 1)
        if not on:
            self._pace.rest()

    def step(self, n):
        span = self._pace.span_us()
        if not n:
            return
        forward = (n > 0) != self._reverse
        if forward != self._forward:
            self._rmt.wait_done(timeout=-1)  # the train in flight keeps its direction (ends within a tick)
            self._dir.value(1 if forward else 0)
            self._forward = forward
        n = abs(n)
        period = max(2 * _DIR_SETUP_US, span // n)
        high = period // 2
        # low (the DIR setup before the first edge), high, low, high ...: the pin idles low after the last.
        durations = [period - high, high] * n
        self._rmt.write_pulses(durations, False)
