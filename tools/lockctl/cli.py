"""lockctl: pair with the smart lock and drive it, over the simulator or real BLE.

A command is one function below, registered with @command(...) together with its arguments; it gets a
Context (the parsed arguments, the lock's session on demand) and returns a Result: the JSON value for
--json and the lines for people. Errors are raised and turned into one line by explain().
"""
from __future__ import annotations

import argparse
import datetime
import getpass
import json
import os
import pathlib
import signal
import sys
import time
from dataclasses import dataclass, field
from typing import Callable

from . import client, identity, transports, wire

SIM_HINT = "simlock button hold 6"
CLOCK_SLACK_S = 5          # an admin session sets the lock's clock when it is off by more than this
WAIT_S = 30.0              # how long an action may take to reach its outcome
POLL_S = 0.15

# Exit codes (README "Scripting"): anything but 0 is a failure.
EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_REFUSED, EXIT_JAMMED, EXIT_TIMEOUT = 0, 1, 2, 3, 4, 5

# Settings a person can change: (option, wire name, lowest, highest, unit)
SETTING_RANGES = {
    "auto_relock_s": ("--auto-relock", 0, 3600, "s"),
    "lockngo_s": ("--lockngo", 5, 600, "s"),
    "brightness": ("--brightness", 0, 255, ""),
}


class UserError(Exception):
    """A one-line message for the user, already saying what to do next; `code` is the exit code."""

    def __init__(self, message: str, code: int = EXIT_ERROR):
        super().__init__(message)
        self.code = code


@dataclass
class Result:
    data: object                       # what --json prints
    lines: list[str] = field(default_factory=list)   # what a person reads


# --- output -----------------------------------------------------------------------------------------

def local_time(unix: int | None) -> str:
    """A lock's time (unix seconds) as a local date; 0 is a time taken before the lock's clock was set."""
    if not unix:
        return "unknown (before the lock's clock was set)"
    return datetime.datetime.fromtimestamp(unix).strftime("%Y-%m-%d %H:%M:%S")


def emit(args, result: Result) -> None:
    if args.json:
        print(json.dumps(result.data))
    else:
        for line in result.lines:
            print(line)


def table(rows: list[list[str]]) -> list[str]:
    if not rows:
        return []
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]


# --- the command table ------------------------------------------------------------------------------

@dataclass
class Command:
    name: str
    help: str
    run: Callable[["Context"], Result]
    arguments: Callable[[argparse.ArgumentParser], None] | None


COMMANDS: dict[str, Command] = {}


def command(name: str, help: str, arguments: Callable[[argparse.ArgumentParser], None] | None = None):
    def register(fn: Callable[["Context"], Result]) -> Callable[["Context"], Result]:
        COMMANDS[name] = Command(name, help, fn, arguments)
        return fn
    return register


class Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, and where to look, instead of the whole usage
        self.exit(EXIT_USAGE, "lockctl: %s (see `%s --help`)\n" % (message, self.prog))


def parser() -> argparse.ArgumentParser:
    ap = Parser(prog="lockctl", description=__doc__.split("\n")[0])
    where = ap.add_mutually_exclusive_group()
    where.add_argument("--sim", metavar="HOST:PORT", help="the simulated lock's radio (simlock run --port)")
    where.add_argument("--ble", metavar="ADDRESS", help="a real lock over Bluetooth LE")
    ap.add_argument("--lock", metavar="NAME", help="which of this client's locks (lockctl locks)")
    ap.add_argument("--identity", metavar="FILE", type=os.path.expanduser, default=None,
                    help="this device's id and key for the lock, as a file (instead of --lock)")
    ap.add_argument("--json", action="store_true", help="machine-readable output (keys: README)")
    sub = ap.add_subparsers(dest="cmd", required=True, metavar="COMMAND", parser_class=Parser)
    for c in COMMANDS.values():
        p = sub.add_parser(c.name, help=c.help, description=c.help)
        # also after the command (`lockctl status --json`); SUPPRESS keeps a --json given before it
        p.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help="machine-readable output")
        if c.arguments:
            c.arguments(p)
    return ap


# --- what commands share ----------------------------------------------------------------------------

class Context:
    """The parsed arguments and, on demand, this device's identity and a session with its lock."""

    def __init__(self, args):
        self.args = args
        self._ident: dict | None = None
        self._path = None
        self._transport = None
        self._session: client.Session | None = None
        self.opening_status: dict | None = None

    def identity_path(self):
        if self._path is None:
            a = self.args
            self._path = pathlib.Path(a.identity) if a.identity else identity.path_for(a.lock)
        return self._path

    def use_identity(self, path: pathlib.Path) -> None:
        self._path, self._ident, self._session = path, None, None

    def identity(self) -> dict:
        if self._ident is None:
            self._ident = identity.load(self.identity_path())
        return self._ident

    def where(self, ident: dict | None) -> str:
        a = self.args
        where = a.sim and "sim:" + a.sim or a.ble and "ble:" + a.ble or (ident or {}).get("lock")
        if not where:
            raise UserError("which lock? use --sim HOST:PORT (the simulator) or --ble ADDRESS (lockctl scan)")
        return where

    def connect(self, ident: dict | None):
        where = self.where(ident)
        kind, _, addr = where.partition(":")
        if kind == "sim" and not addr.rpartition(":")[2].isdigit():
            raise UserError("--sim takes HOST:PORT, e.g. 127.0.0.1:7760 (got %r)" % addr, EXIT_USAGE)
        self._transport = transports.SimTransport(addr) if kind == "sim" else transports.BleTransport(addr)
        return where, self._transport

    def session(self) -> client.Session:
        """A secure session; an admin's also sets the lock's clock when it is off (no RTC survives a power cut)."""
        if self._session is None:
            ident = self.identity()
            _, t = self.connect(ident)
            self._session = client.Session(t, ident["device_id"], ident["key"])
            if ident["admin"]:
                now = int(time.time())
                self.opening_status = self._session.status()
                if abs(self.opening_status["time"] - now) > CLOCK_SLACK_S:
                    self._session.set_time(now)
                    self.opening_status["time"] = now
        return self._session

    def status(self) -> dict:
        """The lock's status: the one an admin session read as it opened, else a fresh one."""
        s = self.session()
        got, self.opening_status = self.opening_status, None
        return got or s.status()

    def close(self) -> None:
        if self._transport is not None:
            t, self._transport = self._transport, None
            t.close()


def security_code(value: str | None, prompt: str = "security code: ") -> str:
    code = value or os.environ.get("LOCKCTL_CODE")
    if not code:
        if not sys.stdin.isatty():
            raise UserError("the security code is needed: add --code CODE (or set LOCKCTL_CODE)")
        code = getpass.getpass(prompt)
    try:
        client.code_bytes(code)
    except ValueError:
        raise UserError("the security code is 6 digits (got %d characters)" % len(code)) from None
    return code


def device_id(text: str) -> int:
    try:
        return int(text, 0)
    except ValueError:
        raise argparse.ArgumentTypeError("a device id is a number like 0x1a2b3c4d (lockctl devices)") from None


# --- errors -----------------------------------------------------------------------------------------

# What to do next, per error the lock reports.
NEXT_STEP = {
    wire.E_NOT_PAIRING: "hold its button 5 s (`%s` on the simulator), then run this again" % SIM_HINT,
    wire.E_BUSY: "wait a minute, then try again",
    wire.E_LOCKED_OUT: "wait, then try again with the right code",
    wire.E_BAD_CODE: "check the code and try again",
    wire.E_FULL: "remove a device first (lockctl devices; lockctl revoke ID --code CODE)",
    wire.E_UNKNOWN_DEVICE: "pair this device again (lockctl pair --code CODE, with the lock in pairing mode)",
    wire.E_AUTH: "is this the lock you paired with? (lockctl locks)",
    wire.E_DENIED: "ask an admin of this lock",
    wire.E_STORAGE: "the lock keeps its old state; if it persists, reset the lock",
    wire.E_INTERNAL: "try again; if it persists, restart the lock",
    wire.E_UNKNOWN_COMMAND: "update the lock's firmware",
    wire.E_BAD_VERSION: "update lockctl or the lock's firmware",
    wire.E_NOT_FOUND: "see the ids with `lockctl devices`",
    wire.E_BAD_ARGS: "see the allowed values with `lockctl COMMAND --help`",
    wire.E_BAD_FRAME: "run it again; if it persists, update lockctl or the lock's firmware",
    wire.E_NO_SESSION: "run it again",
    wire.E_TOO_LONG: "use a shorter name",
}


def explain(e: BaseException) -> tuple[str, int]:
    """One line and an exit code for anything a command raised."""
    if isinstance(e, UserError):
        return str(e), e.code
    if isinstance(e, wire.LockError):
        if not e.code:
            return (e.detail.decode(errors="replace") or "no connection to the lock"), EXIT_ERROR
        hint = NEXT_STEP.get(e.code)
        code = EXIT_REFUSED if e.code in (wire.E_ACTION, wire.E_DENIED) else EXIT_ERROR
        return str(e) + (": " + hint if hint else ""), code
    if isinstance(e, client.PairingRefused):  # says why nothing was sent, and what to do
        return str(e), EXIT_ERROR
    if isinstance(e, identity.IdentityError):
        return str(e), EXIT_ERROR
    if isinstance(e, ModuleNotFoundError) and (e.name or "").split(".")[0] in ("bleak", "dbus_fast"):
        return ("Bluetooth support is not installed (the `bleak` package): `pip install -r requirements.txt`, "
                "or use --sim HOST:PORT for the simulator"), EXIT_ERROR
    if isinstance(e, transports.BluetoothError):
        return str(e), EXIT_ERROR
    if isinstance(e, ConnectionError):
        return (str(e) or "the connection to the lock was lost") + ": run it again, closer to the lock", \
            EXIT_ERROR
    if isinstance(e, OSError):
        return "%s: check the path and permissions" % (e.strerror or e), EXIT_ERROR
    if isinstance(e, KeyboardInterrupt):
        return "interrupted", 130
    return "unexpected failure (%s): please report it" % (str(e).splitlines()[0] if str(e) else "no detail"), \
        EXIT_ERROR


# --- pairing ----------------------------------------------------------------------------------------

def _pair_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--code", help="the lock's 6-digit security code (setup: the code to set)")
    p.add_argument("--name", default=os.environ.get("USER", "lockctl"), help="this device's name on the lock")
    p.add_argument("--type", default="phone", choices=client.TYPES)
    p.add_argument("--force", action="store_true", help="replace this client's identity for that lock")


def _setup_arguments(p: argparse.ArgumentParser) -> None:
    _pair_arguments(p)
    p.add_argument("--setup-secret", metavar="SECRET",
                   help="the setup secret that came with the lock (e.g. ABCD-EFGH-...), if it has one")


def _pair(ctx: Context, setup: bool) -> Result:
    a = ctx.args
    if a.identity:
        name, path = (None, pathlib.Path(a.identity))
    else:
        name, path = identity.new_path(a.lock)
    if path.exists() and not a.force:
        raise UserError("this client is already paired with the lock %s (%s): pick another name with "
                        "--lock NAME, or --force to replace it" % (name or "", path))
    where = ctx.where(None) if (a.sim or a.ble) else None
    if where is None:
        raise UserError("which lock? use --sim HOST:PORT (the simulator) or --ble ADDRESS (lockctl scan)")
    known = identity.for_lock(where, (path.parent, identity.store_dir()))
    if setup and known:
        raise UserError("this device already paired with that lock (%s), so it is not new: pair with "
                        "`lockctl pair --code CODE`; only if you factory-reset it yourself, delete that file "
                        "and run setup again" % known[0])
    code = security_code(a.code, "new security code: " if setup else "security code: ")
    secret = None
    if setup and a.setup_secret:
        try:
            secret = client.parse_setup_secret(a.setup_secret)
        except ValueError as e:
            raise UserError(str(e)) from None
    _, t = ctx.connect(None)
    if setup:
        got = client.setup(t, code, a.name, a.type, setup_secret=secret)
    else:
        got = client.pair(t, code, a.name, a.type, pinned_iterations=identity.pinned_iterations(known))
    identity.save(path, where, got.device_id, got.key, a.name, got.admin, got.iterations)
    ctx.close()
    if got.admin:
        # set the lock's clock now, so that what it records from here on has a date
        ctx.use_identity(path)
        try:
            ctx.session()
        except Exception:  # noqa: BLE001 -- paired all the same; the next admin command sets the clock
            pass
        ctx.close()
    data = {"device_id": got.device_id, "admin": got.admin, "lock": name, "identity": str(path)}
    lines = ["paired as %s (device 0x%08x%s), kept as the lock %r" % (a.name, got.device_id,
                                                                     ", admin" if got.admin else "", name or path)]
    if setup:
        lines.append("keep the security code: every further device pairs with it (lockctl pair --code CODE)")
    return Result(data, lines)


@command("setup", "set up a new lock: sets its security code, this device becomes its first admin",
         _setup_arguments)
def cmd_setup(ctx: Context) -> Result:
    return _pair(ctx, True)


@command("pair", "pair this device with a lock in pairing mode (needs the lock's code)", _pair_arguments)
def cmd_pair(ctx: Context) -> Result:
    return _pair(ctx, False)


# --- reading ----------------------------------------------------------------------------------------

@command("scan", "list locks nearby (or the simulated one)")
def cmd_scan(ctx: Context) -> Result:
    a = ctx.args
    if a.sim:
        found = transports.sim_scan(a.sim)
    else:
        found = transports.ble_scan()
    lines = table([[f["address"], f.get("name", ""), "pairing mode" if f.get("pairing") else "",
                    "new" if f.get("fresh") else ""] for f in found]) or ["no lock found"]
    return Result(found, lines)


@command("locks", "the locks this client is paired with (pick one with --lock NAME)")
def cmd_locks(ctx: Context) -> Result:
    out = []
    for name, path in identity.known().items():
        try:
            ident = identity.load(path)
        except identity.IdentityError:
            out.append({"lock": name, "address": None, "device_id": None, "device_name": None, "admin": None,
                        "identity": str(path)})
            continue
        out.append({"lock": name, "address": ident["lock"], "device_id": ident["device_id"],
                    "device_name": ident["name"], "admin": ident["admin"], "identity": str(path)})
    rows = [[d["lock"], d["address"] or "(damaged file)",
             "" if d["device_id"] is None else "as %s (0x%08x%s)" % (d["device_name"], d["device_id"],
                                                                     ", admin" if d["admin"] else "")]
            for d in out]
    return Result(out, table(rows) or ["this client is not paired with any lock yet (lockctl setup / pair)"])


def status_lines(st: dict) -> list[str]:
    battery = "unknown" if st["battery"] is None else "%d %%" % st["battery"]
    if st["critical"]:
        battery += " (critical: replace the batteries now)"
    elif st["low"]:
        battery += " (low: replace the batteries soon)"
    lines = ["state: %s" % st["state"], "battery: %s" % battery]
    if st["jammed"]:
        lines.append("jammed: the bolt was blocked; free it, then lock or unlock again")
    elif st["calibration_error"] or st["error"]:
        lines.append("error: %s (the door's positions are not known: lockctl calibrate)"
                     % (st["error"] or "calibration").replace("_", " "))
    if st["lockout_ms"]:
        lines.append("lockout: %d s (too many wrong codes)" % -(-st["lockout_ms"] // 1000))
    lines += ["pairing mode: %s" % ("open" if st["pairing"] else "closed"),
              "devices: %d paired" % st["devices"],
              "security code: %s" % ("set" if st["code_set"] else "not set (a new lock: lockctl setup)"),
              "lock's clock: %s" % (local_time(st["time"]) if st["time"] else "not set"),
              "firmware: %s" % st["version"]]
    return lines


@command("status", "lock state, battery, pairing mode, firmware version")
def cmd_status(ctx: Context) -> Result:
    st = ctx.status()
    return Result(st, status_lines(st))


@command("devices", "list paired devices (admin)")
def cmd_devices(ctx: Context) -> Result:
    devs = ctx.session().devices()
    rows = [["0x%08x" % d["id"], d["name"], d["type"], "admin" if d["admin"] else "",
             "paired " + local_time(d["created"])] for d in devs]
    return Result(devs, table(rows))


def _settings_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--auto-relock", type=int, metavar="S", help="lock again S s after unlocking (0 = off; 0..3600)")
    p.add_argument("--lockngo", type=int, metavar="S", help="lock'n'go: seconds between unlock and lock (5..600)")
    p.add_argument("--brightness", type=int, metavar="N", help="ring brightness (0..255)")
    p.add_argument("--button", choices=("on", "off"), help="whether the button locks and unlocks")
    p.add_argument("--code", help="the security code (needed to change settings)")


def settings_lines(s: dict) -> list[str]:
    return ["auto-relock: %s" % ("off" if not s["auto_relock_s"] else "%d s" % s["auto_relock_s"]),
            "lock'n'go: %d s" % s["lockngo_s"], "brightness: %d" % s["brightness"],
            "button: %s" % ("locks and unlocks" if s["button_actions"] else "off")]


@command("settings", "show or change settings (admin; changing needs the code)", _settings_arguments)
def cmd_settings(ctx: Context) -> Result:
    a = ctx.args
    changes = {"auto_relock_s": a.auto_relock, "lockngo_s": a.lockngo, "brightness": a.brightness,
               "button_actions": None if a.button is None else a.button == "on"}
    changes = {k: v for k, v in changes.items() if v is not None}
    for key, value in changes.items():
        if key in SETTING_RANGES:
            option, lo, hi, unit = SETTING_RANGES[key]
            if not lo <= value <= hi:
                raise UserError("%s must be %d..%d%s (got %d)" % (option, lo, hi, " " + unit if unit else "", value),
                                EXIT_USAGE)
    if not changes:
        s = ctx.session().settings()
    else:
        s = ctx.session().set_settings(security_code(a.code), **changes)
    s["button_actions"] = bool(s["button_actions"])
    return Result(s, (["settings changed:"] if changes else []) + settings_lines(s))


# --- acting -----------------------------------------------------------------------------------------

# action -> (the state it ends in, what a person reads then, the refusal that means it is there already)
OUTCOMES = {
    "lock": ("locked", "locked", "already_locked"),
    "fulllock": ("locked", "fully locked", "already_locked"),
    "unlock": ("unlocked", "unlocked", "already_unlocked"),
    "unlatch": ("unlocked", "unlatched; back to unlocked", None),
    "lockngo": ("unlocked", "unlocked; it locks again after the lock'n'go delay", None),
    "calibrate": ("locked", "the door is learnt; locked", None),
}
MOVING = ("locking", "unlocking", "unlatching", "unlatched", "calibrating")


def _action_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--no-wait", action="store_true", help="return once the lock accepts (do not wait for the bolt)")
    p.add_argument("--timeout", type=float, default=WAIT_S, metavar="S",
                   help="how long to wait for the bolt (default %d s)" % WAIT_S)


def act(ctx: Context, action: str) -> Result:
    s = ctx.session()
    goal, done_text, already = OUTCOMES[action]
    try:
        s.call(client.ACTIONS.get(action) or client.CALIBRATE)
    except wire.LockError as e:
        reason = e.detail[1:1 + e.detail[0]].decode(errors="replace") if e.code == wire.E_ACTION and e.detail else ""
        if already and reason == already:
            return Result({"action": action, "outcome": "already", "state": goal}, ["already " + goal])
        if e.code == wire.E_ACTION:
            raise UserError("refused: %s" % wire.REFUSALS.get(reason, reason or "the lock refused"), EXIT_REFUSED)
        raise
    if ctx.args.no_wait:
        return Result({"action": action, "outcome": "accepted", "state": None}, ["%s: accepted" % action])
    deadline = time.monotonic() + ctx.args.timeout
    state = None
    while time.monotonic() < deadline:
        st = s.status()
        state = st["state"]
        if state == "jammed" or st["jammed"]:
            raise UserError("jammed: the bolt is blocked; free it (is the door closed?), then %s again" % action,
                            EXIT_JAMMED)
        if state == goal:
            return Result({"action": action, "outcome": "done", "state": state}, [done_text])
        if state not in MOVING and state != "unlocked":  # e.g. uncalibrated: it will not get there
            raise UserError("%s stopped: the lock is %s%s; see `lockctl status`"
                            % (action, state, " (%s)" % st["error"].replace("_", " ") if st["error"] else ""),
                            EXIT_REFUSED)
        time.sleep(POLL_S)
    raise UserError("no outcome within %g s: the lock is still %s; see `lockctl status`" % (ctx.args.timeout, state),
                    EXIT_TIMEOUT)


def _action(name: str, help: str) -> None:
    command(name, help, _action_arguments)(lambda ctx: act(ctx, name))


_action("lock", "lock the door (waits for the bolt)")
_action("unlock", "unlock the door (waits for the bolt)")
_action("unlatch", "unlock and pull the latch, then return to unlocked")
_action("lockngo", "unlock, wait (settings --lockngo), lock again")
_action("fulllock", "lock with the second turn, where the cylinder allows it")
_action("calibrate", "learn the door's end stops again (admin)")


# --- administration ---------------------------------------------------------------------------------

def _revoke_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("id", type=device_id, help="the device's id (lockctl devices)")
    p.add_argument("--code")


@command("revoke", "remove a device (admin, needs the code)", _revoke_arguments)
def cmd_revoke(ctx: Context) -> Result:
    a = ctx.args
    code = security_code(a.code)
    ctx.session().revoke(code, a.id)
    return Result({"revoked": a.id}, ["device 0x%08x removed" % a.id])


def _rename_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("id", type=device_id, help="the device's id (lockctl devices)")
    p.add_argument("name")
    p.add_argument("--code")


@command("rename", "rename a device (admin, needs the code)", _rename_arguments)
def cmd_rename(ctx: Context) -> Result:
    a = ctx.args
    code = security_code(a.code)
    ctx.session().rename(code, a.id, a.name)
    return Result({"renamed": a.id, "name": a.name}, ["device 0x%08x is now %r" % (a.id, a.name)])


def _code_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("how", choices=("set", "change"))
    p.add_argument("new", nargs="?", help="the new code (or --new)")
    p.add_argument("--new", dest="new_opt")
    p.add_argument("--code", "--old", dest="code", help="the current code")


@command("code", "change the security code (admin, needs the current code)", _code_arguments)
def cmd_code(ctx: Context) -> Result:
    a = ctx.args
    new = a.new or a.new_opt
    if not new:
        raise UserError("the new code is needed: lockctl code %s NEW --code OLD" % a.how, EXIT_USAGE)
    if len(new) != 6 or not new.isdigit():
        raise UserError("the new security code is 6 digits", EXIT_USAGE)
    old = security_code(a.code, "current security code: ")
    ctx.session().change_code(old, new)
    return Result({"code": "changed"}, ["security code changed"])


def _time_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("how", choices=("sync",))
    p.add_argument("--at", type=int, help="unix seconds (default: this computer's clock)")


@command("time", "set the lock's clock (admin; every admin command also does when it is off)", _time_arguments)
def cmd_time(ctx: Context) -> Result:
    at = int(time.time()) if ctx.args.at is None else ctx.args.at
    ctx.session().set_time(at)
    return Result({"time": at}, ["the lock's clock: %s" % local_time(at)])


# --- entry ------------------------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> int:
    if hasattr(signal, "SIGPIPE"):
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # `lockctl status | head -1` ends quietly
    args = parser().parse_args(argv)
    ctx = Context(args)
    try:
        try:
            result = COMMANDS[args.cmd].run(ctx)
        finally:
            ctx.close()
        emit(args, result)
        return EXIT_OK
    except BaseException as e:  # noqa: B036 -- every failure, bleak's own types too, becomes one line
        if isinstance(e, SystemExit):
            raise
        message, code = explain(e)
    print("lockctl: %s" % (message.splitlines()[0] if message else "failed"), file=sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(main())
