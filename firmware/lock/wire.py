# Wire format: messages, error codes, and fragmentation over small characteristic values.
#
# Message:  version u8 | type u8 | body
# Frame:    length u16 LE (of the message) | message | crc32 u32 LE (of the message)
# Fragment: header u8 (0x80 = first, low 7 bits = sequence number mod 128) | next bytes of the frame
# A frame is cut into fragments of at most the link's value size (20 bytes, or ATT MTU - 3). The crc
# catches a garbled fragment, the sequence a lost or repeated one; either fails the frame cleanly.
#
# Message types and error codes are docs/PROTOCOL.md's. Those that more than one module uses are public
# here; one that a single module uses is a private constant of that module (no global, no name in RAM):
#   types   PAIR_HELLO 0x01, SESSION_HELLO 0x10, SESSION_CHALLENGE 0x11 (protocol.py), ERROR 0x7F (here)
#   errors  OK 0 (commands.py), BAD_FRAME 1, BAD_VERSION 2, TOO_LONG 17 (here), UNKNOWN_DEVICE 8, AUTH 10,
#           INTERNAL 18, WRONG_CHANNEL 19 (protocol.py), DENIED 11, UNKNOWN_COMMAND 12, NOT_FOUND 14,
#           ACTION 15 (commands.py)
import struct
import binascii
from micropython import const

VERSION = const(1)
_MAX_MESSAGE = const(1024)

# message types
PAIR_CHALLENGE = const(0x02)
PAIR_CONFIRM = const(0x03)
PAIR_DONE = const(0x04)
SECURE = const(0x12)
_ERROR = const(0x7F)

# error codes (ERROR body: code u8 | detail; also the status byte of a secure response)
_E_BAD_FRAME = const(1)
_E_BAD_VERSION = const(2)
E_NOT_PAIRING = const(3)
E_BUSY = const(4)
E_LOCKED_OUT = const(5)      # detail: u32 ms until the next guess is allowed
E_BAD_CODE = const(6)        # detail: u8 free tries left | u32 ms locked out
E_FULL = const(7)
E_NO_SESSION = const(9)
E_BAD_ARGS = const(13)
E_STORAGE = const(16)
_E_TOO_LONG = const(17)


class WireError(Exception):
    def __init__(self, code):
        super().__init__(code)
        self.code = code


def message(mtype, data=b""):
    """The message of that type with body `data`."""
    return bytes((VERSION, mtype)) + data


def parse(data):
    """(type, body) of a message; WireError for a wrong version or an empty message."""
    if len(data) < 2:
        raise WireError(_E_BAD_FRAME)
    if data[0] != VERSION:
        raise WireError(_E_BAD_VERSION)
    return data[1], data[2:]


def error(code, detail=b""):
    return bytes((VERSION, _ERROR, code)) + detail


def fragments(data, size):
    """The fragments (each at most `size` bytes) that carry one message."""
    if len(data) > _MAX_MESSAGE:
        raise WireError(_E_TOO_LONG)
    frame = struct.pack("<H", len(data)) + data + struct.pack("<I", binascii.crc32(data) & 0xFFFFFFFF)
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

    buf = None  # the frame so far; None between frames (class defaults: no __init__ to keep in RAM)
    seq = 0

    def feed(self, data):
        """One fragment in."""
        try:
            if not data:
                raise WireError(_E_BAD_FRAME)
            head = data[0]
            if head & 0x80:
                if self.buf is not None:
                    raise WireError(_E_BAD_FRAME)  # the previous frame lost its tail
                self.buf = bytearray()
                self.seq = 0
            elif self.buf is None or head != self.seq:
                raise WireError(_E_BAD_FRAME)      # lost, repeated or reordered fragment
            self.seq = (self.seq + 1) & 0x7F
            buf = self.buf
            buf.extend(memoryview(data)[1:])
            if len(buf) < 2:
                return None
            n = struct.unpack_from("<H", buf, 0)[0]  # checked as soon as it is known, before more is kept
            if n > _MAX_MESSAGE:
                raise WireError(_E_TOO_LONG)
            if n < 2 or len(buf) > n + 6:
                raise WireError(_E_BAD_FRAME)
            if len(buf) < n + 6:
                return None
            msg = bytes(buf[2:-4])
            if binascii.crc32(msg) & 0xFFFFFFFF != struct.unpack_from("<I", buf, n + 2)[0]:
                raise WireError(_E_BAD_FRAME)
            self.buf = None
            return msg
        except WireError:
            self.buf = None
            raise


class Reader:
    """Cursor over a message body for the small fixed layouts of the protocol."""

    def __init__(self, data):
        self.data = data
        self.pos = 0

    def take(self, n):
        if n < 0 or self.pos + n > len(self.data):
            raise WireError(E_BAD_ARGS)
        out = bytes(self.data[self.pos:self.pos + n])
        self.pos += n
        return out

    def u8(self):
        return self.take(1)[0]

    def unpack(self, format):
        """The next fields, as struct.unpack(format) reads them."""
        return struct.unpack(format, self.take(struct.calcsize(format)))

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
