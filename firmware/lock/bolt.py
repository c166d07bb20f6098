# The lock's state machine: calibration, actions, manual turns, jams. Pure: time and the sensed position
# are passed in; the caller issues the steps that tick() returns.
#
# API
#   b = Bolt(params, calibration=None, sensed=0, now_ms=0, settings=None, relock_ms=None)
#       relock_ms: a lock the bolt still owed when it last ran (its `relock`, kept by the shell across a
#               reboot): if it comes up unlocked, it locks that long after now.
#       params: MAX_SPEED, ACCEL, JAM_MARGIN_MS, STEPS_PER_REV, FULL_LOCK, UNLATCH_HOLD_MS (the board's);
#               optional UNLATCH_STEPS (unlocked -> unlatch stop, default STEPS_PER_REV // 4),
#               STALL_MS (no sensed progress while stepping that counts as a stall, default 250).
#       settings: auto_relock_s (0 = off), lockngo_s (default 20); read live, the shell may replace the dict.
#   b.request(action, now_ms, sensed, critical=False) -> None (accepted) | refusal code (nothing changed)
#       actions: ACTIONS; codes: "unknown_action", "uncalibrated", "busy", "already_locked",
#       "already_unlocked", "not_supported" (fulllock without FULL_LOCK), "battery_critical" (unlatch only)
#   b.tick(now_ms, sensed) -> int   signed motor steps to issue now; call every ~10 ms
#   b.state        one of the states, TABLE's keys
#   b.error        None | "jam" | "calibration_failed" | "calibration_invalid" (cleared by an accepted request)
#   b.last_cause   why the state was last entered: "boot", "request", "auto_relock", "manual", "stall",
#                  "timeout", "calibration"; b.by_hand is last_cause == "manual"
#   b.seq          +1 whenever state or last_cause changes
#   b.calibration  {"locked", "unlocked", "unlatch"[, "fulllock"]: positions} | None
#   b.calibration_dirty   True after a calibration succeeded; the shell saves it and clears the flag
#   b.moving       True while tick() may return steps (the shell may power the stepper off otherwise)
#   b.relock       None, or how long (ms, counted from when it began) the bolt means to wait before it locks
#                  on its own: set by an accepted lock'n'go until that ends at rest, and while an unlocked
#                  bolt waits to relock until it comes to rest again. The shell keeps it in flash.
#   b.pending_lock(now_ms) -> None | ("lockngo" | "auto_relock", ms until the bolt locks by itself)
# Attributes are for reading only. Positions are steps on the sensor's absolute axis, larger = towards
# unlatch (docs/DESIGN.md). See docs/DRIVE.md for the transitions table and the calibration procedure.
from micropython import const

from .motion import Trapezoid

ACTIONS = ("lock", "unlock", "unlatch", "lockngo", "fulllock", "calibrate")  # a constant: in ROM when frozen

_SETTLE_MS = const(100)  # after the profile, a sensor quiet this long means steps were lost, not late
_REPLANS = const(2)  # lost-step recoveries per leg before it counts as a jam
# A tick this late means the controller itself stalled (GC, a flash write, the scheduler): the motor got no
# steps meanwhile, so the gap is neither progress nor a stall and the motion resumes where it stood. Catching
# up instead would be a burst the motor cannot follow: it loses those steps, and a hand turning the key its
# way then looks like the motor catching up, so it is not felt. Three of the shell's 10 ms ticks.
_LATE_MS = const(30)

# Row per state, one character per ACTIONS entry: "-" accepted; refused as "*" "busy", "!" "uncalibrated",
# "@" already there ("already_locked" in locked, "already_unlocked" in unlocked). Characters that are
# built-in qstrs and short rows cost little heap. An "already" refusal stands only while the bolt rests
# exactly there; a hand-turned half position or a pending lock'n'go moves. No "??" in a row: frozen
# builds write strings into C, where that starts a trigraph.
TABLE = {
    "uncalibrated": "!!!!!-",
    "calibrating": "******",
    "locked": "@-----",
    "unlocking": "******",
    "unlocked": "-@----",
    "locking": "******",
    "unlatching": "******",
    "unlatched": "******",
    "jammed": "------",
}

# Leg kinds. _MOVE: to a calibration key; _WAIT: a board param (ms) or else a setting (s, default 20);
# _SEEK: +1 or -1, drive until a stall (an end stop); _LEARN: derive the positions from the two stops.
_MOVE = const(0)
_WAIT = const(1)
_SEEK = const(2)
_LEARN = const(3)
_AT_REST = (_WAIT, None, None)  # no plan: waits only for the relock time
# A plan is the legs it runs, in order; a leg is (kind, argument, state): its kind, its argument (see the
# kinds above) and the state the bolt is in meanwhile. Constant tuples: in ROM when frozen.
_PLANS = {
    "lock": ((_MOVE, "locked", "locking"),),
    "fulllock": ((_MOVE, "fulllock", "locking"),),
    "unlock": ((_MOVE, "unlocked", "unlocking"),),
    "unlatch": ((_MOVE, "unlatch", "unlatching"), (_WAIT, "UNLATCH_HOLD_MS", "unlatched"),
                (_MOVE, "unlocked", "unlatched")),
    "lockngo": ((_MOVE, "unlocked", "unlocking"), (_WAIT, "lockngo_s", "unlocked"), (_MOVE, "locked", "locking")),
    "calibrate": ((_SEEK, 1, "calibrating"), (_SEEK, -1, "calibrating"), (_LEARN, 0, "calibrating"),
                  (_MOVE, "locked", "calibrating")),
}


class Bolt:
    def __init__(self, params, calibration=None, sensed=0, now_ms=0, settings=None, relock_ms=None):
        self.params = params
        self.settings = settings if settings is not None else {}
        self._tol = max(2, params["STEPS_PER_REV"] // 256)  # sensor/step slack; more is a real movement
        self.state = "uncalibrated"
        self.error = None  # type: str | None
        self.last_cause = "boot"
        self.by_hand = False
        self.moving = False
        self.seq = 0
        self.calibration = None  # type: dict | None
        self.calibration_dirty = False
        self.relock = None  # type: int | None
        self._plan = ()  # type: tuple  # the running leg and those after it (see _PLANS); () = at rest
        self._traj = None  # type: Trapezoid | None
        self._cmd = sensed  # where the motor has been told to be
        # At rest or waiting, where the bolt rests (a hand turn moves it); in a motion, the furthest sensed
        # position in its direction.
        self._mark = sensed
        self._progress_ms = now_ms  # when the motion last made progress
        # When the running leg's clock runs out: a wait ends, a motion counts as jammed; at rest, when an
        # unlocked bolt relocks (None: never).
        self._until = None  # type: int | None
        self._ticked_ms = now_ms
        self._replans = 0  # lost-step recoveries in this leg
        self._found = []  # type: list  # end stops found by this calibration's seeks
        if calibration is not None and not self._adopt(calibration):
            self.error = "calibration_invalid"
        self._next(now_ms, sensed, "boot")
        if relock_ms is not None and self.state == "unlocked":
            # A lock'n'go or relock cut short by a reset: owed from now, never later than either wait.
            if self.relock is None or relock_ms < self.relock:
                self.relock = relock_ms
                self._until = now_ms + relock_ms

    # --- requests ----------------------------------------------------------------------------------
    def request(self, action, now_ms, sensed, critical=False):
        if action not in ACTIONS:
            return "unknown_action"
        state = self.state
        cell = TABLE[state][ACTIONS.index(action)]
        if cell == "*":
            return "busy"
        if cell == "!":
            return "uncalibrated"
        plan = _PLANS[action]
        if cell == "-":
            if action == "fulllock":
                if not self.params["FULL_LOCK"]:
                    return "not_supported"
                if state == "locked":
                    cell = "@"  # if it rests at full lock already
            if action == "unlatch" and critical:
                return "battery_critical"
        if cell == "@":
            # stands only while the bolt rests at the goal (below locked is locked too: full lock)
            _, key, _ = plan[0]  # the goal of its first leg
            pos = self.calibration[key] if self.calibration else 0
            if not self._plan and (abs(sensed - pos) if key == "unlocked" else sensed - pos) <= self._tol:
                return "already_" + state
        self.error = None
        self._plan = plan
        self._found = []
        self.relock = self._wait_ms("lockngo_s") if action == "lockngo" else None
        self._next(now_ms, sensed, "calibration" if action == "calibrate" else "request")
        return None

    def pending_lock(self, now_ms):
        """(cause, ms) until the bolt locks by itself: ("lockngo", ms) in a lock'n'go wait, ("auto_relock",
        ms) at rest unlocked with auto-relock on; None otherwise. For display only."""
        until = self._until
        if until is None or self.moving:
            return None
        plan = self._plan
        if plan and plan[1] == "lockngo_s":
            return ("lockngo", max(0, until - now_ms))
        if not plan and self.state == "unlocked":
            return ("auto_relock", max(0, until - now_ms))
        return None

    # --- the periodic step -------------------------------------------------------------------------
    def tick(self, now_ms, sensed):
        plan = self._plan
        kind, _, _ = plan[0] if plan else _AT_REST
        tol = self._tol
        until = self._until
        if kind == _WAIT:  # at rest or waiting
            if abs(sensed - self._mark) <= tol:
                if until is not None and now_ms >= until:
                    if plan:
                        self._plan = plan[1:]  # the wait is over
                        self._next(now_ms, sensed, self.last_cause)
                    else:
                        self._plan = _PLANS["lock"]
                        self._next(now_ms, sensed, "auto_relock")
                return 0
            if not plan:
                # turned by hand (or a key from outside) while at rest: follow it, never fight it
                self._mark = sensed
                c = self.calibration
                if c is not None and self.state != (
                        "locked" if sensed < (c["locked"] + c["unlocked"]) // 2 else "unlocked"):
                    self.error = None
                    self._next(now_ms, sensed, "manual")
                return 0
            reason = "manual"  # a hand on the key during a wait
        else:
            traj = self._traj
            assert traj and until is not None
            late = now_ms - self._ticked_ms
            self._ticked_ms = now_ms
            if late > _LATE_MS:
                traj.t0_ms += late
                traj.end_ms += late
                self._progress_ms += late
                until += late
                self._until = until
            d = traj.dir
            cmd = self._cmd
            target = traj.target
            if (sensed - self._mark) * d > 0:
                self._mark = sensed
                self._progress_ms = now_ms
            arrived = now_ms >= traj.end_ms and cmd == target  # all steps issued
            if (self._mark - sensed) * d > tol or (sensed - cmd) * d > tol:
                reason = "manual"  # the cylinder moves against the motor, or ahead of it: a hand on the key
            elif (cmd - sensed) * d > tol and now_ms - self._progress_ms >= self.params.get("STALL_MS", 250):
                reason = "stall"
            elif arrived and abs(sensed - target) <= tol:
                if kind == _SEEK:
                    reason = "calibration"  # travelled the whole range: no end stop
                else:
                    self._replans = 0
                    self._plan = plan[1:]
                    self._next(now_ms, sensed, self.last_cause)
                    return 0
            elif (arrived and kind == _MOVE and self._replans < _REPLANS
                  and now_ms - self._progress_ms >= _SETTLE_MS):
                # the motor lost steps (asked faster than it could go): the leg again fetches the rest
                self._replans += 1
                self._next(now_ms, sensed, self.last_cause)
                return 0
            elif now_ms >= until:
                reason = "timeout"
            else:
                steps = traj.at(now_ms) - cmd
                self._cmd = cmd + steps
                return steps
        # Stop at once: a stall or timeout (a jam; in a seek, the end stop), a hand on the key, or a
        # calibration that found no end stop.
        self._replans = 0
        state = None
        if reason == "stall" or reason == "timeout":
            if kind == _SEEK:
                self._found.append(sensed)  # an end stop
                self._plan = plan[1:]
                self._next(now_ms, sensed, self.last_cause)
                return 0
            self.error = "jam"
            state = "jammed"
        elif self.state == "calibrating":
            self.error = "calibration_failed"
            reason = "calibration"
        self._plan = ()
        self._next(now_ms, sensed, reason, state)
        return 0

    # --- plans -------------------------------------------------------------------------------------
    def _next(self, now_ms, sensed, reason, state=None):
        """Begin the plan's first leg, skipping those already done; with none left, come to rest in `state`,
        else in the one the sensor gives, never a remembered one. Either way the state is entered for
        `reason`."""
        params = self.params
        c = self.calibration
        while self._plan:
            kind, arg, state = self._plan[0]
            if kind == _LEARN:
                # derive the positions from the two end stops the seeks found
                spr = params["STEPS_PER_REV"]
                backoff = max(2 * self._tol, spr // 64)  # rest this far off a hard stop
                if len(self._found) == 2:
                    high, low = self._found
                    unlatch = high - backoff
                    unlocked = unlatch - params.get("UNLATCH_STEPS", spr // 4)
                    full = params["FULL_LOCK"]
                    c = {"unlatch": unlatch, "unlocked": unlocked,
                         "locked": unlocked - spr if full else low + backoff}
                    if full:
                        c["fulllock"] = low + backoff
                    if self._adopt(c):
                        self.calibration_dirty = True
                        self._plan = self._plan[1:]
                        continue
                    c = self.calibration
                self.error = "calibration_failed"
                self._plan = ()
                reason = "calibration"
                state = None
                continue
            if kind == _WAIT:
                self._until = now_ms + self._wait_ms(arg)
            else:
                vmax = params["MAX_SPEED"]
                if kind == _SEEK:
                    target = sensed + arg * 3 * params["STEPS_PER_REV"]
                    vmax //= 2
                else:
                    target = c[arg] if c else sensed
                    if abs(sensed - target) <= self._tol:
                        self._plan = self._plan[1:]
                        state = None
                        continue
                self._traj = t = Trapezoid(sensed, target, max(1, vmax), params["ACCEL"], now_ms)
                self._until = t.end_ms + params["JAM_MARGIN_MS"]
                self._ticked_ms = self._progress_ms = now_ms
                self._cmd = sensed
            self.moving = kind != _WAIT
            break
        else:
            self._traj = None
            self.moving = False
            if state is None:
                state = "uncalibrated"
                if c is not None:
                    # locked only below the middle of the locking turn (full lock included)
                    state = "locked" if sensed < (c["locked"] + c["unlocked"]) // 2 else "unlocked"
            relock_s = self.settings.get("auto_relock_s", 0)
            self.relock = relock_s * 1000 if state == "unlocked" and relock_s else None
            self._until = None if self.relock is None else now_ms + self.relock
        self._mark = sensed
        if state != self.state or reason != self.last_cause:
            self.seq += 1
        self.state = state
        self.last_cause = reason
        self.by_hand = reason == "manual"

    def _wait_ms(self, name):
        ms = self.params.get(name)
        return ms if ms is not None else self.settings.get(name, 20) * 1000

    # --- positions and states ----------------------------------------------------------------------
    def _adopt(self, calibration):
        """Take a calibration if it fits the board: all positions, in order, far enough apart."""
        full = self.params["FULL_LOCK"]
        try:
            lo, locked, unlocked, unlatch = positions = (calibration["fulllock"] if full else calibration["locked"],
                calibration["locked"], calibration["unlocked"], calibration["unlatch"])
            for p in positions:
                if not isinstance(p, int):
                    return False
        except (KeyError, TypeError):
            return False
        quarter = self.params["STEPS_PER_REV"] // 4
        if (locked - lo >= quarter or not full) and unlocked - locked >= quarter and unlatch > unlocked + self._tol:
            self.calibration = calibration
            return True
        return False
