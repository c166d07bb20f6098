"""lockctl's real-BLE transport (bleak) against the firmware, with a hand-written fake of bleak whose radio is the
simulated one: the transport's own code (connect, subscribe, MTU, fragmenting writes, reassembling notifications,
scanning) runs unchanged. There is no Bluetooth adapter on a test machine; the fake keeps bleak 3's call shapes."""
import asyncio
import sys
import threading
import types

import pytest

import mpy

sys.path.insert(0, str(mpy.ROOT / "tools"))
from lockctl import client, transports  # noqa: E402
from simlock import radio  # noqa: E402

CODE = "864200"


class FakeBleakClient:
    """BleakClient(address, timeout=) -> connect / start_notify / write_gatt_char / mtu_size / disconnect."""

    def __init__(self, address, timeout=10.0, **kwargs):
        self.host, _, port = address.rpartition(":")
        self.port = int(port)
        self.timeout = timeout
        self.callbacks = {}
        self.writes = []

    async def connect(self):
        self.loop = asyncio.get_running_loop()
        self.central = radio.Central(self.host, self.port, mtu=247, timeout=self.timeout)
        self.central.exchange_mtu(247)  # bleak negotiates the MTU on connect
        threading.Thread(target=self._notifications, daemon=True).start()
        return True

    @property
    def mtu_size(self):
        return self.central.mtu

    def _notifications(self):
        while True:
            try:
                handle, data = self.central.next_notification(timeout=3600)
            except radio.RadioError:
                return
            cb = self.callbacks.get(handle)
            if cb:
                # bleak calls back on its event loop, with a characteristic and a bytearray
                self.loop.call_soon_threadsafe(cb, handle, bytearray(data))

    async def start_notify(self, uuid, callback):
        handle = self.central.handle_of(uuid)
        self.central.subscribe(handle)
        self.callbacks[handle] = callback

    async def write_gatt_char(self, uuid, data, response=None):
        self.writes.append(len(data))
        self.central.write(self.central.handle_of(uuid), bytes(data), response=bool(response))

    async def disconnect(self):
        self.central.close()
        return True


class FakeDevice:
    def __init__(self, address, name):
        self.address, self.name = address, name


class FakeAdvertisement:
    def __init__(self, fields):
        self.local_name = fields.get(0x09, b"").decode()
        m = fields.get(0xFF, b"")
        self.manufacturer_data = {int.from_bytes(m[:2], "little"): m[2:]} if m else {}


def fake_bleak(lock_address):
    class FakeBleakScanner:
        @staticmethod
        async def discover(timeout=5.0, return_adv=False, service_uuids=None):
            host, _, port = lock_address.rpartition(":")
            adv = radio.scan(host, int(port))
            if adv is None:
                return {}
            fields = radio.parse_adv(adv["adv"] + adv["resp"])
            assert return_adv and service_uuids == [transports.SERVICE_UUID]
            return {lock_address: (FakeDevice(lock_address, None), FakeAdvertisement(fields))}

    return types.SimpleNamespace(BleakClient=FakeBleakClient, BleakScanner=FakeBleakScanner)


@pytest.fixture
def ble(monkeypatch, simlock):
    lock = simlock(calibrated=True)
    address = "127.0.0.1:%d" % lock.port
    monkeypatch.setitem(sys.modules, "bleak", fake_bleak(address))
    return lock, address


def test_scan_pair_and_drive_the_lock_over_the_ble_transport(ble):
    lock, address = ble
    lock.wait_for(lambda s: s["pairing"], timeout=10, what="pairing mode on a lock with no devices")
    found = transports.ble_scan(1.0)
    assert len(found) == 1 and found[0]["address"] == address and found[0]["pairing"], found

    t = transports.BleTransport(address)
    try:
        got = client.setup(t, CODE, "ble-phone")
    finally:
        t.close()
    assert got.admin

    t = transports.BleTransport(address)
    try:
        assert t.size == 244, "the transport uses the exchanged MTU (up to the lock's buffer)"
        s = client.Session(t, got.device_id, got.key)
        assert s.status()["state"] in ("locked", "unlocked")
        lock.bench("turn -1000")  # by hand, to locked
        lock.wait_lock("locked")
        s.action("unlock")
        lock.wait_lock("unlocked")
        assert [d["name"] for d in s.devices()] == ["ble-phone"]
    finally:
        t.close()
