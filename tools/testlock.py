# A whole lock minus the radio and the motor, on a pipe, for the fuzzer (tools/fuzz.py) and the power-cut
# torture (tools/torture.py). Runs under MicroPython (MICROPYPATH=firmware:boards/sim):
#   micropython tools/testlock.py FLASH_DIR SEED_HEX ITERATIONS
# It boots the way main.py does (the real App on a stub board, then the protocol endpoint as ble.py builds
# it), with FLASH_DIR mounted at /flash through a VFS that counts what is written: one unit per byte of file
# data and one per rename, remove, mkdir or rmdir. "X n" cuts the power at the n-th unit from then on: that
# write stops part way, nothing after it reaches the flash, and the process exits 99 at once.
#
# In (one line each):  M who ch hex   a whole message on channel ch (0 pairing, 1 command)
#                      F who ch hex.. fragments into that connection's wire.Reassembler, as ble.py does;
#                                     one answer each, space-separated ("." is an empty fragment)
#                      D who          disconnect      T ms   set the clock     E / B   long / short press
#                      S              the flash as a boot reads it (JSON)      W       units written so far
#                      H              heap in use and free after a collection
#                      K json         save a calibration (the control loop's writer)
#                      R              factory reset (the button's; boot again after it)
#                      X n            cut the power at the n-th unit written from now      Q   quit
# Out: "= " and the reply in hex ("= -" for a fragment that completes nothing, "= ok"), or "= !" and the
# exception a handler let escape. Anything else on stdout is the firmware's own printing.
import os
import sys
import json
import binascii

from drbg import Drbg  # tools/ (this script's folder)
import board as sim_board  # boards/sim: its parameters, not its drivers (they need simlock's bus)

MOUNT = "/flash"


class PowerCut(BaseException):
    """Not an Exception: no handler in the firmware may catch it."""


class _File:
    def __init__(self, f, vfs):
        self.f = f
        self.vfs = vfs

    def write(self, data):
        n = self.vfs.spend(len(data))
        if n < len(data):
            self.f.write(bytes(data)[:n])
            self.f.close()
            raise PowerCut()
        return self.f.write(data)

    def read(self, *n):
        self.vfs.spend(0)
        return self.f.read(*n)

    def readinto(self, buf):
        self.vfs.spend(0)
        return self.f.readinto(buf)

    def flush(self):
        self.vfs.spend(0)
        return self.f.flush()

    def close(self):
        return self.f.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.f.close()


class CountingVfs:
    """FLASH_DIR as a MicroPython VFS: every firmware file operation on /flash passes here."""

    def __init__(self, real):
        self.real = real
        self.cwd = "/"
        self.written = 0
        self.budget = -1    # units left before the cut; -1 = never
        self.dead = False

    def spend(self, n):
        """How many of n units still reach the flash; raises PowerCut once the power is gone."""
        if self.dead:
            raise PowerCut()
        if self.budget < 0:
            self.written += n
            return n
        if n >= self.budget:
            n, self.budget, self.dead = self.budget, 0, True
            self.written += n
            return n
        self.budget -= n
        self.written += n
        return n

    def meta(self):
        if self.spend(1) < 1:
            raise PowerCut()

    def _p(self, p):
        return self.real + (p if p.startswith("/") else self.cwd + p)

    def mount(self, readonly, mkfs):
        pass

    def umount(self):
        pass

    def open(self, path, mode):
        if self.dead:
            raise PowerCut()
        return _File(open(self._p(path), mode), self)

    def ilistdir(self, path):
        self.spend(0)
        return os.ilistdir(self._p(path))

    def chdir(self, path):
        self.cwd = path if path.endswith("/") else path + "/"

    def getcwd(self):
        return self.cwd

    def mkdir(self, path):
        self.meta()
        os.mkdir(self._p(path))

    def rmdir(self, path):
        self.meta()
        os.rmdir(self._p(path))

    def remove(self, path):
        self.meta()
        os.remove(self._p(path))

    def rename(self, old, new):
        self.meta()
        os.rename(self._p(old), self._p(new))

    def stat(self, path):
        self.spend(0)
        return os.stat(self._p(path))

    def statvfs(self, path):
        return os.statvfs(self._p(path))


class _Part:
    """Every stub driver at once: nothing moves, the key sits at 0, the cells are full."""

    def __init__(self, *args):
        pass

    def enable(self, on):
        pass

    def step(self, n):
        pass

    def read(self):
        return 0

    def write(self, pixels):
        pass

    def feed(self):
        pass

    def pressed(self):
        return False

    def read_uv(self):
        return 6000000


class Board:
    """The simulated board's parameters (boards/sim/board.py, on the path) with stub drivers, this flash, and a
    short first lockout so that a run reaches the longer lockouts."""
    FLASH_ROOT = MOUNT
    STEPS_PER_REV = sim_board.STEPS_PER_REV
    MAX_SPEED = sim_board.MAX_SPEED
    ACCEL = sim_board.ACCEL
    JAM_MARGIN_MS = sim_board.JAM_MARGIN_MS
    FULL_LOCK = sim_board.FULL_LOCK
    UNLATCH_HOLD_MS = sim_board.UNLATCH_HOLD_MS
    RING_PIXELS = sim_board.RING_PIXELS
    RING_FPS = sim_board.RING_FPS
    RING_UPPER = sim_board.RING_UPPER
    BATTERY_KIND = sim_board.BATTERY_KIND
    BATTERY_CELLS = sim_board.BATTERY_CELLS
    PAIRING_TIMEOUT_MS = 60000
    FIRST_LOCKOUT_MS = 1000
    Stepper = Sensor = Ring = Button = BatteryADC = Watchdog = _Part
    rebooted = False

    @staticmethod
    def report(status):
        pass

    @classmethod
    def reset(cls):
        cls.rebooted = True


def _stores(path, out):
    """Every file under path: name -> None if it verifies as a store file, else why not."""
    from lock import store
    for name in os.listdir(path):
        full = path + "/" + name
        if os.stat(full)[0] & 0x4000:
            _stores(full, out)
            continue
        rel = full[len(MOUNT) + 1:]
        if name.endswith(".tmp"):
            out[rel] = "tmp"
            continue
        try:
            for _ in store.Reader(full):
                pass
            out[rel] = None
        except store.CorruptError:
            out[rel] = "corrupt"


def snapshot(iterations, now):
    """What the next boot would find: each file verified, each store decoded by the firmware's readers."""
    from lock import store
    from lock.devices import Registry
    from lock.passcode import Passcode
    files = {}
    _stores(MOUNT, files)
    code = Passcode(MOUNT, now, iterations, rng=lambda n: bytes(n))
    out = {"files": files,
           "code": {"set": code.is_set, "fails": code.fails, "iterations": code.iterations,
                    "salt": binascii.hexlify(code.salt).decode(),
                    "prs": None if code.prs is None else binascii.hexlify(code.prs).decode()}}
    reg = Registry(MOUNT)
    devs = []
    cursor = 0
    while cursor is not None:
        found, cursor = reg.page(cursor, 8)
        for d in found:
            devs.append([d.id, d.type, d.flags, d.name, binascii.hexlify(d.key).decode(), d.created])
    out["devices"] = sorted(devs)
    for name in ("settings", "calibration"):
        try:
            got = store.load(MOUNT + "/" + name)
            out[name] = None if got is None else [got[0], json.loads(got[1])]
        except (store.CorruptError, ValueError):
            out[name] = "corrupt"
    return out


def _deliver(proto, asm, who, channel, data_hex, fragment, now):
    """A whole message, or one fragment (hex, "." for none) into that connection's reassembler; the reply in
    hex, "-" if a fragment completed nothing, "!..." if an exception escaped."""
    from lock import wire
    try:
        msg = binascii.unhexlify(data_hex.strip("."))
        reply = None
        if fragment:
            r = asm.get((who, channel))
            if r is None:
                r = asm[(who, channel)] = wire.Reassembler()
            try:
                msg = r.feed(msg)
            except wire.WireError as e:
                msg, reply = None, wire.error(e.code)
        if msg is not None:
            reply = proto.handle(who, channel, msg, now)
            for gone in proto.take_closing():
                proto.disconnected(gone, now)
                for ch in (0, 1):
                    asm.pop((gone, ch), None)
        if reply is not None and len(reply) > 1024:
            raise ValueError("a reply of %d bytes: more than a frame carries" % len(reply))
        return "-" if reply is None else binascii.hexlify(reply).decode()
    except PowerCut:
        raise
    except Exception as e:
        sys.print_exception(e)
        return "!" + repr(e).replace(" ", "_")


def main():
    root, seed, iterations = sys.argv[1], binascii.unhexlify(sys.argv[2]), int(sys.argv[3])
    vfs = CountingVfs(root)
    os.mount(vfs, MOUNT)
    try:
        serve(vfs, Drbg(seed), iterations)
    except PowerCut:
        sys.exit(99)


def serve(vfs, rng, iterations):
    from lock import app as app_mod
    from lock.protocol import LockProtocol
    from lock.passcode import Passcode
    now = 0
    app = app_mod.App(Board)            # boot: finishes an interrupted factory reset, loads settings
    proto = LockProtocol(".", app, app.pairmode, now, rng=rng,
                         code=Passcode(".", now, iterations, rng, app.first_lockout_ms))
    proto.passcode.on_wrong = app.wrong_code
    asm = {}                            # (who, channel) -> wire.Reassembler, as ble.py keeps per connection
    while True:
        line = sys.stdin.readline()
        if not line:
            return
        parts = line.split()
        op = parts[0] if parts else ""
        out = "ok"
        try:
            if op == "M":
                out = _deliver(proto, asm, parts[1], int(parts[2]), parts[3] if len(parts) > 3 else "", False, now)
            elif op == "F":
                out = " ".join(_deliver(proto, asm, parts[1], int(parts[2]), f, True, now) for f in parts[3:])
            elif op == "D":
                proto.disconnected(parts[1], now)
                for ch in (0, 1):
                    asm.pop((parts[1], ch), None)
            elif op == "T":
                now = int(parts[1])
                proto.tick(now)
            elif op == "E":
                app.pairmode.enter(now)
            elif op == "B":
                app.pairmode.short_press(now)
            elif op == "S":
                import gc
                gc.collect()
                out = json.dumps(snapshot(iterations, now))
            elif op == "W":
                out = str(vfs.written)
            elif op == "H":
                import gc
                gc.collect()
                out = "%d %d" % (gc.mem_alloc(), gc.mem_free())
            elif op == "K":
                app_mod._save_json(app_mod._CALIBRATION_FILE, json.loads(line[2:]))
            elif op == "R":
                app.factory_reset()     # ends in Board.reset(): the caller boots again, as the board would
            elif op == "X":
                vfs.budget = int(parts[1])
            elif op == "Q":
                return
            else:
                out = "!unknown " + op
        except PowerCut:
            raise
        except Exception as e:
            sys.print_exception(e)
            out = "!" + repr(e).replace(" ", "_")
        sys.stdout.write("= " + out + "\n")


main()
