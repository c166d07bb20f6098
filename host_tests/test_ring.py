"""Ring frames (firmware/lock/ring.py) under MicroPython, judged on the timeline of pixels."""
import pytest

N = 12
UPPER = (10, 11, 0, 1, 2)

TIMELINE = r"""
import json
from lock import ring
def view(**kw):
    v = {"state": "locked", "pairing": False, "battery_low": False, "lockout": False,
         "reset_pending": False, "feedback": None, "jammed": False}
    v.update(kw)
    return v
def timeline(v, start, end, pixels=%d, upper=%r, brightness=255):
    # every change of the frame, sampled each millisecond: [t, {colour: [pixel indices]}]
    out = []
    last = None
    for t in range(start, end):
        f = ring.frame(v, t, pixels, upper, brightness)
        if f != last:
            lit = {}
            for i, c in enumerate(f):
                if c != (0, 0, 0):
                    lit.setdefault("%%d,%%d,%%d" %% c, []).append(i)
            out.append([t, lit])
            last = f
    return out
def chain(v, start, end):
    # the times next_change_ms predicts, from start
    ts = []
    t = start
    while True:
        t = ring.next_change_ms(v, t)
        if t is None or t >= end:
            return ts
        ts.append(t)
""" % (N, UPPER)


def run(mp, code):
    return mp.json(TIMELINE + code)


def edges(tl):
    """[(t, lit?)] from a timeline."""
    return [(t, bool(lit)) for t, lit in tl]


def test_battery_low_unlocked_blinks_upper_segment_three_times_every_5s(micropython):
    r = run(micropython, 'print(json.dumps(timeline(view(state="unlocked", battery_low=True), 0, 10000)))')
    # on 200 ms, off 300 ms, three times, from every multiple of 5 s
    want = []
    for cycle in (0, 5000):
        for k in range(3):
            want += [(cycle + 500 * k, True), (cycle + 500 * k + 200, False)]
    assert edges(r) == want
    for t, lit in r:
        if lit:
            assert list(lit.values()) == [sorted(UPPER)]  # only the upper segment, all of it
            assert len(lit) == 1


def test_battery_low_locked_blinks_upper_segment_twice_every_10s(micropython):
    r = run(micropython, 'print(json.dumps(timeline(view(state="locked", battery_low=True), 0, 20000)))')
    want = []
    for cycle in (0, 10000):
        for k in range(2):
            want += [(cycle + 500 * k, True), (cycle + 500 * k + 200, False)]
    assert edges(r) == want
    assert all(sorted(v) == sorted(UPPER) for _, lit in r for v in lit.values())


def test_battery_low_follows_the_clock_not_the_start_of_sampling(micropython):
    # started mid-cycle, the blinks still come at multiples of the period
    r = run(micropython, 'print(json.dumps(timeline(view(state="unlocked", battery_low=True), 12345, 17345)))')
    assert edges(r) == [(12345, False), (15000, True), (15200, False), (15500, True), (15700, False),
                        (16000, True), (16200, False)]


def test_dark_when_nothing_to_show(micropython):
    r = run(micropython, r"""
res = []
for s in ("locked", "unlocked", "uncalibrated", "locking", "unlocking", "unlatched"):
    res.append([timeline(view(state=s), 0, 3000), ring.next_change_ms(view(state=s), 0)])
print(json.dumps(res))
""")
    for tl, nxt in r:
        assert tl == [[0, {}]] and nxt is None


def test_pairing_is_steady_for_as_long_as_it_lasts(micropython):
    r = run(micropython, r"""
v = view(pairing=True, battery_low=True, state="unlocked")
print(json.dumps([timeline(v, 0, 12000), ring.next_change_ms(v, 500)]))
""")
    tl, nxt = r
    assert len(tl) == 1 and tl[0][0] == 0
    (colour, pixels), = tl[0][1].items()
    assert pixels == list(range(N))
    assert nxt is None


def test_reset_pending_blinks_whole_ring(micropython):
    r = run(micropython, 'print(json.dumps(timeline(view(reset_pending=True, pairing=True), 0, 2000)))')
    assert edges(r) == [(t, t % 500 == 0) for t in range(0, 2000, 250)]
    assert all(v == list(range(N)) for _, lit in r for v in lit.values())


FEEDBACK_KINDS = ("boot", "lock", "unlock", "unlatch", "jam", "wrong_code")


def test_each_feedback_is_short_and_distinct(micropython):
    r = run(micropython, r"""
res = {}
for kind in %r:
    res[kind] = timeline(view(feedback=(kind, 1000)), 0, 6000)
print(json.dumps(res))
""" % (FEEDBACK_KINDS,))
    shapes = set()
    for kind, tl in r.items():
        assert tl[0] == [0, {}]  # nothing before it starts
        assert tl[1][0] == 1000 and tl[1][1]  # lit the moment it starts
        assert tl[-1][1] == {} and tl[-1][0] <= 1000 + 1500  # short, and dark afterwards
        for _, lit in tl[1:]:
            for v in lit.values():
                assert v == list(range(N))  # the whole ring
        colours = tuple(sorted({c for _, lit in tl for c in lit}))
        shape = (colours, tuple(t - 1000 for t, _ in tl[1:]))
        shapes.add(shape)
    assert len(shapes) == len(FEEDBACK_KINDS)


def test_jammed_and_lockout_are_brief_periodic_flashes(micropython):
    r = run(micropython, r"""
print(json.dumps([timeline(view(state="jammed", jammed=True), 0, 6000),
                  timeline(view(lockout=True), 0, 9000)]))
""")
    jam, lockout = r
    assert edges(jam) == [(0, True), (100, False), (2000, True), (2100, False), (4000, True), (4100, False)]
    assert edges(lockout) == [(0, True), (100, False), (3000, True), (3100, False), (6000, True),
                              (6100, False)]
    assert {c for _, lit in jam for c in lit} != {c for _, lit in lockout for c in lit}


def test_precedence(micropython):
    # reset pending > pairing > feedback > jammed > lockout > battery low > dark
    r = run(micropython, r"""
layers = [("reset_pending", True), ("pairing", True), ("feedback", ("jam", 0)), ("jammed", True),
          ("lockout", True), ("battery_low", True)]
def same(v, w):
    for t in range(0, 900, 5):  # while the feedback (900 ms) lasts
        if ring.frame(v, t, 3, (0,), 255) != ring.frame(w, t, 3, (0,), 255):
            return False
    return True
alone = [view(**{k: val}) for k, val in layers]
res = []
for i in range(len(layers)):
    v = view(**dict(layers[i:]))   # this layer and every one below it
    res.append([layers[i][0], same(v, alone[i])])
distinct = all(not same(alone[i], alone[j]) for i in range(6) for j in range(i))
print(json.dumps([res, distinct]))
""")
    res, distinct = r
    assert distinct  # each layer alone looks different from every other
    assert all(ok for _, ok in res), res


@pytest.mark.parametrize("brightness", [0, 1, 128, 255])
def test_brightness_scales_every_channel(micropython, brightness):
    r = run(micropython, r"""
full = ring.frame(view(pairing=True), 0, 4, (0,), 255)
dim = ring.frame(view(pairing=True), 0, 4, (0,), %d)
print(json.dumps([full, dim]))
""" % brightness)
    full, dim = r
    assert dim == [[c * brightness // 255 for c in px] for px in full]
    assert len(dim) == 4


def test_upper_indices_outside_the_ring_are_ignored(micropython):
    r = run(micropython, r"""
print(json.dumps(ring.frame(view(battery_low=True), 0, 4, (3, 4, 9), 255)))
""")
    assert [i for i, px in enumerate(r) if any(px)] == [3]


@pytest.mark.parametrize("setup", [
    'view(state="unlocked", battery_low=True)',
    'view(state="locked", battery_low=True)',
    'view(reset_pending=True)',
    'view(jammed=True, state="jammed")',
    'view(lockout=True)',
    'view(feedback=("unlatch", 700), battery_low=True, state="unlocked")',
    'view(feedback=("lock", 700))',
    'view(feedback=("boot", 300), lockout=True)',
])
def test_next_change_predicts_every_change(micropython, setup):
    r = run(micropython, r"""
v = %s
print(json.dumps([[t for t, _ in timeline(v, 0, 12000)], chain(v, 0, 12000)]))
""" % setup)
    changes, predicted = r
    assert set(changes[1:]) <= set(predicted)  # never sleeps through a change
    assert len(predicted) <= 2 * len(changes) + 4  # and wakes up only near one
