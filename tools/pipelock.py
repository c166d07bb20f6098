# A lock's protocol endpoint on stdin/stdout, run under MicroPython (MICROPYPATH=firmware):
#   micropython tools/pipelock.py FLASH_DIR [SEED_HEX [ITERATIONS]]
# For tests, transcripts and the bench: the same LockProtocol the BLE service runs, fed whole messages.
# In:  "P who hex" / "C who hex" (a message on the pairing / command characteristic), "T ms" (clock),
#      "D who" (disconnect), "E" (enter pairing mode), "B" (short press), "S" (state),
#      "L" (microseconds the last message took), "M" (heap bytes in use after a collection),
#      "X error" (the mechanics report the bolt error `error`; "X" alone clears it), "Q".
# Out: one line per input: the reply message in hex, "ok", or a JSON object for "S".
import sys
import json
import binascii
import time
import gc

from lock.protocol import LockProtocol, PAIR, COMMAND
from lock.pairmode import PairMode
from lock.passcode import Passcode, ITERATIONS

from drbg import Drbg  # tools/ (this script's folder)


class Mechanics:
    def __init__(self):
        self.actions = []
        self.state = "locked"
        self.error = None

    def status(self):
        return {"state": self.state, "battery": 80, "low": False, "critical": False, "error": self.error,
                "version": "pipe"}

    def request(self, action):
        self.actions.append(action)
        self.state = {"lock": "locked", "unlock": "unlocked"}.get(action, self.state)
        return None


def main():
    import os
    args = sys.argv[1:]
    root = args[0]
    rng = Drbg(binascii.unhexlify(args[1])) if len(args) > 1 and args[1] else os.urandom
    iterations = int(args[2]) if len(args) > 2 else ITERATIONS
    now = 0
    last_us = 0
    mech = Mechanics()
    pm = PairMode()
    proto = LockProtocol(root, mech, pm, now, rng=rng, code=Passcode(root, now, iterations, rng))
    while True:
        line = sys.stdin.readline()
        if not line:
            return
        parts = line.split()
        op = parts[0] if parts else ""
        if op in ("P", "C"):
            msg = binascii.unhexlify(parts[2]) if len(parts) > 2 else b""
            t0 = time.ticks_us()
            reply = proto.handle(parts[1], PAIR if op == "P" else COMMAND, msg, now)
            last_us = time.ticks_diff(time.ticks_us(), t0)
            out = binascii.hexlify(reply).decode()
        elif op == "T":
            now = int(parts[1])
            proto.tick(now)
            out = "ok"
        elif op == "D":
            proto.disconnected(parts[1], now)
            out = "ok"
        elif op == "E":
            pm.enter(now)
            out = "ok"
        elif op == "B":
            pm.short_press(now)
            out = "ok"
        elif op == "S":
            out = json.dumps({"devices": proto.devices.count(), "fails": proto.passcode.fails,
                              "lockout_ms": proto.passcode.locked_for(now), "pairing": pm.active,
                              "code_set": proto.passcode.is_set, "actions": mech.actions,
                              "closing": proto.take_closing()})
        elif op == "L":
            out = str(last_us)
        elif op == "M":
            gc.collect()
            out = str(gc.mem_alloc())
        elif op == "X":
            mech.error = parts[1] if len(parts) > 1 else None
            out = "ok"
        elif op == "Q":
            return
        else:
            out = "error"
        sys.stdout.write(out + "\n")


if __name__ == "__main__":
    main()
