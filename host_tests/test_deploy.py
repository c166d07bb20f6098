"""`make deploy/flash/repl/logs` without a board: each prints the commands it would run (no PORT, or
DRY_RUN=1), and those commands are ones the pinned mpremote and esptool accept."""
import os
import subprocess

import pytest

from mpy import ROOT

VENV = ROOT / ".venv" / "bin"


def make(*args):
    env = dict(os.environ)
    for k in ("PORT", "DRY_RUN", "FIRMWARE", "BOARD", "MAKEFLAGS", "MAKELEVEL"):
        env.pop(k, None)
    r = subprocess.run(["make", "-s", "--no-print-directory", *args], cwd=ROOT, env=env, capture_output=True,
                       text=True, timeout=300)
    lines = [line for line in r.stdout.splitlines() if not line.startswith("WARNING")]
    return r.returncode, lines, r.stderr


@pytest.mark.parametrize("board,driver", [("esp32_devkitc", "uln2003"), ("esp32s3_devkitc", "stepdir")])
def test_deploy_copies_the_compiled_build_installs_aioble_and_resets(board, driver):
    rc, lines, err = make("deploy", "BOARD=" + board, "PORT=/dev/ttyUSB0", "DRY_RUN=1")
    assert rc == 0, err
    mp = ".venv/bin/mpremote connect /dev/ttyUSB0 "
    assert lines == [
        mp + "fs touch :/maintenance + reset",  # restart with the lock held: no watchdog during the copy
        "sleep 3",
        mp + "fs cp -r build/%s/lock build/%s/drivers build/%s/board.mpy :" % (board, board, board),
        mp + "fs cp firmware/main.py :main.py",
        mp + "mip install aioble-core aioble-peripheral aioble-server",
        ".venv/bin/python -m lockctl.provision --port /dev/ttyUSB0 --root /data",  # test_provision.py
        mp + "fs rm :/maintenance + reset",
    ]
    build = ROOT / "build" / board
    for f in ("board.mpy", "lock/app.mpy", "lock/ble.mpy", "drivers/%s.mpy" % driver, "drivers/as5600.mpy"):
        assert (build / f).is_file(), f
    assert (build / "board.mpy").read_bytes()[:1] == b"M"  # an .mpy file, as mpy-cross wrote it


def test_without_a_port_commands_are_printed_not_run():
    rc, lines, _ = make("repl")
    assert rc == 0 and lines == [".venv/bin/mpremote connect <PORT> repl"]
    rc, lines, _ = make("resume")
    assert rc == 0 and lines == [".venv/bin/mpremote connect <PORT> fs rm :/maintenance + reset"]
    rc, lines, _ = make("logs", "PORT=/dev/ttyACM0", "DRY_RUN=1")
    assert lines == [".venv/bin/mpremote connect /dev/ttyACM0 resume repl --capture lock-console.log"]


@pytest.mark.parametrize("board,chip,offset", [("esp32_devkitc", "esp32", "0x1000"),
                                               ("esp32s3_devkitc", "esp32s3", "0x0")])
def test_flash_erases_and_writes_micropython_at_the_chips_offset(board, chip, offset):
    rc, lines, err = make("flash", "BOARD=" + board, "PORT=/dev/ttyUSB0", "DRY_RUN=1", "FIRMWARE=mp.bin")
    assert rc == 0, err
    tool = ".venv/bin/esptool --chip %s --port /dev/ttyUSB0 " % chip
    assert lines == [tool + "erase-flash", tool + "--baud 460800 write-flash %s mp.bin" % offset]


def test_flash_and_deploy_refuse_what_cannot_work():
    rc, lines, _ = make("flash", "BOARD=esp32_devkitc", "PORT=/dev/ttyUSB0", "DRY_RUN=1")
    assert rc == 2 and "FIRMWARE=" in lines[0] and "micropython.org/download" in lines[0]
    rc, lines, _ = make("flash", "BOARD=esp32_devkitc", "PORT=/dev/ttyUSB0", "FIRMWARE=/nonexistent.bin")
    assert rc == 2 and lines == ["no such file: /nonexistent.bin"]
    rc, lines, _ = make("deploy", "BOARD=sim")
    assert rc == 2 and "not an ESP32 board" in lines[0]


@pytest.mark.parametrize("cmd,needs", [
    (["mpremote", "fs", "--help"], "--recursive"),
    (["mpremote", "fs", "--help"], "touch"),
    (["mpremote", "mip", "--help"], "install"),
    (["mpremote", "repl", "--help"], "--capture"),
    (["esptool", "write-flash", "--help"], "<address> <filename>"),
    (["esptool", "erase-flash", "--help"], "erase"),
    (["esptool", "--help"], "--baud"),
])
def test_the_pinned_tools_take_these_commands(cmd, needs):
    r = subprocess.run([str(VENV / cmd[0])] + cmd[1:], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and needs in r.stdout + r.stderr, r.stdout + r.stderr
