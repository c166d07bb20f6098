"""Frames and fragmentation (firmware/lock/wire.py under MicroPython, lockctl/wire.py under CPython)."""
import random
import sys

import mpy

sys.path.insert(0, str(mpy.ROOT / "tools"))
from lockctl import wire as cwire  # noqa: E402

FEED = """
import json, binascii
from lock import wire
def feed_all(frags):
    ra = wire.Reassembler()
    out = []
    for f in frags:
        try:
            m = ra.feed(binascii.unhexlify(f))
            if m is not None:
                out.append(binascii.hexlify(m).decode())
        except wire.WireError as e:
            out.append(e.code)
    return out
"""


def firmware_feed(micropython, frags):
    return micropython.json(FEED + "print(json.dumps(feed_all(%r)))" % [f.hex() for f in frags])


def test_messages_of_any_length_cross_both_ways_at_20_bytes_and_at_mtu(micropython):
    rnd = random.Random(1)
    msgs = [cwire.message(0x12, bytes(rnd.randrange(256) for _ in range(n))) for n in (0, 1, 13, 17, 18, 100, 1022)]
    for size in (20, 244):
        frags = [f for m in msgs for f in cwire.fragments(m, size)]
        assert all(len(f) <= size for f in frags)
        assert firmware_feed(micropython, frags) == [m.hex() for m in msgs]
    out = micropython.json("""
import json, binascii
from lock import wire
print(json.dumps([[binascii.hexlify(f).decode() for f in wire.fragments(binascii.unhexlify(%r), 20)]]))
""" % msgs[5].hex())
    ra = cwire.Reassembler()
    got = [ra.feed(bytes.fromhex(f)) for f in out[0]]
    assert got[-1] == msgs[5] and all(g is None for g in got[:-1])


def test_a_lost_repeated_or_garbled_fragment_fails_that_frame_only(micropython):
    msg = cwire.message(0x12, bytes(range(60)))
    frags = cwire.fragments(msg, 20)
    assert len(frags) == 4
    garbled = bytearray(frags[2])
    garbled[5] ^= 0x01
    after = cwire.message(0x10, b"next")
    cases = {
        "lost middle": [frags[0], frags[1], frags[3]],
        "repeated": [frags[0], frags[1], frags[1]],
        "reordered": [frags[0], frags[2], frags[1]],
        "garbled": [frags[0], frags[1], bytes(garbled), frags[3]],
        "lost tail, next frame": frags[:3] + cwire.fragments(after, 20),
        "lost head": frags[1:],
        "empty": [b""],
    }
    for name, seq in cases.items():
        out = firmware_feed(micropython, seq + cwire.fragments(after, 20))
        assert out[-1] == after.hex(), name          # the link recovers with the next whole frame
        assert msg.hex() not in out, name
        assert 1 in out, name                          # and the broken one was reported as malformed


def test_oversized_or_nonsense_lengths_are_refused_before_buffering(micropython):
    huge = bytes([0x80]) + (5000).to_bytes(2, "little") + bytes(10)
    tiny = bytes([0x80]) + (1).to_bytes(2, "little") + bytes(5)
    out = firmware_feed(micropython, [huge, tiny])
    assert out == [17, 1]


def test_version_and_type_are_read_from_the_header(micropython):
    out = micropython.json("""
import json
from lock import wire
res = []
for m in (b"\\x01\\x12abc", b"\\x02\\x12abc", b"\\x01"):
    try:
        t, body = wire.parse(m)
        res.append([t, body.decode()])
    except wire.WireError as e:
        res.append(e.code)
print(json.dumps(res))
""")
    assert out == [[0x12, "abc"], 2, 1]
