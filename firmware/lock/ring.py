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

_RED = (255, 0, 0)
_BLUE = (0, 0, 255)
_WHITE = (255, 255, 255)
_GREEN = (0, 255, 0)
_ORANGE = (255, 96, 0)
_MAGENTA = (255, 0, 160)
_YELLOW = (255, 200, 0)

# (colour, upper segment only, on_ms, off_ms, blinks, period_ms); period 0 = one-shot lasting
# blinks * (on_ms + off_ms). A steady pattern is on for its whole period.
RESET_PENDING = (_YELLOW, False, 250, 250, 1, 500)
PAIRING = (_BLUE, False, 1, 0, 1, 1)
JAMMED = (_RED, False, 100, 1900, 1, 2000)
LOCKOUT = (_MAGENTA, False, 100, 2900, 1, 3000)
LOW_UNLOCKED = (_RED, True, 200, 300, 3, 5000)
LOW_LOCKED = (_RED, True, 200, 300, 2, 10000)
FEEDBACK = {
    "boot": (_WHITE, False, 150, 150, 2, 0),
    "lock": (_ORANGE, False, 800, 0, 1, 0),
    "unlock": (_GREEN, False, 800, 0, 1, 0),
    "unlatch": (_GREEN, False, 200, 200, 2, 0),
    "jam": (_RED, False, 150, 150, 3, 0),
    "wrong_code": (_MAGENTA, False, 1000, 0, 1, 0),
}


def _feedback(view, now_ms):
    fb = view.get("feedback")
    if not fb:
        return None
    p = FEEDBACK.get(fb[0])
    if p is None:
        return None
    t = now_ms - fb[1]
    if 0 <= t < p[4] * (p[2] + p[3]):
        return p, t
    return None


def _active(view, now_ms):
    """The pattern shown now and the ms into it, or None (dark)."""
    if view.get("reset_pending"):
        return RESET_PENDING, now_ms
    if view.get("pairing"):
        return PAIRING, now_ms
    fb = _feedback(view, now_ms)
    if fb is not None:
        return fb
    if view.get("jammed") or view.get("state") == "jammed":
        return JAMMED, now_ms
    if view.get("lockout"):
        return LOCKOUT, now_ms
    if view.get("battery_low"):
        return (LOW_UNLOCKED if view.get("state") == "unlocked" else LOW_LOCKED), now_ms
    return None


def _lit(p, t):
    on, off, count, period = p[2], p[3], p[4], p[5]
    if period:
        t %= period
    n = t // (on + off)
    return n < count and t - n * (on + off) < on


def frame(view, now_ms, pixels, upper, brightness):
    dark = (0, 0, 0)
    out = [dark] * pixels
    active = _active(view, now_ms)
    if active is None or not _lit(active[0], active[1]):
        return out
    p = active[0]
    c = p[0]
    lit = (c[0] * brightness // 255, c[1] * brightness // 255, c[2] * brightness // 255)
    for i in (upper if p[1] else range(pixels)):
        if 0 <= i < pixels:
            out[i] = lit
    return out


def next_change_ms(view, now_ms):
    nxt = _next_edge(view, now_ms)
    fb = view.get("feedback")
    if fb and fb[1] > now_ms and (nxt is None or fb[1] < nxt):
        return fb[1]  # a feedback dated in the future starts then
    return nxt


def _next_edge(view, now_ms):
    active = _active(view, now_ms)
    if active is None:
        return None
    p, t = active
    on, off, count, period = p[2], p[3], p[4], p[5]
    if period and off == 0:
        return None  # steady
    base = now_ms - t  # where this pattern's time 0 lies on the clock
    if period:
        base += t - t % period
        t %= period
    for k in range(count):
        for edge in (k * (on + off), k * (on + off) + on):
            if edge > t:
                return base + edge
    return base + (period if period else count * (on + off))
