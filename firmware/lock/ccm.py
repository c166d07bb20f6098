"""AES-CCM (RFC 3610, NIST SP 800-38C) on cryptolib's AES.

The counter keystream comes from one ECB call over all counter blocks; the CBC-MAC is one CBC call with a
zero IV (the last ciphertext block is the MAC), so no block loop runs in Python. Messages are held whole in
RAM: this is for frames and small records, not streams.
"""
import cryptolib
from lock.kdf import ct_eq

_ECB = 1
_CBC = 2


def _xor(a, b):
    n = len(a)
    if n == 0:
        return b""
    return (int.from_bytes(a, "big") ^ int.from_bytes(b[:n], "big")).to_bytes(n, "big")


def _pad16(n):
    return bytes(-n % 16)


class CCM:
    def __init__(self, key, tag_len=16):
        if tag_len not in (4, 6, 8, 10, 12, 14, 16):
            raise ValueError("ccm tag length")
        self._key = bytes(key)
        self._ecb = cryptolib.aes(self._key, _ECB)
        self.tag_len = tag_len

    def _check(self, nonce, n):
        q = 15 - len(nonce)  # bytes left for the message length / block counter
        if q < 2 or q > 8:
            raise ValueError("ccm nonce length")
        if n >= 1 << (8 * q):
            raise ValueError("ccm message too long")
        return q

    def _keystream(self, nonce, q, n):
        # Block i is flags(q-1) | nonce | i; block 0 masks the tag, blocks 1.. encrypt the payload.
        blocks = (n + 15) // 16 + 1
        buf = bytearray(16 * blocks)
        head = bytes((q - 1,)) + nonce
        for i in range(blocks):
            o = 16 * i
            buf[o:o + 16] = head + i.to_bytes(q, "big")
        self._ecb.encrypt(buf, buf)
        return buf

    def _mac(self, nonce, q, aad, msg):
        flags = (0x40 if aad else 0) | ((self.tag_len - 2) // 2) << 3 | (q - 1)
        parts = [bytes((flags,)), nonce, len(msg).to_bytes(q, "big")]
        if aad:
            la = len(aad)
            if la < 0xFF00:
                hdr = la.to_bytes(2, "big")
            elif la < 1 << 32:
                hdr = b"\xff\xfe" + la.to_bytes(4, "big")
            else:
                raise ValueError("ccm aad too long")
            parts += [hdr, aad, _pad16(len(hdr) + la)]
        parts += [msg, _pad16(len(msg))]
        chain = cryptolib.aes(self._key, _CBC, bytes(16)).encrypt(b"".join(parts))
        return chain[-16:]

    def seal(self, nonce, plaintext, aad=b""):
        q = self._check(nonce, len(plaintext))
        ks = self._keystream(nonce, q, len(plaintext))
        tag = _xor(self._mac(nonce, q, aad, plaintext)[:self.tag_len], ks[:16])
        return _xor(plaintext, ks[16:]) + tag

    def open(self, nonce, data, aad=b""):
        """Plaintext, or None when the tag does not verify (nothing of the plaintext escapes then)."""
        n = len(data) - self.tag_len
        if n < 0:
            return None
        q = self._check(nonce, n)
        ks = self._keystream(nonce, q, n)
        plaintext = _xor(data[:n], ks[16:])
        tag = _xor(self._mac(nonce, q, aad, plaintext)[:self.tag_len], ks[:16])
        if not ct_eq(tag, data[n:]):
            return None
        return plaintext
