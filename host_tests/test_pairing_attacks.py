"""Attacks on pairing (issue 9): a fake lock that claims to be fresh, a relay that rewrites the hello, a fake
lock that asks for an absurd PBKDF2 count, a client that stalls the pairing window. The fake locks are built
from the client's own crypto (tools/lockctl/crypto.py); the real lock is the firmware under MicroPython."""
import json
import struct
import sys

import pytest

import mpy

sys.path.insert(0, str(mpy.ROOT / "tools"))
from lockctl import cli, client, crypto, transports, wire  # noqa: E402

CODE = "123456"


class FakeLock:
    """A lock impersonator: answers PAIR_HELLO with a challenge it chooses and, if a PAIR_CONFIRM comes,
    does what the real lock would do for those flags (for a "fresh" claim: opens the sealed code)."""

    def __init__(self, flags=client.FLAG_SETUP, iterations=1000, prs=None):
        self.flags, self.iterations = flags, iterations
        self.prs = prs or (client.SETUP_PRS if flags & client.FLAG_SETUP else bytes(32))  # what it keys by
        self.received = []          # every message the client sent, in order
        self.stolen = None          # the code, if the client ever sealed one to us

    def exchange(self, channel, message):
        self.received.append(message)
        mtype, body = wire.parse(message)
        if mtype == wire.PAIR_HELLO:
            self.hello = body
            self.lnonce, self.salt, self.scalar = bytes(range(16)), bytes(16), bytes(range(1, 33))
            self.sid = body[:16] + self.lnonce
            self.ya = crypto.share(crypto.generator(self.prs, client.CI, self.sid), self.scalar)
            self.challenge = (bytes((self.flags,)) + self.lnonce + self.salt + struct.pack("<I", self.iterations)
                              + self.ya)
            return wire.message(wire.PAIR_CHALLENGE, self.challenge)
        yb, tag_c, sealed = body[:32], body[32:64], body[64:]
        isk = crypto.isk(self.scalar, self.ya, yb, self.challenge[:-32], self.hello, self.sid, True)
        keys = crypto.hkdf(isk, self.sid, client.PAIR_INFO, 112)
        self.stolen = crypto.CCM(keys[64:80]).open(client.NONCE_C2L, sealed,
                                                    bytes((wire.VERSION, wire.PAIR_CONFIRM)))
        return wire.message(wire.PAIR_DONE, crypto.hmac_sha256(keys[32:64], b"L" + yb + self.ya) +
                            crypto.CCM(keys[64:80]).seal(client.NONCE_L2C, struct.pack("<IB", 7, 1),
                                                         bytes((wire.VERSION, wire.PAIR_DONE))))

    def close(self):
        pass


def lockctl(monkeypatch, capsys, fake, *args):
    """`lockctl --sim ... ARGS` in this process, its radio replaced by `fake`: (exit code, stdout, stderr)."""
    monkeypatch.setattr(transports, "SimTransport", lambda hostport: fake)
    rc = cli.main(["--sim", "127.0.0.1:1", *args])
    out = capsys.readouterr()
    return rc, out.out, out.err


def test_a_fake_fresh_lock_gets_nothing_derived_from_the_code_from_pair(tmp_path, monkeypatch, capsys):
    ident = tmp_path / "phone.json"
    fake = FakeLock(flags=client.FLAG_SETUP)
    rc, out, err = lockctl(monkeypatch, capsys, fake, "--identity", str(ident), "pair", "--code", CODE)
    assert rc == 1 and out == ""
    assert "no security code yet" in err and "lockctl setup" in err and "impersonat" in err
    assert len(err.strip().splitlines()) == 1
    # Only the hello went out (nonce, type, name: nothing the code went into), and no identity was written.
    assert [wire.parse(m)[0] for m in fake.received] == [wire.PAIR_HELLO]
    assert fake.stolen is None and not ident.exists()


def test_the_same_fake_lock_reads_the_code_from_setup_which_is_trust_on_first_use(tmp_path, monkeypatch, capsys):
    """The control for the test above: the fake lock really is a working attacker, and `setup` (which the
    user runs only for a lock fresh out of its box) is exactly what it can exploit."""
    fake = FakeLock(flags=client.FLAG_SETUP)
    rc, out, err = lockctl(monkeypatch, capsys, fake, "--identity", str(tmp_path / "p.json"), "setup",
                           "--code", CODE)
    assert rc == 0, err
    assert fake.stolen == CODE.encode()
    assert json.loads((tmp_path / "p.json").read_text())["iterations"] == fake.iterations   # pinned


def test_setup_refuses_a_lock_this_device_already_paired_with(tmp_path, monkeypatch, capsys):
    from lockctl import identity
    identity.save(tmp_path / "home.json", "sim:127.0.0.1:1", 7, bytes(32), "me", True)
    fake = FakeLock(flags=client.FLAG_SETUP)
    rc, out, err = lockctl(monkeypatch, capsys, fake, "--identity", str(tmp_path / "second.json"), "setup",
                           "--code", CODE)
    assert rc == 1 and "already paired with that lock" in err and "home.json" in err
    assert fake.received == []              # refused before connecting at all


def test_setup_refuses_a_lock_that_already_has_a_code(tmp_path, monkeypatch, capsys):
    fake = FakeLock(flags=0)
    rc, out, err = lockctl(monkeypatch, capsys, fake, "--identity", str(tmp_path / "p.json"), "setup",
                           "--code", CODE)
    assert rc == 1 and "already has a security code" in err and "lockctl pair" in err
    assert [wire.parse(m)[0] for m in fake.received] == [wire.PAIR_HELLO]


def test_a_fake_lock_asking_for_2_to_the_32_iterations_is_refused_at_once(tmp_path, monkeypatch, capsys):
    def no_pbkdf2(*args):
        raise AssertionError("the client started PBKDF2 for a count it should refuse")
    monkeypatch.setattr(crypto, "pbkdf2_sha256", no_pbkdf2)
    for count in (2**32 - 1, client.MAX_ITERATIONS + 1, client.MIN_ITERATIONS - 1, 0):
        fake = FakeLock(flags=0, iterations=count)
        rc, out, err = lockctl(monkeypatch, capsys, fake, "--identity", str(tmp_path / "p.json"), "pair",
                               "--code", CODE)
        assert rc == 1 and "%d PBKDF2 iterations" % count in err, err
        assert [wire.parse(m)[0] for m in fake.received] == [wire.PAIR_HELLO]


def test_a_known_lock_asking_for_another_iteration_count_than_pinned_is_refused(tmp_path, monkeypatch, capsys):
    from lockctl import identity
    identity.save(tmp_path / "home.json", "sim:127.0.0.1:1", 7, bytes(32), "me", True, iterations=2000)
    fake = FakeLock(flags=0, iterations=4000)
    rc, out, err = lockctl(monkeypatch, capsys, fake, "--identity", str(tmp_path / "second.json"), "pair",
                           "--code", CODE)
    assert rc == 1 and "said 2000" in err and "impersonat" in err
    assert [wire.parse(m)[0] for m in fake.received] == [wire.PAIR_HELLO]
    # The pinned count itself gets past the hello (this fake does not know the code, so it then fails).
    fake = FakeLock(flags=0, iterations=2000)
    rc, out, err = lockctl(monkeypatch, capsys, fake, "--identity", str(tmp_path / "second.json"), "pair",
                           "--code", CODE)
    assert rc == 1 and [wire.parse(m)[0] for m in fake.received] == [wire.PAIR_HELLO, wire.PAIR_CONFIRM]
    assert "authentication failed" in err


# --- against the firmware's lock (LockProtocol under MicroPython, tools/pipelock.py) ------------------------

ITER = 1000


@pytest.fixture
def lock(tmp_path):
    from lockctl.transports import PipeLock
    pl = PipeLock(str(tmp_path), iterations=ITER)
    owner = client.setup(pl.transport("owner"), CODE, "owner")
    assert owner.iterations == ITER         # what the identity file pins
    pl.owner = client.Session(pl.transport("owner"), owner.device_id, owner.key)
    pl.line("E")
    yield pl
    pl.close()


def state(lock):
    return json.loads(lock.line("S"))


class Relay:
    """A man in the middle between a client and the lock that rewrites what passes with `rewrite`."""

    def __init__(self, inner, rewrite):
        self.inner, self.rewrite = inner, rewrite

    def exchange(self, channel, message):
        mtype, body = wire.parse(message)
        return self.inner.exchange(channel, wire.message(mtype, self.rewrite(mtype, body)))

    def close(self):
        self.inner.close()


def test_a_relay_that_rewrites_the_hello_makes_the_pairing_fail(lock):
    def as_fob(mtype, body):    # a phone called "kitchen" becomes a fob called "spare fob"
        return body[:16] + bytes((client.TYPES.index("fob"),)) + wire.text("spare fob") if mtype == wire.PAIR_HELLO \
            else body
    with pytest.raises(wire.LockError) as e:
        client.pair(Relay(lock.transport("k"), as_fob), CODE, "kitchen", "phone")
    assert e.value.code in (wire.E_BAD_CODE, wire.E_AUTH)
    assert [d["name"] for d in lock.owner.devices()] == ["owner"]
    # Untouched, the same pairing goes through and the lock stores what the phone said.
    client.pair(Relay(lock.transport("k"), lambda mtype, body: body), CODE, "kitchen", "phone")
    assert sorted((d["name"], d["type"]) for d in lock.owner.devices()) == [("kitchen", "phone"), ("owner", "phone")]


@pytest.mark.parametrize("field", [slice(1, 17), slice(17, 33), slice(33, 37)])   # lnonce, salt, iterations
def test_a_relay_that_rewrites_the_challenge_makes_the_pairing_fail(lock, field):
    t = lock.transport("k")

    class ChallengeRelay:
        def exchange(self, channel, message):
            reply = t.exchange(channel, message)
            if wire.parse(reply)[0] == wire.PAIR_CHALLENGE:
                b = bytearray(reply)
                b[2 + field.start] ^= 1
                reply = bytes(b)
            return reply

        def close(self):
            t.close()
    with pytest.raises(wire.LockError):
        client.pair(ChallengeRelay(), CODE, "kitchen")
    assert len(lock.owner.devices()) == 1


def test_a_stalled_hello_frees_the_window_within_seconds_and_its_guess_stands(lock):
    lock.line("T 1000")
    lock.line("E")
    hello = wire.message(wire.PAIR_HELLO, bytes(16) + b"\x00" + wire.text("staller"))
    stalled = lock.transport("staller")
    assert wire.parse(stalled.exchange("pair", hello))[0] == wire.PAIR_CHALLENGE
    lock.line("T 3000")
    with pytest.raises(wire.LockError) as e:                    # it holds the window for now ...
        client.pair(lock.transport("b"), CODE, "bob")
    assert e.value.code == wire.E_BUSY
    lock.line("T 5999")
    assert state(lock)["pairing"] and state(lock)["fails"] == 1
    lock.line("T 6000")                                          # ... and 5 s after its hello, no longer
    s = state(lock)
    assert s["pairing"] and s["fails"] == 1                     # the stalled guess counted as wrong
    late = stalled.exchange("pair", wire.message(wire.PAIR_CONFIRM, bytes(80)))
    assert late == wire.message(wire.ERROR, bytes((wire.E_NOT_PAIRING,)))
    got = client.pair(lock.transport("b"), CODE, "bob")         # the owner's next phone, in the same window
    assert got.admin and state(lock)["devices"] == 2 and state(lock)["fails"] == 0


def test_an_exchange_that_confirms_in_time_is_not_cut_short(lock):
    lock.line("T 1000")
    lock.line("E")
    t = lock.transport("b")

    class Slow:                                                 # 4.9 s between hello and confirm
        def exchange(self, channel, message):
            if wire.parse(message)[0] == wire.PAIR_CONFIRM:
                lock.line("T 5900")
            return t.exchange(channel, message)

        def close(self):
            t.close()
    assert client.pair(Slow(), CODE, "bob").admin



# --- the setup secret: a lock provisioned with one is set up only by whoever holds it ------------------------

SECRET = bytes(range(100, 116))


@pytest.fixture
def provisioned(tmp_path):
    from lockctl.transports import PipeLock
    flash = tmp_path / "flash"
    flash.mkdir()
    (flash / "setup").write_bytes(client.setup_secret_record(SECRET))      # what deploy tooling writes
    pl = PipeLock(str(flash), iterations=ITER)
    pl.flash = flash
    yield pl
    pl.close()


def tofu_setup(t, code):
    """An attacker's setup that ignores the secret flag: keyed by the constant, the code sealed inside."""
    cnonce = bytes(16)
    hello = cnonce + b"\x00" + wire.text("mallory")
    ch = wire.expect(t.exchange("pair", wire.message(wire.PAIR_HELLO, hello)), wire.PAIR_CHALLENGE)
    sid, scalar = cnonce + ch[1:17], bytes(range(32))
    yb = crypto.share(crypto.generator(client.SETUP_PRS, client.CI, sid), scalar)
    isk = crypto.isk(scalar, yb, ch[-32:], hello, ch[:-32], sid, False)
    keys = crypto.hkdf(isk, sid, client.PAIR_INFO, 112)
    tag = crypto.hmac_sha256(keys[:32], b"C" + ch[-32:] + yb)
    sealed = crypto.CCM(keys[64:80]).seal(client.NONCE_C2L, code.encode(), bytes((wire.VERSION, wire.PAIR_CONFIRM)))
    return t.exchange("pair", wire.message(wire.PAIR_CONFIRM, yb + tag + sealed))


def test_the_setup_secret_as_text_round_trips_and_bad_text_is_refused():
    assert client.format_setup_secret(bytes(range(16))) == "AAAQ-EAYE-AUDA-OCAJ-BIFQ-YDIO-B4"   # PROTOCOL.md's
    text = client.format_setup_secret(SECRET)
    assert len(text) == 26 + 6 and text.count("-") == 6
    assert client.parse_setup_secret(text) == SECRET
    assert client.parse_setup_secret(text.lower().replace("-", " ")) == SECRET
    for bad in ("", text[:-1], text + "A", "0000-1111-8888-9999-0000-1111-88"):
        with pytest.raises(ValueError):
            client.parse_setup_secret(bad)


def test_a_provisioned_lock_is_set_up_only_with_its_secret(provisioned):
    lock = provisioned
    with pytest.raises(client.PairingRefused) as e:                     # no secret given: nothing sent
        client.setup(lock.transport("o"), CODE, "owner")
    assert "setup secret" in str(e.value)
    lock.transport("o").close()                                         # (lockctl then disconnects)
    reply = tofu_setup(lock.transport("m"), "999999")                  # trust on first use is not accepted
    assert wire.parse(reply)[0] == wire.ERROR and reply[2] == wire.E_BAD_CODE
    with pytest.raises(client.PairingRefused) as e:                     # nor a wrong secret
        client.setup(lock.transport("o"), CODE, "owner", setup_secret=bytes(16))
    assert "wrong setup secret" in str(e.value)
    s = state(lock)
    assert not s["code_set"] and s["devices"] == 0 and s["pairing"] and s["fails"] == 0
    got = client.setup(lock.transport("o"), CODE, "owner", setup_secret=SECRET)
    assert got.admin and state(lock)["code_set"]
    lock.line("E")                                                      # later phones pair with the code
    assert client.pair(lock.transport("b"), CODE, "bob").admin


def test_a_damaged_setup_secret_never_falls_back_to_trust_on_first_use(provisioned):
    lock = provisioned
    (lock.flash / "setup").write_bytes(client.setup_secret_record(SECRET)[:-1] + b"\x00")
    for attempt in (lambda t: client.setup(t, CODE, "owner"),
                    lambda t: client.setup(t, CODE, "owner", setup_secret=SECRET)):
        with pytest.raises(wire.LockError) as e:
            attempt(lock.transport("o"))
        assert e.value.code == wire.E_STORAGE
    with pytest.raises(wire.LockError) as e:
        tofu_setup(lock.transport("m"), "999999")
    assert e.value.code == wire.E_STORAGE
    assert not state(lock)["code_set"]


def test_setup_with_a_secret_gives_a_fake_lock_nothing(tmp_path, monkeypatch, capsys):
    assert client.format_setup_secret(bytes(range(16))) == "AAAQ-EAYE-AUDA-OCAJ-BIFQ-YDIO-B4"   # PROTOCOL.md's
    text = client.format_setup_secret(SECRET)
    # A fake lock that claims to be fresh without a secret: refused before anything derived from the code.
    fake = FakeLock(flags=client.FLAG_SETUP)
    rc, out, err = lockctl(monkeypatch, capsys, fake, "--identity", str(tmp_path / "a.json"), "setup",
                           "--setup-secret", text, "--code", CODE)
    assert rc == 1 and "does not ask for the setup secret" in err
    assert [wire.parse(m)[0] for m in fake.received] == [wire.PAIR_HELLO] and fake.stolen is None
    # One that claims a secret it does not have: the sealed code is under a key it cannot make.
    fake = FakeLock(flags=client.FLAG_SETUP | client.FLAG_SECRET, prs=bytes(16))
    rc, out, err = lockctl(monkeypatch, capsys, fake, "--identity", str(tmp_path / "b.json"), "setup",
                           "--setup-secret", text, "--code", CODE)
    assert rc == 1 and fake.stolen is None and not (tmp_path / "b.json").exists()
    rc, out, err = lockctl(monkeypatch, capsys, FakeLock(), "--identity", str(tmp_path / "c.json"), "setup",
                           "--setup-secret", "not-a-secret", "--code", CODE)
    assert rc == 1 and "26 letters" in err


def test_a_factory_reset_keeps_the_setup_secret(micropython, tmp_path):
    for name, data in (("setup", client.setup_secret_record(SECRET)), ("code", b"x"), ("settings", b"y")):
        (tmp_path / name).write_bytes(data)
    (tmp_path / "dev").mkdir()
    (tmp_path / "dev" / "b00").write_bytes(b"z")
    (tmp_path / "wiping").write_bytes(b"")
    micropython.run("import os\nos.chdir(%r)\nfrom lock import app\napp._finish_wipe()\n" % str(tmp_path),
                    path=(mpy.FIRMWARE, mpy.ROOT / "boards" / "sim", mpy.sim_libraries()), heap="256k")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["setup"]
    assert (tmp_path / "setup").read_bytes() == client.setup_secret_record(SECRET)
