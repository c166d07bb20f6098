# The part of MicroPython's `bluetooth` module that aioble and the firmware use, for the simulated
# radio. UUIDs keep the real module's byte order (little-endian) so advertisements match a board's.
import binascii

FLAG_READ = 0x0002
FLAG_WRITE_NO_RESPONSE = 0x0004
FLAG_WRITE = 0x0008
FLAG_NOTIFY = 0x0010
FLAG_INDICATE = 0x0020


class UUID:
    def __init__(self, value):
        if isinstance(value, int):
            if not 0 <= value <= 0xFFFF:
                raise ValueError("invalid UUID")
            self._b = bytes((value & 0xFF, value >> 8))
        elif isinstance(value, str):
            h = value.replace("-", "")
            if len(h) != 32:
                raise ValueError("invalid UUID")
            self._b = bytes(reversed(binascii.unhexlify(h)))
        elif isinstance(value, UUID):
            self._b = value._b
        else:
            b = bytes(value)
            if len(b) not in (2, 4, 16):
                raise ValueError("invalid UUID")
            self._b = b

    def __eq__(self, other):
        return isinstance(other, UUID) and self._b == other._b

    def __hash__(self):
        return hash(self._b)

    def text(self):
        # Canonical text form, the way host tools (bleak) name characteristics.
        h = binascii.hexlify(bytes(reversed(self._b))).decode()
        if len(h) == 4:
            return "0000%s-0000-1000-8000-00805f9b34fb" % h
        return "%s-%s-%s-%s-%s" % (h[:8], h[8:12], h[12:16], h[16:20], h[20:])

    def __str__(self):
        return "UUID('%s')" % self.text()
