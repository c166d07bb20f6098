"""Give a lock on a serial port its setup secret (docs/PROTOCOL.md, "The setup secret record"), as
`make deploy` does: 16 random bytes written to <root>/setup with mpremote, then printed for the owner as
text and as a QR code. A lock that already has one keeps it: the secret is the lock's label, and the owner
may have set the lock up with it already (a factory reset keeps it too).

    python -m lockctl.provision --port /dev/ttyUSB0 [--root /data] [--dry-run] [--json]

The board must be in maintenance mode (`make maintenance`), or its watchdog may reset it mid-way.
"""
import argparse
import io
import json
import os
import pathlib
import secrets
import shlex
import subprocess
import sys
import tempfile

import segno

from .client import SETUP_SECRET_LEN, format_setup_secret, setup_secret_record

MPREMOTE = pathlib.Path(sys.prefix) / "bin" / "mpremote"


class ProvisionError(Exception):
    """What went wrong, and what to do."""


def qr_text(text):
    """`text` as a QR code drawn with block characters (two rows per line), for a terminal."""
    out = io.StringIO()
    segno.make(text, error="m").terminal(out=out, compact=True)
    return out.getvalue()


class Board:
    """mpremote against one port; with dry_run each command is printed instead of run (and answers nothing)."""

    def __init__(self, mpremote, port, dry_run, say):
        self.base = [str(mpremote), "connect", port]
        self.dry_run = dry_run
        self.say = say

    def run(self, *args, check=True):
        cmd = self.base + list(args)
        if self.dry_run:
            self.say(shlex.join(cmd))
            return ""
        try:
            r = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
        except (OSError, subprocess.TimeoutExpired) as e:
            raise ProvisionError("could not run mpremote (%s): run `make setup`, check the port" % e)
        if check and r.returncode:
            raise ProvisionError("`%s` failed: %s" % (" ".join(args), (r.stderr or r.stdout).strip()[-300:]))
        return r.stdout if r.returncode == 0 else None

    def listing(self, path):
        """The names in the board's folder `path`; None if there is no such folder (or in a dry run)."""
        out = self.run("fs", "ls", ":" + path, check=False)
        if not out:
            return None
        # mpremote prints "ls :/data" and then one "<size> <name>" per entry
        return [line.split()[-1].rstrip("/") for line in out.splitlines()[1:] if line.strip()]


def provision(board, root, rng=secrets.token_bytes):
    """Write a new secret to <root>/setup unless one is there: (secret text or None if kept, created)."""
    names = board.listing(root)
    if names is not None and "setup" in names:
        return None, False
    secret = rng(SETUP_SECRET_LEN)
    fd, tmp = tempfile.mkstemp(prefix="setup-", suffix=".rec")  # owner-only, removed at once
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(setup_secret_record(secret))
        if names is None:
            board.run("fs", "mkdir", ":" + root)
        board.run("fs", "cp", tmp, ":%s/setup" % root)
    finally:
        os.unlink(tmp)
    return format_setup_secret(secret), True


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m lockctl.provision", description=__doc__.split("\n\n")[0])
    ap.add_argument("--port", required=True, help="the board's serial port, e.g. /dev/ttyUSB0")
    ap.add_argument("--root", default="/data", help="the lock's flash folder (the board's FLASH_ROOT)")
    ap.add_argument("--dry-run", action="store_true", help="print the mpremote commands instead of running them")
    ap.add_argument("--json", action="store_true", help="one JSON object: {secret, created} or {error}")
    ap.add_argument("--mpremote", default=str(MPREMOTE), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    board = Board(args.mpremote, args.port, args.dry_run, print)
    try:
        text, created = provision(board, args.root)
    except ProvisionError as e:
        if args.json:
            print(json.dumps({"error": str(e)}))
        else:
            print("provision: %s" % e, file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps({"secret": text, "created": created, "dry_run": args.dry_run}))
    elif args.dry_run:
        print("(dry run: a new setup secret would be written and printed here)")
    elif not created:
        print("This lock already has a setup secret: kept (it is the one printed when it was first deployed).")
    else:
        print("Setup secret of this lock (write it on a label inside the lock's cover; it is shown only now):")
        print()
        print("    " + text)
        print()
        print(qr_text(text), end="")
        print("Set the lock up with: lockctl --ble ADDRESS setup --setup-secret %s --code NNNNNN --name my-phone"
              % text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
