"""lockctl as a product: actions report their outcome with an exit code, --json output keeps its schema, and
every error a person can run into is one line saying what to do next, never a traceback."""
import json
import os
import subprocess
import sys
import time

import jsonschema
import pytest

from mpy import ROOT
from sim import VENV_BIN, TEST_TIMERS

sys.path.insert(0, str(ROOT / "tools"))
from lockctl import identity, schemas  # noqa: E402
from lockctl.cli import EXIT_JAMMED, EXIT_REFUSED, EXIT_TIMEOUT, EXIT_USAGE  # noqa: E402

CODE = "482615"
LOCKCTL = str(VENV_BIN / "lockctl")


def run(*args, env=None, input=None):
    r = subprocess.run([LOCKCTL, *args], capture_output=True, text=True, timeout=90, env=env, input=input)
    return r


def one_line(r, *words):
    """A failure: nothing on stdout, one `lockctl: ...` line on stderr containing every word."""
    assert r.returncode != 0 and r.stdout == "", (r.returncode, r.stdout, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("lockctl: "), r.stderr
    assert "Traceback" not in r.stderr and "Error:" not in r.stderr and "errno" not in r.stderr.lower(), r.stderr
    for w in words:
        assert w in lines[0], (w, lines[0])
    return lines[0]


def checked(command, r):
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    jsonschema.validate(out, schemas.BY_COMMAND[command])
    return out


@pytest.fixture
def owned(simlock, tmp_path):
    """A calibrated lock, set up by this client (its own config dir); (lock, env, lockctl args prefix)."""
    lock = simlock(calibrated=True)
    lock.wait_for(lambda s: s["pairing"] and s["lock"] == "locked", timeout=30, what="a new lock, locked")
    env = dict(os.environ, XDG_CONFIG_HOME=str(tmp_path / "config"))
    paired = checked("setup", run("--sim", "127.0.0.1:%d" % lock.port, "--json", "setup", "--code", CODE,
                                  "--name", "owner", env=env))
    assert paired["admin"] and paired["lock"] == "lock"
    yield lock, env
    print(lock.log())


def test_actions_report_their_outcome_and_exit_codes(owned):
    lock, env = owned
    # "already locked" is a success, and says so
    r = run("lock", env=env)
    assert r.returncode == 0 and r.stdout.strip() == "already locked", r.stderr
    assert checked("lock", run("--json", "lock", env=env)) == {"action": "lock", "outcome": "already",
                                                                "state": "locked"}
    # unlock returns once the bolt has arrived
    out = checked("unlock", run("--json", "unlock", env=env))
    assert out == {"action": "unlock", "outcome": "done", "state": "unlocked"}
    assert lock.state()["lock"] == "unlocked", "lockctl returned only when the bolt was there"
    # a timeout: the unlatch (pull, hold, return) takes longer than 0.3 s
    r = run("unlatch", "--timeout", "0.3", env=env)
    assert r.returncode == EXIT_TIMEOUT
    one_line(r, "no outcome within 0.3 s", "lockctl status")
    lock.wait_lock("unlocked")
    # a refusal: the lock will not unlatch on a critical battery
    assert lock.bench("battery 4.0")["ok"]
    lock.wait_for(lambda s: s["battery"]["critical"], timeout=10, what="battery critical")
    r = run("unlatch", env=env)
    assert r.returncode == EXIT_REFUSED
    one_line(r, "refused", "battery")
    assert lock.bench("battery 6.2")["ok"]
    # a jam: the bolt cannot move; lockctl says so and what to do
    assert lock.bench("jam on")["ok"]
    r = run("lock", env=env)
    assert r.returncode == EXIT_JAMMED
    one_line(r, "jammed", "free it")
    assert lock.bench("jam off")["ok"]
    status = checked("status", run("--json", "status", env=env))
    assert status["jammed"] and status["error"] == "jam"
    r = run("status", env=env)
    assert "jammed: " in r.stdout and "None" not in r.stdout
    assert checked("lock", run("--json", "lock", env=env))["state"] == "locked"
    assert lock.state()["lock"] == "locked"
    # --no-wait: the old behaviour, the lock only accepted
    assert checked("unlock", run("--json", "unlock", "--no-wait", env=env))["outcome"] == "accepted"
    lock.wait_lock("unlocked")


def test_read_commands_json_schemas_and_human_output(owned):
    lock, env = owned
    status = checked("status", run("--json", "status", env=env))
    assert status["state"] == "locked" and status["devices"] == 1 and status["code_set"]
    assert status["time"] > 1_600_000_000, "the admin session set the lock's clock"
    devices = checked("devices", run("--json", "devices", env=env))
    assert [d["name"] for d in devices] == ["owner"] and devices[0]["admin"]
    assert abs(devices[0]["created"] - time.time()) < 120, "paired before the clock was set, dated once it was"
    settings = checked("settings", run("--json", "settings", env=env))
    assert settings["auto_relock_s"] == 0
    locks = checked("locks", run("--json", "locks", env=env))
    assert [(x["lock"], x["address"]) for x in locks] == [("lock", "sim:127.0.0.1:%d" % lock.port)]
    checked("scan", run("--sim", "127.0.0.1:%d" % lock.port, "--json", "scan", env=env))
    # for people: words and units, no Python values
    text = run("status", env=env).stdout
    assert text.splitlines()[0] == "state: locked"
    assert "battery: 96 %" in text and "None" not in text and "False" not in text, text
    assert "lock's clock: 20" in text, "the clock as a local date"
    text = run("devices", env=env).stdout
    assert "owner" in text and "paired 20" in text, text


def test_a_second_lock_is_picked_by_name(owned, simlock, tmp_path):
    lock, env = owned
    cabin = simlock(calibrated=True)
    cabin.wait_for(lambda s: s["pairing"], timeout=30, what="a new lock in pairing mode")
    assert run("--sim", "127.0.0.1:%d" % cabin.port, "--lock", "cabin", "setup", "--code", CODE, env=env).returncode == 0
    names = [x["lock"] for x in checked("locks", run("--json", "locks", env=env))]
    assert names == ["cabin", "lock"]
    one_line(run("status", env=env), "knows 2 locks", "--lock NAME")
    assert checked("unlock", run("--lock", "cabin", "--json", "unlock", env=env))["state"] == "unlocked"
    assert cabin.state()["lock"] == "unlocked" and lock.state()["lock"] == "locked"
    one_line(run("--lock", "attic", "status", env=env), "no lock named 'attic'", "lockctl locks")


def test_the_old_identity_file_is_kept_as_the_first_lock(tmp_path):
    env = dict(os.environ, XDG_CONFIG_HOME=str(tmp_path))
    old = tmp_path / "lockctl" / "identity.json"
    identity.save(old, "sim:127.0.0.1:1", 7, bytes(32), "me", True)
    locks = checked("locks", run("--json", "locks", env=env))
    assert [(x["lock"], x["device_id"]) for x in locks] == [("lock", 7)]
    assert not old.exists() and (tmp_path / "lockctl" / "locks" / "lock.json").exists()


def test_errors_are_one_line_with_the_next_step(owned, tmp_path):
    lock, env = owned
    sim = "127.0.0.1:%d" % lock.port
    # the control port mistaken for the lock
    one_line(run("--sim", "127.0.0.1:%d" % lock.control, "--lock", "other", "setup", "--code", CODE, env=env),
             "control port", "the lock's radio is %s" % sim)
    # not in pairing mode: how to open it
    one_line(run("--sim", sim, "--lock", "second", "pair", "--code", CODE, env=env),
             "not in pairing mode", "hold its button 5 s", "simlock button hold 6")
    # out of range, checked before anything is sent
    r = run("settings", "--auto-relock", "5000", "--code", CODE, env=env)
    assert r.returncode == EXIT_USAGE
    one_line(r, "--auto-relock must be 0..3600 s")
    one_line(run("settings", "--lockngo", "2", "--code", CODE, env=env), "--lockngo must be 5..600 s")
    # argument errors are one line too
    one_line(run("settings", "--auto-relock", "soon", env=env), "invalid int value", "--help")
    one_line(run("--sim", "nowhere", "status", env=env), "--sim takes HOST:PORT")
    # a wrong code says what to do
    one_line(run("settings", "--auto-relock", "5", "--code", "000000", env=env), "wrong security code",
             "check the code")
    # no code and no terminal to ask on
    one_line(run("settings", "--auto-relock", "5", env=env, input=""), "--code CODE")


def test_errors_without_a_lock(tmp_path):
    env = dict(os.environ, XDG_CONFIG_HOME=str(tmp_path))
    one_line(run("status", env=env), "not paired with any lock yet", "setup")
    one_line(run("--sim", "127.0.0.1:9", "setup", "--code", "123456", env=env), "no lock answers", "make sim")
    one_line(run("--sim", "127.0.0.1:9", "setup", "--code", "12345", env=env), "6 digits")
    identity.save(tmp_path / "lockctl" / "locks" / "lock.json", "sim:127.0.0.1:9", 1, bytes(32), "me", True)
    one_line(run("status", env=env), "no lock answers at 127.0.0.1:9")
    (tmp_path / "lockctl" / "locks" / "lock.json").write_text("{not json")
    one_line(run("status", env=env), "damaged", "pair this device again")
    # no Bluetooth stack here (no BlueZ): bleak's own failure becomes one line
    one_line(run("--ble", "AA:BB:CC:DD:EE:FF", "--lock", "ble", "setup", "--code", "123456", env=env),
             "Bluetooth")
    # bleak not installed
    code = ("import sys; sys.modules['bleak'] = None; sys.path.insert(0, %r); from lockctl.cli import main; "
            "sys.exit(main(['scan']))" % str(ROOT / "tools"))
    r = subprocess.run([str(VENV_BIN / "python"), "-c", code], capture_output=True, text=True, env=env)
    one_line(r, "Bluetooth support is not installed", "bleak")


def test_status_into_a_closed_pipe_ends_quietly(owned):
    lock, env = owned
    r = subprocess.run("%s status | head -1" % LOCKCTL, shell=True, capture_output=True, text=True, env=env,
                       timeout=60)
    assert r.stdout == "state: locked\n" and r.stderr == "", r.stderr
    # a reader that is gone before lockctl writes at all
    r = subprocess.run("%s status | true" % LOCKCTL, shell=True, capture_output=True, text=True, env=env,
                       timeout=60)
    assert r.stderr == "", r.stderr


def test_test_timers_are_the_tests_own():
    """The simulated board's security timers are the real board's; only tests shorten them."""
    board = (ROOT / "boards" / "sim" / "board.py").read_text()
    for esp32_board in ("esp32_devkitc", "esp32s3_devkitc"):
        esp32 = (ROOT / "boards" / esp32_board / "board.py").read_text()
        for name in TEST_TIMERS:
            real = [line for line in esp32.splitlines()
                    if line.startswith(name + " =")][0].split("=")[1].split("#")[0]
            assert 'os.getenv("SIMLOCK_%s") or %s)' % (name, real.strip()) in board, (esp32_board, name)


def test_every_error_the_lock_reports_says_what_to_do_next():
    from lockctl import cli, wire
    quiet = {wire.E_ACTION, wire.E_WRONG_CHANNEL}   # a refusal carries its reason; a wrong channel is a bug
    for code, text in wire.ERRORS.items():
        message, exit_code = cli.explain(wire.LockError(code))
        assert "\n" not in message and message.startswith(text)
        if code not in quiet:
            assert len(message) > len(text) + 5, (code, message)
        assert exit_code == (cli.EXIT_REFUSED if code in (wire.E_ACTION, wire.E_DENIED) else cli.EXIT_ERROR)
