# 28BYJ-48 unipolar stepper through a ULN2003 board: four coil pins driven in the half-step sequence, one
# half-step per timer interrupt, so a tick's steps go out evenly spaced. Idle = all coils off: the motor
# then draws nothing and a hand can turn the key (the gearbox holds the shaft well enough).
from machine import Pin, Timer

from .pace import Pace

# Half-step sequence, IN1 as bit 3 .. IN4 as bit 0: one coil, two, one, ... (8 phases per 4 full steps).
SEQUENCE = (0b1000, 0b1100, 0b0100, 0b0110, 0b0010, 0b0011, 0b0001, 0b1001)


class HalfStepper:
    def __init__(self, pins, timer_id, reverse=False, pace=None):
        self._pins = [Pin(p, Pin.OUT, value=0) for p in pins]
        self._timer = Timer(timer_id)
        self._dir = -1 if reverse else 1
        self._phase = 0
        self._pending = 0  # signed half-steps not issued yet
        self._pace = pace or Pace()
        self._on_timer = self._half_step  # one bound method, not one per interrupt

    def enable(self, on):
        self._timer.deinit()
        self._pending = 0
        self._pace.rest()
        self._coils(SEQUENCE[self._phase] if on else 0)  # on: hold the current phase

    def step(self, n):
        span = self._pace.span_us()
        self._pending += n * self._dir
        if not self._pending:
            self._timer.deinit()
            return
        # The rest of the previous tick's steps and these share the span: the rate follows the profile.
        hz = max(1, abs(self._pending) * 1000000 // span)
        self._timer.init(mode=Timer.PERIODIC, freq=hz, callback=self._on_timer)

    def _half_step(self, timer):
        p = self._pending
        if not p:
            timer.deinit()
            return
        d = 1 if p > 0 else -1
        self._pending = p - d
        self._phase = (self._phase + d) & 7
        self._coils(SEQUENCE[self._phase])

    def _coils(self, bits):
        pins = self._pins
        pins[0].value(bits >> 3 & 1)
        pins[1].value(bits >> 2 & 1)
        pins[2].value(bits >> 1 & 1)
        pins[3].value(bits & 1)
