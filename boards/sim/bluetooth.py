# The simulated board's radio, one layer below aioble: MicroPython's low-level `bluetooth` module (`BLE`,
# `UUID`) as the ESP32 port's NimBLE build presents it, over loopback TCP. micropython-lib's real aioble runs
# on top of it unchanged, so the firmware meets the same aioble (and its quirks) as on the board.
#
#   BLE(): active([on]), config(name) / config(mtu=, gap_name=), irq(handler), gap_advertise(interval_us,
#   adv_data=, resp_data=, connectable=) / gap_advertise(None), gap_disconnect(conn),
#   gatts_register_services(defs) -> handles, gatts_read(h), gatts_write(h, data, send_update=False),
#   gatts_notify(conn, h, data=None), gatts_set_buffer(h, len, append=False)
#   IRQs: central connect (1) and disconnect (2), GATTS write (3), MTU exchanged (21)
# What aioble offers and the firmware does not use (central role, GATT client, indications, pairing, L2CAP)
# is absent: calling it fails here rather than behaving differently.
#
# NimBLE's limits, as the ESP32 port configures it (ports/esp32/boards/sdkconfig.ble): 4 connections, and
# gap_advertise(connectable) at that limit raises OSError(ENOMEM); the ATT MTU is 23 until a central
# exchanges it (then the smaller of both sides'); a write longer than MTU - 3 is refused by the stack; a
# written value is cut to the attribute's buffer (20 bytes unless gatts_set_buffer); a notification is cut to
# MTU - 3; a notification to a handle that is not connected raises OSError(ENOTCONN), one that does not fit
# the outgoing queue OSError(ENOMEM); a connection ends advertising.
#
# Underneath, each TCP client of port $SIMLOCK_BLE_PORT is a central, speaking JSON lines (docs/DESIGN.md
# "The simulated radio"); tools/simlock/radio.py is the host's central.
import asyncio
import binascii
import errno
import json
import os
import select
from micropython import const

FLAG_READ = const(0x0002)
FLAG_WRITE_NO_RESPONSE = const(0x0004)
FLAG_WRITE = const(0x0008)
FLAG_NOTIFY = const(0x0010)

_IRQ_CENTRAL_CONNECT = const(1)
_IRQ_CENTRAL_DISCONNECT = const(2)
_IRQ_GATTS_WRITE = const(3)
_IRQ_MTU_EXCHANGED = const(21)

_MAX_CONNECTIONS = const(4)      # CONFIG_BT_NIMBLE_MAX_CONNECTIONS
_DEFAULT_ATTR_LEN = const(20)    # MP_BLUETOOTH_DEFAULT_ATTR_LEN
_DEFAULT_MTU = const(23)
_NOTIFY_QUEUE_BYTES = const(4096)  # what a central may have pending before a notify is refused (ENOMEM)
_ADDR_PUBLIC = const(0)


class _Flag:
    """asyncio.ThreadSafeFlag for the Unix port, backed by an Event. The Unix port's poller crashes with the real
    flag: when its table of file descriptors grows (past 4, 8, ... sockets) it relocates every registered
    object's pollfd pointer, including a flag's NULL one, and the next poll reads through the bad pointer
    (extmod/modselect.c, poll_set_add_fd, at the pinned commit and in the PyPI port). IRQs run as tasks here,
    never as interrupts, so an Event gives the same behaviour: one waiter, cleared when its wait returns."""

    def __init__(self):
        self._event = asyncio.Event()

    def set(self):
        self._event.set()

    def clear(self):
        self._event.clear()

    async def wait(self):
        await self._event.wait()
        self._event.clear()


asyncio.ThreadSafeFlag = _Flag  # before aioble creates any


class UUID:
    """A 128-bit UUID from its text form. bytes(uuid) is what a radio sends (little-endian), as aioble's
    advertise() reads it."""

    def __init__(self, value):
        text = value.lower()
        raw = binascii.unhexlify(text.replace("-", ""))  # ValueError when not hex, as the real module
        if len(raw) != 16 or len(text) != 36:
            raise ValueError("invalid UUID")
        self._bytes = bytes(reversed(raw))
        self.text = text  # the canonical text form, as centrals (bleak) name characteristics

    def __iter__(self):  # bytes(uuid): MicroPython has no __bytes__, but bytes() takes any iterable
        return iter(self._bytes)

    def __eq__(self, other):
        return isinstance(other, UUID) and other._bytes == self._bytes

    def __hash__(self):
        return hash(self._bytes)


class _Attribute:
    def __init__(self, uuid, flags):
        self.uuid = uuid
        self.flags = flags
        self.value = b""
        self.size = _DEFAULT_ATTR_LEN
        self.append = False
        self.subscribers = set()  # connection handles that enabled notifications


class _Central:
    def __init__(self, handle, stream):
        self.handle = handle
        self.stream = stream
        self.mtu = _DEFAULT_MTU
        self.addr = bytes((0xCE, 0x47, 0x2A, 0, handle >> 8, handle & 0xFF))
        self.task = None


class BLE:
    def __init__(self):
        self._active = False
        self._irq = None
        self._mtu = _DEFAULT_MTU
        self._name = "MPY ESP32"
        self._port = int(os.getenv("SIMLOCK_BLE_PORT") or 7760)
        self._services = ()       # [(uuid, [value handles])]
        self._attrs = {}          # value handle -> _Attribute
        self._centrals = {}       # connection handle -> _Central
        self._next_handle = 0
        self._adv = None          # (adv_data, resp_data, connectable) while advertising
        self._adv_changed = asyncio.Event()

    # --- controller ---------------------------------------------------------------------------------
    def active(self, *on):
        if on and on[0] and not self._active:
            asyncio.create_task(self._listen())  # the radio comes up inside the app's event loop
        if on:
            self._active = bool(on[0])
        return self._active

    def config(self, *name, **values):
        if name:
            if name[0] == "mtu":
                return self._mtu
            if name[0] == "gap_name":
                return self._name
            if name[0] == "mac":
                return (_ADDR_PUBLIC, bytes((0xC0, 0xDE, 0x5A, 0x1C, self._port >> 8, self._port & 0xFF)))
            raise ValueError("unknown config param")
        for key, value in values.items():
            if key == "mtu":
                if not 23 <= value <= 517:
                    raise ValueError("invalid MTU")
                self._mtu = value
            elif key == "gap_name":
                self._name = value if isinstance(value, str) else bytes(value).decode()
            else:
                raise ValueError("unknown config param")

    def irq(self, handler):
        self._irq = handler

    def _event(self, event, data):
        if self._irq:
            self._irq(event, data)

    # --- GAP ----------------------------------------------------------------------------------------
    def gap_advertise(self, interval_us, adv_data=None, resp_data=None, connectable=True):
        if interval_us is None:
            self._adv = None
        else:
            if connectable and len(self._centrals) >= _MAX_CONNECTIONS:
                raise OSError(errno.ENOMEM)  # NimBLE: no room for another connection
            self._adv = (bytes(adv_data or b""), bytes(resp_data or b""), bool(connectable))
        self._adv_changed.set()

    def gap_disconnect(self, conn_handle):
        central = self._centrals.get(conn_handle)
        if central is None:
            return False
        central.task.cancel()  # its link task closes the socket and raises the disconnect IRQ
        return True

    # --- GATT server --------------------------------------------------------------------------------
    def gatts_register_services(self, definitions):
        # Handles as NimBLE numbers them: the service declaration, then per characteristic its
        # declaration and its value, then its descriptors.
        self._attrs = {}
        services = []
        handle = 0
        result = []
        for uuid, characteristics in definitions:
            handle += 1
            handles = []
            for char in characteristics:
                handle += 2
                self._attrs[handle] = _Attribute(char[0], char[1])
                handles.append(handle)
                for desc in (char[2] if len(char) > 2 else ()):
                    handle += 1
                    self._attrs[handle] = _Attribute(desc[0], desc[1])
                    handles.append(handle)
            services.append((uuid, handles))
            result.append(tuple(handles))
        self._services = services
        return tuple(result)

    def _attr(self, value_handle):
        attr = self._attrs.get(value_handle)
        if attr is None:
            raise OSError(errno.EINVAL)
        return attr

    def gatts_read(self, value_handle):
        return self._attr(value_handle).value

    def gatts_write(self, value_handle, data, send_update=False):
        attr = self._attr(value_handle)
        attr.value = bytes(data)
        if send_update:
            for conn_handle in tuple(attr.subscribers):
                try:
                    self.gatts_notify(conn_handle, value_handle)
                except OSError:
                    pass  # as NimBLE: an update that one subscriber cannot take is not the writer's error

    def gatts_set_buffer(self, value_handle, size, append=False):
        attr = self._attr(value_handle)
        attr.size = size
        attr.append = append

    def gatts_notify(self, conn_handle, value_handle, data=None):
        central = self._centrals.get(int(conn_handle))  # None is a TypeError, as the real module's
        if central is None:
            raise OSError(errno.ENOTCONN)
        attr = self._attr(value_handle)
        data = (attr.value if data is None else bytes(data))[:central.mtu - 3]
        stream = central.stream
        if len(stream.out_buf) > _NOTIFY_QUEUE_BYTES:
            raise OSError(errno.ENOMEM)
        stream.write(json.dumps({"op": "notify", "handle": value_handle,
                                 "data": binascii.hexlify(data).decode()}) + "\n")
        if stream.out_buf:
            asyncio.create_task(_drain(stream))

    # --- the link: one task per central -----------------------------------------------------------
    async def _listen(self):
        await asyncio.start_server(self._link, "127.0.0.1", self._port, backlog=8)

    async def _link(self, stream, _):
        central = None
        try:
            op = json.loads(await stream.readline())["op"]
            if op == "scan":
                adv = self._adv
                reply = {"op": "adv", "advertising": adv is not None}
                if adv:
                    reply.update(addr=binascii.hexlify(self.config("mac")[1], ":").decode(),
                                 connectable=adv[2], adv=binascii.hexlify(adv[0]).decode(),
                                 resp=binascii.hexlify(adv[1]).decode())
                stream.write(json.dumps(reply) + "\n")
                await stream.drain()
                return
            if op != "connect":
                return
            while not (self._adv and self._adv[2]):  # a central connects to a connectable advert only
                self._adv_changed.clear()
                await self._adv_changed.wait()
            if _hung_up(stream.s):
                return  # it gave up waiting, as a phone's connect attempt times out: no connection is made
            self._adv = None  # a connection ends advertising
            self._next_handle += 1
            central = _Central(self._next_handle, stream)
            central.task = asyncio.current_task()
            self._centrals[central.handle] = central
            self._event(_IRQ_CENTRAL_CONNECT, (central.handle, _ADDR_PUBLIC, central.addr))
            stream.write(json.dumps({"op": "connected", "handle": central.handle}) + "\n")
            await stream.drain()
            while True:
                line = await stream.readline()
                if not line:
                    break  # the central disconnected
                reply = self._request(central, line)
                if reply:
                    stream.write(json.dumps(reply) + "\n")
                await stream.drain()
        except (OSError, ValueError, KeyError, asyncio.CancelledError):
            pass  # the link broke or was dropped, or its first line was not a request
        finally:
            await stream.wait_closed()  # closes the socket (Stream.close() alone does nothing)
            if central is not None:
                del self._centrals[central.handle]
                for attr in self._attrs.values():
                    attr.subscribers.discard(central.handle)
                self._event(_IRQ_CENTRAL_DISCONNECT, (central.handle, _ADDR_PUBLIC, central.addr))

    def _request(self, central, line):
        """One GATT request from a connected central -> the reply (None for a write without response)."""
        try:
            request = json.loads(line)
            op = request["op"]
            if op == "services":
                return {"op": "services", "services": [
                    {"uuid": uuid.text, "chars": [{"uuid": self._attrs[h].uuid.text, "handle": h,
                                                   "flags": self._attrs[h].flags & 0xFFFF} for h in handles]}
                    for uuid, handles in self._services]}
            if op == "mtu":
                central.mtu = min(self._mtu, int(request["mtu"]))
                self._event(_IRQ_MTU_EXCHANGED, (central.handle, central.mtu))
                return {"op": "mtu", "mtu": central.mtu}
            handle = request.get("handle")
            attr = self._attrs.get(handle)
            need = {"read": FLAG_READ, "write": FLAG_WRITE | FLAG_WRITE_NO_RESPONSE, "subscribe": FLAG_NOTIFY}.get(op)
            if need is None:
                return {"op": "error", "error": "unknown op"}
            if attr is None:
                return {"op": "error", "error": "invalid handle"}
            if not attr.flags & need:
                return {"op": "error", "error": "%s not permitted" % op}
            if op == "read":
                return {"op": "value", "handle": handle, "data": binascii.hexlify(attr.value).decode()}
            if op == "subscribe":
                if request.get("on", True):
                    attr.subscribers.add(central.handle)
                else:
                    attr.subscribers.discard(central.handle)
                return {"op": "subscribed"}
            data = binascii.unhexlify(request["data"])
            if len(data) > central.mtu - 3:
                return {"op": "error", "error": "longer than ATT MTU - 3 (%d)" % (central.mtu - 3)}
            attr.value = ((attr.value if attr.append else b"") + data)[:attr.size]
            self._event(_IRQ_GATTS_WRITE, (central.handle, handle))
            return {"op": "written"} if request.get("response", True) else None
        except (ValueError, KeyError, TypeError) as e:
            return {"op": "error", "error": "malformed: %s" % e}


def _hung_up(sock):
    """True if a central waiting to connect has closed its end (it sends nothing until it is connected)."""
    poller = select.poll()
    poller.register(sock, select.POLLIN)
    if not poller.poll(0):
        return False
    try:
        return not sock.recv(1) or True  # at EOF, or a request before the connection: either way not a central
    except OSError:
        return True


async def _drain(stream):
    try:
        await stream.drain()
    except OSError:
        pass  # the central went away; its link task reports the disconnection
