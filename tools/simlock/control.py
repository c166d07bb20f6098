"""Client side of the control port."""
import json
import socket
import time


class ControlError(Exception):
    pass


def _connect(host, port):
    # A loaded host may reset a connection in the accept backlog: that is not "no lock", so try again.
    for attempt in range(5):
        try:
            return socket.create_connection((host, port), timeout=5)
        except ConnectionRefusedError as e:
            err = e
            break
        except OSError as e:
            err = e
            time.sleep(0.1 * (attempt + 1))
    raise ControlError("no simulated lock on control port %d (%s): start one with `simlock run`"
                       % (port, err.strerror or err))


def lines(port, command, timeout=None, host="127.0.0.1"):
    """Send one command; yield its reply lines (several for `record`, ending with the `done` line)."""
    sock = _connect(host, port)
    with sock:
        sock.settimeout(timeout)
        sock.sendall((command.strip() + "\n").encode())
        f = sock.makefile("r", encoding="utf-8")
        for line in f:
            msg = json.loads(line)
            yield msg
            if not command.startswith("record") or "done" in msg or msg.get("ok") is False:
                return


def command(port, text, timeout=None):
    for msg in lines(port, text, timeout):
        return msg
    raise ControlError("control port closed without a reply")
