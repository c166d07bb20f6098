# How long the steps handed over in one step() call may take. The app calls step() once per control tick
# (~10 ms) with every step due in it; sent as one burst, a real stepper loses most of them. The train is
# spread over 7/8 of the time since the previous call: the previous gap predicts the next (asyncio's sleep is
# a minimum, so ticks come at 10 ms plus the loop's work), the train ends before the next call, and the
# motor runs at most 8/7 of the profile's speed. After a late tick the next may come sooner than its train
# ends: the STEP/DIR driver then waits for it (a few ms, rarely) rather than send steps faster than planned.
import time
from micropython import const

_NOMINAL_US = const(10000)  # the app's tick: the span of the first call after a rest
_LATE_US = const(30000)     # a gap this long is a rest or a stalled loop, not a tick (firmware/lock/bolt.py)


class Pace:
    def __init__(self, clock=time.ticks_us):
        self._clock = clock
        self._last = None

    def span_us(self):
        now = self._clock()
        gap = _NOMINAL_US if self._last is None else time.ticks_diff(now, self._last)
        self._last = now
        if gap <= 0 or gap > _LATE_US:
            gap = _NOMINAL_US
        return gap * 7 // 8

    def rest(self):
        self._last = None
