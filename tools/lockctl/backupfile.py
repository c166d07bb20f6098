"""The owner's backup file: a JSON document sealed under a password the owner types (docs/BACKUP.md).

scrypt (from `cryptography`) turns the password into a 32-byte key; AES-256-GCM seals the document with
the whole header as associated data, so a changed parameter, salt or byte of ciphertext is refused just like
a wrong password. The scrypt cost is in the header (a later file may raise it) but bounded on reading, so a
hostile file cannot make the client allocate gigabytes or run for hours.

    seal(document: dict, password: str) -> bytes      open_(data: bytes, password: str) -> dict
    BackupError: the one-line reason a file was refused
"""
from __future__ import annotations

import json
import os
import struct

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

MAGIC = b"LOCKBKUP"
VERSION = 1
KDF_SCRYPT = 1
# magic 8 | version u8 | kdf u8 | log2(N) u8 | r u8 | p u8 | salt 16 | nonce 12  (41 bytes, all of it AAD)
HEADER = struct.Struct("<8sBBBBB16s12s")
TAG_LEN = 16

# 2^17 x 8 x 128 bytes = 128 MiB and about half a second on a laptop: OWASP's floor for scrypt is 2^17.
DEFAULT_LOG2_N, DEFAULT_R, DEFAULT_P = 17, 8, 1
# What a reader accepts: enough for a future, costlier file; not enough to be a denial of service.
MAX_LOG2_N, MAX_R, MAX_P = 20, 16, 4


class BackupError(Exception):
    """Why a backup file was refused, in words for the person holding it."""


def _key(password: str, salt: bytes, log2_n: int, r: int, p: int) -> bytes:
    if not password:
        raise BackupError("the backup password is empty")
    return Scrypt(salt=salt, length=32, n=1 << log2_n, r=r, p=p).derive(password.encode())


def seal(document: dict, password: str, log2_n: int = DEFAULT_LOG2_N, r: int = DEFAULT_R, p: int = DEFAULT_P,
         rng=os.urandom) -> bytes:
    """The encrypted file's bytes for `document` (anything JSON can hold)."""
    if not (1 <= log2_n <= MAX_LOG2_N and 1 <= r <= MAX_R and 1 <= p <= MAX_P):
        raise ValueError("scrypt parameters out of range")
    header = HEADER.pack(MAGIC, VERSION, KDF_SCRYPT, log2_n, r, p, rng(16), rng(12))
    _, _, _, _, _, _, salt, nonce = HEADER.unpack(header)
    plain = json.dumps(document, sort_keys=True, separators=(",", ":")).encode()
    return header + AESGCM(_key(password, salt, log2_n, r, p)).encrypt(nonce, plain, header)


def open_(data: bytes, password: str) -> dict:
    """The document inside `data`; BackupError for anything but a whole, unchanged file and its password."""
    if len(data) < len(MAGIC) or data[:len(MAGIC)] != MAGIC:
        raise BackupError("not a lock backup file (it does not start with %r)" % MAGIC.decode())
    if len(data) < HEADER.size + TAG_LEN:
        raise BackupError("the backup file is truncated (%d bytes): copy it again from where you keep it"
                          % len(data))
    _, version, kdf, log2_n, r, p, salt, nonce = HEADER.unpack_from(data)
    if version != VERSION:
        raise BackupError("backup format %d is not known to this lockctl (it reads format %d): update lockctl"
                          % (version, VERSION))
    if kdf != KDF_SCRYPT or not (1 <= log2_n <= MAX_LOG2_N and 1 <= r <= MAX_R and 1 <= p <= MAX_P):
        raise BackupError("the backup file's header is damaged (unknown key derivation or parameters)")
    header = data[:HEADER.size]
    try:
        plain = AESGCM(_key(password, salt, log2_n, r, p)).decrypt(nonce, data[HEADER.size:], header)
    except InvalidTag:
        # GCM cannot tell the two apart, and saying which would help an attacker no more than this does.
        raise BackupError("wrong password, or the file was changed or cut short since it was written") from None
    try:
        document = json.loads(plain)
    except ValueError:
        raise BackupError("the backup decrypted but its content is not a backup document") from None
    if not isinstance(document, dict):
        raise BackupError("the backup decrypted but its content is not a backup document")
    return document
