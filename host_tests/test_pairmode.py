"""The pairing-mode window (firmware/lock/pairmode.py) under MicroPython."""


def run(micropython, body):
    return micropython.json("import json\nfrom lock.pairmode import PairMode, OK, BUSY, NOT_PAIRING\n" + body)


def test_closed_window_refuses_and_an_open_one_lets_one_client_in(micropython):
    out = run(micropython, """
pm = PairMode()
r = [pm.begin("a", 0) == NOT_PAIRING, pm.active]
pm.enter(0)
r += [pm.active, pm.begin("a", 1) == OK, pm.begin("b", 2) == BUSY, pm.begin("a", 3) == OK]
pm.end("b", True, 4)                 # not the holder: changes nothing
r += [pm.begin("b", 5) == BUSY]
pm.end("a", False, 6)                # a failed exchange frees the window
r += [pm.active, pm.begin("b", 7) == OK]
pm.end("b", True, 8)                 # success closes it
r += [pm.active, pm.begin("c", 9) == NOT_PAIRING]
print(json.dumps(r))
""")
    assert out == [True, False, True, True, True, True, True, True, True, False, True]


def test_the_window_times_out_after_60_s_and_a_new_hold_restarts_it(micropython):
    out = run(micropython, """
pm = PairMode()
pm.enter(1000)
r = [pm.tick(60999), pm.active, pm.timeout_ms]       # (the default: 60 s)
r += [pm.tick(61000), pm.active, pm.begin("a", 61001) == NOT_PAIRING]
pm.enter(100000)
pm.begin("a", 100001)
pm.enter(150000)                      # held again: the timeout restarts, the holder keeps it
r += [pm.tick(200000), pm.begin("b", 200000) == BUSY, pm.tick(210000), pm.active]
print(json.dumps(r))
""")
    assert out == [False, True, 60000, True, False, True, False, True, True, False]


def test_a_short_press_closes_the_window_even_mid_exchange(micropython):
    out = run(micropython, """
pm = PairMode()
seen = []
pm.changed = seen.append
idle = pm.short_press(0)              # nothing to close: the press is the app's (lock/unlock)
pm.enter(0)
pm.begin("a", 1)
closed = pm.short_press(2)
print(json.dumps([idle, closed, pm.active, pm.begin("a", 3) == NOT_PAIRING, seen]))
""")
    assert out == [False, True, False, True, [True, False]]


def test_a_holder_is_overdue_after_the_confirm_deadline(micropython):
    out = run(micropython, """
pm = PairMode(60000, 5000)
pm.enter(0)
r = [pm.overdue(0), pm.begin("a", 1000) == OK, pm.overdue(5999), pm.overdue(6000)]
pm.begin("a", 7000)                  # the holder's own new hello restarts nothing: still held since 1000
r += [pm.overdue(7000)]
pm.end("a", False, 7000)
r += [pm.overdue(7000), pm.begin("b", 8000) == OK, pm.overdue(12999), pm.overdue(13000)]
print(json.dumps(r))
""")
    assert out == [None, True, None, "a", "a", None, True, None, "b"]
