"""simlock: run a simulated lock, and act on its hardware from the bench."""
import argparse
import json
import pathlib
import signal
import socket
import sys
import threading
import time
import traceback

from .control import ControlError, command, lines
from .supervisor import DEFAULT_HEAP, FROZEN_HEAP, NoFrozenImage

DEFAULT_PORT = 7760


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def _busy_port(port):
    """The first of the lock's two ports (BLE, control) that another program holds, or None."""
    for p in (port, port + 1):
        with socket.socket() as s:
            try:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                s.bind(("127.0.0.1", p))
            except OSError:
                return p
    return None


def run(args):
    from .supervisor import Supervisor
    from .view import View
    from .world import load_physics

    signal.signal(signal.SIGTERM, _interrupt)  # stop like Ctrl-C: the firmware child must not outlive us
    if not 1024 <= args.port <= 65534:
        print("simlock: the port must be 1024..65534 (the control port is PORT+1)", file=sys.stderr)
        return 2
    busy = _busy_port(args.port)
    if busy is not None:
        print("simlock: port %d is in use (another simulator?): stop it, or pick another port: "
              "`make sim PORT=%d` / `simlock run --port %d`" % (busy, args.port + 10, args.port + 10),
              file=sys.stderr)
        return 1
    flash = pathlib.Path(args.flash)
    flash.parent.mkdir(parents=True, exist_ok=True)  # a fresh clone has no .sim/ yet
    log = open(flash.parent / (flash.name + ".log"), "a") if args.view else None
    if args.frozen and args.build:
        print("simlock: --frozen runs the image's own modules; --build is for the PyPI port", file=sys.stderr)
        return 2
    if log is not None:
        # Whatever a thread of the simulator reports goes to the log, never across the view.
        threading.excepthook = lambda a: traceback.print_exception(a.exc_type, a.exc_value, a.exc_traceback,
                                                                   file=log)
    try:
        sup = Supervisor(args.flash, port=args.port, build=args.build, heap=args.heap, log=log, frozen=args.frozen)
    except (NoFrozenImage, RuntimeError) as e:  # no image, or mpy-cross refused a source file
        print("simlock: %s" % e, file=sys.stderr)
        return 1
    sup.start()
    if not args.view:
        print("simulated lock: BLE on 127.0.0.1:%d, control on %d, flash %s"
              % (args.port, args.port + 1, sup.flash), file=sys.stderr, flush=True)
    if args.view:
        sys.stdout.write("\x1b[2J")
    try:
        view = View(load_physics(), _ring_size(), args.port)
        from .bench import cmd_state
        while True:
            if args.view:
                sys.stdout.write(view.render(cmd_state(sup, [])))
                sys.stdout.flush()
            time.sleep(0.1)
    except KeyboardInterrupt:
        pass
    finally:
        sup.stop()
    return 0


def _ring_size():
    from .world import board_constant
    return board_constant("RING_PIXELS")


def bench(args):
    text = " ".join([args.cmd] + args.words)
    try:
        if args.cmd == "record":
            for msg in lines(args.port + 1, text):
                if msg.get("ok") is False:
                    print("simlock: %s" % msg["error"], file=sys.stderr)
                    return 1
                print(json.dumps(msg), flush=True)
            return 0
        reply = command(args.port + 1, text)
    except ControlError as e:
        print("simlock: %s" % e, file=sys.stderr)
        return 1
    if reply.get("ok") is False:
        print("simlock: %s" % reply["error"], file=sys.stderr)
        return 1
    print(json.dumps(reply))
    return 0


def main(argv=None):
    ap = argparse.ArgumentParser(prog="simlock", description=__doc__)
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run", help="boot the firmware on the simulated board")
    r.add_argument("--flash", default=".sim/flash", help="flash directory (kept between runs)")
    r.add_argument("--port", type=int, default=DEFAULT_PORT, help="BLE port; control is PORT+1")
    r.add_argument("--build", help="run this mpy-cross build (default: compile the sources afresh)")
    r.add_argument("--frozen", action="store_true",
                   help="boot the board-like 32-bit image with the firmware frozen in (`make frozen`)")
    r.add_argument("--heap", help="MicroPython heap size, the board's RAM (default %s; %s with --frozen)"
                   % (DEFAULT_HEAP, FROZEN_HEAP))
    r.add_argument("--view", action="store_true", help="live view in this terminal")
    r.set_defaults(func=run)
    for name, help_ in (("state", "print the lock's state as JSON"),
                        ("button", "press | hold SECONDS | down | up"),
                        ("battery", "VOLTS"), ("turn", "STEPS [STEPS_PER_S]: turn the key by hand"),
                        ("jam", "on|off: block the bolt"), ("power", "off|on: cut or restore power"),
                        ("record", "SECONDS: print ring and state changes as JSON lines")):
        p = sub.add_parser(name, help=help_)
        p.add_argument("words", nargs="*")
        p.add_argument("--port", type=int, default=DEFAULT_PORT)
        p.set_defaults(func=bench)
    args = ap.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
