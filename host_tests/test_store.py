"""Atomic record files (firmware/lock/store.py) under MicroPython: a power cut leaves old or new."""
import os
import random
import signal
import subprocess
import time

import mpy


def test_round_trip_keeps_version_and_bytes(micropython, tmp_path):
    out = micropython.json("""
from lock import store
p = %r + "/rec"
absent = store.load(p)
store.save(p, 7, b"\\x00first\\xff")
a = store.load(p)
store.save(p, 8, b"second, longer")
b = store.load(p)
import json
print(json.dumps([absent, a[0], a[1].hex(), b[0], b[1].decode()]))
""" % str(tmp_path))
    assert out == [None, 7, b"\x00first\xff".hex(), 8, "second, longer"]


def test_every_truncation_and_every_flipped_byte_is_a_clear_error(micropython, tmp_path):
    out = micropython.json("""
from lock import store
p = %r + "/rec"
store.save(p, 1, b"the device set")
good = open(p, "rb").read()
bad = 0
for n in range(len(good)):
    open(p, "wb").write(good[:n])
    try:
        store.load(p)
    except store.CorruptError:
        bad += 1
for i in range(len(good)):
    b = bytearray(good)
    b[i] ^= 0x10
    open(p, "wb").write(b)
    try:
        store.load(p)
    except store.CorruptError:
        bad += 1
import json
print(json.dumps([len(good), bad]))
""" % str(tmp_path))
    assert out[1] == 2 * out[0]


def test_cut_before_rename_at_any_byte_leaves_the_old_file(micropython, tmp_path):
    # The new content is written to PATH.tmp first: whatever part of it reached the flash, PATH is old.
    out = micropython.json("""
from lock import store
p = %r + "/rec"
store.save(p, 1, b"old set of devices")
store.save(p + ".new", 1, b"new set of devices!")
new = open(p + ".new", "rb").read()
seen = set()
for n in range(len(new) + 1):
    open(p + ".tmp", "wb").write(new[:n])
    seen.add(store.load(p)[1].decode())
import os, json
os.remove(p + ".tmp")
print(json.dumps(sorted(seen)))
""" % str(tmp_path))
    assert out == ["old set of devices"]


def test_writer_refuses_a_wrong_record_count_and_keeps_the_old_file(micropython, tmp_path):
    out = micropython.json("""
from lock import store
p = %r + "/recs"
w = store.Writer(p, 1, 4, 2)
w.add(b"aaaa"); w.add(b"bbbb"); w.commit()
w = store.Writer(p, 1, 4, 3)
w.add(b"cccc")
errs = 0
try:
    w.commit()
except ValueError:
    errs += 1
try:
    store.Writer(p, 1, 4, 1).add(b"too long")
except ValueError:
    errs += 1
r = store.Reader(p)
import json
print(json.dumps([errs, [bytes(x).decode() for x in r], store.exists(p + ".tmp")]))
""" % str(tmp_path))
    assert out == [2, ["aaaa", "bbbb"], False]


WRITER = """
from lock import store
import os
p = %r + "/rec"
i = 0
while True:
    # each version is a different length, so a torn write cannot pass as another version
    store.save(p, 1, (b"v%%d:" %% i) + bytes(i %% 300))
    i += 1
"""


def test_killing_the_process_mid_write_leaves_a_whole_version(micropython, tmp_path):
    """A real power cut: SIGKILL a MicroPython process that rewrites the file in a loop."""
    env = dict(os.environ, MICROPYPATH=str(mpy.FIRMWARE) + ":.frozen")
    rnd = random.Random(5)
    for _ in range(12):
        p = subprocess.Popen([str(mpy.MICROPYTHON), "-c", WRITER % str(tmp_path)], env=env)
        deadline = time.monotonic() + 30
        while not (tmp_path / "rec").exists() and time.monotonic() < deadline:
            time.sleep(0.01)    # a loaded machine may take longer than the sleep below to write the first one
        time.sleep(0.05 + rnd.random() * 0.2)
        p.send_signal(signal.SIGKILL)
        p.wait()
        out = micropython.json("""
from lock import store
v, blob = store.load(%r + "/rec")
n = int(blob[1:blob.index(b":")])
import json
print(json.dumps([v, len(blob) == len(b"v%%d:" %% n) + n %% 300]))
""" % str(tmp_path))
        assert out == [1, True]
