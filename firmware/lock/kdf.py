"""HMAC-SHA256 (RFC 2104), HKDF (RFC 5869), PBKDF2-SHA256 (RFC 8018) and a constant-time compare."""
import hashlib
from micropython import const

_BLOCK = const(64)  # SHA-256 input block
_DIGEST = const(32)


def _pads(key):
    if len(key) > _BLOCK:
        key = hashlib.sha256(key).digest()
    key = key + bytes(_BLOCK - len(key))
    return bytes(b ^ 0x36 for b in key), bytes(b ^ 0x5C for b in key)


def _hmac(pads, msg):
    inner = hashlib.sha256(pads[0])
    inner.update(msg)
    outer = hashlib.sha256(pads[1])
    outer.update(inner.digest())
    return outer.digest()


def hmac_sha256(key, msg):
    return _hmac(_pads(key), msg)


def hkdf_extract(salt, ikm):
    return hmac_sha256(salt if salt else bytes(_DIGEST), ikm)


def hkdf_expand(prk, info, length):
    if length < 0 or length > 255 * _DIGEST:
        raise ValueError("hkdf length")
    pads = _pads(prk)
    out = b""
    block = b""
    i = 1
    while len(out) < length:
        block = _hmac(pads, block + info + bytes((i,)))
        out += block
        i += 1
    return out[:length]


def hkdf(ikm, salt, info, length):
    return hkdf_expand(hkdf_extract(salt, ikm), info, length)


def pbkdf2_sha256(password, salt, iterations, length):
    if iterations < 1 or length < 1:
        raise ValueError("pbkdf2 parameters")
    pads = _pads(password)  # the key schedule is the same for every round
    out = b""
    i = 1
    while len(out) < length:
        u = _hmac(pads, salt + i.to_bytes(4, "big"))
        acc = int.from_bytes(u, "big")
        for _ in range(iterations - 1):
            u = _hmac(pads, u)
            acc ^= int.from_bytes(u, "big")
        out += acc.to_bytes(_DIGEST, "big")
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
