"""A central for the simulated radio (the host side of boards/sim/bluetooth.py): scan, connect, GATT ops."""
import binascii
import json
import queue
import socket
import threading


class RadioError(Exception):
    pass


def _unhex(s):
    return binascii.unhexlify(s)


def scan(host, port, timeout=2.0):
    """The lock's advertisement, or None when it is not advertising (or not there)."""
    try:
        with socket.create_connection((host, port), timeout=timeout) as s:
            s.sendall(b'{"op": "scan"}\n')
            line = s.makefile("r").readline()
    except OSError:
        return None
    msg = json.loads(line) if line else {}
    if not msg.get("advertising"):
        return None
    return {"addr": msg["addr"], "connectable": msg["connectable"],
            "adv": _unhex(msg["adv"]), "resp": _unhex(msg["resp"])}


def parse_adv(data):
    """AD structures -> {type: value}."""
    out, i = {}, 0
    while i < len(data) and data[i]:
        n = data[i]
        out[data[i + 1]] = bytes(data[i + 2:i + 1 + n])
        i += 1 + n
    return out


class Central:
    """One connection to the simulated lock. Notifications arrive on `notifications` as (handle, bytes).
    A connection completes only while the lock advertises: one not made within `connect_timeout` (default:
    `timeout`) gives up, as a phone's does, and raises RadioError."""

    def __init__(self, host, port, mtu=23, timeout=10.0, connect_timeout=None):
        self.timeout = timeout
        try:
            self.sock = socket.create_connection((host, port), timeout=timeout)
        except OSError as e:
            raise RadioError("no lock at %s:%d (%s)" % (host, port, e.strerror or e))
        self.sock.settimeout(None)
        self.replies = queue.Queue()
        self.notifications = queue.Queue()
        self.mtu = 23
        self.connected = threading.Event()
        self.closed = threading.Event()
        self._send({"op": "connect", "mtu": mtu})
        threading.Thread(target=self._reader, daemon=True).start()
        try:
            reply = self.replies.get(timeout=timeout if connect_timeout is None else connect_timeout)
        except queue.Empty:
            self.close()
            raise RadioError("could not connect: the lock is not advertising (it holds as many connections "
                             "as it takes, or it is off)") from None
        if reply.get("op") != "connected":
            self.close()
            raise RadioError("connect refused: %s" % reply)
        self.handle = reply["handle"]

    def _send(self, obj):
        try:
            self.sock.sendall((json.dumps(obj) + "\n").encode())
        except OSError:
            raise RadioError("disconnected")

    def _reader(self):
        try:
            for line in self.sock.makefile("r", encoding="utf-8"):
                msg = json.loads(line)
                if msg.get("op") == "notify":
                    self.notifications.put((msg["handle"], _unhex(msg["data"])))
                else:
                    self.replies.put(msg)
        except (OSError, ValueError):
            pass
        finally:
            self.closed.set()
            self.replies.put({"op": "disconnected"})
            self.notifications.put(None)

    def _reply(self):
        try:
            msg = self.replies.get(timeout=self.timeout)
        except queue.Empty:
            raise RadioError("the lock did not answer")
        if msg.get("op") == "disconnected":
            raise RadioError("disconnected")
        if msg.get("op") == "error":
            raise RadioError(msg["error"])
        return msg

    def request(self, obj):
        self._send(obj)
        return self._reply()

    def services(self):
        return self.request({"op": "services"})["services"]

    def handle_of(self, uuid):
        for s in self.services():
            for c in s["chars"]:
                if c["uuid"] == uuid.lower():
                    return c["handle"]
        raise RadioError("no characteristic %s" % uuid)

    def exchange_mtu(self, mtu):
        self.mtu = self.request({"op": "mtu", "mtu": mtu})["mtu"]
        return self.mtu

    def write(self, handle, data, response=True):
        self._send({"op": "write", "handle": handle, "data": binascii.hexlify(data).decode(),
                    "response": response})
        if response:
            self._reply()

    def read(self, handle):
        return _unhex(self.request({"op": "read", "handle": handle})["data"])

    def subscribe(self, handle, on=True):
        self.request({"op": "subscribe", "handle": handle, "on": on})

    def next_notification(self, timeout=None):
        try:
            item = self.notifications.get(timeout=self.timeout if timeout is None else timeout)
        except queue.Empty:
            raise RadioError("no notification within the timeout")
        if item is None:
            self.notifications.put(None)
            raise RadioError("disconnected")
        return item

    def close(self):
        """Disconnect. (Shut the socket down first: the reader thread's file keeps it open otherwise, and
        the lock would not see the disconnection until this process exits.)"""
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass  # already disconnected
        try:
            self.sock.close()
        except OSError:
            pass
