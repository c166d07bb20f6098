"""lockbridge's Link against the firmware's own protocol endpoint (tools/pipelock.py under MicroPython, no
radio): commands are answered by their deadline whatever the link is doing, and a command that waited behind
a stuck exchange is never sent after it."""
import asyncio
import sys
import threading
import time

import mpy

sys.path.insert(0, str(mpy.ROOT / "tools"))
from lockctl import client  # noqa: E402
from lockctl.transports import PipeLock  # noqa: E402
from lockbridge.link import Link  # noqa: E402

CODE = "246810"


class Stallable:
    """A transport to the pipe lock whose next exchange can be made to hang, as a lock that stops answering."""

    def __init__(self, t):
        self.t, self.stall, self.sent = t, 0.0, []

    def exchange(self, channel, msg):
        if self.stall:
            s, self.stall = self.stall, 0.0
            time.sleep(s)
        self.sent.append(time.monotonic())
        return self.t.exchange(channel, msg)

    def close(self):
        self.t.close()


def paired_lock(tmp_path):
    lock = PipeLock(str(tmp_path), iterations=1000)
    serial = threading.Lock()  # the pipe carries one line at a time: the worker thread and the test share it
    line = lock.line

    def locked_line(text):
        with serial:
            return line(text)
    lock.line = locked_line
    client.setup(lock.transport("owner"), CODE, "owner")
    lock.line("E")
    got = client.pair(lock.transport("bridge"), CODE, "ha-bridge", "bridge")
    return lock, {"device_id": got.device_id, "key": got.key, "name": "ha-bridge"}


def actions(lock):
    import json
    return json.loads(lock.line("S"))["actions"]


def test_a_command_queued_behind_a_stuck_exchange_is_answered_at_its_deadline_and_never_sent(tmp_path):
    lock, ident = paired_lock(tmp_path)
    opened = []

    def opener(where, timeout):
        t = Stallable(lock.transport("link%d" % len(opened)))
        opened.append(t)
        return t

    events = []

    async def scenario():
        link = Link("pipe", ident, "pipe:", lambda k, v: events.append((k, v)), poll_s=0.2,
                    command_timeout_s=1.0, reconnect_max_s=1.0, opener=opener)
        task = asyncio.create_task(link.run())
        while link.connection != "connected":
            await asyncio.sleep(0.05)
        assert await link.command("unlock") is None          # a healthy link: done at once
        assert actions(lock) == ["unlock"]
        opened[-1].stall = 4.0                              # the next poll hangs in the worker for 4 s
        await asyncio.sleep(0.5)
        sent = time.monotonic()
        error = await link.command("lock")
        answered = time.monotonic() - sent
        await asyncio.sleep(5)                              # the stuck exchange ends; the worker goes on
        assert ("connection", "unreachable") in events
        while link.connection != "connected":              # reconnected by itself
            await asyncio.sleep(0.05)
        again = await link.command("lock")
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        return error, answered, again

    error, answered, again = asyncio.run(scenario())
    try:
        print("command behind a stuck exchange answered after %.2f s: %s" % (answered, error))
        assert error.startswith("not done within 1 s") and answered < 1.5
        assert again is None
        assert actions(lock) == ["unlock", "lock"], "the dropped lock ran later"
    finally:
        lock.close()


def test_commands_pending_when_the_link_stops_are_answered(tmp_path):
    lock, ident = paired_lock(tmp_path)

    async def scenario():
        def opener(where, timeout):
            raise ConnectionError("no lock in range")
        link = Link("pipe", ident, "pipe:", lambda k, v: None, poll_s=0.2, command_timeout_s=30,
                    reconnect_max_s=1.0, opener=opener)
        task = asyncio.create_task(link.run())
        await asyncio.sleep(0.2)
        pending = link.command("unlock")
        await asyncio.sleep(0.2)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        return await asyncio.wait_for(pending, 2)

    try:
        assert asyncio.run(scenario()) == "the bridge stopped carrying this lock"
        assert actions(lock) == []
    finally:
        lock.close()
