# LED ring frames as a pure function of (view, time).
#
# API
#   frame(view, now_ms, pixels, upper, brightness) -> [(r, g, b)] * pixels
#   next_change_ms(view, now_ms) -> int | None   first ms after now_ms at which frame() may differ
#                                                 (None: not until the view changes)
#   view: {"state": bolt state, "pairing": bool, "battery_low": bool, "lockout": bool,
#          "reset_pending": bool, "feedback": None | (kind, since_ms), "jammed": bool}
#   feedback kinds: "boot", "lock", "unlock", "unlatch", "jam", "wrong_code"
# Precedence, first that applies: reset pending > pairing > feedback (one-shot, from since_ms) > jammed >
# lockout > battery low > dark. Continuous patterns run on the absolute clock (now_ms % period), so the
# battery-low blinks start at every multiple of their period. Timings: docs/DRIVE.md.
from micropython import const

# Colours at full scale, 0xRRGGBB.
_RED = const(0xFF0000)
_BLUE = const(0x0000FF)
_WHITE = const(0xFFFFFF)
_GREEN = const(0x00FF00)
_ORANGE = const(0xFF6000)
_MAGENTA = const(0xFF00A0)
_YELLOW = const(0xFFC800)


def _active(view, now_ms):
    """The pattern shown now and the ms into it, or None (dark): (colour, upper segment only, on_ms, off_ms,
    blinks, period_ms, ms into it); period 0 = one-shot lasting blinks * (on_ms + off_ms), from since_ms.
    A steady pattern is on for its whole period. The patterns are written out in code, one per line: their
    numbers then live in the bytecode, not in tuples and a dict of their own."""
    if view.get("reset_pending"):
        return _YELLOW, False, 250, 250, 1, 500, now_ms
    if view.get("pairing"):
        return _BLUE, False, 1, 0, 1, 1, now_ms
    fb = view.get("feedback")
    if fb:
        kind = fb[0]
        t = now_ms - fb[1]
        p = None
        if kind == "boot":
            p = _WHITE, False, 150, 150, 2, 0, t
        elif kind == "lock":
            p = _ORANGE, False, 800, 0, 1, 0, t
        elif kind == "unlock":
            p = _GREEN, False, 800, 0, 1, 0, t
        elif kind == "unlatch":
            p = _GREEN, False, 200, 200, 2, 0, t
        elif kind == "jam":
            p = _RED, False, 150, 150, 3, 0, t
        elif kind == "wrong_code":
            p = _MAGENTA, False, 1000, 0, 1, 0, t
        if p and 0 <= t < p[4] * (p[2] + p[3]):
            return p
    state = view.get("state")
    if view.get("jammed") or state == "jammed":
        return _RED, False, 100, 1900, 1, 2000, now_ms
    if view.get("lockout"):
        return _MAGENTA, False, 100, 2900, 1, 3000, now_ms
    if view.get("battery_low"):
        if state == "unlocked":
            return _RED, True, 200, 300, 3, 5000, now_ms
        return _RED, True, 200, 300, 2, 10000, now_ms
    return None


def frame(view, now_ms, pixels, upper, brightness):
    out = [(0, 0, 0)] * pixels
    active = _active(view, now_ms)
    if active is not None:
        colour, upper_only, on, off, count, period, t = active
        if period:
            t %= period
        n = t // (on + off)
        if n < count and t - n * (on + off) < on:
            lit = ((colour >> 16) * brightness // 255, (colour >> 8 & 255) * brightness // 255,
                   (colour & 255) * brightness // 255)
            for i in (upper if upper_only else range(pixels)):
                if 0 <= i < pixels:
                    out[i] = lit
    return out


def next_change_ms(view, now_ms):
    nxt = None
    active = _active(view, now_ms)
    if active is not None:
        _, _, on, off, count, period, t = active
        if not period or off:  # else steady: no edge
            base = now_ms - t  # where this pattern's time 0 lies on the clock
            if period:
                base += t - t % period
                t %= period
            # the edges: blink k lights at k * (on + off) and goes dark `on` later
            for k in range(2 * count):
                edge = k // 2 * (on + off) + k % 2 * on
                if edge > t:
                    nxt = base + edge
                    break
            else:
                nxt = base + (period or count * (on + off))
    fb = view.get("feedback")
    if fb and fb[1] > now_ms and (nxt is None or fb[1] < nxt):
        return fb[1]  # a feedback dated in the future starts then
    return nxt
