"""The security code and its lockout (firmware/lock/passcode.py) under MicroPython."""
import hashlib


def run(micropython, tmp_path, body):
    code = "import json\nfrom lock import passcode\nROOT = %r\n" % str(tmp_path) + body
    return micropython.json(code)


def test_first_code_is_set_once_and_checked(micropython, tmp_path):
    out = run(micropython, tmp_path, """
p = passcode.Passcode(ROOT, 0, iterations=50)
fresh = p.is_set
bad = [p.set_first(c) for c in ("12345", "12345a", "1234567")]
ok = p.set_first("123456")
again = p.set_first("654321")
print(json.dumps([fresh, bad, ok, again, p.check("123456", 0), p.check("654321", 0)[0], p.fails]))
""")
    assert out == [False, [False, False, False], True, False, [0, 0], 1, 1]


def test_only_a_salted_pbkdf2_verifier_is_stored(micropython, tmp_path):
    out = run(micropython, tmp_path, """
import binascii
p = passcode.Passcode(ROOT, 0, iterations=77)
p.set_first("424242")
raw = open(ROOT + "/code", "rb").read()
print(json.dumps([binascii.hexlify(p.salt).decode(), binascii.hexlify(p.prs).decode(), b"424242" in raw,
                  binascii.hexlify(raw).decode()]))
""")
    salt, verifier, digits_in_file, raw = bytes.fromhex(out[0]), bytes.fromhex(out[1]), out[2], bytes.fromhex(out[3])
    assert verifier == hashlib.pbkdf2_hmac("sha256", b"424242", salt, 77, 32)
    assert not digits_in_file and verifier in raw and salt in raw


def test_five_free_tries_then_a_doubling_lockout_capped_at_four_hours(micropython, tmp_path):
    out = run(micropython, tmp_path, """
p = passcode.Passcode(ROOT, 0, iterations=10)
p.set_first("111111")
now = 0
waits = []
for i in range(16):
    got, wait = p.check("000000", now)
    waits.append([got, wait])
    now += max(wait, 1)           # try again as soon as allowed
blocked = p.check("111111", now - 1)   # while locked: refused, not even looked at
print(json.dumps([waits, blocked, p.check("111111", now), p.fails]))
""")
    waits, blocked, right, fails = out
    assert [w[0] for w in waits] == [1] * 16
    lock = [w[1] for w in waits]
    assert lock[:4] == [0, 0, 0, 0]
    assert lock[4:10] == [30000, 60000, 120000, 240000, 480000, 960000]
    assert max(lock) == 4 * 3600 * 1000 and lock[-1] == 4 * 3600 * 1000
    assert blocked[0] == 2 and blocked[1] > 0
    assert right == [0, 0] and fails == 0


def test_counter_and_lockout_survive_a_power_cut(micropython, tmp_path):
    out = run(micropython, tmp_path, """
p = passcode.Passcode(ROOT, 0, iterations=10)
p.set_first("111111")
for i in range(6):
    p.check("000000", i * 10 ** 7)
before = p.fails
rebooted = passcode.Passcode(ROOT, 0, iterations=10)         # clock restarts at 0 after a reboot
print(json.dumps([before, rebooted.fails, rebooted.locked_for(0), rebooted.check("111111", 59999)[0],
                  rebooted.check("111111", 60000)]))
""")
    assert out == [6, 6, 60000, 2, [0, 0]]


def test_a_guess_is_counted_before_it_is_judged(micropython, tmp_path):
    # Pairing counts the guess when the exchange starts; a power cut before the answer still costs a try.
    out = run(micropython, tmp_path, """
p = passcode.Passcode(ROOT, 0, iterations=10)
p.set_first("111111")
p.begin_guess(0)
cut = passcode.Passcode(ROOT, 0, iterations=10).fails
p.guess_ok()
forgiven = passcode.Passcode(ROOT, 0, iterations=10).fails
print(json.dumps([cut, forgiven]))
""")
    assert out == [1, 0]


def test_changing_the_code_needs_the_old_one(micropython, tmp_path):
    out = run(micropython, tmp_path, """
p = passcode.Passcode(ROOT, 0, iterations=10)
p.set_first("111111")
def change(old, new, now):            # as the CHANGE_CODE command does: a counted guess, then the new code
    got = p.check(old, now)
    if got[0] == passcode.RIGHT:
        p.replace(new)
    return got
wrong = change("999999", "222222", 0)
still = p.check("111111", 0)[0]
right = change("111111", "222222", 0)
malformed = None
try:
    change("222222", "22", 0)
except ValueError:
    malformed = "refused"
r = passcode.Passcode(ROOT, 0, iterations=10)
print(json.dumps([wrong[0], still, right, malformed, r.check("111111", 0)[0], r.check("222222", 0)[0]]))
""")
    assert out == [1, 0, [0, 0], "refused", 1, 0]


def test_a_damaged_code_file_never_means_no_code(micropython, tmp_path):
    out = run(micropython, tmp_path, """
p = passcode.Passcode(ROOT, 0, iterations=10)
p.set_first("111111")
open(ROOT + "/code", "wb").write(b"LK garbage")
d = passcode.Passcode(ROOT, 0, iterations=10)
print(json.dumps([d.is_set, d.set_first("000000"), d.locked_for(0) > 0]))
""")
    assert out == [True, False, True]


def test_an_unjudged_guess_already_counts_toward_the_lockout(micropython, tmp_path):
    # A pairing exchange left hanging after its hello holds a counted guess: the lockout applies at once.
    out = run(micropython, tmp_path, """
p = passcode.Passcode(ROOT, 0, iterations=10)
p.set_first("111111")
for i in range(4):
    p.check("000000", 0)
p.begin_guess(0)                       # the 5th guess, never answered
print(json.dumps([p.locked_for(0), p.check("111111", 10)[0]]))
""")
    assert out == [30000, 2]


def test_a_right_code_does_not_forgive_a_guess_still_being_judged(micropython, tmp_path):
    # A pairing exchange counts its guess at hello and is judged at confirm; meanwhile an admin's command
    # carries the right code. The admin's success must not wipe the pairing's pending guess.
    out = run(micropython, tmp_path, """
p = passcode.Passcode(ROOT, 0, iterations=10)
p.set_first("111111")
for _ in range(3):
    p.check("000000", 0)
p.begin_guess(0)                       # the pairing's guess, counted
admin = p.check("111111", 0)           # right code from an admin meanwhile
after_admin = p.fails
p.guess_failed(0)                      # the pairing's guess turns out wrong
again = passcode.Passcode(ROOT, 0, iterations=10)   # and what the flash says after a reboot
print(json.dumps([admin, after_admin, p.fails, p.tries_left(), again.fails]))
""")
    admin, after_admin, fails, tries_left, stored = out
    assert admin == [0, 0]
    assert after_admin == 1 and fails == 1 and stored == 1, "the wrong pairing guess still counts"
    assert tries_left == 4
