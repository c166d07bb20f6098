"""Live terminal view of the simulated lock: ring, bolt position, state, battery."""
import math

RESET = "\x1b[0m"


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


def bolt_bar(position, lo, hi, width=40):
    x = round((position - lo) / max(1, hi - lo) * (width - 1))
    return "locked |" + "".join("\u2588" if i == x else "\u2500" for i in range(width)) + "| unlatch"


def render(state, physics, ring_pixels, port):
    fw = state.get("firmware") or {}
    bat = state["battery"]
    pct = "?" if bat["percent"] is None else "%d %%" % bat["percent"]
    flags = [f for f, on in (("LOW", bat["low"]), ("CRITICAL", bat["critical"]), ("JAM", state["jam"]),
                             ("PAIRING", state["pairing"]), ("button down", state["button"])) if on]
    lines = ["  simulated lock   power %-3s  uptime %s s" %
             (state["power"], "-" if state["uptime_ms"] is None else state["uptime_ms"] // 1000), ""]
    art = ring_art(state["ring"], ring_pixels)
    info = ["state     %s" % (state["lock"] or "-"),
            "error     %s" % (state["error"] or "-"),
            "position  %d steps" % state["position"],
            "battery   %.2f V  %s" % (bat["volts"], pct),
            "flags     %s" % (" ".join(flags) or "-"),
            "version   %s" % fw.get("version", "-")]
    for i, row in enumerate(art):
        lines.append("  " + row + "    " + (info[i] if i < len(info) else ""))
    lines += ["", "  " + bolt_bar(state["position"], physics["stop_locked"], physics["stop_unlatch"]), "",
              "  Drive it from another terminal:",
              "    simlock button press | button hold 5 | battery 4.4 | turn -300 | jam on | power off",
              "    lockctl --sim 127.0.0.1:%d setup --code 123456 --name my-phone   (later phones: pair)" % port,
              "  Ctrl-C stops the simulator (the flash directory keeps its contents)."]
    # Overwrite in place (home, clear each line's tail, clear below) rather than clear the screen: no flicker.
    return "\x1b[H" + "\x1b[K\n".join(lines) + "\x1b[K\n\x1b[J"
