"""The control port: the bench acts on the simulated hardware. One text command per line, JSON replies."""
import json
import socketserver
import threading
import time

PRESS_S = 0.15
# The firmware samples the button every 10 ms tick and dates a press from its first stable sample, so it sees
# the press start up to a tick (plus the bus, plus a descheduled moment) after the bench does, while the
# release may be seen at once: a hold of exactly the 5 s threshold then measures a little short about half
# the time. The bench holds this much longer, so that a hold of N s is at least N s as the lock counts it.
HOLD_SLACK_S = 0.2


def _number(text, kind=float):
    try:
        return kind(text)
    except (TypeError, ValueError):
        raise BenchError("not a number: %r" % text)


class BenchError(Exception):
    pass


def cmd_state(sup, args):
    w = sup.world
    with w.lock:
        fw = dict(w.firmware)
        return {
            "ok": True,
            "power": "on" if sup.child else "off",
            "lock": fw.get("lock"),
            "error": fw.get("error"),
            "position": w.position,
            "ring": [list(p) for p in w.ring],
            "battery": {"volts": w.volts, "percent": fw.get("battery"), "low": fw.get("low"),
                        "critical": fw.get("critical")},
            "pairing": fw.get("pairing"),
            "jam": w.jammed,
            "button": w.button,
            "uptime_ms": sup.uptime_ms(),
            "firmware": fw,
        }


def cmd_button(sup, args):
    action = args[0] if args else ""
    if action == "press" and len(args) == 1:
        seconds = PRESS_S
    elif action == "hold" and len(args) == 2:
        seconds = _number(args[1])
        if not 0 < seconds <= 120:
            raise BenchError("hold time must be in (0, 120] seconds")
        seconds += HOLD_SLACK_S
    elif action in ("down", "up") and len(args) == 1:
        sup.world.set_button(action == "down")
        return {"ok": True}
    else:
        raise BenchError("usage: button press | button hold SECONDS | button down | button up")
    sup.world.set_button(True)
    time.sleep(seconds)
    sup.world.set_button(False)
    return {"ok": True, "held_s": round(seconds, 3)}


def cmd_battery(sup, args):
    if len(args) != 1:
        raise BenchError("usage: battery VOLTS")
    volts = _number(args[0])
    if not 0 <= volts <= 12:
        raise BenchError("battery volts must be within 0..12")
    sup.world.set_volts(volts)
    return {"ok": True, "volts": volts}


def cmd_turn(sup, args):
    if len(args) not in (1, 2):
        raise BenchError("usage: turn STEPS [STEPS_PER_S]")
    steps = _number(args[0], int)
    w = sup.world
    speed = _number(args[1], int) if len(args) == 2 else w.physics["hand_speed"]
    if speed <= 0:
        raise BenchError("usage: turn STEPS [STEPS_PER_S]: the speed is a positive number")
    # A hand turns the key at a hand's speed, not in one jump.
    per_tick = max(1, int(speed * 0.01))
    left = steps
    while left:
        d = max(-per_tick, min(per_tick, left))
        if not w.hand_turn(d):
            raise BenchError("the key does not turn: the bolt is jammed")
        left -= d
        time.sleep(0.01)
    return {"ok": True, "position": w.position}


def cmd_jam(sup, args):
    if args not in (["on"], ["off"]):
        raise BenchError("usage: jam on|off")
    sup.world.set_jam(args[0] == "on")
    return {"ok": True, "jam": args[0] == "on"}


def cmd_power(sup, args):
    if args == ["off"]:
        return {"ok": sup.power_off(), "power": "off"}
    if args == ["on"]:
        if not sup.power_on():
            raise BenchError("already powered on")
        return {"ok": True, "power": "on"}
    raise BenchError("usage: power off|on")


COMMANDS = {
    "state": cmd_state,
    "button": cmd_button,
    "battery": cmd_battery,
    "turn": cmd_turn,
    "jam": cmd_jam,
    "power": cmd_power,
}


def record(sup, seconds, emit):
    """Stream every ring and lock-state change for `seconds`, timestamps in ms from the start."""
    t0 = time.monotonic()
    lock = threading.Lock()

    def on_change(change):
        with lock:
            t = int((time.monotonic() - t0) * 1000)
            for key in ("ring", "lock"):
                if key in change:
                    value = change[key]
                    emit({"t": t, key: [list(p) for p in value] if key == "ring" else value})

    with sup.world.lock:
        with lock:
            emit({"t": 0, "ring": [list(p) for p in sup.world.ring]})
            emit({"t": 0, "lock": sup.world.firmware.get("lock")})
        sup.world.listeners.append(on_change)
    try:
        time.sleep(seconds)
    finally:
        sup.world.listeners.remove(on_change)
    return {"done": True, "ms": int(seconds * 1000)}


class _Handler(socketserver.StreamRequestHandler):
    def handle(self):
        sup = self.server.supervisor
        for raw in self.rfile:
            words = raw.decode("utf-8", "replace").split()
            if not words:
                continue
            try:
                if words[0] == "record":
                    if len(words) != 2:
                        raise BenchError("usage: record SECONDS")
                    seconds = _number(words[1])
                    if not 0 < seconds <= 600:
                        raise BenchError("record time must be in (0, 600] seconds")
                    reply = record(sup, seconds, self._send)
                elif words[0] in COMMANDS:
                    reply = COMMANDS[words[0]](sup, words[1:])
                else:
                    raise BenchError("unknown command: %s (known: %s, record)"
                                     % (words[0], ", ".join(sorted(COMMANDS))))
            except BenchError as e:
                reply = {"ok": False, "error": str(e)}
            self._send(reply)

    def _send(self, obj):
        self.wfile.write((json.dumps(obj) + "\n").encode())
        self.wfile.flush()


class _Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True
    request_queue_size = 64  # tests poll `state` quickly from several threads


def serve(supervisor, port):
    server = _Server(("127.0.0.1", port), _Handler)
    server.supervisor = supervisor
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server
