"""The README's quick start, as a person follows it: its commands as written (taken from the README), against a
simulated lock started as `make sim` starts it (the board's own timers), with a person's pauses between."""
import os
import re
import subprocess
import time

from mpy import ROOT
from sim import SimLock

README = ROOT / "README.md"
READING_S = 15          # reading the README before the first command: longer than the old 10 s window
BETWEEN_S = 3           # typing the next command


def quick_start_commands():
    """The shell lines of the README's "Quick start" code blocks, as written; `make` lines are what the
    test replaces (`make sim`) or is part of (`make test`)."""
    text = README.read_text()
    section = text[text.index("## Quick start"):]
    section = section[:section.index("\n## ", 1)]
    lines = []
    for block in re.findall(r"```sh\n(.*?)```", section, re.S):
        lines += [line for line in block.splitlines() if line.strip() and not line.startswith("make ")]
    return lines


def test_readme_quick_start_runs_as_written_at_a_persons_pace(tmp_path):
    commands = quick_start_commands()
    assert any(" setup " in c for c in commands) and any(c.startswith("lockctl unlock") for c in commands)
    assert re.search(r"^sim:.*\n\t\S*simlock run --flash \S+ --port .+ --view$",
                     (ROOT / "Makefile").read_text(), re.M), "make sim starts the lock as this test does"
    lock = SimLock(tmp_path / "flash", timers=None)   # the board's own timers, as `make sim` has them
    try:
        time.sleep(READING_S)
        # The README's port is `make sim`'s default; this lock has its own, so that tests run side by side.
        script = ["set -u"]
        for line in commands:
            script += ['echo "+ %s"' % line.replace('"', '\\"'),
                       line.replace("7760", str(lock.port)) + ' || { echo "FAILED ($?): %s"; exit 1; }'
                       % line.replace('"', '\\"'),
                       "sleep %d" % BETWEEN_S]
        env = dict(os.environ, XDG_CONFIG_HOME=str(tmp_path / "config"))
        # `simlock ...` without --port talks to 7760: point the bench at this lock the same way.
        script.insert(1, "simlock() { command simlock \"$@\" --port %d; }" % lock.port)
        r = subprocess.run(["bash", "-c", "\n".join(script)], cwd=ROOT, env=env, capture_output=True, text=True,
                           timeout=300)
        assert r.returncode == 0, r.stdout + r.stderr + lock.log()
        out = r.stdout
        assert "\nunlocked\n" in out, out
        assert "state: unlocked" in out and "battery: " in out and "None" not in out, out
        assert "\nlocked\n" in out, out
        assert "Traceback" not in out + r.stderr
        assert lock.state()["lock"] == "locked"
        assert list((tmp_path / "config" / "lockctl" / "locks").glob("*.json")), "the lock is remembered"
    finally:
        lock.stop()
