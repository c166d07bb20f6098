"""`make torture` in small: 50 power cuts (a killed process, or a write stopped at a random unit) during every
operation that writes the flash (tools/torture.py), and proof that it catches a writer that is not atomic.
TORTURE_SEED=S replays a seed."""
import os
import shutil
import sys

import pytest

import mpy

sys.path.insert(0, str(mpy.ROOT / "tools"))
import torture  # noqa: E402

SEED = int(os.environ.get("TORTURE_SEED", "20261130"))


def test_fifty_power_cuts_leave_every_store_whole_and_every_operation_all_or_nothing():
    out = torture.run(50, SEED)     # raises TortureFailure with what the boot found
    assert set(out["outcome"]) == set(torture.OPS)
    # the cuts fell on both sides of the operations' commits
    assert sum(n["before"] for n in out["outcome"].values()) and sum(n["after"] for n in out["outcome"].values())


# A store that writes in place: a cut part way leaves a damaged record.
IN_PLACE = '''

def save(path, version, data):
    f = open(path, "wb")
    head = struct.pack("<HBBHH", _MAGIC, version, 0, len(data), 1)
    f.write(head)
    f.write(data)
    f.write(struct.pack("<I", binascii.crc32(data, binascii.crc32(head)) & 0xFFFFFFFF))
    f.close()
'''


def test_the_torture_finds_a_writer_that_is_not_atomic(tmp_path):
    firmware = tmp_path / "firmware"
    shutil.copytree(mpy.FIRMWARE, firmware)
    with open(firmware / "lock" / "store.py", "a") as f:
        f.write(IN_PLACE)
    with pytest.raises(torture.TortureFailure, match="do not verify|does not load"):
        torture.run(12, SEED, ops=["change code", "settings"], firmware=str(firmware))
