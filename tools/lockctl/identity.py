"""This device's identity for one lock (device id + 32-byte key), kept in an owner-only file."""
from __future__ import annotations

import json
import os
import pathlib


def default_path() -> pathlib.Path:
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return pathlib.Path(base) / "lockctl" / "identity.json"


class IdentityError(Exception):
    pass


def load(path: pathlib.Path) -> dict:
    try:
        data = json.loads(path.read_text())
        return {"lock": data.get("lock"), "device_id": int(data["device_id"]), "key": bytes.fromhex(data["key"]),
                "name": data.get("name", ""), "admin": bool(data.get("admin")),
                "iterations": data.get("iterations")}
    except FileNotFoundError:
        raise IdentityError("no identity at %s: set up a new lock first (lockctl setup --code CODE), "
                            "or pair with one (lockctl pair --code CODE)" % path) from None
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise IdentityError("unreadable identity %s: %s" % (path, e)) from None


def for_lock(where: str, dirs) -> list[pathlib.Path]:
    """The identity files in `dirs` that were paired with the lock at `where` (e.g. "ble:AA:BB:...")."""
    found = []
    for d in dict.fromkeys(pathlib.Path(x) for x in dirs):
        for f in sorted(d.glob("*.json")) if d.is_dir() else ():
            try:
                if json.loads(f.read_text()).get("lock") == where:
                    found.append(f)
            except (OSError, ValueError, AttributeError):
                continue  # not an identity file
    return found


def pinned_iterations(paths) -> int | None:
    """The PBKDF2 count the lock said when these identity files were paired (the first one that has it)."""
    for p in paths:
        try:
            got = load(p)["iterations"]
        except IdentityError:
            continue
        if isinstance(got, int):
            return got
    return None


def save(path: pathlib.Path, lock: str | None, device_id: int, key: bytes, name: str, admin: bool,
         iterations: int | None = None) -> None:
    """Written to a temp file created 0600, then renamed: never readable by others, never half-written.

    `iterations` pins the lock's PBKDF2 count as the pairing authenticated it: a later `pair` with that
    lock refuses a challenge asking for another (the count never changes on a lock, not even with its code)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(path.name + ".tmp")
    try:
        os.unlink(tmp)
    except FileNotFoundError:
        pass
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump({"lock": lock, "device_id": device_id, "key": key.hex(), "name": name, "admin": admin,
                   "iterations": iterations}, f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
