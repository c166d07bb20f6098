# The 6-digit security code and the wrong-guess lockout.
#
# The code is stored only as PBKDF2-SHA256(code, salt, iterations); that verifier is also CPace's
# password-related string (`prs`), so the lock never needs the digits themselves.
# Every guess is counted (and persisted) BEFORE it is judged, and forgiven only on success: pulling the
# power mid-guess still costs a try. A success forgives the wrong guesses before it, never one still being
# judged (a pairing exchange in flight while a command carries the right code). After FREE_TRIES wrong
# guesses each further one locks guessing for 30 s, doubling, capped at 4 h, counted from that guess. The
# lockout is not stored as a time: at boot it restarts in full from the stored count, so a power cut never
# shortens it.
#
# API: Passcode(root, now_ms, iterations, rng, first_lockout_ms) .is_set .fails .pending .salt .iterations
# .prs .on_wrong; .check(code, now_ms) for a whole guess, or begin_guess / guess_ok / guess_failed around one;
# .locked_for(now_ms) .tries_left() .set_first(code) .replace(code); valid(code).
import os
import struct
from micropython import const

from lock import store
from lock.kdf import pbkdf2_sha256, ct_eq

_RECORD_VERSION = const(1)
# The record: flags u8 (1 = code set) | fails u16 | iterations u32 | salt 16 | verifier 32
_RECORD = const("<BHI16s32s")
_RECORD_LEN = const(55)  # struct.calcsize(_RECORD)

_FREE_TRIES = const(5)
FIRST_LOCKOUT_MS = const(30000)
_MAX_LOCKOUT_MS = const(4 * 3600 * 1000)
ITERATIONS = const(2000)

# outcome of check()
RIGHT = const(0)
WRONG = const(1)
LOCKED = const(2)


def valid(code):
    """The code as bytes if it is exactly six ASCII digits (str or bytes), else None."""
    raw = code.encode() if isinstance(code, str) else bytes(code)
    return raw if len(raw) == 6 and raw.isdigit() else None


class Passcode:
    def __init__(self, root, now_ms, iterations=ITERATIONS, rng=os.urandom, first_lockout_ms=FIRST_LOCKOUT_MS):
        self.path = root + "/code"
        self.first_lockout_ms = first_lockout_ms
        self.rng = rng
        self.on_wrong = None  # optional callback(now_ms): the shell shows a wrong code on the ring
        self.is_set, self.fails, self.iterations = False, 0, iterations
        self.pending = 0  # guesses counted and not yet judged
        self.salt = rng(16)
        self.prs = bytes(32)  # type: bytes | None  # the stored verifier; None if its record is damaged
        try:
            # another version (a firmware downgrade, a future format) or size is as unreadable as bad bytes
            rec = store.load(self.path, _RECORD_VERSION, _RECORD_LEN)
        except store.CorruptError:
            # Never fall back to "no code": that would let anyone set a new one. Nor to a known verifier: zero
            # bytes as CPace's PRS would let anyone pair. The verifier is unknown (None): a guess raises
            # CorruptError (E_STORAGE) until a factory reset at the lock.
            rec = None
            self.is_set = True
            self.fails = _FREE_TRIES + 9
            self.prs = None
        if rec:
            flags, self.fails, self.iterations, self.salt, self.prs = struct.unpack(_RECORD, rec[1])
            self.is_set = bool(flags & 1)
        self.last_guess = now_ms  # the lockout runs from the last counted guess (or from boot)

    def locked_for(self, now_ms):
        """Milliseconds until the next guess is allowed (0 = now)."""
        shift = self.fails - _FREE_TRIES
        if shift < 0:
            return 0
        lockout = _MAX_LOCKOUT_MS if shift >= 20 else min(self.first_lockout_ms << shift, _MAX_LOCKOUT_MS)
        return max(0, self.last_guess + lockout - now_ms)

    def tries_left(self):
        return max(0, _FREE_TRIES - self.fails)

    def begin_guess(self, now_ms):
        """Count a guess before it is judged. Returns 0, or the remaining lockout in ms (nothing counted)."""
        wait = self.locked_for(now_ms)
        if not wait:
            self.fails = min(self.fails + 1, 0xFFFF)
            self.pending += 1
            self._save()
            self.last_guess = now_ms  # locked as if wrong, until proven right
        return wait

    def guess_failed(self, now_ms):
        self.pending = max(0, self.pending - 1)
        self.last_guess = now_ms
        if self.on_wrong:
            self.on_wrong(now_ms)

    def guess_ok(self):
        self.pending = max(0, self.pending - 1)
        self.fails = self.pending  # the others still being judged stay counted
        self._save()

    def _save(self):
        store.save(self.path, _RECORD_VERSION,
                   struct.pack(_RECORD, self.is_set, self.fails, self.iterations, self.salt, self.prs))

    def check(self, code, now_ms):
        """One whole guess: (RIGHT, 0), (WRONG, lockout ms now) or (LOCKED, ms left; nothing counted)."""
        if self.prs is None:
            raise store.CorruptError()
        wait = self.begin_guess(now_ms)
        if wait:
            return LOCKED, wait
        raw = valid(code)
        if self.is_set and raw and ct_eq(pbkdf2_sha256(raw, self.salt, self.iterations, 32), self.prs):
            self.guess_ok()
            return RIGHT, 0
        self.guess_failed(now_ms)
        return WRONG, self.locked_for(now_ms)

    def set_first(self, code):
        """Set the code on a fresh lock; False if one is already set or the code is malformed."""
        if self.is_set or not valid(code):
            return False
        self.replace(code)
        return True

    def replace(self, code):
        """Store a new code (the caller has checked the old one); ValueError if it is malformed."""
        raw = valid(code)
        if not raw:
            raise ValueError("6 digits")
        self.salt = self.rng(16)
        self.prs = pbkdf2_sha256(raw, self.salt, self.iterations, 32)
        self.is_set = True
        self.fails = self.pending
        self._save()
