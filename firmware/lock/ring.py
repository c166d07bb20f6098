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
from collections import namedtuple
from micropython import const

# Colours at full scale, 0xRRGGBB.
_RED = const(0xFF0000)
_BLUE = const(0x0000FF)
_WHITE = const(0xFFFFFF)
_GREEN = const(0x00FF00)
_ORANGE = const(0xFF6000)
_MAGENTA = const(0xFF00A0)
_YELLOW = const(0xFFC800)


# A pattern and how far into it the clock is: `blinks` flashes of `on_ms` lit and `off_ms` dark, in `colour`
# (0xRRGGBB) on the whole ring or its upper segment only; repeated every `period_ms`, or once (period 0, from
# the feedback's since_ms, lasting blinks * (on_ms + off_ms)). A steady pattern is on for its whole period.
Pattern = namedtuple("Pattern", ("colour", "upper_only", "on_ms", "off_ms", "blinks", "period_ms", "t"))


def _active(view, now_ms):
    """The Pattern shown now, or None (dark)."""
    if view.get("reset_pending"):
        return Pattern(_YELLOW, False, 250, 250, 1, 500, now_ms)
    if view.get("pairing"):
        return Pattern(_BLUE, False, 1, 0, 1, 1, now_ms)
    fb = view.get("feedback")
    if fb:
        kind, since_ms = fb
        t = now_ms - since_ms
        p = None
        if kind == "boot":
            p = Pattern(_WHITE, False, 150, 150, 2, 0, t)
        elif kind == "lock":
            p = Pattern(_ORANGE, False, 800, 0, 1, 0, t)
        elif kind == "unlock":
            p = Pattern(_GREEN, False, 800, 0, 1, 0, t)
        elif kind == "unlatch":
            p = Pattern(_GREEN, False, 200, 200, 2, 0, t)
        elif kind == "jam":
            p = Pattern(_RED, False, 150, 150, 3, 0, t)
        elif kind == "wrong_code":
            p = Pattern(_MAGENTA, False, 1000, 0, 1, 0, t)
        if p and 0 <= t < p.blinks * (p.on_ms + p.off_ms):
            return p
    state = view.get("state")
    if view.get("jammed") or state == "jammed":
        return Pattern(_RED, False, 100, 1900, 1, 2000, now_ms)
    if view.get("lockout"):
        return Pattern(_MAGENTA, False, 100, 2900, 1, 3000, now_ms)
    if view.get("battery_low"):
        if state == "unlocked":
            return Pattern(_RED, True, 200, 300, 3, 5000, now_ms)
        return Pattern(_RED, True, 200, 300, 2, 10000, now_ms)
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
    if fb:
        _, since_ms = fb
        if since_ms > now_ms and (nxt is None or since_ms < nxt):
            return since_ms  # a feedback dated in the future starts then
    return nxt
