# Atomic record files: a power cut at any byte leaves either the old file or the new one.
#
# Layout (little-endian):  b"LK" | version u8 | reserved u8 | reclen u16 | count u16 | records | crc32 u32
# `version` is the caller's schema version; the crc covers every byte before it.
# A write goes to PATH.tmp, is flushed and synced, then renamed over PATH (atomic on littlefs and POSIX).
# Records are streamed one at a time, so a file of many records never has to sit in RAM.
#
# API: exists, makedirs; save(path, version, data) and load(path, version=None, size=None) for one-record
# files; Writer(path, version, reclen, count) .add(data) .commit() .abort(); Reader(path, reclen=0,
# version=None) iterates the records (.version .reclen .count); CorruptError for a missing, damaged or
# unexpected file. A reader that names the version (and size) it understands gets CorruptError for any
# other: a record it cannot read is damaged to it, never "absent" (fail closed).
import os
import struct
import binascii
from micropython import const

_MAGIC = const(0x4B4C)  # b"LK" as a u16 LE
_HEADER = const("<HBBHH")  # magic, version, reserved, reclen, count
_HEADER_LEN = const(8)  # struct.calcsize(_HEADER)


class CorruptError(Exception):
    pass


def exists(path):
    try:
        os.stat(path)
        return True
    except OSError:
        return False


def makedirs(path):
    cur = "/" if path.startswith("/") else ""
    for part in path.split("/"):
        if part:
            cur = cur + part if (not cur or cur.endswith("/")) else cur + "/" + part
            if not exists(cur):
                os.mkdir(cur)


class Writer:
    """Streams `count` records of `reclen` bytes into PATH.tmp; `commit()` makes them PATH at once."""

    def __init__(self, path, version, reclen, count):
        self.path = path
        self.left = count
        self.reclen = reclen
        self.f = open(path + ".tmp", "wb")
        head = struct.pack(_HEADER, _MAGIC, version, 0, reclen, count)
        self.crc = binascii.crc32(head)
        self.f.write(head)

    def add(self, data):
        if len(data) != self.reclen or self.left <= 0:
            self.abort()
            raise ValueError("bad size")
        self.left -= 1
        self.crc = binascii.crc32(data, self.crc)
        self.f.write(data)

    def commit(self):
        if self.left:
            self.abort()
            raise ValueError("bad count")
        f = self.f
        f.write(struct.pack("<I", self.crc & 0xFFFFFFFF))
        f.flush()
        f.close()
        sync = getattr(os, "sync", None)  # not on every port; littlefs on the board syncs on close
        if sync:
            sync()
        os.rename(self.path + ".tmp", self.path)
        if sync:
            sync()

    def abort(self):
        try:
            self.f.close()
        except OSError:
            pass
        try:
            os.remove(self.path + ".tmp")
        except OSError:
            pass


class Reader:
    """Iterates the records of PATH into one reused buffer; raises CorruptError at the end if the
    checksum fails, so a caller must finish the iteration before trusting what it kept. A non-zero
    `reclen` is the record size the caller expects: another one is CorruptError before any buffer is made;
    so is another schema version than `version`, if given."""

    def __init__(self, path, reclen=0, version=None):
        try:
            f = open(path, "rb")
        except OSError:
            raise CorruptError(path)
        head = f.read(_HEADER_LEN)
        ok = len(head) == _HEADER_LEN
        if ok:
            magic, self.version, _, self.reclen, self.count = struct.unpack(_HEADER, head)
            # The header's sizes must add up to the file's: a damaged length must never become a buffer
            # (a garbage reclen would ask for up to 64 KiB and fail every boot with MemoryError).
            ok = (magic == _MAGIC and (not reclen or self.reclen == reclen) and
                  (version is None or self.version == version) and
                  os.stat(path)[6] == _HEADER_LEN + self.reclen * self.count + 4)
        if not ok:
            f.close()
            raise CorruptError(path)
        self.f = f
        self.path = path
        self.crc = binascii.crc32(head)
        self.buf = bytearray(self.reclen)

    def __iter__(self):
        f = self.f
        buf = self.buf
        crc = self.crc
        try:
            for _ in range(self.count):
                if f.readinto(buf) != self.reclen:
                    raise CorruptError(self.path)
                crc = binascii.crc32(buf, crc)
                yield buf
            tail = f.read(5)
            if len(tail) != 4 or struct.unpack("<I", tail)[0] != crc & 0xFFFFFFFF:
                raise CorruptError(self.path)
        finally:
            f.close()


def save(path, version, data):
    """Atomically replace PATH with one record."""
    w = Writer(path, version, len(data), 1)
    w.add(data)
    w.commit()


def load(path, version=None, size=None):
    """(version, blob) of a one-record file, None if absent; CorruptError if damaged, or if it is not of
    `version` and `size` bytes where the caller names them."""
    if not exists(path):
        return None
    r = Reader(path, size or 0, version)
    data = b""
    for rec in r:
        data = bytes(rec)
    if r.count != 1:
        raise CorruptError(path)
    return r.version, data
