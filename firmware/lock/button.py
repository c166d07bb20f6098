# Button classifier: debounced presses -> "short", "double", "long", and the held-at-power-on factory reset
# ("reset_request", then "reset_confirm" or "reset_cancel").
#
# API
#   b = Button(now_ms, pressed_at_boot)
#   b.feed(now_ms, pressed) -> [events]   the raw level, as often as the shell reads it
#   b.poll(now_ms) -> [events]            timeouts (call every ~10 ms even without feed)
#   b.pressed                             the debounced level
# Timings (ms): a level counts once stable for _DEBOUNCE_MS, dated from its first stable sample.
#   short:  press shorter than _SHORT_MAX_MS, then no second press within _DOUBLE_GAP_MS of the release;
#           emitted when that gap runs out.
#   double: a second press starting within _DOUBLE_GAP_MS of a short press's release; emitted at its
#           (debounced) press; that press then gives nothing else.
#   long:   emitted the moment a press has lasted _LONG_MS (not at release); a press between _SHORT_MAX_MS
#           and _LONG_MS is nothing.
#   reset_request: pressed at boot and still held _RESET_HOLD_MS after boot; emitted at that moment.
#   reset_confirm: a press starting within _RESET_CONFIRM_MS of releasing the reset hold.
#   reset_cancel:  no such press in time. Released before _RESET_HOLD_MS: nothing at all.
from micropython import const

_DEBOUNCE_MS = const(30)
_SHORT_MAX_MS = const(1000)
_DOUBLE_GAP_MS = const(400)
_LONG_MS = const(5000)
_RESET_HOLD_MS = const(3000)
_RESET_CONFIRM_MS = const(5000)

# phases
_IDLE = const(0)
_DOWN = const(1)  # a press that may become short or long
_GAP = const(2)  # after a short press, waiting for a second one
_SPENT = const(3)  # a press whose outcome is already emitted; waits for release
_BOOT_HOLD = const(4)  # held since power-on, not yet long enough
_RESET_HELD = const(5)  # reset requested, still held
_RESET_WAIT = const(6)  # reset requested and released: waiting for the confirming press


class Button:
    def __init__(self, now_ms, pressed_at_boot):
        p = bool(pressed_at_boot)
        self.pressed = p
        self._edge_ms = None  # type: int | None  # since when the raw level differs from `pressed`
        self._phase = _BOOT_HOLD if p else _IDLE
        self._since = now_ms  # when the current phase's clock started

    def feed(self, now_ms, pressed):
        if bool(pressed) == self.pressed:
            self._edge_ms = None  # back before it counted: a bounce
        elif self._edge_ms is None:
            self._edge_ms = now_ms
        return self.poll(now_ms)

    def poll(self, now_ms):
        events = []  # type: list
        while True:
            # Deadlines that pass before a pending edge come first; an unconfirmed edge holds back any
            # deadline after it.
            t = self._edge_ms
            if t is None:
                t = now_ms
            # the phase's deadline: how long after _since, the event, the next phase (one statement
            # each: a constant tuple's strings would each be a heap object)
            phase = self._phase
            ms = -1
            if phase == _DOWN:
                ms = _LONG_MS
                event = "long"
                nxt = _SPENT
            elif phase == _GAP:
                ms = _DOUBLE_GAP_MS
                event = "short"
                nxt = _IDLE
            elif phase == _BOOT_HOLD:
                ms = _RESET_HOLD_MS
                event = "reset_request"
                nxt = _RESET_HELD
            elif phase == _RESET_WAIT:
                ms = _RESET_CONFIRM_MS
                event = "reset_cancel"
                nxt = _IDLE
            if ms >= 0 and t >= self._since + ms:
                events.append(event)
                self._phase = phase = nxt
                self._since += ms
            if self._edge_ms is None or now_ms - t < _DEBOUNCE_MS:
                return events
            # the edge is confirmed, at t
            self._edge_ms = None
            self.pressed = down = not self.pressed
            if down:
                if phase == _IDLE:
                    phase = _DOWN
                elif phase == _GAP:
                    events.append("double")
                    phase = _SPENT
                elif phase == _RESET_WAIT:
                    events.append("reset_confirm")
                    phase = _SPENT
            elif phase == _DOWN:
                phase = _GAP if t - self._since < _SHORT_MAX_MS else _IDLE
            elif phase == _RESET_HELD:
                phase = _RESET_WAIT
            elif phase == _SPENT or phase == _BOOT_HOLD:
                phase = _IDLE
            self._phase = phase
            self._since = t
