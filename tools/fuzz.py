"""Fuzz the lock's protocol endpoint: random and mutated messages into LockProtocol.handle under MicroPython.

    python tools/fuzz.py [--messages N] [--seed S] [--json]

Every message type on both channels, whole or in fragments through the lock's wire.Reassembler, from strangers
and from paired devices inside real sessions (SECURE frames with valid crypto around mutated commands), with
pairings (right, wrong and mutated), disconnects, clock jumps and reboots in between. The same seed replays the
same run.

Found, and a failure of the run:
- a crash: an exception escaping the endpoint, the E_INTERNAL reply (a bug the endpoint caught), a reply that
  is not a well-formed message, or a SECURE reply that does not open;
- a state change: after every step the flash, as the next boot would read it, must equal the model below;
- a store that no longer verifies, or a file left behind (*.tmp).

The model (what may change the flash, and how):
- devices: one more only after PAIR_DONE, with the id, type and name the pairing sent; a device's name only
  after RENAME answered OK; a device gone only after REVOKE answered OK;
- the code: set only by the first pairing (PAIR_DONE of a setup) and changed only after CHANGE_CODE answered OK
  (the verifier is then PBKDF2 of the new code);
- settings: only after SET_SETTINGS answered OK, and then exactly what it sent;
- each of those only from an admin device whose request carried the right code (an OK otherwise is itself a
  failure); every other command (and any command this table does not know) changes nothing;
- the wrong-guess counter: at most one more per message, and less only after a message that carried the right
  code (a command inside a session, or a pairing built from it).
A later command that writes adds one line to EFFECTS.
"""
from __future__ import annotations

import argparse
import collections
import hashlib
import json
import os
import pathlib
import random
import shutil
import struct
import sys
import tempfile
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from lockpipe import ITERATIONS, PAIR, COMMAND, LockDied, PipeTransport, TestLock  # noqa: E402
from lockctl import client, crypto, wire  # noqa: E402

# Message types from the client's wire module (one place); anything else is fuzzed as a random byte.
MSG_TYPES = {v: n for n, v in vars(wire).items()
             if n.isupper() and isinstance(v, int) and not n.startswith("E_") and n not in ("VERSION", "MAX_MESSAGE", "OK")}
TYPES = client.TYPES
INTERESTING = (0, 1, 2, 0x7F, 0x80, 0xFE, 0xFF)
WHOS = ("x0", "x1", "x2", "x3")     # strangers' connections
MAX_DEVICES = 10                     # the fuzzer revokes its extra devices beyond this


class Violation(Exception):
    """A crash or an unexpected state change: the run fails."""


def _name_stored(raw: bytes) -> str:
    """The name the lock keeps for `raw`: cut to 32 bytes without splitting a character (PROTOCOL.md)."""
    raw = raw[:32]
    while raw:
        try:
            return raw.decode().rstrip("\0")
        except UnicodeDecodeError:
            raw = raw[:-1]
    return ""


def _rename(m, args):
    device_id, n = struct.unpack_from("<IB", args)
    if len(args) != 5 + n or device_id not in m.devices:
        return "renamed a device it does not have, or with bytes left over"
    m.devices[device_id]["name"] = _name_stored(args[5:])


def _revoke(m, args):
    if len(args) != 4 or m.devices.pop(struct.unpack("<I", args)[0], None) is None:
        return "revoked a device it does not have, or with bytes left over"


def _change_code(m, args):
    if len(args) != 6 or not args.isdigit():
        return "took a code that is not 6 digits"
    m.code = args.decode()


def _set_settings(m, args):
    values = dict(zip(client.SETTINGS, struct.unpack(client.SETTINGS_LAYOUT, args)))
    if values["auto_relock_s"] > 3600 or not 5 <= values["lockngo_s"] <= 600 or values["button_actions"] > 1:
        return "took settings out of range (docs/PROTOCOL.md)"
    values["button_actions"] = bool(values["button_actions"])
    m.settings = values


# Commands that change the flash: number -> (needs admin, carries the code, effect(model, args after the code)).
# The effect runs only for an OK answer (it returns why that OK was wrong, if it was); any command not here
# must change nothing.
EFFECTS = {
    client.RENAME: (True, True, _rename),
    client.REVOKE: (True, True, _revoke),
    client.CHANGE_CODE: (True, True, _change_code),
    client.SET_SETTINGS: (True, True, _set_settings),
}


class Identity:
    def __init__(self, device_id: int, key: bytes, admin: bool, name: str, type_: int):
        self.id, self.key, self.admin, self.name, self.type = device_id, key, admin, name, type_
        self.revoked = False


class Model:
    """What the flash must hold."""

    def __init__(self):
        self.devices: dict[int, dict] = {}
        self.code: str | None = None
        self.settings: dict | None = None
        self.fails = 0

    def copy(self) -> "Model":
        m = Model()
        m.devices = {k: dict(v) for k, v in self.devices.items()}
        m.code, m.settings, m.fails = self.code, dict(self.settings) if self.settings else None, self.fails
        return m


class FuzzSession(client.Session):
    """lockctl's session, with every request going through the fuzzer (which may mutate the plaintext)."""

    def __init__(self, fz: "Fuzzer", transport, ident: Identity):
        self.fz, self.ident, self.dead = fz, ident, False
        super().__init__(transport, ident.id, ident.key, rng=fz.rnd.randbytes)

    def call(self, cmd: int, args: bytes = b"") -> bytes:
        return self.fz.secure(self, bytes((cmd,)) + args)


class Fuzzer:
    def __init__(self, seed: int, flash: pathlib.Path, log=print, firmware: str | None = None):
        self.seed = seed
        self.firmware = firmware
        self.rnd = random.Random(seed)
        self.flash = flash
        self.log = log
        self.boots = 0
        self.lock = self._boot()
        self.model = Model()
        self.now = 0
        self.messages = self.fragments = 0
        self.replies = 0            # answers: at most one counted guess each
        self.histogram: collections.Counter = collections.Counter()
        self.crashes: list[str] = []
        self.idents: list[Identity] = []
        self.owner: Identity | None = None
        self.sessions: dict[str, FuzzSession] = {}
        self.corpus: dict[int, list[bytes]] = collections.defaultdict(list)   # channel -> valid messages
        self.requests: list[bytes] = []                                         # valid request plaintexts
        self.commands: list[int] = []
        self.step = 0
        self.record = False         # keep the requests sent as seeds for mutation
        self.action = ""
        self.proved = False         # this step sent the right code
        self.digest = self._digest()

    # --- the lock ---------------------------------------------------------------------------------
    def _boot(self) -> TestLock:
        self.boots += 1
        return TestLock(self.flash, hashlib.sha256(b"%d/%d" % (self.seed, self.boots)).digest()[:16], ITERATIONS,
                        self.firmware)

    def reboot(self) -> None:
        self.lock.close()
        self.lock = self._boot()
        self.lock.line("T %d" % self.now)
        self.sessions.clear()
        self.check(full=True)

    def fail(self, what: str) -> None:
        raise Violation("seed %d, step %d (%s): %s" % (self.seed, self.step, self.action, what))

    def crash(self, what: str) -> None:
        self.crashes.append("seed %d, step %d (%s): %s" % (self.seed, self.step, self.action, what))
        if len(self.crashes) >= 20:
            self.fail("20 crashes; the first: " + self.crashes[0])

    def observe(self, reply_hex: str, channel: int) -> bytes | None:
        """Check one reply and count it; returns the reply, or None for a fragment that completed nothing."""
        if reply_hex == "-":
            return None
        self.replies += 1
        if reply_hex.startswith("!"):
            self.crash("an exception escaped the endpoint: " + reply_hex[1:])
            self.histogram["exception"] += 1
            return None
        reply = bytes.fromhex(reply_hex)
        if len(reply) < 2 or reply[0] != wire.VERSION or reply[1] not in MSG_TYPES:
            self.crash("not a message: " + reply_hex)
            return reply
        if reply[1] == wire.ERROR:
            code = reply[2] if len(reply) > 2 else None
            self.histogram["ERROR %s" % wire.ERRORS.get(code, code)] += 1
            if code == wire.E_INTERNAL:
                self.crash("E_INTERNAL (the endpoint caught a bug): %s; the lock printed %s"
                           % (reply_hex, self.lock.printed[-3:]))
            elif code not in wire.ERRORS:
                self.crash("an unknown error code: " + reply_hex)
        elif reply[1] != wire.SECURE:
            self.histogram[MSG_TYPES[reply[1]]] += 1
        return reply

    def deliver(self, who: str, channel: int, msg: bytes, fragment_size: int = 0) -> bytes | None:
        """One message to the lock, whole or in fragments; its reply (checked), or None."""
        self.messages += 1
        self.lock.printed.clear()
        if not fragment_size:
            return self.observe(self.lock.send(who, channel, msg), channel)
        frame = wire.fragments(msg, fragment_size) if len(msg) <= wire.MAX_MESSAGE else [b"\x80" + msg[:fragment_size]]
        reply = None
        self.fragments += len(frame)
        for out in self.lock.fragments(who, channel, frame):
            got = self.observe(out, channel)
            reply = got if got is not None else reply
        return reply

    def transport(self, who: str, mutate_one: bool = False) -> "FuzzTransport":
        return FuzzTransport(self, who, mutate_one)

    # --- state --------------------------------------------------------------------------------------
    def _digest(self) -> str:
        h = hashlib.sha256()
        for dirpath, dirnames, files in sorted(os.walk(self.flash)):
            dirnames.sort()
            for name in sorted(files):
                p = os.path.join(dirpath, name)
                h.update(p.encode() + b"\0")
                with open(p, "rb") as f:
                    h.update(f.read())
        return h.hexdigest()

    def check(self, full: bool = False, before: Model | None = None, max_new_fails: int = 1) -> None:
        """The flash against the model (when it changed, or `full`)."""
        digest = self._digest()
        if not full and digest == self.digest and (before is None or not self._model_changed(before)):
            return
        self.digest = digest
        snap = self.lock.snapshot()
        bad = {f: why for f, why in snap["files"].items() if why}
        if bad:
            self.fail("stores that do not verify or were left behind: %s" % bad)
        m = self.model
        devs = {d[0]: {"type": d[1], "flags": d[2], "name": d[3], "key": d[4]} for d in snap["devices"]}
        if devs != m.devices:
            self.fail("devices %s, expected %s" % (devs, m.devices))
        code = snap["code"]
        if code["prs"] is None:
            self.fail("the code's record does not load")
        if code["set"] != (m.code is not None):
            self.fail("code set %s, expected %s" % (code["set"], m.code is not None))
        if m.code is not None:
            want = crypto.pbkdf2_sha256(m.code.encode(), bytes.fromhex(code["salt"]), code["iterations"], 32)
            if want.hex() != code["prs"]:
                self.fail("the stored code is not %s" % m.code)
        settings = snap["settings"][1] if snap["settings"] else None
        if settings != m.settings:
            self.fail("settings %s, expected %s" % (settings, m.settings))
        fails = code["fails"]
        if before is not None:
            if fails > before.fails + max_new_fails:
                self.fail("the wrong-guess count went from %d to %d" % (before.fails, fails))
            if fails < before.fails and not self.proved:
                self.fail("the wrong-guess count fell from %d to %d without the right code" % (before.fails, fails))
        elif full and fails != m.fails:
            self.fail("the wrong-guess count is %d after a reboot, was %d" % (fails, m.fails))
        m.fails = fails

    def _model_changed(self, before: Model) -> bool:
        m = self.model
        return (m.devices, m.code, m.settings) != (before.devices, before.code, before.settings)

    # --- secure requests ----------------------------------------------------------------------------
    def secure(self, s: FuzzSession, plaintext: bytes, fragment_size: int = 0) -> bytes:
        """Seal, send and open one request of session s; applies its effect to the model on OK. Returns the
        response body, or raises LockError like client.Session.call."""
        if s.dead:
            raise wire.LockError(wire.E_NO_SESSION)
        if self.model.code and plaintext[1:7] == self.model.code.encode():
            self.proved = True
        body = s.tx.seal(client._nonce(0x43, s.tx_n), plaintext, s.aad)
        s.tx_n += 1
        msg = wire.message(wire.SECURE, body)
        if self.record:
            _keep(self.requests, plaintext)
            _keep(self.corpus[COMMAND], msg)
        reply = self.deliver(s.t.who, COMMAND, msg, fragment_size)
        if reply is None or reply[1] != wire.SECURE:
            s.dead = True
            raise wire.LockError(reply[2] if reply and len(reply) > 2 else wire.E_BAD_FRAME)
        pt = s.rx.open(client._nonce(0x4C, s.rx_n), reply[2:], s.aad)
        if not pt:
            self.crash("a SECURE reply that does not open: " + reply.hex())
            s.dead = True
            raise wire.LockError(wire.E_AUTH)
        s.rx_n += 1
        status = pt[0]
        self.histogram["SECURE %s" % ("ok" if status == wire.OK else wire.ERRORS.get(status, status))] += 1
        cmd = plaintext[0]
        effect = EFFECTS.get(cmd)
        if status == wire.OK and effect:
            admin, code, apply = effect
            if admin and not s.ident.admin:
                self.fail("command 0x%02x answered OK for a device that is not an admin" % cmd)
            args = plaintext[1:]
            if code:
                if self.model.code is None or args[:6] != self.model.code.encode():
                    self.fail("command 0x%02x answered OK without the right code: %s" % (cmd, plaintext.hex()))
                args = args[6:]
            try:
                wrong = apply(self.model, args)
            except (struct.error, ValueError, UnicodeError) as e:
                wrong = "OK for malformed arguments (%s)" % e
            if wrong:
                self.fail("command 0x%02x: %s: %s" % (cmd, wrong, plaintext.hex()))
            if cmd == client.REVOKE:
                for i in self.idents:
                    if i.id not in self.model.devices:
                        i.revoked = True
        if status != wire.OK:
            raise wire.LockError(status, pt[1:])
        return pt[1:]

    # --- actions ------------------------------------------------------------------------------------
    def who(self) -> str:
        return self.rnd.choice(WHOS + tuple(self.sessions))

    def session(self, ident: Identity | None = None, who: str | None = None) -> FuzzSession | None:
        ident = ident or self.rnd.choice([i for i in self.idents if not i.revoked] or [self.owner])
        who = who or "s%d" % self.rnd.randrange(6)
        self.sessions.pop(who, None)
        try:
            s = FuzzSession(self, self.transport(who), ident)
        except wire.LockError:
            return None
        _keep(self.corpus[COMMAND], s_hello(ident.id))
        self.sessions[who] = s
        return s

    def live_session(self, admin: bool = False) -> FuzzSession | None:
        alive = [s for s in self.sessions.values() if not s.dead and not s.ident.revoked
                 and (s.ident.admin or not admin)]
        if alive:
            return self.rnd.choice(alive)
        admins = [i for i in self.idents if i.admin and not i.revoked]
        return self.session(self.rnd.choice(admins) if admin and admins else None)

    def pair(self, code: str | None = None, mutate: bool = False) -> None:
        """A pairing through lockctl's client; `mutate`: one of its messages is mutated on the way."""
        self.lock.line("E")
        setup = self.model.code is None
        code = code or self.model.code or "%06d" % self.rnd.randrange(10 ** 6)
        name = self.rnd.choice(["phone", "ključ", "x" * 40, "", "\u00e9" * 20, "kid's fob"])
        type_ = self.rnd.randrange(len(TYPES))
        t = self.transport("p%d" % self.rnd.randrange(3), mutate_one=mutate)
        self.proved = code == self.model.code or setup
        try:
            got = (client.setup if setup else client.pair)(t, code, name, TYPES[type_], rng=self.rnd.randbytes)
        except (LockDied, Violation):
            raise
        except Exception:       # the client gave up (a LockError, or it refused what it got): fine
            got = None
        if got is not None:
            if t.mutated:
                # The lock stored what it was sent; the model follows, the run fails.
                self.crash("a pairing succeeded though %s was mutated on the way: %s"
                           % ("its hello" if t.mutate_at == 0 else "its confirmation", t.sent[t.mutate_at].hex()))
                if t.mutate_at == 0:
                    r = wire.Reader(t.sent[0][2:])
                    r.take(16)
                    type_, name = r.u8(), r.take(r.u8()).decode(errors="replace")
            ident = Identity(got.device_id, got.key, got.admin, name, type_)
            self.idents.append(ident)
            self.model.devices[got.device_id] = {"type": type_, "flags": 1 if got.admin else 0,
                                                 "name": _name_stored(name.encode()), "key": got.key.hex()}
            if setup:
                self.model.code = code
                self.owner = ident
        if not t.mutated:
            for m in t.sent:
                _keep(self.corpus[PAIR], m)
        t.close()

    def legit(self) -> None:
        """A command as lockctl sends it, mostly with the right code: the traffic mutations start from."""
        s = self.live_session()
        if s is None:
            return
        code = self.model.code if self.rnd.random() < 0.9 else "%06d" % self.rnd.randrange(10 ** 6)
        others = [i for i in self.idents if i is not self.owner and not i.revoked]
        ids = [i.id for i in self.idents] + [self.rnd.getrandbits(32)]
        ops = [
            lambda: s.status(), lambda: s.devices(), lambda: s.settings(),
            lambda: s.action(self.rnd.choice(list(client.ACTIONS))), lambda: s.calibrate(),
            lambda: s.set_time(self.rnd.getrandbits(32)),
            lambda: s.rename(code, self.rnd.choice(ids), self.rnd.choice(["a", "front door phone", "é" * 17])),
            lambda: s.set_settings(code, auto_relock_s=self.rnd.choice([0, 30, 3600, 3601]),
                                   lockngo_s=self.rnd.choice([5, 20, 600, 4]), brightness=self.rnd.randrange(256)),
            lambda: s.change_code(code, "%06d" % self.rnd.randrange(10 ** 6)),
        ]
        if len(others) > MAX_DEVICES or (others and self.rnd.random() < 0.3):
            ops.append(lambda: s.revoke(code, self.rnd.choice(others).id))
        self.record = True
        try:
            self.rnd.choice(ops)()
        except wire.LockError as e:
            if e.code == wire.E_LOCKED_OUT:
                self.now += 5 * 3600 * 1000  # past the longest lockout: the owner's next command works
                self.lock.line("T %d" % self.now)
        except (struct.error, IndexError, ValueError):
            pass
        finally:
            self.record = False

    def plain(self) -> None:
        """A valid SECURE frame around a mutated or made-up command."""
        s = self.live_session(admin=self.rnd.random() < 0.7)
        if s is None:
            return
        r = self.rnd.random()
        if r < 0.4 and self.requests:
            pt = self.mutate(self.rnd.choice(self.requests), tokens=True)
        else:
            cmd = self.rnd.choice(self.commands) if r < 0.9 and self.commands else self.rnd.randrange(256)
            pt = bytes((cmd,)) + b"".join(self.token() for _ in range(self.rnd.choice([0, 1, 1, 2, 2, 2, 3])))
        if not pt:
            pt = b"\x00"
        try:
            self.secure(s, pt, self.fragment_size())
        except wire.LockError:
            pass

    def stranger(self) -> None:
        """Random, typed or mutated messages from anyone, on either channel."""
        r = self.rnd.random()
        channel = self.rnd.randrange(2)
        if r < 0.2:
            msg = self.rnd.randbytes(self.rnd.choice([0, 1, 2, 3, self.rnd.randrange(80), self.rnd.randrange(1100)]))
        elif r < 0.55:
            mtype = self.rnd.choice(list(MSG_TYPES)) if self.rnd.random() < 0.9 else self.rnd.randrange(256)
            n = self.rnd.choice([0, 1, 4, 15, 16, 17, 20, 21, 32, 36, 48, 64, 80, 96, 97, self.rnd.randrange(300)])
            version = wire.VERSION if self.rnd.random() < 0.95 else self.rnd.randrange(256)
            msg = bytes((version, mtype)) + self.rnd.randbytes(n)
        else:
            pool = self.corpus[channel] or self.corpus[1 - channel]
            if not pool:
                return
            msg = self.mutate(self.rnd.choice(pool))
            if self.rnd.random() < 0.1:
                channel = 1 - channel
        who = self.who()
        self.deliver(who, channel, msg, self.fragment_size())
        if who in self.sessions:
            self.sessions[who].dead = True   # whatever it was, the session's counters no longer match

    def frames(self) -> None:
        """Broken fragment streams: lost, repeated, reordered, garbled or foreign fragments."""
        channel = self.rnd.randrange(2)
        pool = self.corpus[channel] or [wire.message(wire.PAIR_HELLO, bytes(18))]
        msg = self.rnd.choice(pool)
        frags = wire.fragments(msg, self.rnd.choice([8, 20, 21, 64]))
        op = self.rnd.randrange(6)
        i = self.rnd.randrange(len(frags))
        if op == 0:
            del frags[i]
        elif op == 1:
            frags.insert(i, frags[i])
        elif op == 2 and len(frags) > 1:
            j = self.rnd.randrange(len(frags))
            frags[i], frags[j] = frags[j], frags[i]
        elif op == 3:
            frags[i] = self.mutate(frags[i])
        elif op == 4:
            frags = frags[:i]
        else:
            frags.insert(i, self.rnd.randbytes(self.rnd.randrange(1, 30)))
        who = self.who()
        if who in self.sessions:
            self.sessions[who].dead = True
        self.messages += 1
        self.fragments += len(frags)
        for out in self.lock.fragments(who, channel, frags):
            self.observe(out, channel)

    def token(self) -> bytes:
        """A piece of a made-up command's arguments: the layouts of the protocol are built from these."""
        r = self.rnd.randrange(6)
        if r == 0 and self.model.code:
            return self.model.code.encode()
        if r == 1 and self.model.devices:
            ids = list(self.model.devices) if self.rnd.random() < 0.8 else [i.id for i in self.idents]
            return struct.pack("<I", self.rnd.choice(ids))
        if r == 2:
            return wire.text(self.rnd.choice(["", "a", "door", "\u00e9" * 20, "x" * 40]))
        if r == 3:
            return struct.pack("<H", self.rnd.choice([0, 1, 5, 600, 3600, 0xFFFF]))
        if r == 4:
            return ("%06d" % self.rnd.randrange(10 ** 6)).encode()
        return self.rnd.randbytes(self.rnd.choice([1, 2, 4, 6, self.rnd.randrange(64)]))

    def fragment_size(self) -> int:
        return 0 if self.rnd.random() < 0.8 else self.rnd.choice([2, 3, 8, 20, 64, 244])

    def mutate(self, data: bytes, tokens: bool = False) -> bytes:
        """1 to 4 byte-level mutations; with `tokens`, also whole argument pieces inserted or dropped."""
        b = bytearray(data)
        for _ in range(self.rnd.choice([1, 1, 1, 2, 3, 4])):
            op = self.rnd.randrange(11 if tokens else 9)
            if op >= 9:     # arguments start after the command byte; the code, when carried, is the first
                i = min(len(b), self.rnd.choice([1, 1, 7, self.rnd.randrange(len(b) + 1)]))
                if op == 9:
                    b[i:i] = self.token()
                else:
                    del b[i:i + self.rnd.choice([4, 6, 6])]
                continue
            i = self.rnd.randrange(len(b) + 1)
            if op == 0 and b:
                b[min(i, len(b) - 1)] ^= 1 << self.rnd.randrange(8)
            elif op == 1 and b:
                b[min(i, len(b) - 1)] = self.rnd.choice(INTERESTING)
            elif op == 2 and b:
                b[min(i, len(b) - 1)] = self.rnd.randrange(256)
            elif op == 3:
                b[i:i] = self.rnd.randbytes(self.rnd.choice([1, 2, 4, 16]))
            elif op == 4:
                del b[i:i + self.rnd.choice([1, 2, 4, 16])]
            elif op == 5:
                del b[i:]
            elif op == 6:
                b += self.rnd.randbytes(self.rnd.randrange(1, 40))
            elif op == 7 and b:
                j = self.rnd.randrange(len(b))
                b[i:i] = b[j:j + self.rnd.randrange(1, 16)]
            elif op == 8 and len(b) > 1:
                j = self.rnd.randrange(len(b))
                k = min(i, len(b) - 1)
                b[j], b[k] = b[k], b[j]
        return bytes(b)

    # --- the run ------------------------------------------------------------------------------------
    def setup(self) -> None:
        """Pair the owner (it sets the code), a second admin, and learn which commands the lock knows."""
        self.action = "setup"
        self.pair(code="%06d" % self.rnd.randrange(10 ** 6))
        self.pair()
        if self.owner is None or len(self.idents) < 2:
            self.fail("could not pair the fuzzer's devices")
        self.check(full=True)
        s = self.session(self.owner, "probe")
        for cmd in range(256):
            before = self.model.copy()
            try:
                self.secure(s, bytes((cmd,)))
                self.commands.append(cmd)
            except wire.LockError as e:
                if e.code != wire.E_UNKNOWN_COMMAND:
                    self.commands.append(cmd)
            self.check(before=before)
        self.log("fuzz: the lock knows commands %s" % " ".join("0x%02x" % c for c in self.commands))

    def run(self, messages: int, reboot_every: int = 2500) -> dict:
        t0 = time.monotonic()
        self.setup()
        self.record = False
        next_reboot = reboot_every
        next_report = 10000
        actions = [(self.stranger, 40), (self.plain, 30), (self.frames, 8), (self.legit, 12),
                   (self.session_hello, 4), (self.control, 5), (self.pairing, 1)]
        funcs, weights = zip(*actions)
        while self.messages < messages:
            self.step += 1
            act = self.rnd.choices(funcs, weights)[0]
            self.action = act.__name__
            before = self.model.copy()
            answered = self.replies
            self.proved = False
            act()
            self.check(before=before, max_new_fails=max(1, self.replies - answered))
            if self.messages >= next_report:
                next_report += 10000
                self.log("fuzz: %d messages, %d/s" % (self.messages, self.messages / (time.monotonic() - t0)))
            if self.messages >= next_reboot:
                next_reboot += reboot_every
                self.action = "reboot"
                self.reboot()
        self.action = "final reboot"
        self.reboot()
        elapsed = time.monotonic() - t0
        self.lock.close()
        return {"seed": self.seed, "messages": self.messages, "fragments": self.fragments, "seconds": round(elapsed, 1),
                "messages_per_s": round(self.messages / elapsed), "crashes": self.crashes,
                "devices": len(self.model.devices), "boots": self.boots,
                "histogram": dict(sorted(self.histogram.items(), key=lambda kv: -kv[1]))}

    def session_hello(self) -> None:
        if self.rnd.random() < 0.2:
            gone = [i for i in self.idents if i.revoked]
            ident = self.rnd.choice(gone) if gone else Identity(self.rnd.getrandbits(32), bytes(32), True, "", 0)
            self.session(ident)
        else:
            self.session()

    def control(self) -> None:
        r = self.rnd.random()
        if r < 0.4:
            who = self.who()
            self.lock.line("D " + who)
            self.sessions.pop(who, None)
        elif r < 0.8:
            self.now += self.rnd.choice([1, 100, 1000, 30000, 70000, 4 * 3600 * 1000])
            self.lock.line("T %d" % self.now)
        elif r < 0.9:
            self.lock.line("B")
        else:
            self.lock.line("E")

    def pairing(self) -> None:
        r = self.rnd.random()
        if r < 0.3 and len(self.model.devices) < MAX_DEVICES:
            self.pair()
        elif r < 0.6:
            self.pair(code="%06d" % self.rnd.randrange(10 ** 6))
        else:
            self.pair(mutate=True)


def _keep(pool: list, item: bytes, most: int = 300) -> None:
    pool.append(item)
    if len(pool) > most:
        del pool[0]


def s_hello(device_id: int) -> bytes:
    return wire.message(wire.SESSION_HELLO, struct.pack("<I", device_id) + bytes(16))


class FuzzTransport:
    """lockctl's transport onto the fuzzed lock; records what lockctl sent (the corpus), and with
    `mutate_one` mutates one of the messages on the way."""

    def __init__(self, fz: Fuzzer, who: str, mutate_one: bool = False):
        self.fz, self.who = fz, who
        self.sent: list[bytes] = []
        self.mutate_at = fz.rnd.randrange(2) if mutate_one else -1
        self.mutated = False

    def exchange(self, channel: str, message: bytes) -> bytes:
        fz = self.fz
        ch = PAIR if channel == "pair" else COMMAND
        if len(self.sent) == self.mutate_at:
            mutated = fz.mutate(message)
            self.mutated = mutated != message
            message = mutated
        self.sent.append(message)
        reply = fz.deliver(self.who, ch, message, fz.fragment_size())
        if reply is None:
            raise wire.LockError(wire.E_BAD_FRAME)
        return reply

    def close(self) -> None:
        self.fz.lock.line("D " + self.who)



def run(messages: int, seed: int, log=print, firmware: str | None = None) -> dict:
    """Fuzz a lock on a new flash (`firmware`: another source tree); raises Violation on a state change."""
    with tempfile.TemporaryDirectory(prefix="fuzz-flash-") as d:
        fz = Fuzzer(seed, pathlib.Path(d), log, firmware)
        try:
            return fz.run(messages)
        except LockDied as e:
            fz.fail("the lock process died: %s" % e)
            raise
        finally:
            fz.lock.kill()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--messages", type=int, default=100000)
    ap.add_argument("--seed", type=int, default=None, help="replay a run (default: a new random seed)")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args(argv)
    seed = a.seed if a.seed is not None else random.SystemRandom().randrange(2 ** 32)
    print("fuzz: seed %d (replay: python tools/fuzz.py --seed %d --messages %d)" % (seed, seed, a.messages),
          flush=True)
    try:
        out = run(a.messages, seed, log=lambda text: print(text, flush=True))
    except Violation as e:
        print("fuzz: FAILED: %s" % e)
        return 1
    if a.json:
        print(json.dumps(out, indent=1))
    else:
        print("fuzz: %(messages)d messages (%(fragments)d fragments) in %(seconds)s s, %(messages_per_s)d/s, "
              "%(boots)d boots, %(devices)d devices at the end" % out)
        for k, v in out["histogram"].items():
            print("  %7d  %s" % (v, k))
        print("fuzz: %d crashes" % len(out["crashes"]))
        for c in out["crashes"]:
            print("  " + c)
    return 1 if out["crashes"] else 0


if __name__ == "__main__":
    sys.exit(main())
