"""One lock, kept in reach: a secure session held open and polled, commands with a deadline, reconnection.

The protocol is lockctl's client library (`lockctl.client.Session` over `lockctl.transports`), which is
synchronous; each lock gets one worker thread that owns its transport and session, and the asyncio side
hands it work. Calls for one lock are thus serialized, as the lock's one-request-at-a-time rule wants.

Why a held session with a status poll (docs/DESIGN.md "The bridge" has the figures): today's lock tells its
state only inside a session and pushes nothing, and it drops a connection idle for ~30 s; a poll every
`poll_s` is both the state feed and the keep-alive. A command is sent at once on the open session.

Safety: a command carries its deadline from the moment it arrived. It is sent only before that deadline,
checked again in the worker right before the frame goes out; after it, the command is answered with an error
and dropped. A frame that was sent belongs to its session's keys and counters: after a reconnection the lock
can never accept it, so nothing queued on a dead link runs later.
"""
from __future__ import annotations

import asyncio
import concurrent.futures
import time
from dataclasses import dataclass
from typing import Callable

from lockctl import client, identity, transports, wire

from . import state

BUSY_RETRY_S = 0.25
UNCONFIRMED = "sent, but the lock did not confirm it within %g s: see its state"
TIMED_OUT = "not done within %g s (the lock is unreachable or busy): dropped"
STOPPED = "the bridge stopped carrying this lock"
REVOKED = "the lock no longer knows this bridge (revoked): pair it again with `lockbridge pair`"
SUCCESS_REFUSALS = {"already_locked", "already_unlocked"}  # an automation's "lock" on a locked door is done


@dataclass
class Command:
    name: str             # a lockctl action or "calibrate"
    deadline: float       # time.monotonic()
    reply: asyncio.Future
    sent: bool = False    # set by the worker thread as the frame goes out


class Revoked(Exception):
    pass


class Expired(Exception):
    pass


def open_transport(where: str, timeout: float):
    kind, _, addr = where.partition(":")
    if kind == "sim":
        return transports.SimTransport(addr, timeout=timeout)
    if kind == "ble":
        return transports.BleTransport(addr, timeout=timeout)
    raise ValueError("unknown lock address %r (sim:HOST:PORT or ble:ADDRESS)" % where)


def _refusal(e: wire.LockError) -> str:
    d = e.detail
    return d[1:1 + d[0]].decode(errors="replace") if e.code == wire.E_ACTION and d else ""


class Link:
    """Runs one lock: `run()` until cancelled; `command(name)` -> None (done) or an error text.

    Every change goes to `emit(kind, value)`: ("status", view dict), ("availability", "online"|"offline"),
    ("connection", "connected"|"unreachable"|"revoked"), ("last_action", dict), ("command", result dict).
    """

    def __init__(self, name: str, ident: dict, where: str, emit: Callable[[str, object], None],
                 poll_s: float = 0.5, command_timeout_s: float = 5.0, reconnect_max_s: float = 30.0,
                 opener: Callable = open_transport):
        self.name, self.ident, self.where, self.emit = name, ident, where, emit
        self.poll_s, self.command_timeout_s, self.reconnect_max_s = poll_s, command_timeout_s, reconnect_max_s
        self.opener = opener
        self.worker = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="lock-" + name)
        self.transport = None
        self.session: client.Session | None = None
        self.commands: asyncio.Queue[Command] = asyncio.Queue()
        self.actions = state.Actions(ident.get("name") or "lockbridge")
        self.connection: str | None = None
        self.reason: str | None = None  # why the lock is unreachable, as the transport said it
        self.last_status: dict | None = None

    # --- the worker thread's side (blocking) ---------------------------------------------------------
    def _open(self) -> dict:
        self._close()
        t = self.opener(self.where, max(2.0, self.command_timeout_s))
        try:
            s = client.Session(t, self.ident["device_id"], self.ident["key"])
            st = s.status()
        except BaseException:
            t.close()
            raise
        self.transport, self.session = t, s
        return st

    def _close(self) -> None:
        t, self.transport, self.session = self.transport, None, None
        if t is not None:
            try:
                t.close()
            except Exception:
                pass

    def _status(self) -> dict:
        if self.session is None:
            raise ConnectionError("not connected")
        return self.session.status()

    def _act(self, cmd: Command) -> None:
        if self.session is None:
            raise ConnectionError("not connected")
        if time.monotonic() >= cmd.deadline or cmd.reply.done():
            raise Expired()  # the last check before the frame goes out
        cmd.sent = True
        if cmd.name == "calibrate":
            self.session.calibrate()
        else:
            self.session.action(cmd.name)

    # --- asyncio side -----------------------------------------------------------------------------------
    async def _call(self, fn, *args, timeout: float):
        fut = asyncio.get_running_loop().run_in_executor(self.worker, fn, *args)
        try:
            return await asyncio.wait_for(asyncio.shield(fut), timeout)
        except asyncio.TimeoutError:
            # The worker is stuck in an exchange (its transport times out on its own): the session is no
            # longer trusted; drop it once the worker is free again.
            self.session = None
            self.worker.submit(self._close)
            raise ConnectionError("the lock did not answer in time") from None

    def _unreachable(self, reason: str) -> None:
        self.reason = reason or "no answer"
        self._set_connection("unreachable")

    def _set_connection(self, value: str) -> None:
        if value != self.connection:
            self.connection = value
            self.emit("connection", value)
            self.emit("availability", "online" if value == "connected" else "offline")

    def _publish_status(self, st: dict) -> None:
        now = time.monotonic()
        if self.last_status is None or st != self.last_status:
            self.last_status = st
            self.emit("status", state.view(st))
        action = self.actions.observe(st["state"], now)
        if action:
            self.emit("last_action", action)

    async def _connect(self, timeout: float) -> bool:
        """One attempt; True when a session is open. Revocation is final for this identity."""
        try:
            st = await self._call(self._open, timeout=timeout)
        except wire.LockError as e:
            if e.code == wire.E_UNKNOWN_DEVICE:
                raise Revoked() from None
            self._unreachable(str(e) if e.code else e.detail.decode(errors="replace"))
            return False
        except (ConnectionError, OSError, ValueError) as e:
            self._unreachable(str(e))
            return False
        except Exception as e:  # bleak and friends raise their own types: the lock is not reachable now
            self._unreachable("%s: %s" % (e.__class__.__name__, e))
            return False
        self.reason = None
        self._set_connection("connected")
        self._publish_status(st)
        return True

    def command(self, name: str) -> asyncio.Future:
        """Queue a command with its deadline; the future gives None (done) or the error text, at the latest
        at the deadline, whatever the link is doing then (reconnecting, stuck in an exchange)."""
        loop = asyncio.get_running_loop()
        cmd = Command(name, time.monotonic() + self.command_timeout_s, loop.create_future())
        loop.call_later(self.command_timeout_s, self._expire, cmd)
        self.commands.put_nowait(cmd)
        return cmd.reply

    def _expire(self, cmd: Command) -> None:
        t = self.command_timeout_s
        self._answer(cmd, UNCONFIRMED % t if cmd.sent else TIMED_OUT % t)

    async def _run_command(self, cmd: Command) -> str | None:
        while True:
            left = cmd.deadline - time.monotonic()
            if left <= 0 or cmd.reply.done():
                return TIMED_OUT % self.command_timeout_s
            if self.connection == "revoked":
                return REVOKED
            if self.session is None and not await self._connect(left):
                # reconnect on demand, once, then the command's own deadline decides
                await asyncio.sleep(min(0.5, max(0.0, cmd.deadline - time.monotonic())))
                continue
            try:
                await self._call(self._act, cmd, timeout=left + 1)
            except Expired:
                continue
            except wire.LockError as e:
                reason = _refusal(e)
                if reason in SUCCESS_REFUSALS:
                    return None
                if reason == "busy":
                    await asyncio.sleep(BUSY_RETRY_S)
                    continue
                if e.code == wire.E_UNKNOWN_DEVICE:
                    raise Revoked() from None
                if e.code in (wire.E_AUTH, wire.E_NO_SESSION, wire.E_BAD_FRAME):
                    self.session = None
                    self.worker.submit(self._close)
                return str(e)
            except (ConnectionError, OSError) as e:
                self.session = None
                self.worker.submit(self._close)
                self._unreachable(str(e))
                continue
            self.actions.commanded(cmd.name, time.monotonic())
            return None

    async def _poll(self) -> None:
        try:
            st = await self._call(self._status, timeout=self.command_timeout_s + 1)
        except wire.LockError as e:
            self.session = None
            self.worker.submit(self._close)
            if e.code == wire.E_UNKNOWN_DEVICE:
                raise Revoked() from None
            self._unreachable(str(e))
            return
        except (ConnectionError, OSError) as e:
            self.session = None
            self.worker.submit(self._close)
            self._unreachable(str(e))
            return
        self._publish_status(st)

    async def _next_command(self, wait: float) -> Command | None:
        try:
            return await asyncio.wait_for(self.commands.get(), wait)
        except asyncio.TimeoutError:
            return None

    async def run(self) -> None:
        try:
            await self._serve()
        except Revoked:
            self.session = None
            self.worker.submit(self._close)
            self._set_connection("revoked")
            while True:  # a revoked identity is dead: answer every command with that
                cmd = await self.commands.get()
                self._answer(cmd, REVOKED)
        finally:
            while not self.commands.empty():
                self._answer(self.commands.get_nowait(), STOPPED)
            self.worker.submit(self._close)
            self.worker.shutdown(wait=False)

    def _answer(self, cmd: Command, error: str | None) -> None:
        if not cmd.reply.done():
            cmd.reply.set_result(error)

    async def _do(self, cmd: Command) -> None:
        error: str | None = STOPPED
        try:
            error = await self._run_command(cmd)
        except Revoked:
            error = REVOKED
            raise
        finally:
            self._answer(cmd, error)

    async def _serve(self) -> None:
        backoff = 1.0
        next_poll = 0.0
        while True:
            if self.session is None:
                if await self._connect(self.command_timeout_s + 5):
                    backoff = 1.0
                    next_poll = time.monotonic() + self.poll_s
                else:
                    # Wait out the back-off, but a command asks for a reconnection at once.
                    cmd = await self._next_command(backoff)
                    backoff = min(backoff * 2, self.reconnect_max_s)
                    if cmd is not None:
                        await self._do(cmd)
                    continue
            cmd = await self._next_command(max(0.0, next_poll - time.monotonic()))
            if cmd is not None:
                await self._do(cmd)
                if self.session is not None:
                    await self._poll()  # the state the command caused, at once
            else:
                await self._poll()
            next_poll = time.monotonic() + self.poll_s


def load_identity(path) -> dict:
    return identity.load(path)
