"""The owner's backup file: readable with its password only, and refused whole when anything about it changed."""
import pathlib
import struct
import sys

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "tools"))
from lockctl import backupfile  # noqa: E402
from lockctl.backupfile import BackupError  # noqa: E402

KEY = bytes(range(32))
DOC = {"locks": [{"name": "front door", "devices": [{"id": 0x1A2B3C4D, "key": KEY.hex(), "name": "my phone"}]}]}
CHEAP = dict(log2_n=10, r=8, p=1)  # the format's real cost is 2^17; tests need speed, not strength


def sealed(doc=DOC, password="correct horse"):
    return backupfile.seal(doc, password, **CHEAP)


def test_the_password_opens_what_was_sealed():
    assert backupfile.open_(sealed(), "correct horse") == DOC


def test_nothing_is_readable_without_the_password():
    data = sealed()
    assert KEY.hex().encode() not in data and b"front door" not in data and b"my phone" not in data
    # two backups of the same state share nothing but the header's constants
    other = sealed()
    assert data[backupfile.HEADER.size:] != other[backupfile.HEADER.size:]


def test_a_wrong_password_is_refused_with_a_reason():
    with pytest.raises(BackupError, match="wrong password"):
        backupfile.open_(sealed(), "correct hors")


def test_an_empty_password_is_refused():
    with pytest.raises(BackupError, match="empty"):
        backupfile.seal(DOC, "", **CHEAP)


@pytest.mark.parametrize("keep", [0, 5, 8, 20, 41, 56, -1])
def test_a_truncated_file_is_refused(keep):
    data = sealed()
    cut = data[:keep] if keep >= 0 else data[:-1]
    with pytest.raises(BackupError):
        backupfile.open_(cut, "correct horse")


def test_one_flipped_byte_anywhere_is_refused():
    data = sealed()
    for i in range(len(data)):
        bad = bytearray(data)
        bad[i] ^= 0x01
        with pytest.raises(BackupError):
            backupfile.open_(bytes(bad), "correct horse")


def test_an_unknown_format_version_says_to_update():
    data = bytearray(sealed())
    data[8] = 2
    with pytest.raises(BackupError, match="format 2 is not known"):
        backupfile.open_(bytes(data), "correct horse")


def test_not_a_backup_file():
    with pytest.raises(BackupError, match="not a lock backup file"):
        backupfile.open_(b'{"device_id": 1}', "correct horse")


def test_a_hostile_cost_is_refused_before_any_work(monkeypatch):
    magic, version, kdf, _, r, p, salt, nonce = backupfile.HEADER.unpack_from(sealed())
    hostile = backupfile.HEADER.pack(magic, version, kdf, 40, r, p, salt, nonce) + bytes(64)
    derived = []
    monkeypatch.setattr(backupfile, "_key", lambda *a: derived.append(a) or bytes(32))
    with pytest.raises(BackupError, match="damaged"):
        backupfile.open_(hostile, "correct horse")
    assert not derived  # refused from the header, not after 2^40 of scrypt (no wall-clock test: CI is loaded)


def test_the_default_cost_is_the_documented_one():
    data = backupfile.seal({"locks": []}, "pw")
    _, version, kdf, log2_n, r, p, _, _ = backupfile.HEADER.unpack_from(data)
    assert (version, kdf, log2_n, r, p) == (1, 1, 17, 8, 1)
    assert backupfile.HEADER.size == 41 and struct.calcsize("<8sBBBBB16s12s") == 41
    assert backupfile.open_(data, "pw") == {"locks": []}
