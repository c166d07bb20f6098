"""lockbridge: carry smart locks onto an MQTT broker for Home Assistant (BLE or the simulator to MQTT)."""
from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import logging
import os
import pathlib
import sys
import time

from lockctl import client, identity, wire

from . import config
from .link import open_transport


def _where_args(p: argparse.ArgumentParser) -> None:
    where = p.add_mutually_exclusive_group()
    where.add_argument("--sim", metavar="HOST:PORT", help="a simulated lock's radio (simlock run --port)")
    where.add_argument("--ble", metavar="ADDRESS", help="a real lock over Bluetooth LE (lockctl scan finds it)")


def _parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="lockbridge", description=__doc__)
    ap.add_argument("--config", metavar="FILE", type=pathlib.Path,
                    help="settings as TOML or JSON (see docs/DESIGN.md \"The bridge\"); flags win over it")
    ap.add_argument("--store", metavar="DIR", type=pathlib.Path,
                    help="where the bridge keeps one identity per lock (default: %s)" % config.default_store())
    ap.add_argument("--json", action="store_true", help="machine-readable output")
    sub = ap.add_subparsers(dest="cmd", required=True, metavar="COMMAND")

    p = sub.add_parser("pair", help="pair this bridge with a lock (the lock must be in pairing mode)")
    _where_args(p)
    p.add_argument("--code", help="the lock's 6-digit security code (or $LOCKCTL_CODE, or a prompt)")
    p.add_argument("--lock", metavar="NAME", help="this lock's name here and in Home Assistant (default: lock, lock2, ...)")
    p.add_argument("--name", default="lockbridge", help="this bridge's name on the lock (its device list)")
    p.add_argument("--force", action="store_true", help="replace an existing identity of that name")

    p = sub.add_parser("run", help="carry the paired locks onto the broker until stopped (Ctrl-C)")
    _where_args(p)
    p.add_argument("--broker", metavar="URL", help="mqtt://HOST:PORT or mqtts://HOST:PORT")
    p.add_argument("--username")
    p.add_argument("--password-file", metavar="FILE", help="a file holding the broker password")
    p.add_argument("--tls", action="store_true", default=None, help="TLS to the broker (implied by mqtts://)")
    p.add_argument("--ca-file", metavar="FILE", help="the CA that signed the broker's certificate")
    p.add_argument("--mqtt-version", choices=("5", "3.1.1"))
    p.add_argument("--poll", dest="poll_s", type=float, metavar="S", help="status poll period (default 0.5 s)")
    p.add_argument("--command-timeout", dest="command_timeout_s", type=float, metavar="S",
                   help="a command not done by then is answered with an error and dropped (default 5 s)")
    p.add_argument("--reconnect-max", dest="reconnect_max_s", type=float, metavar="S",
                   help="longest pause between reconnection attempts (default 30 s)")

    sub.add_parser("locks", help="the locks this bridge carries")
    p = sub.add_parser("remove", help="stop carrying a lock: deletes its identity; HA's entities are cleared")
    p.add_argument("lock", metavar="NAME")
    return ap


def _code(value: str | None) -> str:
    if value:
        return value
    if os.environ.get("LOCKCTL_CODE"):
        return os.environ["LOCKCTL_CODE"]
    if sys.stdin.isatty():
        return getpass.getpass("the lock's security code: ")
    raise ValueError("the security code is needed: --code CODE")


def _settings(args) -> tuple[dict, pathlib.Path | None]:
    values = config.read_file(args.config) if args.config else {}
    if args.store:
        values["store"] = str(args.store)
    return values, (args.config.resolve().parent if args.config else None)


def _locks_config(args) -> config.Config:
    values, file_dir = _settings(args)
    return config.build(values, file_dir, need_broker=False)


def _out(args):
    def say(text: str) -> None:
        if args.json:
            print(json.dumps({"time": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "event": text}), flush=True)
        else:
            print("%s %s" % (time.strftime("%H:%M:%S"), text), flush=True)
    return say


def _show(args, value: dict) -> None:
    if args.json:
        print(json.dumps(value))
    else:
        for k, v in value.items():
            print("%s: %s" % (k, v))


def pair(args) -> None:
    store = _locks_config(args).store
    if not (args.sim or args.ble):
        raise ValueError("which lock? --sim HOST:PORT or --ble ADDRESS")
    if args.lock:
        name = config.check_name(args.lock)
    else:
        n = 1
        while (store / ("lock%s.json" % ("" if n == 1 else n))).exists():
            n += 1
        name = "lock" + ("" if n == 1 else str(n))
    path = store / (name + ".json")
    if path.exists() and not args.force:
        raise ValueError("this bridge already has a lock named %r (%s): pick another --lock NAME, or --force "
                         "to replace it" % (name, path))
    code = _code(args.code)
    client.code_bytes(code)
    where = "sim:" + args.sim if args.sim else "ble:" + args.ble
    # what this lock said its PBKDF2 count was when this computer paired with it before (bridge or lockctl)
    pinned = identity.pinned_iterations(identity.for_lock(where, (store, identity.store_dir())))
    t = open_transport(where, 15.0)
    try:
        got = client.pair(t, code, args.name, "bridge", pinned_iterations=pinned)
    finally:
        t.close()
    identity.save(path, where, got.device_id, got.key, args.name, got.admin, got.iterations)
    _show(args, {"paired": "0x%08x" % got.device_id, "lock": name, "identity": str(path),
                 "next": "lockbridge run --broker mqtt://HOST:1883"})


def locks(args) -> None:
    out = []
    cfg = _locks_config(args)
    for c in cfg.current_locks():
        try:
            ident = identity.load(c.identity)
            out.append({"lock": c.name, "address": c.address or ident.get("lock"),
                        "device_id": "0x%08x" % ident["device_id"], "identity": str(c.identity)})
        except identity.IdentityError as e:
            out.append({"lock": c.name, "error": str(e)})
    if args.json:
        print(json.dumps(out))
    elif not out:
        print("no lock yet: pair one with `lockbridge pair --sim HOST:PORT --code CODE` (or --ble ADDRESS)")
    else:
        for item in out:
            print("  ".join("%s=%s" % kv for kv in item.items()))


def remove(args) -> None:
    name = config.check_name(args.lock)
    found = [c for c in _locks_config(args).current_locks() if c.name == name]
    if not found:
        raise ValueError("this bridge carries no lock named %r (see `lockbridge locks`)" % name)
    path = found[0].identity
    try:
        ident = identity.load(path)
    finally:
        os.unlink(path)  # a damaged identity is removed too
    _show(args, {"removed": name,
                 "next": "a running bridge clears its Home Assistant entities within seconds (or at its next "
                         "start); revoke the bridge on the lock too: lockctl revoke 0x%08x --code CODE"
                         % ident["device_id"]})


def run(args) -> None:
    from .bridge import Bridge  # needs aiomqtt; pairing does not
    values, file_dir = _settings(args)
    for key in ("broker", "username", "password_file", "tls", "ca_file", "mqtt_version", "poll_s",
                "command_timeout_s", "reconnect_max_s"):
        v = getattr(args, key, None)
        if v is not None:
            values[key] = v
    cfg = config.build(values, file_dir)
    if args.sim or args.ble:
        current = cfg.current_locks()
        if len(current) != 1:
            raise ValueError("--sim/--ble names one lock, and this bridge has %d: give each lock's address in "
                             "the config file instead" % len(current))
        current[0].address = "sim:" + args.sim if args.sim else "ble:" + args.ble
        cfg.locks = current
    say = _out(args)
    if not cfg.current_locks():  # a service may start first; it carries a lock as soon as one is paired
        say("no lock to carry yet: pair one (lockbridge pair --sim HOST:PORT --code CODE, or --ble ADDRESS); "
            "this bridge picks it up while it runs")
    logging.basicConfig(level=logging.WARNING, format="%(name)s: %(message)s")
    logging.getLogger("mqtt").setLevel(logging.CRITICAL)  # aiomqtt's; the bridge says it in its own words
    asyncio.run(Bridge(cfg, say).run())


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        {"pair": pair, "run": run, "locks": locks, "remove": remove}[args.cmd](args)
        return 0
    except wire.LockError as e:
        msg = str(e) if e.code else (e.detail.decode(errors="replace") or "no connection to the lock")
        if e.code == wire.E_NOT_PAIRING:
            msg += ": hold the lock's button 5 s (simulator: simlock button hold 6), then pair again"
    except (identity.IdentityError, client.PairingRefused, config.ConfigError, ValueError, ConnectionError,
            OSError) as e:
        msg = str(e) or e.__class__.__name__
    except KeyboardInterrupt:
        return 0
    except Exception as e:  # bleak, paho and friends raise their own types; the user still gets one line
        msg = "%s: %s" % (e.__class__.__name__, e)
    print("lockbridge: %s" % (msg.splitlines()[0] if msg else "failed"), file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
