"""Compile firmware and a board folder with mpy-cross into one flat tree, as it would sit on the board."""
import argparse
import pathlib
import subprocess
import sys


def build(mpy_cross, out, roots):
    """Compile every module under `roots` into `out`; return the error text ("" when all compiled)."""
    out = pathlib.Path(out)
    errors = []
    for root in map(pathlib.Path, roots):
        for src in sorted(root.rglob("*.py")):
            rel = src.relative_to(root)
            if rel.name == "manifest.py":
                continue  # build recipe for the freezer, not firmware
            dst = out / rel.with_suffix(".mpy")
            dst.parent.mkdir(parents=True, exist_ok=True)
            r = subprocess.run([str(mpy_cross), "-o", str(dst), "-s", str(rel), str(src)],
                               capture_output=True, text=True)
            if r.returncode:
                errors.append(r.stderr or r.stdout)
    return "".join(errors)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--mpy-cross", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("roots", nargs="+")
    args = ap.parse_args()
    errors = build(args.mpy_cross, args.out, args.roots)
    sys.stderr.write(errors)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
