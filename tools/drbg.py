# Deterministic bytes from a seed (SHA-256 in counter mode), for the test drivers that run the firmware under
# MicroPython (pipelock.py, testlock.py): their runs replay byte for byte from a seed. lockctl's client has the
# same construction in CPython (lockctl/client.py Drbg) for recorded transcripts.
import hashlib
import struct


class Drbg:
    def __init__(self, seed):
        self.seed, self.n, self.pool = seed, 0, b""

    def __call__(self, k):
        while len(self.pool) < k:
            self.pool += hashlib.sha256(self.seed + struct.pack("<I", self.n)).digest()
            self.n += 1
        out, self.pool = self.pool[:k], self.pool[k:]
        return out
