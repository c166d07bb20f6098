"""Pairing over CPace: the firmware's lock (LockProtocol under MicroPython, tools/pipelock.py) against the
CPython client (lockctl, `cryptography`), plus the recorded transcripts replayed on both sides."""
import json
import struct
import sys

import pytest

import mpy

sys.path.insert(0, str(mpy.ROOT / "tools"))
from lockctl import client, transcripts, wire  # noqa: E402
from lockctl.transports import PipeLock  # noqa: E402

ITER = 1000


@pytest.fixture
def lock(tmp_path):
    box = {"lock": PipeLock(str(tmp_path), iterations=ITER)}

    class Handle:
        flash = str(tmp_path)

        def __getattr__(self, name):
            return getattr(box["lock"], name)

        def state(self):
            return json.loads(box["lock"].line("S"))

        def power_cut(self):
            box["lock"].p.kill()
            box["lock"].p.wait()
            box["lock"] = PipeLock(str(tmp_path), iterations=ITER)

    yield Handle()
    box["lock"].close()


def error_of(fn, *args):
    with pytest.raises(wire.LockError) as e:
        fn(*args)
    return e.value.code


def test_transcripts_replay_byte_for_byte_on_both_sides(tmp_path):
    t = json.loads((mpy.VECTORS / "transcripts.json").read_text())
    assert any(s["op"] == "pair" and "error" in s["outcome"] for s in t["steps"])  # a wrong code is in there
    transcripts.replay_client(t)                 # CPython client, `cryptography`
    transcripts.replay_lock(t, str(tmp_path))    # firmware lock, MicroPython


def test_a_fresh_lock_takes_the_first_code_and_makes_an_admin(lock):
    assert lock.state()["pairing"] and not lock.state()["code_set"]
    got = client.setup(lock.transport("a"), "123456", "alice")
    s = lock.state()
    assert got.admin and s["code_set"] and s["devices"] == 1 and not s["pairing"]
    st = client.Session(lock.transport("a"), got.device_id, got.key).status()
    assert st["code_set"] and st["devices"] == 1


def test_later_pairings_need_the_code_and_each_guess_counts(lock):
    client.setup(lock.transport("a"), "123456", "alice")
    lock.line("E")
    assert error_of(client.pair, lock.transport("b"), "000000", "mallory") == wire.E_BAD_CODE
    assert lock.state()["fails"] == 1 and lock.state()["pairing"]   # a failure keeps the window open
    got = client.pair(lock.transport("b"), "123456", "bob")
    assert lock.state()["fails"] == 0 and lock.state()["devices"] == 2
    assert client.Session(lock.transport("b"), got.device_id, got.key).status()["devices"] == 2


def test_wrong_codes_lock_pairing_out_and_a_power_cut_does_not_reset_it(lock):
    client.setup(lock.transport("a"), "123456", "alice")
    lock.line("E")
    for i in range(5):
        assert error_of(client.pair, lock.transport("m"), "%06d" % i, "m") == wire.E_BAD_CODE
    assert lock.state()["lockout_ms"] == 30000
    assert error_of(client.pair, lock.transport("m"), "123456", "m") == wire.E_LOCKED_OUT
    lock.power_cut()
    lock.line("E")
    assert lock.state()["fails"] == 5 and lock.state()["lockout_ms"] == 30000
    assert error_of(client.pair, lock.transport("m"), "123456", "m") == wire.E_LOCKED_OUT
    lock.line("T 30000")
    lock.line("E")
    assert error_of(client.pair, lock.transport("m"), "999999", "m") == wire.E_BAD_CODE
    assert lock.state()["lockout_ms"] == 60000                     # doubled


def test_power_cut_mid_exchange_counts_the_guess_and_keeps_the_device_list(lock):
    first = client.setup(lock.transport("a"), "123456", "alice")
    lock.line("E")
    hello = wire.message(wire.PAIR_HELLO, bytes(16) + b"\x00" + wire.text("eve"))
    assert wire.parse(lock.transport("e").exchange("pair", hello))[0] == wire.PAIR_CHALLENGE
    lock.power_cut()            # the attacker pulls the batteries before the answer is known
    s = lock.state()
    assert s["fails"] == 1 and s["devices"] == 1
    assert client.Session(lock.transport("a"), first.device_id, first.key).status()["devices"] == 1


def test_a_damaged_code_record_refuses_pairing_instead_of_using_a_known_verifier(lock):
    first = client.setup(lock.transport("a"), "123456", "alice")
    with open(lock.flash + "/code", "wb") as f:
        f.write(b"LK damaged")
    lock.power_cut()
    lock.line("T 20000000")                          # well past the lockout a damaged record starts with
    lock.line("E")
    assert error_of(client.pair, lock.transport("m"), "123456", "m") == wire.E_STORAGE
    s = lock.state()
    assert s["devices"] == 1 and s["code_set"]
    alice = client.Session(lock.transport("a"), first.device_id, first.key)
    assert alice.status()["devices"] == 1            # a paired phone still works


def test_outside_pairing_mode_every_pairing_message_is_refused(lock):
    client.setup(lock.transport("a"), "123456", "alice")
    assert error_of(client.pair, lock.transport("b"), "123456", "bob") == wire.E_NOT_PAIRING
    confirm = wire.message(wire.PAIR_CONFIRM, bytes(80))
    reply = lock.transport("b").exchange("pair", confirm)
    assert reply == wire.message(wire.ERROR, bytes((3,)))
    assert lock.state()["fails"] == 0 and lock.state()["devices"] == 1


def test_pairing_mode_times_out_after_a_minute_and_a_short_press_ends_it(lock):
    client.setup(lock.transport("a"), "123456", "alice")
    lock.line("T 1000")
    lock.line("E")
    lock.line("T 60999")
    assert lock.state()["pairing"]
    lock.line("T 61000")
    assert not lock.state()["pairing"]
    assert error_of(client.pair, lock.transport("b"), "123456", "bob") == wire.E_NOT_PAIRING
    lock.line("E")
    lock.line("B")
    assert error_of(client.pair, lock.transport("b"), "123456", "bob") == wire.E_NOT_PAIRING


def test_one_pairing_at_a_time(lock):
    client.setup(lock.transport("a"), "123456", "alice")
    lock.line("E")
    hello = wire.message(wire.PAIR_HELLO, bytes(16) + b"\x00" + wire.text("slow"))
    assert wire.parse(lock.transport("slow").exchange("pair", hello))[0] == wire.PAIR_CHALLENGE
    assert error_of(client.pair, lock.transport("b"), "123456", "bob") == wire.E_BUSY
    lock.transport("slow").close()           # the slow one disconnects: its guess stands, the window frees
    got = client.pair(lock.transport("b"), "123456", "bob")
    assert got.admin and lock.state()["devices"] == 2 and lock.state()["fails"] == 0


def test_a_forged_confirmation_is_a_wrong_guess_and_stores_nothing(lock):
    client.setup(lock.transport("a"), "123456", "alice")
    lock.line("E")
    t = lock.transport("x")
    hello = wire.message(wire.PAIR_HELLO, bytes(16) + b"\x00" + wire.text("x"))
    ch = wire.expect(t.exchange("pair", hello), wire.PAIR_CHALLENGE)
    ya = ch[-32:]
    # Reflect the lock's own share back with a made-up tag: no code, no key, no device.
    reply = t.exchange("pair", wire.message(wire.PAIR_CONFIRM, ya + bytes(32) + bytes(16)))
    assert wire.parse(reply)[0] == wire.ERROR and reply[2] == wire.E_BAD_CODE
    assert lock.state()["devices"] == 1 and lock.state()["fails"] == 1


def test_the_client_checks_the_locks_key_confirmation(tmp_path):
    """PAIR_DONE must carry the lock's tag over both shares; without the code nobody can make it."""
    fake = PipeLock(str(tmp_path), iterations=ITER)
    try:
        client.setup(fake.transport("x"), "111111", "setup")
        fake.line("E")
        t = fake.transport("victim")

        class Tamper:
            def exchange(self, channel, msg):
                reply = t.exchange(channel, msg)
                if wire.parse(reply)[0] == wire.PAIR_DONE:
                    reply = reply[:2] + bytes(32) + reply[34:]      # a lock without the code can't make tagL
                return reply

        assert error_of(client.pair, Tamper(), "111111", "victim") == wire.E_AUTH
    finally:
        fake.close()


def test_malformed_pairing_messages_get_errors_and_change_nothing(lock):
    client.setup(lock.transport("a"), "123456", "alice")
    lock.line("E")
    t = lock.transport("f")
    for body in (b"", bytes(10), bytes(16) + b"\x09" + wire.text("bad type"), bytes(16) + b"\x00\x05ab"):
        reply = t.exchange("pair", wire.message(wire.PAIR_HELLO, body))
        assert wire.parse(reply)[0] == wire.ERROR
    reply = t.exchange("pair", b"\x07\x01" + bytes(20))
    assert reply == wire.message(wire.ERROR, bytes((2,)))
    reply = t.exchange("cmd", wire.message(wire.PAIR_HELLO, bytes(17)))
    assert reply == wire.message(wire.ERROR, bytes((19,)))
    s = lock.state()
    assert s["devices"] == 1 and s["fails"] == 0 and s["pairing"]


def test_status_payload_layout(lock):
    got = client.setup(lock.transport("a"), "123456", "alice")
    s = client.Session(lock.transport("a"), got.device_id, got.key)
    body = s.call(client.STATUS)
    assert body[0] == len("locked") and body[1:7] == b"locked"
    assert struct.unpack_from("<BB", body, 7)[0] == 80


def test_status_reports_a_jam_and_a_calibration_error_each_as_what_it_is(lock):
    got = client.setup(lock.transport("a"), "123456", "alice")
    s = client.Session(lock.transport("a"), got.device_id, got.key)
    seen = {}
    for error in ("jam", "calibration_failed", "calibration_invalid", None):
        lock.line("X %s" % error if error else "X")
        st = s.status()
        seen[error] = (st["jammed"], st["calibration_error"], st["error"])
    assert seen == {"jam": (True, False, "jam"),
                    "calibration_failed": (False, True, "calibration_failed"),
                    "calibration_invalid": (False, True, "calibration_invalid"),
                    None: (False, False, None)}


def test_the_identity_file_is_owner_only_and_errors_are_one_line(tmp_path):
    import os
    import stat
    import subprocess
    from lockctl import identity
    path = tmp_path / "cfg" / "lockctl" / "identity.json"
    identity.save(path, "sim:127.0.0.1:1", 42, bytes(range(32)), "me", True)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(path.parent).st_mode) == 0o700
    assert identity.load(path)["key"] == bytes(range(32))
    lockctl = str(mpy.ROOT / ".venv" / "bin" / "lockctl")
    for args in (["--identity", str(path), "status"],                       # nothing listening there
                 ["--identity", str(tmp_path / "none.json"), "status"],     # never paired
                 ["--sim", "127.0.0.1:1", "pair", "--code", "12345"]):     # not 6 digits
        r = subprocess.run([lockctl, *args], capture_output=True, text=True, timeout=30)
        assert r.returncode == 1 and r.stdout == ""
        assert len(r.stderr.strip().splitlines()) == 1 and r.stderr.startswith("lockctl: ")


def test_pairing_never_silently_replaces_an_identity(tmp_path):
    import subprocess
    from lockctl import identity
    path = tmp_path / "id.json"
    identity.save(path, "sim:127.0.0.1:1", 7, bytes(32), "old", True)
    r = subprocess.run([str(mpy.ROOT / ".venv" / "bin" / "lockctl"), "--identity", str(path), "--sim",
                        "127.0.0.1:1", "pair", "--code", "123456"], capture_output=True, text=True, timeout=30)
    assert r.returncode == 1 and "--force" in r.stderr
    assert identity.load(path)["device_id"] == 7
