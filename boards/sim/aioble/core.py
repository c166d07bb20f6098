# The simulated radio. The lock listens on loopback TCP (port $SIMLOCK_BLE_PORT, default 7760); each
# TCP client is one central. The link carries JSON lines; see docs/SIM_RADIO.md for the format.
# What a real link enforces is enforced here too: writes longer than the negotiated ATT MTU - 3 are
# refused, a written value is cut to the characteristic's buffer (20 bytes unless raised), and a
# notification is cut to MTU - 3.
import os
import json
import binascii
import asyncio

DEFAULT_MTU = 23


class GattError(Exception):
    def __init__(self, status):
        self._status = status


_state = {"server": None, "mtu": DEFAULT_MTU, "addr": None}
# Handlers registered by the other modules, standing in for the BLE IRQ.
_handlers = {}


def register_handler(event, fn):
    _handlers[event] = fn


def config(*args, **kwargs):
    if "mtu" in kwargs:
        _state["mtu"] = int(kwargs["mtu"])
    if args:
        if args[0] == "mtu":
            return _state["mtu"]
        if args[0] == "mac":
            return (0, address())
        raise ValueError("unknown config param")


def address():
    if _state["addr"] is None:
        port = port_number()
        _state["addr"] = bytes((0xC0, 0xDE, 0x5A, 0x1C, port >> 8, port & 0xFF))
    return _state["addr"]


def port_number():
    return int(os.getenv("SIMLOCK_BLE_PORT") or "7760")


def log_level(level):
    pass


def hexdata(b):
    return binascii.hexlify(b).decode()


def unhex(s):
    return binascii.unhexlify(s)


async def ensure_active():
    if _state["server"] is None:
        _state["server"] = await asyncio.start_server(_serve, "127.0.0.1", port_number(), backlog=8)


def stop():
    server = _state["server"]
    if server:
        server.close()
        _state["server"] = None


class Link:
    """One central's TCP connection."""

    def __init__(self, reader, writer):
        self.reader = reader
        self.writer = writer
        self.central_mtu = DEFAULT_MTU

    def send(self, obj):
        try:
            self.writer.write(json.dumps(obj) + "\n")
        except OSError:
            pass  # the central went away; the reader sees EOF and disconnects

    async def drain(self):
        try:
            await self.writer.drain()
        except OSError:
            pass

    def close(self):
        try:
            self.writer.close()
        except OSError:
            pass


async def _serve(reader, writer):
    link = Link(reader, writer)
    try:
        line = await reader.readline()
        if not line:
            return
        msg = json.loads(line)
        op = msg.get("op")
        if op == "scan":
            link.send(_handlers["scan"]())
            await link.drain()
        elif op == "connect":
            link.central_mtu = int(msg.get("mtu", DEFAULT_MTU))
            conn = await _handlers["connect"](link)
            if conn is not None:
                await _session(link, conn)
        else:
            link.send({"op": "error", "error": "expected scan or connect"})
            await link.drain()
    except (OSError, ValueError):
        pass
    finally:
        link.close()


async def _session(link, conn):
    try:
        while True:
            line = await link.reader.readline()
            if not line:
                break
            try:
                msg = json.loads(line)
                reply = _handlers["op"](conn, msg)
            except (ValueError, KeyError, TypeError) as e:
                reply = {"op": "error", "error": "malformed: %s" % e}
            if reply is not None:
                link.send(reply)
            await link.drain()
    except OSError:
        pass
    finally:
        _handlers["disconnect"](conn)
