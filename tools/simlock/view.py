"""Live terminal view of the simulated lock: ring, state, countdowns, bolt, battery, recent events. 80 columns."""
import collections
import math
import re
import time

RESET = "\x1b[0m"
WIDTH = 80
BAR = 44
CAUSES = {"boot": "at boot", "request": "asked by a phone or the button", "auto_relock": "auto-relock",
          "manual": "turned by hand", "stall": "the bolt stalled", "timeout": "the bolt did not arrive",
          "calibration": "calibration"}
MARKS = (("fulllock", "F"), ("locked", "L"), ("unlocked", "U"), ("unlatch", "N"))
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def visible(text):
    """The characters a terminal shows (escape sequences removed)."""
    return _ANSI.sub("", text)


def _pixel(rgb):
    r, g, b = rgb
    if r == g == b == 0:
        return "\x1b[38;2;60;60;60m\u25cb" + RESET
    return "\x1b[38;2;%d;%d;%dm\u25cf" % (r, g, b) + RESET


def ring_art(pixels, n, radius=4):
    """Pixels on a circle, pixel 0 at 12 o'clock, clockwise."""
    pixels = list(pixels) or [(0, 0, 0)] * n
    h, w = 2 * radius + 1, 4 * radius + 3
    grid = [[" "] * w for _ in range(h)]
    for i, p in enumerate(pixels):
        a = 2 * math.pi * i / len(pixels)
        y = round(radius - radius * math.cos(a))
        x = round(2 * radius + 1 + 2 * radius * math.sin(a))
        grid[y][x] = _pixel(p)
    return ["".join(row) for row in grid]


def bolt_bar(position, lo, hi, positions=None, width=BAR):
    """Two lines: the cylinder between its hard stops with the bolt as a block, and under it the learnt
    positions (F full lock, L locked, U unlocked, N unlatch)."""
    def col(p):
        return max(0, min(width - 1, round((p - lo) / max(1, hi - lo) * (width - 1))))
    marks = [" "] * width
    for key, mark in MARKS:
        if positions and key in positions:
            marks[col(positions[key])] = mark
    bolt = col(position)
    return ["stop |" + "".join("\u2588" if i == bolt else "\u2500" for i in range(width)) + "| stop",
            "      " + "".join(marks).rstrip()]


def _seconds(n):
    return "%d s" % n if n < 120 else "%d min %02d s" % (n // 60, n % 60)


class View:
    """Renders one frame from the bench's `state`; remembers what changed, for the recent events."""

    def __init__(self, physics, ring_pixels, port, events=5):
        self.physics, self.ring_pixels, self.port = physics, ring_pixels, port
        self.events = collections.deque(maxlen=events)
        self.seen = {}

    def _note(self, key, value, text):
        if key in self.seen and self.seen[key] != value and text:
            self.events.append("%s  %s" % (time.strftime("%H:%M:%S"), text))
        self.seen[key] = value

    def _track(self, state, fw):
        self._note("power", state["power"], "power " + state["power"])
        if state["power"] != "on" or not fw:
            return
        cause = CAUSES.get(fw.get("cause"), fw.get("cause") or "")
        self._note("lock", (fw.get("lock"), fw.get("cause")),
                   "%s (%s)" % (fw.get("lock"), cause) if fw.get("lock") not in (None, "unknown") else "")
        self._note("error", fw.get("error"), fw.get("error") and "error: %s" % fw.get("error"))
        self._note("pairing", bool(fw.get("pairing")), "pairing mode %s" % ("open" if fw.get("pairing") else "closed"))
        n = fw.get("devices")
        old = self.seen.get("devices")
        self._note("devices", n, None if n is None or old is None else
                   "a device paired (%d now)" % n if n > old else "a device removed (%d left)" % n)
        self._note("lockout", bool(fw.get("lockout_s")), fw.get("lockout_s") and "code lockout: too many wrong codes")
        self._note("low", (fw.get("low"), fw.get("critical")),
                   "battery critical" if fw.get("critical") else "battery low" if fw.get("low") else "battery ok")

    def lines(self, state):
        fw = state.get("firmware") or {}
        self._track(state, fw)
        bat = state["battery"]
        pct = "" if bat["percent"] is None else "  %d %%" % bat["percent"]
        flags = [f for f, on in (("LOW", bat["low"]), ("CRITICAL", bat["critical"]), ("JAM", state["jam"]),
                                 ("button down", state["button"])) if on]
        on = state["power"] == "on"
        lock = state["lock"] or "-"
        if on and fw.get("cause"):
            lock += "  (%s)" % CAUSES.get(fw["cause"], fw["cause"])
        pending = fw.get("locks_in")
        if pending:
            locks_in = "%s in %s" % ("lock'n'go" if pending[0] == "lockngo" else "auto-relock", _seconds(pending[1]))
        else:
            locks_in = "-"
        pairing = "open, closes in %s" % _seconds(fw.get("pairing_s") or 0) if state["pairing"] else "closed"
        lockout = "%s (too many wrong codes)" % _seconds(fw["lockout_s"]) if fw.get("lockout_s") else "-"
        info = ["state     %s" % lock,
                "error     %s" % (state["error"] or "-"),
                "battery   %.2f V%s" % (bat["volts"], pct),
                "pairing   %s" % (pairing if on else "-"),
                "lockout   %s" % (lockout if on else "-"),
                "locks     %s" % (locks_in if on else "-"),
                "devices   %s" % ("%d paired" % fw["devices"] if on and "devices" in fw else "-"),
                "flags     %s" % (" ".join(flags) or "-"),
                "firmware  %s" % fw.get("version", "-")]
        uptime = "-" if state["uptime_ms"] is None else _seconds(state["uptime_ms"] // 1000)
        out = ["  simulated lock on 127.0.0.1:%d   power %s   uptime %s" % (self.port, state["power"], uptime), ""]
        art = ring_art(state["ring"], self.ring_pixels)
        for i in range(max(len(art), len(info))):
            row = art[i] if i < len(art) else " " * visible(art[0]).__len__()
            out.append("  " + row + "   " + (info[i] if i < len(info) else ""))
        out += ["",
                ]
        bar, marks = bolt_bar(state["position"], self.physics["stop_locked"], self.physics["stop_unlatch"],
                              fw.get("positions"))
        out += ["  " + bar + "   %d steps" % state["position"], "  " + marks,
                "  \u2588 the bolt; as learnt: F full lock, L locked, U unlocked, N unlatch", "",
                "  recent events"]
        out += ["    " + e for e in self.events] or ["    -"]
        out += ["",
                "  From another terminal (.venv/bin on PATH):",
                "    simlock button press | button hold 6 | battery 4.4 | turn -300 | power off",
                "    lockctl --sim 127.0.0.1:%d setup --code 123456 --name my-phone" % self.port,
                "    then lockctl unlock | lock | status; more phones: lockctl pair (README)",
                "  Ctrl-C stops the simulator (the flash directory keeps its contents)."]
        return [line if len(visible(line)) <= WIDTH else _cut(line) for line in out]

    def render(self, state):
        # Overwrite in place (home, clear each line's tail, clear below) rather than clear the screen: no flicker.
        return "\x1b[H" + "\x1b[K\n".join(self.lines(state)) + "\x1b[K\n\x1b[J"


def _cut(line):
    """A line cut to WIDTH visible characters (only plain-text lines can be long: cut them as text)."""
    return visible(line)[:WIDTH - 1] + "\u2026"
