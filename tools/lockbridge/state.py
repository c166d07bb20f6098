"""What Home Assistant is told about a lock, as pure functions of what the lock answered.

`view(status)` maps a STATUS reply (lockctl's `Session.status()`) to the entity values; `Actions` decides the
"last action" and who did it. Today's lock does not say who moved the bolt, so `Actions` only knows what it can
know honestly: the actions this bridge asked for are its own; every other one is "not by this bridge". When the
lock's activity log lands (issue 12), its entries carry the actor, and they replace this inference.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable

# The bolt's states (firmware/lock/bolt.py) as HA's MQTT lock states; None = unknown (payload_reset).
HA_STATE = {
    "locked": "LOCKED",
    "locking": "LOCKING",
    "unlocked": "UNLOCKED",
    "unlocking": "UNLOCKING",
    "unlatching": "OPENING",
    "unlatched": "OPEN",
    "jammed": "JAMMED",
    "uncalibrated": None,
    "calibrating": None,
}
RESET = "None"  # HA's default payload_reset: the lock's state is unknown

# MQTT command payloads -> lockctl actions
COMMANDS = {"LOCK": "lock", "UNLOCK": "unlock", "OPEN": "unlatch"}
BUTTONS = {"lockngo": "lockngo", "calibrate": "calibrate"}

# The action a state change reveals, with the state it came from (None = from anywhere). A motion seen in
# passing ("unlocking") and one whose start the poll missed (locked -> unlocked, e.g. a hand turn) are the same
# action; the end of a motion ("unlocking" -> "unlocked") is none.
_STARTS = {"unlocking": "unlock", "locking": "lock", "unlatching": "unlatch", "calibrating": "calibrate",
           "jammed": "jam"}
_ARRIVALS = {"unlocked": ("unlock", ("locked", "jammed", "uncalibrated")),
             "locked": ("lock", ("unlocked", "jammed", "uncalibrated")),
             "unlatched": ("unlatch", ("locked", "unlocked", "jammed"))}
# What a command makes the lock do, in order (lock'n'go unlocks, waits its delay, locks again).
_EXPECT = {"lock": ["lock"], "unlock": ["unlock"], "unlatch": ["unlatch"], "lockngo": ["unlock", "lock"],
           "calibrate": ["calibrate"]}
_EXPECT_FIRST_S = 15.0   # the first move of an own command must begin within this (it begins at once)
_EXPECT_LATER_S = 660.0  # lock'n'go's lock follows its delay (at most 600 s)
_PAST = {"lock": "locked", "unlock": "unlocked", "unlatch": "opened (unlatched)", "calibrate": "calibrated",
         "jam": "jammed"}


def view(status: dict) -> dict:
    """Entity values from a STATUS reply."""
    raw = status["state"]
    return {
        "state": HA_STATE.get(raw) or RESET,
        "raw_state": raw,
        "battery": status.get("battery"),
        "battery_low": bool(status.get("low") or status.get("critical")),
        "battery_critical": bool(status.get("critical")),
        "jammed": raw == "jammed" or bool(status.get("jammed")),
        "jam": status.get("jam"),
        "version": status.get("version"),
    }


@dataclass
class Actions:
    """The last action on the lock and who did it, inferred from state changes and this bridge's commands."""
    bridge_name: str
    clock: Callable[[], float] = time.time
    last: dict | None = None
    _state: str | None = None
    _expect: list = field(default_factory=list)  # [(action, deadline)], this bridge's commands in flight

    def commanded(self, command: str, now: float) -> None:
        """This bridge's command was accepted by the lock: the moves it causes are the bridge's."""
        steps = _EXPECT.get(command, [])
        self._expect = [(a, now + (_EXPECT_FIRST_S if i == 0 else _EXPECT_LATER_S)) for i, a in enumerate(steps)]

    def observe(self, raw_state: str, now: float) -> dict | None:
        """Feed each polled state; returns the new last action when this state reveals one."""
        prev, self._state = self._state, raw_state
        if prev is None or prev == raw_state:
            return None
        action = _STARTS.get(raw_state)
        if action is None and raw_state in _ARRIVALS:
            name, sources = _ARRIVALS[raw_state]
            if prev in sources:
                action = name
        if action is None:
            return None
        self._expect = [(a, t) for a, t in self._expect if t >= now]
        steps = [a for a, _ in self._expect]
        # The bridge's own moves are motor moves, which a poll sees under way (they take about a second); an
        # arrival without the motion (a hand on the key) is never one of them.
        own = action in steps and raw_state in _STARTS
        if own:  # a step the lock skipped (lock'n'go on an unlocked door starts with its wait) is passed over
            del self._expect[:steps.index(action) + 1]
        else:
            self._expect = []  # something else happened first: the rest of our command is no longer ours
        if action == "jam":
            actor, text = None, "jammed"
        elif own:
            actor, text = self.bridge_name, "%s by %s" % (_PAST[action], self.bridge_name)
        else:
            actor, text = None, "%s (not by this bridge)" % _PAST[action]
        self.last = {"text": text, "action": action, "actor": actor,
                     "actor_kind": "bridge" if own else "unknown", "source": "observed",
                     "at": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(self.clock()))}
        return self.last
