# Button classifier: debounced presses -> "short", "double", "long", and the held-at-power-on factory reset
# ("reset_request", then "reset_confirm" or "reset_cancel").
#
# API
#   b = Button(now_ms, pressed_at_boot)
#   b.feed(now_ms, pressed) -> [events]   the raw level, as often as the shell reads it
#   b.poll(now_ms) -> [events]            timeouts (call every ~10 ms even without feed)
#   b.pressed                             the debounced level
# Timings (ms): a level counts once stable for DEBOUNCE_MS, dated from its first stable sample.
#   short:  press shorter than SHORT_MAX_MS, then no second press within DOUBLE_GAP_MS of the release;
#           emitted when that gap runs out.
#   double: a second press starting within DOUBLE_GAP_MS of a short press's release; emitted at its
#           (debounced) press; that press then gives nothing else.
#   long:   emitted the moment a press has lasted LONG_MS (not at release); a press between SHORT_MAX_MS
#           and LONG_MS is nothing.
#   reset_request: pressed at boot and still held RESET_HOLD_MS after boot; emitted at that moment.
#   reset_confirm: a press starting within RESET_CONFIRM_MS of releasing the reset hold.
#   reset_cancel:  no such press in time. Released before RESET_HOLD_MS: nothing at all.

DEBOUNCE_MS = 30
SHORT_MAX_MS = 1000
DOUBLE_GAP_MS = 400
LONG_MS = 5000
RESET_HOLD_MS = 3000
RESET_CONFIRM_MS = 5000

# phases
_IDLE = 0
_DOWN = 1  # a press that may become short or long
_GAP = 2  # after a short press, waiting for a second one
_SPENT = 3  # a press whose outcome is already emitted; waits for release
_BOOT_HOLD = 4  # held since power-on, not yet long enough
_RESET_HELD = 5  # reset requested, still held
_RESET_WAIT = 6  # reset requested and released: waiting for the confirming press


class Button:
    def __init__(self, now_ms, pressed_at_boot):
        p = bool(pressed_at_boot)
        self.pressed = p
        self._raw = p
        self._raw_ms = now_ms
        self._phase = _BOOT_HOLD if p else _IDLE
        self._since = now_ms  # when the current phase's clock started

    def feed(self, now_ms, pressed):
        pressed = bool(pressed)
        if pressed != self._raw:
            self._raw = pressed
            self._raw_ms = now_ms
        return self.poll(now_ms)

    def poll(self, now_ms):
        events = []  # type: list
        if self._raw != self.pressed:
            edge = self._raw_ms
            if now_ms - edge >= DEBOUNCE_MS:
                self._expire(edge, events)  # deadlines that passed before the edge come first
                self.pressed = self._raw
                self._edge(edge, events)
            else:
                now_ms = edge  # an unconfirmed edge: no deadline after it may fire yet
        self._expire(now_ms, events)
        return events

    def _deadline(self):
        phase = self._phase
        if phase == _DOWN:
            return self._since + LONG_MS, "long", _SPENT
        if phase == _GAP:
            return self._since + DOUBLE_GAP_MS, "short", _IDLE
        if phase == _BOOT_HOLD:
            return self._since + RESET_HOLD_MS, "reset_request", _RESET_HELD
        if phase == _RESET_WAIT:
            return self._since + RESET_CONFIRM_MS, "reset_cancel", _IDLE
        return None

    def _expire(self, t, events):
        d = self._deadline()
        if d is not None and t >= d[0]:
            events.append(d[1])
            self._phase = d[2]
            self._since = d[0]

    def _edge(self, t, events):
        phase = self._phase
        down = self.pressed
        nxt = phase
        if down:
            if phase == _IDLE:
                nxt = _DOWN
            elif phase == _GAP:
                events.append("double")
                nxt = _SPENT
            elif phase == _RESET_WAIT:
                events.append("reset_confirm")
                nxt = _SPENT
        else:
            if phase == _DOWN:
                nxt = _GAP if t - self._since < SHORT_MAX_MS else _IDLE
            elif phase == _RESET_HELD:
                nxt = _RESET_WAIT
            elif phase in (_SPENT, _BOOT_HOLD):
                nxt = _IDLE
        self._phase = nxt
        self._since = t
