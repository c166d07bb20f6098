"""Button classifier (firmware/lock/button.py) under MicroPython, on recorded press timelines.

A timeline is a list of (t_ms, level) raw changes, bounces included; the replay samples the level every
`tick` ms like the shell and returns every event with the time it came out.
"""
import pytest

REPLAY = r"""
import json
from lock.button import Button
def replay(boot, edges, until, tick):
    b = Button(0, boot)
    level = boot
    i = 0
    out = []
    for t in range(0, until, tick):
        while i < len(edges) and edges[i][0] <= t:
            level = edges[i][1]; i += 1
        for e in b.feed(t, level):
            out.append([e, t])
        for e in b.poll(t):
            out.append([e, t])
    return out
print(json.dumps(replay(%r, %r, %d, %d)))
"""


def replay(mp, edges, until=12000, boot=False, tick=1):
    return [tuple(e) for e in mp.json(REPLAY % (boot, edges, until, tick))]


def bouncy(t, level, bounces=3):
    """A contact that chatters `bounces` times, 2 ms apart, before settling at `level` (at t + 4 * bounces)."""
    out = []
    for k in range(bounces):
        out += [(t + 4 * k, level), (t + 4 * k + 2, not level)]
    return out + [(t + 4 * bounces, level)]


def test_short_press_with_bounce(micropython):
    edges = bouncy(100, True) + bouncy(300, False)
    # release settles at 312; a second press could still come until 312 + 400
    assert replay(micropython, edges) == [("short", 712)]


def test_double_press_comes_at_the_second_press(micropython):
    edges = bouncy(100, True) + bouncy(250, False) + bouncy(500, True) + bouncy(600, False)
    assert replay(micropython, edges) == [("double", 512 + 30)]


def test_two_presses_too_far_apart_are_two_shorts(micropython):
    edges = [(100, True), (250, False), (700, True), (800, False)]
    assert replay(micropython, edges) == [("short", 650), ("short", 1200)]


def test_long_press_fires_at_five_seconds_not_at_release(micropython):
    edges = bouncy(100, True) + [(8000, False)]
    assert replay(micropython, edges) == [("long", 112 + 5000)]


def test_hold_between_short_and_long_is_nothing(micropython):
    assert replay(micropython, [(100, True), (2100, False)]) == []
    assert replay(micropython, [(100, True), (5000, False)]) == []


def test_glitches_shorter_than_debounce_are_ignored(micropython):
    edges = [(100, True), (120, False), (500, True), (529, False), (900, True), (903, False)]
    assert replay(micropython, edges) == []


def test_a_bounce_during_the_double_gap_does_not_count_as_a_press(micropython):
    edges = [(100, True), (250, False), (400, True), (410, False)]
    assert replay(micropython, edges) == [("short", 650)]


def test_factory_reset_confirmed(micropython):
    edges = [(4000, False)] + bouncy(6000, True) + [(6200, False)]
    got = replay(micropython, edges, boot=True)
    assert got == [("reset_request", 3000), ("reset_confirm", 6012 + 30)]


def test_factory_reset_cancelled_without_confirmation(micropython):
    got = replay(micropython, [(4000, False)], boot=True)
    assert got == [("reset_request", 3000), ("reset_cancel", 4000 + 5000)]


def test_a_late_press_after_cancel_is_an_ordinary_press(micropython):
    edges = [(4000, False), (9500, True), (9600, False)]
    got = replay(micropython, edges, boot=True, until=11000)
    assert got == [("reset_request", 3000), ("reset_cancel", 9000), ("short", 10000)]


def test_released_early_at_boot_is_nothing_and_then_buttons_work(micropython):
    edges = bouncy(1000, False) + [(2000, True), (2100, False)]
    assert replay(micropython, edges, boot=True) == [("short", 2500)]


def test_reset_hold_never_gives_long(micropython):
    got = replay(micropython, [(9000, False)], boot=True, until=16000)
    assert got == [("reset_request", 3000), ("reset_cancel", 14000)]


@pytest.mark.parametrize("tick", [5, 10, 20])
def test_shell_sampling_rate_keeps_the_classification(micropython, tick):
    edges = (bouncy(100, True) + bouncy(300, False)      # short
             + [(2000, True), (2150, False), (2400, True), (2500, False)]    # double
             + [(4000, True), (9500, False)])            # long
    got = replay(micropython, edges, tick=tick)
    assert [e for e, _ in got] == ["short", "double", "long"]
    short_t, double_t, long_t = [t for _, t in got]
    assert 700 <= short_t <= 712 + 2 * tick  # a coarse sampler may miss the bounce entirely
    assert 2430 <= double_t <= 2430 + 2 * tick
    assert 9000 <= long_t <= 9000 + 2 * tick
