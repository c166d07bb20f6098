"""HMAC-SHA256 (RFC 2104), HKDF (RFC 5869), PBKDF2-SHA256 (RFC 8018) and a constant-time compare.

    hmac_sha256(key, msg)  hkdf(ikm, salt, info, length)  hkdf_extract(salt, ikm)  hkdf_expand(prk, info, length)
    pbkdf2_sha256(password, salt, iterations, length)  ct_eq(a, b)
"""
import hashlib
from micropython import const

_BLOCK = const(64)  # SHA-256 input block
_DIGEST = const(32)


def hmac_sha256(key, msg, rounds=1):
    """HMAC(key, msg). With rounds > 1 it is PBKDF2's F instead: U1 = HMAC(key, msg), Un = HMAC(key, Un-1),
    all XORed together; the key schedule is done once for all the rounds."""
    if len(key) > _BLOCK:
        key = hashlib.sha256(key).digest()
    key = key + bytes(_BLOCK - len(key))  # a new object, never the caller's bytearray extended
    ones = ((1 << 8 * len(key)) - 1) // 255  # 0x0101...01, one per key byte
    key = int.from_bytes(key, "big")
    ipad = (key ^ 0x36 * ones).to_bytes(_BLOCK, "big")
    opad = (key ^ 0x5C * ones).to_bytes(_BLOCK, "big")
    acc = 0
    for _ in range(rounds):
        h = hashlib.sha256(ipad)
        h.update(msg)
        outer = hashlib.sha256(opad)
        outer.update(h.digest())
        msg = outer.digest()
        acc ^= int.from_bytes(msg, "big")
    return acc.to_bytes(_DIGEST, "big")


# HKDF-Extract(salt, ikm) is HMAC(salt, ikm); the RFC's default salt (32 zero bytes) pads to the same HMAC key
# as an empty one, so an empty salt needs no special case.
hkdf_extract = hmac_sha256


def hkdf_expand(prk, info, length):
    if length < 0 or length > 255 * _DIGEST:
        raise ValueError("length")
    out = b""
    block = b""
    i = 1
    while len(out) < length:
        block = hmac_sha256(prk, block + info + bytes((i,)))
        out += block
        i += 1
    return out[:length]


def hkdf(ikm, salt, info, length):
    return hkdf_expand(hkdf_extract(salt, ikm), info, length)


def pbkdf2_sha256(password, salt, iterations, length):
    if iterations < 1 or length < 1:
        raise ValueError("iterations" if iterations < 1 else "length")
    out = b""
    i = 1
    while len(out) < length:
        out += hmac_sha256(password, salt + i.to_bytes(4, "big"), iterations)
        i += 1
    return out[:length]


def ct_eq(a, b):
    """True when a == b; time depends only on the lengths, never on where they differ."""
    if len(a) != len(b):
        return False
    diff = 0
    for i in range(len(a)):
        diff |= a[i] ^ b[i]
    return diff == 0
