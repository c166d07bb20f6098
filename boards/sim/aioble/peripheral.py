# Advertising and incoming connections, with aioble's `advertise()`.
import struct
import asyncio

from . import core
from .device import Device, DeviceConnection, DeviceTimeout

_ADV_TYPE_FLAGS = 0x01
_ADV_TYPE_NAME = 0x09
_ADV_TYPE_UUID16_COMPLETE = 0x03
_ADV_TYPE_UUID32_COMPLETE = 0x05
_ADV_TYPE_UUID128_COMPLETE = 0x07
_ADV_TYPE_APPEARANCE = 0x19
_ADV_TYPE_MANUFACTURER = 0xFF
_ADV_PAYLOAD_MAX_LEN = 31

_adv = {"data": None, "resp": None, "connectable": False}
_advertising = asyncio.Event()
_incoming = []
_arrived = asyncio.Event()
_next_handle = [0]


def _append(adv, resp, adv_type, value):
    field = struct.pack("BB", len(value) + 1, adv_type) + value
    if len(adv) + len(field) <= _ADV_PAYLOAD_MAX_LEN:
        adv.extend(field)
        return resp
    resp = resp if resp is not None else bytearray()
    if len(resp) + len(field) <= _ADV_PAYLOAD_MAX_LEN:
        resp.extend(field)
        return resp
    raise ValueError("Advertising payload too long")


def _payload(limited_disc, br_edr, name, services, appearance, manufacturer):
    adv = bytearray()
    resp = None
    flags = (0x01 if limited_disc else 0x02) + (0x18 if br_edr else 0x04)
    resp = _append(adv, resp, _ADV_TYPE_FLAGS, struct.pack("B", flags))
    for uuid in services or ():
        kind = {2: _ADV_TYPE_UUID16_COMPLETE, 4: _ADV_TYPE_UUID32_COMPLETE, 16: _ADV_TYPE_UUID128_COMPLETE}
        resp = _append(adv, resp, kind[len(uuid._b)], uuid._b)
    if name:
        resp = _append(adv, resp, _ADV_TYPE_NAME, name.encode() if isinstance(name, str) else name)
    if appearance:
        resp = _append(adv, resp, _ADV_TYPE_APPEARANCE, struct.pack("<H", appearance))
    if manufacturer:
        resp = _append(adv, resp, _ADV_TYPE_MANUFACTURER, struct.pack("<H", manufacturer[0]) + manufacturer[1])
    return bytes(adv), (bytes(resp) if resp else None)


async def advertise(interval_us, adv_data=None, resp_data=None, connectable=True, limited_disc=False,
                    br_edr=False, name=None, services=None, appearance=0, manufacturer=None, timeout_ms=None):
    await core.ensure_active()
    if not adv_data and not resp_data:
        adv_data, resp_data = _payload(limited_disc, br_edr, name, services, appearance, manufacturer)
    _adv["data"], _adv["resp"], _adv["connectable"] = bytes(adv_data or b""), resp_data, connectable
    _advertising.set()
    try:
        with DeviceTimeout(None, timeout_ms):
            while not _incoming:
                _arrived.clear()
                await _arrived.wait()
        return _incoming.pop(0)
    finally:
        # A connection (or a timeout, or cancellation) ends advertising, as on the controller.
        _advertising.clear()
        _adv["data"] = None


def _scan():
    if _adv["data"] is None:
        return {"op": "adv", "advertising": False}
    return {"op": "adv", "advertising": True, "addr": Device(0, core.address()).addr_hex(),
            "connectable": _adv["connectable"], "adv": core.hexdata(_adv["data"]),
            "resp": core.hexdata(_adv["resp"] or b"")}


async def _connect(link):
    # A central's connect request completes once the lock advertises connectably.
    while not (_advertising.is_set() and _adv["connectable"]):
        await _advertising.wait()
        if not _adv["connectable"]:
            await asyncio.sleep_ms(50)
    _advertising.clear()
    _adv["data"] = None
    _next_handle[0] += 1
    conn = DeviceConnection(Device(1, bytes((0xCE, 0x17, 0, 0, 0, _next_handle[0] & 0xFF))), _next_handle[0], link)
    _incoming.append(conn)
    _arrived.set()
    link.send({"op": "connected", "handle": conn._conn_handle})
    await link.drain()
    return conn


core.register_handler("scan", _scan)
core.register_handler("connect", _connect)
core.register_handler("disconnect", lambda conn: conn._on_disconnect())
