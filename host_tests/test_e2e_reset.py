"""A factory reset is all or nothing, even when the power is cut half way through it."""
import json
import subprocess

from sim import VENV_BIN

CODE = "112233"


def lockctl(lock, ident, *args):
    r = subprocess.run([str(VENV_BIN / "lockctl"), "--sim", "127.0.0.1:%d" % lock.port, "--identity", str(ident),
                        "--json", *args], capture_output=True, text=True, timeout=60)
    return r.returncode, (json.loads(r.stdout) if r.returncode == 0 else r.stderr.strip())


def test_a_power_cut_during_a_factory_reset_still_ends_factory_new(simlock, tmp_path):
    flash = tmp_path / "flash"
    lock = simlock(flash=flash, calibrated=True)
    phone = tmp_path / "phone.json"
    lock.wait_for(lambda s: s["pairing"], timeout=10, what="pairing mode")
    assert lockctl(lock, phone, "pair", "--code", CODE, "--name", "owner")[0] == 0
    lock.stop()
    # The reset had written its marker and the power went before it got through the files.
    (flash / "wiping").write_bytes(b"")
    again = simlock(flash=flash)
    s = again.wait_for(lambda s: s["lock"] is not None, what="boot")
    assert s["lock"] in ("uncalibrated", "calibrating"), "the calibration went with the rest"
    again.wait_for(lambda s: s["pairing"], timeout=30, what="a factory-new lock waiting for its first phone")
    rc, err = lockctl(again, phone, "status")
    assert rc != 0 and "not paired" in err
    assert not (flash / "wiping").exists()
