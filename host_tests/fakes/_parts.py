# The parts on the fake bus: what the bench attaches to machine._i2c_devices.


class AS5600:
    """An AS5600 whose magnet sits at `angle` counts (0..4095); status bits as the chip reports them."""

    def __init__(self, angle=0, status=0x20):
        self.angle = angle
        self.status = status

    def read(self, register, n):
        if register == 0x0B:
            return bytes([self.status])[:n]
        if register == 0x0C:
            a = self.angle % 4096
            return bytes([a >> 8, a & 0xFF])[:n]
        raise OSError(5)
