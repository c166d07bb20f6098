# Atomic record files: a power cut at any byte leaves either the old file or the new one.
#
# Layout (little-endian):  b"LK" | version u8 | reserved u8 | reclen u16 | count u16 | records | crc32 u32
# `version` is the caller's schema version; the crc covers every byte before it.
# A write goes to PATH.tmp, is flushed and synced, then renamed over PATH (atomic on littlefs and POSIX).
# Records are streamed one at a time, so a file of many records never has to sit in RAM.
import os
import struct
import binascii

MAGIC = b"LK"
HEADER = "<2sBBHH"
HEADER_LEN = 8


class CorruptError(Exception):
    pass


def _sync():
    sync = getattr(os, "sync", None)
    if sync:
        sync()


def exists(path):
    try:
        os.stat(path)
        return True
    except OSError:
        return False


def remove(path):
    try:
        os.remove(path)
    except OSError:
        pass


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
        self.crc = 0
        self._put(struct.pack(HEADER, MAGIC, version, 0, reclen, count))

    def _put(self, data):
        self.crc = binascii.crc32(data, self.crc)
        self.f.write(data)

    def add(self, record):
        if len(record) != self.reclen or self.left <= 0:
            self.abort()
            raise ValueError("record size or count")
        self.left -= 1
        self._put(record)

    def commit(self):
        if self.left:
            self.abort()
            raise ValueError("record count")
        self.f.write(struct.pack("<I", self.crc & 0xFFFFFFFF))
        self.f.flush()
        self.f.close()
        _sync()
        os.rename(self.path + ".tmp", self.path)
        _sync()

    def abort(self):
        try:
            self.f.close()
        except OSError:
            pass
        remove(self.path + ".tmp")


class Reader:
    """Iterates the records of PATH into one reused buffer; raises CorruptError at the end if the
    checksum fails, so a caller must finish the iteration before trusting what it kept."""

    def __init__(self, path):
        try:
            self.f = open(path, "rb")
        except OSError:
            raise CorruptError("missing " + path)
        head = self.f.read(HEADER_LEN)
        if len(head) != HEADER_LEN:
            self.close()
            raise CorruptError("short header " + path)
        magic, self.version, _, self.reclen, self.count = struct.unpack(HEADER, head)
        if magic != MAGIC:
            self.close()
            raise CorruptError("bad magic " + path)
        self.path = path
        self.crc = binascii.crc32(head)
        self.buf = bytearray(self.reclen)

    def __iter__(self):
        try:
            for _ in range(self.count):
                if self.f.readinto(self.buf) != self.reclen:
                    raise CorruptError("truncated " + self.path)
                self.crc = binascii.crc32(self.buf, self.crc)
                yield self.buf
            tail = self.f.read(5)
            if len(tail) != 4 or struct.unpack("<I", tail)[0] != self.crc & 0xFFFFFFFF:
                raise CorruptError("checksum " + self.path)
        finally:
            self.close()

    def close(self):
        self.f.close()


def header(path):
    """(version, reclen, count) from the header only, or None if the file is absent; no checksum."""
    try:
        with open(path, "rb") as f:
            head = f.read(HEADER_LEN)
    except OSError:
        return None
    if len(head) != HEADER_LEN or head[:2] != MAGIC:
        raise CorruptError("bad header " + path)
    _, version, _, reclen, count = struct.unpack(HEADER, head)
    return version, reclen, count


def save(path, version, blob):
    """Atomically replace PATH with one record."""
    w = Writer(path, version, len(blob), 1)
    w.add(blob)
    w.commit()


def load(path):
    """(version, blob) of a one-record file, None if absent; CorruptError if damaged."""
    if not exists(path):
        return None
    r = Reader(path)
    blob = b""
    for rec in r:
        blob = bytes(rec)
    if r.count != 1:
        raise CorruptError("not a single record " + path)
    return r.version, blob
