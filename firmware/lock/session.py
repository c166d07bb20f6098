# A secure session between the lock and one paired device, for one connection.
#
# Keys: HKDF-SHA256(ikm = device key, salt = client nonce | lock nonce, info = "lock session v1" | id,
# 32 bytes) -> client-to-lock key (first 16) and lock-to-client key (last 16). Both nonces are fresh per
# connection, so no two sessions share keys. Each direction counts its frames from 0; the CCM nonce is
# direction byte | 8 zero bytes | counter u32 BE, never sent: a replayed, reordered, dropped, truncated
# or forged frame fails the tag, and the first failure kills the session for good.
#
# API: Session(device_key, device_id, client_nonce, lock_nonce, lock_side=True); .seal(plaintext) -> SECURE
# message; .open(body) -> plaintext or None; .alive (False: dead for good); .device_id.
import struct
from micropython import const

from lock.kdf import hkdf
from lock.ccm import CCM
from lock import wire

_INFO = const(b"lock session v1")
_DIR_C2L = const(0x43)  # "C"
_DIR_L2C = const(0x4C)  # "L"
_NONCE = const(">B8xI")  # the CCM nonce: direction byte | 8 zero bytes | counter


class Session:
    def __init__(self, device_key, device_id, client_nonce, lock_nonce, lock_side=True):
        okm = hkdf(device_key, client_nonce + lock_nonce, _INFO + struct.pack("<I", device_id), 32)
        c2l, l2c = CCM(okm[:16]), CCM(okm[16:])
        self.device_id = device_id
        # each side seals with its own key and direction byte and opens with the other's
        if lock_side:
            self._tx, self._rx, self._dir = l2c, c2l, _DIR_L2C
        else:
            self._tx, self._rx, self._dir = c2l, l2c, _DIR_C2L
        self.tx_count = 0
        self.rx_count = 0
        self.alive = True

    def seal(self, plaintext):
        """The SECURE message carrying plaintext."""
        if not self.alive or self.tx_count > 0xFFFFFFFF:
            raise wire.WireError(wire.E_NO_SESSION)
        aad = bytes((wire.VERSION, wire.SECURE))  # the message header
        body = self._tx.seal(struct.pack(_NONCE, self._dir, self.tx_count), plaintext, aad)
        self.tx_count += 1
        return aad + body

    def open(self, body):
        """Plaintext of a SECURE body, or None (and the session is dead from now on)."""
        pt = None
        if self.alive and self.rx_count <= 0xFFFFFFFF:
            other = _DIR_C2L + _DIR_L2C - self._dir  # the peer's direction byte
            pt = self._rx.open(struct.pack(_NONCE, other, self.rx_count), bytes(body),
                               bytes((wire.VERSION, wire.SECURE)))
        if pt is None:
            self.alive = False
        else:
            self.rx_count += 1
        return pt
