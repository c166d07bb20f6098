"""What a bridge runs with: the broker, its timings, and the locks it carries (one identity file each).

Flags and a config file (TOML or JSON, same keys) give the same settings; a flag wins over the file.

    broker = "mqtt://127.0.0.1:1883"     # mqtts://... implies tls = true
    username = "lockbridge"              # optional
    password_file = "/etc/lockbridge/mqtt-password"
    tls = false
    ca_file = "/etc/ssl/certs/home-ca.pem"   # optional, for a broker with its own CA
    mqtt_version = "5"                   # or "3.1.1"
    base_topic = "lockbridge"
    discovery_prefix = "homeassistant"
    poll_s = 0.5                         # status poll while connected (also the keep-alive)
    command_timeout_s = 5                # a command not done by then is answered with an error and dropped
    reconnect_max_s = 30                 # longest pause between reconnection attempts (lock or broker)
    store = "~/.config/lockbridge/locks" # where `lockbridge pair` keeps identities
    [[locks]]                            # optional: without it, every identity in the store is a lock
    name = "front-door"
    identity = "~/.config/lockbridge/locks/front-door.json"
    address = "ble:AA:BB:CC:DD:EE:FF"    # optional: overrides the address recorded at pairing
"""
from __future__ import annotations

import json
import os
import pathlib
import re
import tomllib
from dataclasses import dataclass, field
from urllib.parse import urlsplit

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,39}$")  # also an MQTT topic level and an HA node id


class ConfigError(Exception):
    pass


def config_dir() -> pathlib.Path:
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return pathlib.Path(base) / "lockbridge"


def default_store() -> pathlib.Path:
    return config_dir() / "locks"


def check_name(name: str) -> str:
    if not NAME_RE.match(name):
        raise ConfigError("a lock name is 1 to 40 letters, digits, '_' or '-' (not %r)" % name)
    return name


@dataclass
class LockConf:
    name: str
    identity: pathlib.Path
    address: str | None = None  # "sim:HOST:PORT" | "ble:ADDRESS"; None = as recorded in the identity


@dataclass
class Broker:
    host: str
    port: int
    tls: bool = False
    ca_file: str | None = None
    username: str | None = None
    password: str | None = None
    version: str = "5"


@dataclass
class Config:
    broker: Broker | None
    base_topic: str = "lockbridge"
    discovery_prefix: str = "homeassistant"
    poll_s: float = 0.5
    command_timeout_s: float = 5.0
    reconnect_max_s: float = 30.0
    store: pathlib.Path = field(default_factory=default_store)
    locks: list[LockConf] | None = None  # None: every identity in `store`

    def current_locks(self) -> list[LockConf]:
        """The locks to carry now: the listed ones, or the store's; only those whose identity exists
        (`lockbridge remove` deletes one while the bridge runs; `lockbridge pair` adds one)."""
        if self.locks is not None:
            return [c for c in self.locks if c.identity.exists()]
        if not self.store.is_dir():
            return []
        return [LockConf(p.stem, p) for p in sorted(self.store.glob("*.json")) if NAME_RE.match(p.stem)]


def read_file(path: pathlib.Path) -> dict:
    try:
        text = path.read_text()
    except OSError as e:
        raise ConfigError("cannot read the config file %s: %s" % (path, e.strerror or e)) from None
    try:
        return json.loads(text) if path.suffix == ".json" else tomllib.loads(text)
    except (ValueError, tomllib.TOMLDecodeError) as e:
        raise ConfigError("the config file %s is not valid %s: %s"
                          % (path, "JSON" if path.suffix == ".json" else "TOML", e)) from None


def parse_broker(url: str, tls: bool | None = None) -> tuple[str, int, bool]:
    u = urlsplit(url if "://" in url else "mqtt://" + url)
    if u.scheme not in ("mqtt", "mqtts"):
        raise ConfigError("the broker is mqtt://HOST:PORT or mqtts://HOST:PORT (not %r)" % url)
    secure = u.scheme == "mqtts" or bool(tls)
    try:
        port = u.port or (8883 if secure else 1883)
    except ValueError:
        raise ConfigError("bad port in the broker address %r" % url) from None
    if not u.hostname:
        raise ConfigError("no host in the broker address %r" % url)
    return u.hostname, port, secure


def _path(value) -> pathlib.Path:
    return pathlib.Path(os.path.expanduser(str(value)))


def build(values: dict, file_dir: pathlib.Path | None = None, need_broker: bool = True) -> Config:
    """A Config from merged settings (file values overridden by flags that were given)."""
    known = {"broker", "username", "password_file", "tls", "ca_file", "mqtt_version", "base_topic",
             "discovery_prefix", "poll_s", "command_timeout_s", "reconnect_max_s", "store", "locks"}
    unknown = set(values) - known
    if unknown:
        raise ConfigError("unknown setting(s): %s (known: %s)" % (", ".join(sorted(unknown)), ", ".join(sorted(known))))
    if not values.get("broker"):
        if need_broker:
            raise ConfigError("which broker? --broker mqtt://HOST:PORT (or `broker` in the config file)")
        return _common(Config(None), values, file_dir)
    host, port, tls = parse_broker(str(values["broker"]), values.get("tls"))
    password = None
    if values.get("password_file"):
        try:
            password = _path(values["password_file"]).read_text().rstrip("\r\n")
        except OSError as e:
            raise ConfigError("cannot read the password file: %s" % (e.strerror or e)) from None
    version = str(values.get("mqtt_version", "5"))
    if version not in ("5", "3.1.1"):
        raise ConfigError("mqtt_version is \"5\" or \"3.1.1\" (not %r)" % version)
    broker = Broker(host, port, tls, values.get("ca_file"), values.get("username"), password, version)
    return _common(Config(broker), values, file_dir)


def _common(cfg: Config, values: dict, file_dir: pathlib.Path | None) -> Config:
    for key in ("base_topic", "discovery_prefix"):
        if key in values:
            if not re.match(r"^[A-Za-z0-9_/-]+$", str(values[key])) or str(values[key]).endswith("/"):
                raise ConfigError("%s must be topic levels without wildcards (not %r)" % (key, values[key]))
            setattr(cfg, key, str(values[key]))
    for key, low, high in (("poll_s", 0.1, 25.0), ("command_timeout_s", 1.0, 60.0), ("reconnect_max_s", 1.0, 3600.0)):
        if key in values:
            try:
                v = float(values[key])
            except (TypeError, ValueError):
                v = -1.0
            if not low <= v <= high:
                raise ConfigError("%s must be between %g and %g (not %r)" % (key, low, high, values[key]))
            setattr(cfg, key, v)
    if values.get("store"):
        cfg.store = _path(values["store"])
    if values.get("locks") is not None:
        locks = []
        for entry in values["locks"]:
            if not isinstance(entry, dict) or "name" not in entry:
                raise ConfigError("each [[locks]] entry needs a name (and optionally identity, address)")
            name = check_name(str(entry["name"]))
            ident = _path(entry["identity"]) if entry.get("identity") else cfg.store / (name + ".json")
            if file_dir is not None and not ident.is_absolute():
                ident = file_dir / ident
            locks.append(LockConf(name, ident, entry.get("address")))
        if len({c.name for c in locks}) != len(locks):
            raise ConfigError("two [[locks]] entries have the same name")
        cfg.locks = locks
    return cfg
