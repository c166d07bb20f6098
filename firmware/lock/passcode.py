# The 6-digit security code and the wrong-guess lockout.
#
# The code is stored only as PBKDF2-SHA256(code, salt, iterations); that verifier is also CPace's
# password-related string, so the lock never needs the digits themselves.
# Every guess is counted (and persisted) BEFORE it is judged, and forgiven only on success: pulling the
# power mid-guess still costs a try. After FREE_TRIES wrong guesses each further one locks guessing for
# 30 s, doubling, capped at 4 h. The lockout is not stored as a time: at boot it restarts in full from
# the stored count, so a power cut never shortens it.
import os
import struct
from micropython import const

from lock import store
from lock.kdf import pbkdf2_sha256, ct_eq

RECORD_VERSION = const(1)
# flags (1 = code set), fails, iterations, salt, verifier
RECORD = "<BHI16s32s"
FLAG_SET = const(1)

FREE_TRIES = const(5)
FIRST_LOCKOUT_MS = const(30000)
MAX_LOCKOUT_MS = const(4 * 3600 * 1000)
ITERATIONS = const(2000)

# outcome of check()
RIGHT = const(0)
WRONG = const(1)
LOCKED = const(2)


def valid(code):
    """A code is exactly six ASCII digits (str or bytes)."""
    raw = code.encode() if isinstance(code, str) else bytes(code)
    return len(raw) == 6 and all(0x30 <= c <= 0x39 for c in raw)


def lockout_for(fails, first_ms=FIRST_LOCKOUT_MS):
    """How long guessing stays locked after the fails-th wrong guess."""
    if fails < FREE_TRIES:
        return 0
    shift = fails - FREE_TRIES
    return MAX_LOCKOUT_MS if shift >= 20 else min(first_ms << shift, MAX_LOCKOUT_MS)


def derive(code, salt, iterations):
    raw = code.encode() if isinstance(code, str) else bytes(code)
    return pbkdf2_sha256(raw, salt, iterations, 32)


class Passcode:
    def __init__(self, root, now_ms, iterations=ITERATIONS, rng=os.urandom, first_lockout_ms=FIRST_LOCKOUT_MS):
        self.path = root + "/code"
        self.first_lockout_ms = first_lockout_ms
        self.rng = rng
        self.flags, self.fails, self.iterations = 0, 0, iterations
        self.on_wrong = None  # optional callback(now_ms): the shell shows a wrong code on the ring
        self.salt = rng(16)
        self.verifier = bytes(32)
        try:
            rec = store.load(self.path)
        except store.CorruptError:
            # Never fall back to "no code": that would let anyone set a new one.
            rec = None
            self.flags, self.fails = FLAG_SET, FREE_TRIES + 9
        if rec and rec[0] == RECORD_VERSION:
            self.flags, self.fails, self.iterations, self.salt, self.verifier = struct.unpack(RECORD, rec[1])
        self.locked_until = now_ms + lockout_for(self.fails, self.first_lockout_ms)

    @property
    def is_set(self):
        return bool(self.flags & FLAG_SET)

    @property
    def prs(self):
        """CPace password-related string: the stored verifier."""
        return self.verifier

    def _save(self):
        store.save(self.path, RECORD_VERSION,
                   struct.pack(RECORD, self.flags, self.fails, self.iterations, self.salt, self.verifier))

    def locked_for(self, now_ms):
        """Milliseconds until the next guess is allowed (0 = now)."""
        return max(0, self.locked_until - now_ms)

    def tries_left(self):
        return max(0, FREE_TRIES - self.fails)

    def begin_guess(self, now_ms):
        """Count a guess before it is judged. Returns 0, or the remaining lockout in ms (nothing counted)."""
        wait = self.locked_for(now_ms)
        if wait:
            return wait
        self.fails = min(self.fails + 1, 0xFFFF)
        self._save()
        self.locked_until = now_ms + lockout_for(self.fails, self.first_lockout_ms)  # as if wrong, until proven right
        return 0

    def guess_failed(self, now_ms):
        self.locked_until = now_ms + lockout_for(self.fails, self.first_lockout_ms)
        if self.on_wrong:
            self.on_wrong(now_ms)

    def guess_ok(self):
        self.fails = 0
        self.locked_until = 0
        self._save()

    def check(self, code, now_ms):
        """One whole guess: (RIGHT, 0), (WRONG, lockout ms now) or (LOCKED, ms left; nothing counted)."""
        wait = self.begin_guess(now_ms)
        if wait:
            return LOCKED, wait
        if self.is_set and valid(code) and ct_eq(derive(code, self.salt, self.iterations), self.verifier):
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

    def change(self, old, new, now_ms):
        """Replace the code if `old` is right (a counted guess): returns check()'s (outcome, ms)."""
        if not valid(new):
            raise ValueError("code must be 6 digits")
        got = self.check(old, now_ms)
        if got[0] == RIGHT:
            self.replace(new)
        return got

    def replace(self, code):
        """Store a new code (the caller has checked the old one)."""
        if not valid(code):
            raise ValueError("code must be 6 digits")
        self.salt = self.rng(16)
        self.verifier = derive(code, self.salt, self.iterations)
        self.flags |= FLAG_SET
        self.fails = 0
        self.locked_until = 0
        self._save()
