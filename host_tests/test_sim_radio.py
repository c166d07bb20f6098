"""The simulated board's aioble and radio (boards/sim/aioble.py) against the host's central (simlock.radio): the
aioble calls the firmware makes behave as on a device, and the link enforces what a real one does (ATT MTU,
characteristic buffer, notification length)."""
import os
import subprocess
import time

import pytest

from mpy import MICROPYTHON, ROOT
from sim import free_port_pair
from simlock import radio

SERVICE = "6c6f636b-0001-4e2a-9b1e-736d6172746c"
ECHO = "6c6f636b-0002-4e2a-9b1e-736d6172746c"
STATUS = "6c6f636b-0004-4e2a-9b1e-736d6172746c"

# A peripheral that echoes each write ten times over as a notification (cut to the MTU by the radio) and
# mirrors its first two bytes into a readable, notifying status characteristic. It reports on stdout (read
# once it exits: the Unix port buffers a pipe) and exits after its central disconnects.
PERIPHERAL = """
import asyncio, aioble, bluetooth
service = aioble.Service(bluetooth.UUID(%r))
echo = aioble.BufferedCharacteristic(service, bluetooth.UUID(%r), write=True, notify=True, capture=True,
                                     max_len=30)
status = aioble.Characteristic(service, bluetooth.UUID(%r), read=True, notify=True)
aioble.register_services(service)
aioble.config(mtu=100)
status.write(b"\\x01\\x02")

async def main():
    try:
        await aioble.advertise(250000, name="first", timeout_ms=50)
    except asyncio.TimeoutError:
        print("timed out")
    conn = await aioble.advertise(250000, name="radio-test", services=[service.uuid],
                                  manufacturer=(0xFFFF, b"\\x07"))
    print("connected", conn.mtu, conn.is_connected())
    asyncio.create_task(watch(conn))
    while True:
        who, data = await echo.written()
        assert who is conn
        echo.notify(conn, data * 10)
        status.write(data[:2], send_update=True)

async def watch(conn):
    await conn.disconnected()
    try:
        echo.notify(conn, b"late")
    except OSError:
        print("disconnected", conn.is_connected())
    raise SystemExit

asyncio.run(main())
""" % (SERVICE, ECHO, STATUS)


@pytest.fixture
def peripheral():
    port = free_port_pair()
    env = dict(os.environ, MICROPYPATH=str(ROOT / "boards" / "sim") + ":.frozen", SIMLOCK_BLE_PORT=str(port))
    proc = subprocess.Popen([str(MICROPYTHON), "-c", PERIPHERAL], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    try:
        for _ in range(100):
            adv = radio.scan("127.0.0.1", port)
            if adv and radio.parse_adv(adv["adv"] + adv["resp"]).get(0x09) == b"radio-test":
                break
            time.sleep(0.05)
        else:
            raise AssertionError("the peripheral never advertised")
        yield port, adv, proc
    finally:
        proc.kill()
        proc.wait()


def test_the_simulated_link_behaves_like_a_real_one(peripheral):
    port, adv, proc = peripheral
    fields = radio.parse_adv(adv["adv"] + adv["resp"])
    assert adv["connectable"] and fields[0x01] == b"\x06"
    assert fields[0x07] == bytes(reversed(bytes.fromhex(SERVICE.replace("-", ""))))  # little-endian, as on air
    assert fields[0x09] == b"radio-test" and fields[0xFF] == b"\xff\xff\x07"
    assert len(adv["adv"]) <= 31 and len(adv["resp"]) <= 31

    central = radio.Central("127.0.0.1", port, mtu=247)
    try:
        assert radio.scan("127.0.0.1", port) is None, "a connection ends advertising"
        [service] = central.services()
        assert service["uuid"] == SERVICE
        echo, status = central.handle_of(ECHO), central.handle_of(STATUS)
        assert central.read(status) == b"\x01\x02"
        with pytest.raises(radio.RadioError, match="not permitted"):
            central.write(status, b"x")
        with pytest.raises(radio.RadioError, match="invalid handle"):
            central.read(999)

        # ATT MTU 23 until exchanged: a write carries at most 20 bytes, and so does a notification
        with pytest.raises(radio.RadioError, match="MTU"):
            central.write(echo, bytes(21))
        central.write(echo, bytes(range(20)))
        assert central.next_notification() == (echo, bytes(range(20)))

        # the lock allows 100: writes up to 97 bytes, cut to the characteristic's 30-byte buffer
        assert central.exchange_mtu(247) == 100
        central.subscribe(status)
        central.write(echo, bytes(range(60)))
        assert central.next_notification() == (echo, (bytes(range(30)) * 10)[:97])
        assert central.next_notification() == (status, b"\x00\x01"), "send_update reaches a subscriber"
        central.subscribe(status, on=False)
        central.write(echo, b"\x05\x06", response=False)
        assert central.next_notification() == (echo, b"\x05\x06" * 10)
        with pytest.raises(radio.RadioError):
            central.next_notification(timeout=0.3)  # unsubscribed: no status update
        assert central.read(status) == b"\x05\x06"
    finally:
        central.close()
    out, _ = proc.communicate(timeout=10)
    assert out.splitlines() == [
        "timed out",              # advertise(timeout_ms=) raises asyncio.TimeoutError
        "connected None True",    # no MTU until the central exchanges it
        "disconnected False",     # conn.disconnected() returns; notify() then raises OSError
    ], out
