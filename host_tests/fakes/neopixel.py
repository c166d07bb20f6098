# A fake of micropython-lib's `neopixel` as the ESP32 firmware ships it: the same GRB byte buffer, and
# write() records a copy of it (what went down the wire, and every pin's level then) instead of calling
# machine.bitstream.
import machine

_writes = []   # (pin id, bytes, {pin id: level} at that moment) of every write()


class NeoPixel:
    ORDER = (1, 0, 2, 3)

    def __init__(self, pin, n, bpp=3, timing=1):
        self.pin = pin
        self.n = n
        self.bpp = bpp
        self.buf = bytearray(n * bpp)
        self.timing = timing

    def __len__(self):
        return self.n

    def __setitem__(self, i, v):
        offset = i * self.bpp
        for k in range(self.bpp):
            self.buf[offset + self.ORDER[k]] = v[k]

    def __getitem__(self, i):
        offset = i * self.bpp
        return tuple(self.buf[offset + self.ORDER[k]] for k in range(self.bpp))

    def fill(self, v):
        for i in range(self.n):
            self[i] = v

    def write(self):
        _writes.append((self.pin._id, bytes(self.buf), dict(machine._levels)))
