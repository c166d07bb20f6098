"""Pairing and command costs: the firmware's lock under the MicroPython Unix port (tools/pipelock.py, from
the mpy-cross build when present) against the CPython client. Prints figures; asserts nothing."""
import os
import pathlib
import subprocess
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


def firmware_build():
    build = ROOT / "build" / "sim"
    return str(build) if (build / "lock" / "protocol.mpy").exists() else None


def timings(firmware, out=print):
    """Pairing and per-command lock-side times (ms), printed and returned."""
    figures = {}
    out("lock: MicroPython Unix port, %s; client: CPython + cryptography"
        % ("mpy-cross build" if firmware else "firmware sources"))
    with tempfile.TemporaryDirectory() as flash:
        lock = PipeLock(flash, firmware=firmware)
        try:
            t = Timed(lock, "a")
            got, cpu = measure(lambda: client.setup(t, "123456", "alice"))
            figures["pairing_fresh_ms"] = t.lock_us / 1000
            out("pairing, fresh lock (code set):   lock %7.1f ms   client %6.1f ms CPU" % (t.lock_us / 1000, cpu))
            best = None
            for name in ("bob", "carol", "dave", "erin", "frank"):  # the best of five: load only adds time
                lock.line("E")
                t = Timed(lock, name)
                paired, cpu = measure(lambda: client.pair(t, "123456", name))
                if best is None or t.lock_us < best[0]:
                    best, got = (t.lock_us, cpu), paired
            figures["pairing_ms"] = best[0] / 1000
            out("pairing with the code (best of 5): lock %6.1f ms   client %6.1f ms CPU" % (best[0] / 1000, best[1]))
            t = Timed(lock, "session")
            s, cpu = measure(lambda: client.Session(t, got.device_id, got.key))
            figures["session_open_ms"] = t.lock_us / 1000
            out("session open:                     lock %7.1f ms   client %6.1f ms CPU" % (t.lock_us / 1000, cpu))
            commands = figures["commands_ms"] = {}
            for name, fn in (("status", s.status), ("unlock", lambda: s.action("unlock")),
                             ("devices", s.devices), ("set time", lambda: s.set_time(1767225600)),
                             ("rename (checks the code)", lambda: s.rename("123456", got.device_id, "eve"))):
                t.lock_us = 0
                fn()
                commands[name] = t.lock_us / 1000
                out("command %-25s lock %7.1f ms" % (name + ":", t.lock_us / 1000))
            figures["heap_after"] = int(lock.line("M"))
            out("lock heap in use after all that:  %d bytes" % figures["heap_after"])
        finally:
            lock.close()
    return figures


# Fills a lock's device registry directly (the firmware's own Registry), as if that many had paired.
FILL = """
import sys
from lock.devices import Registry
reg = Registry(sys.argv[1])
for i in range(int(sys.argv[2])):
    reg.add(bytes(32), "device %d" % i, 0, 0, False)
"""


def with_devices(firmware, n):
    """A lock with n devices (n >= 2): the last one pairs with the code, then its session open and status, lock side,
    and the heap in use: {"session_ms", "status_ms", "heap"}."""
    with tempfile.TemporaryDirectory() as flash:
        lock = PipeLock(flash, firmware=firmware, iterations=1000)  # the fewest a client accepts
        try:
            client.setup(lock.transport("owner"), "123456", "owner")
        finally:
            lock.close()
        env = dict(os.environ, MICROPYPATH=(firmware or str(ROOT / "firmware")) + ":.frozen")
        subprocess.run([str(ROOT / ".venv" / "bin" / "micropython"), "-c", FILL, flash, str(n - 2)],
                       env=env, check=True)
        lock = PipeLock(flash, firmware=firmware, iterations=1000)  # the fewest a client accepts
        try:
            lock.line("E")
            got = client.pair(lock.transport("p"), "123456", "last")
            session_us = status_us = None
            for _ in range(5):  # the best of five: a busy machine only adds time
                t = Timed(lock, "last")
                s = client.Session(t, got.device_id, got.key)
                session_us, t.lock_us = min(session_us or t.lock_us, t.lock_us), 0
                count = s.status()["devices"]
                status_us = min(status_us or t.lock_us, t.lock_us)
                t.close()
            return {"session_ms": session_us / 1000, "status_ms": status_us / 1000, "heap": int(lock.line("M")),
                    "devices": count}
        finally:
            lock.close()


def scaling(firmware, counts=(10, 500), out=print):
    """The same session and command at each device count: {count: figures}."""
    figures = {n: with_devices(firmware, n) for n in counts}
    for f in figures.values():
        out("%4d devices: session open %5.2f ms, status %5.2f ms, heap in use %6d bytes (lock side)"
            % (f["devices"], f["session_ms"], f["status_ms"], f["heap"]))
    return figures


def main():
    firmware = firmware_build()
    timings(firmware)
    scaling(firmware)
    print("smallest heap in which the protocol endpoint alone (tools/pipelock.py) pairs and serves: %s KiB"
          % smallest_heap(firmware))


if __name__ == "__main__":
    main()
