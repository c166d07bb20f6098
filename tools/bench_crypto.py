"""Print crypto timings: the firmware's primitives under the MicroPython Unix port (64 KiB heap), and the
client's (`cryptography`) for comparison. A benchmark prints numbers; it asserts nothing.
Usage: .venv/bin/python tools/bench_crypto.py
"""
import os
import pathlib
import subprocess
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
MICROPYTHON = ROOT / ".venv" / "bin" / "micropython"

FIRMWARE_BENCH = """
import time, os
from lock import cpace, kdf
from lock.x25519 import x25519
from lock.ccm import CCM

def per_op_us(fn, n):
    t = time.ticks_us()
    for _ in range(n):
        fn()
    return time.ticks_diff(time.ticks_us(), t) / n

s, u = os.urandom(32), os.urandom(32)
print("x25519 (one scalar mult)            %8.2f ms" % (per_op_us(lambda: x25519(s, u), 20) / 1000))

def side():
    g = cpace.generator(b"123456", b"ci", b"0123456789abcdef")
    y = cpace.new_scalar()
    Y = cpace.share(g, y)
    cpace.isk(y, Y, peer, b"lock", b"phone", b"0123456789abcdef", False)
peer = cpace.share(cpace.generator(b"123456", b"ci", b"0123456789abcdef"), os.urandom(32))
print("cpace full side (gen+share+isk)     %8.2f ms" % (per_op_us(side, 10) / 1000))
print("cpace generator (hash+Elligator2)   %8.2f ms" % (per_op_us(lambda: cpace.generator(b"123456", b"", b""), 20) / 1000))

c = CCM(os.urandom(16))
nonce, frame, aad = os.urandom(13), os.urandom(64), os.urandom(8)
sealed = c.seal(nonce, frame, aad)
print("ccm seal, 64-byte frame             %8.1f us" % per_op_us(lambda: c.seal(nonce, frame, aad), 200))
print("ccm open, 64-byte frame             %8.1f us" % per_op_us(lambda: c.open(nonce, sealed, aad), 200))
print("hkdf-sha256, 32 bytes               %8.1f us" % per_op_us(lambda: kdf.hkdf(s, u, b"info", 32), 200))
print("pbkdf2-sha256, per 1000 iterations  %8.2f ms" % (per_op_us(lambda: kdf.pbkdf2_sha256(b"123456", s[:16], 1000, 32), 5) / 1000))
"""


def host_bench() -> None:
    sys.path.insert(0, str(ROOT / "tools"))
    from lockctl import crypto

    def per_op_us(fn, n):
        t = time.perf_counter()
        for _ in range(n):
            fn()
        return (time.perf_counter() - t) / n * 1e6

    s, u = os.urandom(32), os.urandom(32)
    peer = crypto.share(crypto.generator(b"123456", b"ci", b"0123456789abcdef"), os.urandom(32))

    def side():
        g = crypto.generator(b"123456", b"ci", b"0123456789abcdef")
        y = crypto.new_scalar()
        crypto.isk(y, crypto.share(g, y), peer, b"phone", b"lock", b"0123456789abcdef", True)

    c = crypto.CCM(os.urandom(16))
    nonce, frame = os.urandom(13), os.urandom(64)
    print("x25519 (one scalar mult)            %8.3f ms" % (per_op_us(lambda: crypto.x25519(s, u), 200) / 1000))
    print("cpace full side (gen+share+isk)     %8.3f ms" % (per_op_us(side, 100) / 1000))
    print("ccm seal, 64-byte frame             %8.1f us" % per_op_us(lambda: c.seal(nonce, frame, b""), 2000))
    print("pbkdf2-sha256, per 1000 iterations  %8.3f ms" %
          (per_op_us(lambda: crypto.pbkdf2_sha256(b"123456", s[:16], 1000, 32), 50) / 1000))


def main() -> int:
    env = dict(os.environ, MICROPYPATH=str(ROOT / "firmware"))
    print("== firmware crypto, MicroPython Unix port, -X heapsize=64k ==")
    sys.stdout.flush()
    r = subprocess.run([str(MICROPYTHON), "-X", "heapsize=64k", "-c", FIRMWARE_BENCH], env=env)
    print("== client crypto, CPython + cryptography ==")
    host_bench()
    return r.returncode


if __name__ == "__main__":
    sys.exit(main())
