"""The simulator as a person meets it: a hold of the threshold always counts, a busy port is one line, a power
cut mid-motion leaves no traceback on the screen, and the view shows what lasts within 80 columns."""
import os
import socket
import subprocess
import sys

from mpy import ROOT
from sim import TEST_TIMERS, VENV_BIN, free_port_pair

sys.path.insert(0, str(ROOT / "tools"))
from simlock.view import View, WIDTH, visible  # noqa: E402
from simlock.world import load_physics  # noqa: E402

CODE = "975310"


def test_a_hold_of_exactly_the_threshold_opens_pairing_mode_every_time(simlock):
    lock = simlock(calibrated=True)
    lock.close_pairing()
    for attempt in range(4):
        assert lock.bench("button hold 5")["ok"]
        assert lock.wait_for(lambda s: True)["pairing"], "hold %d of 5 s did not open pairing mode" % attempt
        lock.close_pairing()


def test_a_busy_port_is_one_line(tmp_path):
    port = free_port_pair()
    with socket.socket() as held:
        held.bind(("127.0.0.1", port + 1))
        held.listen()
        r = subprocess.run([str(VENV_BIN / "simlock"), "run", "--flash", str(tmp_path / "flash"), "--port",
                            str(port)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 1 and r.stdout == ""
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "port %d is in use" % (port + 1) in lines[0] and "make sim PORT=" in lines[0], r.stderr
    assert not (tmp_path / "flash").exists(), "nothing started"


def test_a_power_cut_during_a_motion_prints_no_traceback(simlock):
    lock = simlock(calibrated=True)
    lock.close_pairing()
    for _ in range(3):
        start = lock.state()["lock"]
        lock.bench("button press")
        lock.wait_for(lambda s: s["lock"] in ("locking", "unlocking"), what="moving")
        lock.power_cycle()
        lock.wait_for(lambda s: s["lock"] in ("locked", "unlocked"), timeout=30, what="at rest")
        assert lock.state()["lock"] in ("locked", "unlocked"), start
        lock.close_pairing()
    simulator = [line for line in lock.output if not line.startswith("fw| ")]
    assert not [line for line in simulator if "Traceback" in line or "Exception in thread" in line], \
        "".join(simulator)


def state(**fw):
    """A bench `state` reply as the view gets it."""
    base = {"lock": "unlocked", "error": None, "battery": 96, "low": False, "critical": False, "pairing": True,
            "version": "0.1.0", "cause": "request", "locks_in": ["auto_relock", 12], "pairing_s": 43,
            "lockout_s": 25, "devices": 3,
            "positions": {"fulllock": -394, "locked": -6, "unlocked": 394, "unlatch": 494}}
    base.update(fw)
    return {"ok": True, "power": "on", "lock": base["lock"], "error": base["error"], "position": 394,
            "ring": [[0, 0, 96]] * 16, "battery": {"volts": 6.2, "percent": 96, "low": False, "critical": False},
            "pairing": base["pairing"], "jam": False, "button": False, "uptime_ms": 123456, "firmware": base}


def test_the_view_shows_what_lasts_in_80_columns():
    view = View(load_physics(), 16, 65530)   # the longest port
    view.lines(state(lock="locked", cause="boot", devices=2, lockout_s=0, locks_in=None))
    lines = [visible(line) for line in view.lines(state())]
    assert all(len(line) <= WIDTH for line in lines), [line for line in lines if len(line) > WIDTH]
    text = "\n".join(lines)
    assert "\u2026" not in text, "nothing had to be cut"
    for shown in ("lockout   25 s (too many wrong codes)", "locks     auto-relock in 12 s",
                  "pairing   open, closes in 43 s", "devices   3 paired", "unlocked  (asked by a phone",
                  "unlocked (asked by a phone or the button)", "a device paired (3 now)",
                  "code lockout: too many wrong codes"):
        assert shown in text, (shown, text)
    assert "lock'n'go in 4 s" in "\n".join(visible(x) for x in view.lines(state(locks_in=["lockngo", 4])))
    # the bar: hard stops at the ends, the learnt locked position inside, not at the stop
    at = [i for i, line in enumerate(lines) if "stop |" in line][0]
    bar, marks = lines[at], lines[at + 1]
    left, right = bar.index("|"), bar.rindex("|")
    assert bar[left + 1:right].index("\u2588") > (right - left) // 2, "the bolt at 394 of -400..500"
    assert left < marks.index("F") < marks.index("L") < marks.index("U") < marks.index("N") < right
    assert marks.index("L") - left > (right - left) // 3, "locked is well inside the travel, not at the stop"
    assert "None" not in text


def test_the_lock_reports_countdowns_and_devices_for_the_view(simlock, tmp_path):
    lock = simlock(calibrated=True)
    fw = lock.wait_for(lambda s: s["pairing"] and s["firmware"].get("pairing_s"), what="pairing open")["firmware"]
    assert fw["devices"] == 0 and 0 < fw["pairing_s"] <= TEST_TIMERS["PAIRING_TIMEOUT_MS"] // 1000
    assert fw["positions"]["locked"] < 0
    env = dict(os.environ, XDG_CONFIG_HOME=str(tmp_path))
    lockctl = [str(VENV_BIN / "lockctl"), "--sim", "127.0.0.1:%d" % lock.port]
    subprocess.run(lockctl + ["setup", "--code", CODE], env=env, check=True, capture_output=True, timeout=60)
    subprocess.run(lockctl + ["settings", "--auto-relock", "30", "--code", CODE], env=env, check=True,
                   capture_output=True, timeout=60)
    subprocess.run(lockctl + ["unlock"], env=env, check=True, capture_output=True, timeout=60)
    fw = lock.wait_for(lambda s: s["firmware"].get("locks_in"), what="the auto-relock countdown")["firmware"]
    assert fw["devices"] == 1 and fw["locks_in"][0] == "auto_relock" and 20 < fw["locks_in"][1] <= 30
