"""Every board's manifest, run by MicroPython's own manifest tool (tools/manifestcheck.py): what a port's build
freezes is the whole firmware, from inside this repository, with aioble from the vendored micropython-lib."""
import pathlib
import shutil
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import manifestcheck  # noqa: E402

MICROPYTHON = (ROOT.parent / "shared" / "micropython").resolve()
BOARDS = sorted(p.parent.name for p in (ROOT / "boards").glob("*/manifest.py"))


@pytest.mark.parametrize("board", BOARDS)
def test_board_manifest_freezes_the_whole_firmware(board):
    assert manifestcheck.check(ROOT / "boards" / board / "manifest.py", MICROPYTHON) == []


@pytest.fixture
def scratch_board(tmp_path):
    """make(text): a copy of this repository's firmware and simulated board in tmp_path, with this manifest."""
    shutil.copytree(ROOT / "firmware", tmp_path / "firmware")
    board = tmp_path / "boards" / "sim"
    board.mkdir(parents=True)
    shutil.copy(ROOT / "boards" / "sim" / "board.py", board / "board.py")

    def make(text):
        (board / "manifest.py").write_text(text)
        return manifestcheck.check(board / "manifest.py", MICROPYTHON, root=tmp_path)
    return make


def test_a_manifest_reaching_outside_the_repository_fails(scratch_board):
    # What boards/esp32_devkit/manifest.py used to say: the firmware "next to MicroPython".
    problems = scratch_board('module("board.py")\nrequire("aioble")\n'
                             'package("lock", base_path="$(MPY_DIR)/../firmware")\n'
                             'module("main.py", base_path="$(MPY_DIR)/../firmware")\n')
    assert len(problems) == 1 and "No such file or directory" in problems[0], problems
    # Or, where that path exists, from another checkout than the one being built.
    problems = scratch_board('module("board.py")\nrequire("aioble")\n'
                             'package("lock", base_path=%r)\nmodule("main.py", base_path=%r)\n'
                             % (str(ROOT / "firmware"), str(ROOT / "firmware")))
    assert "main.py comes from outside the repository and MicroPython: %s" % (ROOT / "firmware" / "main.py") \
        in problems


def test_a_manifest_missing_a_firmware_module_fails(scratch_board):
    lock = sorted(p.name for p in (ROOT / "firmware" / "lock").glob("*.py"))
    assert scratch_board('module("board.py")\nrequire("aioble")\n'
                         'package("lock", base_path="../../firmware")\n'
                         'module("main.py", base_path="../../firmware")\n') == []
    problems = scratch_board('module("board.py")\nrequire("aioble")\n'
                             'package("lock", files=%r, base_path="../../firmware")\n'
                             'module("main.py", base_path="../../firmware")\n' % lock[1:])
    assert problems == ["lock/%s is not frozen from firmware/lock/%s" % (lock[0], lock[0])]


def test_esp32_manifests_take_aioble_from_the_vendored_micropython_lib():
    esp32 = [b for b in BOARDS if manifestcheck.port_of(ROOT / "boards" / b) == "esp32"]
    assert esp32, "at least one ESP32 board"
    for board in esp32:
        assert manifestcheck.check(ROOT / "boards" / board / "manifest.py", MICROPYTHON) == []
        frozen = manifestcheck.frozen_files(ROOT / "boards" / board / "manifest.py", MICROPYTHON)
        assert frozen["aioble/__init__.py"].is_relative_to(MICROPYTHON / "lib" / "micropython-lib")
