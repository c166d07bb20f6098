# The shell: wires the pure core to the board's drivers: one control loop for the hardware, the BLE service
# beside it.
# Rules live in the core modules; this file only moves values between them and the hardware.
import asyncio
import json
import os

from . import clock, store, ble
from . import ring as ring_pattern
from .bolt import Bolt
from .battery import Battery
from .button import Button
from .pairmode import PairMode

from micropython import const

VERSION = "0.1.0"

_TICK_MS = const(10)           # the drive and the button
_STATUS_MS = const(50)
_BATTERY_MS = const(1000)

_CALIBRATION_FILE = "calibration"
_SETTINGS_FILE = "settings"
# A lock the bolt owes (lock'n'go, auto-relock): {"ms": wait}, present only while one is owed. The wait is
# stored, never a deadline: the clock restarts at 0 after a reset, and the lock cannot tell how long it was
# off, so at boot an unlocked bolt waits the stored time again (docs/SECURITY.md "Power cuts ...").
_RELOCK_FILE = "relock"
_WIPE_MARKER = "wiping"  # present from the start of a factory reset until its last file is gone
_SETUP_SECRET = "setup"  # provisioned at deploy time (docs/PROTOCOL.md); a factory reset keeps it
_SCHEMA = const(1)

DEFAULT_SETTINGS = {
    "auto_relock_s": 0,
    "lockngo_s": 20,
    "brightness": 96,
    "button_actions": True,
}

# Ring feedback shown when the bolt enters these states.
_FEEDBACK_ON_STATE = {"locking": "lock", "unlocking": "unlock", "unlatching": "unlatch", "jammed": "jam"}


def _load_json(path, default):
    try:
        got = store.load(path, _SCHEMA)
    except (store.CorruptError, OSError):
        # A damaged record, or one of another schema version, is treated as absent: the lock recalibrates
        # or uses defaults. (Only these two may: a security record that cannot be read fails closed.)
        got = None
    if got is None:
        return default
    try:
        return json.loads(got[1])
    except ValueError:
        return default


def stored_settings(stored):
    """The known settings of the right type in what was stored; anything else is dropped (its default
    stays), so a stored set from another firmware can never stop the lock from booting."""
    if not isinstance(stored, dict):
        return {}
    return {k: v for k, v in stored.items() if k in DEFAULT_SETTINGS and type(v) is type(DEFAULT_SETTINGS[k])}


def _save_json(path, value):
    store.save(path, _SCHEMA, json.dumps(value).encode())


class App:
    def __init__(self, board):
        self.board = board
        store.makedirs(board.FLASH_ROOT)
        os.chdir(board.FLASH_ROOT)
        if store.exists(_WIPE_MARKER):
            _finish_wipe()  # the power was cut during a factory reset: finish it, never boot half-wiped
        self.stepper = board.Stepper()
        self.sensor = board.Sensor()
        self.pixels = board.Ring()
        self.button_in = board.Button()
        self.adc = board.BatteryADC()
        self.watchdog = board.Watchdog()  # from here on, a control loop that stops ticking reboots the board
        self.settings = dict(DEFAULT_SETTINGS)
        self.settings.update(stored_settings(_load_json(_SETTINGS_FILE, {})))
        self.feedback = ("boot", 0)
        self.reset_pending = False
        self._reported = None
        self.pairmode = PairMode(board.PAIRING_TIMEOUT_MS)
        self.first_lockout_ms = board.FIRST_LOCKOUT_MS  # read by the protocol's passcode
        self.security = None  # the BLE service's protocol endpoint sets itself here
        now = clock.now_ms()
        self.battery = Battery(board.BATTERY_KIND, board.BATTERY_CELLS)
        self.battery.sample(self.adc.read_uv(), now)
        calibration = _load_json(_CALIBRATION_FILE, None)
        params = {k: getattr(board, k) for k in
                  ("MAX_SPEED", "ACCEL", "JAM_MARGIN_MS", "STEPS_PER_REV", "FULL_LOCK", "UNLATCH_HOLD_MS")}
        self._relock_saved = _load_relock(self.settings)
        self.bolt = Bolt(params, calibration, self.sensor.read(), now, self.settings, self._relock_saved)
        self.button = Button(now, self.button_in.pressed())
        if self.bolt.state == "uncalibrated":
            # A fresh install (or a stored calibration that no longer fits) learns its door at once.
            self.request("calibrate")

    def now_ms(self):
        return clock.now_ms()

    # --- what the BLE service and the button ask of the lock ---------------------------------------
    def request(self, action):
        """Ask the bolt for an action; None if accepted, else the refusal code."""
        return self.bolt.request(action, clock.now_ms(), self.sensor.read(), self.battery.critical)

    def wrong_code(self, now):
        self.feedback = ("wrong_code", now)

    def status(self):
        b = self.bolt
        now = clock.now_ms()
        sec = self.security
        pending = b.pending_lock(now)
        return {
            "lock": b.state,
            "error": b.error,
            "battery": self.battery.percent,
            "low": self.battery.low,
            "critical": self.battery.critical,
            "pairing": self.pairmode.active,
            "version": VERSION,
            # what a person watching the lock wants to see (the simulator's view): why the state was
            # entered, countdowns in whole seconds, how many devices, where the door's positions are
            "cause": b.last_cause,
            "locks_in": pending and [pending[0], (pending[1] + 999) // 1000],
            "pairing_s": max(0, self.pairmode.timeout_ms - now + self.pairmode.opened_ms + 999) // 1000
            if self.pairmode.active else 0,
            "lockout_s": (sec.lockout_ms(now) + 999) // 1000 if sec else 0,
            "devices": sec.devices.count() if sec else 0,
            "positions": b.calibration,
        }

    def set_settings(self, changes):
        new = dict(self.settings)
        new.update(changes)
        _save_json(_SETTINGS_FILE, new)  # first: a full flash raises and the lock keeps the old settings
        self.settings = new
        self.bolt.settings = new

    def _on_button(self, event, now):
        if event == "long":
            self.pairmode.enter(now)
        elif event == "short" and self.pairmode.short_press(now):
            pass  # a short press ends pairing mode, and does nothing else
        elif event == "reset_request":
            self.reset_pending = True
        elif event == "reset_cancel":
            self.reset_pending = False
        elif event == "reset_confirm":
            self.factory_reset()
        elif not self.settings["button_actions"]:
            return
        elif event == "short":
            self.request("unlock" if self.bolt.state == "locked" else "lock")
        elif event == "double":
            self.request("lockngo")

    # --- the hardware loop ------------------------------------------------------------------------
    async def _control(self):
        """Drive, button, ring, battery and status, each at its own period in one task: a task's frame
        and stack cost RAM, and they all run on the same tick anyway."""
        bolt, button, board = self.bolt, self.button, self.board
        frame_ms = 1000 // board.RING_FPS
        last = bolt.state
        powered = shown = None
        next_frame = next_status = next_battery = 0
        while True:
            self.watchdog.feed()
            now = clock.now_ms()
            n = bolt.tick(now, self.sensor.read())
            if bolt.moving != powered:
                # An idle motor is unpowered: it saves the cells and lets a hand turn the key.
                powered = bolt.moving
                self.stepper.enable(powered)
            if n:
                self.stepper.step(n)
            if bolt.state != last:
                last = bolt.state
                kind = _FEEDBACK_ON_STATE.get(last)
                if kind:
                    self.feedback = (kind, now)
                next_status = now  # at once: the state and the ring's feedback change together
            if bolt.calibration_dirty:
                _save_json(_CALIBRATION_FILE, bolt.calibration)
                bolt.calibration_dirty = False
            if bolt.relock != self._relock_saved:
                self._relock_saved = bolt.relock
                _save_relock(bolt.relock)
            for event in button.feed(now, self.button_in.pressed()) + button.poll(now):
                self._on_button(event, now)
            if now >= next_battery and not bolt.moving:  # the cells sag under the motor's load
                self.battery.sample(self.adc.read_uv(), now)
                next_battery = now + _BATTERY_MS
            if now >= next_status:  # battery and pairing mode change outside the drive too
                s = self.status()
                if s != self._reported:
                    self._reported = s
                    board.report(s)
                next_status = now + _STATUS_MS
            if now >= next_frame:
                view = {
                    "state": bolt.state,
                    "pairing": self.pairmode.active,
                    "battery_low": self.battery.low,
                    "lockout": bool(self.security and self.security.lockout_ms(now)),
                    "reset_pending": self.reset_pending,
                    "feedback": self.feedback,
                    "jammed": bolt.state == "jammed",
                }
                frame = ring_pattern.frame(view, now, board.RING_PIXELS, board.RING_UPPER,
                                           self.settings["brightness"])
                if frame != shown:
                    self.pixels.write(frame)
                    shown = frame
                next_frame = max(next_frame + frame_ms, now)  # 30 frames a second on average
            await asyncio.sleep_ms(_TICK_MS)

    def factory_reset(self):
        store.save(_WIPE_MARKER, _SCHEMA, b"")
        _finish_wipe()
        self.board.reset()

    async def run(self):
        # Returns only by raising: a lock whose drive loop or radio died must not sit there half alive.
        board = self.board
        radio = ble.Service(self, board.MAX_CONNECTIONS, board.CONNECTION_OPEN_MS, board.CONNECTION_IDLE_MS)
        await asyncio.gather(self._control(), radio.run())


def _load_relock(settings):
    """The wait a lock is still owed after a reset, or None. A damaged record owes a lock'n'go's wait:
    failing towards locked."""
    try:
        got = store.load(_RELOCK_FILE, _SCHEMA)
        return None if got is None else int(json.loads(got[1])["ms"])
    except (store.CorruptError, OSError, ValueError, KeyError, TypeError):
        return settings["lockngo_s"] * 1000


def _save_relock(ms):
    try:
        if ms is None:
            if store.exists(_RELOCK_FILE):
                os.remove(_RELOCK_FILE)
        else:
            _save_json(_RELOCK_FILE, {"ms": ms})
    except OSError as e:
        # A full or failing flash: the lock still relocks while powered; only a reset would forget it.
        print("relock record:", repr(e))


def _finish_wipe():
    for name in os.listdir():
        if name != _WIPE_MARKER and name != _SETUP_SECRET:
            _wipe(name)
    os.remove(_WIPE_MARKER)


def _wipe(path):
    try:
        names = os.listdir(path)
    except OSError:
        os.remove(path)
        return
    for name in names:
        _wipe(path + "/" + name)
    os.rmdir(path)
