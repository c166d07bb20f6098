"""End to end on the simulated lock: lockctl (CLI and client API) over the simulated radio."""
import json
import random
import struct
import sys
import threading
import time

import pytest

import mpy

sys.path.insert(0, str(mpy.ROOT / "tools"))
from lockctl import client, wire  # noqa: E402
from lockctl.transports import SimTransport  # noqa: E402
from sim import TEST_TIMERS  # noqa: E402

CODE = "246810"


def pairing_timeout_ms():
    return TEST_TIMERS["PAIRING_TIMEOUT_MS"]


class Phone:
    """One client: its own identity file, driven through the lockctl CLI."""

    def __init__(self, lock, tmp_path, name):
        self.lock, self.name = lock, name
        self.identity = tmp_path / ("%s.json" % name)

    def run(self, *args, ok=True):
        r = self.lock.run_lockctl(self.identity, *args)
        if ok:
            assert r.returncode == 0, "lockctl %s: %s" % (" ".join(args), r.stderr)
            return json.loads(r.stdout) if r.stdout.strip() else None
        assert r.returncode != 0 and r.stdout == ""
        lines = r.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("lockctl: "), r.stderr
        return lines[0]

    def pair(self, code=CODE, ok=True):
        return self.run("pair", "--code", code, "--name", self.name, ok=ok)

    def setup(self, code=CODE, ok=True):
        return self.run("setup", "--code", code, "--name", self.name, ok=ok)

    def key(self):
        ident = json.loads(self.identity.read_text())
        return ident["device_id"], bytes.fromhex(ident["key"])


def open_pairing(lock):
    lock.bench("button hold 5.5")
    lock.wait_for(lambda s: s.get("pairing"), timeout=10, what="pairing mode")


@pytest.fixture
def lock(calibrated_lock):
    return calibrated_lock


@pytest.fixture
def owner(lock, tmp_path):
    """The first device: a fresh lock is in pairing mode at its first boot and takes the first code."""
    lock.wait_for(lambda s: s["pairing"], timeout=10, what="pairing mode on a lock with no devices")
    p = Phone(lock, tmp_path, "owner")
    assert p.setup()["admin"]
    lock.wait_for(lambda s: not s["pairing"], what="pairing mode closed by the pairing")
    return p


def test_three_clients_each_work_and_revoking_one_leaves_the_others(lock, owner, tmp_path):
    phones = [owner]
    for name in ("bob", "carol"):
        open_pairing(lock)
        p = Phone(lock, tmp_path, name)
        p.pair()
        phones.append(p)
    for p in phones:                                   # a later pairing disables no earlier one
        assert p.run("status")["devices"] == 3
    phones[1].run("unlock")
    lock.wait_lock("unlocked", timeout=30)
    phones[2].run("lock")
    lock.wait_lock("locked", timeout=30)
    bob_id = phones[1].key()[0]
    assert {d["name"] for d in owner.run("devices")} == {"owner", "bob", "carol"}
    owner.run("revoke", str(bob_id), "--code", CODE)
    assert "not paired" in phones[1].run("unlock", ok=False)
    assert lock.state()["lock"] == "locked"
    phones[2].run("unlock")
    lock.wait_lock("unlocked", timeout=30)
    assert {d["name"] for d in owner.run("devices")} == {"owner", "carol"}


def test_revoke_closes_the_open_session_of_that_device(lock, owner, tmp_path):
    open_pairing(lock)
    bob = Phone(lock, tmp_path, "bob")
    bob.pair()
    t = SimTransport("127.0.0.1:%d" % lock.port)
    try:
        s = client.Session(t, *bob.key())
        s.status()
        owner.run("revoke", str(bob.key()[0]), "--code", CODE)
        with pytest.raises((wire.LockError, ConnectionError)):
            s.action("unlock")
    finally:
        t.close()
    assert lock.state()["lock"] == "locked"


def test_wrong_codes_lock_out_longer_and_a_power_cycle_does_not_reset_it(lock, owner, tmp_path):
    mallory = Phone(lock, tmp_path, "mallory")
    open_pairing(lock)
    for i in range(5):
        assert "wrong security code" in mallory.pair(code="13579%d" % i, ok=False)
    assert "locked out" in mallory.pair(code=CODE, ok=False)     # even the right code waits now
    first = TEST_TIMERS["FIRST_LOCKOUT_MS"]
    assert first - 5000 < owner.run("status")["lockout_ms"] <= first
    time.sleep(first / 1000 + 0.5)
    # The 6th guess through an admin command: the same counter, and no pairing window needed.
    assert "wrong security code" in owner.run("rename", str(owner.key()[0]), "x", "--code", "999999", ok=False)
    assert 2 * first - 5000 < owner.run("status")["lockout_ms"] <= 2 * first   # doubled
    lock.power_cycle()
    lock.wait_for(lambda s: s["lock"] in ("locked", "unlocked"), timeout=60, what="calibrated")
    assert 2 * first - 5000 < owner.run("status")["lockout_ms"] <= 2 * first   # restarts in full after the cut
    open_pairing(lock)
    assert "locked out" in mallory.pair(code=CODE, ok=False)
    assert "locked out" in owner.run("rename", str(owner.key()[0]), "x", "--code", CODE, ok=False)
    assert len(owner.run("devices")) == 1


def test_pairing_outside_pairing_mode_is_refused(lock, owner, tmp_path):
    bob = Phone(lock, tmp_path, "bob")
    assert "not in pairing mode" in bob.pair(ok=False)
    assert owner.run("status")["lockout_ms"] == 0      # a refused hello costs no guess
    assert len(owner.run("devices")) == 1


def test_pairing_mode_times_out(lock, owner, tmp_path):
    open_pairing(lock)
    opened = time.monotonic()
    lock.wait_for(lambda s: not s["pairing"], timeout=pairing_timeout_ms() / 1000 + 10, what="timeout")
    assert time.monotonic() - opened > pairing_timeout_ms() / 1000 - 6
    assert "not in pairing mode" in Phone(lock, tmp_path, "late").pair(ok=False)


class Recorder:
    def __init__(self, inner):
        self.inner, self.sent = inner, []

    def exchange(self, channel, msg):
        self.sent.append((channel, msg))
        return self.inner.exchange(channel, msg)

    def close(self):
        self.inner.close()


def test_a_captured_session_replayed_is_rejected(lock, owner):
    did, key = owner.key()
    rec = Recorder(SimTransport("127.0.0.1:%d" % lock.port))
    s = client.Session(rec, did, key)
    s.action("unlock")
    lock.wait_lock("unlocked", timeout=30)
    s.action("lock")
    lock.wait_lock("locked", timeout=30)
    rec.close()
    # The attacker replays the whole recorded conversation on a new connection.
    t = SimTransport("127.0.0.1:%d" % lock.port)
    try:
        replies = [t.exchange(ch, msg) for ch, msg in rec.sent[:2]]
        assert wire.parse(replies[0])[0] == wire.SESSION_CHALLENGE   # a fresh lock nonce ...
        assert replies[1] == wire.message(wire.ERROR, bytes((wire.E_AUTH,)))  # ... so the old frame fails
    except ConnectionError:
        pass                                            # or the lock already dropped the connection
    finally:
        t.close()
    time.sleep(0.5)
    assert lock.state()["lock"] == "locked"
    owner.run("status")


def test_fuzzed_frames_never_crash_the_lock_or_change_state(lock, owner):
    before = owner.run("status")
    rnd = random.Random(11)
    did, _ = owner.key()
    seeds = [wire.message(wire.SESSION_HELLO, struct.pack("<I", did) + bytes(16)),
             wire.message(wire.SECURE, bytes(30)), wire.message(wire.PAIR_HELLO, bytes(20)),
             wire.message(wire.PAIR_CONFIRM, bytes(90))]
    t = SimTransport("127.0.0.1:%d" % lock.port)
    try:
        for i in range(120):
            ch = rnd.choice(("pair", "cmd"))
            if i % 3 == 0:                              # raw garbage fragments
                try:
                    t.write_raw(ch, bytes(rnd.randrange(256) for _ in range(rnd.randrange(1, 21))))
                except ConnectionError:                 # junk opens no session: the lock drops it in seconds
                    t.close()
                    t = SimTransport("127.0.0.1:%d" % lock.port)
                continue
            msg = bytearray(rnd.choice(seeds))
            for _ in range(rnd.randrange(1, 4)):
                msg[rnd.randrange(len(msg))] = rnd.randrange(256)
            try:
                reply = t.exchange(ch, bytes(msg))
            except (ConnectionError, wire.LockError):
                t.close()
                t = SimTransport("127.0.0.1:%d" % lock.port)
                continue
            assert wire.parse(reply)[0] in (wire.ERROR, wire.SESSION_CHALLENGE)
    finally:
        t.close()
    after = owner.run("status")
    for k in ("state", "devices", "lockout_ms", "code_set", "pairing"):
        assert after[k] == before[k], k
    assert len(owner.run("devices")) == 1


def test_power_cut_during_pairing_leaves_the_device_list_consistent(lock, owner, tmp_path):
    did, key = owner.key()
    for delay in (0.0, 0.02, 0.2):
        open_pairing(lock)
        t = SimTransport("127.0.0.1:%d" % lock.port)
        worker = threading.Thread(target=lambda: _try_pair(t, "cut"), daemon=True)
        worker.start()
        time.sleep(delay)
        lock.power_cycle()
        worker.join(20)
        lock.wait_for(lambda s: s["lock"] in ("locked", "unlocked"), timeout=60, what="calibrated")
        names = [d["name"] for d in owner.run("devices")]
        assert names.count("owner") == 1 and set(names) <= {"owner", "cut"}
        assert owner.run("status")["devices"] == len(names)
    open_pairing(lock)
    Phone(lock, tmp_path, "after").pair()
    assert "after" in [d["name"] for d in owner.run("devices")]


def _try_pair(t, name):
    try:
        client.pair(t, CODE, name)
    except (wire.LockError, ConnectionError, OSError):
        pass
    finally:
        try:
            t.close()
        except OSError:
            pass
