# The lock's GATT service (shell): carries protocol messages between centrals and LockProtocol.
#
# One service, three characteristics:
#   pairing  write + notify   PAIR_* messages, fragmented (wire.py)
#   command  write + notify   SESSION_* / SECURE messages, fragmented
#   status   read  + notify   public: protocol version u8 | flags u8 (1 = pairing mode, 2 = no code yet)
# The advert carries the name, the service UUID and the same two public bytes as manufacturer data.
# Needs from the app: .status(), .request(action), .pairmode, .now_ms(); optional .set_time(unix),
# .flash_root (default: the current directory, which the app has made the flash root).
import asyncio
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
_TICK_MS = const(200)


class Service:
    def __init__(self, app):
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
        self.conns = {}  # connection -> (pairing reassembler, command reassembler)
        self.public = b""

    async def run(self):
        try:
            aioble.config(mtu=_MTU)
        except (ValueError, OSError):
            pass
        for channel in (PAIR, COMMAND):
            asyncio.create_task(self._receive(channel))
        asyncio.create_task(self._tick())
        while True:
            self._publish()
            try:
                conn = await aioble.advertise(_ADV_INTERVAL_US, name=getattr(self.app, "name", "smartlock"),
                                              services=[self.uuid],
                                              manufacturer=(_MANUFACTURER_ID, self.public),
                                              timeout_ms=_ADV_REFRESH_MS)
            except asyncio.TimeoutError:
                continue
            self.conns[conn] = (wire.Reassembler(), wire.Reassembler())
            asyncio.create_task(self._watch(conn))

    def _publish(self):
        proto = self.proto
        pub = bytes((wire.VERSION, (1 if proto.pairmode.active else 0) | (0 if proto.passcode.is_set else 2)))
        if pub != self.public:
            self.public = pub
            self.status.write(pub, send_update=True)

    async def _watch(self, conn):
        try:
            await conn.disconnected(timeout_ms=None)
        except Exception:
            pass
        self.conns.pop(conn, None)
        self.proto.disconnected(conn, self.app.now_ms())

    async def _tick(self):
        while True:
            self.proto.tick(self.app.now_ms())
            self._publish()
            await asyncio.sleep_ms(_TICK_MS)

    async def _receive(self, channel):
        char = self.chars[channel]
        while True:
            conn, data = await char.written()
            pending = self.conns.get(conn)
            if pending is None:
                continue
            try:
                msg = pending[channel].feed(data)
            except wire.WireError as e:
                await self._send(char, conn, wire.error(e.code))
                continue
            if msg is None:
                continue
            reply = self.proto.handle(conn, channel, msg, self.app.now_ms())
            await self._send(char, conn, reply)
            for gone in self.proto.take_closing():
                asyncio.create_task(self._drop(gone))
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
        except Exception:
            pass
