# Button, door contact, battery: the lock's inputs.
from machine import ADC, Pin


class LatchedButton:
    """A button to GND with the internal pull-up. The falling edge is latched by an IRQ, so a press that
    happens between two polls, or whose contact is bouncing open when the poll reads it, still reads as
    pressed once; the app's classifier debounces the rest."""

    def __init__(self, pin):
        self._pin = Pin(pin, Pin.IN, Pin.PULL_UP)
        self._latched = False
        self._pin.irq(self._edge, Pin.IRQ_FALLING)

    def _edge(self, pin):
        self._latched = True

    def pressed(self):
        latched = self._latched
        self._latched = False
        return latched or self._pin.value() == 0


class ReedSwitch:
    """A door contact: a reed switch to GND in the frame, its magnet in the door. Closed (low) = door shut."""

    def __init__(self, pin):
        self._pin = Pin(pin, Pin.IN, Pin.PULL_UP)

    def closed(self):
        return self._pin.value() == 0


class DividerADC:
    """The battery through a resistor divider into an ADC1 pin (ADC2 is taken by the radio). read_uv() is
    the stack's voltage: the ESP32's calibrated reading times the divider's ratio."""

    def __init__(self, pin, r_top, r_bottom):
        # 11 dB: the calibrated range reaches about 3.1 V (2.9 V on the S3 for the linear part).
        self._adc = ADC(Pin(pin), atten=ADC.ATTN_11DB)
        self._num = r_top + r_bottom
        self._den = r_bottom

    def read_uv(self):
        return self._adc.read_uv() * self._num // self._den
