"""The simulated door: the physical things that outlive a power cut of the lock's processor."""
import ast
import json
import pathlib
import threading
import time

ROOT = pathlib.Path(__file__).resolve().parents[2]
WORLD_FILE = ROOT / "boards" / "sim" / "world.json"
HAND_GRIP_S = 0.05  # a hand that turned the key within this long still holds it


def board_constant(name, path=ROOT / "boards" / "sim" / "board.py"):
    """A constant of the simulated board (boards/sim/board.py), read without running MicroPython code."""
    for node in ast.parse(pathlib.Path(path).read_text()).body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == name for t in node.targets):
            return ast.literal_eval(node.value)
    raise KeyError(name)


def load_physics(path=WORLD_FILE):
    return {k: v for k, v in json.loads(pathlib.Path(path).read_text()).items() if not k.startswith("_")}


class World:
    """Cylinder, jam, battery, button and ring. Thread-safe; `listeners` hear every change."""

    def __init__(self, physics=None, state_file=None):
        self.physics = physics or load_physics()
        self.lock = threading.RLock()
        self.state_file = state_file
        self.position = self.physics["start_position"]
        self.volts = self.physics["battery_volts"]
        self._restore()
        self.jammed = False
        self.button = False
        self.ring = []
        self.firmware = {}
        self.listeners = []
        self._step_budget = 0.0
        self._step_clock = time.monotonic()
        self._hand_until = 0.0

    # The door keeps its position between `simlock run`s, as a real door would.
    def _restore(self):
        if self.state_file and self.state_file.exists():
            try:
                saved = json.loads(self.state_file.read_text())
                self.position = int(saved["position"])
                self.volts = float(saved["volts"])
            except (ValueError, KeyError):
                pass

    def _persist(self):
        if self.state_file:
            tmp = self.state_file.with_suffix(".tmp")
            tmp.write_text(json.dumps({"position": self.position, "volts": self.volts}))
            tmp.replace(self.state_file)

    def _emit(self, **change):
        for fn in list(self.listeners):
            fn(change)

    def _clamp(self, pos):
        return max(self.physics["stop_locked"], min(self.physics["stop_unlatch"], pos))

    def motor_steps(self, n):
        """The motor tries to move n steps: a jam or a hard stop eats them, so do steps beyond its real rate."""
        with self.lock:
            now = time.monotonic()
            rate = self.physics["motor_max_pps"]
            self._step_budget = min(rate * 0.05, self._step_budget + (now - self._step_clock) * rate)
            self._step_clock = now
            # A jam holds the bolt; a hand on the key holds the motor (it slips rather than turn the hand).
            held = self.jammed or now < self._hand_until
            moved = 0 if held else int(min(abs(n), max(0.0, self._step_budget)))
            self._step_budget -= moved
            self._move(n // abs(n) * moved if n else 0)

    def _move(self, delta):
        new = self._clamp(self.position + delta)
        if new != self.position:
            self.position = new
            self._persist()
            self._emit(sensor=new)

    def hand_turn(self, delta):
        """Someone turns the key: a hand is stronger than the motor but not than a jam."""
        with self.lock:
            if self.jammed:
                return False
            self._hand_until = time.monotonic() + HAND_GRIP_S
            self._move(delta)
            return True

    def set_button(self, down):
        with self.lock:
            self.button = bool(down)
        self._emit(button=int(self.button))

    def set_volts(self, volts):
        with self.lock:
            self.volts = float(volts)
            self._persist()
        self._emit(uv=self.uv())

    def set_jam(self, on):
        with self.lock:
            self.jammed = bool(on)

    def set_ring(self, pixels):
        with self.lock:
            if pixels == self.ring:
                return
            self.ring = pixels
        self._emit(ring=pixels)

    def set_firmware(self, status):
        with self.lock:
            old = self.firmware.get("lock")
            self.firmware = status
        if status.get("lock") != old:
            self._emit(lock=status.get("lock"))

    def uv(self):
        return int(round(self.volts * 1e6))

    def inputs(self):
        with self.lock:
            return {"sensor": self.position, "button": int(self.button), "uv": self.uv()}
