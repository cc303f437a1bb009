#!/usr/bin/env python3
"""How much fuel CPython on WASI burns for one second of *native* CPython: the figure behind
`/run_code`'s `run_timeout` → fuel mapping (src/server/run_code.rs, FUEL_PER_SECOND).

    python3 benches/fuel_per_native_second.py [--binary target/release/rlvr]

Each CPU-bound program runs natively (`python3`, best of 3) and through `rlvr score`, whose
results carry verdicts, not fuel: the fuel a program needs is found by bisection on the test's
`limits.fuel` (the smallest budget that passes, to 1 %), and its WASI seconds are the wall time of
the passing `rlvr score` run less that of an empty program. Prints one Markdown row per program:
native seconds, WASI seconds, slowdown, fuel, fuel per native second.
"""

import argparse
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))

PROGRAMS = {
    "int loop (s += i*i % m)": "s = 0\nfor i in range(3_000_000):\n    s = (s + i * i) % 1_000_003\nprint(s)\n",
    "xorshift on ints": "x = 88172645463325252\nfor _ in range(1_000_000):\n    x ^= (x << 13) & 0xFFFFFFFFFFFFFFFF\n    x ^= x >> 7\n    x ^= (x << 17) & 0xFFFFFFFFFFFFFFFF\nprint(x)\n",
    "dict + str work": "d = {}\nfor i in range(400_000):\n    d[str(i)] = len(str(i * 7))\nprint(sum(d.values()))\n",
    "list sort": "import random\nrandom.seed(1)\na = [random.random() for _ in range(600_000)]\na.sort()\nprint(round(a[0], 3))\n",
}


def timed(code: str) -> tuple[float, str]:
    best, out = float("inf"), ""
    for _ in range(3):
        t = time.perf_counter()
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
        best = min(best, time.perf_counter() - t)
    return best, out


def native_seconds(code: str) -> tuple[float, str]:
    """Best of 3, less the interpreter's start-up (best of 3 of an empty program)."""
    start_up, _ = timed("pass")
    t, out = timed(code)
    return max(t - start_up, 1e-6), out


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--binary", default=os.path.join(HERE, "..", "target", "release", "rlvr"))
    args = p.parse_args()
    print("| program | native s | WASI s | slowdown | fuel | fuel per native s |")
    print("|---|---:|---:|---:|---:|---:|")
    def sandboxed(code: str, out: str, fuel: int) -> tuple[bool, float]:
        sample = {"id": "p", "language": "python", "completion": f"```python\n{code}```",
                  "tests": {"stdio": [{"input": "", "output": out}], "limits": {"fuel": fuel, "wall_ms": 600_000}}}
        t = time.perf_counter()
        run = subprocess.run([args.binary, "score", "-"], input=json.dumps(sample) + "\n", capture_output=True,
                             text=True, check=True)
        return json.loads(run.stdout.splitlines()[0])["correct"], time.perf_counter() - t

    # The cost of a run that does nothing: process start, module load (cached), instantiation.
    base = min(sandboxed("pass\n", "", 10**10)[1] for _ in range(3))
    for name, code in PROGRAMS.items():
        native, out = native_seconds(code)
        lo, hi = 10**6, 4 * 10**11
        ok, wall = sandboxed(code, out, hi)
        if not ok:
            print(f"| {name} | {native:.3f} | fails even with {hi:.3g} fuel | | | |")
            continue
        while hi > lo * 1.01:
            mid = int((lo * hi) ** 0.5)
            passed, t = sandboxed(code, out, mid)
            if passed:
                hi, wall = mid, t
            else:
                lo = mid
        wasi = max(wall - base, 1e-6)
        print(f"| {name} | {native:.3f} | {wasi:.3f} | {wasi / native:.2f}× | {hi:.3g} | {hi / native:.3g} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
