"""The MQTT side: one broker connection for all locks, Home Assistant discovery, commands in, state out.

What every lock's link reports is kept here as the retained value of each topic (`Mirror`); a change is
published at once when the broker is connected, and everything is published again after every (re)connection,
since a restarted broker without persistence has forgotten its retained messages.

Commands are taken only as they arrive live: a retained message on a command topic (left there by a wrong
`mosquitto_pub -r`) is refused, and the session with the broker starts clean, so the broker never replays
commands queued while the bridge was away.
"""
from __future__ import annotations

import asyncio
import json
import logging
import signal
import ssl
import time

import aiomqtt

from . import discovery, state
from .config import Config, LockConf
from .link import Link, load_identity

log = logging.getLogger("lockbridge")
PUBLISH_TIMEOUT_S = 10.0
RECONCILE_S = 2.0


class Mirror:
    """topic -> retained payload: what the broker should hold for the locks."""

    def __init__(self):
        self.values: dict[str, bytes] = {}
        self.dirty: asyncio.Queue[str] = asyncio.Queue()

    def set(self, topic: str, payload) -> None:
        data = payload if isinstance(payload, bytes) else str(payload).encode()
        if self.values.get(topic) != data:
            self.values[topic] = data
            self.dirty.put_nowait(topic)


def _stamp(conf: LockConf):
    """What tells a re-paired identity (lockbridge pair --force) from the one being carried."""
    try:
        st = conf.identity.stat()
        return (st.st_mtime_ns, st.st_size, st.st_ino, conf.address)
    except OSError:
        return None


class Carried:
    """A lock the bridge carries: its link, its topics, the task running the link."""

    def __init__(self, conf: LockConf, ident: dict, where: str, link: Link, topics: discovery.Topics):
        self.conf, self.ident, self.where, self.link, self.topics = conf, ident, where, link, topics
        self.task: asyncio.Task | None = None
        self.version: str | None = None
        self.last_command: dict | None = None
        self.stamp = _stamp(conf)


class Bridge:
    def __init__(self, cfg: Config, out=None):
        if cfg.broker is None:
            raise ValueError("which broker? --broker mqtt://HOST:PORT")
        self.cfg = cfg
        self.broker = cfg.broker
        self.mirror = Mirror()
        self.locks: dict[str, Carried] = {}
        self.client: aiomqtt.Client | None = None
        self.stopping = asyncio.Event()
        self.out = out  # a line per notable event, for the person running the bridge
        self.locks_topic = cfg.base_topic + "/bridge/locks"
        self.skipped: dict[str, str] = {}

    def say(self, text: str) -> None:
        if self.out:
            self.out(text)

    # --- locks ------------------------------------------------------------------------------------------
    def _skip(self, conf: LockConf, why: str) -> None:
        """A lock that cannot be carried is said once (reconcile runs every 2 s), not at every pass."""
        if self.skipped.get(conf.name) != why:
            self.skipped[conf.name] = why
            self.say("%s: not carried: %s" % (conf.name, why))

    def _start_lock(self, conf: LockConf) -> None:
        try:
            ident = load_identity(conf.identity)
        except Exception as e:
            self._skip(conf, str(e))
            return
        where = conf.address or ident.get("lock")
        if not where:
            self._skip(conf, "the identity %s records no lock address: give one in the config file"
                       % conf.identity)
            return
        self.skipped.pop(conf.name, None)
        t = discovery.Topics(self.cfg.base_topic, conf.name)

        def emit(kind, value, name=conf.name):
            self._on_link(name, kind, value)

        link = Link(conf.name, ident, where, emit, self.cfg.poll_s, self.cfg.command_timeout_s,
                    self.cfg.reconnect_max_s)
        carried = Carried(conf, ident, where, link, t)
        self.locks[conf.name] = carried
        self._announce(carried)
        self.mirror.set(t.availability, discovery.OFFLINE)
        self.mirror.set(t.connection, "connecting")
        carried.task = asyncio.create_task(link.run(), name="lock-" + conf.name)
        self.say("%s: carrying the lock at %s as device 0x%08x" % (conf.name, where, ident["device_id"]))

    def _announce(self, c: Carried) -> None:
        for topic, cfg in discovery.configs(self.cfg.discovery_prefix, self.cfg.base_topic, c.conf.name,
                                            c.where, c.version).items():
            self.mirror.set(topic, discovery.payload(cfg))
        self._attributes(c)

    def _attributes(self, c: Carried) -> None:
        attrs = {"lock_address": c.where, "device_id": "0x%08x" % c.ident["device_id"],
                 "identity": str(c.conf.identity), "bridge_name": c.ident.get("name"),
                 "connection": c.link.connection, "unreachable_because": c.link.reason,
                 "last_command": c.last_command}
        last = c.link.last_status
        if last:
            attrs.update(lock_state=last["state"], firmware=last.get("version"), jam=last.get("jam"),
                         battery_critical=bool(last.get("critical")))
        self.mirror.set(c.topics.attributes, json.dumps(attrs, sort_keys=True))

    def _stop_lock(self, name: str, clear: bool = True) -> None:
        """The lock was removed: stop its link, empty its retained configs and state (HA drops the entities)."""
        c = self.locks.pop(name)
        if c.task is not None:
            c.task.cancel()
        if clear:
            self._clear(name)
            self.say("%s: removed; its Home Assistant entities are cleared" % name)

    def _clear(self, name: str) -> None:
        for topic in discovery.configs(self.cfg.discovery_prefix, self.cfg.base_topic, name, "-", None):
            self.mirror.set(topic, b"")
        for topic in discovery.Topics(self.cfg.base_topic, name).retained():
            self.mirror.set(topic, b"")

    def _on_link(self, name: str, kind: str, value) -> None:
        c = self.locks.get(name)
        if c is None:
            return
        t = c.topics
        if kind == "status":
            self.mirror.set(t.state, value["state"])
            self.mirror.set(t.battery, "" if value["battery"] is None else value["battery"])
            self.mirror.set(t.battery_low, "ON" if value["battery_low"] else "OFF")
            self.mirror.set(t.jammed, "ON" if value["jammed"] else "OFF")
            if value["version"] != c.version:
                c.version = value["version"]
                self._announce(c)  # the HA device shows the firmware version
            self._attributes(c)
        elif kind == "availability":
            self.mirror.set(t.availability, value)
        elif kind == "connection":
            self.mirror.set(t.connection, value)
            self._attributes(c)
            self.say("%s: %s" % (name, {"connected": "connected to the lock",
                                        "unreachable": "the lock is unreachable (%s); retrying with "
                                                       "back-off" % c.link.reason,
                                        "revoked": "the lock refused this bridge: it was revoked. "
                                                   "Pair it again (lockbridge pair) or remove it "
                                                   "(lockbridge remove %s)" % name}.get(value, value)))
        elif kind == "last_action":
            self.mirror.set(t.last_action, value["text"])
            self.mirror.set(t.last_action_attributes, json.dumps(value, sort_keys=True))

    def reconcile(self) -> None:
        """Carry exactly the configured locks whose identity exists (pair/remove while running)."""
        wanted = {c.name: c for c in self.cfg.current_locks()}
        for name in list(self.locks):
            if name not in wanted:
                self._stop_lock(name)
            elif _stamp(wanted[name]) != self.locks[name].stamp:  # paired again: carry the new identity
                self._stop_lock(name, clear=False)
                self.say("%s: its identity changed; reconnecting with it" % name)
        for name, conf in wanted.items():
            if name not in self.locks:
                self._start_lock(conf)
        self.mirror.set(self.locks_topic, json.dumps(sorted(self.locks)))

    # --- commands ---------------------------------------------------------------------------------------
    def _command_for(self, topic: str, payload: bytes) -> tuple[str, str] | None:
        """(lock name, lockctl action) for a command message, or None if it is not one of ours."""
        for name, c in self.locks.items():
            t = c.topics
            if topic == t.command:
                return name, state.COMMANDS.get(payload.decode(errors="replace").strip().upper(), "")
            for button, btopic in t.buttons.items():
                if topic == btopic:
                    return name, state.BUTTONS[button]
        return None

    async def _run_command(self, name: str, action: str, received: float) -> None:
        c = self.locks.get(name)
        if c is None:
            return
        error = await c.link.command(action)
        took = time.monotonic() - received
        result = {"command": action, "ok": error is None, "error": error, "seconds": round(took, 2),
                  "at": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
        self.mirror.set(c.topics.last_command, "%s: %s" % (action, "done" if error is None else "error: " + error))
        c.last_command = result
        self._attributes(c)
        self.say("%s: %s %s" % (name, action, "done in %.2f s" % took if error is None else "failed: " + error))

    def _on_message(self, msg: aiomqtt.Message) -> None:
        topic, payload = str(msg.topic), bytes(msg.payload or b"")
        if topic == self.cfg.discovery_prefix + "/status":
            if payload == b"online":  # Home Assistant restarted: announce again
                self._republish_all()
            return
        if topic == self.locks_topic:
            if msg.retain:  # the list the bridge left last time: clear what is no longer carried
                try:
                    before = set(json.loads(payload or b"[]"))
                except ValueError:
                    before = set()
                for gone in before - set(self.locks):
                    if isinstance(gone, str):
                        self._clear(gone)
                        self.say("%s: no longer carried; its Home Assistant entities are cleared" % gone)
            return
        target = self._command_for(topic, payload)
        if target is None:
            return
        name, action = target
        c = self.locks[name]
        if msg.retain:
            self.mirror.set(c.topics.last_command, "refused a retained command: commands must be live")
            return
        if not action:
            self.mirror.set(c.topics.last_command, "error: unknown command %r (LOCK, UNLOCK or OPEN)"
                            % payload.decode(errors="replace")[:40])
            return
        asyncio.create_task(self._run_command(name, action, time.monotonic()))

    # --- broker -----------------------------------------------------------------------------------------
    def _republish_all(self) -> None:
        for topic in self.mirror.values:
            self.mirror.dirty.put_nowait(topic)

    def _client(self) -> aiomqtt.Client:
        b = self.broker
        v5 = b.version == "5"
        tls = None
        if b.tls:
            tls = ssl.create_default_context(cafile=b.ca_file) if b.ca_file else ssl.create_default_context()
        will = aiomqtt.Will(self.cfg.base_topic + "/status", b"offline", qos=1, retain=True)
        if v5:  # a clean session: nothing the broker queued while the bridge was away is replayed
            return aiomqtt.Client(b.host, b.port, username=b.username, password=b.password,
                                  protocol=aiomqtt.ProtocolVersion.V5, will=will, keepalive=15, timeout=10,
                                  tls_context=tls, clean_start=True)
        return aiomqtt.Client(b.host, b.port, username=b.username, password=b.password,
                              protocol=aiomqtt.ProtocolVersion.V311, will=will, keepalive=15, timeout=10,
                              tls_context=tls, clean_session=True)

    async def _publisher(self, client: aiomqtt.Client) -> None:
        while True:
            topic = await self.mirror.dirty.get()
            data = self.mirror.values.get(topic)
            if data is None:
                continue
            await client.publish(topic, data, qos=1, retain=True, timeout=PUBLISH_TIMEOUT_S)

    async def _broker_session(self, client: aiomqtt.Client) -> None:
        base = self.cfg.base_topic
        await client.subscribe(self.locks_topic, qos=1)
        await client.subscribe(base + "/+/set", qos=1)
        await client.subscribe(base + "/+/+/press", qos=1)
        await client.subscribe(self.cfg.discovery_prefix + "/status", qos=1)
        await client.publish(base + "/status", b"online", qos=1, retain=True, timeout=PUBLISH_TIMEOUT_S)
        self._republish_all()

        async def receive():
            async for msg in client.messages:
                self._on_message(msg)

        tasks = [asyncio.create_task(receive()), asyncio.create_task(self._publisher(client))]
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            for t in done:
                t.result()  # the MqttError that ended this session
            raise aiomqtt.MqttError("the broker connection ended")
        finally:
            for t in tasks:
                t.cancel()

    async def _broker(self) -> None:
        backoff = 1.0
        b = self.broker
        while True:
            try:
                async with self._client() as client:
                    self.client = client
                    self.say("connected to the broker at %s:%d (MQTT %s)" % (b.host, b.port, b.version))
                    backoff = 1.0
                    await self._broker_session(client)
            except aiomqtt.MqttError as e:
                self.say("broker %s:%d: %s; reconnecting in %g s" % (b.host, b.port, e, backoff))
            finally:
                self.client = None
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, self.cfg.reconnect_max_s)

    async def _watch_locks(self) -> None:
        while True:
            self.reconcile()
            await asyncio.sleep(RECONCILE_S)

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                loop.add_signal_handler(sig, self.stopping.set)
            except (NotImplementedError, RuntimeError):
                pass
        tasks = [asyncio.create_task(self._watch_locks()), asyncio.create_task(self._broker())]
        await self.stopping.wait()
        client = self.client
        if client is not None:  # a clean stop: say offline ourselves (the will only fires on a lost link)
            try:
                for c in self.locks.values():
                    await client.publish(c.topics.availability, b"offline", qos=1, retain=True, timeout=2)
                await client.publish(self.cfg.base_topic + "/status", b"offline", qos=1, retain=True, timeout=2)
            except aiomqtt.MqttError:
                pass
        tasks += [c.task for c in self.locks.values() if c.task is not None]
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self.say("stopped")
