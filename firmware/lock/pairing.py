# The lock's side of one pairing exchange: CPace-X25519-SHA256 keyed by the security code (at setup: by
# the setup secret, if the lock has one).
#
#   client                                   lock
#   PAIR_HELLO  cnonce16 type name   ->      pairing mode? busy? locked out? full? -> count the guess
#               <-  PAIR_CHALLENGE flags lnonce16 salt16 iterations Ya
#   PAIR_CONFIRM Yb tagC sealed(code if setup)  ->  tagC right? -> forgive the guess, store the device
#               <-  PAIR_DONE tagL sealed(id flags)     (or ERROR bad code, guess stays counted)
#
# sid = cnonce | lnonce; PRS = the code's PBKDF2 verifier. A fresh lock has none: its setup exchange
# carries the new code inside, keyed by the setup secret provisioned at deploy time (ROOT/setup, flag 2),
# or, on a lock without one, by a constant: unauthenticated, trust on first use. Everything either side
# said goes into CPace's associated data, so a relay that rewrites any of it makes the exchange fail:
# ADa (the lock's, as initiator) = the challenge's body before Ya (flags lnonce salt iterations), ADb = the
# hello's body (cnonce type name). ISK -> HKDF(salt sid, info _INFO, 112 bytes) -> client confirm key |
# lock confirm key (32 each) | transport key (16) | device key (32); the device key thus never crosses the
# air at all. tagC = HMAC(client key, "C" Ya Yb), tagL = HMAC(lock key, "L" Yb Ya); the sealed parts use
# CCM with the transport key and the fixed nonces below. An exchange must confirm within PairMode's
# confirm_ms of its hello, or the protocol ends it (see pairmode.py).
#
#   LockPairing(ctx, who): .hello(body, now_ms) -> reply, .confirm(body, now_ms) -> reply,
#   .abandon(now_ms); .ya is our share while the exchange is open (None once it is over or was refused).
import struct
from micropython import const

from lock import wire, cpace, devices, store, pairmode
from lock.kdf import hkdf, hmac_sha256, ct_eq
from lock.ccm import CCM

_CI = const(b"smartlock pair v2")   # v2: both messages bound as associated data
_INFO = const(b"lock pair v2")
_SETUP_PRS = const(b"smartlock: no code set")
_NONCE_C2L = const(b"pair c2l\0\0\0\0\0")
_NONCE_L2C = const(b"pair l2c\0\0\0\0\0")
_FLAG_SETUP = const(1)
_FLAG_SECRET = const(2)     # with _FLAG_SETUP: this setup is keyed by the provisioned setup secret
_SECRET_VERSION = const(1)  # ROOT/setup: a store.py record, version 1, of the 16 secret bytes
_SECRET_LEN = const(16)


class LockPairing:
    """One exchange with one client (`who`). `ctx` gives pairmode, passcode, devices, rng, wall_time."""

    def __init__(self, ctx, who):
        self.ctx = ctx
        self.who = who
        self.ya = None          # our share while the exchange is open
        self.counted = False    # a guess is counted for this exchange and not yet settled

    def hello(self, body, now_ms):
        """Reply to PAIR_HELLO; a guess is counted (and persisted) before the challenge goes out."""
        ctx = self.ctx
        self.ad_b = bytes(body)
        r = wire.Reader(body)
        cnonce = r.take(16)
        self.type = r.u8()
        self.name = r.text()
        r.end()
        if self.type >= len(devices.TYPES):
            raise wire.WireError(wire.E_BAD_ARGS)
        got = ctx.pairmode.begin(self.who, now_ms)
        if got:
            return wire.error(wire.E_BUSY if got == pairmode.BUSY else wire.E_NOT_PAIRING)
        code = ctx.passcode
        if code.prs is None:
            raise store.CorruptError()  # the code's record is damaged: no exchange could prove anything
        wait = code.locked_for(now_ms)
        if wait:
            return self.abandon(now_ms, wire.error(wire.E_LOCKED_OUT, struct.pack("<I", wait)))
        if ctx.devices.count() >= ctx.devices.capacity:
            return self.abandon(now_ms, wire.error(wire.E_FULL))
        self.setup = not code.is_set
        prs = code.prs
        flags = 0
        if self.setup:
            # A damaged secret record raises CorruptError (E_STORAGE): never a fallback to trust on first use.
            secret = store.load(ctx.root + "/setup", _SECRET_VERSION, _SECRET_LEN)
            prs = _SETUP_PRS if secret is None else secret[1]
            flags = _FLAG_SETUP if secret is None else _FLAG_SETUP | _FLAG_SECRET
        else:
            code.begin_guess(now_ms)
            self.counted = True
        lnonce = ctx.rng(16)
        self.sid = cnonce + lnonce
        self.scalar = ctx.rng(32)
        self.ya = cpace.share(cpace.generator(prs, _CI, self.sid), self.scalar)
        self.ad_a = bytes((flags,)) + lnonce + code.salt + struct.pack("<I", code.iterations)
        return wire.message(wire.PAIR_CHALLENGE, self.ad_a + self.ya)

    def confirm(self, body, now_ms):
        """Reply to PAIR_CONFIRM: PAIR_DONE, or an error. The exchange is over either way."""
        ctx = self.ctx
        ya = self.ya
        if ya is None or ctx.pairmode.holder != self.who:
            return self.abandon(now_ms, wire.error(wire.E_NOT_PAIRING))
        r = wire.Reader(body)
        yb = r.take(32)
        tag_c = r.take(32)
        sealed = r.take(len(body) - 64)
        isk = cpace.isk(self.scalar, ya, yb, self.ad_a, self.ad_b, self.sid, True)
        if isk is None:
            return self.abandon(now_ms, None)
        keys = hkdf(isk, self.sid, _INFO, 112)
        if not ct_eq(hmac_sha256(keys[:32], b"C" + ya + yb), tag_c):
            return self.abandon(now_ms, None)
        code = ctx.passcode
        if self.counted:
            self.counted = False
            code.guess_ok()
        aead = CCM(keys[64:80])
        payload = aead.open(_NONCE_C2L, sealed, bytes((wire.VERSION, wire.PAIR_CONFIRM)))
        if payload is None or (self.setup and not code.set_first(payload)) or (not self.setup and payload):
            return self.abandon(now_ms, wire.error(wire.E_BAD_ARGS))
        try:
            dev = ctx.devices.add(keys[80:], self.name, self.type, ctx.wall_time(now_ms), True)
            if ctx.wall is None:
                ctx.undated.append((dev.id, now_ms))
        except devices.FullError:
            return self.abandon(now_ms, wire.error(wire.E_FULL))
        except store.CorruptError:
            return self.abandon(now_ms, wire.error(wire.E_STORAGE))
        ctx.pairmode.end(self.who, True, now_ms)
        self.ya = None
        return wire.message(wire.PAIR_DONE, hmac_sha256(keys[32:64], b"L" + yb + ya) +
                            aead.seal(_NONCE_L2C, struct.pack("<IB", dev.id, dev.flags),
                                      bytes((wire.VERSION, wire.PAIR_DONE))))

    def abandon(self, now_ms, reply=b""):
        """End the exchange unfinished and return `reply` (None: the bad-code error with the tries left).

        Also what the protocol calls when the client went away or sent garbage: a counted guess that is
        still open stands as wrong."""
        code = self.ctx.passcode
        if self.counted:
            self.counted = False
            code.guess_failed(now_ms)
        if reply is None:
            reply = wire.error(wire.E_BAD_CODE, struct.pack("<BI", code.tries_left(), code.locked_for(now_ms)))
        self.ya = None
        self.ctx.pairmode.end(self.who, False, now_ms)
        return reply
