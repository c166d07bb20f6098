"""Ways to reach a lock. Each gives `exchange(channel, message) -> reply message`; fragmentation of a
message over characteristic writes and notifications happens here (see docs/PROTOCOL.md)."""
from __future__ import annotations

import asyncio
import binascii
import os
import pathlib
import subprocess

from . import wire

SERVICE_UUID = "6c6f636b-0001-4e2a-9b1e-736d6172746c"
PAIR_UUID = "6c6f636b-0002-4e2a-9b1e-736d6172746c"
COMMAND_UUID = "6c6f636b-0003-4e2a-9b1e-736d6172746c"
STATUS_UUID = "6c6f636b-0004-4e2a-9b1e-736d6172746c"
LOCK_BUFFER = 244      # the lock's characteristic buffers (bytes per written value)
WANT_MTU = 247
TIMEOUT_S = 15.0
MANUFACTURER_ID = 0xFFFF


def parse_public(data: bytes) -> dict:
    """The public status characteristic / manufacturer data: version u8 | flags u8."""
    if len(data) < 2:
        return {}
    return {"protocol": data[0], "pairing": bool(data[1] & 1), "fresh": bool(data[1] & 2)}


class SimTransport:
    """The simulated lock's radio (boards/sim/bluetooth.py over loopback TCP), via simlock's central."""

    def __init__(self, hostport: str, timeout: float = TIMEOUT_S):
        from simlock.radio import Central, RadioError
        self.RadioError = RadioError
        host, _, port = hostport.rpartition(":")
        try:
            self.c = Central(host or "127.0.0.1", int(port), mtu=WANT_MTU, timeout=timeout)
            mtu = self.c.exchange_mtu(WANT_MTU)
            self.handles = {"pair": self.c.handle_of(PAIR_UUID), "cmd": self.c.handle_of(COMMAND_UUID)}
            self.status_handle = self.c.handle_of(STATUS_UUID)
            for h in self.handles.values():
                self.c.subscribe(h)
        except RadioError as e:
            raise wire.LockError(0, _sim_problem(hostport, e).encode()) from None
        self.size = min(mtu - 3, LOCK_BUFFER)

    def exchange(self, channel: str, message: bytes) -> bytes:
        handle = self.handles[channel]
        asm = wire.Reassembler()
        try:
            for frag in wire.fragments(message, self.size):
                self.c.write(handle, frag)
            while True:
                h, data = self.c.next_notification()
                if h != handle:
                    continue
                msg = asm.feed(data)
                if msg is not None:
                    return msg
        except self.RadioError as e:
            raise ConnectionError("the simulated lock's radio: %s" % e) from None

    def write_raw(self, channel: str, data: bytes) -> None:
        """One raw value onto a characteristic (tests of malformed input)."""
        try:
            self.c.write(self.handles[channel], data)
        except self.RadioError as e:
            raise ConnectionError("the simulated lock's radio: %s" % e) from None

    def public(self) -> dict:
        return parse_public(self.c.read(self.status_handle))

    def close(self) -> None:
        self.c.close()


def _sim_problem(hostport: str, e: Exception) -> str:
    """What went wrong reaching a simulated lock, and what to do about it."""
    text = str(e)
    if "'ok': False" in text:  # simlock's control port answers JSON lines with "ok"
        host, _, port = hostport.rpartition(":")
        return ("%s is the simulator's control port (simlock), not the lock: the lock's radio is %s:%d"
                % (hostport, host or "127.0.0.1", int(port) - 1))
    if text.startswith("no lock at"):
        return "no lock answers at %s: start the simulator (`make sim`), or check --sim HOST:PORT" % hostport
    return "the simulated lock at %s: %s" % (hostport, text)


def sim_scan(hostport: str) -> list[dict]:
    from simlock.radio import scan, parse_adv
    host, _, port = hostport.rpartition(":")
    adv = scan(host or "127.0.0.1", int(port))
    if adv is None:
        return []
    fields = parse_adv(adv["adv"] + adv["resp"])
    return [_describe(adv["addr"], fields.get(0x09, b"").decode(errors="replace"), fields.get(0xFF, b"")[2:])]


def _describe(addr: str, name: str, manufacturer: bytes) -> dict:
    out = {"address": addr, "name": name}
    out.update(parse_public(manufacturer))
    return out


class BluetoothError(ConnectionError):
    """This computer's Bluetooth cannot be used (no stack, no adapter, switched off)."""


def _no_bluetooth(e: Exception) -> BluetoothError:
    """What a failure below bleak means to a person: bleak reports a missing D-Bus (no BlueZ) as a bare
    FileNotFoundError of the bus socket, a missing adapter as its own error types."""
    if isinstance(e, (FileNotFoundError, ConnectionRefusedError, PermissionError)):
        why = "no Bluetooth stack (BlueZ on D-Bus) is running"
    else:
        why = str(e).splitlines()[0] if str(e) else "no adapter"
    return BluetoothError("Bluetooth is not available here: %s; check `bluetoothctl show` (an adapter, "
                          "powered on), or use --sim HOST:PORT for the simulator" % why)


class BleTransport:
    """A real lock over BLE, with bleak (runs its own event loop; the client code stays synchronous)."""

    def __init__(self, address: str, timeout: float = TIMEOUT_S):
        from bleak import BleakClient
        self.loop = asyncio.new_event_loop()
        self.timeout = timeout
        self.queues: dict[str, asyncio.Queue] = {}
        self.client = BleakClient(address, timeout=timeout)
        try:
            self.loop.run_until_complete(self._connect())
        except asyncio.TimeoutError:
            self.loop.close()
            raise ConnectionError("no lock answered at %s: is it in range and powered?" % address) from None
        except Exception as e:  # bleak's and D-Bus's own types
            self.loop.close()
            raise _no_bluetooth(e) from None

    async def _connect(self) -> None:
        await self.client.connect()
        for channel, uuid in (("pair", PAIR_UUID), ("cmd", COMMAND_UUID)):
            q: asyncio.Queue = asyncio.Queue()
            self.queues[channel] = q
            await self.client.start_notify(uuid, lambda _c, data, q=q: q.put_nowait(bytes(data)))
        self.size = min(max(20, self.client.mtu_size - 3), LOCK_BUFFER)

    async def _exchange(self, channel: str, message: bytes) -> bytes:
        uuid = PAIR_UUID if channel == "pair" else COMMAND_UUID
        q = self.queues[channel]
        asm = wire.Reassembler()
        for frag in wire.fragments(message, self.size):
            await self.client.write_gatt_char(uuid, frag, response=True)
        while True:
            msg = asm.feed(await asyncio.wait_for(q.get(), self.timeout))
            if msg is not None:
                return msg

    def exchange(self, channel: str, message: bytes) -> bytes:
        try:
            return self.loop.run_until_complete(self._exchange(channel, message))
        except asyncio.TimeoutError:
            raise ConnectionError("the lock did not answer") from None
        except Exception as e:  # bleak's own types: the link went away
            raise ConnectionError("the Bluetooth connection to the lock was lost (%s)" % e) from None

    def close(self) -> None:
        try:
            self.loop.run_until_complete(self.client.disconnect())
        finally:
            self.loop.close()


def ble_scan(seconds: float = 5.0) -> list[dict]:
    from bleak import BleakScanner

    async def run() -> list[dict]:
        found = await BleakScanner.discover(timeout=seconds, return_adv=True, service_uuids=[SERVICE_UUID])
        return [_describe(d.address, adv.local_name or d.name or "",
                          adv.manufacturer_data.get(MANUFACTURER_ID, b""))
                for d, adv in found.values()]
    try:
        return asyncio.run(run())
    except Exception as e:  # bleak's and D-Bus's own types
        raise _no_bluetooth(e) from None


class PipeLock:
    """The firmware's LockProtocol under MicroPython on a pipe (tools/pipelock.py): no radio at all."""

    ROOT = pathlib.Path(__file__).resolve().parents[2]

    def __init__(self, flash: str, seed: bytes = b"", iterations: int | None = None,
                 micropython: str | None = None, heap: str = "256k", firmware: str | None = None):
        mp = micropython or str(self.ROOT / ".venv" / "bin" / "micropython")
        env = dict(os.environ, MICROPYPATH=(firmware or str(self.ROOT / "firmware")) + ":.frozen")
        args = [mp, "-X", "heapsize=" + heap, str(self.ROOT / "tools" / "pipelock.py"), flash,
                binascii.hexlify(seed).decode()]
        if iterations:
            args.append(str(iterations))
        self.p = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)

    def line(self, text: str) -> str:
        assert self.p.stdin and self.p.stdout
        self.p.stdin.write(text + "\n")
        self.p.stdin.flush()
        out = self.p.stdout.readline()
        if not out:
            raise ConnectionError("pipelock died (exit %s)" % self.p.wait())
        return out.strip()

    def transport(self, who: str = "1") -> "PipeTransport":
        return PipeTransport(self, who)

    def close(self) -> None:
        if self.p.poll() is None:
            try:
                self.line("Q")
            except (ConnectionError, BrokenPipeError):
                pass
            self.p.wait()


class PipeTransport:
    def __init__(self, lock: PipeLock, who: str):
        self.lock, self.who = lock, who

    def exchange(self, channel: str, message: bytes) -> bytes:
        op = "P" if channel == "pair" else "C"
        return binascii.unhexlify(self.lock.line("%s %s %s" % (op, self.who, binascii.hexlify(message).decode())))

    def close(self) -> None:
        self.lock.line("D " + self.who)
