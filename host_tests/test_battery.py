"""Battery (firmware/lock/battery.py) under MicroPython: curves, smoothing, low/critical hysteresis."""
import pytest

KINDS = ("alkaline", "nimh", "lithium")

PRE = r"""
import json
from lock.battery import Battery, percent_of, CURVES
LOW_PCT, CRITICAL_PCT, HYSTERESIS_PCT = 20, 5, 5  # docs/DRIVE.md: low < 20 % until 25 %, critical < 5 % until 10 %
def cell_mv_for(kind, pct):
    # the highest cell voltage that reads pct or less, found by the curve itself
    for mv in range(2000, 700, -1):
        if percent_of(kind, mv) <= pct:
            return mv
def feed(b, uv, n=1):
    for _ in range(n):
        b.sample(uv, 0)
    return [b.percent, b.low, b.critical]
"""


def run(mp, code):
    return mp.json(PRE + code)


def test_curves_are_monotonic_and_span_0_to_100(micropython):
    r = run(micropython, r"""
print(json.dumps({k: [percent_of(k, mv) for mv in range(700, 2000, 5)] for k in CURVES}))
""")
    assert sorted(r) == sorted(KINDS)
    for kind, pcts in r.items():
        assert pcts[0] == 0 and pcts[-1] == 100
        assert all(b >= a for a, b in zip(pcts, pcts[1:])), kind
        assert all(b - a <= 5 for a, b in zip(pcts, pcts[1:])), kind  # 5 mV never jumps far


@pytest.mark.parametrize("kind,cells,volts,low,high", [
    ("alkaline", 4, 6.3, 95, 100),    # fresh AA cells
    ("alkaline", 4, 4.8, 30, 60),     # 1.2 V per cell: well used
    ("alkaline", 4, 4.0, 0, 4),       # 1.0 V per cell: empty
    ("nimh", 4, 5.6, 100, 100),       # off the charger
    ("nimh", 4, 4.8, 30, 60),         # on the long 1.2 V plateau
    ("nimh", 4, 4.1, 0, 5),
    ("lithium", 4, 7.0, 100, 100),    # Li-FeS2 AA, fresh
    ("lithium", 4, 5.8, 40, 80),      # 1.45 V: middle of its flat curve
    ("lithium", 4, 4.8, 0, 12),       # 1.2 V: at the cliff
    ("alkaline", 2, 2.4, 30, 60),     # cells divide: 2 x 1.2 V reads like 4 x 1.2 V
])
def test_percent_by_chemistry(micropython, kind, cells, volts, low, high):
    r = run(micropython, r"""
b = Battery(%r, %d)
b.sample(%d, 5)
print(json.dumps([b.percent, b.volts]))
""" % (kind, cells, int(volts * 1e6)))
    pct, v = r
    assert low <= pct <= high
    assert abs(v - volts) < 1e-3


def test_one_wild_sample_changes_nothing(micropython):
    r = run(micropython, r"""
b = Battery("alkaline", 4)
uv = 4 * cell_mv_for("alkaline", 40) * 1000
steady = feed(b, uv, 5)
res = [steady]
for wild in (0, 900000, 20000000):   # a dropout, a motor sag, a spike
    res.append(feed(b, wild))
    res.append(feed(b, uv))
print(json.dumps(res))
""")
    steady = r[0]
    assert steady[1:] == [False, False]
    assert all(x == steady for x in r)


@pytest.mark.parametrize("kind", KINDS)
def test_low_and_critical_with_hysteresis(micropython, kind):
    r = run(micropython, r"""
k = %r
b = Battery(k, 4)
def at(pct, n=5):
    return feed(b, 4 * cell_mv_for(k, pct) * 1000, n)
res = {
  "fine": at(30),
  "just_above": at(LOW_PCT),
  "one_low": feed(b, 4 * cell_mv_for(k, LOW_PCT - 2) * 1000, 1),
  "low": at(LOW_PCT - 2),
  "back_a_little": at(LOW_PCT + HYSTERESIS_PCT - 2),
  "recovered": at(LOW_PCT + HYSTERESIS_PCT + 1),
  "critical": at(CRITICAL_PCT - 1),
  "crit_back_a_little": at(CRITICAL_PCT + HYSTERESIS_PCT - 2),
  "crit_recovered": at(CRITICAL_PCT + HYSTERESIS_PCT + 1),
  "new_cells": at(100),
}
print(json.dumps(res))
""" % kind)
    flags = {k: v[1:] for k, v in r.items()}
    assert flags["fine"] == [False, False]
    assert flags["just_above"] == [False, False]  # 20 % is not below 20 %
    assert flags["one_low"] == [False, False]  # one sample never flips it
    assert flags["low"] == [True, False]
    assert flags["back_a_little"] == [True, False]  # hysteresis: stays low until 25 %
    assert flags["recovered"] == [False, False]
    assert flags["critical"] == [True, True]
    assert flags["crit_back_a_little"] == [True, True]
    assert flags["crit_recovered"] == [True, False]
    assert flags["new_cells"] == [False, False]
    assert r["low"][0] < 20 <= r["just_above"][0]
    assert r["new_cells"][0] == 100


def test_before_any_sample_and_bad_kind(micropython):
    r = run(micropython, r"""
b = Battery("nimh", 3)
res = [b.percent, b.volts, b.low, b.critical]
for args in (("lead_acid", 4), ("alkaline", 0)):
    try:
        Battery(*args); res.append("accepted")
    except ValueError:
        res.append("refused")
print(json.dumps(res))
""")
    assert r == [None, None, False, False, "refused", "refused"]
