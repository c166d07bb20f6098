# Trapezoid step profile: accelerate, cruise, decelerate; a triangle when the move is too short to cruise.
#
# API
#   p = Trapezoid(start, target, vmax, accel, t0_ms)   positions in steps, vmax steps/s, accel steps/s^2
#   p.at(now_ms) -> int   commanded position at now_ms (start before t0_ms, exactly target from end_ms on)
#   p.end_ms              first millisecond at which the profile is at target
#   p.done(now_ms) -> bool
#   p.start, p.target, p.dir (+1 or -1)
# The position is the ideal profile truncated towards start, so a caller stepping `at(now) - issued` never
# runs ahead of the profile, whatever its tick.
import math


class Trapezoid:
    def __init__(self, start, target, vmax, accel, t0_ms):
        if vmax <= 0 or accel <= 0:
            raise ValueError("vmax and accel must be > 0")
        self.start = start
        self.target = target
        self.t0_ms = t0_ms
        self.dir = 1 if target >= start else -1
        dist = abs(target - start)
        self._dist = dist
        self._accel = accel
        t_ramp = vmax / accel
        if vmax * t_ramp > dist:
            # too short to reach vmax: peak where the two ramps meet, halfway
            t_ramp = math.sqrt(dist / accel)
            vmax = accel * t_ramp
        self._vpeak = vmax
        self._ramp_ms = t_ramp * 1000
        self._ramp_dist = vmax * t_ramp / 2
        self._cruise_ms = (dist - 2 * self._ramp_dist) / vmax * 1000 if dist else 0.0
        self._total_ms = 2 * self._ramp_ms + self._cruise_ms
        self.end_ms = t0_ms + math.ceil(self._total_ms)

    def delay(self, ms):
        """Shift the whole profile later: the motion resumes where it stood."""
        self.t0_ms += ms
        self.end_ms += ms

    def _travelled(self, t_ms):
        # distance from start after t_ms, as a float
        if t_ms < self._ramp_ms:
            s = t_ms / 1000
            return self._accel * s * s / 2
        if t_ms < self._ramp_ms + self._cruise_ms:
            return self._ramp_dist + self._vpeak * (t_ms - self._ramp_ms) / 1000
        s = (self._total_ms - t_ms) / 1000
        return self._dist - self._accel * s * s / 2

    def at(self, now_ms):
        t = now_ms - self.t0_ms
        if t <= 0:
            return self.start
        if now_ms >= self.end_ms:
            return self.target
        s = int(self._travelled(t))
        if s > self._dist:
            s = self._dist
        return self.start + self.dir * s

    def done(self, now_ms):
        return now_ms >= self.end_ms
