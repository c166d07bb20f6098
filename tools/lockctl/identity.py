"""This device's identities: one owner-only file per lock, in the user's config directory.

    ~/.config/lockctl/locks/<lock name>.json   {"lock", "device_id", "key", "name", "admin", "iterations"}

`--lock NAME` picks one; with a single known lock it is the default. The old single file
(~/.config/lockctl/identity.json) is moved into the store as the lock "lock" the first time it is seen.
"""
from __future__ import annotations

import json
import os
import pathlib
import re

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$")
FIRST_NAME = "lock"


def config_dir() -> pathlib.Path:
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return pathlib.Path(base) / "lockctl"


def store_dir() -> pathlib.Path:
    return config_dir() / "locks"


def legacy_path() -> pathlib.Path:
    return config_dir() / "identity.json"


def default_path() -> pathlib.Path:
    """Kept for callers that name one file: the store's first lock."""
    return store_dir() / (FIRST_NAME + ".json")


class IdentityError(Exception):
    pass


def check_name(name: str) -> str:
    if not NAME_RE.match(name):
        raise IdentityError("a lock name is 1 to 40 letters, digits, '.', '_' or '-' (not %r)" % name)
    return name


def _migrate() -> None:
    """The old single identity file becomes the store's lock "lock" (renamed: never two copies of a key)."""
    old = legacy_path()
    if old.exists():
        new = store_dir() / (FIRST_NAME + ".json")
        if not new.exists():
            store_dir().mkdir(parents=True, exist_ok=True, mode=0o700)
            os.replace(old, new)


def known() -> dict[str, pathlib.Path]:
    """Lock name -> identity file, for every lock this client has paired with."""
    _migrate()
    d = store_dir()
    if not d.is_dir():
        return {}
    return {p.stem: p for p in sorted(d.glob("*.json"))}


def path_for(name: str | None) -> pathlib.Path:
    """The identity file of lock `name`, or of the only known lock."""
    locks = known()
    if name is not None:
        check_name(name)
        if name not in locks:
            raise IdentityError("this client knows no lock named %r (%s): see `lockctl locks`, or pair first"
                                % (name, ", ".join(locks) or "it knows none yet"))
        return locks[name]
    if not locks:
        raise IdentityError("this client is not paired with any lock yet: set one up first "
                            "(lockctl --sim 127.0.0.1:7760 setup --code CODE --name NAME)")
    if len(locks) > 1:
        raise IdentityError("this client knows %d locks (%s): pick one with --lock NAME"
                            % (len(locks), ", ".join(locks)))
    return next(iter(locks.values()))


def new_path(name: str | None) -> tuple[str, pathlib.Path]:
    """Where a new pairing is kept: `name`, or "lock", "lock2", ... for the first free one."""
    locks = known()
    if name is None:
        n = 1
        while (FIRST_NAME if n == 1 else "%s%d" % (FIRST_NAME, n)) in locks:
            n += 1
        name = FIRST_NAME if n == 1 else "%s%d" % (FIRST_NAME, n)
    check_name(name)
    return name, store_dir() / (name + ".json")


def load(path: pathlib.Path) -> dict:
    try:
        data = json.loads(path.read_text())
        return {"lock": data.get("lock"), "device_id": int(data["device_id"]), "key": bytes.fromhex(data["key"]),
                "name": data.get("name", ""), "admin": bool(data.get("admin")),
                "iterations": data.get("iterations")}
    except FileNotFoundError:
        raise IdentityError("no identity at %s: set up a new lock first (lockctl setup --code CODE), "
                            "or pair with one (lockctl pair --code CODE)" % path) from None
    except (OSError, ValueError, KeyError, TypeError):
        raise IdentityError("the identity file %s is damaged: pair this device again "
                            "(lockctl pair --code CODE --force)" % path) from None


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
