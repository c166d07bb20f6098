# Trapezoid step profile: accelerate, cruise, decelerate; a triangle when the move is too short to cruise.
#
# API
#   p = Trapezoid(start, target, vmax, accel, t0_ms)   positions in steps, vmax steps/s, accel steps/s^2
#   p.at(now_ms) -> int   commanded position at now_ms (start before t0_ms, exactly target from end_ms on)
#   p.end_ms              first millisecond at which the profile is at target: done from then on
#   p.start, p.target, p.dir (+1 or -1), p.t0_ms
#   Adding the same delay to p.t0_ms and p.end_ms shifts the whole profile later (it resumes where it stood).
# The position is the ideal profile truncated towards start, so a caller stepping `at(now) - issued` never
# runs ahead of the profile, whatever its tick.
import math


class Trapezoid:
    def __init__(self, start, target, vmax, accel, t0_ms):
        if vmax <= 0 or accel <= 0:
            raise ValueError  # vmax and accel must be > 0
        self.start = start
        self.target = target
        self.t0_ms = t0_ms
        self.dir = 1 if target >= start else -1
        dist = abs(target - start)
        t_ramp = vmax / accel
        if vmax * t_ramp > dist:
            # too short to reach vmax: peak where the two ramps meet, halfway
            t_ramp = math.sqrt(dist / accel)
            vmax = accel * t_ramp
        self._dist = dist
        self._accel = accel
        self._vpeak = vmax
        self._ramp_ms = t_ramp * 1000
        self._ramp_dist = vmax * t_ramp / 2
        self._cruise_ms = (dist - 2 * self._ramp_dist) / vmax * 1000 if dist else 0
        self._total_ms = 2 * self._ramp_ms + self._cruise_ms
        self.end_ms = t0_ms + math.ceil(self._total_ms)

    def at(self, now_ms):
        t = now_ms - self.t0_ms
        if t <= 0:
            return self.start
        if now_ms >= self.end_ms:
            return self.target
        # distance from start after t ms, as a float
        if t < self._ramp_ms:
            s = t / 1000
            s = self._accel * s * s / 2
        elif t < self._ramp_ms + self._cruise_ms:
            s = self._ramp_dist + self._vpeak * (t - self._ramp_ms) / 1000
        else:
            s = (self._total_ms - t) / 1000
            s = self._dist - self._accel * s * s / 2
        return self.start + self.dir * min(int(s), self._dist)
