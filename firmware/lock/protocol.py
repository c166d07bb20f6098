# The lock's protocol endpoint, independent of BLE: whole messages in, one reply message out.
#
# `who` identifies a connection (any hashable); `channel` is PAIR or COMMAND (the characteristic the
# message came in on). Nothing a client sends can raise out of `handle`: bad input becomes an ERROR
# reply and changes nothing. A connection whose session failed or whose device was revoked is queued in
# `closing` for the transport to drop.
import os
import sys
from micropython import const

from lock import wire, store, commands
from lock.devices import Registry
from lock.passcode import Passcode, FIRST_LOCKOUT_MS
from lock.session import Session

PAIR = const(0)
COMMAND = const(1)

_PAIR_TYPES = (wire.PAIR_HELLO, wire.PAIR_CONFIRM)
_COMMAND_TYPES = (wire.SESSION_HELLO, wire.SECURE)
# Loaded for a pairing and dropped after it: pairing mode is rare, RAM is not.
_PAIRING_MODULES = ("lock.pairing", "lock.cpace", "lock.x25519")


class LockProtocol:
    def __init__(self, root, app, pairmode, now_ms, rng=os.urandom, registry=None, code=None):
        self.app = app          # .status() -> dict, .request(action) -> None | reason; may be None
        self.pairmode = pairmode
        self.rng = rng
        self.devices = registry or Registry(root, rng=rng)
        self.passcode = code or Passcode(root, now_ms, rng=rng,
                                         first_lockout_ms=getattr(app, "first_lockout_ms", FIRST_LOCKOUT_MS))
        self.pairings = {}      # who -> LockPairing in progress
        self.sessions = {}      # who -> Session
        self.closing = []       # connections the transport should drop
        self.wall = None        # (unix seconds, now_ms) when the time was last set
        self._current = None    # the connection whose command is running
        if self.devices.count() == 0:
            pairmode.enter(now_ms)

    # --- context used by pairing and commands ---------------------------------------------------

    def wall_time(self, now_ms):
        if self.wall is None:
            return 0
        return self.wall[0] + (now_ms - self.wall[1]) // 1000

    def set_wall_time(self, unix, now_ms):
        self.wall = (unix, now_ms)
        hook = getattr(self.app, "set_time", None)
        if hook:
            hook(unix)

    def revoked(self, device_id):
        """A device is gone: end its sessions now (a device revoking itself still gets its answer)."""
        for who, s in self.sessions.items():
            if s.device_id == device_id:
                if who != self._current:
                    s.kill(wire.E_UNKNOWN_DEVICE)
                self.closing.append(who)

    # --- transport side -----------------------------------------------------------------------

    def handle(self, who, channel, msg, now_ms):
        """One whole incoming message -> one reply message."""
        try:
            mtype, body = wire.parse(msg)
            if mtype not in (_PAIR_TYPES if channel == PAIR else _COMMAND_TYPES):
                return wire.error(wire.E_WRONG_CHANNEL)
            if mtype == wire.PAIR_HELLO:
                self._drop_pairing(who, now_ms)
                from lock.pairing import LockPairing
                p = LockPairing(self, who)
                self.pairings[who] = p
                reply = p.hello(body, now_ms)
                if p.ya is None:        # refused: nothing in progress
                    self._drop_pairing(who, now_ms)
                return reply
            if mtype == wire.PAIR_CONFIRM:
                busy = self.pairings.get(who)
                if busy is None:
                    return wire.error(wire.E_NOT_PAIRING)
                reply = busy.confirm(body, now_ms)
                self._drop_pairing(who, now_ms)
                return reply
            if mtype == wire.SESSION_HELLO:
                return self._session_hello(who, body)
            return self._secure(who, body, now_ms)
        except wire.WireError as e:
            self._drop_pairing(who, now_ms)
            return wire.error(e.code)
        except store.CorruptError:
            self._drop_pairing(who, now_ms)
            return wire.error(wire.E_STORAGE)
        except Exception as e:  # a bug must not take the lock down with it
            self._drop_pairing(who, now_ms)
            print("protocol error:", repr(e))
            return wire.error(wire.E_INTERNAL)

    def _session_hello(self, who, body):
        r = wire.Reader(body)
        did = r.u32()
        cnonce = r.take(16)
        r.end()
        self.sessions.pop(who, None)
        dev = self.devices.get(did)
        if dev is None:
            return wire.error(wire.E_UNKNOWN_DEVICE)
        lnonce = self.rng(16)
        self.sessions[who] = Session(dev.key, did, cnonce, lnonce)
        return wire.message(wire.SESSION_CHALLENGE, lnonce)

    def _secure(self, who, body, now_ms):
        s = self.sessions.get(who)
        if s is None:
            return wire.error(wire.E_NO_SESSION)
        if not s.alive:
            return wire.error(s.why)
        request = s.open(body)
        if request is None:
            return self._kill(who, wire.E_AUTH)
        dev = self.devices.get(s.device_id)  # revoked since the session began?
        if dev is None:
            return self._kill(who, wire.E_UNKNOWN_DEVICE)
        self._current = who
        try:
            response = commands.dispatch(self, dev, request, now_ms)
        finally:
            self._current = None
        reply = s.seal(response)
        if who in self.closing:
            s.kill(wire.E_UNKNOWN_DEVICE)
        return reply

    def _kill(self, who, code):
        s = self.sessions.pop(who, None)
        if s:
            s.kill()
        self.closing.append(who)
        return wire.error(code)

    def _drop_pairing(self, who, now_ms):
        p = self.pairings.pop(who, None)
        if p is not None:
            p.abandon(now_ms)
            if not self.pairings:
                _unload(_PAIRING_MODULES)

    def disconnected(self, who, now_ms):
        self._drop_pairing(who, now_ms)
        self.sessions.pop(who, None)

    def tick(self, now_ms):
        self.pairmode.tick(now_ms)

    def take_closing(self):
        out = self.closing
        self.closing = []
        return out

    def lockout_ms(self, now_ms):
        return self.passcode.locked_for(now_ms)


def _unload(names):
    pkg = sys.modules.get("lock")
    for name in names:
        if sys.modules.pop(name, None) is not None and pkg is not None:
            try:
                delattr(pkg, name[5:])
            except AttributeError:
                pass
