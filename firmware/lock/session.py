# A secure session between the lock and one paired device, for one connection.
#
# Keys: HKDF-SHA256(ikm = device key, salt = client nonce | lock nonce, info = "lock session v1" | id,
# 32 bytes) -> client-to-lock key (first 16) and lock-to-client key (last 16). Both nonces are fresh per
# connection, so no two sessions share keys. Each direction counts its frames from 0; the CCM nonce is
# direction byte | 8 zero bytes | counter u32 BE, never sent: a replayed, reordered, dropped, truncated
# or forged frame fails the tag, and the first failure kills the session for good.
import struct
from micropython import const

from lock.kdf import hkdf
from lock.ccm import CCM
from lock import wire

INFO = b"lock session v1"
_DIR_C2L = const(0x43)  # "C"
_DIR_L2C = const(0x4C)  # "L"
AAD = bytes((wire.VERSION, wire.SECURE))


def session_keys(device_key, device_id, client_nonce, lock_nonce):
    okm = hkdf(device_key, client_nonce + lock_nonce, INFO + struct.pack("<I", device_id), 32)
    return okm[:16], okm[16:]


def nonce(direction, counter):
    return bytes((direction,)) + bytes(8) + struct.pack(">I", counter)


class Session:
    def __init__(self, device_key, device_id, client_nonce, lock_nonce, lock_side=True):
        c2l, l2c = session_keys(device_key, device_id, client_nonce, lock_nonce)
        self.device_id = device_id
        self._tx = CCM(l2c if lock_side else c2l)
        self._rx = CCM(c2l if lock_side else l2c)
        self._tx_dir = _DIR_L2C if lock_side else _DIR_C2L
        self._rx_dir = _DIR_C2L if lock_side else _DIR_L2C
        self.tx_count = 0
        self.rx_count = 0
        self.alive = True
        self.why = wire.E_NO_SESSION  # the error a dead session answers with

    def seal(self, plaintext):
        """The SECURE message carrying plaintext."""
        if not self.alive or self.tx_count > 0xFFFFFFFF:
            raise wire.WireError(wire.E_NO_SESSION)
        body = self._tx.seal(nonce(self._tx_dir, self.tx_count), plaintext, AAD)
        self.tx_count += 1
        return wire.message(wire.SECURE, body)

    def open(self, body):
        """Plaintext of a SECURE body, or None (and the session is dead from now on)."""
        if not self.alive or self.rx_count > 0xFFFFFFFF:
            self.alive = False
            return None
        pt = self._rx.open(nonce(self._rx_dir, self.rx_count), bytes(body), AAD)
        if pt is None:
            self.alive = False
            return None
        self.rx_count += 1
        return pt

    def kill(self, why=wire.E_NO_SESSION):
        self.alive = False
        self.why = why
