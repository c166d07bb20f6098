"""The client's cryptography, from `cryptography`: the same functions, bytes and suite as firmware/lock.

Independent of the firmware's code on purpose: X25519, AES-CCM, HKDF, HMAC and PBKDF2 come from
`cryptography` (OpenSSL), so agreement between the two sides is evidence that both are right. Only the
CPace string encodings and the Elligator2 map are written here, because `cryptography` has no such map.
"""
from __future__ import annotations

import hashlib
import hmac as _hmac
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import hmac as _chmac
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESCCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF, HKDFExpand
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC

# --- HMAC, HKDF, PBKDF2, compare ---------------------------------------------------------------


def hmac_sha256(key: bytes, msg: bytes) -> bytes:
    h = _chmac.HMAC(key, hashes.SHA256())
    h.update(msg)
    return h.finalize()


def hkdf_extract(salt: bytes, ikm: bytes) -> bytes:
    return hmac_sha256(salt if salt else bytes(32), ikm)


def hkdf_expand(prk: bytes, info: bytes, length: int) -> bytes:
    return HKDFExpand(hashes.SHA256(), length, info).derive(prk)


def hkdf(ikm: bytes, salt: bytes, info: bytes, length: int) -> bytes:
    return HKDF(hashes.SHA256(), length, salt if salt else None, info).derive(ikm)


def pbkdf2_sha256(password: bytes, salt: bytes, iterations: int, length: int) -> bytes:
    return PBKDF2HMAC(hashes.SHA256(), length, salt, iterations).derive(password)


def ct_eq(a: bytes, b: bytes) -> bool:
    return _hmac.compare_digest(a, b)


# --- X25519 ------------------------------------------------------------------------------------

P = 2**255 - 19
_BASE = b"\x09" + bytes(31)


def x25519(scalar32: bytes, u32: bytes) -> bytes:
    """RFC 7748 X25519; a low-order u gives all zeros, as in the RFC (OpenSSL refuses, we translate)."""
    if len(scalar32) != 32 or len(u32) != 32:
        raise ValueError("x25519 takes 32-byte scalar and u")
    try:
        return X25519PrivateKey.from_private_bytes(scalar32).exchange(X25519PublicKey.from_public_bytes(u32))
    except ValueError:
        return bytes(32)


def public_key(scalar32: bytes) -> bytes:
    return x25519(scalar32, _BASE)


# --- AES-CCM -----------------------------------------------------------------------------------


class CCM:
    """seal -> ciphertext || tag; open -> plaintext or None (the tag did not verify)."""

    def __init__(self, key: bytes, tag_len: int = 16):
        self._aead = AESCCM(key, tag_length=tag_len)
        self.tag_len = tag_len

    def seal(self, nonce: bytes, plaintext: bytes, aad: bytes = b"") -> bytes:
        return self._aead.encrypt(nonce, plaintext, aad or None)

    def open(self, nonce: bytes, data: bytes, aad: bytes = b"") -> bytes | None:
        if len(data) < self.tag_len:
            return None
        try:
            return self._aead.decrypt(nonce, data, aad or None)
        except InvalidTag:
            return None


# --- CPace (draft-irtf-cfrg-cpace), suite CPACE-X25519-SHA256 ----------------------------------
# `hash_name` exists so the draft's own CPACE-X25519-SHA512 vectors can be checked end to end here;
# the lock and the protocol use the default, SHA-256.

DSI = b"CPace255"
SUITE_HASH = "sha256"
_A = 486662
_Z = 2


def prepend_len(data: bytes) -> bytes:
    n, out = len(data), bytearray()
    while True:
        if n < 128:
            out.append(n)
            return bytes(out) + data
        out.append((n & 0x7F) | 0x80)
        n >>= 7


def lv_cat(*parts: bytes) -> bytes:
    return b"".join(prepend_len(x) for x in parts)


def generator_string(dsi: bytes, prs: bytes, ci: bytes, sid: bytes, s_in_bytes: int) -> bytes:
    zpad = max(0, s_in_bytes - 1 - len(prepend_len(prs)) - len(prepend_len(dsi)))
    return lv_cat(dsi, prs, bytes(zpad), ci, sid)


def elligator2(r: int) -> int:
    """RFC 9380 map_to_curve_elligator2 on Curve25519, u coordinate only."""
    d = (1 + _Z * r * r) % P
    x1 = -_A * pow(d, P - 2, P) % P
    gx1 = (x1 * x1 * x1 + _A * x1 * x1 + x1) % P
    return x1 if pow(gx1, (P - 1) // 2, P) in (0, 1) else (-x1 - _A) % P


def decode_u(u32: bytes) -> int:
    return int.from_bytes(u32[:31] + bytes((u32[31] & 0x7F,)), "little")


def map_to_curve(hash32: bytes) -> bytes:
    return (elligator2(decode_u(hash32[:32])) % P).to_bytes(32, "little")


def _hash(name: str, data: bytes) -> bytes:
    return hashlib.new(name, data).digest()


def generator(prs: bytes, ci: bytes = b"", sid: bytes = b"", hash_name: str = SUITE_HASH) -> bytes:
    s_in_bytes = hashlib.new(hash_name).block_size
    return map_to_curve(_hash(hash_name, generator_string(DSI, prs, ci, sid, s_in_bytes))[:32])


def new_scalar() -> bytes:
    return os.urandom(32)


def share(gen: bytes, scalar32: bytes) -> bytes:
    return x25519(scalar32, gen)


def transcript_ir(ya: bytes, ada: bytes, yb: bytes, adb: bytes) -> bytes:
    return lv_cat(ya, ada) + lv_cat(yb, adb)


def isk_input(sid: bytes, k: bytes, transcript: bytes) -> bytes:
    return lv_cat(DSI + b"_ISK", sid, k) + transcript


def isk(scalar32: bytes, own_y: bytes, peer_y: bytes, own_ad: bytes, peer_ad: bytes, sid: bytes,
        initiator: bool, hash_name: str = SUITE_HASH) -> bytes | None:
    """The intermediate session key, or None when the peer's share is invalid (malformed or low order)."""
    if len(peer_y) != 32:
        return None
    k = x25519(scalar32, peer_y)
    if ct_eq(k, bytes(32)):
        return None
    if initiator:
        t = transcript_ir(own_y, own_ad, peer_y, peer_ad)
    else:
        t = transcript_ir(peer_y, peer_ad, own_y, own_ad)
    return _hash(hash_name, isk_input(sid, k, t))
