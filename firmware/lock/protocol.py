# The lock's protocol endpoint, independent of BLE: whole messages in, one reply message out.
#
# `who` identifies a connection (any hashable); `channel` is PAIR or COMMAND (the characteristic the
# message came in on). Nothing a client sends can raise out of `handle`: bad input becomes an ERROR
# reply and changes nothing. A connection whose session failed or whose device was revoked is queued in
# `closing` for the transport to drop.
#
# The command and pairing modules are imported when a message needs them and dropped after it: their
# code is RAM on a host build, and a lock spends nearly all its time between messages.
#
# API: LockProtocol(root, app, pairmode, now_ms, rng, code) .handle(who, channel, msg, now_ms)
# .disconnected(who, now_ms) .opened(who) .tick(now_ms) .take_closing() .lockout_ms(now_ms); .devices .passcode
# .pairmode .rng .wall_time(now_ms) for pairing and commands.
import os
import sys
from micropython import const

from lock import wire, store
from lock.devices import Registry
from lock.passcode import Passcode, FIRST_LOCKOUT_MS
from lock.session import Session

PAIR = const(0)
COMMAND = const(1)

# message types and error codes only this module uses (wire.py has the shared ones)
_PAIR_HELLO = const(0x01)
_SESSION_HELLO = const(0x10)
_SESSION_CHALLENGE = const(0x11)
_E_UNKNOWN_DEVICE = const(8)
_E_AUTH = const(10)
_E_INTERNAL = const(18)
_E_WRONG_CHANNEL = const(19)


class LockProtocol:
    def __init__(self, root, app, pairmode, now_ms, rng=os.urandom, code=None):
        self.root = root        # the flash directory (pairing reads the setup secret there)
        self.app = app          # .status() -> dict, .request(action) -> None | reason; may be None
        self.pairmode = pairmode
        self.rng = rng
        self.devices = Registry(root, rng=rng)
        self.passcode = code or Passcode(root, now_ms, rng=rng,
                                         first_lockout_ms=getattr(app, "first_lockout_ms", FIRST_LOCKOUT_MS))
        self.pairings = {}      # who -> LockPairing in progress
        self.sessions = {}      # who -> Session
        self.closing = []       # connections the transport should drop
        self.wall = None        # (unix seconds, now_ms) when the time was last set
        self.undated = []       # (device id, now_ms) paired before the clock was set: dated by SET_TIME
        if self.devices.count() == 0:
            pairmode.enter(now_ms)

    def wall_time(self, now_ms):
        if self.wall is None:
            return 0
        return self.wall[0] + (now_ms - self.wall[1]) // 1000

    def handle(self, who, channel, msg, now_ms):
        """One whole incoming message -> one reply message."""
        self._expire_pairing(now_ms)
        try:
            mtype, body = wire.parse(msg)
            if channel == PAIR:
                if mtype == _PAIR_HELLO:
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
            elif mtype == _SESSION_HELLO:
                r = wire.Reader(body)
                device_id = r.unpack("<I")[0]
                client_nonce = r.take(16)
                r.end()
                self.sessions.pop(who, None)
                dev = self.devices.get(device_id)
                if dev is None:
                    return wire.error(_E_UNKNOWN_DEVICE)
                lock_nonce = self.rng(16)
                self.sessions[who] = Session(dev.key, device_id, client_nonce, lock_nonce)
                return wire.message(_SESSION_CHALLENGE, lock_nonce)
            elif mtype == wire.SECURE:
                s = self.sessions.get(who)
                if s is None:
                    return wire.error(wire.E_NO_SESSION)
                if not s.alive:         # only a revoked device's session stays here dead
                    return wire.error(_E_UNKNOWN_DEVICE)
                request = s.open(body)
                # a forged or replayed frame, or a device revoked since the session began: the end of it
                dev = request is not None and self.devices.get(s.device_id)
                if not dev:
                    self.sessions.pop(who)
                    self.closing.append(who)
                    return wire.error(_E_AUTH if request is None else _E_UNKNOWN_DEVICE)
                revoked = len(self.closing)
                from lock import commands
                try:
                    reply = s.seal(commands.dispatch(self, dev, request, now_ms))
                finally:
                    _unload(["commands"])
                for gone in self.closing[revoked:]:  # a revoke ends those sessions now, its own after the reply
                    self.sessions[gone].alive = False
                return reply
            return wire.error(_E_WRONG_CHANNEL)
        except wire.WireError as e:
            self._drop_pairing(who, now_ms)
            return wire.error(e.code)
        except store.CorruptError:
            self._drop_pairing(who, now_ms)
            return wire.error(wire.E_STORAGE)
        except Exception as e:  # a bug must not take the lock down with it
            self._drop_pairing(who, now_ms)
            print("protocol error:", repr(e))
            return wire.error(_E_INTERNAL)

    def _drop_pairing(self, who, now_ms):
        p = self.pairings.pop(who, None)
        if p is not None:
            p.abandon(now_ms)
            if not self.pairings:
                _unload(["pairing", "cpace", "x25519"])  # a list, not a tuple: its names stay interned

    def disconnected(self, who, now_ms):
        self._drop_pairing(who, now_ms)
        self.sessions.pop(who, None)

    def opened(self, who):
        """True while `who` runs a pairing exchange or a session that has carried one authentic frame: what
        keeps its connection beyond the transport's first seconds."""
        s = self.sessions.get(who)
        return who in self.pairings or (s is not None and s.rx_count > 0)

    def tick(self, now_ms):
        self._expire_pairing(now_ms)
        self.pairmode.tick(now_ms)

    def _expire_pairing(self, now_ms):
        """End an exchange that has not confirmed in time (its guess stands as wrong): one stalled hello
        must not hold the pairing window."""
        who = self.pairmode.overdue(now_ms)
        if who is not None:
            self._drop_pairing(who, now_ms)
            self.pairmode.end(who, False, now_ms)   # (a no-op once the exchange's abandon has freed it)

    def take_closing(self):
        out = self.closing
        self.closing = []
        return out

    def lockout_ms(self, now_ms):
        return self.passcode.locked_for(now_ms)


def _unload(names):
    """Drop the modules lock.<name> (a later import loads them again), so their RAM can be collected."""
    pkg = sys.modules.get("lock")
    for name in names:
        if sys.modules.pop("lock." + name, None) is not None and pkg is not None:
            try:
                delattr(pkg, name)
            except AttributeError:
                pass
