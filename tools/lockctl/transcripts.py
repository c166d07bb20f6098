"""Whole recorded protocol transcripts (vectors/transcripts.json): deterministic, checked on both sides.

    python -m lockctl.transcripts > vectors/transcripts.json

records the CPython client (seeded) talking to the firmware's LockProtocol under MicroPython (seeded,
clock at 0). `replay_client` re-runs the client against the recorded lock replies and checks every byte
it sends; `replay_lock` (in the tests) feeds the recorded client messages to a fresh firmware lock and
checks every byte it answers.
"""
from __future__ import annotations

import binascii
import json
import sys
import tempfile

from . import client, wire
from .transports import PipeLock

LOCK_SEED = b"transcript lock seed"
ITERATIONS = 1000

# Each step: who, what the client does, and its seed. Ids of devices paired earlier are looked up by name.
STEPS = [
    {"who": "alice", "op": "setup", "code": "123456", "name": "alice", "type": "phone"},
    {"who": "alice", "op": "session", "calls": [["status"], ["action", "unlock"], ["devices"]]},
    {"who": "bob", "op": "enter"},
    {"who": "bob", "op": "pair", "code": "654321", "name": "bob", "type": "keypad"},
    {"who": "bob", "op": "pair", "code": "123456", "name": "bob", "type": "keypad"},
    {"who": "alice", "op": "session", "calls": [["rename", "123456", "bob", "bob's keypad"], ["devices"],
                                                ["revoke", "123456", "bob"], ["set_time", 1767225600],
                                                ["status"]]},
    {"who": "bob", "op": "session", "calls": [["status"]]},
]


class Recorder:
    def __init__(self, inner):
        self.inner, self.log = inner, []

    def exchange(self, channel, message):
        reply = self.inner.exchange(channel, message)
        self.log.append([channel, message.hex(), reply.hex()])
        return reply

    def close(self):
        pass


class Replayer:
    """Plays back recorded lock replies; every message the client sends must match the recording."""

    def __init__(self, exchanges):
        self.exchanges, self.i = exchanges, 0

    def exchange(self, channel, message):
        want_channel, sent, reply = self.exchanges[self.i]
        self.i += 1
        if channel != want_channel or message.hex() != sent:
            raise AssertionError("client message %d differs:\n got  %s\n want %s" % (self.i, message.hex(), sent))
        return bytes.fromhex(reply)

    def close(self):
        pass


def _seed(i, step):
    return ("client %d %s" % (i, step["who"])).encode()


def run_step(i, step, transport, ids):
    """Run one step as the client; returns what it learned (for the record)."""
    rng = client.Drbg(_seed(i, step))
    if step["op"] in ("setup", "pair"):
        try:
            got = getattr(client, step["op"])(transport, step["code"], step["name"], step["type"], rng=rng)
        except wire.LockError as e:
            return {"error": e.code}
        ids[step["who"]] = (got.device_id, got.key)
        return {"device_id": got.device_id, "key": got.key.hex(), "admin": got.admin}
    did, key = ids[step["who"]]
    try:
        s = client.Session(transport, did, key, rng=rng)
    except wire.LockError as e:
        return {"error": e.code}
    results = []
    for call in step["calls"]:
        try:
            if call[0] == "status":
                results.append(s.status())
            elif call[0] == "action":
                results.append(s.action(call[1]))
            elif call[0] == "devices":
                results.append(s.devices())
            elif call[0] == "rename":
                results.append(s.rename(call[1], ids[call[2]][0], call[3]))
            elif call[0] == "revoke":
                results.append(s.revoke(call[1], ids[call[2]][0]))
            elif call[0] == "set_time":
                results.append(s.set_time(call[1]))
        except wire.LockError as e:
            results.append({"error": e.code})
    return {"results": results}


def record() -> dict:
    with tempfile.TemporaryDirectory() as flash:
        lock = PipeLock(flash, seed=LOCK_SEED, iterations=ITERATIONS)
        try:
            ids: dict = {}
            out = []
            for i, step in enumerate(STEPS):
                if step["op"] == "enter":
                    lock.line("E")
                    out.append(dict(step))
                    continue
                rec = Recorder(lock.transport(step["who"]))
                learned = run_step(i, step, rec, ids)
                out.append(dict(step, client_seed=_seed(i, step).hex(), exchanges=rec.log, outcome=learned))
        finally:
            lock.close()
    return {"about": __doc__.strip().splitlines()[0], "lock_seed": LOCK_SEED.hex(), "iterations": ITERATIONS,
            "now_ms": 0, "steps": out}


def replay_client(transcript: dict) -> None:
    """Raises AssertionError if the client does not reproduce the recording byte for byte."""
    ids: dict = {}
    for i, step in enumerate(transcript["steps"]):
        if step["op"] == "enter":
            continue
        rp = Replayer(step["exchanges"])
        learned = run_step(i, step, rp, ids)
        if rp.i != len(step["exchanges"]):
            raise AssertionError("step %d: %d of %d exchanges used" % (i, rp.i, len(step["exchanges"])))
        if json.loads(json.dumps(learned)) != step["outcome"]:
            raise AssertionError("step %d outcome differs: %s != %s" % (i, learned, step["outcome"]))


def replay_lock(transcript: dict, flash: str) -> None:
    """Feeds the recorded client messages to a fresh firmware lock; raises if any reply differs."""
    lock = PipeLock(flash, seed=binascii.unhexlify(transcript["lock_seed"]), iterations=transcript["iterations"])
    try:
        for i, step in enumerate(transcript["steps"]):
            if step["op"] == "enter":
                lock.line("E")
                continue
            t = lock.transport(step["who"])
            for n, (channel, sent, reply) in enumerate(step["exchanges"]):
                got = t.exchange(channel, bytes.fromhex(sent))
                if got.hex() != reply:
                    raise AssertionError("step %d exchange %d: lock replied\n %s\nwant\n %s" % (i, n, got.hex(), reply))
    finally:
        lock.close()


if __name__ == "__main__":
    json.dump(record(), sys.stdout, indent=1)
    sys.stdout.write("\n")
