# The lock's state machine: calibration, actions, manual turns, jams. Pure: time and the sensed position
# are passed in; the caller issues the steps that tick() returns.
#
# API
#   b = Bolt(params, calibration=None, sensed=0, now_ms=0, settings=None)
#       params: MAX_SPEED, ACCEL, JAM_MARGIN_MS, STEPS_PER_REV, FULL_LOCK, UNLATCH_HOLD_MS (the board's);
#               optional UNLATCH_STEPS (unlocked -> unlatch stop, default STEPS_PER_REV // 4),
#               STALL_MS (no sensed progress while stepping that counts as a stall, default 250).
#       settings: auto_relock_s (0 = off), lockngo_s (default 20); read live, the shell may replace the dict.
#   b.request(action, now_ms, sensed, critical=False) -> None (accepted) | refusal code (nothing changed)
#       actions: ACTIONS; codes: "unknown_action", "uncalibrated", "busy", "already_locked",
#       "already_unlocked", "not_supported" (fulllock without FULL_LOCK), "battery_critical" (unlatch only)
#   b.tick(now_ms, sensed) -> int   signed motor steps to issue now; call every ~10 ms
#   b.state        one of STATES
#   b.error        None | "jam" | "calibration_failed" | "calibration_invalid" (cleared by an accepted request)
#   b.last_cause   why the state was last entered: "boot", "request", "auto_relock", "manual", "stall",
#                  "timeout", "calibration"; b.by_hand is last_cause == "manual"
#   b.seq          +1 whenever state or last_cause changes
#   b.calibration  {"locked", "unlocked", "unlatch"[, "fulllock"]: positions} | None
#   b.calibration_dirty   True after a calibration succeeded; the shell saves it and clears the flag
#   b.moving       True while tick() may return steps (the shell may power the stepper off otherwise)
# Positions are steps on the sensor's absolute axis, larger = towards unlatch (docs/DESIGN.md).
# See docs/DRIVE.md for the transitions table and the calibration procedure.
from .motion import Trapezoid

STATES = ("uncalibrated", "calibrating", "locked", "unlocking", "unlocked", "locking", "unlatching",
          "unlatched", "jammed")
ACTIONS = ("lock", "unlock", "unlatch", "lockngo", "fulllock", "calibrate")

_SETTLE_MS = 100  # after the profile, a sensor quiet this long means steps were lost, not late
_REPLANS = 2  # lost-step recoveries per leg before it counts as a jam
# A tick this late means the controller itself stalled (GC, a flash write, the scheduler): the motor got no
# steps meanwhile, so the gap is neither progress nor a stall and the motion resumes where it stood.
_LATE_MS = 100

_OK = None
_BUSY = ("busy",) * 6
_UNCAL = "uncalibrated"
# Row per state, one cell per ACTIONS entry: None = accepted, else the refusal. An "already_*" refusal
# stands only while the bolt rests exactly there; a hand-turned half position or a pending lock'n'go moves.
TABLE = {
    "uncalibrated": (_UNCAL, _UNCAL, _UNCAL, _UNCAL, _UNCAL, _OK),
    "calibrating": _BUSY,
    "locked": ("already_locked", _OK, _OK, _OK, _OK, _OK),
    "unlocking": _BUSY,
    "unlocked": (_OK, "already_unlocked", _OK, _OK, _OK, _OK),
    "locking": _BUSY,
    "unlatching": _BUSY,
    "unlatched": _BUSY,
    "jammed": (_OK, _OK, _OK, _OK, _OK, _OK),
}

# Plans: legs run in order. ("move", calibration key, state while moving), ("wait", settings key or ms,
# state while waiting), ("seek", direction, ...) drives until a stall, ("learn", 0, ...) derives positions.
_PLANS = {
    "lock": (("move", "locked", "locking"),),
    "fulllock": (("move", "fulllock", "locking"),),
    "unlock": (("move", "unlocked", "unlocking"),),
    "unlatch": (("move", "unlatch", "unlatching"), ("wait", "UNLATCH_HOLD_MS", "unlatched"),
                ("move", "unlocked", "unlatched")),
    "lockngo": (("move", "unlocked", "unlocking"), ("wait", "lockngo_s", "unlocked"),
                ("move", "locked", "locking")),
    "calibrate": (("seek", 1, "calibrating"), ("seek", -1, "calibrating"), ("learn", 0, "calibrating"),
                  ("move", "locked", "calibrating")),
}


class Bolt:
    def __init__(self, params, calibration=None, sensed=0, now_ms=0, settings=None):
        self.params = params
        self.settings = settings if settings is not None else {}
        spr = params["STEPS_PER_REV"]
        self._spr = spr
        self._full = bool(params["FULL_LOCK"])
        self._tol = max(2, spr // 256)  # sensor/step slack; more than this is a real movement
        self._backoff = max(2 * self._tol, spr // 64)  # rest this far off a hard stop
        self._unlatch_steps = params.get("UNLATCH_STEPS", spr // 4)
        self._stall_ms = params.get("STALL_MS", 250)
        self.state = "uncalibrated"
        self.error = None  # type: str | None
        self.last_cause = "boot"
        self.seq = 0
        self.calibration = None  # type: dict | None
        self.calibration_dirty = False
        self._plan = []  # type: list
        self._leg = None  # type: tuple | None
        self._cause = "boot"
        self._traj = None  # type: Trapezoid | None
        self._cmd = sensed  # where the motor has been told to be
        self._best = sensed  # furthest sensed position in the motion's direction
        self._progress_ms = now_ms
        self._rest = sensed  # where the bolt was last known to rest (manual turns move it)
        self._until = 0
        self._deadline_ms = 0  # a motion not at its target by then is jammed
        self._ticked_ms = now_ms
        self._replans = 0
        self._relock_ms = None  # type: int | None
        self._found = []  # type: list
        if calibration is not None:
            if self._valid(calibration):
                self.calibration = calibration
            else:
                self.error = "calibration_invalid"
        self._settle(now_ms, sensed, "boot")

    @property
    def by_hand(self):
        return self.last_cause == "manual"

    @property
    def moving(self):
        return self._leg is not None and self._leg[0] in ("move", "seek")

    # --- requests ----------------------------------------------------------------------------------
    def request(self, action, now_ms, sensed, critical=False):
        if action not in ACTIONS:
            return "unknown_action"
        code = TABLE[self.state][ACTIONS.index(action)]
        if code is not None and not code.startswith("already"):
            return code
        if action == "fulllock" and not self._full:
            return "not_supported"
        if action == "unlatch" and critical:
            return "battery_critical"
        if action == "fulllock" and self.state == "locked" and self._resting_at("fulllock", sensed):
            return "already_locked"
        if code is not None and self._resting_at(_PLANS[action][0][1], sensed):
            return code
        self.error = None
        self._start(action, "calibration" if action == "calibrate" else "request", now_ms, sensed)
        return None

    def _resting_at(self, key, sensed):
        if self._leg is not None:
            return False
        pos = self.calibration[key] if self.calibration else 0
        if key in ("locked", "fulllock"):
            return sensed <= pos + self._tol  # full lock counts as locked
        return abs(sensed - pos) <= self._tol

    # --- the periodic step -------------------------------------------------------------------------
    def tick(self, now_ms, sensed):
        leg = self._leg
        if leg is None:
            self._idle(now_ms, sensed)
            return 0
        if leg[0] == "wait":
            if abs(sensed - self._rest) > self._tol:
                self._interrupted(now_ms, sensed)
            elif now_ms >= self._until:
                self._next(now_ms, sensed)
            return 0
        return self._drive(now_ms, sensed)

    def _idle(self, now, sensed):
        if abs(sensed - self._rest) > self._tol:
            # turned by hand (or a key from outside): follow it, never fight it
            self._rest = sensed
            if self.calibration is not None:
                new = self._classify(sensed)
                if new != self.state:
                    self.error = None
                    self._settle(now, sensed, "manual")
            return
        if self._relock_ms is not None and now >= self._relock_ms:
            self._start("lock", "auto_relock", now, sensed)

    def _drive(self, now, sensed):
        traj = self._traj
        assert traj is not None
        late = now - self._ticked_ms
        self._ticked_ms = now
        if late > _LATE_MS:
            traj.delay(late)
            self._progress_ms += late
            self._deadline_ms += late
        d = traj.dir
        if (sensed - self._best) * d > 0:
            self._best = sensed
            self._progress_ms = now
        if (self._best - sensed) * d > self._tol or (sensed - self._cmd) * d > self._tol:
            # the cylinder moves against the motor, or ahead of it: a hand on the key
            self._interrupted(now, sensed)
            return 0
        if (self._cmd - sensed) * d > self._tol and now - self._progress_ms >= self._stall_ms:
            self._stalled(now, sensed, "stall")
            return 0
        if traj.done(now) and self._cmd == traj.target:
            seek = self._leg is not None and self._leg[0] == "seek"
            if abs(sensed - traj.target) <= self._tol:
                if seek:
                    self._calibration_failed(now, sensed)  # travelled the whole range: no end stop
                else:
                    self._next(now, sensed)
                return 0
            if not seek and self._replans < _REPLANS and now - self._progress_ms >= _SETTLE_MS:
                # the motor lost steps (asked faster than it could go): a new profile fetches the rest
                self._replans += 1
                self._profile(sensed, traj.target, self.params["MAX_SPEED"], now)
                return 0
        if now >= self._deadline_ms:
            self._stalled(now, sensed, "timeout")
            return 0
        steps = traj.at(now) - self._cmd
        self._cmd += steps
        return steps

    # --- plans -------------------------------------------------------------------------------------
    def _start(self, action, cause, now, sensed):
        self._plan = list(_PLANS[action])
        self._cause = cause
        self._relock_ms = None
        self._found = []
        self._next(now, sensed)

    def _next(self, now, sensed):
        while self._plan:
            if self._begin(self._plan.pop(0), now, sensed):
                return
        self._leg = None
        self._traj = None
        self._settle(now, sensed, self._cause)

    def _begin(self, leg, now, sensed):
        """Start one leg; False when it is already complete."""
        kind, arg, label = leg
        self._rest = sensed
        if kind == "learn":
            if not self._learn():
                self._calibration_failed(now, sensed)
                return True
            return False
        if kind == "wait":
            ms = self.params.get(arg)
            if ms is None:
                ms = self.settings.get(arg, 20) * 1000
            self._until = now + ms
        else:
            if kind == "seek":
                target = sensed + arg * 3 * self._spr
                vmax = self.params["MAX_SPEED"] // 2
            else:
                target = self.calibration[arg] if self.calibration else sensed
                vmax = self.params["MAX_SPEED"]
                if abs(sensed - target) <= self._tol:
                    return False
            self._replans = 0
            self._profile(sensed, target, vmax, now)
        self._leg = leg
        self._enter(label, self._cause)
        return True

    def _profile(self, sensed, target, vmax, now):
        self._traj = t = Trapezoid(sensed, target, max(1, vmax), self.params["ACCEL"], now)
        self._deadline_ms = t.end_ms + self.params["JAM_MARGIN_MS"]
        self._ticked_ms = now
        self._cmd = sensed
        self._best = sensed
        self._progress_ms = now

    def _stalled(self, now, sensed, why):
        leg = self._leg
        if leg is not None and leg[0] == "seek":
            self._found.append(sensed)  # an end stop
            self._next(now, sensed)
            return
        self._stop(sensed)
        self.error = "jam"
        self._enter("jammed", why)

    def _interrupted(self, now, sensed):
        if self.state == "calibrating":
            self._calibration_failed(now, sensed)
            return
        self._stop(sensed)
        self._settle(now, sensed, "manual")

    def _calibration_failed(self, now, sensed):
        self._stop(sensed)
        self.error = "calibration_failed"
        self._settle(now, sensed, "calibration")

    def _stop(self, sensed):
        self._plan = []
        self._leg = None
        self._traj = None
        self._rest = sensed

    # --- positions and states ----------------------------------------------------------------------
    def _learn(self):
        if len(self._found) != 2:
            return False
        high, low = self._found
        unlatch = high - self._backoff
        unlocked = unlatch - self._unlatch_steps
        cal = {"unlatch": unlatch, "unlocked": unlocked}
        if self._full:
            cal["fulllock"] = low + self._backoff
            cal["locked"] = unlocked - self._spr
        else:
            cal["locked"] = low + self._backoff
        if not self._valid(cal):
            return False
        self.calibration = cal
        self.calibration_dirty = True
        return True

    def _valid(self, cal):
        try:
            lo = cal["fulllock"] if self._full else cal["locked"]
            pos = (lo, cal["locked"], cal["unlocked"], cal["unlatch"])
            for p in pos:
                if not isinstance(p, int):
                    return False
        except (KeyError, TypeError):
            return False
        quarter = self._spr // 4
        gap_full = pos[1] - pos[0] >= quarter if self._full else True
        return gap_full and pos[2] - pos[1] >= quarter and pos[3] > pos[2] + self._tol

    def _classify(self, sensed):
        c = self.calibration
        if c is None:
            return "uncalibrated"
        # the bolt counts as locked only past the middle of the locking turn
        return "locked" if sensed < (c["locked"] + c["unlocked"]) // 2 else "unlocked"

    def _settle(self, now, sensed, cause):
        """Come to rest: the state is what the sensor says, never a remembered one."""
        self._rest = sensed
        self._enter(self._classify(sensed), cause)
        relock_s = self.settings.get("auto_relock_s", 0)
        if self.state == "unlocked" and relock_s:
            self._relock_ms = now + relock_s * 1000

    def _enter(self, state, cause):
        if state != self.state or cause != self.last_cause:
            self.seq += 1
        self.state = state
        self.last_cause = cause
        self._relock_ms = None
