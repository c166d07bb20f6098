# The registry of paired devices: fixed-size records in bucket files, each bucket replaced atomically.
#
# A device id is a random non-zero 32-bit number; its bucket is id % BUCKETS, so a lookup reads one small
# file, streaming it record by record. A new id is drawn so that its bucket has room; ids say nothing
# about pairing order and a revoked id is practically never reused.
# Capacity = buckets * per_bucket (default 64 * 16 = 1024 devices).
import os
import struct
from micropython import const

from lock import store

RECORD_VERSION = const(1)
# rec version, type, flags, reserved, id, created (unix s, 0 = unknown), key, name, rights (zero, later)
RECORD = "<BBBBII32s32s20s"
RECORD_LEN = const(96)
NAME_MAX = const(32)

TYPES = ("phone", "bridge", "keypad", "fob")
FLAG_ADMIN = const(1)

_FULL_MARK = const(255)  # a bucket that cannot be read is never written into


class FullError(Exception):
    pass


class Device:
    __slots__ = ("id", "key", "name", "type", "flags", "created")

    def __init__(self, id, key, name, type, flags, created):
        self.id = id
        self.key = key
        self.name = name
        self.type = type
        self.flags = flags
        self.created = created

    @property
    def admin(self):
        return bool(self.flags & FLAG_ADMIN)

    def pack(self):
        name = self.name.encode() if isinstance(self.name, str) else self.name
        return struct.pack(RECORD, RECORD_VERSION, self.type, self.flags, 0, self.id, self.created,
                           self.key, name, b"")

    @staticmethod
    def unpack(rec):
        _, typ, flags, _, did, created, key, name, _ = struct.unpack(RECORD, rec)
        return Device(did, key, name.rstrip(b"\0").decode(), typ, flags, created)


def clip_name(name):
    """UTF-8 name cut to NAME_MAX bytes without splitting a character."""
    raw = name.encode() if isinstance(name, str) else bytes(name)
    raw = raw[:NAME_MAX]
    while raw:
        try:
            return raw.decode()
        except UnicodeError:
            raw = raw[:-1]
    return ""


def _record_id(rec):
    return struct.unpack_from("<I", rec, 4)[0]


class Registry:
    def __init__(self, root, buckets=64, per_bucket=16, rng=os.urandom):
        self.dir = root + "/dev"
        self.buckets = buckets
        self.per_bucket = per_bucket
        self.rng = rng
        store.makedirs(self.dir)
        self.counts = bytearray(buckets)
        for b in range(buckets):
            store.remove(self._path(b) + ".tmp")  # a write the power cut interrupted
            self.counts[b] = self._verify(b)

    def _verify(self, b):
        """Record count of bucket b after reading it through once; _FULL_MARK if damaged."""
        try:
            h = store.header(self._path(b))
            if h is None:
                return 0
            if h[1] != RECORD_LEN or h[2] > self.per_bucket:
                return _FULL_MARK
            for _ in store.Reader(self._path(b)):
                pass
            return h[2]
        except store.CorruptError:
            return _FULL_MARK

    @property
    def capacity(self):
        return self.buckets * self.per_bucket

    def _path(self, b):
        return "%s/b%02x" % (self.dir, b)

    def count(self):
        return sum(c for c in self.counts if c != _FULL_MARK)

    def _records(self, b):
        """Records of bucket b, streamed; raises CorruptError after the last one if damaged."""
        if not self.counts[b]:
            return ()
        return store.Reader(self._path(b))

    def get(self, device_id):
        """The Device with that id, or None. Raises store.CorruptError if its bucket is damaged."""
        found = None
        b = device_id % self.buckets
        try:
            for rec in self._records(b):
                if _record_id(rec) == device_id:
                    found = bytes(rec)
        except store.CorruptError:
            self.counts[b] = _FULL_MARK  # damaged since boot: never write into it
            raise
        return Device.unpack(found) if found else None

    def _rewrite(self, b, count, change, extra=None):
        """Copy bucket b into a new file of `count` records, passing each through change(rec) -> rec
        or None (dropped), then append `extra`; commit atomically."""
        w = store.Writer(self._path(b), RECORD_VERSION, RECORD_LEN, count)
        try:
            for rec in self._records(b):
                rec = change(rec)
                if rec is not None:
                    w.add(rec)
            if extra is not None:
                w.add(extra)
        except Exception:
            w.abort()
            raise
        w.commit()
        self.counts[b] = count

    def _free_bucket(self, start):
        for i in range(self.buckets):
            b = (start + i) % self.buckets
            if self.counts[b] < self.per_bucket:
                return b
        raise FullError()

    def new_id(self):
        while True:
            r = int.from_bytes(self.rng(4), "little")
            b = self._free_bucket(r % self.buckets)
            did = (r - r % self.buckets + b) & 0xFFFFFFFF
            if did and self.get(did) is None:
                return did

    def add(self, key, name, type, created, admin):
        """Store a new device; returns it. Raises FullError."""
        dev = Device(self.new_id(), key, clip_name(name), type, FLAG_ADMIN if admin else 0, created)
        b = dev.id % self.buckets
        self._rewrite(b, self.counts[b] + 1, lambda rec: rec, dev.pack())
        return dev

    def remove(self, device_id):
        """True if the device existed and is now gone."""
        if self.get(device_id) is None:
            return False
        b = device_id % self.buckets
        self._rewrite(b, self.counts[b] - 1, lambda rec: None if _record_id(rec) == device_id else rec)
        return True

    def rename(self, device_id, name):
        dev = self.get(device_id)
        if dev is None:
            return False
        dev.name = clip_name(name)
        new = dev.pack()
        b = device_id % self.buckets
        self._rewrite(b, self.counts[b], lambda rec: new if _record_id(rec) == device_id else rec)
        return True

    def page(self, cursor, max_n):
        """Up to max_n devices from cursor (bucket << 8 | index); returns (devices, next cursor or None).
        A damaged bucket is skipped rather than hiding every other device."""
        out = []  # type: list
        b, skip = cursor >> 8, cursor & 0xFF
        while b < self.buckets:
            if len(out) >= max_n:
                return out, b << 8
            if self.counts[b] != _FULL_MARK:
                before, i, last = len(out), 0, -1
                try:
                    for rec in self._records(b):
                        if i >= skip and len(out) < max_n:
                            out.append(Device.unpack(rec))
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
