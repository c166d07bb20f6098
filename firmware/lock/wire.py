# Wire format: messages, error codes, and fragmentation over small characteristic values.
#
# Message:  version u8 | type u8 | body
# Frame:    length u16 LE (of the message) | message | crc32 u32 LE (of the message)
# Fragment: header u8 (0x80 = first, low 7 bits = sequence number mod 128) | next bytes of the frame
# A frame is cut into fragments of at most the link's value size (20 bytes, or ATT MTU - 3). The crc
# catches a garbled fragment, the sequence a lost or repeated one; either fails the frame cleanly.
import struct
import binascii
from micropython import const

VERSION = const(1)
MAX_MESSAGE = const(1024)

# message types
PAIR_HELLO = const(0x01)
PAIR_CHALLENGE = const(0x02)
PAIR_CONFIRM = const(0x03)
PAIR_DONE = const(0x04)
SESSION_HELLO = const(0x10)
SESSION_CHALLENGE = const(0x11)
SECURE = const(0x12)
ERROR = const(0x7F)

# error codes (ERROR body: code u8 | detail; also the status byte of a secure response)
OK = const(0)
E_BAD_FRAME = const(1)
E_BAD_VERSION = const(2)
E_NOT_PAIRING = const(3)
E_BUSY = const(4)
E_LOCKED_OUT = const(5)      # detail: u32 ms until the next guess is allowed
E_BAD_CODE = const(6)        # detail: u8 free tries left | u32 ms locked out
E_FULL = const(7)
E_UNKNOWN_DEVICE = const(8)
E_NO_SESSION = const(9)
E_AUTH = const(10)
E_DENIED = const(11)
E_UNKNOWN_COMMAND = const(12)
E_BAD_ARGS = const(13)
E_NOT_FOUND = const(14)
E_ACTION = const(15)         # detail: reason text from the lock mechanics
E_STORAGE = const(16)
E_TOO_LONG = const(17)
E_INTERNAL = const(18)
E_WRONG_CHANNEL = const(19)


class WireError(Exception):
    def __init__(self, code):
        super().__init__(code)
        self.code = code


def message(mtype, body=b""):
    return bytes((VERSION, mtype)) + body


def parse(msg):
    """(type, body); WireError for a wrong version or an empty message."""
    if len(msg) < 2:
        raise WireError(E_BAD_FRAME)
    if msg[0] != VERSION:
        raise WireError(E_BAD_VERSION)
    return msg[1], msg[2:]


def error(code, detail=b""):
    return message(ERROR, bytes((code,)) + detail)


def fragments(msg, size):
    """The fragments (each at most `size` bytes) that carry one message."""
    if len(msg) > MAX_MESSAGE:
        raise WireError(E_TOO_LONG)
    frame = struct.pack("<H", len(msg)) + msg + struct.pack("<I", binascii.crc32(msg) & 0xFFFFFFFF)
    step = size - 1
    out = []
    seq = 0
    for i in range(0, len(frame), step):
        out.append(bytes(((0x80 if i == 0 else 0) | seq,)) + frame[i:i + step])
        seq = (seq + 1) & 0x7F
    return out


class Reassembler:
    """Feed fragments in arrival order; `feed` returns a whole message, None (need more), or raises
    WireError and forgets the partial frame."""

    def __init__(self, limit=MAX_MESSAGE):
        self.limit = limit
        self.buf = None
        self.need = 0
        self.seq = 0

    def reset(self):
        self.buf = None

    def feed(self, frag):
        if not frag:
            return self._fail(E_BAD_FRAME)
        head = frag[0]
        if head & 0x80:
            if self.buf is not None:
                return self._fail(E_BAD_FRAME)  # the previous frame lost its tail
            self.buf = bytearray()
            self.need = 0
            self.seq = 0
        elif self.buf is None or head != self.seq:
            return self._fail(E_BAD_FRAME)      # lost, repeated or reordered fragment
        self.seq = (self.seq + 1) & 0x7F
        self.buf.extend(memoryview(frag)[1:])
        if not self.need and len(self.buf) >= 2:
            self.need = 2 + struct.unpack_from("<H", self.buf, 0)[0] + 4
            if self.need - 6 > self.limit or self.need - 6 < 2:
                return self._fail(E_TOO_LONG if self.need - 6 > self.limit else E_BAD_FRAME)
        if not self.need or len(self.buf) < self.need:
            return None
        if len(self.buf) > self.need:
            return self._fail(E_BAD_FRAME)
        msg = bytes(self.buf[2:-4])
        crc = struct.unpack_from("<I", self.buf, len(self.buf) - 4)[0]
        self.buf = None
        if binascii.crc32(msg) & 0xFFFFFFFF != crc:
            raise WireError(E_BAD_FRAME)
        return msg

    def _fail(self, code):
        self.buf = None
        raise WireError(code)


class Reader:
    """Cursor over a message body for the small fixed layouts of the protocol."""

    def __init__(self, data, pos=0):
        self.data = data
        self.pos = pos

    def take(self, n):
        if n < 0 or self.pos + n > len(self.data):
            raise WireError(E_BAD_ARGS)
        out = bytes(self.data[self.pos:self.pos + n])
        self.pos += n
        return out

    def u8(self):
        return self.take(1)[0]

    def u16(self):
        return struct.unpack("<H", self.take(2))[0]

    def u32(self):
        return struct.unpack("<I", self.take(4))[0]

    def text(self):
        """u8 length | UTF-8 bytes"""
        try:
            return self.take(self.u8()).decode()
        except UnicodeError:
            raise WireError(E_BAD_ARGS)

    def end(self):
        if self.pos != len(self.data):
            raise WireError(E_BAD_ARGS)


def text(s):
    raw = s.encode() if isinstance(s, str) else bytes(s)
    raw = raw[:255]
    return bytes((len(raw),)) + raw
