# ESP32 drivers behind the board interface (Stepper, Sensor, Ring, Button, BatteryADC, Watchdog). A board
# file picks its parts and pins; these modules only know the parts. Frozen by the ESP32 boards' manifests;
# tested under the Unix port against fakes of machine/esp32/neopixel (host_tests/fakes).


class MissingPart(OSError):
    """A part that does not answer (miswired, unpowered): the message names the part and what to check."""
