# aioble for the simulated board: the part of micropython-lib's aioble (peripheral role, GATT server) that
# the firmware uses, with aioble's names, keyword arguments, return shapes and exceptions, and the radio
# replaced by loopback TCP (one TCP client per central, JSON lines; the format is in docs/DESIGN.md).
#
#   Service(uuid); Characteristic(service, uuid, read=, write=, notify=, capture=);
#   BufferedCharacteristic(..., max_len=20); register_services(*services); config(mtu=)
#   char.write(data, send_update=False); await char.written(timeout_ms=None) -> connection, or
#     (connection, value) with capture=True (up to 10 queued per characteristic; aioble shares one queue);
#   char.notify(connection, data=None) (OSError when the connection is gone)
#   await advertise(interval_us, name=, services=, manufacturer=, timeout_ms=None) -> DeviceConnection
#     (asyncio.TimeoutError when no central connected in time; OSError(ENOMEM) at once when the controller
#     already holds _MAX_CONNECTIONS connections, as NimBLE's ble_gap_adv_start refuses connectable
#     advertising it could not give a connection to)
#   connection.mtu, .is_connected(), await .disconnected(timeout_ms=None), await .disconnect(timeout_ms=2000)
# What the firmware does not use is left out (descriptors, indications, write_no_response, adv_data,
# exchange_mtu, ...): using it fails here instead of behaving differently. Pass the options by keyword, as
# aioble's examples do: their positional order is not aioble's.
#
# What a real link enforces is enforced here too: the ATT MTU is 23 until the lock raises it with
# config(mtu=) and a central exchanges it; a write longer than MTU - 3 is refused; a written value is cut to
# the characteristic's buffer (20 bytes unless max_len says otherwise); a notification is cut to MTU - 3.
# A central can only connect while the lock advertises; one that gives up waiting never connects.
import asyncio
import binascii
import errno
import json
import os
import select
from collections import deque
from micropython import const

_FLAG_READ = const(0x0002)
_FLAG_WRITE = const(0x0008)
_FLAG_NOTIFY = const(0x0010)
_FLAG_WRITE_CAPTURE = const(0x10000)
_WRITE_CAPTURE_QUEUE_LIMIT = const(10)
_DEFAULT_MTU = const(23)
_ADV_TYPE_NAME = const(0x09)
_ADV_TYPE_UUID128_COMPLETE = const(0x07)
_ADV_TYPE_MANUFACTURER = const(0xFF)
_ADV_PAYLOAD_MAX_LEN = const(31)
# The controller's room for connections, fixed when it is built: 4 in MicroPython's ESP32 build
# (CONFIG_BT_NIMBLE_MAX_CONNECTIONS in ports/esp32/boards/sdkconfig.ble).
_MAX_CONNECTIONS = const(4)

_port = int(os.getenv("SIMLOCK_BLE_PORT") or 7760)
_server = None
_mtu = _DEFAULT_MTU
_services = ()
_characteristics = {}  # value handle -> characteristic
# While advertising: [adv_data, resp_data, an event set when a central connects, then its connection]
_advertising = None
_conn_handles = 0  # connection handles given out so far
_connected = 0  # connections open now


def config(*, mtu):
    # The controller's settings: only the ATT MTU is modelled.
    global _mtu
    _mtu = mtu


class Service:
    def __init__(self, uuid):
        self.uuid = uuid
        self.characteristics = []


class Characteristic:
    def __init__(self, service, uuid, read=False, write=False, notify=False, capture=False):
        service.characteristics.append(self)
        self.uuid = uuid
        self.flags = ((_FLAG_READ if read else 0) | (_FLAG_WRITE if write else 0) | (_FLAG_NOTIFY if notify else 0)
                      | (_FLAG_WRITE_CAPTURE if write and capture else 0))
        self._value = b""
        self._max_len = 20
        # Capture keeps every write with its value; otherwise only the connection of the latest write.
        self._writes = deque((), _WRITE_CAPTURE_QUEUE_LIMIT if capture else 1)
        self._write_event = asyncio.Event()
        self._subscribers = set()

    def write(self, data, send_update=False):
        self._value = bytes(data)
        if send_update:
            for connection in self._subscribers:
                try:
                    self.notify(connection)
                except OSError:
                    pass  # as gatts_write: a subscriber that just went away is not the writer's error

    async def written(self, timeout_ms=None):
        if not self.flags & _FLAG_WRITE:
            return
        while not self._writes:
            self._write_event.clear()
            await asyncio.wait_for_ms(self._write_event.wait(), timeout_ms)
        return self._writes.popleft()

    def notify(self, connection, data=None):
        if not self.flags & _FLAG_NOTIFY:
            raise ValueError("Not supported")
        if not connection.is_connected():
            raise OSError(errno.ENOTCONN)
        # A notification carries at most ATT MTU - 3 bytes; the rest is lost, as on a real link.
        data = (self._value if data is None else data)[: (connection.mtu or _DEFAULT_MTU) - 3]
        connection._stream.write(json.dumps({"op": "notify", "handle": self._value_handle,
                                             "data": binascii.hexlify(data).decode()}) + "\n")


class BufferedCharacteristic(Characteristic):
    def __init__(self, *args, max_len=20, **kwargs):
        super().__init__(*args, **kwargs)
        self._max_len = max_len


def register_services(*services):
    # Handles as a GATT server numbers them: a service declaration, then per characteristic its
    # declaration and its value.
    global _services
    _services = services
    _characteristics.clear()
    handle = 0
    for service in services:
        handle += 1
        for characteristic in service.characteristics:
            handle += 2
            characteristic._value_handle = handle
            _characteristics[handle] = characteristic


class DeviceConnection:
    def __init__(self, stream):
        self.mtu = None  # until the central exchanges it: then min(its MTU, config(mtu=))
        self._stream = stream
        self._event = asyncio.Event()  # set on disconnection
        self._task = asyncio.current_task()  # the link's server task: cancelled to disconnect

    def is_connected(self):
        return not self._event.is_set()

    async def disconnected(self, timeout_ms=None):
        await asyncio.wait_for_ms(self._event.wait(), timeout_ms)

    async def disconnect(self, timeout_ms=2000):
        # (A Stream's close() does nothing in MicroPython's asyncio: the link's task closes the socket.)
        if self.is_connected():
            self._task.cancel()
        await self.disconnected(timeout_ms)


async def advertise(interval_us, name=None, services=None, manufacturer=None, timeout_ms=None):
    global _server, _advertising
    if _server is None:  # the radio comes up on first use, like aioble's ensure_active()
        _server = await asyncio.start_server(_serve, "127.0.0.1", _port, backlog=8)
    if _connected >= _MAX_CONNECTIONS:
        raise OSError(errno.ENOMEM)
    # Flags (general discoverable, no BR/EDR) first; each field goes in the advertisement while it fits,
    # then in the scan response, as aioble packs them.
    adv_data, resp_data = bytearray(b"\x02\x01\x06"), bytearray()
    uuids = b""
    for uuid in services or ():
        uuids += uuid._bytes
    if manufacturer:  # company id (little-endian), then the data
        manufacturer = bytes((manufacturer[0] & 0xFF, manufacturer[0] >> 8)) + manufacturer[1]
    for adv_type, value in ((_ADV_TYPE_UUID128_COMPLETE, uuids), (_ADV_TYPE_NAME, name),
                            (_ADV_TYPE_MANUFACTURER, manufacturer)):
        if value:
            field = bytes((len(value) + 1, adv_type)) + value
            if len(adv_data) + len(field) < _ADV_PAYLOAD_MAX_LEN:
                adv_data += field
            elif len(resp_data) + len(field) < _ADV_PAYLOAD_MAX_LEN:
                resp_data += field
            else:
                raise ValueError("Advertising payload too long")
    advertising = _advertising = [adv_data, resp_data, asyncio.Event()]
    try:
        await asyncio.wait_for_ms(advertising[2].wait(), timeout_ms)
    except asyncio.TimeoutError:
        if len(advertising) < 4:  # (a central that connected as the timeout fired is still returned)
            raise
    finally:
        _advertising = None  # a connection, a timeout or a cancellation ends advertising
    return advertising[3]


async def _serve(stream, _):
    # One central (start_server passes its stream twice, as reader and writer). Its first request is a
    # scan (answered, then the link closes) or a connect, which completes once the lock advertises; the
    # GATT requests that follow are answered until either side closes the TCP link (a disconnection).
    global _advertising, _conn_handles, _connected
    connection = None
    try:
        op = json.loads(await stream.readline())["op"]
        if op == "scan" and _advertising:
            reply = {"op": "adv", "advertising": True, "connectable": True,
                     "addr": "c0:de:5a:1c:%02x:%02x" % (_port >> 8, _port & 255),
                     "adv": binascii.hexlify(_advertising[0]).decode(),
                     "resp": binascii.hexlify(_advertising[1]).decode()}
        elif op == "scan":
            reply = {"op": "adv", "advertising": False}
        elif op == "connect":
            central = select.poll()
            central.register(stream.s, select.POLLIN)
            while not _advertising:
                if central.poll(0):
                    raise OSError(errno.ECONNABORTED)  # the central closed (gave up) before the lock advertised
                await asyncio.sleep_ms(20)
            connection = DeviceConnection(stream)
            _connected += 1
            _advertising.append(connection)
            _advertising[2].set()
            _advertising = None
            _conn_handles += 1
            reply = {"op": "connected", "handle": _conn_handles}
        else:
            reply = {"op": "error", "error": "unknown op"}
        while True:
            if reply:
                stream.write(json.dumps(reply) + "\n")
            await stream.drain()
            if connection is None:
                break  # a scan (or a first request that is not a connect) is answered, then the link closes
            line = await stream.readline()
            if not line:
                break  # the central disconnected
            error = reply = None
            try:
                request = json.loads(line)
                op = request["op"]
                characteristic = _characteristics.get(request.get("handle"))
                if op == "services":
                    reply = {"op": "services", "services": []}
                    for service in _services:
                        chars = []
                        for char in service.characteristics:
                            chars.append({"uuid": char.uuid._text, "handle": char._value_handle,
                                          "flags": char.flags & 0xFFFF})
                        reply["services"].append({"uuid": service.uuid._text, "chars": chars})
                elif op == "mtu":
                    connection.mtu = min(_mtu, int(request["mtu"]))
                    reply = {"op": "mtu", "mtu": connection.mtu}
                elif op not in ("read", "write", "subscribe"):
                    error = "unknown op"
                elif characteristic is None:
                    error = "invalid handle"
                elif not characteristic.flags & (_FLAG_READ if op == "read" else _FLAG_WRITE if op == "write"
                                                 else _FLAG_NOTIFY):
                    error = "%s not permitted" % op
                elif op == "read":
                    reply = {"op": "value", "handle": characteristic._value_handle,
                             "data": binascii.hexlify(characteristic._value).decode()}
                elif op == "subscribe":
                    if request.get("on", True):
                        characteristic._subscribers.add(connection)
                    else:
                        characteristic._subscribers.discard(connection)
                    reply = {"op": "subscribed"}
                else:
                    data = binascii.unhexlify(request["data"])
                    payload_max = (connection.mtu or _DEFAULT_MTU) - 3
                    if len(data) > payload_max:
                        error = "longer than ATT MTU - 3 (%d)" % payload_max
                    else:
                        characteristic._value = data = data[: characteristic._max_len]
                        capture = characteristic.flags & _FLAG_WRITE_CAPTURE
                        characteristic._writes.append((connection, data) if capture else connection)
                        characteristic._write_event.set()
                        if request.get("response", True):
                            reply = {"op": "written"}
            except (ValueError, KeyError, TypeError) as e:
                error = "malformed: %s" % e
            if error:
                reply = {"op": "error", "error": error}
    except (OSError, ValueError, KeyError):
        pass  # the link broke, or its first line was not a request
    except asyncio.CancelledError:
        pass  # the lock disconnected
    finally:
        stream.s.close()
        if connection:
            _connected -= 1
            for characteristic in _characteristics.values():
                characteristic._subscribers.discard(connection)
            connection._event.set()
