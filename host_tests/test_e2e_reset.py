"""A factory reset is all or nothing, even when the power is cut half way through it."""

CODE = "112233"


def test_a_power_cut_during_a_factory_reset_still_ends_factory_new(simlock, tmp_path):
    flash = tmp_path / "flash"
    lock = simlock(flash=flash, calibrated=True)
    phone = tmp_path / "phone.json"
    lock.wait_for(lambda s: s["pairing"], timeout=10, what="pairing mode")
    assert lock.lockctl(phone, "setup", "--code", CODE, "--name", "owner")[0] == 0
    lock.stop()
    # The reset had written its marker and the power went before it got through the files.
    (flash / "wiping").write_bytes(b"")
    again = simlock(flash=flash)
    s = again.wait_for(lambda s: s["lock"] is not None, what="boot")
    assert s["lock"] in ("uncalibrated", "calibrating"), "the calibration went with the rest"
    again.wait_for(lambda s: s["pairing"], timeout=30, what="a factory-new lock waiting for its first phone")
    rc, err = again.lockctl(phone, "status")
    assert rc != 0 and "not paired" in err
    assert not (flash / "wiping").exists()
