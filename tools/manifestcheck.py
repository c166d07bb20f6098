"""Check every board's manifest (boards/*/manifest.py) with MicroPython's own manifest tool, as the port's build
would run it: every path resolves inside this repository (or MicroPython's tree), `require()` finds its package
in the vendored micropython-lib, and the image holds the whole firmware (main, board, every lock module, aioble).

Usage: python3 tools/manifestcheck.py [--micropython DIR] [MANIFEST...]   (default: every board's)
The port's own default manifest (`$(PORT_DIR)/boards/manifest.py`, which brings asyncio and the port's drivers)
is checked to exist, not run: the trimmed MicroPython copy lacks the rest of micropython-lib it requires.
"""
import argparse
import os
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]


def port_of(board_dir):
    """The MicroPython port a board builds with: the simulator is the Unix port, boards are named after theirs."""
    if board_dir.name == "sim":
        return "unix"
    # The ESP32-S3 (and C3...) build in ports/esp32 too: esp32s3_devkitc is an esp32-port board
    return "esp32" if board_dir.name.startswith("esp32") else board_dir.name.split("_")[0]


def frozen_files(manifest, micropython):
    """{path in the image: source file} as the port's build would freeze them; ManifestFileError if it cannot."""
    sys.path.insert(0, str(micropython / "tools"))
    import manifestfile

    manifest = pathlib.Path(manifest).resolve()
    port_dir = micropython / "ports" / port_of(manifest.parent)

    class BoardManifest(manifestfile.ManifestFile):
        def include(self, manifest_path, is_require=False, **kwargs):
            if isinstance(manifest_path, str):
                resolved = pathlib.Path(self._resolve_path(manifest_path))
                if resolved == port_dir / "boards" / "manifest.py":
                    if not resolved.exists():
                        raise manifestfile.ManifestFileError("no port manifest %s" % resolved)
                    return
            super().include(manifest_path, is_require, **kwargs)

    m = BoardManifest(manifestfile.MODE_FREEZE, {
        "MPY_DIR": str(micropython), "MPY_LIB_DIR": str(micropython / "lib" / "micropython-lib"),
        "PORT_DIR": str(port_dir), "BOARD_DIR": str(manifest.parent)})
    cwd = os.getcwd()
    try:
        m.execute(str(manifest))
    finally:
        os.chdir(cwd)
    return {f.target_path: pathlib.Path(f.full_path).resolve() for f in m.files()}


def check(manifest, micropython, root=ROOT):
    """The problems with one manifest of the repository at `root`, as lines (empty: it is fine)."""
    manifest = pathlib.Path(manifest).resolve()
    sys.path.insert(0, str(micropython / "tools"))
    import manifestfile
    try:
        frozen = frozen_files(manifest, micropython)
    except manifestfile.ManifestFileError as e:
        return [str(e)]
    problems = ["%s comes from outside the repository and MicroPython: %s" % (target, path)
                for target, path in sorted(frozen.items())
                if not (path.is_relative_to(root) or path.is_relative_to(micropython))]
    expected = {"main.py": root / "firmware" / "main.py", "board.py": manifest.parent / "board.py"}
    expected.update({"lock/" + p.name: p for p in (root / "firmware" / "lock").glob("*.py")})
    for target, source in sorted(expected.items()):
        if frozen.get(target) != source:
            problems.append("%s is not frozen from %s" % (target, source.relative_to(root)))
    if not ({"aioble.py", "aioble/__init__.py"} & set(frozen)):
        problems.append("aioble is not frozen")
    return problems


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--micropython", default=os.environ.get("MICROPY_DIR") or str(ROOT.parent / "shared" / "micropython"),
                    help="MicroPython's source tree (default: $MICROPY_DIR, else ../shared/micropython)")
    ap.add_argument("manifests", nargs="*", help="default: boards/*/manifest.py")
    args = ap.parse_args(argv)
    micropython = pathlib.Path(args.micropython).resolve()
    if not (micropython / "tools" / "manifestfile.py").exists():
        print("manifestcheck: no MicroPython source at %s: set MICROPY_DIR (README, \"The frozen build\")"
              % micropython, file=sys.stderr)
        return 2
    manifests = args.manifests or sorted(str(p) for p in (ROOT / "boards").glob("*/manifest.py"))
    failed = 0
    for manifest in manifests:
        problems = check(manifest, micropython)
        name = os.path.relpath(manifest, ROOT)
        print("%s: %s" % (name, "ok" if not problems else "FAILED"))
        for p in problems:
            print("  " + p)
        failed += bool(problems)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
