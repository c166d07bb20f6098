"""Fail-closed storage (issue 9): a record with a valid checksum that this firmware cannot read (another
schema version, another size) is damaged, like one with bad bytes. Security records (the code, the devices)
then refuse what depends on them with E_STORAGE, never act as "no code" or "no device", and never crash the
boot; settings and calibration fall back to defaults / a new calibration."""
import struct
import sys
import zlib

import pytest

import mpy

sys.path.insert(0, str(mpy.ROOT / "tools"))
from lockctl import client, wire  # noqa: E402
from lockctl.transports import PipeLock  # noqa: E402

CODE = "123456"


def record_file(version, records, reclen=None):
    """A store.py file with a VALID checksum: b"LK" | version u8 | 0 | reclen u16 | count u16 | records | crc32."""
    reclen = len(records[0]) if reclen is None else reclen
    body = struct.pack("<HBBHH", 0x4B4C, version, 0, reclen, len(records)) + b"".join(records)
    return body + struct.pack("<I", zlib.crc32(body) & 0xFFFFFFFF)


# What an unreadable code record looks like: a future version saying "no code set" (flags 0) in a layout
# that would parse, a short record of the right version, and plain bad bytes.
NO_CODE_V2 = record_file(2, [struct.pack("<BHI16s32s", 0, 0, 1000, bytes(16), bytes(32))])
SHORT_V1 = record_file(1, [b"\x01\x00\x00short"])
BAD_BYTES = b"LK damaged"


@pytest.mark.parametrize("damage", [NO_CODE_V2, SHORT_V1, BAD_BYTES], ids=["other version", "short", "bad bytes"])
def test_an_unreadable_code_record_is_never_no_code(micropython, tmp_path, damage):
    (tmp_path / "code").write_bytes(damage)
    out = micropython.json("""
import json
from lock import passcode, store
p = passcode.Passcode(%r, 0, iterations=1000)
try:
    p.check("123456", 100000000)
    checked = "accepted"
except store.CorruptError:
    checked = "storage"
print(json.dumps([p.is_set, p.prs is None, p.set_first("111111"), checked, p.tries_left()]))
""" % str(tmp_path))
    assert out == [True, True, False, "storage", 0]


@pytest.mark.parametrize("damage", [NO_CODE_V2, SHORT_V1], ids=["other version", "short"])
def test_a_lock_with_an_unreadable_code_record_refuses_pairing_and_coded_commands(tmp_path, damage):
    lock = PipeLock(str(tmp_path), iterations=1000)
    try:
        first = client.setup(lock.transport("a"), CODE, "alice")
    finally:
        lock.close()
    (tmp_path / "code").write_bytes(damage)
    lock = PipeLock(str(tmp_path), iterations=1000)                  # boots: no crash
    try:
        lock.line("T 20000000")
        lock.line("E")
        for fn in (client.pair, client.setup):                      # neither "fresh" nor pairable
            with pytest.raises((wire.LockError, client.PairingRefused)) as e:
                fn(lock.transport("m"), CODE, "m")
            assert isinstance(e.value, wire.LockError) and e.value.code == wire.E_STORAGE
        alice = client.Session(lock.transport("a"), first.device_id, first.key)
        assert alice.status()["code_set"]                           # a paired phone still opens the door
        with pytest.raises(wire.LockError) as e:
            alice.rename(CODE, first.device_id, "x")                # ... but nothing that carries the code
        assert e.value.code == wire.E_STORAGE
        with pytest.raises(wire.LockError) as e:
            alice.change_code(CODE, "654321")
        assert e.value.code == wire.E_STORAGE
    finally:
        lock.close()


def test_a_device_bucket_of_another_version_is_damaged_not_empty(micropython, tmp_path):
    out = micropython.json("""
import json, struct
from lock import devices, store
ROOT = %r
r = devices.Registry(ROOT, buckets=4, per_bucket=4)
a = r.add(b"A" * 32, "alice", 0, 0, True)
path = ROOT + "/dev/b%%02x" %% (a.id %% 4)
rec = [bytes(x) for x in store.Reader(path)]
w = store.Writer(path, 2, 96, len(rec))          # the same bytes under another version, valid checksum
for x in rec:
    w.add(x)
w.commit()
r2 = devices.Registry(ROOT, buckets=4, per_bucket=4)   # a reboot
try:
    r2.get(a.id)
    got = "found"
except store.CorruptError:
    got = "storage"
added = [r2.add(bytes([i]) * 32, "d%%d" %% i, 0, 0, False).id %% 4 for i in range(3)]
print(json.dumps([got, r2.count(), a.id %% 4 in added, [d.name for d in r2.page(0, 10)[0]]]))
""" % str(tmp_path))
    got, count, wrote_into_it, listed = out
    assert got == "storage"                   # the device's session hello gets E_STORAGE, not "unknown device"
    assert count == 3 and not wrote_into_it   # nothing is ever written into the unreadable bucket
    assert "alice" not in listed


def test_settings_and_calibration_of_another_version_or_shape_fall_back(micropython, tmp_path):
    out = micropython.json("""
import json
from lock import store, app
ROOT = %r
store.save(ROOT + "/settings", 2, json.dumps({"brightness": 5}).encode())
store.save(ROOT + "/calibration", 2, json.dumps({"locked": 1}).encode())
store.save(ROOT + "/short", 1, b"[1, 2")
print(json.dumps([app._load_json(ROOT + "/settings", {}), app._load_json(ROOT + "/calibration", None),
                  app._load_json(ROOT + "/short", "default"),
                  app.stored_settings([1, 2]), app.stored_settings("x"),
                  app.stored_settings({"brightness": "bright", "lockngo_s": 30, "unknown": 1, "button_actions": 0})]))
""" % str(tmp_path), path=(mpy.FIRMWARE, mpy.ROOT / "boards" / "sim", mpy.sim_libraries()), heap="256k")
    assert out == [{}, None, "default", {}, {}, {"lockngo_s": 30}]


def test_a_damaged_header_never_sizes_a_buffer(micropython, tmp_path):
    """A header whose record size is garbage (here 0x6164 = 24932 bytes) is damaged, found before any buffer
    is made: in a small heap that allocation would crash the boot."""
    (tmp_path / "relock").write_bytes(b"LK\x01\x00damaged")
    (tmp_path / "settings").write_bytes(b"LK\x01\x00\xff\xff\x01\x00" + bytes(20))
    out = micropython.json("""
import json
from lock import store
got = []
for name in ("relock", "settings"):
    try:
        store.load(%r + "/" + name)
        got.append("loaded")
    except store.CorruptError:
        got.append("damaged")
print(json.dumps(got))
""" % str(tmp_path), heap="24k")
    assert out == ["damaged", "damaged"]
