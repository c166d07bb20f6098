# Pairing mode: the window in which a new device may pair.
#
# Opened by the long button hold, or at boot when no device is paired. Closed by a successful pairing,
# a short press, or TIMEOUT_MS after it opened. One pairing at a time: while a client is mid-exchange
# (it "holds" the window) any other client gets "busy". A failed exchange frees the window again.
from micropython import const

TIMEOUT_MS = const(60000)

CLOSED = const(0)
OPEN = const(1)
HELD = const(2)

OK = const(0)
NOT_PAIRING = const(1)
BUSY = const(2)

# (state, event) -> (next state, result). Events: enter, press, begin, end_ok, end_fail.
# `begin` by the holder itself is handled before the table (it restarts its own exchange).
_TABLE = {
    (CLOSED, "enter"): (OPEN, OK),
    (OPEN, "enter"): (OPEN, OK),
    (HELD, "enter"): (HELD, OK),
    (CLOSED, "press"): (CLOSED, NOT_PAIRING),
    (OPEN, "press"): (CLOSED, OK),
    (HELD, "press"): (CLOSED, OK),
    (CLOSED, "begin"): (CLOSED, NOT_PAIRING),
    (OPEN, "begin"): (HELD, OK),
    (HELD, "begin"): (HELD, BUSY),
    (HELD, "end_ok"): (CLOSED, OK),
    (HELD, "end_fail"): (OPEN, OK),
}


class PairMode:
    def __init__(self, timeout_ms=TIMEOUT_MS):
        self.timeout_ms = timeout_ms
        self.state = CLOSED
        self.holder = None
        self.opened_ms = 0
        self.changed = None  # optional callback(active: bool), e.g. to refresh the ring/advert

    @property
    def active(self):
        return self.state != CLOSED

    def _fire(self, event, now_ms, who=None):
        was = self.active
        nxt = _TABLE.get((self.state, event))
        if nxt is None:
            return NOT_PAIRING
        self.state, result = nxt
        if self.state == CLOSED:
            self.holder = None
        elif event == "begin" and result == OK:
            self.holder = who
        elif self.state == OPEN:
            self.holder = None
        if self.changed and was != self.active:
            self.changed(self.active)
        return result

    def tick(self, now_ms):
        """Close the window once it has been open TIMEOUT_MS; returns True if it closed now."""
        if self.active and now_ms - self.opened_ms >= self.timeout_ms:
            self._fire("press", now_ms)
            return True
        return False

    def enter(self, now_ms):
        """Open (or re-open, restarting the timeout) the pairing window."""
        self.opened_ms = now_ms
        return self._fire("enter", now_ms)

    def short_press(self, now_ms):
        """A short press while the window is open closes it; returns True if it did."""
        return self.active and self._fire("press", now_ms) == OK

    def begin(self, who, now_ms):
        """A client starts a pairing exchange: OK, NOT_PAIRING or BUSY."""
        self.tick(now_ms)
        if self.state == HELD and self.holder == who:
            return OK
        return self._fire("begin", now_ms, who)

    def end(self, who, success, now_ms):
        """The holder's exchange finished (or its connection went away: success=False)."""
        if self.state == HELD and self.holder == who:
            self._fire("end_ok" if success else "end_fail", now_ms)
        self.tick(now_ms)

    def remaining_ms(self, now_ms):
        return max(0, self.timeout_ms - (now_ms - self.opened_ms)) if self.active else 0
