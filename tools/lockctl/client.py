"""The client side of the protocol (docs/PROTOCOL.md): pairing over CPace and secure sessions.

A transport moves whole messages: `exchange(channel, message) -> reply message`, channel "pair" or "cmd".
Crypto comes from lockctl.crypto (`cryptography`), independent of the firmware's own implementation.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import os
import struct
import zlib
from dataclasses import dataclass
from typing import Callable, Protocol

from . import crypto
from . import wire

CI = b"smartlock pair v2"
PAIR_INFO = b"lock pair v2"
SETUP_PRS = b"smartlock: no code set"
NONCE_C2L = b"pair c2l\0\0\0\0\0"
NONCE_L2C = b"pair l2c\0\0\0\0\0"
SESSION_INFO = b"lock session v1"
FLAG_SETUP = 1
FLAG_SECRET = 2     # with FLAG_SETUP: the lock was provisioned with a setup secret and keys its setup by it
SETUP_SECRET_LEN = 16
# PBKDF2 iterations a lock may ask for. The top stops a fake lock from hanging the phone (2**32-1 would run
# for days); 100000 is 50x what a lock uses and well under a second here. The bottom only refuses a
# nonsensical challenge: a lock's own count is 2000 (the ESP32 must compute it when the code changes), and
# a low count would not help a fake lock (CPace gives it one guess per exchange whatever the count).
MIN_ITERATIONS, MAX_ITERATIONS = 1000, 100000

TYPES = ("phone", "bridge", "keypad", "fob")

STATUS, LOCK, UNLOCK, UNLATCH, LOCKNGO, FULLLOCK = 0x01, 0x02, 0x03, 0x04, 0x05, 0x06
LIST_DEVICES, RENAME, REVOKE, CHANGE_CODE, SET_TIME = 0x10, 0x11, 0x12, 0x13, 0x14
GET_SETTINGS, SET_SETTINGS, CALIBRATE = 0x15, 0x16, 0x17
SETTINGS = ("auto_relock_s", "lockngo_s", "brightness", "button_actions")
SETTINGS_LAYOUT = "<HHBB"
ACTIONS = {"lock": LOCK, "unlock": UNLOCK, "unlatch": UNLATCH, "lockngo": LOCKNGO, "fulllock": FULLLOCK}
END_CURSOR = 0xFFFF
STATUS_FLAGS = ("low", "critical", "jammed", "pairing", "code_set", "calibration_error")


class Transport(Protocol):
    def exchange(self, channel: str, message: bytes) -> bytes: ...
    def close(self) -> None: ...


class Drbg:
    """Deterministic bytes from a seed (SHA-256 in counter mode), for recorded transcripts only."""

    def __init__(self, seed: bytes):
        self.seed, self.n, self.pool = seed, 0, b""

    def __call__(self, k: int) -> bytes:
        while len(self.pool) < k:
            self.pool += hashlib.sha256(self.seed + struct.pack("<I", self.n)).digest()
            self.n += 1
        out, self.pool = self.pool[:k], self.pool[k:]
        return out


@dataclass
class Paired:
    device_id: int
    key: bytes
    admin: bool
    iterations: int     # the lock's PBKDF2 count, authenticated by the pairing: pinned in the identity file


def code_bytes(code: str) -> bytes:
    if len(code) != 6 or not code.isdigit():
        raise ValueError("the security code is 6 digits")
    return code.encode()


class PairingRefused(Exception):
    """The client stopped a pairing before sending anything derived from the code; the text says why."""


NOT_FRESH = ("this lock already has a security code (it was set up before): pair this device with "
             "`lockctl pair --code CODE` using that code, or factory-reset the lock at its button first")
CLAIMS_FRESH = ("this lock says it has no security code yet, so nothing was sent: if it is your new lock, "
                "set it up with `lockctl setup --code CODE`; if you paired it before, someone may be "
                "impersonating it (stay near the door and try again)")


NEEDS_SECRET = ("this lock was provisioned with a setup secret, so nothing was sent: run "
                "`lockctl setup --setup-secret SECRET --code CODE` with the secret that came with the lock")
NO_SECRET = ("this lock does not ask for the setup secret you gave, so nothing was sent: a lock provisioned "
             "with one always does; it may be another device impersonating yours (stay near the door and "
             "try again)")


def format_setup_secret(secret: bytes) -> str:
    """The 16 secret bytes as the text a person types: base32 (RFC 4648) in dash-separated groups of 4."""
    text = base64.b32encode(secret).decode().rstrip("=")
    return "-".join(text[i:i + 4] for i in range(0, len(text), 4))


def parse_setup_secret(text: str) -> bytes:
    """The inverse of format_setup_secret; dashes, spaces and case do not matter. ValueError if malformed."""
    clean = "".join(text.split()).replace("-", "").upper()
    try:
        raw = base64.b32decode(clean + "=" * (-len(clean) % 8))
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != SETUP_SECRET_LEN:
        raise ValueError("the setup secret is 26 letters and digits, e.g. ABCD-EFGH-IJKL-MNOP-QRST-UVWX-YZ")
    return raw


def setup_secret_record(secret: bytes) -> bytes:
    """The lock's ROOT/setup file holding `secret` (docs/PROTOCOL.md): a store.py record, version 1."""
    body = struct.pack("<HBBHH", 0x4B4C, 1, 0, SETUP_SECRET_LEN, 1) + secret
    return body + struct.pack("<I", zlib.crc32(body) & 0xFFFFFFFF)


def setup(transport: Transport, code: str, name: str, type_: str = "phone",
          rng: Callable[[int], bytes] = os.urandom, setup_secret: bytes | None = None) -> Paired:
    """Set up a fresh lock: `code` becomes its security code and this device its first admin.

    A lock provisioned with a setup secret keys the exchange by it, so only someone holding `setup_secret`
    can set it up, and only the real lock can read the code. Without one it is trust on first use: nothing
    authenticates a fresh lock (docs/SECURITY.md). Refuses (PairingRefused), before sending anything
    derived from `code`, a lock that already has a code, one that wants a secret when none was given, and
    one that does not want the secret given (a genuine provisioned lock always does)."""
    return _pair(transport, code, name, type_, rng, True, setup_secret=setup_secret)


def pair(transport: Transport, code: str, name: str, type_: str = "phone",
         rng: Callable[[int], bytes] = os.urandom, pinned_iterations: int | None = None) -> Paired:
    """Pair with a lock that has a security code, proving `code` by CPace.

    A lock claiming to be fresh is refused (PairingRefused) before anything derived from `code` is sent:
    the claim is not authenticated, and honouring it would hand the code to whoever made it. So is one
    asking for another PBKDF2 count than `pinned_iterations` (what this lock said when we paired before)."""
    return _pair(transport, code, name, type_, rng, False, pinned_iterations)


def _pair(transport: Transport, code: str, name: str, type_: str, rng: Callable[[int], bytes],
          want_setup: bool, pinned_iterations: int | None = None, setup_secret: bytes | None = None) -> Paired:
    code_raw = code_bytes(code)
    cnonce = rng(16)
    hello = cnonce + bytes((TYPES.index(type_),)) + wire.text(name)
    challenge = wire.expect(transport.exchange("pair", wire.message(wire.PAIR_HELLO, hello)), wire.PAIR_CHALLENGE)
    if len(challenge) != 69:
        raise wire.LockError(wire.E_BAD_FRAME)
    r = wire.Reader(challenge)
    flags, lnonce, salt, iterations, ya = r.u8(), r.take(16), r.take(16), r.u32(), r.take(32)
    setup = bool(flags & FLAG_SETUP)
    if setup != want_setup:
        raise PairingRefused(NOT_FRESH if want_setup else CLAIMS_FRESH)
    keyed = setup and bool(flags & FLAG_SECRET)
    if setup and keyed != (setup_secret is not None):
        raise PairingRefused(NEEDS_SECRET if keyed else NO_SECRET)
    if not MIN_ITERATIONS <= iterations <= MAX_ITERATIONS:
        raise PairingRefused("this lock asks for %d PBKDF2 iterations, outside the %d..%d any genuine lock uses: "
                             "nothing was sent; it is not a lock lockctl pairs with"
                             % (iterations, MIN_ITERATIONS, MAX_ITERATIONS))
    if pinned_iterations is not None and iterations != pinned_iterations:
        raise PairingRefused("this lock asks for %d PBKDF2 iterations where it said %d when this device paired "
                             "with it before: nothing was sent; it may be another device impersonating it"
                             % (iterations, pinned_iterations))
    sid = cnonce + lnonce
    if setup:
        prs = setup_secret if keyed and setup_secret is not None else SETUP_PRS
    else:
        prs = crypto.pbkdf2_sha256(code_raw, salt, iterations, 32)
    scalar = rng(32)
    yb = crypto.share(crypto.generator(prs, CI, sid), scalar)
    # Both messages as associated data (ADa the lock's, ADb ours): a relay that changed either fails the pairing.
    isk = crypto.isk(scalar, yb, ya, hello, challenge[:-32], sid, False)
    if isk is None:
        raise wire.LockError(10)
    okm = crypto.hkdf(isk, sid, PAIR_INFO, 112)
    kc, kl, kenc, dkey = okm[:32], okm[32:64], okm[64:80], okm[80:]
    tag_c = crypto.hmac_sha256(kc, b"C" + ya + yb)
    sealed = crypto.CCM(kenc).seal(NONCE_C2L, code_raw if setup else b"",
                                   bytes((wire.VERSION, wire.PAIR_CONFIRM)))
    confirm = wire.message(wire.PAIR_CONFIRM, yb + tag_c + sealed)
    try:
        done = wire.expect(transport.exchange("pair", confirm), wire.PAIR_DONE)
    except wire.LockError as e:
        if keyed and e.code == wire.E_BAD_CODE:
            raise PairingRefused("wrong setup secret: the lock did not accept it (check it against the one "
                                 "that came with the lock)") from None
        raise
    if len(done) < 32 or not crypto.ct_eq(done[:32], crypto.hmac_sha256(kl, b"L" + yb + ya)):
        raise wire.LockError(10)  # not the lock we meant: it does not know the code
    body = crypto.CCM(kenc).open(NONCE_L2C, done[32:], bytes((wire.VERSION, wire.PAIR_DONE)))
    if body is None or len(body) != 5:
        raise wire.LockError(10)
    device_id, dflags = struct.unpack("<IB", body)
    return Paired(device_id, dkey, bool(dflags & 1), iterations)


def _nonce(direction: int, counter: int) -> bytes:
    return bytes((direction,)) + bytes(8) + struct.pack(">I", counter)


class Session:
    """A secure session on the command characteristic."""

    def __init__(self, transport: Transport, device_id: int, key: bytes,
                 rng: Callable[[int], bytes] = os.urandom):
        self.t = transport
        cnonce = rng(16)
        hello = wire.message(wire.SESSION_HELLO, struct.pack("<I", device_id) + cnonce)
        lnonce = wire.expect(transport.exchange("cmd", hello), wire.SESSION_CHALLENGE)
        if len(lnonce) != 16:
            raise wire.LockError(1)
        okm = crypto.hkdf(key, cnonce + lnonce, SESSION_INFO + struct.pack("<I", device_id), 32)
        self.tx, self.rx = crypto.CCM(okm[:16]), crypto.CCM(okm[16:])
        self.tx_n = self.rx_n = 0
        self.aad = bytes((wire.VERSION, wire.SECURE))

    def call(self, cmd: int, args: bytes = b"") -> bytes:
        """Run one command; returns the response body or raises LockError."""
        body = self.tx.seal(_nonce(0x43, self.tx_n), bytes((cmd,)) + args, self.aad)
        self.tx_n += 1
        reply = wire.expect(self.t.exchange("cmd", wire.message(wire.SECURE, body)), wire.SECURE)
        pt = self.rx.open(_nonce(0x4C, self.rx_n), reply, self.aad)
        if pt is None or not pt:
            raise wire.LockError(10)
        self.rx_n += 1
        if pt[0] != wire.OK:
            raise wire.LockError(pt[0], pt[1:])
        return pt[1:]

    # --- commands -----------------------------------------------------------------------------

    def status(self) -> dict:
        r = wire.Reader(self.call(STATUS))
        state = r.text()
        battery, flags = r.u8(), r.u8()
        version = r.text()
        now, count, lockout = r.u32(), r.u16(), r.u32()
        error = r.text()    # the bolt's error: "jam", "calibration_failed", "calibration_invalid"
        out = {"state": state, "battery": None if battery == 255 else battery, "version": version,
               "time": now, "devices": count, "lockout_ms": lockout, "error": error or None}
        out.update({name: bool(flags & (1 << i)) for i, name in enumerate(STATUS_FLAGS)})
        return out

    def action(self, name: str) -> None:
        self.call(ACTIONS[name])

    def devices(self) -> list[dict]:
        out, cursor = [], 0
        while cursor != END_CURSOR:
            r = wire.Reader(self.call(LIST_DEVICES, struct.pack("<H", cursor)))
            cursor, n = r.u16(), r.u8()
            for _ in range(n):
                did, typ, flags, created = r.u32(), r.u8(), r.u8(), r.u32()
                out.append({"id": did, "type": TYPES[typ] if typ < len(TYPES) else str(typ),
                            "admin": bool(flags & 1), "created": created, "name": r.text()})
        return out

    def rename(self, code: str, device_id: int, name: str) -> None:
        self.call(RENAME, code_bytes(code) + struct.pack("<I", device_id) + wire.text(name))

    def revoke(self, code: str, device_id: int) -> None:
        self.call(REVOKE, code_bytes(code) + struct.pack("<I", device_id))

    def change_code(self, old: str, new: str) -> None:
        self.call(CHANGE_CODE, code_bytes(old) + code_bytes(new))

    def set_time(self, unix: int) -> None:
        self.call(SET_TIME, struct.pack("<I", unix))

    def calibrate(self) -> None:
        self.call(CALIBRATE)

    def settings(self) -> dict:
        values = struct.unpack(SETTINGS_LAYOUT, self.call(GET_SETTINGS))
        return dict(zip(SETTINGS, values))

    def set_settings(self, code: str, **changes: int) -> dict:
        """Read, change the named settings, write back (the lock checks ranges); returns the new set."""
        now = self.settings()
        unknown = set(changes) - set(now)
        if unknown:
            raise ValueError("unknown setting: %s" % ", ".join(sorted(unknown)))
        now.update(changes)
        self.call(SET_SETTINGS, code_bytes(code) + struct.pack(SETTINGS_LAYOUT, *[int(now[k]) for k in SETTINGS]))
        return now
