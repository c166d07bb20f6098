"""Secure sessions and commands: firmware/lock/session.py under MicroPython, and the command table through the
firmware's LockProtocol (tools/pipelock.py) driven by the CPython client."""
import json
import random
import struct
import sys

import pytest

import mpy

sys.path.insert(0, str(mpy.ROOT / "tools"))
from lockctl import client, crypto, wire  # noqa: E402
from lockctl.transports import PipeLock  # noqa: E402

PAIR_OF_SESSIONS = """
import json, binascii
from lock.session import Session
key = bytes(range(32))
lock = Session(key, 7, b"c" * 16, b"l" * 16, lock_side=True)
phone = Session(key, 7, b"c" * 16, b"l" * 16, lock_side=False)
def body(msg):
    return msg[2:]
"""


def test_frames_cross_in_order_and_each_direction_has_its_own_key(micropython):
    out = micropython.json(PAIR_OF_SESSIONS + """
a = phone.seal(b"unlock")
b = phone.seal(b"unlock")
r = [lock.open(body(a)), lock.open(body(b)), a != b]
c = lock.seal(b"ok")
r.append(phone.open(body(c)))
mirror = Session(key, 7, b"c" * 16, b"l" * 16, lock_side=True)
r.append(mirror.open(body(c)))          # a lock-to-phone frame is not a phone-to-lock frame
print(json.dumps([x.decode() if isinstance(x, bytes) else x for x in r]))
""")
    assert out == ["unlock", "unlock", True, "ok", None]


@pytest.mark.parametrize("attack", ["replay", "reorder", "truncate", "forge", "flip", "drop"])
def test_replayed_reordered_truncated_forged_frames_kill_the_session(micropython, attack):
    out = micropython.json(PAIR_OF_SESSIONS + """
f0 = body(phone.seal(b"lock"))
f1 = body(phone.seal(b"unlock"))
f2 = body(phone.seal(b"status"))
got = [lock.open(f0)]
attack = %r
if attack == "replay":
    bad = f0
elif attack == "reorder":
    bad = f2
elif attack == "truncate":
    bad = f1[:-1]
elif attack == "forge":
    bad = b"\\x00" * len(f1)
elif attack == "flip":
    bad = bytes([f1[0] ^ 1]) + f1[1:]
else:
    bad = f2                        # f1 lost on the way: f2 arrives with the wrong counter
got.append(lock.open(bad))
got.append(lock.alive)
got.append(lock.open(f1))           # even the genuine next frame is refused now
print(json.dumps([g.decode() if isinstance(g, bytes) else g for g in got]))
""" % attack)
    assert out == ["lock", None, False, None]


def test_session_keys_match_the_cpython_client(micropython):
    """A frame sealed by lockctl (`cryptography`) opens in the firmware, and the other way round."""
    key, did, cn, ln = bytes(range(32)), 0x01020304, b"C" * 16, b"L" * 16
    okm = crypto.hkdf(key, cn + ln, b"lock session v1" + struct.pack("<I", did), 32)
    aad = bytes((1, 0x12))
    c2l = crypto.CCM(okm[:16]).seal(b"C" + bytes(8) + struct.pack(">I", 0), b"\x01", aad)
    out = micropython.json("""
import json, binascii
from lock.session import Session
s = Session(bytes(range(32)), 0x01020304, b"C" * 16, b"L" * 16)
pt = s.open(binascii.unhexlify(%r))
print(json.dumps([binascii.hexlify(pt).decode(), binascii.hexlify(s.seal(b"\\x00ok")[2:]).decode()]))
""" % c2l.hex())
    assert out[0] == "01"
    l2c = bytes.fromhex(out[1])
    assert crypto.CCM(okm[16:]).open(b"L" + bytes(8) + struct.pack(">I", 0), l2c, aad) == b"\x00ok"


# --- commands through the firmware's protocol endpoint -------------------------------------------

@pytest.fixture
def lock(tmp_path):
    pl = PipeLock(str(tmp_path), iterations=1000)
    yield pl
    pl.close()


def pair(lock, who, name):
    lock.line("E")
    first = not state(lock)["code_set"]
    got = (client.setup if first else client.pair)(lock.transport(who), "123456", name)
    return got, client.Session(lock.transport(who), got.device_id, got.key)


def state(lock):
    return json.loads(lock.line("S"))


def test_lock_actions_reach_the_mechanics(lock):
    _, s = pair(lock, "a", "alice")
    for a in ("unlock", "lock", "unlatch", "lockngo"):
        s.action(a)
    assert state(lock)["actions"] == ["unlock", "lock", "unlatch", "lockngo"]


def test_revoke_takes_effect_at_once_and_touches_no_one_else(lock):
    ga, sa = pair(lock, "a", "alice")
    gb, sb = pair(lock, "b", "bob")
    gc, sc = pair(lock, "c", "carol")
    sb.status()
    sa.revoke("123456", gb.device_id)
    assert state(lock)["closing"] == ["b"]                    # bob's open connection is dropped
    with pytest.raises(wire.LockError) as e:
        sb.action("unlock")                                   # bob's very next frame
    assert e.value.code == wire.E_UNKNOWN_DEVICE
    with pytest.raises(wire.LockError) as e:
        client.Session(lock.transport("b2"), gb.device_id, gb.key)
    assert e.value.code == wire.E_UNKNOWN_DEVICE
    sa.action("unlock")
    sc.action("lock")
    assert [d["name"] for d in sc.devices()] and {d["id"] for d in sa.devices()} == {ga.device_id, gc.device_id}


def test_code_commands_need_the_right_code_and_count_toward_the_lockout(lock):
    ga, sa = pair(lock, "a", "alice")
    gb, _ = pair(lock, "b", "bob")
    for i in range(5):
        with pytest.raises(wire.LockError) as e:
            sa.rename("000000", gb.device_id, "x")
        assert e.value.code == wire.E_BAD_CODE
    with pytest.raises(wire.LockError) as e:
        sa.rename("123456", gb.device_id, "x")
    assert e.value.code == wire.E_LOCKED_OUT                 # even the right code waits now
    assert state(lock)["fails"] == 5
    lock.line("T 30000")
    sa.rename("123456", gb.device_id, "bob's phone")
    assert {d["name"] for d in sa.devices()} == {"alice", "bob's phone"} and state(lock)["fails"] == 0


def test_change_code_needs_the_old_one(lock):
    ga, sa = pair(lock, "a", "alice")
    with pytest.raises(wire.LockError):
        sa.change_code("111111", "222222")
    sa.change_code("123456", "222222")
    lock.line("E")
    with pytest.raises(wire.LockError) as e:
        client.pair(lock.transport("b"), "123456", "bob")
    assert e.value.code == wire.E_BAD_CODE
    client.pair(lock.transport("b"), "222222", "bob")


def test_non_admin_devices_may_operate_but_not_manage(tmp_path, micropython):
    first = PipeLock(str(tmp_path), iterations=1000)
    ga = client.setup(first.transport("a"), "123456", "alice")
    first.close()
    # A non-admin device (later issues create these by invitation), put straight into the registry.
    gid = micropython.json("""
from lock.devices import Registry
print(Registry(%r).add(b"K" * 32, "guest", 3, 0, False).id)
""" % str(tmp_path))
    lock = PipeLock(str(tmp_path), iterations=1000)
    try:
        sa = client.Session(lock.transport("a"), ga.device_id, ga.key)
        guest = client.Session(lock.transport("g"), gid, b"K" * 32)
        guest.action("unlock")
        assert guest.status()["devices"] == 2
        for fn, args in ((guest.devices, ()), (guest.revoke, ("123456", ga.device_id)),
                         (guest.rename, ("123456", ga.device_id, "x")), (guest.set_time, (5,)),
                         (guest.change_code, ("123456", "000000"))):
            with pytest.raises(wire.LockError) as e:
                fn(*args)
            assert e.value.code == wire.E_DENIED
        assert state(lock)["fails"] == 0 and len(sa.devices()) == 2
    finally:
        lock.close()


def test_bad_requests_get_encrypted_errors_and_the_session_lives_on(lock):
    ga, sa = pair(lock, "a", "alice")
    for cmd, args, code in ((0x7E, b"", wire.E_UNKNOWN_COMMAND), (client.STATUS, b"extra", wire.E_BAD_ARGS),
                            (client.REVOKE, b"123456\x01", wire.E_BAD_ARGS),
                            (client.REVOKE, b"123456\x01\x02\x03\x04", wire.E_NOT_FOUND),
                            (client.CHANGE_CODE, b"12345612345x", wire.E_BAD_ARGS)):
        with pytest.raises(wire.LockError) as e:
            sa.call(cmd, args)
        assert e.value.code == code
    assert sa.status()["devices"] == 1


def test_fuzzed_messages_never_crash_the_lock_or_change_state(lock):
    ga, sa = pair(lock, "a", "alice")
    before = state(lock)
    rnd = random.Random(7)
    t = lock.transport("fuzz")
    seeds = [wire.message(wire.SESSION_HELLO, struct.pack("<I", ga.device_id) + bytes(16)),
             wire.message(wire.SECURE, bytes(40)), wire.message(wire.PAIR_HELLO, bytes(20)),
             wire.message(wire.PAIR_CONFIRM, bytes(90))]
    for i in range(300):
        base = bytearray(rnd.choice(seeds))
        for _ in range(rnd.randrange(1, 4)):
            op = rnd.randrange(3)
            if op == 0 and base:
                base[rnd.randrange(len(base))] = rnd.randrange(256)
            elif op == 1:
                base = base[:rnd.randrange(len(base) + 1)]
            else:
                base += bytes(rnd.randrange(256) for _ in range(rnd.randrange(8)))
        reply = t.exchange(rnd.choice(("pair", "cmd")), bytes(base))
        assert reply[:1] == b"\x01" and reply[1] in (wire.ERROR, wire.SESSION_CHALLENGE)
    after = state(lock)
    for k in ("devices", "fails", "code_set", "actions"):
        assert after[k] == before[k]
    sa.action("unlock")                   # and the real client still works


def test_a_device_may_revoke_itself_and_hears_that_it_worked(lock):
    ga, sa = pair(lock, "a", "alice")
    gb, sb = pair(lock, "b", "bob")
    sb.revoke("123456", gb.device_id)
    assert state(lock)["closing"] == ["b"]
    with pytest.raises(wire.LockError) as e:
        sb.status()
    assert e.value.code == wire.E_UNKNOWN_DEVICE
    assert [d["name"] for d in sa.devices()] == ["alice"]


def test_listing_pages_through_many_devices(tmp_path, micropython):
    first = PipeLock(str(tmp_path), iterations=1000)
    ga = client.setup(first.transport("a"), "123456", "alice")
    first.close()
    micropython.json("""
from lock.devices import Registry
r = Registry(%r)
for i in range(30):
    r.add(bytes([i]) * 32, "device %%02d" %% i, i %% 4, 1000 + i, False)
print(r.count())
""" % str(tmp_path))
    lock = PipeLock(str(tmp_path), iterations=1000)
    try:
        listed = client.Session(lock.transport("a"), ga.device_id, ga.key).devices()
    finally:
        lock.close()
    names = sorted(d["name"] for d in listed)
    assert len(listed) == 31 and names == ["alice"] + ["device %02d" % i for i in range(30)]
    assert {d["type"] for d in listed} == set(client.TYPES)
    assert len({d["id"] for d in listed}) == 31
