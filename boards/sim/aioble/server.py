# GATT server with aioble's API. Values live here (the "local db"); centrals reach them through core.
import asyncio

from . import core
from .device import DeviceConnection, DeviceTimeout

_FLAG_READ = 0x0002
_FLAG_WRITE_NO_RESPONSE = 0x0004
_FLAG_WRITE = 0x0008
_FLAG_NOTIFY = 0x0010
_FLAG_INDICATE = 0x0020
_FLAG_WRITE_CAPTURE = 0x10000

_CAPTURE_QUEUE_LIMIT = 10
_DEFAULT_BUFFER = 20

_services = []
_by_handle = {}


class Service:
    def __init__(self, uuid):
        self.uuid = uuid
        self.characteristics = []


class BaseCharacteristic:
    def read(self):
        return self._value

    def write(self, data, send_update=False):
        self._value = bytes(data)[: self._max_len]
        if send_update and self.flags & (_FLAG_NOTIFY | _FLAG_INDICATE):
            for conn in list(DeviceConnection._connected.values()):
                if self._handle in conn._subscribed:
                    self._send(conn, self._value)

    async def written(self, timeout_ms=None):
        if not hasattr(self, "_write_event"):
            return
        with DeviceTimeout(None, timeout_ms):
            while not self._writes:
                self._write_event.clear()
                await self._write_event.wait()
        return self._writes.pop(0)

    def on_read(self, connection):
        return 0

    def _send(self, conn, data):
        conn._link.send({"op": "notify", "handle": self._handle, "data": core.hexdata(data[: conn._payload_max()])})

    def _remote_write(self, conn, data):
        self._value = data[: self._max_len] if not self._append else (self._value + data)[-self._max_len:]
        # Capture keeps every write with its connection; without it only the latest connection is kept.
        item = (conn, self._value) if self.flags & _FLAG_WRITE_CAPTURE else conn
        if self.flags & _FLAG_WRITE_CAPTURE:
            if len(self._writes) >= _CAPTURE_QUEUE_LIMIT:
                self._writes.pop(0)
            self._writes.append(item)
        else:
            self._writes[:] = [item]
        self._write_event.set()


class Characteristic(BaseCharacteristic):
    def __init__(self, service, uuid, read=False, write=False, write_no_response=False,
                 notify=False, indicate=False, initial=None, capture=False):
        service.characteristics.append(self)
        self.descriptors = []
        flags = 0
        if read:
            flags |= _FLAG_READ
        if write or write_no_response:
            flags |= (_FLAG_WRITE if write else 0) | (_FLAG_WRITE_NO_RESPONSE if write_no_response else 0)
            if capture:
                flags |= _FLAG_WRITE_CAPTURE
            self._write_event = asyncio.Event()
            self._writes = []
        if notify:
            flags |= _FLAG_NOTIFY
        if indicate:
            flags |= _FLAG_INDICATE
        self.uuid = uuid
        self.flags = flags
        self._handle = None
        self._max_len = _DEFAULT_BUFFER
        self._append = False
        self._value = b""
        self._initial = initial

    def _register(self, handle):
        self._handle = handle
        _by_handle[handle] = self
        if self._initial is not None:
            self._value = bytes(self._initial)
            self._initial = None

    def notify(self, connection, data=None):
        if not self.flags & _FLAG_NOTIFY:
            raise ValueError("Not supported")
        if not connection.is_connected():
            raise OSError(107)  # ENOTCONN, like gatts_notify on a dropped connection
        self._send(connection, self._value if data is None else bytes(data))

    async def indicate(self, connection, data=None, timeout_ms=1000):
        if not self.flags & _FLAG_INDICATE:
            raise ValueError("Not supported")
        if not connection.is_connected():
            raise ValueError("Not connected")
        with connection.timeout(timeout_ms):
            self._send(connection, self._value if data is None else bytes(data))
            await connection._link.drain()


class BufferedCharacteristic(Characteristic):
    def __init__(self, *args, max_len=20, append=False, **kwargs):
        super().__init__(*args, **kwargs)
        self._max_len = max_len
        self._append = append


class Descriptor(BaseCharacteristic):
    def __init__(self, characteristic, uuid, read=False, write=False, initial=None):
        characteristic.descriptors.append(self)
        self.uuid = uuid
        self.flags = (_FLAG_READ if read else 0) | (_FLAG_WRITE if write else 0)
        if write:
            self._write_event = asyncio.Event()
            self._writes = []
        self._handle = None
        self._max_len = _DEFAULT_BUFFER
        self._append = False
        self._value = b""
        self._initial = initial

    _register = Characteristic._register


def register_services(*services):
    _services[:] = services
    _by_handle.clear()
    handle = 1
    for s in services:
        handle += 1  # the service declaration
        for c in s.characteristics:
            handle += 1  # the characteristic declaration
            c._register(handle)
            handle += 1
            for d in c.descriptors:
                d._register(handle)
                handle += 1


def _discovery():
    return [{"uuid": s.uuid.text(),
             "chars": [{"uuid": c.uuid.text(), "handle": c._handle, "flags": c.flags & 0xFFFF}
                       for c in s.characteristics]}
            for s in _services]


def _op(conn, msg):
    op = msg["op"]
    if op == "services":
        return {"op": "services", "services": _discovery()}
    if op == "mtu":
        conn.mtu = min(core.config("mtu"), int(msg["mtu"]))
        conn._link.central_mtu = int(msg["mtu"])
        return {"op": "mtu", "mtu": conn.mtu}
    char = _by_handle.get(msg.get("handle"))
    if char is None:
        return {"op": "error", "error": "invalid handle"}
    if op == "read":
        if not char.flags & _FLAG_READ:
            return {"op": "error", "error": "read not permitted"}
        char.on_read(conn)
        return {"op": "value", "handle": char._handle, "data": core.hexdata(char._value)}
    if op == "write":
        if not char.flags & (_FLAG_WRITE | _FLAG_WRITE_NO_RESPONSE):
            return {"op": "error", "error": "write not permitted"}
        data = core.unhex(msg["data"])
        if len(data) > conn._payload_max():
            return {"op": "error", "error": "longer than ATT MTU - 3 (%d)" % conn._payload_max()}
        char._remote_write(conn, data)
        return {"op": "written"} if msg.get("response", True) else None
    if op == "subscribe":
        if not char.flags & (_FLAG_NOTIFY | _FLAG_INDICATE):
            return {"op": "error", "error": "notify not permitted"}
        if msg.get("on", True):
            conn._subscribed.add(char._handle)
        else:
            conn._subscribed.discard(char._handle)
        return {"op": "subscribed"}
    return {"op": "error", "error": "unknown op"}


core.register_handler("op", _op)
