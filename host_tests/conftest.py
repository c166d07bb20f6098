import sys
import pathlib

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).parent))
import mpy as _mpy  # noqa: E402


class _MicroPython:
    """Fixture object: `.run(code)` -> stdout, `.json(code)` -> last line decoded."""
    run = staticmethod(_mpy.run)
    json = staticmethod(_mpy.run_json)
    ROOT = _mpy.ROOT
    VECTORS = _mpy.VECTORS


@pytest.fixture
def micropython():
    return _MicroPython()
