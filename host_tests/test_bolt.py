"""Bolt state machine (firmware/lock/bolt.py) under MicroPython, against a tiny simulated cylinder.

The world: a cylinder between two hard stops; the motor's steps move it unless it is jammed; a hand can
set its position. A rig ticks the bolt every 10 ms like the shell and logs every state entry.
"""
import pytest

RIG = r"""
import json
from lock.bolt import Bolt, ACTIONS, TABLE
P = {"MAX_SPEED": 800, "ACCEL": 4000, "JAM_MARGIN_MS": 300, "STEPS_PER_REV": 400, "FULL_LOCK": True,
     "UNLATCH_HOLD_MS": 500}
P1 = dict(P)
P1["FULL_LOCK"] = False
LO, HI = 0, 950            # a two-turn cylinder for P
HI1 = 550                  # a one-turn cylinder for P1
# What calibration learns on these worlds (rest 6 steps off each hard stop; unlocked a quarter turn below
# the unlatch stop; locked one turn below unlocked on a full-lock cylinder). The calibration test checks it.
CAL = {"fulllock": 6, "locked": 444, "unlocked": 844, "unlatch": 944}
CAL1 = {"locked": 6, "unlocked": 444, "unlatch": 544}

class World:
    def __init__(self, pos, lo, hi):
        self.pos = pos; self.lo = lo; self.hi = hi; self.jam = False; self.slip = 1; self.cap = 10000
    def step(self, n):
        if not self.jam:
            n = max(-self.cap, min(self.cap, n // self.slip))   # a slow motor loses the excess
            self.pos = max(self.lo, min(self.hi, self.pos + n))

class Rig:
    def __init__(self, pos, cal=CAL, params=P, settings=None, hi=HI, lo=LO):
        self.w = World(pos, lo, hi)
        self.t = 0
        self.b = Bolt(params, cal, pos, 0, settings)
        self.log = []
        self.seq = -1
        self.steps = 0    # how many ticks issued steps, their sum, smallest and largest
        self.step_sum = 0; self.step_min = 0; self.step_max = 0
        self.note()
    def note(self):
        b = self.b
        if b.seq != self.seq:
            self.seq = b.seq
            self.log.append([self.t, b.state, b.last_cause, self.w.pos])
    def req(self, action, critical=False):
        r = self.b.request(action, self.t, self.w.pos, critical)
        self.note()
        return r
    def tick(self):
        n = self.b.tick(self.t, self.w.pos)
        if n:
            self.steps += 1; self.step_sum += n
            self.step_min = min(self.step_min, n); self.step_max = max(self.step_max, n)
        self.w.step(n)
        self.note()
        self.t += 10
        return n
    def run(self, ms):
        end = self.t + ms
        while self.t < end:
            self.tick()
    def until(self, state, ms=20000):
        end = self.t + ms
        while self.b.state != state and self.t < end:
            self.tick()
        return self.b.state == state
    def states(self):
        return [e[1] for e in self.log]
def out(**kw):
    print(json.dumps(kw))
"""


def run(mp, code):
    return mp.json(RIG + code)


def test_calibration_learns_stops_of_a_two_turn_cylinder(micropython):
    r = run(micropython, r"""
rig = Rig(500, cal=None)
first = rig.b.state
busy = rig.req("calibrate")
during = [rig.req(a) for a in ACTIONS]
ok = rig.until("locked")
cal = rig.b.calibration
dirty = rig.b.calibration_dirty
state, pos, log, took = rig.b.state, rig.w.pos, rig.states(), rig.t
positions = {}
for a, key in (("unlock", "unlocked"), ("unlatch", "unlocked"), ("fulllock", "locked"), ("lock", "locked")):
    rig.req(a)
    top = rig.w.pos
    while rig.b.state != key or rig.b.moving:
        rig.tick(); top = max(top, rig.w.pos)
    positions[a] = [rig.w.pos, top]
out(first=first, accepted=busy, during=during, ok=ok, cal=cal, dirty=dirty, state=state,
    pos=pos, positions=positions, error=rig.b.error, t=took, log=log)
""")
    assert r["first"] == "uncalibrated" and r["accepted"] is None
    assert r["during"] == ["busy"] * 6
    assert r["ok"] and r["error"] is None and r["dirty"]
    cal = r["cal"]
    hi, lo, rev = 950, 0, 400
    assert hi - 10 <= cal["unlatch"] < hi  # rests just off the unlatch stop, never pressing it
    assert cal["unlocked"] == cal["unlatch"] - rev // 4
    assert cal["locked"] == cal["unlocked"] - rev
    assert lo < cal["fulllock"] <= lo + 10
    assert r["pos"] == cal["locked"] and r["state"] == "locked"
    assert r["log"] == ["uncalibrated", "calibrating", "locked"]
    p = r["positions"]
    assert p["unlock"][0] == cal["unlocked"]
    assert p["unlatch"] == [cal["unlocked"], cal["unlatch"]]  # went up to unlatch, came back
    assert p["fulllock"][0] == cal["fulllock"]
    assert p["lock"][0] == cal["fulllock"]  # "lock" from full lock: already locked, no motion
    assert r["t"] < 8000  # two seeks at half speed over ~2.4 turns and the move to locked


def test_calibration_of_a_one_turn_cylinder(micropython):
    r = run(micropython, r"""
rig = Rig(300, cal=None, params=P1, hi=HI1)
rig.req("calibrate")
ok = rig.until("locked")
out(ok=ok, cal=rig.b.calibration, pos=rig.w.pos, full=rig.req("fulllock"))
""")
    cal = r["cal"]
    assert r["ok"] and "fulllock" not in cal
    assert 0 < cal["locked"] <= 10 and 540 <= cal["unlatch"] < 550
    assert cal["unlocked"] == cal["unlatch"] - 100
    assert r["pos"] == cal["locked"]
    assert r["full"] == "not_supported"


def test_calibration_fails_without_end_stops_or_with_a_short_range(micropython):
    r = run(micropython, r"""
free = Rig(0, cal=None, lo=-100000, hi=100000)
free.req("calibrate")
free.run(30000)
short = Rig(300, cal=None, hi=HI1)      # a one-turn cylinder cannot hold a full-lock board's positions
short.req("calibrate")
short.run(20000)
kept = Rig(CAL["unlocked"], hi=HI1)     # a failed recalibration keeps the old positions
kept.req("calibrate")
kept.run(20000)
out(free=[free.b.state, free.b.error, free.b.calibration, free.b.moving],
    short=[short.b.state, short.b.error, short.b.calibration_dirty],
    kept=[kept.b.state, kept.b.error, kept.b.calibration == CAL, kept.b.calibration_dirty])
""")
    assert r["free"] == ["uncalibrated", "calibration_failed", None, False]
    assert r["short"] == ["uncalibrated", "calibration_failed", False]
    assert r["kept"][1:] == ["calibration_failed", True, False]
    assert r["kept"][0] in ("locked", "unlocked")


# Every (state, action): the refusal, or the state the bolt enters at once.
EXPECTED = {
    "uncalibrated": dict(lock="uncalibrated", unlock="uncalibrated", unlatch="uncalibrated",
                         lockngo="uncalibrated", fulllock="uncalibrated", calibrate="calibrating"),
    "calibrating": {a: "busy" for a in ("lock", "unlock", "unlatch", "lockngo", "fulllock", "calibrate")},
    "locked": dict(lock="already_locked", unlock="unlocking", unlatch="unlatching", lockngo="unlocking",
                   fulllock="locking", calibrate="calibrating"),
    "unlocking": {a: "busy" for a in ("lock", "unlock", "unlatch", "lockngo", "fulllock", "calibrate")},
    "unlocked": dict(lock="locking", unlock="already_unlocked", unlatch="unlatching", lockngo="unlocked",
                     fulllock="locking", calibrate="calibrating"),
    "locking": {a: "busy" for a in ("lock", "unlock", "unlatch", "lockngo", "fulllock", "calibrate")},
    "unlatching": {a: "busy" for a in ("lock", "unlock", "unlatch", "lockngo", "fulllock", "calibrate")},
    "unlatched": {a: "busy" for a in ("lock", "unlock", "unlatch", "lockngo", "fulllock", "calibrate")},
    "jammed": dict(lock="locking", unlock="unlocking", unlatch="unlatching", lockngo="unlocking",
                   fulllock="locking", calibrate="calibrating"),
}

INTO = r"""
def into(state):
    if state == "uncalibrated":
        return Rig(500, cal=None)
    if state == "calibrating":
        rig = Rig(500, cal=None); rig.req("calibrate"); rig.run(100); return rig
    if state in ("locked", "unlocking", "unlatched_from_locked"):
        rig = Rig(CAL["locked"])
    else:
        rig = Rig(CAL["unlocked"])
    go = {"unlocking": "unlock", "locking": "lock", "unlatching": "unlatch", "unlatched": "unlatch"}.get(state)
    if state == "jammed":
        rig.req("lock"); rig.run(200); rig.w.jam = True; rig.until("jammed"); rig.w.jam = False
    elif go:
        rig.req(go); rig.run(100); rig.until(state)
    return rig
"""


def test_every_action_in_every_state(micropython):
    r = run(micropython, INTO + r"""
res = {}
for s in TABLE:
    res[s] = {}
    for a in ACTIONS:
        rig = into(s)
        assert rig.b.state == s, (s, rig.b.state)
        seq, pos = rig.b.seq, rig.w.pos
        code = rig.req(a)
        if code is not None:
            assert rig.b.seq == seq and rig.b.state == s, (s, a)   # a refusal changes nothing
        res[s][a] = code if code is not None else rig.b.state
out(res=res, table=sorted(TABLE), actions=list(ACTIONS))
""")
    assert r["table"] == sorted(EXPECTED)
    assert r["res"] == EXPECTED


def test_critical_battery_refuses_unlatch_only(micropython):
    r = run(micropython, INTO + r"""
res = {}
for s in ("locked", "unlocked", "jammed", "unlocking"):
    res[s] = {}
    for a in ACTIONS:
        rig = into(s)
        code = rig.req(a, critical=True)
        res[s][a] = code if code is not None else rig.b.state
out(res=res)
""")
    for s, row in r["res"].items():
        for a, got in row.items():
            if a == "unlatch" and s != "unlocking":
                assert got == "battery_critical"
            else:
                assert got == EXPECTED[s][a], (s, a)  # locking (and the rest) works as ever


def test_unknown_action_is_refused(micropython):
    r = run(micropython, r"""
rig = Rig(CAL["locked"])
out(code=rig.req("open_sesame"), state=rig.b.state)
""")
    assert r == {"code": "unknown_action", "state": "locked"}


def test_unlock_follows_the_profile_and_arrives(micropython):
    r = run(micropython, r"""
rig = Rig(CAL["locked"])
rig.req("unlock")
rig.until("unlocked")
out(log=rig.log, steps=[rig.step_sum, rig.step_min, rig.step_max], pos=rig.w.pos, t=rig.t, moving=rig.b.moving)
""")
    dist = 844 - 444
    assert r["pos"] == 844 and not r["moving"]
    assert [e[1:3] for e in r["log"]] == [["locked", "boot"], ["unlocking", "request"],
                                          ["unlocked", "request"]]
    total, smallest, largest = r["steps"]
    assert total == dist and smallest == 0  # no step more than needed, none backwards
    assert 0 < largest <= 800 * 10 // 1000 + 1  # vmax over one 10 ms tick
    # 0.2 s ramps + 0.3 s cruise = 0.7 s of profile; arrival is noticed within two ticks after
    assert 700 <= r["log"][-1][0] <= 730


def test_unlatch_goes_past_unlocked_holds_and_returns(micropython):
    r = run(micropython, r"""
rig = Rig(CAL["unlocked"])
rig.req("unlatch")
at_top = []
while not (rig.b.state == "unlocked" and not rig.b.moving):
    if rig.w.pos == CAL["unlatch"]:
        at_top.append(rig.t)
    rig.tick()
out(log=[e[1] for e in rig.log], held=at_top[-1] - at_top[0], pos=rig.w.pos)
""")
    assert r["log"] == ["unlocked", "unlatching", "unlatched", "unlocked"]
    assert 500 <= r["held"] <= 540  # UNLATCH_HOLD_MS at the unlatch position
    assert r["pos"] == 844


def test_jam_stops_at_once_and_the_next_action_retries(micropython):
    r = run(micropython, r"""
rig = Rig(CAL["locked"])
rig.req("unlock")
rig.run(300)
stuck_at = rig.w.pos
rig.w.jam = True
t_jam = rig.t
rig.until("jammed")
jam = [rig.t - t_jam, rig.b.error, rig.b.last_cause, rig.w.pos]
n_before = rig.steps
rig.run(3000)
idle_steps = rig.steps - n_before
rig.w.jam = False
retry = rig.req("unlock")
ok = rig.until("unlocked")
out(jam=jam, stuck_at=stuck_at, idle_steps=idle_steps, retry=retry, ok=ok, pos=rig.w.pos,
    error=rig.b.error, log=[e[1] for e in rig.log])
""")
    took, error, cause, pos = r["jam"]
    assert error == "jam" and cause == "stall" and pos == r["stuck_at"]
    assert took <= 250 + 30  # STALL_MS without progress, noticed within a few ticks
    assert r["idle_steps"] == 0  # stopped at once and stays stopped
    assert r["retry"] is None and r["ok"] and r["pos"] == 844 and r["error"] is None
    assert r["log"] == ["locked", "unlocking", "jammed", "unlocking", "unlocked"]


def test_jam_by_timeout_when_the_cylinder_lags_behind(micropython):
    r = run(micropython, r"""
p = dict(P); p["STALL_MS"] = 5000; p["JAM_MARGIN_MS"] = 200
rig = Rig(CAL["locked"], params=p)
rig.w.slip = 2                    # the cylinder moves, but only half as far as the motor steps
rig.req("unlock")
rig.until("jammed")
out(t=rig.t, error=rig.b.error, cause=rig.b.last_cause, pos=rig.w.pos)
""")
    # profile 700 ms + 200 ms margin, extended by at most two recoveries of the lost half
    assert 900 <= r["t"] <= 3000
    assert r["error"] == "jam" and r["cause"] == "timeout" and r["pos"] < 844


def test_lost_steps_are_fetched_at_the_end(micropython):
    r = run(micropython, r"""
rig = Rig(CAL["locked"])
rig.w.cap = 6                     # the motor manages 600 steps/s where the profile asks 800
rig.req("unlock")
ok = rig.until("unlocked", 3000)
out(ok=ok, pos=rig.w.pos, error=rig.b.error, log=[e[1] for e in rig.log], t=rig.t)
""")
    assert r["ok"] and r["pos"] == 844 and r["error"] is None
    assert r["log"] == ["locked", "unlocking", "unlocked"]
    assert r["t"] < 1500  # one recovery: 100 ms of quiet sensor, then a short profile for the rest


def test_manual_turn_when_idle_is_followed_without_driving(micropython):
    r = run(micropython, r"""
rig = Rig(CAL["locked"])
rig.w.pos += 2; rig.run(200)                 # a wiggle within the tolerance: nothing
wiggle = [rig.b.state, rig.b.seq]
while rig.w.pos < CAL["unlocked"]:
    rig.w.pos += 5; rig.tick()
rig.run(200)
unlocked = [rig.b.state, rig.b.last_cause, rig.b.by_hand]
while rig.w.pos > CAL["locked"]:
    rig.w.pos -= 7; rig.tick()
rig.run(200)
out(wiggle=wiggle, unlocked=unlocked, locked=[rig.b.state, rig.b.by_hand], steps=rig.steps,
    log=[e[1:3] for e in rig.log])
""")
    assert r["wiggle"] == ["locked", 1]
    assert r["unlocked"] == ["unlocked", "manual", True]
    assert r["locked"] == ["locked", True]
    assert r["steps"] == 0  # the motor never moved
    assert r["log"] == [["locked", "boot"], ["unlocked", "manual"], ["locked", "manual"]]


@pytest.mark.parametrize("push", [-20, 20])
def test_hand_on_the_key_during_motion_stops_the_motor(micropython, push):
    r = run(micropython, r"""
rig = Rig(CAL["locked"])
rig.req("unlock")
rig.run(300)
rig.w.pos += %d                     # against the motor, or ahead of it
before = rig.steps
rig.tick()
rig.run(2000)
out(state=rig.b.state, cause=rig.b.last_cause, steps=rig.steps - before, error=rig.b.error)
""" % push)
    assert r["steps"] == 0  # not a single step once the hand is felt
    assert r["cause"] == "manual" and r["error"] is None
    assert r["state"] == "locked"  # the cylinder is still in the locking half of the turn


def test_a_stalled_controller_resumes_the_profile_and_still_feels_a_hand(micropython):
    r = run(micropython, r"""
rig = Rig(CAL["locked"])
rig.w.cap = 12                      # the most the motor follows in one burst: 10 ms at 1200 steps/s
rig.req("unlock")
rig.run(300)
rig.t += 80                         # the controller stalled (a GC, a flash write)
biggest = abs(rig.tick())
rig.run(100)
rig.w.pos += 6                      # a hand turns the key the way the motor goes, a little ahead of it
before = rig.steps
rig.tick()
rig.run(1000)
out(biggest=biggest, cause=rig.b.last_cause, steps=rig.steps - before)
""")
    assert r["biggest"] <= 12, "a burst the motor cannot follow"
    assert r["cause"] == "manual" and r["steps"] == 0, "the hand is felt and the motor stops"


def test_boot_state_comes_from_the_sensed_position(micropython):
    r = run(micropython, r"""
L, U = CAL["locked"], CAL["unlocked"]
def boot(pos, cal=CAL):
    b = Bolt(P, cal, pos, 0)
    return [b.state, b.error, b.last_cause]
res = {
  "locked": boot(L), "fulllock": boot(CAL["fulllock"]), "unlocked": boot(U),
  "unlatch": boot(CAL["unlatch"]), "near_locked": boot(L + (U - L) * 3 // 10),
  "near_unlocked": boot(L + (U - L) * 7 // 10), "none": boot(L, None),
  "bad": boot(L, {"locked": 900, "unlocked": 10, "unlatch": 20, "fulllock": 0}),
  "garbage": boot(L, {"locked": "x"}),
}
# a power cut mid-motion: the old bolt is gone, the cylinder stays where it was
rig = Rig(L)
rig.req("unlock"); rig.run(500)
cut_at = rig.w.pos
after = Bolt(P, CAL, cut_at, 0)
booted = after.state
code = after.request("unlock", 0, cut_at)
out(res=res, cut=[cut_at, booted, code])
""")
    res = r["res"]
    assert res["locked"] == ["locked", None, "boot"]
    assert res["fulllock"][0] == "locked"
    assert res["unlocked"][0] == "unlocked"
    assert res["unlatch"][0] == "unlocked"
    assert res["near_locked"][0] == "locked"
    assert res["near_unlocked"][0] == "unlocked"
    assert res["none"] == ["uncalibrated", None, "boot"]
    assert res["bad"] == ["uncalibrated", "calibration_invalid", "boot"]
    assert res["garbage"] == ["uncalibrated", "calibration_invalid", "boot"]
    cut_at, state, code = r["cut"]
    assert 444 < cut_at < 844
    assert state == ("unlocked" if cut_at >= 644 else "locked")
    assert code is None  # an unlock finishes the interrupted motion even when it reads "unlocked"


def test_auto_relock(micropython):
    r = run(micropython, r"""
rig = Rig(CAL["locked"], settings={"auto_relock_s": 3})
rig.req("unlock"); rig.until("unlocked")
t_unlocked = rig.t
rig.until("locking", 10000)
relock = [rig.t - t_unlocked, rig.b.last_cause]
rig.until("locked")
done = [rig.b.state, rig.w.pos]
# unlocked by hand: relocks too
while rig.w.pos < CAL["unlocked"]:
    rig.w.pos += 10; rig.tick()
t_hand = rig.log[-1][0]          # when the turn crossed into the unlocked half
rig.until("locking", 10000)
hand = [rig.t - t_hand, rig.log[-2][1:3]]
# off
off = Rig(CAL["locked"], settings={"auto_relock_s": 0})
off.req("unlock"); off.until("unlocked"); off.run(60000)
# a lock before the timer runs out: no second motion later
early = Rig(CAL["locked"], settings={"auto_relock_s": 3})
early.req("unlock"); early.until("unlocked"); early.run(1000); early.req("lock"); early.until("locked")
n = early.steps; early.run(5000)
out(relock=relock, done=done, hand=hand, off=off.b.state, early=early.steps - n)
""")
    took, cause = r["relock"]
    assert 3000 <= took <= 3020 and cause == "auto_relock"
    assert r["done"] == ["locked", 444]
    assert 3000 <= r["hand"][0] <= 3020  # counted from when the hand turn was seen
    assert r["hand"][1] == ["unlocked", "manual"]
    assert r["off"] == "unlocked"
    assert r["early"] == 0


def test_lockngo_waits_then_locks(micropython):
    r = run(micropython, r"""
rig = Rig(CAL["locked"], settings={"lockngo_s": 5})
rig.req("lockngo")
rig.until("unlocked")
t_open = rig.t
rig.run(4900)
mid = [rig.b.state, rig.w.pos]
rig.until("locking")
waited = rig.t - t_open
rig.until("locked")
final = [rig.b.state, rig.w.pos, rig.b.last_cause]
# "unlock" during the wait keeps the door open
keep = Rig(CAL["unlocked"], settings={"lockngo_s": 5})
keep.req("lockngo")
state_at_once = keep.b.state
keep.run(1000)
cancel = keep.req("unlock")
keep.run(10000)
out(mid=mid, waited=waited, final=final, at_once=state_at_once, cancel=cancel, kept=keep.b.state,
    log=[e[1] for e in rig.log])
""")
    assert r["mid"] == ["unlocked", 844]
    assert 5000 <= r["waited"] <= 5020
    assert r["final"] == ["locked", 444, "request"]
    assert r["log"] == ["locked", "unlocking", "unlocked", "locking", "locked"]
    assert r["at_once"] == "unlocked" and r["cancel"] is None and r["kept"] == "unlocked"


def test_fulllock_and_back(micropython):
    r = run(micropython, r"""
rig = Rig(CAL["locked"])
rig.req("fulllock"); rig.until("locked")
a = [rig.w.pos, rig.req("fulllock"), rig.req("lock")]
rig.req("unlock"); rig.until("unlocked")
out(a=a, pos=rig.w.pos)
""")
    assert r["a"] == [6, "already_locked", "already_locked"]
    assert r["pos"] == 844


def test_hand_turn_clears_a_jam(micropython):
    r = run(micropython, r"""
rig = Rig(CAL["locked"])
rig.w.jam = True
rig.req("unlock"); rig.until("jammed")
rig.w.jam = False
rig.w.pos = CAL["unlocked"]; rig.run(100)
out(state=rig.b.state, error=rig.b.error, cause=rig.b.last_cause)
""")
    assert r == {"state": "unlocked", "error": None, "cause": "manual"}


def test_runs_in_a_small_heap(micropython):
    out = micropython.run(RIG + r"""
import gc
rig = Rig(500, cal=None)
rig.req("calibrate"); rig.until("locked")
for a in ("unlock", "unlatch", "lockngo"):
    rig.req(a); rig.run(3000)
gc.collect()
print(rig.b.state, gc.mem_free() > 20000)
""")
    assert out.split()[-1] == "True"


def test_a_pending_lock_is_reported_while_owed_and_resumed_after_a_reset(micropython):
    r = run(micropython, r"""
def relocks(rig, ms):
    seen = []
    for _ in range(ms // 10):
        if not seen or seen[-1][1] != rig.b.relock:
            seen.append([rig.b.state, rig.b.relock])
        rig.tick()
    return seen
go = Rig(CAL["locked"], settings={"lockngo_s": 5})
go.req("lockngo")
lockngo = relocks(go, 9000)
# an unlock, or a hand on the key, during the wait ends what was owed
cancelled = []
for how in ("unlock", "hand"):
    c = Rig(CAL["locked"], settings={"lockngo_s": 5})
    c.req("lockngo"); c.until("unlocked"); c.run(1000)
    if how == "unlock":
        c.req("unlock")
    else:
        c.w.pos -= 60; c.tick()
    cancelled.append([c.b.state, c.b.relock])
auto = Rig(CAL["locked"], settings={"auto_relock_s": 3})
auto.req("unlock")
relock = relocks(auto, 5000)
auto.req("unlock"); auto.until("unlocked"); auto.run(500); auto.req("lock")
locked_early = auto.b.relock
# after a reset: owed from boot, never later than the wait set now; nothing owed by a locked bolt
boot = Bolt(P, CAL, CAL["unlocked"], 0, {"lockngo_s": 5}, relock_ms=2000)
resumed = Rig(CAL["unlocked"], settings={"lockngo_s": 5}); resumed.b = boot; resumed.log = []; resumed.seq = -1
resumed.note()
resumed.until("locking", 10000)
took = [resumed.t, resumed.b.last_cause, resumed.b.relock]
resumed.until("locked")
shorter = Bolt(P, CAL, CAL["unlocked"], 0, {"auto_relock_s": 3}, relock_ms=9000).relock
at_rest = Bolt(P, CAL, CAL["locked"], 0, {}, relock_ms=2000)
out(lockngo=lockngo, cancelled=cancelled, relock=relock, locked_early=locked_early, took=took,
    after=[resumed.b.state, resumed.b.relock], shorter=shorter, at_rest=[at_rest.state, at_rest.relock])
""")
    # owed from the request, through the wait and the locking move, until it rests locked
    assert r["lockngo"] == [["unlocking", 5000], ["locked", None]]
    assert r["cancelled"] == [["unlocked", None], ["unlocked", None]]
    assert r["relock"] == [["unlocking", None], ["unlocked", 3000], ["locked", None]]
    assert r["locked_early"] is None
    assert 2000 <= r["took"][0] <= 2020 and r["took"][1:] == ["auto_relock", 2000]
    assert r["after"] == ["locked", None]
    assert r["shorter"] == 3000
    assert r["at_rest"] == ["locked", None]
