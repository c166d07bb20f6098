"""The lock's GATT service (firmware/lock/ble.py) under MicroPython on the simulated radio, without the rest of
the lock: its tasks are supervised (one failing ends `run()` with that failure, which main.py turns into a
reboot), and a controller that refuses to advertise (NimBLE's ENOMEM at its connection limit) is waited out,
not a failure.

Each case runs the service in a MicroPython process with a stand-in app and an empty flash directory; the
test is the central. The process prints what `run()` ended with, and exits.
"""
import errno
import os
import subprocess
import time

import pytest

from mpy import MICROPYTHON, ROOT, sim_libraries
from sim import free_port_pair
from simlock import radio
from lockctl import wire
from lockctl.transports import COMMAND_UUID

SERVICE = r"""
import asyncio, sys, time
from lock import ble, clock
from lock.pairmode import PairMode

class App:
    flash_root = "."
    first_lockout_ms = 5000
    def __init__(self):
        self.pairmode = PairMode(10000)
    def now_ms(self):
        return clock.now_ms()
    def status(self):
        return {}
    def request(self, action):
        return "no mechanics"

def boom(*args):
    raise RuntimeError("injected")

service = ble.Service(App(), MAX_CONNECTIONS, 60000, 60000)
FAIL = %r
if FAIL == "tick":
    service.proto.tick = boom
elif FAIL == "receive":
    service.proto.handle = boom
elif FAIL == "watch":
    service.proto.disconnected = boom
refused = []
advertise = ble.aioble.advertise
async def counting(*args, **kw):
    try:
        return await advertise(*args, **kw)
    except OSError as e:
        refused.append(e.args[0])
        raise
ble.aioble.advertise = counting

async def main():
    try:
        await asyncio.wait_for(service.run(), %d)
    except Exception as e:
        print("run ended:", repr(e))
    print("advertising refused with:", sorted(set(refused)))
asyncio.run(main())
"""


def start(tmp_path, fail, max_connections=4, seconds=20):
    port = free_port_pair()
    env = dict(os.environ, MICROPYPATH="%s:%s:%s:.frozen" % (ROOT / "firmware", ROOT / "boards" / "sim",
                                                                 sim_libraries()),
               SIMLOCK_BLE_PORT=str(port))
    code = ("MAX_CONNECTIONS = %d\n" % max_connections) + SERVICE % (fail, seconds)
    proc = subprocess.Popen([str(MICROPYTHON), "-X", "heapsize=256k", "-c", code], env=env, cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    for _ in range(200):
        if radio.scan("127.0.0.1", port) or proc.poll() is not None:
            return port, proc
        time.sleep(0.05)
    proc.kill()
    raise AssertionError("the service never advertised:\n" + proc.communicate()[0])


def finish(proc, timeout=25):
    try:
        return proc.communicate(timeout=timeout)[0]
    finally:
        proc.kill()


@pytest.mark.parametrize("fail", ["tick", "receive", "watch"])
def test_a_failing_radio_task_ends_the_service_with_its_failure(tmp_path, fail):
    port, proc = start(tmp_path, fail)
    if fail != "tick":
        c = radio.Central("127.0.0.1", port, mtu=247)
        if fail == "receive":
            for frag in wire.fragments(wire.message(wire.SESSION_HELLO, bytes(20)), 20):
                c.write(c.handle_of(COMMAND_UUID), frag)
        c.close()
    out = finish(proc)
    assert "run ended: RuntimeError('injected'" in out, out
    assert "advertising refused with: []" in out, out


def test_without_a_failure_the_service_runs_on(tmp_path):
    port, proc = start(tmp_path, None, seconds=3)
    c = radio.Central("127.0.0.1", port)
    c.close()
    out = finish(proc)
    assert "run ended: TimeoutError()" in out, out   # ended only by the test's own time limit


def test_a_controller_that_refuses_to_advertise_is_waited_out(tmp_path):
    # A service allowed one connection more than the controller has room for meets ENOMEM, as on an ESP32
    # whose NimBLE is full: it keeps running and takes a central again once one leaves.
    port, proc = start(tmp_path, None, max_connections=5, seconds=8)
    held = [radio.Central("127.0.0.1", port) for _ in range(4)]
    with pytest.raises(radio.RadioError, match="not advertising"):
        radio.Central("127.0.0.1", port, connect_timeout=1.0)
    held.pop().close()
    again = radio.Central("127.0.0.1", port, connect_timeout=5.0)
    for c in held + [again]:
        c.close()
    out = finish(proc)
    assert "run ended: TimeoutError()" in out, out
    assert "advertising refused with: [%d]" % errno.ENOMEM in out, out
