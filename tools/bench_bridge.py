"""What a bridge costs the lock: the radio traffic and the firmware CPU time of lockbridge's held session and
status poll, measured on a simulated lock (`simlock run`), plus the BLE air time that traffic takes by the
Bluetooth Core spec's packet sizes. Prints figures; asserts nothing. (docs/DESIGN.md "The bridge".)

Measured: per poll period, the exchanges and bytes lockbridge's Link really sends and receives (counted at the
transport), and the firmware process's CPU time (utime + stime from /proc) over the same interval, against the
same lock left alone (advertising, no connection).
Computed (not measured, no radio here): on-air time on the LE 1M PHY for those bytes, and the cost of the
held connection's empty events at a given connection interval.
"""
import asyncio
import os
import pathlib
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
sys.path.insert(0, str(ROOT / "host_tests"))
from lockctl import client  # noqa: E402
from lockbridge.link import Link, open_transport  # noqa: E402
from sim import SimLock  # noqa: E402

CODE = "246810"
SECONDS = float(os.environ.get("BENCH_BRIDGE_S", "20"))
TICK = os.sysconf("SC_CLK_TCK")

# LE 1M PHY: 1 µs per bit. A data channel PDU on air: preamble 1 + access address 4 + header 2 + payload +
# CRC 3 bytes (+ MIC 4 when the link is encrypted; the lock's protocol encrypts above GATT, so no MIC here).
# Payload = L2CAP header 4 + ATT opcode 1 (+ handle 2) + value. T_IFS = 150 µs between packets of an event.
US_PER_BYTE, OVERHEAD, T_IFS, EMPTY = 8, 10, 150, 80


def firmware_pid(lock):
    children = pathlib.Path("/proc/%d/task/%d/children" % (lock.proc.pid, lock.proc.pid)).read_text().split()
    for pid in children:
        if "micropython" in pathlib.Path("/proc/%s/cmdline" % pid).read_bytes().decode(errors="replace"):
            return int(pid)
    raise RuntimeError("no firmware process under the simulator")


def cpu_s(pid):
    fields = pathlib.Path("/proc/%d/stat" % pid).read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


class Counted:
    """A transport that counts what crosses the air: messages, fragments and bytes, each way."""

    def __init__(self, t, stats):
        self.t, self.s = t, stats

    def exchange(self, channel, msg):
        reply = self.t.exchange(channel, msg)
        size = self.t.size                      # ATT value bytes per write / notification (MTU - 3)
        for key, m in (("up", msg), ("down", reply)):
            frame = len(m) + 6                  # length u16 + message + crc32
            frags = -(-frame // (size - 1))     # each fragment spends a byte on its head
            self.s[key + "_msgs"] += 1
            self.s[key + "_frags"] += frags
            self.s[key + "_bytes"] += frame + frags
        return reply

    def close(self):
        self.t.close()


def air_us(stats):
    """Radio time of the counted traffic: writes with response up, notifications down."""
    up = stats["up_bytes"] + stats["up_frags"] * (OVERHEAD + 4 + 1 + 2)
    resp = stats["up_frags"] * (OVERHEAD + 4 + 1)          # one Write Response per write
    down = stats["down_bytes"] + stats["down_frags"] * (OVERHEAD + 4 + 1 + 2)
    packets = 2 * stats["up_frags"] + stats["down_frags"]
    return (up + resp + down) * US_PER_BYTE + packets * (T_IFS + EMPTY)  # each answered by the other side


async def poll(lock, ident, period, seconds, stats):
    def opener(where, timeout):
        return Counted(open_transport(where, timeout), stats)

    link = Link("bench", ident, "sim:127.0.0.1:%d" % lock.port, lambda *a: None, poll_s=period, opener=opener)
    task = asyncio.create_task(link.run())
    await asyncio.sleep(2)                                  # connected and settled
    for k in stats:
        stats[k] = 0
    pid = firmware_pid(lock)
    c0, t0 = cpu_s(pid), time.monotonic()
    await asyncio.sleep(seconds)
    c1, t1 = cpu_s(pid), time.monotonic()
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    return (c1 - c0) / (t1 - t0), t1 - t0


def main():
    with tempfile.TemporaryDirectory() as tmp:
        lock = SimLock(pathlib.Path(tmp) / "flash")
        try:
            lock.wait_for(lambda s: s["lock"] in ("locked", "unlocked") and s["pairing"], timeout=90,
                          what="calibrated, pairing open")
            r = lock.run_lockctl(pathlib.Path(tmp) / "owner.json", "setup", "--code", CODE, "--name", "owner")
            if r.returncode:
                raise SystemExit(r.stderr)
            lock.bench("button hold 5.5")
            lock.wait_for(lambda s: s["pairing"], what="pairing open")
            t = open_transport("sim:127.0.0.1:%d" % lock.port, 15)
            try:
                got = client.pair(t, CODE, "bench-bridge", "bridge")
            finally:
                t.close()
            lock.wait_for(lambda s: not s["pairing"], what="pairing closed")
            ident = {"device_id": got.device_id, "key": got.key, "name": "bench-bridge"}
            time.sleep(2)
            pid = firmware_pid(lock)
            c0, t0 = cpu_s(pid), time.monotonic()
            time.sleep(SECONDS)
            idle = (cpu_s(pid) - c0) / (time.monotonic() - t0)
            print("lock left alone (advertising):   firmware CPU %5.1f %% of one host core" % (idle * 100))
            for period in (0.5, 1.0, 2.0):
                stats = dict.fromkeys(("up_msgs", "up_frags", "up_bytes", "down_msgs", "down_frags",
                                       "down_bytes"), 0)
                cpu, took = asyncio.run(poll(lock, ident, period, SECONDS, stats))
                n = stats["up_msgs"] / took
                per = {k: v / max(1, stats["up_msgs"]) for k, v in stats.items()}
                air = air_us(stats) / took
                print("bridge polling every %.1f s:      firmware CPU %5.1f %% (+%.1f %%); %.2f exchanges/s; "
                      "per exchange %d B up in %d write(s), %d B down in %d notification(s); "
                      "air time %.0f us/s = %.3f %% radio duty for the data"
                      % (period, cpu * 100, (cpu - idle) * 100, n, per["up_bytes"], per["up_frags"],
                         per["down_bytes"], per["down_frags"], air, air / 1e4))
            for interval_ms in (30, 100, 500):
                events = 1000 / interval_ms
                print("held connection, interval %3d ms, no peripheral latency: %5.1f events/s x ~%d us "
                      "(empty packet each way + T_IFS) = %.2f %% radio duty"
                      % (interval_ms, events, 2 * EMPTY + T_IFS, events * (2 * EMPTY + T_IFS) / 1e4))
        finally:
            lock.stop()


if __name__ == "__main__":
    main()
