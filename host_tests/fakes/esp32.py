# A fake of the ESP32 port's `esp32` module (RMT, NVS) for driver tests; see machine.py beside it.
# An RMT channel owns its pin: its pulse train is written into the pin's level history at the virtual times
# the hardware would produce it, and write_pulses blocks (advances virtual time) while a train still runs,
# exactly as the real call does.
import machine

_nvs = {}        # namespace -> {key: value} as committed to flash
_rmts = []       # RMT objects made


class RMT:
    PULSE_MAX = 32767

    def __init__(self, id=-1, *, pin, resolution_hz=None, clock_div=None, idle_level=False, tx_carrier=None,
                 num_symbols=48):
        if resolution_hz is None:
            resolution_hz = RMT.source_freq() // (clock_div or 1)
        self._tick_ns = 1000000000 // resolution_hz
        self._pin = pin._id
        self._idle = 1 if idle_level else 0
        self._end = 0            # virtual time the current train ends
        self._trains = []        # (start_us, durations, first level)
        self._blocked_us = 0     # how long write_pulses waited for an earlier train, in total
        machine._set_level(self._pin, self._idle)
        _rmts.append(self)

    @classmethod
    def source_freq(cls):
        return 80000000

    def write_pulses(self, duration, data=True):
        if not isinstance(duration, (list, tuple)):
            raise TypeError("only mode 1 (a list of durations) is modelled")
        for d in duration:
            if not 1 <= d <= RMT.PULSE_MAX:
                raise ValueError("pulse duration out of range")
        wait = self._end - machine._now_us()
        if wait > 0:
            self._blocked_us += wait
            machine._advance_us(wait)
        start = machine._now_us()
        self._trains.append((start, list(duration), 1 if data else 0))
        t = start * 1000
        level = 1 if data else 0
        hist = machine._history.setdefault(self._pin, [])
        for d in duration:
            hist.append((t // 1000, level))
            t += d * self._tick_ns
            level ^= 1
        hist.append((t // 1000, self._idle))
        machine._levels[self._pin] = self._idle
        self._end = (t + 999) // 1000

    def wait_done(self, *, timeout=0):
        left = self._end - machine._now_us()
        if left > 0 and timeout:
            machine._advance_us(left if timeout < 0 else min(left, timeout * 1000))
        return machine._now_us() >= self._end

    def active(self, value=None):
        if value is False:
            self._end = machine._now_us()
        return machine._now_us() < self._end

    def deinit(self):
        pass


class NVS:
    def __init__(self, namespace):
        self._committed = _nvs.setdefault(namespace, {})
        self._pending = {}

    def get_i32(self, key):
        v = self._pending.get(key, self._committed.get(key))
        if v is None:
            raise OSError(-0x1102)  # ESP_ERR_NVS_NOT_FOUND, as the port raises it
        return v

    def set_i32(self, key, value):
        self._pending[key] = value

    def commit(self):
        self._committed.update(self._pending)
        self._pending = {}

    def erase_key(self, key):
        if self._committed.pop(key, None) is None and self._pending.pop(key, None) is None:
            raise OSError(-0x1102)
