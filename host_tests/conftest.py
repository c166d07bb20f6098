import sys
import pathlib

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).parent))
import mpy as _mpy  # noqa: E402
import sim as _sim  # noqa: E402


class _MicroPython:
    """Fixture object: `.run(code)` -> stdout, `.json(code)` -> last line decoded."""
    run = staticmethod(_mpy.run)
    json = staticmethod(_mpy.run_json)
    ROOT = _mpy.ROOT
    VECTORS = _mpy.VECTORS


@pytest.fixture
def micropython():
    return _MicroPython()


@pytest.fixture
def simlock(tmp_path):
    """Start simulated locks: `simlock()` boots one from sources in a temp flash dir, `simlock(build=...)`
    from an mpy-cross build, `simlock(flash=...)` on an existing flash; all are stopped after the test."""
    started = []

    def start(flash=None, build=None, heap=_sim.DEFAULT_HEAP):
        lock = _sim.SimLock(flash or tmp_path / ("flash%d" % len(started)), build=build, heap=heap)
        started.append(lock)
        return lock

    yield start
    for lock in started:
        lock.stop()
