# The part of MicroPython's `bluetooth` module that the firmware uses, for the simulated board: UUID, from
# the 128-bit text form "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" the firmware names its UUIDs by. The bytes
# keep the real module's order (little-endian) so the advertisement matches a board's.
import binascii


class UUID:
    def __init__(self, value):
        value = value.lower()
        uuid = binascii.unhexlify(value.replace("-", ""))  # ValueError when not hex, as the real module
        if len(uuid) != 16 or len(value) != 36:
            raise ValueError("invalid UUID")
        self._bytes = bytes(reversed(uuid))
        self._text = value  # the canonical text form, as centrals (bleak) name characteristics
