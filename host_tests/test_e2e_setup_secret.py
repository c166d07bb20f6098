"""End to end on the simulated lock, over its radio, with the lockctl command: a lock provisioned with a
setup secret (the file deploy tooling writes) is set up only by whoever types that secret."""
import sys

import mpy

sys.path.insert(0, str(mpy.ROOT / "tools"))
from lockctl import client  # noqa: E402

CODE = "482916"
SECRET = bytes.fromhex("8f1e2d3c4b5a69788796a5b4c3d2e1f0")


def test_a_provisioned_lock_is_set_up_with_its_secret_only(simlock, tmp_path):
    flash = tmp_path / "flash"
    flash.mkdir()
    (flash / "setup").write_bytes(client.setup_secret_record(SECRET))
    lock = simlock(flash=flash)
    lock.wait_for(lambda s: s["pairing"], timeout=30, what="pairing mode on a lock with no devices")
    phone = tmp_path / "phone.json"
    rc, err = lock.lockctl(phone, "setup", "--code", CODE, "--name", "owner")
    assert rc == 1 and "setup secret" in err and "\n" not in err
    rc, err = lock.lockctl(phone, "setup", "--code", CODE, "--name", "owner",
                           "--setup-secret", client.format_setup_secret(bytes(16)))
    assert rc == 1 and "wrong setup secret" in err
    assert not phone.exists()
    rc, out = lock.lockctl(phone, "setup", "--code", CODE, "--name", "owner",
                           "--setup-secret", client.format_setup_secret(SECRET).lower())
    assert rc == 0 and out["admin"], out
    rc, status = lock.lockctl(phone, "status")
    assert rc == 0 and status["code_set"] and status["devices"] == 1
