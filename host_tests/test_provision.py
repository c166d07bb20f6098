"""`make deploy`'s setup secret (tools/lockctl/provision.py) against a stand-in mpremote whose board is a
folder: a new lock gets a random secret in the record format the firmware reads, printed as text and QR
code; a lock that has one keeps it; a dry run prints the commands; a missing board is a clear error."""
import json
import os
import subprocess
import sys

from mpy import ROOT, FIRMWARE

FAKE_MPREMOTE = ROOT / "host_tests" / "fakes" / "bin" / "mpremote"
sys.path.insert(0, str(ROOT / "tools"))
from lockctl.client import parse_setup_secret, setup_secret_record  # noqa: E402
from lockctl.provision import qr_text  # noqa: E402


def provision(board, *args, gone=False):
    env = dict(os.environ, FAKE_BOARD=str(board))
    if gone:
        env["FAKE_BOARD_GONE"] = "1"
    r = subprocess.run([sys.executable, "-m", "lockctl.provision", "--port", "/dev/ttyUSB0",
                        "--mpremote", str(FAKE_MPREMOTE), *args], capture_output=True, text=True, env=env,
                       cwd=ROOT / "tools", timeout=60)
    return r.returncode, r.stdout, r.stderr


def test_a_new_lock_gets_a_secret_the_firmware_reads(tmp_path, micropython):
    board = tmp_path / "board"
    board.mkdir()
    rc, out, err = provision(board)
    assert rc == 0, err
    lines = out.splitlines()
    text = lines[lines.index("") + 1].strip()
    secret = parse_setup_secret(text)
    record = (board / "data" / "setup").read_bytes()
    assert record == setup_secret_record(secret)
    assert qr_text(text) in out  # the QR code holds exactly the printed text
    assert "setup --setup-secret %s" % text in out
    # what the lock's pairing reads (firmware/lock/pairing.py: store.load(ROOT + "/setup", 1, 16))
    got = micropython.json("import json\nfrom lock import store\nv, b = store.load(%r, 1, 16)\n"
                           "print(json.dumps([v, b.hex()]))" % str(board / "data" / "setup"), path=(FIRMWARE,))
    assert got == [1, secret.hex()]
    # a second lock gets another secret
    other = tmp_path / "other"
    other.mkdir()
    provision(other)
    assert (other / "data" / "setup").read_bytes() != record


def test_a_lock_with_a_secret_keeps_it(tmp_path):
    board = tmp_path / "board"
    (board / "data").mkdir(parents=True)
    (board / "data" / "calibration").write_bytes(b"x")
    assert provision(board)[0] == 0
    first = (board / "data" / "setup").read_bytes()
    rc, out, _ = provision(board, "--json")
    assert rc == 0 and json.loads(out) == {"secret": None, "created": False, "dry_run": False}
    assert (board / "data" / "setup").read_bytes() == first
    rc, out, _ = provision(board)
    assert "already has a setup secret: kept" in out


def test_dry_run_prints_the_commands_and_touches_nothing(tmp_path):
    board = tmp_path / "board"
    board.mkdir()
    rc, out, _ = provision(board, "--dry-run")
    assert rc == 0
    lines = out.splitlines()
    assert lines[0] == "%s connect /dev/ttyUSB0 fs ls :/data" % FAKE_MPREMOTE
    assert lines[1] == "%s connect /dev/ttyUSB0 fs mkdir :/data" % FAKE_MPREMOTE
    assert lines[2].startswith("%s connect /dev/ttyUSB0 fs cp " % FAKE_MPREMOTE)
    assert lines[2].endswith(" :/data/setup")
    assert not os.path.exists(lines[2].split()[-2])  # the record's temporary file is gone
    assert list(board.iterdir()) == [] and not (tmp_path / "board.log").exists()


def test_no_board_is_a_clear_error_without_a_traceback(tmp_path):
    board = tmp_path / "board"
    board.mkdir()
    rc, out, err = provision(board, gone=True)
    assert rc == 1 and "Traceback" not in out + err
    assert err.startswith("provision: `fs mkdir :/data` failed: mpremote: failed to access")
    rc, out, _ = provision(board, "--json", gone=True)
    assert rc == 1 and "failed to access" in json.loads(out)["error"]
