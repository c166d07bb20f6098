"""Trapezoid profile (firmware/lock/motion.py) under MicroPython: sampled every millisecond, judged here."""
import math

PROFILE = r"""
import json
from lock.motion import Trapezoid
def sample(start, target, vmax, accel, t0):
    p = Trapezoid(start, target, vmax, accel, t0)
    pos = [p.at(t) for t in range(t0 - 5, p.end_ms + 6)]
    print(json.dumps({"end": p.end_ms, "pos": pos, "done_before": p.at(p.end_ms - 1) == p.target,
                      "done_at": p.at(p.end_ms) == p.target}))
sample(%d, %d, %d, %d, %d)
"""


def profile(mp, start, target, vmax, accel, t0=0):
    r = mp.json(PROFILE % (start, target, vmax, accel, t0))
    r["pos"] = r["pos"][5:]  # index 0 is t0 (5 samples before it are checked separately)
    return r


def check_limits(pos, vmax, accel):
    per_ms = vmax / 1000
    # speed: over any 1 ms and any 10 ms window (truncation can add one step)
    for i in range(1, len(pos)):
        assert abs(pos[i] - pos[i - 1]) <= math.ceil(per_ms) + 1
    for i in range(10, len(pos)):
        assert abs(pos[i] - pos[i - 10]) <= per_ms * 10 + 1
    # acceleration: second difference over h ms is a*h^2 for the ideal curve
    h = 50
    for i in range(h, len(pos) - h):
        assert abs(pos[i + h] - 2 * pos[i] + pos[i - h]) <= accel * (h / 1000) ** 2 + 2


def test_trapezoid_reaches_vmax_cruises_and_ends_exactly(micropython):
    vmax, accel = 800, 4000
    r = profile(micropython, 0, 1000, vmax, accel)
    pos = r["pos"]
    # ramp 0.2 s each way (80 steps each), then 840 steps at 800 steps/s: 1.45 s in all
    assert r["end"] == 1450
    assert pos[0] == 0 and pos[1450] == 1000 and pos[-1] == 1000
    assert r["done_at"] and not r["done_before"]
    assert all(b >= a for a, b in zip(pos, pos[1:]))  # never backwards
    check_limits(pos, vmax, accel)
    # it does cruise at vmax: 100 ms in the middle cover 80 steps
    assert 79 <= pos[775] - pos[675] <= 81
    # symmetric: the distance after k ms equals the distance left k ms before the end
    for k in range(0, 1450, 7):
        assert abs((pos[k] - 0) - (1000 - pos[1450 - k])) <= 2


def test_short_move_is_a_triangle_below_vmax(micropython):
    vmax, accel = 800, 4000
    r = profile(micropython, 0, 100, vmax, accel)
    pos = r["pos"]
    # 100 steps cannot reach 800 steps/s: peak sqrt(100 * 4000) = 632 steps/s, 2 * 158 ms
    assert r["end"] == math.ceil(2000 * math.sqrt(100 / accel))
    assert pos[r["end"]] == 100
    check_limits(pos, vmax, accel)
    fastest = max(pos[i] - pos[i - 20] for i in range(20, len(pos)))
    assert fastest <= 632 * 0.02 + 1
    assert fastest >= 632 * 0.02 * 0.8  # it does speed up to near the triangle's peak
    half = r["end"] // 2
    assert 48 <= pos[half] <= 51  # the peak is at half time, half distance


def test_both_directions_mirror_each_other(micropython):
    up = profile(micropython, 200, 1200, 800, 4000)
    down = profile(micropython, 1200, 200, 800, 4000)
    assert up["end"] == down["end"]
    assert [1400 - p for p in up["pos"]] == down["pos"]
    check_limits(down["pos"], 800, 4000)


def test_before_start_holds_start_and_late_start_times_work(micropython):
    t0 = 3_000_000_000  # 35 days of uptime: the clock never wraps, the profile does not care
    r = micropython.json(PROFILE % (-50, 350, 500, 2000, t0))
    early = r["pos"][:5]
    assert early == [-50] * 5
    base = profile(micropython, -50, 350, 500, 2000, 0)
    assert r["pos"][5:] == base["pos"]
    assert r["end"] - t0 == base["end"]


def test_zero_distance_is_done_at_once(micropython):
    r = profile(micropython, 42, 42, 800, 4000, 10)
    assert r["end"] == 10 and r["done_at"]
    assert set(r["pos"]) == {42}


def test_bad_parameters_raise(micropython):
    out = micropython.run(r"""
from lock.motion import Trapezoid
for v, a in ((0, 100), (100, 0), (-1, 100)):
    try:
        Trapezoid(0, 10, v, a, 0)
        print("accepted")
    except ValueError:
        print("refused")
""")
    assert out.split() == ["refused"] * 3
