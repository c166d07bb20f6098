"""Compile firmware and a board folder with mpy-cross into one flat tree, as it would sit on the board."""
import argparse
import pathlib
import subprocess
import sys


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--mpy-cross", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("roots", nargs="+")
    args = ap.parse_args()
    out = pathlib.Path(args.out)
    failed = 0
    for root in map(pathlib.Path, args.roots):
        for src in sorted(root.rglob("*.py")):
            rel = src.relative_to(root)
            if rel.name == "manifest.py":
                continue  # build recipe for the freezer, not firmware
            dst = out / rel.with_suffix(".mpy")
            dst.parent.mkdir(parents=True, exist_ok=True)
            r = subprocess.run([args.mpy_cross, "-o", str(dst), "-s", str(rel), str(src)],
                               capture_output=True, text=True)
            if r.returncode:
                failed += 1
                sys.stderr.write(r.stderr or r.stdout)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
