"""The host side of tools/testlock.py: a whole lock minus radio and motor under MicroPython, on a pipe.

Shared by the fuzzer (tools/fuzz.py) and the power-cut torture (tools/torture.py).
"""
from __future__ import annotations

import binascii
import functools
import json
import os
import pathlib
import signal
import subprocess
import sys
import threading

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
from lockctl import wire  # noqa: E402
from simlock import mpybuild  # noqa: E402

PAIR, COMMAND = 0, 1
CHANNELS = {"pair": PAIR, "cmd": COMMAND}
ITERATIONS = 1000    # PBKDF2 rounds of the code's verifier: the least lockctl accepts (the lock uses 2000)
HEAP = "256k"


@functools.lru_cache(maxsize=None)
def _libraries() -> str:
    """The board's micropython-lib modules (aioble), built once per run rather than checked at every boot."""
    return str(mpybuild.board_libraries(ROOT / "boards" / "sim"))


class LockDied(Exception):
    """The MicroPython process ended (exit code in .code) before it answered."""

    def __init__(self, code: int | None, stderr: str):
        super().__init__("the lock process exited with %s\n%s" % (code, stderr[-2000:]))
        self.code = code
        self.stderr = stderr


class TestLock:
    """One boot of the lock on the flash directory `flash`; `seed` makes its random numbers repeatable."""

    def __init__(self, flash: str | os.PathLike, seed: bytes, iterations: int = ITERATIONS,
                 firmware: str | None = None):
        paths = [firmware or str(ROOT / "firmware"), str(ROOT / "boards" / "sim"), _libraries(), ".frozen"]
        env = dict(os.environ, MICROPYPATH=":".join(paths))
        self.p = subprocess.Popen(
            [str(ROOT / ".venv" / "bin" / "micropython"), "-X", "heapsize=" + HEAP, str(ROOT / "tools" / "testlock.py"),
             str(pathlib.Path(flash).resolve()), binascii.hexlify(seed).decode() or "00", str(iterations)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        # A handle on this very process (Linux): a kill from another thread can race our own reaping of it,
        # and a bare pid, once reaped, may already name another process (pids wrap at 32768 here).
        # The handle is closed with the pipes, under a lock: a late kill must not hit a reused descriptor.
        self._handle = threading.Lock()
        try:
            self.pidfd: int | None = os.pidfd_open(self.p.pid)
        except (AttributeError, OSError):   # not Linux: the pid, as Popen.kill has it
            self.pidfd = -1
        self.printed: list[str] = []    # what the firmware printed (not answers)

    def line(self, text: str) -> str:
        """Send one command line; the answer without its "= " mark."""
        assert self.p.stdin and self.p.stdout
        try:
            self.p.stdin.write(text + "\n")
            self.p.stdin.flush()
        except BrokenPipeError:
            raise self._died() from None
        while True:
            out = self.p.stdout.readline()
            if not out:
                raise self._died()
            if out.startswith("= "):
                return out[2:].rstrip("\n")
            self.printed.append(out.rstrip("\n"))

    def _died(self) -> LockDied:
        code = self.p.wait()
        return LockDied(code, self.p.stderr.read() if self.p.stderr else "")

    def send(self, who: str, channel: int, msg: bytes) -> str:
        """A whole message: the reply in hex, or "!..." if an exception escaped the endpoint."""
        return self.line("M %s %d %s" % (who, channel, msg.hex()))

    def fragments(self, who: str, channel: int, frags: list[bytes]) -> list[str]:
        """Fragments in order (one round trip): for each, the reply in hex, "-" (nothing completed) or "!..."."""
        out: list[str] = []
        for i in range(0, len(frags), 32):     # short lines: the lock's heap holds each one
            part = frags[i:i + 32]
            got = self.line("F %s %d %s" % (who, channel, " ".join(f.hex() or "." for f in part))).split(" ")
            out += got if len(got) == len(part) else ["!" + "_".join(got)] * len(part)
        return out

    def snapshot(self) -> dict:
        out = self.line("S")
        if not out.startswith("{"):
            raise LockDied(None, "the snapshot failed: %s\n%s" % (out, "\n".join(self.printed[-5:])))
        return json.loads(out)

    def written(self) -> int:
        return int(self.line("W"))

    def power_cut(self) -> None:
        """SIGKILL, safe from any thread at any time (the torture's timer): it reaches this process or none."""
        with self._handle:
            if self.pidfd == -1:
                self.p.kill()
            elif self.pidfd is not None:    # None: closed, the process reaped
                try:
                    signal.pidfd_send_signal(self.pidfd, signal.SIGKILL)
                except ProcessLookupError:  # it has exited already
                    pass

    def kill(self) -> None:
        if self.p.poll() is None:
            self.power_cut()
        self.p.wait()
        self._close_pipes()

    def close(self) -> None:
        if self.p.poll() is None:
            try:
                self.line("Q")
            except LockDied:
                pass
            self.p.wait()
        self._close_pipes()

    def _close_pipes(self) -> None:
        with self._handle:
            if self.pidfd is not None and self.pidfd >= 0:
                os.close(self.pidfd)
            self.pidfd = None
        for f in (self.p.stdin, self.p.stdout, self.p.stderr):
            try:
                if f:
                    f.close()
            except OSError:
                pass


class PipeTransport:
    """lockctl's transport interface onto a TestLock connection `who`; `fragment_size` sends every message
    through the lock's wire.Reassembler in fragments of that size."""

    def __init__(self, lock: TestLock, who: str, fragment_size: int = 0):
        self.lock, self.who, self.size = lock, who, fragment_size

    def exchange(self, channel: str, message: bytes) -> bytes:
        ch = CHANNELS[channel]
        if not self.size:
            out = self.lock.send(self.who, ch, message)
        else:
            out = self.lock.fragments(self.who, ch, wire.fragments(message, self.size))[-1]
        if out.startswith("!") or out == "-":
            raise wire.LockError(wire.E_INTERNAL, out.encode())
        return bytes.fromhex(out)

    def close(self) -> None:
        self.lock.line("D " + self.who)
