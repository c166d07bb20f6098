"""Pairing and command costs: the firmware's lock under the MicroPython Unix port (tools/pipelock.py, from
the mpy-cross build when present) against the CPython client. Prints figures; asserts nothing."""
import pathlib
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
from lockctl import client  # noqa: E402
from lockctl.transports import PipeLock  # noqa: E402


class Timed:
    """Wraps a transport: sums the lock's own time per message and the client's CPU time around it."""

    def __init__(self, lock, who):
        self.lock, self.t = lock, lock.transport(who)
        self.lock_us = 0

    def exchange(self, channel, msg):
        reply = self.t.exchange(channel, msg)
        self.lock_us += int(self.lock.line("L"))
        return reply

    def close(self):
        self.t.close()


def measure(fn):
    c0 = time.process_time()
    out = fn()
    return out, (time.process_time() - c0) * 1000


def pairs_on(heap_k, firmware):
    """Does the protocol endpoint alone pair twice and serve a session in this heap?"""
    with tempfile.TemporaryDirectory() as flash:
        lock = PipeLock(flash, firmware=firmware, heap="%dk" % heap_k)
        try:
            client.setup(lock.transport("a"), "123456", "alice")
            lock.line("E")
            got = client.pair(lock.transport("b"), "123456", "bob")
            s = client.Session(lock.transport("b"), got.device_id, got.key)
            s.devices()
            s.rename("123456", got.device_id, "bob")
            return True
        except (ConnectionError, OSError, ValueError):
            return False
        finally:
            lock.p.kill()
            lock.p.wait()


def smallest_heap(firmware):
    lo, hi = 8, 128
    if not pairs_on(hi, firmware):
        return None
    while hi - lo > 2:
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if pairs_on(mid, firmware) else (mid, hi)
    return hi


def main():
    build = ROOT / "build" / "sim"
    firmware = str(build) if (build / "lock" / "protocol.mpy").exists() else None
    print("lock: MicroPython Unix port, %s; client: CPython + cryptography"
          % ("mpy-cross build" if firmware else "firmware sources"))
    with tempfile.TemporaryDirectory() as flash:
        lock = PipeLock(flash, firmware=firmware)
        try:
            t = Timed(lock, "a")
            got, cpu = measure(lambda: client.setup(t, "123456", "alice"))
            print("pairing, fresh lock (code set):   lock %7.1f ms   client %6.1f ms CPU"
                  % (t.lock_us / 1000, cpu))
            lock.line("E")
            t = Timed(lock, "b")
            got, cpu = measure(lambda: client.pair(t, "123456", "bob"))
            print("pairing with the code:            lock %7.1f ms   client %6.1f ms CPU"
                  % (t.lock_us / 1000, cpu))
            t = Timed(lock, "b")
            s, cpu = measure(lambda: client.Session(t, got.device_id, got.key))
            print("session open:                     lock %7.1f ms   client %6.1f ms CPU" % (t.lock_us / 1000, cpu))
            for name, fn in (("status", s.status), ("unlock", lambda: s.action("unlock")),
                             ("devices", s.devices), ("set time", lambda: s.set_time(1767225600)),
                             ("rename (checks the code)", lambda: s.rename("123456", got.device_id, "bob"))):
                t.lock_us = 0
                fn()
                print("command %-25s lock %7.1f ms" % (name + ":", t.lock_us / 1000))
            print("lock heap in use after all that:  %d bytes" % int(lock.line("M")))
        finally:
            lock.close()
    print("smallest heap in which the protocol endpoint alone (tools/pipelock.py) pairs and serves: %s KiB"
          % smallest_heap(firmware))


if __name__ == "__main__":
    main()
