"""`make bench`: print the figures that speed and memory goals are judged by (no assertions).

- crypto primitives, firmware vs client (tools/bench_crypto.py)
- pairing and per-command cost (tools/bench_security.py, when present)
- RAM: the smallest MicroPython heap on which the compiled firmware boots and does a lock/unlock cycle
"""
import pathlib
import subprocess
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "host_tests"))


def run_script(name):
    path = ROOT / "tools" / name
    if path.exists():
        print("== %s" % name, flush=True)
        subprocess.run([sys.executable, str(path)], check=False)
        print(flush=True)


def cycles_on(heap_k):
    from sim import SimLock
    with tempfile.TemporaryDirectory() as tmp:
        lock = None
        try:
            lock = SimLock(pathlib.Path(tmp) / "flash", heap="%dk" % heap_k)
            lock.wait_for(lambda s: s["lock"] in ("locked", "unlocked"), timeout=30)
            for _ in range(2):
                was = lock.state()["lock"]
                lock.bench("button press")
                lock.wait_lock("unlocked" if was == "locked" else "locked", timeout=10)
            return True
        except AssertionError:
            return False
        finally:
            if lock:
                lock.stop()


def smallest_heap():
    print("== RAM: smallest heap for boot + calibration + lock/unlock (compiled firmware, 64-bit host)")
    lo, hi = 8, 64
    if not cycles_on(hi):
        print("does not run in %d KiB" % hi)
        return
    while hi - lo > 2:
        mid = (lo + hi) // 2
        ok = cycles_on(mid)
        print("  %3d KiB: %s" % (mid, "runs" if ok else "fails"), flush=True)
        lo, hi = (lo, mid) if ok else (mid, hi)
    print("smallest heap that runs: %d KiB (the board budget is 64 KiB)" % hi)


if __name__ == "__main__":
    run_script("bench_crypto.py")
    run_script("bench_security.py")
    smallest_heap()
