import shutil
import sys
import pathlib

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).parent))
import mpy as _mpy  # noqa: E402
import sim as _sim  # noqa: E402
from simlock.supervisor import door_file  # noqa: E402


class _MicroPython:
    """Fixture object: `.run(code)` -> stdout, `.json(code)` -> last line decoded."""
    run = staticmethod(_mpy.run)
    json = staticmethod(_mpy.run_json)
    ROOT = _mpy.ROOT
    VECTORS = _mpy.VECTORS


@pytest.fixture
def micropython():
    return _MicroPython()


@pytest.fixture(scope="session")
def calibrated_flash(tmp_path_factory):
    """A flash (and door) of a lock that has learnt its door: copied by `simlock(calibrated=True)` so that
    tests about something else skip the first boot's calibration."""
    flash = tmp_path_factory.mktemp("template") / "flash"
    lock = _sim.SimLock(flash)
    try:
        lock.wait_for(lambda s: s["lock"] in ("locked", "unlocked"), timeout=60, what="template calibrated")
    finally:
        lock.stop()
    return flash


@pytest.fixture
def simlock(tmp_path, request):
    """Start simulated locks: `simlock()` boots a factory-new lock in a temp flash dir (it calibrates first),
    `simlock(calibrated=True)` one that already knows its door, `simlock(flash=...)` an existing flash,
    `simlock(build=...)` an mpy-cross build, `simlock(frozen=True)` the board-like image of `make frozen`;
    `heap=` overrides the simulator's default; all are stopped after the test."""
    started = []

    def start(flash=None, build=None, heap=None, calibrated=False, frozen=False):
        flash = flash or tmp_path / ("flash%d" % len(started))
        if calibrated:
            template = request.getfixturevalue("calibrated_flash")
            shutil.copytree(template, flash, ignore=shutil.ignore_patterns("*.tmp"))
            shutil.copy(door_file(template), door_file(flash))
        lock = _sim.SimLock(flash, build=build, heap=heap, frozen=frozen)
        started.append(lock)
        return lock

    yield start
    for lock in started:
        lock.stop()
    for lock in started:
        assert not lock.crashes(), "the firmware crashed:\n" + lock.log()
