# Monotonic milliseconds since boot that never wrap: time.ticks_ms() wraps after ~12 days on the
# ESP32, and the core compares times with plain arithmetic.
import time

_last = time.ticks_ms()
_ms = 0


def now_ms():
    global _last, _ms
    t = time.ticks_ms()
    _ms += time.ticks_diff(t, _last)
    _last = t
    return _ms
