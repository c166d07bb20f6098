"""Issue 4 end to end: the simulated lock's motor, ring, button and battery, seen from outside.

Each test boots one lock that already knows its door (`simlock(calibrated=True)`), pairs an owner with lockctl
(which also ends the pairing mode a lock with no devices opens at boot), and walks it through related checks.
Timelines come from `simlock record` (every ring and lock-state change, timestamped by the bench); where only
the order of states matters, the state is polled.
"""
import json
import threading
import time

from sim import lines
from simlock.world import board_constant

CODE = "246810"
RING_FPS = board_constant("RING_FPS")
RING_PIXELS = board_constant("RING_PIXELS")
RING_UPPER = board_constant("RING_UPPER")
FRAME_MS = 1000 / RING_FPS
TOLERANCE_MS = 2 * FRAME_MS + 10      # two frames, and the bench's own timestamping
LOCKNGO_S = 5                         # set from lockctl, so that lock'n'go fits in a test
DARK = [0, 0, 0]


# --- helpers ------------------------------------------------------------------------------------------
def calibrated(lock, timeout=30):
    return lock.wait_for(lambda s: s["lock"] in ("locked", "unlocked"), timeout, "calibration done")


def lockctl(lock, identity, *args):
    """(exit code, JSON output or None, stderr)."""
    r = lock.run_lockctl(identity, *args)
    return r.returncode, (json.loads(r.stdout) if r.returncode == 0 and r.stdout.strip() else None), r.stderr


def ok(lock, identity, *args):
    code, out, err = lockctl(lock, identity, *args)
    assert code == 0, "lockctl %s: %s" % (" ".join(args), err)
    return out


def pair_owner(lock, tmp_path, **settings):
    """A lock with no device opens pairing mode at boot; the first pairing makes the owner and closes it."""
    lock.wait_for(lambda s: s["pairing"], timeout=10, what="pairing mode at first boot")
    identity = tmp_path / "owner.json"
    assert ok(lock, identity, "setup", "--code", CODE, "--name", "owner")["admin"]
    lock.wait_for(lambda s: not s["pairing"], what="pairing closed by the pairing")
    for name, value in settings.items():
        ok(lock, identity, "settings", "--" + name, str(value), "--code", CODE)
    return identity


def toggle_to(lock, state):
    if lock.state()["lock"] != state:
        lock.bench("button press")
    return lock.wait_lock(state)


def watch(lock, until, timeout=15):
    """Poll the lock until `until(state)`: (the lock states seen, in order, without repeats; last state)."""
    seen = []

    def note(s):
        if not seen or seen[-1] != s["lock"]:
            seen.append(s["lock"])
        return until(s)

    last = lock.wait_for(note, timeout, "the lock to get there")
    return seen, last


def double_press(lock):
    lock.bench("button press")
    time.sleep(0.1)              # a finger lifts for a moment, well beyond the button's debounce
    lock.bench("button press")


def ring_dark(lock, timeout=5):
    return lock.wait_for(lambda s: all(p == DARK for p in s["ring"]), timeout, "the ring dark again")


class Record(threading.Thread):
    """`simlock record` in the background; each line kept with the monotonic time it arrived here."""

    def __init__(self, lock, seconds):
        super().__init__(daemon=True)
        self.lock, self.seconds = lock, seconds
        self.got = []
        self.started = threading.Event()
        self.start()
        assert self.started.wait(10), "record did not start"
        self.t0 = self.got[0][0]   # arrival of the bench's t=0 lines

    def run(self):
        for msg in lines(self.lock.control, "record %s" % self.seconds, timeout=self.seconds + 30):
            self.got.append((time.monotonic(), msg))
            self.started.set()

    def finish(self):
        self.join(self.seconds + 30)
        assert self.got and self.got[-1][1].get("done"), "record ended early: %s" % self.got[-1:]
        return self

    def states(self):
        return [(m["t"], m["lock"]) for _, m in self.got if "lock" in m]

    def frames(self):
        return [(m["t"], m["ring"]) for _, m in self.got if "ring" in m]

    def arrival(self, predicate):
        """Local monotonic time at which the first ring frame matching `predicate` arrived."""
        for at, m in self.got:
            if "ring" in m and predicate(m["ring"]):
                return at
        return None


def changes(seq):
    """Drop consecutive repeats from [(t, value)]."""
    out = []
    for t, v in seq:
        if not out or out[-1][1] != v:
            out.append((t, v))
    return out


def all_lit(colour):
    return lambda ring: len(ring) == RING_PIXELS and all(p == colour for p in ring)


def scaled(rgb, brightness=96):
    return [c * brightness // 255 for c in rgb]


def blink_edges(phase, on, off, count, period, end):
    """Every (t, lit) edge in (0, end) of a blink train whose period starts at `phase` (mod period)."""
    out = []
    start = phase - ((phase // period) + 1) * period
    while start < end:
        for k in range(count):
            for t, lit in ((start + k * (on + off), True), (start + k * (on + off) + on, False)):
                if 0 < t < end:
                    out.append((t, lit))
        start += period
    return out


def check_upper_blinks(frames, on, off, count, period, window_ms, colour):
    """The upper segment blinks `count` times (on/off ms) every `period` ms; every other pixel stays dark."""
    lit_seq = []
    for t, ring in frames:
        assert len(ring) == RING_PIXELS, ring
        for i, p in enumerate(ring):
            if i not in RING_UPPER:
                assert p == DARK, "pixel %d lit at %d ms: %s" % (i, t, ring)
        upper = {tuple(ring[i]) for i in RING_UPPER}
        assert len(upper) == 1, "the upper segment is lit as one: %s" % ring
        shade = list(upper.pop())
        assert shade in (DARK, colour), "upper segment colour %s at %d ms" % (shade, t)
        lit_seq.append((t, shade == colour))
    seen = changes(lit_seq)[1:]                         # edges after the recording's first frame
    rises = [t for t, lit in seen if lit and t > TOLERANCE_MS]
    assert rises, "no blink in %d ms: %s" % (window_ms, seen)
    # The pattern runs on the firmware's clock: align on the first blink seen, whichever of the train it is.
    inner = lambda edges: [(t, lit) for t, lit in edges if TOLERANCE_MS < t < window_ms - TOLERANCE_MS]
    tries = []
    for k in range(count):
        expected = inner(blink_edges(rises[0] - k * (on + off), on, off, count, period, window_ms))
        got = inner(seen)
        if len(got) == len(expected) and all(
                g[1] == e[1] and abs(g[0] - e[0]) <= TOLERANCE_MS for g, e in zip(got, expected)):
            return got
        tries.append(expected)
    raise AssertionError("upper-segment edges %s match no alignment of %d x %d/%d ms every %d ms: %s"
                         % (inner(seen), count, on, off, period, tries))


# --- tests --------------------------------------------------------------------------------------------
def test_button_and_lockctl_lock_unlock_unlatch_and_lockngo(simlock, tmp_path):
    lock = simlock(calibrated=True)
    calibrated(lock)
    owner = pair_owner(lock, tmp_path, lockngo=LOCKNGO_S)

    # Short presses toggle the bolt; each motion passes through its moving state.
    start = lock.state()["lock"]
    other = "unlocked" if start == "locked" else "locked"
    lock.bench("button press")
    seen, first = watch(lock, lambda s: s["lock"] == other)
    assert seen == [start, "unlocking" if start == "locked" else "locking", other], seen
    lock.bench("button press")
    seen, second = watch(lock, lambda s: s["lock"] == start)
    assert seen == [other, "locking" if start == "locked" else "unlocking", start], seen
    locked_at, unlocked_at = sorted((first["position"], second["position"]))
    assert unlocked_at - locked_at >= 300, "a locking turn is most of a revolution (400 steps)"
    toggle_to(lock, "locked")

    # Double press = lock'n'go: unlock, stay unlocked lockngo_s, lock again by itself.
    ring_dark(lock)
    rec = Record(lock, LOCKNGO_S + 3)
    double_press(lock)
    timeline = changes(rec.finish().states())
    assert [s for _, s in timeline] == ["locked", "unlocking", "unlocked", "locking", "locked"], timeline
    t = dict((s, t) for t, s in reversed(timeline))
    assert t["unlocking"] < 1000, "lock'n'go starts at the second press"
    dwell = t["locking"] - t["unlocked"]
    assert abs(dwell - LOCKNGO_S * 1000) <= 300, "unlocked for lockngo_s: %d ms" % dwell

    # Unlatch from lockctl: past unlocked to pull the latch, hold, back to unlocked.
    assert ok(lock, owner, "unlatch", "--no-wait") == {"action": "unlatch", "outcome": "accepted", "state": None}
    furthest = []
    seen, back = watch(lock, lambda s: furthest.append(s["position"]) or s["lock"] == "unlocked")
    assert seen[-3:] == ["unlatching", "unlatched", "unlocked"] and seen[0] in ("locked", "unlatching"), seen
    assert max(furthest) > unlocked_at + 50, "the latch is pulled past unlocked"
    assert abs(back["position"] - unlocked_at) <= 4

    # Lock'n'go from lockctl while unlocked: it waits lockngo_s to lock; a hand locking the door meanwhile
    # takes over: the pending lock is dropped and the motor stays off.
    assert ok(lock, owner, "lockngo", "--no-wait")["outcome"] == "accepted"
    time.sleep(1)
    assert lock.state()["lock"] == "unlocked"
    lock.bench("turn -360")
    left = lock.wait_lock("locked", timeout=3)["position"]
    time.sleep(LOCKNGO_S)
    s = lock.state()
    assert s["lock"] == "locked" and s["position"] == left, "no motion after the hand took over"
    assert ok(lock, owner, "status")["state"] == "locked"


def test_long_press_and_manual_turns(simlock, tmp_path):
    lock = simlock(calibrated=True)
    calibrated(lock)
    pair_owner(lock, tmp_path)
    ring_dark(lock)

    # Long press: pairing mode (ring steadily lit) the moment 5 s is reached, while still held.
    rec = Record(lock, 7.5)
    pressed = time.monotonic()
    lock.bench("button hold 7")
    released = time.monotonic()
    rec.finish()
    blue = scaled((0, 0, 255))
    lit = rec.arrival(all_lit(blue))
    assert lit is not None, rec.frames()
    assert 4.95 <= lit - pressed <= 5.5, "pairing shown %.2f s into the press" % (lit - pressed)
    assert released - lit >= 1.4, "shown before the release, not at it"
    assert released - pressed < 7.5, "the release came within the recording"
    first_blue = min(t for t, ring in rec.frames() if all_lit(blue)(ring))
    assert all(all_lit(blue)(ring) for t, ring in rec.frames() if t >= first_blue), "steady, not blinking"
    assert lock.state()["pairing"], "pairing mode lasts after the release"
    lock.bench("button press")
    lock.wait_for(lambda s: not s["pairing"], what="pairing closed by a short press")

    # Turned by hand while idle: the state follows, the motor stays still.
    toggle_to(lock, "unlocked")
    unlocked_at = lock.state()["position"]
    ring_dark(lock)
    lock.bench("turn -360")
    s = lock.wait_lock("locked", timeout=3)
    time.sleep(0.5)
    assert lock.state()["position"] == unlocked_at - 360, "the motor does not move after a hand turn"
    lock.bench("turn 360")
    s = lock.wait_lock("unlocked", timeout=3)
    time.sleep(0.5)
    assert lock.state()["position"] == unlocked_at and s["error"] is None
    middle = unlocked_at - 200                          # half of the 400-step locking turn

    # Turned by hand during a motion, the way the motor goes and faster (a hand slower than the motor only
    # brakes it, which looks like lost steps): the motor stops at once and stays off.
    lock.bench("button press")                          # locking: the bolt travels downwards
    at = lock.wait_for(lambda s: s["position"] < unlocked_at - 40, what="locking under way")
    assert at["lock"] == "locking"
    lock.bench("turn -100 2000")
    left = lock.state()["position"]
    time.sleep(1)
    s = lock.state()
    assert s["position"] == left, "the motor stopped when the hand took over"
    assert s["lock"] == ("locked" if left < middle else "unlocked") and s["error"] is None, s
    assert left <= at["position"] - 100

    # Turned back against the motor during a motion: the hand wins, the motor stops and stays off.
    for _ in range(3):                                  # from the half turn the hand left, fully unlocked
        if lock.state()["position"] == unlocked_at:
            break
        toggle_to(lock, "unlocked" if lock.state()["lock"] == "locked" else "locked")
    assert lock.state()["position"] == unlocked_at
    ring_dark(lock)
    lock.bench("button press")
    at = lock.wait_for(lambda s: s["position"] < unlocked_at - 40, what="locking under way")
    assert at["lock"] == "locking"
    lock.bench("turn 150")
    left = lock.state()["position"]
    time.sleep(1)
    s = lock.state()
    # (In the simulated world, as on a real cylinder, a hand on the key makes the motor lose its steps.)
    assert s["position"] == left and left > at["position"], \
        "the motor went on against the hand (%d, turned +150 -> %d, then %d)" % (at["position"], left, s["position"])
    assert s["lock"] == "unlocked" and s["error"] is None, s


def test_jam_recovery_and_power_cut_mid_motion(simlock, tmp_path):
    lock = simlock(calibrated=True)
    calibrated(lock)
    owner = pair_owner(lock, tmp_path)
    unlocked_at = toggle_to(lock, "unlocked")["position"]
    locked_at = toggle_to(lock, "locked")["position"]
    middle = (locked_at + unlocked_at) // 2
    toggle_to(lock, "unlocked")
    ring_dark(lock)

    # Jam mid-motion: the motor stops, the state is jammed, the error readable, the ring shows it.
    lock.bench("button press")
    lock.wait_for(lambda s: s["position"] < unlocked_at - 80, what="locking under way")
    lock.bench("jam on")
    rec = Record(lock, 2.5)
    jammed = lock.wait_lock("jammed", timeout=3)
    assert jammed["error"] == "jam"
    status = ok(lock, owner, "status")
    assert status["state"] == "jammed" and status["error"] == "jam"
    assert status["jammed"] and not status["calibration_error"]
    red = scaled((255, 0, 0))
    frames = rec.finish().frames()
    shown = [i for i, (_, ring) in enumerate(frames) if all_lit(red)(ring)]
    assert shown, "the ring shows the jam: %s" % frames
    assert all(all_lit(red)(r) or r == [DARK] * RING_PIXELS for _, r in frames[shown[0]:]), frames
    stuck = lock.state()["position"]

    # Freed, the next action retries from where the bolt stands and finishes.
    lock.bench("jam off")
    lock.bench("button press")
    done = lock.wait_lock("locked")
    assert done["position"] == locked_at and done["error"] is None and stuck > locked_at
    assert ok(lock, owner, "status")["error"] is None and not ok(lock, owner, "status")["jammed"]

    # Power cut mid-motion, before and after the middle of the turn: after boot the state is the
    # sensed one, never the motion that was under way, and the bolt does not move by itself.
    for past, expect in ((middle + 60, "unlocked"), (middle - 60, "locked")):
        lock.bench("button press")                      # unlocks from locked, then locks from a half turn
        cut = lock.wait_for(lambda s: (s["position"] - past) * (1 if expect == "unlocked" else -1) > 0,
                            what="motion under way")
        lock.bench("power off")
        pos = lock.state()["position"]
        assert (pos < middle) == (expect == "locked") and pos not in (locked_at, unlocked_at)
        rec = Record(lock, 2)
        lock.bench("power on")
        lock.wait_ready()
        rec.finish()
        seen = [s for _, s in changes(rec.states()) if s is not None]
        assert seen == [expect], "after a cut at %d (was %s): %s" % (pos, cut["lock"], seen)
        assert lock.state()["position"] == pos
        assert ok(lock, owner, "status")["state"] == expect
    lock.bench("button press")                          # the next press finishes the interrupted turn
    assert lock.wait_lock("unlocked")["position"] == unlocked_at


def test_low_and_critical_battery(simlock, tmp_path):
    lock = simlock(calibrated=True)
    calibrated(lock)
    owner = pair_owner(lock, tmp_path)
    toggle_to(lock, "unlocked")
    red = scaled((255, 0, 0))

    # Low (< 20 %): 4 alkaline cells at 1.125 V each.
    lock.bench("battery 4.5")
    low = lock.wait_for(lambda s: s["battery"]["low"], timeout=10, what="battery low")
    assert low["battery"]["percent"] < 20 and not low["battery"]["critical"]
    assert ok(lock, owner, "status")["low"]
    frames = Record(lock, 10).finish().frames()
    check_upper_blinks(frames, 200, 300, 3, 5000, 10000, red)

    lock.bench("button press")
    lock.wait_lock("locked")
    time.sleep(1)                                       # the locking feedback ends
    frames = Record(lock, 10).finish().frames()
    check_upper_blinks(frames, 200, 300, 2, 10000, 10000, red)

    # Critical: the lock still locks and unlocks, but refuses to unlatch, saying why.
    lock.bench("battery 4.0")
    crit = lock.wait_for(lambda s: s["battery"]["critical"], timeout=10, what="battery critical")
    assert crit["battery"]["percent"] < 5
    assert ok(lock, owner, "status")["critical"]
    ok(lock, owner, "unlock")
    lock.wait_lock("unlocked")
    code, out, err = lockctl(lock, owner, "unlatch")
    assert code != 0 and out is None and "battery" in err, err
    assert lock.state()["lock"] == "unlocked"
    lock.bench("button press")
    lock.wait_lock("locked")


def test_factory_reset_requested_by_holding_the_button_at_power_on(simlock, tmp_path):
    lock = simlock(calibrated=True)
    calibrated(lock)
    owner = pair_owner(lock, tmp_path)
    before = toggle_to(lock, "locked")
    yellow = scaled((255, 200, 0))

    def boot_with_button_held():
        lock.bench("button down")
        lock.power_cycle()
        pending = lock.wait_for(lambda s: all_lit(yellow)(s["ring"]), timeout=8, what="reset pending shown")
        frames = Record(lock, 1.2).finish().frames()
        lock.bench("button up")
        lit = [t for t, ring in changes(frames) if all_lit(yellow)(ring)]
        assert len(lit) >= 2 and all(all_lit(yellow)(r) or r == [DARK] * RING_PIXELS for _, r in frames), \
            "reset pending blinks yellow: %s" % frames
        return pending

    # Without a confirming press: nothing happens.
    pending = boot_with_button_held()
    assert pending["lock"] == "locked"
    ring_dark(lock, timeout=8)                          # the confirmation window (5 s) has passed
    time.sleep(1)
    s = lock.state()
    assert s["lock"] == "locked" and s["position"] == before["position"] and not s["pairing"]
    assert ok(lock, owner, "status")["devices"] == 1

    # With one: the flash is wiped and the lock boots fresh.
    boot_with_button_held()
    time.sleep(0.5)
    lock.bench("button press")
    lock.wait_ready()
    fresh = lock.wait_for(lambda s: s["lock"] in ("uncalibrated", "calibrating"), timeout=10, what="relearning")
    calibrated(lock)
    assert lock.wait_for(lambda s: s["pairing"], timeout=10, what="pairing mode: no devices")["pairing"]
    code, out, err = lockctl(lock, owner, "status")
    assert code != 0 and "not paired" in err, err
    assert fresh["error"] is None
