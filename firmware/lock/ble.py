# The lock's GATT service (shell): carries protocol messages between centrals and LockProtocol.
#
# One service, three characteristics:
#   pairing  write + notify   PAIR_* messages, fragmented (wire.py)
#   command  write + notify   SESSION_* / SECURE messages, fragmented
#   status   read  + notify   public: protocol version u8 | flags u8 (1 = pairing mode, 2 = no code yet)
# The advert carries the name, the service UUID and the same two public bytes as manufacturer data.
# Needs from the app: .status(), .request(action), .pairmode, .now_ms(); optional .set_time(unix),
# .flash_root (default: the current directory, which the app has made the flash root).
#
# Connections are a scarce resource (RAM here, the controller's table below): the lock takes at most
# `max_connections` at once and is not connectable meanwhile; it drops one that has not opened a session
# (one authentic frame) or a pairing exchange within `open_ms`, and one silent for `idle_ms`.
# `run()` returns only by raising: when one of its tasks fails, so that the lock reboots rather than
# serving half (docs/SECURITY.md "A crowd of connections").
import asyncio
import errno
import aioble
import bluetooth
from micropython import const

from lock import wire
from lock.protocol import LockProtocol, PAIR, COMMAND

_UUID = "6c6f636b-000%d-4e2a-9b1e-736d6172746c"  # 1 service, 2 pairing, 3 command, 4 status
_MANUFACTURER_ID = const(0xFFFF)  # "no company": for tests and prototypes
_BUFFER = const(244)             # a written value up to ATT MTU 247 - 3
_MTU = const(247)
_ADV_INTERVAL_US = const(250000)
_ADV_REFRESH_MS = const(1000)    # re-advertise this often so the advert follows pairing mode
_ADV_RETRY_MS = const(200)       # the controller refused to advertise (no room yet): try again after this
_TICK_MS = const(200)


class Service:
    def __init__(self, app, max_connections, open_ms, idle_ms):
        self.app = app
        self.proto = LockProtocol(getattr(app, "flash_root", "."), app, app.pairmode, app.now_ms())
        app.security = self.proto  # the app reads the lockout from here (ring)
        self.proto.passcode.on_wrong = getattr(app, "wrong_code", None)
        self.uuid = bluetooth.UUID(_UUID % 1)
        service = aioble.Service(self.uuid)
        self.chars = tuple(
            aioble.BufferedCharacteristic(service, bluetooth.UUID(_UUID % n), write=True, notify=True,
                                          capture=True, max_len=_BUFFER)
            for n in (2, 3))  # indexed by channel: PAIR, COMMAND
        self.status = aioble.Characteristic(service, bluetooth.UUID(_UUID % 4), read=True, notify=True)
        aioble.register_services(service)
        self.max_connections = max_connections
        self.open_ms = open_ms
        self.idle_ms = idle_ms
        # connection -> [pairing reassembler, command reassembler, when it is dropped (ms; None: being dropped)]
        self.conns = {}
        self.public = b""
        self._left = asyncio.Event()  # a connection went away
        self._failed = asyncio.Event()
        self._failure = None  # type: Exception | None

    async def run(self):
        try:
            aioble.config(mtu=_MTU)
        except (ValueError, OSError):
            pass
        for channel in (PAIR, COMMAND):
            self._spawn(self._receive(channel))
        self._spawn(self._tick())
        self._spawn(self._advertise())
        await self._failed.wait()
        failure = self._failure
        assert failure is not None
        raise failure

    def _spawn(self, coro):
        asyncio.create_task(self._supervised(coro))

    async def _supervised(self, coro):
        # Every task of the service runs under this: its failure ends run() (and so the lock's run).
        try:
            await coro
        except Exception as e:
            if self._failure is None:
                self._failure = e
            self._failed.set()

    async def _advertise(self):
        while True:
            self._publish()
            if len(self.conns) >= self.max_connections:
                self._left.clear()
                await self._left.wait()  # full: not connectable until one leaves
                continue
            try:
                conn = await aioble.advertise(_ADV_INTERVAL_US, name=getattr(self.app, "name", "smartlock"),
                                              services=[self.uuid],
                                              manufacturer=(_MANUFACTURER_ID, self.public),
                                              timeout_ms=_ADV_REFRESH_MS)
            except asyncio.TimeoutError:
                continue
            except OSError as e:
                if e.errno != errno.ENOMEM:
                    raise
                # The controller has no room for another connection yet (NimBLE on the ESP32 still holds
                # one that has left here): not a reason to reboot.
                await asyncio.sleep_ms(_ADV_RETRY_MS)
                continue
            self.conns[conn] = [wire.Reassembler(), wire.Reassembler(), self.app.now_ms() + self.open_ms]
            self._spawn(self._watch(conn))

    def _publish(self):
        proto = self.proto
        pub = bytes((wire.VERSION, (1 if proto.pairmode.active else 0) | (0 if proto.passcode.is_set else 2)))
        if pub != self.public:
            self.public = pub
            self.status.write(pub, send_update=True)

    async def _watch(self, conn):
        await conn.disconnected(timeout_ms=None)
        self.conns.pop(conn, None)
        self.proto.disconnected(conn, self.app.now_ms())
        self._left.set()

    async def _tick(self):
        while True:
            now = self.app.now_ms()
            self.proto.tick(now)
            for conn, link in self.conns.items():
                if link[2] is not None and now >= link[2]:
                    link[2] = None  # idle, or never opened anything: free its place
                    self._spawn(self._drop(conn))
            self._publish()
            await asyncio.sleep_ms(_TICK_MS)

    async def _receive(self, channel):
        char = self.chars[channel]
        while True:
            conn, data = await char.written()
            link = self.conns.get(conn)
            if link is None or link[2] is None:
                continue  # not (or no longer) served
            try:
                msg = link[channel].feed(data)
            except wire.WireError as e:
                await self._send(char, conn, wire.error(e.code))
                continue
            if msg is None:
                continue
            proto = self.proto
            reply = proto.handle(conn, channel, msg, self.app.now_ms())
            await self._send(char, conn, reply)
            now = self.app.now_ms()  # after the work (a pairing's takes a while): the peer's turn starts now
            if link[2] is not None:
                # Only a message of an open session or pairing buys time; others never push the deadline
                # past `open_ms` from now, so junk cannot hold a place.
                link[2] = now + self.idle_ms if proto.opened(conn) else min(link[2], now + self.open_ms)
            for gone in proto.take_closing():
                link = self.conns.get(gone)
                if link is not None and link[2] is not None:
                    link[2] = None
                    self._spawn(self._drop(gone))
            self._publish()

    async def _send(self, char, conn, msg):
        size = (conn.mtu or 23) - 3
        for frag in wire.fragments(msg, min(size, _BUFFER)):
            for _ in range(20):
                if not conn.is_connected():
                    return  # real aioble raises TypeError, not OSError, on a dropped connection
                try:
                    char.notify(conn, frag)
                    break
                except OSError:
                    await asyncio.sleep_ms(10)  # the controller's queue is full: let it drain
            await asyncio.sleep_ms(0)

    async def _drop(self, conn):
        try:
            await conn.disconnect()
        except asyncio.TimeoutError:
            pass  # it leaves when the link's supervision timeout ends it; _watch sees that
