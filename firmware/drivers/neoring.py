# WS2812B / SK6812 ring through micropython's neopixel module (RMT-timed bitstream on the ESP32). Optional
# power switch: a dark WS2812B still draws about 1 mA per LED, more than the rest of the idle lock, so a
# P-MOSFET cuts the ring's 5 V while every pixel is off.
import time

import neopixel
from machine import Pin

_POWER_UP_US = 1000  # the LEDs' reset after their supply comes up; a frame sent sooner can be lost (and the
# app only writes a frame when it changes)


class NeoRing:
    def __init__(self, pin, n, power_pin=None):
        self._n = n
        self._np = neopixel.NeoPixel(Pin(pin, Pin.OUT, value=0), n)
        # P-MOSFET high side: gate low = ring powered. Start off.
        self._power = Pin(power_pin, Pin.OUT, value=1) if power_pin is not None else None
        self._powered = False

    def write(self, pixels):
        np = self._np
        lit = False
        for i in range(self._n):
            p = pixels[i]
            np[i] = p
            lit = lit or p[0] or p[1] or p[2]
        if self._power is not None and lit and not self._powered:
            self._power.value(0)
            self._powered = True
            time.sleep_us(_POWER_UP_US)
        np.write()
        if self._power is not None and not lit:
            self._power.value(1)  # after the zeros went out: the LEDs come back dark next time
            self._powered = False
