"""The RAM gate: the firmware frozen into the 32-bit Unix port (`make frozen`, built like an ESP32 image: bytecode
and names in ROM, 4-byte objects) runs a whole session in a 40 KiB heap. Every feature must keep passing it."""
import subprocess

from sim import ROOT, whole_session
from simlock.supervisor import FROZEN_IMAGE

GATE_HEAP = "40k"  # an ESP32 gives the firmware about 56 KB at start: the gate keeps a margin below it


def test_a_whole_session_runs_in_40k_on_the_frozen_image(simlock, tmp_path):
    lock = simlock(frozen=True, heap=GATE_HEAP)
    assert not lock.flash.with_name(lock.flash.name + ".mpy").exists(), "nothing is loaded from files"
    # boot, calibration, pairing a phone, lock/unlock from it and by the button, a status read
    whole_session(lock, tmp_path / "phone.json")
    # One boot: an out-of-memory failure reboots the board (as a watchdog would) and might go unseen.
    assert lock.boots() == 1, lock.log()
    assert not lock.crashes(), lock.log()


def test_the_frozen_image_holds_the_firmware_and_the_board():
    # Frozen by boards/sim/manifest.py: the firmware, the simulated board and its radio under micropython-lib's
    # aioble, and asyncio (the manifest replaces the variant's own). Nothing else is needed on the path.
    out = subprocess.run([str(FROZEN_IMAGE), "-c", "help('modules')"], env={"MICROPYPATH": ".frozen"},
                         capture_output=True, text=True, timeout=30).stdout.split()
    firmware = ROOT / "firmware"
    expected = {"main", "board", "bluetooth", "aioble/__init__", "aioble/server", "asyncio/__init__"}
    expected |= {"lock/" + p.stem for p in (firmware / "lock").glob("*.py")}
    assert expected <= set(out), sorted(expected - set(out))
