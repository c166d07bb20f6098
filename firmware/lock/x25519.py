"""X25519 (RFC 7748) on MicroPython big ints.

Constant-time-minded as far as Python ints allow: the ladder always runs 255 steps, the swap is arithmetic
(no branch on key bits), and the only exponentiation has the public exponent p - 2. Big-int arithmetic
itself is not constant time; the keys this protects are ephemeral (one pairing or one session).
"""

P = 2**255 - 19
_A24 = 121665
_BASE = b"\x09" + bytes(31)


def decode_scalar(k):
    if len(k) != 32:
        raise ValueError("x25519 scalar")
    b = bytearray(k)
    b[0] &= 248
    b[31] = (b[31] & 127) | 64
    return int.from_bytes(b, "little")


def decode_u(u):
    if len(u) != 32:
        raise ValueError("x25519 u")
    b = bytearray(u)
    b[31] &= 127  # RFC 7748: ignore bit 255; non-canonical values are taken mod p
    return int.from_bytes(b, "little") % P


def encode_u(x):
    return (x % P).to_bytes(32, "little")


def ladder(k, u):
    """k * u on Curve25519, x-only; k and u are ints (k already clamped)."""
    p = P
    x1 = u
    x2, z2, x3, z3 = 1, 0, u, 1
    swap = 0
    for t in range(254, -1, -1):
        bit = (k >> t) & 1
        swap ^= bit
        d = swap * (x2 - x3)  # conditional swap by arithmetic, no branch
        x2 -= d
        x3 += d
        d = swap * (z2 - z3)
        z2 -= d
        z3 += d
        swap = bit
        a = x2 + z2
        aa = a * a % p
        b = x2 - z2
        bb = b * b % p
        e = aa - bb
        da = (x3 - z3) * a % p
        cb = (x3 + z3) * b % p
        x3 = da + cb
        x3 = x3 * x3 % p
        z3 = da - cb
        z3 = x1 * (z3 * z3 % p) % p
        x2 = aa * bb % p
        z2 = e * (aa + _A24 * e) % p
    d = swap * (x2 - x3)
    x2 -= d
    d = swap * (z2 - z3)
    z2 -= d
    return x2 * pow(z2, p - 2, p) % p  # z2 == 0 gives 0: the all-zero output of a low-order u


def x25519(scalar32, u32):
    return encode_u(ladder(decode_scalar(scalar32), decode_u(u32)))


def public_key(scalar32):
    return x25519(scalar32, _BASE)
