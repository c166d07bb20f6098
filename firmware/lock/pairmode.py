# Pairing mode: the window in which a new device may pair.
#
# Opened by the long button hold, or at boot when no device is paired. Closed by a successful pairing,
# a short press, or `timeout_ms` (default 60 s) after it opened. One pairing at a time: while a client is
# mid-exchange (it "holds" the window) any other client gets "busy". A failed exchange frees the window again.
# A holder has `confirm_ms` (default 5 s) from its hello to confirm: `overdue` names one that stalled, and
# the protocol ends its exchange (its counted guess stands as wrong), so one hello cannot hold the window.
#
#   PairMode(timeout_ms, confirm_ms)  .active (bool)  .holder (who, while held)  .changed = callback or None
#   .enter(now_ms)  .short_press(now_ms) -> closed it?  .tick(now_ms) -> timed out now?
#   .begin(who, now_ms) -> OK | NOT_PAIRING | BUSY  .end(who, success, now_ms)  .overdue(now_ms) -> who | None
from micropython import const

OK = const(0)
NOT_PAIRING = const(1)
BUSY = const(2)

_CLOSED = const(0)
_OPEN = const(1)
_HELD = const(2)

_ENTER = const(0)
_PRESS = const(1)
_BEGIN = const(2)
_END_OK = const(3)
_END_FAIL = const(4)

# (next state, result) for each state and event: _TABLE[state][event]. `begin` by the holder itself is
# handled before the table (it restarts its own exchange); `end` reaches the table only while HELD.
_TABLE = (
    (   # closed: only the long hold (enter) opens it
        (_OPEN, OK),                # enter
        (_CLOSED, NOT_PAIRING),     # press
        (_CLOSED, NOT_PAIRING),     # begin
        (_CLOSED, NOT_PAIRING),     # end ok
        (_CLOSED, NOT_PAIRING),     # end failed
    ),
    (   # open: waiting for a client
        (_OPEN, OK),                # enter: stays open (the timeout restarts)
        (_CLOSED, OK),              # press
        (_HELD, OK),                # begin: this client holds the window
        (_OPEN, NOT_PAIRING),       # end ok (nobody held it)
        (_OPEN, NOT_PAIRING),       # end failed
    ),
    (   # held: one client mid-exchange
        (_HELD, OK),                # enter
        (_CLOSED, OK),              # press
        (_HELD, BUSY),              # begin by another client
        (_CLOSED, OK),              # end ok: paired, the window closes
        (_OPEN, OK),                # end failed: open for the next client
    ),
)


class PairMode:
    def __init__(self, timeout_ms=60000, confirm_ms=5000):
        self.timeout_ms = timeout_ms
        self.confirm_ms = confirm_ms
        self.held_ms = 0        # when the holder's exchange began
        self.state = _CLOSED
        self.active = False     # state != _CLOSED, kept as a plain attribute for the many readers
        self.holder = None      # the client mid-exchange, while HELD
        self.opened_ms = 0
        self.changed = None     # optional callback(active: bool), e.g. to refresh the ring/advert

    def _fire(self, event):
        self.state, result = _TABLE[self.state][event]
        was = self.active
        self.active = self.state != _CLOSED
        if self.state != _HELD:
            self.holder = None
        if self.changed and was != self.active:
            self.changed(self.active)
        return result

    def tick(self, now_ms):
        """Close the window once it has been open `timeout_ms`; returns True if it closed now."""
        if self.active and now_ms - self.opened_ms >= self.timeout_ms:
            self._fire(_PRESS)
            return True
        return False

    def enter(self, now_ms):
        """Open (or re-open, restarting the timeout) the pairing window."""
        self.opened_ms = now_ms
        return self._fire(_ENTER)

    def short_press(self, now_ms):
        """A short press while the window is open closes it; returns True if it did."""
        return self.active and self._fire(_PRESS) == OK

    def begin(self, who, now_ms):
        """A client starts a pairing exchange: OK, NOT_PAIRING or BUSY."""
        self.tick(now_ms)
        if self.state == _HELD and self.holder == who:
            return OK
        got = self._fire(_BEGIN)
        if got == OK:
            self.holder = who
            self.held_ms = now_ms
        return got

    def overdue(self, now_ms):
        """The holder, if its exchange has run past `confirm_ms` without ending; else None."""
        if self.state == _HELD and now_ms - self.held_ms >= self.confirm_ms:
            return self.holder
        return None

    def end(self, who, success, now_ms):
        """The holder's exchange finished (or its connection went away: success=False)."""
        if self.state == _HELD and self.holder == who:
            self._fire(_END_OK if success else _END_FAIL)
        self.tick(now_ms)
