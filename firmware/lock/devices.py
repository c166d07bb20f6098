# The registry of paired devices: fixed-size records in bucket files, each bucket replaced atomically.
#
# A device id is a random non-zero 32-bit number; its bucket is id % BUCKETS, so a lookup reads one small
# file (ROOT/dev/bXX, XX = bucket in hex), streaming it record by record. A new id is drawn so that its
# bucket has room; ids say nothing about pairing order and a revoked id is practically never reused.
# Capacity = buckets * per_bucket (default 64 * 16 = 1024 devices).
#
# API: Registry(root, buckets=64, per_bucket=16, rng=os.urandom) .get(id) .add(key, name, type, created,
# admin) .remove(id) .rename(id, name) .date(id, created) .page(start, n) .count() .capacity; a device is a Device tuple
# (id, key, name, type, flags, created); FullError; store.CorruptError for a damaged bucket (bad bytes, or
# another record size or version: a bucket this firmware cannot read is damaged, never empty).
import os
import struct
from collections import namedtuple
from micropython import const

from lock import store

_RECORD_VERSION = const(1)
# rec version, type, flags, reserved, id, created (unix s, 0 = unknown), key, name, rights (zero, later)
_RECORD = const("<BBBBII32s32s20s")
_RECORD_LEN = const(96)
_NAME_MAX = const(32)

# device types by number (a list, not a tuple: its names stay interned instead of being copied)
TYPES = ["phone", "bridge", "keypad", "fob"]
FLAG_ADMIN = const(1)

_FULL_MARK = const(255)  # a bucket that cannot be read is never written into


class FullError(Exception):
    """No room for another device: every bucket is full (or unreadable, and so never written)."""


Device = namedtuple("Device", ["id", "key", "name", "type", "flags", "created"])


def _device(data):
    _, type, flags, _, device_id, created, key, name, _ = struct.unpack(_RECORD, data)
    return Device(device_id, key, name.decode().rstrip("\0"), type, flags, created)


class Registry:
    def __init__(self, root, buckets=64, per_bucket=16, rng=os.urandom):
        self.dir = root + "/dev"
        self.buckets = buckets
        self.per_bucket = per_bucket
        self.capacity = buckets * per_bucket
        self.rng = rng
        store.makedirs(self.dir)
        self.counts = bytearray(buckets)  # records per bucket, or _FULL_MARK
        for b in range(buckets):
            path = "%s/b%02x" % (self.dir, b)
            try:
                os.remove(path + ".tmp")  # a write the power cut interrupted
            except OSError:
                pass
            if store.exists(path):
                # read through once: a damaged bucket is marked full, so nothing is ever written into it
                try:
                    r = store.Reader(path, _RECORD_LEN, _RECORD_VERSION)
                    for _ in r:
                        pass
                    self.counts[b] = r.count if r.count <= per_bucket else _FULL_MARK
                except store.CorruptError:
                    self.counts[b] = _FULL_MARK

    def count(self):
        n = 0
        for c in self.counts:
            if c != _FULL_MARK:
                n += c
        return n

    def get(self, device_id):
        """The Device with that id, or None. Raises store.CorruptError if its bucket is damaged."""
        found = None
        b = device_id % self.buckets
        if self.counts[b]:
            try:
                for rec in store.Reader("%s/b%02x" % (self.dir, b), _RECORD_LEN, _RECORD_VERSION):
                    if struct.unpack_from("<I", rec, 4)[0] == device_id:
                        found = bytes(rec)
            except store.CorruptError:
                self.counts[b] = _FULL_MARK  # damaged since boot: never write into it
                raise
        return _device(found) if found else None

    def _rewrite(self, device_id, change, values=None):
        """Rewrite device_id's bucket, committed atomically, with `change` records more: that device's
        record is dropped, or replaced by (or, if it has none, appended as) the record of `values`
        (key, name, type, flags, created), which is returned. The UTF-8 name is cut to _NAME_MAX bytes
        without splitting a character."""
        new = None
        if values:
            key, name, type, flags, created = values
            raw = name.encode() if isinstance(name, str) else bytes(name)
            raw = raw[:_NAME_MAX]
            while raw:
                try:
                    raw.decode()
                    break
                except UnicodeError:
                    raw = raw[:-1]
            new = struct.pack(_RECORD, _RECORD_VERSION, type, flags, 0, device_id, created, key, raw, b"")
        b = device_id % self.buckets
        path = "%s/b%02x" % (self.dir, b)
        pending = new  # until it has replaced the old record
        w = store.Writer(path, _RECORD_VERSION, _RECORD_LEN, self.counts[b] + change)
        try:
            if self.counts[b]:
                for rec in store.Reader(path, _RECORD_LEN, _RECORD_VERSION):
                    if struct.unpack_from("<I", rec, 4)[0] == device_id:
                        rec = new
                        pending = None
                    if rec is not None:
                        w.add(rec)
            if pending is not None:
                w.add(pending)
        except Exception:
            w.abort()
            raise
        w.commit()
        self.counts[b] += change
        return new

    def add(self, key, name, type, created, admin):
        """Store a new device; returns it. Raises FullError."""
        n = self.buckets
        while True:
            r = int.from_bytes(self.rng(4), "little")
            for i in range(n):  # the drawn bucket, or the next one with room
                b = (r + i) % n
                if self.counts[b] < self.per_bucket:
                    break
            else:
                raise FullError()
            device_id = (r - r % n + b) & 0xFFFFFFFF
            if device_id and self.get(device_id) is None:
                break
        return _device(self._rewrite(device_id, 1, (key, name, type, FLAG_ADMIN if admin else 0, created)))

    def remove(self, device_id):
        """True if the device existed and is now gone."""
        if self.get(device_id) is None:
            return False
        self._rewrite(device_id, -1)
        return True

    def date(self, device_id, created):
        """Set when a device was paired (unix s): for one paired before the lock's clock was set."""
        dev = self.get(device_id)
        if dev is None:
            return False
        self._rewrite(device_id, 0, (dev.key, dev.name, dev.type, dev.flags, created))
        return True

    def rename(self, device_id, name):
        dev = self.get(device_id)
        if dev is None:
            return False
        self._rewrite(device_id, 0, (dev.key, name, dev.type, dev.flags, dev.created))
        return True

    def page(self, start, n):
        """Up to n devices from the cursor `start` (bucket << 8 | index); returns (devices, next cursor or
        None). A damaged bucket is skipped rather than hiding every other device."""
        out = []  # type: list
        b, skip = start >> 8, start & 0xFF
        while b < self.buckets:
            if len(out) >= n:
                return out, b << 8
            if self.counts[b] and self.counts[b] != _FULL_MARK:
                before, i, last = len(out), 0, -1
                try:
                    for rec in store.Reader("%s/b%02x" % (self.dir, b), _RECORD_LEN, _RECORD_VERSION):
                        if i >= skip and len(out) < n:
                            out.append(_device(rec))
                            last = i
                        i += 1
                except store.CorruptError:
                    del out[before:]
                    i = last = -1
                if last >= 0 and last + 1 < i:
                    return out, (b << 8) | (last + 1)
            b += 1
            skip = 0
        return out, None
