"""X25519 (RFC 7748) on MicroPython big ints: x25519(scalar32, u32) -> 32 bytes, public_key(scalar32).

Constant-time-minded as far as Python ints allow: the ladder always runs 255 steps, the swap is arithmetic
(no branch on key bits), and the only exponentiation has the public exponent p - 2. Big-int arithmetic
itself is not constant time; the keys this protects are ephemeral (one pairing or one session).
"""

P = 2**255 - 19


def x25519(scalar32, u32):
    """scalar32 * u32 on Curve25519, x-only; a low-order u gives 32 zero bytes."""
    if len(scalar32) != 32 or len(u32) != 32:
        raise ValueError("x25519")
    u = bytearray(u32)
    u[31] &= 127  # decodeUCoordinate: ignore bit 255; non-canonical values are taken mod p
    p = P
    x1 = int.from_bytes(u, "little") % p
    k = bytearray(scalar32)  # clamped; its bits are read from the bytes, with no big-int shift per step
    k[0] &= 248
    k[31] = (k[31] & 127) | 64
    x2, z2, x3, z3 = 1, 0, x1, 1
    swap = 0
    for t in range(254, -1, -1):
        bit = (k[t >> 3] >> (t & 7)) & 1
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
        z2 = e * (aa + 121665 * e) % p  # (A - 2) / 4 = 121665
    d = swap * (x2 - x3)
    x2 -= d
    d = swap * (z2 - z3)
    z2 -= d
    return (x2 * pow(z2, p - 2, p) % p).to_bytes(32, "little")  # z2 == 0 gives 0: a low-order u


def public_key(scalar32):
    return x25519(scalar32, (9).to_bytes(32, "little"))  # the base point, u = 9
