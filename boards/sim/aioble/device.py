# Devices and connections, with aioble's semantics: a connection knows its central, its MTU, and cancels
# operations waiting on it when the central disconnects.
import asyncio
import binascii

from . import core


class DeviceDisconnectedError(Exception):
    pass


class DeviceTimeout:
    # `with connection.timeout(ms):` -- cancel the waiting task on timeout or disconnection.
    def __init__(self, connection, timeout_ms):
        self._connection = connection
        self._timeout_ms = timeout_ms
        self._timer = None
        self._timed_out = False
        self._task = asyncio.current_task()
        if connection:
            connection._timeouts.append(self)

    async def _expire(self):
        try:
            await asyncio.sleep_ms(self._timeout_ms)
        except asyncio.CancelledError:
            return
        self._timed_out = True
        self._timer = None
        self._task.cancel()

    def __enter__(self):
        if self._timeout_ms:
            self._timer = asyncio.create_task(self._expire())

    def __exit__(self, exc_type, exc, tb):
        if self._connection:
            self._connection._timeouts.remove(self)
        if self._timer:
            self._timer.cancel()
        if exc_type == asyncio.CancelledError:
            if self._timed_out:
                raise asyncio.TimeoutError
            if self._connection and self._connection._conn_handle is None:
                raise DeviceDisconnectedError


class Device:
    def __init__(self, addr_type, addr):
        self.addr_type = addr_type
        self.addr = addr if len(addr) == 6 else binascii.unhexlify(addr.replace(":", ""))
        self._connection = None

    def __eq__(self, other):
        return self.addr_type == other.addr_type and self.addr == other.addr

    def __hash__(self):
        return hash((self.addr_type, self.addr))

    def addr_hex(self):
        return ":".join("%02x" % b for b in self.addr)

    def __str__(self):
        return "Device(%s, %s%s)" % ("ADDR_PUBLIC" if self.addr_type == 0 else "ADDR_RANDOM",
                                     self.addr_hex(), ", CONNECTED" if self._connection else "")


class DeviceConnection:
    _connected = {}

    def __init__(self, device, conn_handle, link):
        self.device = device
        device._connection = self
        self.encrypted = False
        self.authenticated = False
        self.bonded = False
        self.key_size = False
        self.mtu = None
        self._conn_handle = conn_handle
        self._link = link
        self._timeouts = []
        self._gone = asyncio.Event()
        self._subscribed = set()
        DeviceConnection._connected[conn_handle] = self

    def _on_disconnect(self):
        if self._conn_handle is None:
            return
        del DeviceConnection._connected[self._conn_handle]
        self._conn_handle = None
        self.device._connection = None
        self._gone.set()
        for t in self._timeouts:
            t._task.cancel()

    def is_connected(self):
        return self._conn_handle is not None

    def timeout(self, timeout_ms):
        return DeviceTimeout(self, timeout_ms)

    def _payload_max(self):
        return (self.mtu or core.DEFAULT_MTU) - 3

    async def disconnected(self, timeout_ms=60000, disconnect=False):
        if not self.is_connected():
            return
        if disconnect:
            self._link.close()
        with DeviceTimeout(None, timeout_ms):
            await self._gone.wait()

    async def disconnect(self, timeout_ms=2000):
        await self.disconnected(timeout_ms, disconnect=True)

    async def exchange_mtu(self, mtu=None, timeout_ms=1000):
        if not self.is_connected():
            raise ValueError("Not connected")
        if mtu:
            core.config(mtu=mtu)
        self.mtu = min(core.config("mtu"), self._link.central_mtu)
        self._link.send({"op": "mtu_changed", "mtu": self.mtu})
        await self._link.drain()
        return self.mtu

    async def __aenter__(self):
        return self

    async def __aexit__(self, exc_type, exc, tb):
        await self.disconnect()
