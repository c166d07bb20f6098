# Battery: cell-stack microvolts -> volts -> percent by the chemistry's discharge curve, with smoothing and
# low/critical flags that have hysteresis.
#
# API
#   b = Battery(kind, cells)          kind: "alkaline" | "nimh" | "lithium"; ValueError otherwise
#   b.sample(uv, now_ms)              one ADC reading (divider already undone); take it with the motor idle
#   b.volts    float | None           the smoothed stack voltage (None before the first sample)
#   b.percent  int | None
#   b.low, b.critical  bool
#   percent_of(kind, cell_mv) -> int  the curve itself
# Smoothing: the median of the last _MEDIAN samples, so one wild sample never shows. Flags: low when
# percent < _LOW_PCT, cleared at >= _LOW_PCT + _HYSTERESIS_PCT; critical likewise with _CRITICAL_PCT.
# Curves and their sources: docs/DRIVE.md.
from micropython import const

_LOW_PCT = const(20)
_CRITICAL_PCT = const(5)
_HYSTERESIS_PCT = const(5)
_MEDIAN = const(5)

# Per cell, at rest or light load: millivolts, percent, millivolts, percent... falling. Piecewise linear
# between points. Flat tuples of small ints: one object per curve.
CURVES = {
    "alkaline": (1600, 100, 1450, 90, 1350, 70, 1250, 45, 1200, 30, 1150, 20, 1100, 12, 1050, 6, 1000, 2,
                 900, 0),
    "nimh": (1400, 100, 1300, 95, 1250, 80, 1220, 60, 1190, 40, 1160, 25, 1130, 15, 1100, 8, 1050, 3,
             1000, 0),
    "lithium": (1750, 100, 1550, 90, 1500, 75, 1450, 50, 1400, 30, 1350, 18, 1300, 10, 1200, 4, 1100, 1,
                900, 0),
}


def percent_of(kind, cell_mv):
    curve = CURVES[kind]
    if cell_mv >= curve[0]:
        return 100
    for i in range(2, len(curve), 2):
        mv = curve[i]
        if cell_mv >= mv:
            pct = curve[i + 1]
            return pct + (curve[i - 1] - pct) * (cell_mv - mv) // (curve[i - 2] - mv)
    return 0


class Battery:
    def __init__(self, kind, cells):
        if kind not in CURVES or cells < 1:
            raise ValueError
        self.kind = kind
        self.cells = cells
        self.volts = None  # type: float | None
        self.percent = None  # type: int | None
        self.low = False
        self.critical = False
        self._window = []  # type: list

    def sample(self, uv, now_ms):
        w = self._window
        if not w:
            w.extend([uv] * _MEDIAN)  # the first reading stands for all until more arrive
        else:
            w.pop(0)
            w.append(uv)
        mid = sorted(w)[_MEDIAN // 2]
        self.volts = mid / 1000000
        pct = percent_of(self.kind, mid // (1000 * self.cells))
        self.percent = pct
        self.low = pct < (_LOW_PCT + _HYSTERESIS_PCT if self.low else _LOW_PCT)
        self.critical = pct < (_CRITICAL_PCT + _HYSTERESIS_PCT if self.critical else _CRITICAL_PCT)
