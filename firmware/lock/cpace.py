"""CPace (draft-irtf-cfrg-cpace) over X25519, suite CPACE-X25519-SHA256 (see docs/CRYPTO.md).

The draft recommends SHA-512 with X25519; the board has only SHA-256, so this suite is the draft's
construction with H = SHA-256 (s_in_bytes 64, 32-byte ISK). Initiator/responder setting: transcript_ir.

    generator(prs, ci=b"", sid=b"") -> g    share(g, scalar32) -> Y    new_scalar() -> 32 random bytes
    isk(scalar32, own_Y, peer_Y, own_ad, peer_ad, sid, initiator) -> 32-byte ISK | None
and the draft's encodings, checked against its vectors: prepend_len, lv_cat, transcript_ir,
generator_string, map_to_curve.
"""
import hashlib
import os
from lock.kdf import ct_eq
from lock.x25519 import P, x25519

DSI = b"CPace255"
S_IN_BYTES = 64


def lv_cat(*parts):
    """Each part as LEB128 length || bytes, concatenated."""
    out = bytearray()
    for part in parts:
        n = len(part)
        while n > 127:
            out.append((n & 0x7F) | 0x80)
            n >>= 7
        out.append(n)
        out += part
    return bytes(out)


prepend_len = lv_cat  # of one part
transcript_ir = lv_cat  # (Ya, ADa, Yb, ADb): lv_cat(Ya, ADa) || lv_cat(Yb, ADb) is lv_cat of all four


def generator_string(dsi, prs, ci, sid, s_in_bytes):
    # Zero padding makes DSI and PRS fill the first hash block, so its work does not depend on the PRS length.
    zpad = max(0, s_in_bytes - 1 - len(prepend_len(prs)) - len(prepend_len(dsi)))
    return lv_cat(dsi, prs, bytes(zpad), ci, sid)


def map_to_curve(hash32):
    """decodeUCoordinate (255 bits) then RFC 9380 map_to_curve_elligator2 for Curve25519 (J=486662, K=1,
    Z=2): 32 hash bytes -> generator u bytes."""
    p = P
    r = int.from_bytes(hash32[:32], "little") % (p + 19) % p  # p + 19 = 2**255: bit 255 ignored
    d = (1 + 2 * r * r) % p  # never 0: -1/2 is a non-square mod p
    x1 = -486662 * pow(d, p - 2, p) % p
    gx1 = x1 * (x1 * (x1 + 486662) % p + 1) % p
    square = 1 - (pow(gx1, (p - 1) // 2, p) == p - 1)  # Euler's criterion; 0 counts as square
    x2 = (-x1 - 486662) % p
    return ((square * x1 + (1 - square) * x2) % p).to_bytes(32, "little")


def generator(prs, ci=b"", sid=b""):
    return map_to_curve(hashlib.sha256(generator_string(DSI, prs, ci, sid, S_IN_BYTES)).digest())


def new_scalar():
    return os.urandom(32)


def share(gen, scalar32):
    return x25519(scalar32, gen)


def isk(scalar32, own_y, peer_y, own_ad, peer_ad, sid, initiator):
    """The 32-byte intermediate session key, or None when the peer's share is invalid (malformed or low order)."""
    if len(peer_y) != 32:
        return None
    k = x25519(scalar32, peer_y)  # scalar_mult_vfy
    if ct_eq(k, bytes(32)):  # the identity: a low-order share
        return None
    # SHA-256(lv_cat(DSI "_ISK", sid, K) || transcript_ir(Ya, ADa, Yb, ADb)), A the initiator
    h = hashlib.sha256(lv_cat(DSI + b"_ISK", sid, k))
    h.update(lv_cat(own_y, own_ad, peer_y, peer_ad) if initiator else lv_cat(peer_y, peer_ad, own_y, own_ad))
    return h.digest()
