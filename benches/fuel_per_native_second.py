#!/usr/bin/env python3
"""How much fuel CPython on WASI burns for one second of *native* CPython: the figure behind
`/run_code`'s `run_timeout` → fuel mapping (src/server/run_code.rs, FUEL_PER_SECOND).

    python3 benches/fuel_per_native_second.py [--binary target/release/rlvr]

Each CPU-bound program runs natively (`python3`, best of 3) and once through `rlvr score` (its
test result carries the fuel and wall time of the sandboxed run). Prints one Markdown row per
program: native seconds, WASI seconds, slowdown, fuel, fuel per native second.
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
    for name, code in PROGRAMS.items():
        native, out = native_seconds(code)
        sample = {"id": name, "language": "python", "completion": f"```python\n{code}```",
                  "tests": {"stdio": [{"input": "", "output": out}], "limits": {"fuel": 400_000_000_000, "wall_ms": 600_000}}}
        run = subprocess.run([args.binary, "score", "-"], input=json.dumps(sample) + "\n", capture_output=True,
                             text=True, check=True)
        outcome = json.loads(run.stdout.splitlines()[0])
        test = outcome["details"]["tests"][0] if "details" in outcome else outcome["tests"][0]
        fuel, wasi = test["fuel"], test["wall_ms"] / 1000
        print(f"| {name} | {native:.3f} | {wasi:.3f} | {wasi / native:.2f}× | {fuel:.3g} | {fuel / native:.3g} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
