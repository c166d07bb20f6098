"""The wire format on the client side (see docs/PROTOCOL.md; mirrors firmware/lock/wire.py)."""
from __future__ import annotations

import struct
import zlib

VERSION = 1
MAX_MESSAGE = 1024

PAIR_HELLO = 0x01
PAIR_CHALLENGE = 0x02
PAIR_CONFIRM = 0x03
PAIR_DONE = 0x04
SESSION_HELLO = 0x10
SESSION_CHALLENGE = 0x11
SECURE = 0x12
ERROR = 0x7F

OK = 0
ERRORS = {
    1: "malformed frame",
    2: "unsupported protocol version",
    3: "the lock is not in pairing mode",
    4: "busy: another device is pairing",
    5: "too many wrong codes: locked out",
    6: "wrong security code",
    7: "the lock is full: no room for another device",
    8: "this device is not paired with the lock (revoked?)",
    9: "no secure session",
    10: "authentication failed",
    11: "permission denied: needs an admin device",
    12: "unknown command",
    13: "bad arguments",
    14: "no such device",
    15: "the lock refused",
    16: "the lock's storage is damaged",
    17: "message too long",
    18: "internal error in the lock",
    19: "message sent on the wrong characteristic",
}
(E_BAD_FRAME, E_BAD_VERSION, E_NOT_PAIRING, E_BUSY, E_LOCKED_OUT, E_BAD_CODE, E_FULL, E_UNKNOWN_DEVICE,
 E_NO_SESSION, E_AUTH, E_DENIED, E_UNKNOWN_COMMAND, E_BAD_ARGS, E_NOT_FOUND, E_ACTION, E_STORAGE, E_TOO_LONG,
 E_INTERNAL, E_WRONG_CHANNEL) = range(1, 20)


# The mechanics' refusal codes (firmware/lock/bolt.py), as a person would want to read them.
REFUSALS = {
    "battery_critical": "the battery is critically low (it still locks; replace the batteries to unlatch)",
    "busy": "the bolt is moving; try again when it stops",
    "uncalibrated": "the lock has not learnt the door yet (calibration)",
    "already_locked": "already locked",
    "already_unlocked": "already unlocked",
    "not_supported": "this door's cylinder does not allow that",
}


class LockError(Exception):
    """An error reported by the lock (or a protocol failure), with a one-line reason."""

    def __init__(self, code: int, detail: bytes = b""):
        self.code = code
        self.detail = detail
        super().__init__(describe(code, detail))


def describe(code: int, detail: bytes = b"") -> str:
    text = ERRORS.get(code, "error %d" % code)
    try:
        if code == E_LOCKED_OUT and len(detail) >= 4:
            text += " for %d s more" % -(-struct.unpack_from("<I", detail)[0] // 1000)
        elif code == E_BAD_CODE and len(detail) >= 5:
            left, wait = detail[0], struct.unpack_from("<I", detail, 1)[0]
            text += " (locked out for %d s)" % -(-wait // 1000) if wait else " (%d tries left)" % left
        elif code in (E_ACTION, E_BAD_ARGS) and detail:  # the lock names the reason / the argument
            reason = detail[1:1 + detail[0]].decode(errors="replace")
            text += ": " + REFUSALS.get(reason, reason)
    except (struct.error, IndexError):
        pass
    return text


def message(mtype: int, body: bytes = b"") -> bytes:
    return bytes((VERSION, mtype)) + body


def parse(msg: bytes) -> tuple[int, bytes]:
    if len(msg) < 2:
        raise LockError(1)
    if msg[0] != VERSION:
        raise LockError(2)
    return msg[1], msg[2:]


def expect(msg: bytes, mtype: int) -> bytes:
    """Body of msg if it has type mtype; LockError for an ERROR message or anything else."""
    t, body = parse(msg)
    if t == ERROR:
        raise LockError(body[0] if body else 1, body[1:])
    if t != mtype:
        raise LockError(1)
    return body


def fragments(msg: bytes, size: int) -> list[bytes]:
    if len(msg) > MAX_MESSAGE:
        raise LockError(17)
    frame = struct.pack("<H", len(msg)) + msg + struct.pack("<I", zlib.crc32(msg))
    step = size - 1
    return [bytes((((0x80 if i == 0 else 0) | (n & 0x7F)),)) + frame[i:i + step]
            for n, i in enumerate(range(0, len(frame), step))]


class Reassembler:
    def __init__(self) -> None:
        self.buf: bytearray | None = None
        self.need = 0
        self.seq = 0

    def feed(self, frag: bytes) -> bytes | None:
        if not frag:
            return self._fail()
        if frag[0] & 0x80:
            self.buf, self.need, self.seq = bytearray(), 0, 0
        elif self.buf is None or frag[0] != self.seq:
            return self._fail()
        self.seq = (self.seq + 1) & 0x7F
        self.buf += frag[1:]
        if not self.need and len(self.buf) >= 2:
            self.need = 2 + struct.unpack_from("<H", self.buf)[0] + 4
            if not 2 <= self.need - 6 <= MAX_MESSAGE:
                return self._fail()
        if not self.need or len(self.buf) < self.need:
            return None
        buf, self.buf = bytes(self.buf), None
        if len(buf) != self.need or zlib.crc32(buf[2:-4]) != struct.unpack("<I", buf[-4:])[0]:
            raise LockError(1)
        return buf[2:-4]

    def _fail(self) -> None:
        self.buf = None
        raise LockError(1, b"")


def text(s: str) -> bytes:
    raw = s.encode()[:255]
    return bytes((len(raw),)) + raw


class Reader:
    def __init__(self, data: bytes):
        self.data, self.pos = data, 0

    def take(self, n: int) -> bytes:
        if self.pos + n > len(self.data):
            raise LockError(1)
        out = self.data[self.pos:self.pos + n]
        self.pos += n
        return out

    def u8(self) -> int:
        return self.take(1)[0]

    def u16(self) -> int:
        return struct.unpack("<H", self.take(2))[0]

    def u32(self) -> int:
        return struct.unpack("<I", self.take(4))[0]

    def text(self) -> str:
        return self.take(self.u8()).decode(errors="replace")
