"""`make fuzz` in small: 10 000 random and mutated messages into the lock's protocol endpoint under MicroPython
(tools/fuzz.py), and proof that its checks catch a lock that misbehaves. FUZZ_SEED=S replays a seed."""
import os
import shutil
import sys

import pytest

import mpy

sys.path.insert(0, str(mpy.ROOT / "tools"))
import fuzz  # noqa: E402

SEED = int(os.environ.get("FUZZ_SEED", "20261130"))


def test_ten_thousand_fuzzed_messages_crash_nothing_and_change_only_what_authenticated_commands_change(tmp_path):
    out = fuzz.run(10000, SEED, log=lambda *_: None)   # raises fuzz.Violation on a state change
    print("fuzz: seed %(seed)d, %(messages)d messages in %(seconds)s s (%(messages_per_s)d/s)" % out)
    assert not out["crashes"], "seed %d:\n%s" % (SEED, "\n".join(out["crashes"]))
    seen = out["histogram"]
    # it got everywhere: pairings, sessions, commands that ran, and refusals of each kind
    for reply in ("PAIR_DONE", "SESSION_CHALLENGE", "SECURE ok", "SECURE wrong security code",
                  "ERROR malformed frame", "ERROR authentication failed"):
        assert seen.get(reply), reply


# A lock with a planted bug: an unauthenticated, malformed SECURE message renames a device.
PLANTED = '''

_real_handle = LockProtocol.handle


def _planted(self, who, channel, msg, now_ms):
    if channel == COMMAND and len(msg) < 8 and msg[:2] == bytes((1, 0x12)):
        found, _ = self.devices.page(0, 1)
        if found:
            self.devices.rename(found[0].id, "planted")
    return _real_handle(self, who, channel, msg, now_ms)


LockProtocol.handle = _planted
'''


def test_the_fuzzer_finds_an_unauthenticated_state_change(tmp_path):
    firmware = tmp_path / "firmware"
    shutil.copytree(mpy.FIRMWARE, firmware)
    with open(firmware / "lock" / "protocol.py", "a") as f:
        f.write(PLANTED)
    with pytest.raises(fuzz.Violation, match="devices"):
        fuzz.run(3000, SEED, log=lambda *_: None, firmware=str(firmware))
