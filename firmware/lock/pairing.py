# The lock's side of one pairing exchange: CPace-X25519-SHA256 keyed by the security code.
#
#   client                                   lock
#   PAIR_HELLO  cnonce16 type name   ->      pairing mode? busy? locked out? full? -> count the guess
#               <-  PAIR_CHALLENGE flags lnonce16 salt16 iterations Ya
#   PAIR_CONFIRM Yb tagC sealed(code if setup)  ->  tagC right? -> forgive the guess, store the device
#               <-  PAIR_DONE tagL sealed(id flags)     (or ERROR bad code, guess stays counted)
#
# sid = cnonce | lnonce; PRS = the code's PBKDF2 verifier (a fresh lock has none: the setup exchange is
# unauthenticated, trust on first use, and carries the new code inside). ISK -> HKDF -> confirmation keys,
# a transport key, and the device key, which thus never crosses the air at all.
import struct
from micropython import const

from lock import wire, cpace, devices, store, pairmode
from lock.kdf import hkdf, hmac_sha256, ct_eq
from lock.ccm import CCM

CI = b"smartlock pair v1"
INFO = b"lock pair v1"
SETUP_PRS = b"smartlock: no code set"
NONCE_C2L = b"pair c2l\0\0\0\0\0"
NONCE_L2C = b"pair l2c\0\0\0\0\0"
_FLAG_SETUP = const(1)


def pair_keys(isk, sid):
    """(client confirm key, lock confirm key, transport key, device key)"""
    okm = hkdf(isk, sid, INFO, 112)
    return okm[:32], okm[32:64], okm[64:80], okm[80:]


def tag(key, label, first, second):
    return hmac_sha256(key, label + first + second)


class LockPairing:
    """One exchange with one client (`who`). `ctx` gives pairmode, passcode, devices, rng, wall_time."""

    def __init__(self, ctx, who):
        self.ctx = ctx
        self.who = who
        self.ya = None          # our share while the exchange is open
        self.counted = False    # a guess was counted for this exchange

    def hello(self, body, now_ms):
        """Reply to PAIR_HELLO; a guess is counted (and persisted) before the challenge goes out."""
        ctx = self.ctx
        r = wire.Reader(body)
        self.cnonce = r.take(16)
        self.type = r.u8()
        self.name = r.text()
        r.end()
        if self.type >= len(devices.TYPES):
            raise wire.WireError(wire.E_BAD_ARGS)
        got = ctx.pairmode.begin(self.who, now_ms)
        if got:
            return wire.error(wire.E_BUSY if got == pairmode.BUSY else wire.E_NOT_PAIRING)
        code = ctx.passcode
        wait = code.locked_for(now_ms)
        if wait:
            return self._abort(now_ms, wire.error(wire.E_LOCKED_OUT, struct.pack("<I", wait)))
        if ctx.devices.count() >= ctx.devices.capacity:
            return self._abort(now_ms, wire.error(wire.E_FULL))
        self.setup = not code.is_set
        if not self.setup:
            code.begin_guess(now_ms)
            self.counted = True
        lnonce = ctx.rng(16)
        self.sid = self.cnonce + lnonce
        self.scalar = ctx.rng(32)
        gen = cpace.generator(SETUP_PRS if self.setup else code.prs, CI, self.sid)
        self.ya = cpace.share(gen, self.scalar)
        flags = _FLAG_SETUP if self.setup else 0
        return wire.message(wire.PAIR_CHALLENGE, bytes((flags,)) + lnonce + code.salt +
                            struct.pack("<I", code.iterations) + self.ya)

    def confirm(self, body, now_ms):
        """Reply to PAIR_CONFIRM: PAIR_DONE, or an error. The exchange is over either way."""
        ctx = self.ctx
        if self.ya is None or ctx.pairmode.holder != self.who:
            return self._fail_guess(now_ms, wire.error(wire.E_NOT_PAIRING))
        r = wire.Reader(body)
        yb = r.take(32)
        tag_c = r.take(32)
        sealed = r.take(len(body) - 64)
        isk = cpace.isk(self.scalar, self.ya, yb, b"", b"", self.sid, True)
        if isk is None:
            return self._fail_guess(now_ms, None)
        kc, kl, kenc, dkey = pair_keys(isk, self.sid)
        if not ct_eq(tag(kc, b"C", self.ya, yb), tag_c):
            return self._fail_guess(now_ms, None)
        code = ctx.passcode
        if not self.setup:
            code.guess_ok()
        aead = CCM(kenc)
        payload = aead.open(NONCE_C2L, sealed, bytes((wire.VERSION, wire.PAIR_CONFIRM)))
        if payload is None or (self.setup and not code.set_first(payload)) or (not self.setup and payload):
            return self._abort(now_ms, wire.error(wire.E_BAD_ARGS))
        try:
            dev = ctx.devices.add(dkey, self.name, self.type, ctx.wall_time(now_ms), True)
        except devices.FullError:
            return self._abort(now_ms, wire.error(wire.E_FULL))
        except store.CorruptError:
            return self._abort(now_ms, wire.error(wire.E_STORAGE))
        ctx.pairmode.end(self.who, True, now_ms)
        tag_l = tag(kl, b"L", yb, self.ya)
        self.ya = None
        done = aead.seal(NONCE_L2C, struct.pack("<IB", dev.id, dev.flags),
                         bytes((wire.VERSION, wire.PAIR_DONE)))
        return wire.message(wire.PAIR_DONE, tag_l + done)

    def abandon(self, now_ms):
        """The client went away or sent garbage mid-exchange: the counted guess stands as wrong."""
        if self.ya is not None:
            self._fail_guess(now_ms, b"")
        else:
            self.ctx.pairmode.end(self.who, False, now_ms)

    def _fail_guess(self, now_ms, reply):
        code = self.ctx.passcode
        if self.counted:
            code.guess_failed(now_ms)
        if reply is None:
            detail = bytes((code.tries_left(),)) + struct.pack("<I", code.locked_for(now_ms))
            reply = wire.error(wire.E_BAD_CODE, detail)
        return self._abort(now_ms, reply)

    def _abort(self, now_ms, reply):
        self.ya = None
        self.ctx.pairmode.end(self.who, False, now_ms)
        return reply
