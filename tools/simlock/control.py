"""Client side of the control port."""
import json
import socket


class ControlError(Exception):
    pass


def lines(port, command, timeout=None, host="127.0.0.1"):
    """Send one command; yield its reply lines (several for `record`, ending with the `done` line)."""
    try:
        sock = socket.create_connection((host, port), timeout=5)
    except OSError as e:
        raise ControlError("no simulated lock on control port %d (%s): start one with `simlock run`"
                           % (port, e.strerror or e))
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
