import shutil
import sys
import pathlib

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).parent))
import mpy as _mpy  # noqa: E402
import sim as _sim  # noqa: E402
from simlock.mpybuild import build_board  # noqa: E402
from simlock.supervisor import BOARD_DIR, MPY_CROSS, door_file  # noqa: E402


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
def firmware_build(tmp_path_factory):
    """The firmware and boards/sim compiled by mpy-cross once per test process, what `simlock run` compiles
    afresh at every start: each simulated lock then boots in well under a second instead of running one
    mpy-cross process per module (many seconds on a loaded machine). `simlock run` without --build is still
    tested on its own (test_quickstart, test_live_view_starts_on_a_fresh_checkout)."""
    out = tmp_path_factory.mktemp("firmware") / "sim"
    errors = build_board(MPY_CROSS, out, BOARD_DIR)
    assert not errors, "mpy-cross failed:\n" + errors
    return out


@pytest.fixture(scope="session")
def calibrated_flash(tmp_path_factory, firmware_build):
    """A flash (and door) of a lock that has learnt its door: copied by `simlock(calibrated=True)` so that
    tests about something else skip the first boot's calibration."""
    flash = tmp_path_factory.mktemp("template") / "flash"
    lock = _sim.SimLock(flash, build=firmware_build)
    try:
        lock.wait_for(lambda s: s["lock"] in ("locked", "unlocked"), timeout=60, what="template calibrated")
    finally:
        lock.stop()
    return flash


@pytest.fixture
def simlock(tmp_path, request):
    """Start simulated locks: `simlock()` boots a factory-new lock in a temp flash dir (it calibrates first),
    `simlock(calibrated=True)` one that already knows its door, `simlock(flash=...)` an existing flash,
    `simlock(build=...)` another mpy-cross build (default: this session's `firmware_build`),
    `simlock(frozen=True)` the board-like image of `make frozen`; `heap=` overrides the simulator's default; all are stopped after the test."""
    started = []

    def start(flash=None, build=None, heap=None, calibrated=False, frozen=False):
        flash = flash or tmp_path / ("flash%d" % len(started))
        if calibrated:
            template = request.getfixturevalue("calibrated_flash")
            shutil.copytree(template, flash, ignore=shutil.ignore_patterns("*.tmp"))
            shutil.copy(door_file(template), door_file(flash))
        if build is None and not frozen:
            build = request.getfixturevalue("firmware_build")
        lock = _sim.SimLock(flash, build=build, heap=heap, frozen=frozen)
        started.append(lock)
        return lock

    yield start
    for lock in started:
        lock.stop()
    for lock in started:
        assert not lock.crashes(), "the firmware crashed:\n" + lock.log()


@pytest.fixture
def calibrated_lock(simlock):
    """A lock that knows its door, at rest: for tests of what comes after the first boot's calibration."""
    lk = simlock(calibrated=True)
    lk.wait_for(lambda s: s["lock"] in ("locked", "unlocked"), timeout=60, what="calibrated")
    yield lk
    print(lk.log())      # shown by pytest when the test failed
