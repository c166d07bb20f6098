"""What a lock's owner does from the phone beyond lock and unlock: settings (auto-relock, lock'n'go delay,
brightness, button), the full lock's second turn, and a new calibration."""
import time

CODE = "135790"


def test_owner_sets_auto_relock_and_it_survives_a_power_cut(simlock, tmp_path):
    lock = simlock(calibrated=True)
    phone = tmp_path / "phone.json"
    lock.wait_for(lambda s: s["pairing"], timeout=10, what="pairing mode on a lock with no devices")
    rc, out = lock.lockctl(phone, "setup", "--code", CODE, "--name", "owner")
    assert rc == 0, out

    rc, shown = lock.lockctl(phone, "settings")
    assert rc == 0 and shown["auto_relock_s"] == 0, shown  # off by default

    rc, err = lock.lockctl(phone, "settings", "--auto-relock", "2", "--code", "000000")
    assert rc != 0 and "\n" not in err, "a wrong code changes nothing and says why in one line"
    rc, err = lock.lockctl(phone, "settings", "--lockngo", "1", "--code", CODE)
    assert rc != 0 and "--lockngo must be 5..600 s" in err, "out of range is refused, naming the range"
    assert lock.lockctl(phone, "settings")[1] == shown

    rc, now = lock.lockctl(phone, "settings", "--auto-relock", "2", "--brightness", "40", "--code", CODE)
    assert rc == 0 and now["auto_relock_s"] == 2 and now["brightness"] == 40

    lock.power_cycle()
    assert lock.lockctl(phone, "settings")[1] == now, "settings are kept in flash"

    if lock.state()["lock"] != "locked":
        assert lock.lockctl(phone, "lock")[0] == 0
        lock.wait_lock("locked")
    assert lock.lockctl(phone, "unlock")[0] == 0
    unlocked = lock.wait_lock("unlocked")
    assert max(p for px in unlocked["ring"] for p in px) <= 40, "the ring uses the set brightness"
    t0 = time.monotonic()
    lock.wait_lock("locking", timeout=10)
    waited = time.monotonic() - t0
    assert 1.0 <= waited <= 4.0, "relocks about 2 s after coming to rest unlocked (%.1f s)" % waited
    lock.wait_lock("locked")


def test_button_actions_can_be_turned_off(simlock, tmp_path):
    lock = simlock(calibrated=True)
    phone = tmp_path / "phone.json"
    lock.wait_for(lambda s: s["pairing"], timeout=10, what="pairing mode")
    assert lock.lockctl(phone, "setup", "--code", CODE, "--name", "owner")[0] == 0
    assert lock.lockctl(phone, "settings", "--button", "off", "--code", CODE)[0] == 0
    before = lock.state()
    lock.bench("button press")
    time.sleep(1.5)
    after = lock.state()
    assert after["lock"] == before["lock"] and after["position"] == before["position"]
    assert lock.lockctl(phone, "settings", "--button", "on", "--code", CODE)[0] == 0
    lock.bench("button press")
    lock.wait_lock("unlocked" if before["lock"] == "locked" else "locked")


def test_full_lock_turns_further_and_a_new_calibration_relearns_the_door(simlock, tmp_path):
    lock = simlock(calibrated=True)
    phone = tmp_path / "phone.json"
    lock.wait_for(lambda s: s["pairing"], timeout=10, what="pairing mode")
    assert lock.lockctl(phone, "setup", "--code", CODE, "--name", "owner")[0] == 0
    if lock.state()["lock"] != "locked":
        assert lock.lockctl(phone, "lock")[0] == 0
    locked = lock.wait_lock("locked")
    assert lock.lockctl(phone, "fulllock")[0] == 0
    lock.wait_for(lambda s: s["position"] < locked["position"] - 300 and s["lock"] == "locked",
                  what="the second locking turn")
    rc, out = lock.lockctl(phone, "fulllock")
    assert rc == 0 and out == {"action": "fulllock", "outcome": "already", "state": "locked"}, out
    assert lock.lockctl(phone, "unlock")[0] == 0
    unlocked = lock.wait_lock("unlocked")

    assert lock.lockctl(phone, "calibrate", "--no-wait")[0] == 0
    lock.wait_lock("calibrating", timeout=5)
    again = lock.wait_lock("locked", timeout=30)
    assert abs(again["position"] - locked["position"]) <= 2, "the same door gives the same positions"
    assert lock.lockctl(phone, "unlock")[0] == 0
    assert abs(lock.wait_lock("unlocked")["position"] - unlocked["position"]) <= 2
