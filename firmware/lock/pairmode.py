# Pairing mode: the window in which a new device may pair.
#
# Opened by the long button hold, or at boot when no device is paired. Closed by a successful pairing,
# a short press, or `timeout_ms` (default 60 s) after it opened. One pairing at a time: while a client is
# mid-exchange (it "holds" the window) any other client gets "busy". A failed exchange frees the window again.
#
#   PairMode(timeout_ms)  .active (bool)  .holder (who, while held)  .changed = callback(active) or None
#   .enter(now_ms)  .short_press(now_ms) -> closed it?  .tick(now_ms) -> timed out now?
#   .begin(who, now_ms) -> OK | NOT_PAIRING | BUSY  .end(who, success, now_ms)
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

# Table entries: next state * 4 + result.
_TO_OPEN = const(_OPEN * 4 + OK)
_TO_HELD = const(_HELD * 4 + OK)
_TO_CLOSED = const(_CLOSED * 4 + OK)
_STAY_CLOSED = const(_CLOSED * 4 + NOT_PAIRING)
_STAY_OPEN = const(_OPEN * 4 + NOT_PAIRING)
_STAY_BUSY = const(_HELD * 4 + BUSY)

# (state, event) -> entry, at _TABLE[state * 5 + event]. `begin` by the holder itself is handled before the
# table (it restarts its own exchange); `end` reaches the table only while HELD.
_TABLE = const((
    # enter   press        begin         end_ok        end_fail
    _TO_OPEN, _STAY_CLOSED, _STAY_CLOSED, _STAY_CLOSED, _STAY_CLOSED,  # closed
    _TO_OPEN, _TO_CLOSED,   _TO_HELD,     _STAY_OPEN,   _STAY_OPEN,    # open
    _TO_HELD, _TO_CLOSED,   _STAY_BUSY,   _TO_CLOSED,   _TO_OPEN,      # held
))


class PairMode:
    def __init__(self, timeout_ms=60000):
        self.timeout_ms = timeout_ms
        self.state = _CLOSED
        self.active = False     # state != _CLOSED, kept as a plain attribute for the many readers
        self.holder = None      # the client mid-exchange, while HELD
        self.opened_ms = 0
        self.changed = None     # optional callback(active: bool), e.g. to refresh the ring/advert

    def _fire(self, event):
        nxt = _TABLE[self.state * 5 + event]
        was = self.active
        self.state = nxt >> 2
        self.active = self.state != _CLOSED
        if self.state != _HELD:
            self.holder = None
        if self.changed and was != self.active:
            self.changed(self.active)
        return nxt & 3

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
        return got

    def end(self, who, success, now_ms):
        """The holder's exchange finished (or its connection went away: success=False)."""
        if self.state == _HELD and self.holder == who:
            self._fire(_END_OK if success else _END_FAIL)
        self.tick(now_ms)
