"""AES-CCM (RFC 3610, NIST SP 800-38C) on cryptolib's AES.

    CCM(key, tag_len=16).seal(nonce, plaintext, aad=b"") -> ciphertext || tag
    CCM(key, tag_len=16).open(nonce, data, aad=b"") -> plaintext | None

The counter keystream comes from one ECB call over all counter blocks; the CBC-MAC is one CBC call with a
zero IV (the last ciphertext block is the MAC), so no block loop runs in Python. `open` decrypts (CTR is its
own inverse), seals the result again and compares that tag with the one received, in constant time (a second
pass, but no second code path). Messages are held whole in RAM: this is for frames and small records, not streams. An instance keeps only its key: the AES objects
(~300 bytes each) live for one call, so a session's two CCMs stay small.
"""
import cryptolib
from micropython import const
from lock.kdf import ct_eq

_ECB = const(1)
_CBC = const(2)


class CCM:
    def __init__(self, key, tag_len=16):
        if tag_len & 1 or not 4 <= tag_len <= 16:
            raise ValueError("tag_len")
        self._key = bytes(key)
        self.tag_len = tag_len

    def seal(self, nonce, plaintext, aad=b""):
        n = len(plaintext)
        q = 15 - len(nonce)  # bytes left for the message length / block counter
        if q < 2 or q > 8 or n >> 8 * q:
            raise ValueError("nonce")  # a nonce of 7..13 bytes, and a message its counter can count
        # Keystream block i is flags(q-1) | nonce | i; block 0 masks the tag, blocks 1.. encrypt the payload.
        blocks = (n + 15) // 16 + 1
        ks = bytearray(16 * blocks)
        for i in range(blocks):
            o = 16 * i
            ks[o] = q - 1
            ks[o + 1:o + 16 - q] = nonce
            ks[o + 16 - q:o + 16] = i.to_bytes(q, "big")
        cryptolib.aes(self._key, _ECB).encrypt(ks, ks)
        # CBC-MAC input: B0 = flags | nonce | length, then the AAD after its length header, then the plaintext,
        # each zero-padded to whole blocks.
        mac = bytearray(((0x40 if aad else 0) | (self.tag_len - 2) // 2 << 3 | (q - 1),))
        mac += nonce
        mac += n.to_bytes(q, "big")
        if aad:
            la = len(aad)
            if la >> 32:
                raise ValueError("aad")
            mac += la.to_bytes(2, "big") if la < 0xFF00 else bytes((0xFF, 0xFE)) + la.to_bytes(4, "big")
            mac += aad
            mac += bytes(-len(mac) % 16)
        mac += plaintext
        mac += bytes(-len(mac) % 16)
        cryptolib.aes(self._key, _CBC, bytes(16)).encrypt(mac, mac)
        t = self.tag_len
        m = len(mac) - 16  # the last CBC block is the MAC
        return ((int.from_bytes(plaintext, "big") ^ int.from_bytes(ks[16:16 + n], "big")).to_bytes(n, "big") +
                (int.from_bytes(mac[m:m + t], "big") ^ int.from_bytes(ks[:t], "big")).to_bytes(t, "big"))

    def open(self, nonce, data, aad=b""):
        """Plaintext, or None when the tag does not verify (nothing of the plaintext escapes then)."""
        n = len(data) - self.tag_len
        if n < 0:
            return None
        plaintext = self.seal(nonce, data[:n], aad)[:n]
        if not ct_eq(self.seal(nonce, plaintext, aad)[n:], data[n:]):  # the tags
            return None
        return plaintext
