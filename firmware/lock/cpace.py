"""CPace (draft-irtf-cfrg-cpace) over X25519, suite CPACE-X25519-SHA256 (see docs/CRYPTO.md).

The draft recommends SHA-512 with X25519; the board has only SHA-256, so this suite is the draft's
construction with H = SHA-256 (s_in_bytes 64, 32-byte ISK). Initiator/responder setting: transcript_ir.
"""
import hashlib
import os
from lock.kdf import ct_eq
from lock.x25519 import P, decode_u, encode_u, x25519

DSI = b"CPace255"
S_IN_BYTES = 64
_A = 486662  # Curve25519 Montgomery coefficient
_Z = 2  # the non-square RFC 9380 picks for Curve25519
_IDENTITY = bytes(32)


def prepend_len(data):
    n = len(data)
    out = bytearray()
    while True:  # LEB128
        if n < 128:
            out.append(n)
            break
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    return bytes(out) + data


def lv_cat(*parts):
    return b"".join(prepend_len(x) for x in parts)


def generator_string(dsi, prs, ci, sid, s_in_bytes):
    # Zero padding makes DSI and PRS fill the first hash block, so its work does not depend on the PRS length.
    zpad = max(0, s_in_bytes - 1 - len(prepend_len(prs)) - len(prepend_len(dsi)))
    return lv_cat(dsi, prs, bytes(zpad), ci, sid)


def elligator2(r):
    """RFC 9380 map_to_curve_elligator2 for Curve25519 (J=486662, K=1, Z=2); returns the u coordinate as int."""
    p = P
    d = (1 + _Z * r * r) % p  # never 0: -1/2 is a non-square mod p
    x1 = -_A * pow(d, p - 2, p) % p
    gx1 = x1 * (x1 * (x1 + _A) % p + 1) % p
    square = 1 - (pow(gx1, (p - 1) // 2, p) == p - 1)  # Euler's criterion; 0 counts as square
    x2 = (-x1 - _A) % p
    return (square * x1 + (1 - square) * x2) % p


def map_to_curve(hash32):
    """decodeUCoordinate (255 bits) then Elligator2: 32 hash bytes -> generator u bytes."""
    return encode_u(elligator2(decode_u(hash32[:32])))


def generator(prs, ci=b"", sid=b""):
    gen_str = generator_string(DSI, prs, ci, sid, S_IN_BYTES)
    return map_to_curve(hashlib.sha256(gen_str).digest())


def new_scalar():
    return os.urandom(32)


def share(gen, scalar32):
    return x25519(scalar32, gen)


def transcript_ir(ya, ada, yb, adb):
    return lv_cat(ya, ada) + lv_cat(yb, adb)


def isk_input(sid, k, transcript):
    return lv_cat(DSI + b"_ISK", sid, k) + transcript


def isk(scalar32, own_y, peer_y, own_ad, peer_ad, sid, initiator):
    """The 32-byte intermediate session key, or None when the peer's share is invalid (malformed or low order)."""
    if len(peer_y) != 32:
        return None
    k = x25519(scalar32, peer_y)  # scalar_mult_vfy
    if ct_eq(k, _IDENTITY):
        return None
    if initiator:
        t = transcript_ir(own_y, own_ad, peer_y, peer_ad)
    else:
        t = transcript_ir(peer_y, peer_ad, own_y, own_ad)
    return hashlib.sha256(isk_input(sid, k, t)).digest()
