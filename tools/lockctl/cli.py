"""lockctl: pair with the smart lock and drive it, over the simulator or real BLE."""
from __future__ import annotations

import argparse
import getpass
import json
import os
import pathlib
import sys
import time

from . import client, identity, transports, wire


def _parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="lockctl", description=__doc__)
    where = ap.add_mutually_exclusive_group()
    where.add_argument("--sim", metavar="HOST:PORT", help="the simulated lock's radio (simlock run --port)")
    where.add_argument("--ble", metavar="ADDRESS", help="a real lock over Bluetooth LE")
    ap.add_argument("--identity", metavar="FILE", type=pathlib.Path, default=None,
                    help="this device's id and key (default: %s)" % identity.default_path())
    ap.add_argument("--json", action="store_true", help="machine-readable output")
    sub = ap.add_subparsers(dest="cmd", required=True, metavar="COMMAND")
    sub.add_parser("scan", help="list locks nearby (or the simulated one)")
    for cmd, what, code in (("setup", "set up a new lock: sets its security code, pairs this device as admin",
                             "the 6-digit security code to set"),
                            ("pair", "pair this device with a set-up lock (the lock must be in pairing mode)",
                             "the lock's 6-digit security code")):
        p = sub.add_parser(cmd, help=what)
        p.add_argument("--code", help=code)
        p.add_argument("--name", default=os.environ.get("USER", "lockctl"))
        p.add_argument("--type", default="phone", choices=client.TYPES)
        p.add_argument("--force", action="store_true", help="replace an existing identity file")
        if cmd == "setup":
            p.add_argument("--setup-secret", metavar="SECRET",
                           help="the setup secret that came with the lock (e.g. ABCD-EFGH-...), if it has one")
    sub.add_parser("status", help="lock state, battery, pairing mode, firmware version")
    for a, what in (("lock", "lock the door"), ("unlock", "unlock the door"),
                    ("unlatch", "unlock and pull the latch, then return to unlocked"),
                    ("lockngo", "unlock, wait (settings --lockngo), lock again"),
                    ("fulllock", "lock with the second turn, where the cylinder allows it")):
        sub.add_parser(a, help=what)
    sub.add_parser("calibrate", help="learn the door's end stops again (admin)")
    sub.add_parser("devices", help="list paired devices (admin)")
    p = sub.add_parser("revoke", help="remove a device (admin, needs the code)")
    p.add_argument("id", type=lambda s: int(s, 0))
    p.add_argument("--code")
    p = sub.add_parser("rename", help="rename a device (admin, needs the code)")
    p.add_argument("id", type=lambda s: int(s, 0))
    p.add_argument("name")
    p.add_argument("--code")
    p = sub.add_parser("code", help="change the security code (admin, needs the current code)")
    p.add_argument("how", choices=("set", "change"))
    p.add_argument("new", nargs="?", help="the new code (or --new)")
    p.add_argument("--new", dest="new_opt")
    p.add_argument("--code", "--old", dest="code", help="the current code")
    p = sub.add_parser("settings", help="show or change settings (admin; changing needs the code)")
    p.add_argument("--auto-relock", type=int, metavar="S", help="lock again S seconds after unlocking (0 = off)")
    p.add_argument("--lockngo", type=int, metavar="S", help="lock'n'go: seconds between unlock and lock")
    p.add_argument("--brightness", type=int, metavar="0-255", help="ring brightness")
    p.add_argument("--button", choices=("on", "off"), help="whether the button locks and unlocks")
    p.add_argument("--code")
    p = sub.add_parser("time", help="set the lock's clock (admin)")
    p.add_argument("how", choices=("sync",))
    p.add_argument("--at", type=int, help="unix seconds (default: this computer's clock)")
    return ap


def _code(value: str | None, prompt: str) -> str:
    if value:
        return value
    if os.environ.get("LOCKCTL_CODE"):
        return os.environ["LOCKCTL_CODE"]
    if sys.stdin.isatty():
        return getpass.getpass(prompt)
    raise ValueError("the security code is needed: --code CODE")


def _where(args, ident: dict | None) -> str:
    where = args.sim and "sim:" + args.sim or args.ble and "ble:" + args.ble or (ident or {}).get("lock")
    if not where:
        raise ValueError("which lock? use --sim HOST:PORT or --ble ADDRESS")
    return where


def _transport(args, ident: dict | None):
    where = _where(args, ident)
    kind, _, addr = where.partition(":")
    return where, (transports.SimTransport(addr) if kind == "sim" else transports.BleTransport(addr))


def _show(args, value) -> None:
    if args.json:
        print(json.dumps(value))
    elif isinstance(value, dict):
        for k, v in value.items():
            print("%s: %s" % (k, v))
    elif isinstance(value, list):
        for item in value:
            print("  ".join("%s=%s" % kv for kv in item.items()))
    elif value is not None:
        print(value)


def run(args) -> None:
    path = args.identity or identity.default_path()
    if args.cmd == "scan":
        found = transports.sim_scan(args.sim) if args.sim else transports.ble_scan()
        if not found and not args.json:
            print("no lock found")
        _show(args, found)
        return
    if args.cmd in ("setup", "pair"):
        if path.exists() and not args.force:
            raise ValueError("%s already holds an identity: use --identity FILE for another lock, "
                             "or --force to replace it" % path)
        known = identity.for_lock(_where(args, None), (path.parent, identity.default_path().parent))
        if args.cmd == "setup":
            if known:
                raise ValueError("this device already paired with that lock (%s), so it is not new: pair with "
                                 "`lockctl pair --code CODE`; only if you factory-reset it yourself, delete "
                                 "that file and run setup again" % known[0])
        code = _code(args.code, "security code: " if args.cmd == "pair" else "new security code: ")
        client.code_bytes(code)
        secret = None
        if args.cmd == "setup" and args.setup_secret:
            secret = client.parse_setup_secret(args.setup_secret)
        where, t = _transport(args, None)
        try:
            if args.cmd == "setup":
                got = client.setup(t, code, args.name, args.type, setup_secret=secret)
            else:
                got = client.pair(t, code, args.name, args.type,
                                  pinned_iterations=identity.pinned_iterations(known))
        finally:
            t.close()
        identity.save(path, where, got.device_id, got.key, args.name, got.admin, got.iterations)
        _show(args, {"paired": got.device_id, "admin": got.admin, "identity": str(path)})
        return
    ident = identity.load(path)
    _, t = _transport(args, ident)
    try:
        s = client.Session(t, ident["device_id"], ident["key"])
        if args.cmd == "status":
            _show(args, s.status())
        elif args.cmd in client.ACTIONS:
            s.action(args.cmd)
            _show(args, {"done": args.cmd})
        elif args.cmd == "calibrate":
            s.calibrate()
            _show(args, {"done": "calibrate"})
        elif args.cmd == "devices":
            _show(args, s.devices())
        elif args.cmd == "revoke":
            s.revoke(_code(args.code, "security code: "), args.id)
            _show(args, {"revoked": args.id})
        elif args.cmd == "rename":
            s.rename(_code(args.code, "security code: "), args.id, args.name)
            _show(args, {"renamed": args.id, "name": args.name})
        elif args.cmd == "code":
            new = args.new or args.new_opt
            if not new:
                raise ValueError("the new code is needed: lockctl code %s NEW --code OLD" % args.how)
            client.code_bytes(new)
            s.change_code(_code(args.code, "current security code: "), new)
            _show(args, {"code": "changed"})
        elif args.cmd == "settings":
            changes = {k: v for k, v in (("auto_relock_s", args.auto_relock), ("lockngo_s", args.lockngo),
                                         ("brightness", args.brightness),
                                         ("button_actions", None if args.button is None else args.button == "on"))
                       if v is not None}
            _show(args, s.set_settings(_code(args.code, "security code: "), **changes) if changes else s.settings())
        elif args.cmd == "time":
            at = int(time.time()) if args.at is None else args.at
            s.set_time(at)
            _show(args, {"time": at})
    finally:
        t.close()


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        run(args)
        return 0
    except wire.LockError as e:
        msg = str(e) if e.code else (e.detail.decode(errors="replace") or "no connection to the lock")
    except (identity.IdentityError, client.PairingRefused, ValueError, ConnectionError, OSError) as e:
        msg = str(e) or e.__class__.__name__
    except KeyboardInterrupt:
        msg = "interrupted"
    except Exception as e:  # bleak and friends raise their own types; the user still gets one line
        msg = "%s: %s" % (e.__class__.__name__, e)
    print("lockctl: %s" % msg.splitlines()[0] if msg else "lockctl: failed", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
