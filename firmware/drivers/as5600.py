# AS5600 magnetic angle sensor on the cylinder's shaft (I2C, 12 bit per turn), unwrapped across turns.
# The unwrapped angle is saved to NVS every quarter turn, so a reboot (even mid-motion) resolves the turn
# it is in: the turn that puts the angle nearest the last saved position.
import esp32

from . import MissingPart

ADDRESS = 0x36
_STATUS = 0x0B      # bit 5 MD: magnet detected, bit 4 ML: too weak, bit 3 MH: too strong
_RAW_ANGLE = 0x0C   # 12 bit, high byte first
_COUNTS = 4096
_SAVE_EVERY = 1024  # counts: a quarter turn


def check(i2c, where):
    """None when the sensor answers and sees its magnet, else what is wrong (for the console)."""
    try:
        status = i2c.readfrom_mem(ADDRESS, _STATUS, 1)[0]
    except OSError:
        return ("AS5600 position sensor not found at I2C 0x36 (%s): check SDA/SCL, 3.3 V and GND, "
                "and the 4.7k pull-ups" % where)
    if not status & 0x20:
        return "AS5600 sees no magnet: a diametric magnet 0.5-3 mm above the chip, centred on it"
    if status & 0x10:
        return "AS5600 magnet too weak: bring it closer to the chip"
    if status & 0x08:
        return "AS5600 magnet too strong: move it further from the chip"
    return None


class AS5600:
    """read() -> position in motor steps (steps_per_rev per cylinder turn), larger towards unlatch."""

    def __init__(self, i2c, steps_per_rev, reverse=False, namespace="sensor"):
        self._i2c = i2c
        self._spr = steps_per_rev
        self._reverse = reverse
        self._buf = bytearray(2)
        self._nvs = esp32.NVS(namespace)
        try:
            saved = self._nvs.get_i32("pos")
        except OSError:
            saved = 0  # a new lock: no turn to remember yet
        raw = self._raw()
        self._turns = (saved - raw + _COUNTS // 2) // _COUNTS
        self._last = raw
        self._saved = saved

    def _raw(self):
        try:
            self._i2c.readfrom_mem_into(ADDRESS, _RAW_ANGLE, self._buf)
        except OSError:
            raise MissingPart("AS5600 position sensor stopped answering on I2C")
        raw = (self._buf[0] & 0x0F) << 8 | self._buf[1]
        return _COUNTS - 1 - raw if self._reverse else raw

    def read(self):
        raw = self._raw()
        # Between two reads (10 ms) the cylinder turns far less than half a turn: a jump means a wrap.
        if raw - self._last > _COUNTS // 2:
            self._turns -= 1
        elif self._last - raw > _COUNTS // 2:
            self._turns += 1
        self._last = raw
        pos = self._turns * _COUNTS + raw
        if abs(pos - self._saved) >= _SAVE_EVERY:
            self._nvs.set_i32("pos", pos)
            self._nvs.commit()
            self._saved = pos
        return pos * self._spr // _COUNTS
