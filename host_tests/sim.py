"""A simulated lock in a subprocess (`simlock run`), driven from tests through its control port."""
import json
import os
import pathlib
import random
import signal
import socket
import subprocess
import sys
import threading
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
VENV_BIN = ROOT / ".venv" / "bin"
sys.path.insert(0, str(ROOT / "tools"))
from simlock.control import command, lines  # noqa: E402
from simlock.supervisor import FROZEN_IMAGE  # noqa: E402


def _ephemeral_start():
    try:
        return int(pathlib.Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def free_port_pair():
    """A port P with P+1 also free (BLE and control), below the kernel's ephemeral range: a port from that
    range, free when checked, may be the local end of the next outgoing connection before the lock binds it."""
    for _ in range(200):
        p = random.randrange(10000, max(10002, _ephemeral_start() - 2), 2)
        try:
            with socket.socket() as a, socket.socket() as b:
                a.bind(("127.0.0.1", p))
                b.bind(("127.0.0.1", p + 1))
            return p
        except OSError:
            continue
    raise RuntimeError("no free port pair")


# The board's security timers, shortened for tests (boards/sim/board.py reads them from the environment):
# a test would otherwise wait a minute for pairing mode to close and 30 s for the first code lockout.
# A person's simulator (`make sim`) and the README's quick start test use the board's own values.
TEST_TIMERS = {"PAIRING_TIMEOUT_MS": 20000, "FIRST_LOCKOUT_MS": 5000}


class SimLock:
    def __init__(self, flash, build=None, heap=None, port=None, frozen=False, timers=TEST_TIMERS):
        """`heap` None: the simulator's own default; `frozen`: the board-like image of `make frozen`;
        `timers`: the board's security timers (None: the board's own, as `make sim` runs)."""
        if frozen:
            assert FROZEN_IMAGE.exists(), "no frozen image at %s: run `make frozen`" % FROZEN_IMAGE
        self.flash = pathlib.Path(flash)
        options = []
        if heap:
            options += ["--heap", heap]
        if build:
            options += ["--build", str(build)]
        if frozen:
            options.append("--frozen")
        env = dict(os.environ)
        for name in TEST_TIMERS:
            env.pop("SIMLOCK_" + name, None)
        env.update({"SIMLOCK_" + k: str(v) for k, v in (timers or {}).items()})
        # A port found free may be taken by another test's process before the simulator binds it: a simulator
        # that exits before it is ready on a port this helper picked is started again on another pair.
        for attempt in range(3):
            self.port = port or free_port_pair()
            self.control = self.port + 1
            self.output = []
            self.proc = subprocess.Popen([str(VENV_BIN / "simlock"), "run", "--flash", str(self.flash), "--port",
                                          str(self.port)] + options,
                                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
            self._ready = threading.Event()
            threading.Thread(target=self._read, daemon=True).start()
            try:
                self.wait_ready()
                return
            except AssertionError:
                if port or self.proc.poll() is None or "in use" not in self.log() or attempt == 2:
                    self.stop()  # never leave a simulator running behind a failed start
                    raise
            except BaseException:
                self.stop()
                raise

    def _read(self):
        for line in self.proc.stdout:
            self.output.append(line)
            if line.strip() == "ready":
                self._ready.set()

    def wait_ready(self, timeout=30):
        deadline = time.monotonic() + timeout
        while not self._ready.wait(0.2):
            if self.proc.poll() is not None:
                time.sleep(0.2)  # let the reader take the last lines
                raise AssertionError("the simulated lock exited (%s) before it was ready:\n%s"
                                     % (self.proc.returncode, self.log()))
            if time.monotonic() > deadline:
                raise AssertionError("simulated lock not ready within %ss:\n%s" % (timeout, self.log()))
        self._ready.clear()

    def log(self):
        return "".join(self.output[-80:])

    def bench(self, text, timeout=60):
        reply = command(self.control, text, timeout=timeout)
        return reply

    def record(self, seconds):
        return list(lines(self.control, "record %s" % seconds, timeout=seconds + 30))

    def state(self):
        return self.bench("state")

    def run_lockctl(self, identity, *args, timeout=60):
        """`lockctl --json` as the device in `identity` against this lock; the finished process."""
        return subprocess.run([str(VENV_BIN / "lockctl"), "--sim", "127.0.0.1:%d" % self.port, "--identity",
                               str(identity), "--json", *args], capture_output=True, text=True, timeout=timeout)

    def lockctl(self, identity, *args):
        """(0, reply) or (exit code, error line)."""
        r = self.run_lockctl(identity, *args)
        return r.returncode, (json.loads(r.stdout) if r.returncode == 0 else r.stderr.strip())

    def wait_for(self, predicate, timeout=15, what="condition"):
        deadline = time.monotonic() + timeout
        while True:
            s = self.state()
            if predicate(s):
                return s
            if time.monotonic() > deadline:
                raise AssertionError("timed out waiting for %s; last state %s\n%s" % (what, s, self.log()))
            time.sleep(0.05)

    def wait_lock(self, state, timeout=15):
        return self.wait_for(lambda s: s["lock"] == state, timeout, "lock state %r" % state)

    def close_pairing(self):
        """A lock with no devices opens pairing mode at every boot; a short press ends it.
        Returns the states (before, after) the press."""
        self.wait_for(lambda s: s["pairing"], timeout=10, what="pairing mode open on a lock with no devices")
        before = self.state()
        # A finger lifted and pressed again within the button's debounce (30 ms) is one press held on: right
        # after a `button hold` the press must come as a person's would, a moment later.
        time.sleep(0.3)
        self.bench("button press")
        return before, self.wait_for(lambda s: not s["pairing"], what="pairing mode closed")

    def crashes(self):
        """The firmware's tracebacks so far: it reboots after one (as a watchdog would), so a test that only
        watches the lock's state could miss it."""
        return [line for line in self.output if line.startswith("fw| ") and "Traceback" in line]

    def boots(self):
        """How many times the firmware has booted (a crash reboots it, as a watchdog would)."""
        return sum(1 for line in self.output if line.strip() == "ready")

    def power_cycle(self):
        assert self.bench("power off")["ok"]
        assert self.bench("power on")["ok"]
        self.wait_ready()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


SESSION_CODE = "135790"


def whole_session(lock, phone, with_phone=True):
    """The RAM gate's scenario on a factory-new lock: boot and calibration; then, `with_phone`, setting it up
    with a phone (`lockctl setup`, the identity file `phone`) and unlock/lock/unlock from it; lock/unlock by the button; a status read from the
    phone. Raises AssertionError at the first step that does not work."""
    lock.wait_for(lambda s: s["lock"] in ("locked", "unlocked"), timeout=60, what="calibrated at first boot")
    if with_phone:
        lock.wait_for(lambda s: s["pairing"], timeout=10, what="pairing mode on a lock with no devices")
        rc, out = lock.lockctl(phone, "setup", "--code", SESSION_CODE, "--name", "phone")
        assert rc == 0, out
        lock.wait_for(lambda s: not s["pairing"], timeout=10, what="pairing mode closed after the pairing")
        for action in ("unlock", "lock", "unlock"):
            rc, out = lock.lockctl(phone, action)
            assert rc == 0, out
            lock.wait_lock(action + "ed")
    else:
        lock.close_pairing()
    for _ in range(2):
        was = lock.state()["lock"]
        lock.bench("button press")
        lock.wait_lock("unlocked" if was == "locked" else "locked")
    if with_phone:
        rc, status = lock.lockctl(phone, "status")
        assert rc == 0, status
        assert status["state"] == lock.state()["lock"], status
