"""Runs the firmware in a MicroPython child process wired to the simulated world; survives its power cuts."""
import json
import os
import pathlib
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time

from .world import ROOT, World
from . import bench, mpybuild

MICROPYTHON = pathlib.Path(sys.prefix) / "bin" / "micropython"
MPY_CROSS = pathlib.Path(sys.prefix) / "bin" / "mpy-cross"
# `make frozen`: the Unix port built 32-bit with the firmware and boards/sim frozen in, like an ESP32 image.
FROZEN_IMAGE = ROOT / "build" / "frozen" / "unix32" / "micropython"
# The simulated chip's RAM, the one place it is set (docs/DESIGN.md "RAM"; `make bench` prints the figures).
# The PyPI port is 64-bit and loads every module's bytecode and names into its heap, which no board does: it
# gets whatever it needs, with margin. The frozen image gets what an ESP32 gives the firmware at start.
DEFAULT_HEAP = "144k"
FROZEN_HEAP = "56k"
BOARD_DIR = ROOT / "boards" / "sim"


class NoFrozenImage(Exception):
    def __str__(self):
        return "no frozen image at %s: build it with `make frozen`" % FROZEN_IMAGE.relative_to(ROOT)


def door_file(flash):
    """The door's physical state (bolt position, cells) is kept beside the flash dir: it is not flash."""
    flash = pathlib.Path(flash)
    return flash.parent / (flash.name + ".door.json")


class Supervisor:
    def __init__(self, flash, port=7760, build=None, heap=None, log=None, frozen=False):
        """`frozen`: boot the `make frozen` image (its own modules, nothing loaded from files) instead of the
        PyPI port running an mpy-cross build (`build`, or the sources compiled afresh)."""
        if frozen and not FROZEN_IMAGE.exists():
            raise NoFrozenImage()
        self.flash = pathlib.Path(flash).resolve()
        self.flash.mkdir(parents=True, exist_ok=True)
        self.port = port
        self.frozen = frozen
        self.micropython = FROZEN_IMAGE if frozen else MICROPYTHON
        self.build = pathlib.Path(build).resolve() if build else self.flash.parent / (self.flash.name + ".mpy")
        if not build and not frozen:
            # The board runs compiled modules (frozen or .mpy), so the simulator does too: same RAM use.
            shutil.rmtree(self.build, ignore_errors=True)
            errors = mpybuild.build_board(MPY_CROSS, self.build, BOARD_DIR)
            if errors:
                raise RuntimeError("mpy-cross failed:\n" + errors)
        self.heap = heap or (FROZEN_HEAP if frozen else DEFAULT_HEAP)
        self.log = log if log is not None else sys.stderr
        self.world = World(state_file=door_file(self.flash))
        self.world.listeners.append(self._forward)
        self.child = None
        self.powered_at = None
        self.bus = None
        self.bus_lock = threading.Lock()
        self.ready = threading.Event()
        self.closing = False

    # --- bus: the board's drivers on the other end -------------------------------------------------
    def _serve_bus(self):
        while not self.closing:
            try:
                conn, _ = self.bus_listener.accept()
            except OSError:
                return
            threading.Thread(target=self._bus_session, args=(conn,), daemon=True).start()

    def _bus_session(self, conn):
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # a bus read is a round trip: no batching
        with self.bus_lock:
            self.bus = conn
        self._send(dict(self.world.inputs(), hello=True))
        try:
            self._bus_messages(conn)
        except OSError:
            pass  # the board's power was cut mid-message: its end of the bus is gone, as a wire would be
        with self.bus_lock:
            if self.bus is conn:
                self.bus = None

    def _bus_messages(self, conn):
        for line in conn.makefile("r", encoding="utf-8"):
            try:
                msg = json.loads(line)
            except ValueError:
                continue
            if "step" in msg:
                self.world.motor_steps(int(msg["step"]))
            elif "ring" in msg:
                self.world.set_ring([tuple(p) for p in msg["ring"]])
            elif "status" in msg:
                self.world.set_firmware(msg["status"])
            elif "read" in msg:
                # A sensor read: answered after every step sent before it, like a bus read on the board.
                self._send({"sensor": self.world.position, "read": msg["read"]})
            elif msg.get("reset"):
                threading.Thread(target=self.reboot, daemon=True).start()

    def _send(self, msg):
        with self.bus_lock:
            if self.bus is None:
                return
            try:
                self.bus.sendall((json.dumps(msg) + "\n").encode())
            except OSError:
                pass

    def _forward(self, change):
        inputs = {k: v for k, v in change.items() if k in ("sensor", "button", "uv")}
        if inputs:
            self._send(inputs)

    # --- power --------------------------------------------------------------------------------------
    def power_on(self):
        if self.child is not None or self.closing:
            return False
        env = dict(os.environ)
        # Frozen: only the image's own modules, never a stray source or .mpy on the path.
        env.update(MICROPYPATH=".frozen" if self.frozen else str(self.build) + ":.frozen",
                   SIMLOCK_BUS=str(self.bus_port),
                   SIMLOCK_BLE_PORT=str(self.port), SIMLOCK_FLASH=str(self.flash))
        self.ready.clear()
        self.powered_at = time.monotonic()
        self.child = subprocess.Popen([str(self.micropython), "-X", "heapsize=" + self.heap, "-m", "main"],
                                      cwd=self.flash, env=env, stdout=subprocess.PIPE,
                                      stderr=subprocess.STDOUT, text=True)
        threading.Thread(target=self._pump, args=(self.child,), daemon=True).start()
        threading.Thread(target=self._await_ready, args=(self.child,), daemon=True).start()
        return True

    def power_off(self):
        child, self.child = self.child, None
        if child is None:
            return False
        child.send_signal(signal.SIGKILL)
        child.wait()
        self.powered_at = None
        self.ready.clear()
        self.world.set_ring([])
        self.world.set_firmware({})
        return True

    def reboot(self):
        self.power_off()
        self.power_on()

    def _pump(self, child):
        for line in child.stdout:
            self.log.write("fw| " + line)
            self.log.flush()
        code = child.wait()
        if self.child is child:
            self.log.write("fw| firmware exited with code %d\n" % code)
            self.log.flush()

    def _await_ready(self, child):
        # Ready = the lock's radio accepts centrals.
        while self.child is child and child.poll() is None:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                self.ready.set()
                print("ready", flush=True)
                return
            except OSError:
                time.sleep(0.05)

    def uptime_ms(self):
        return None if self.powered_at is None else int((time.monotonic() - self.powered_at) * 1000)

    # --- lifecycle ----------------------------------------------------------------------------------
    def start(self):
        self.bus_listener = socket.create_server(("127.0.0.1", 0))
        self.bus_port = self.bus_listener.getsockname()[1]
        threading.Thread(target=self._serve_bus, daemon=True).start()
        self.control = bench.serve(self, self.port + 1)
        self.power_on()

    def stop(self):
        self.closing = True
        self.power_off()
        self.control.shutdown()
        self.control.server_close()
        self.bus_listener.close()
