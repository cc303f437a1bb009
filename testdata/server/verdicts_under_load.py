#!/usr/bin/env python3
"""Same programs, concurrency 1, 8 and 64, through verl's own SandboxFusion client
(`verl_sandbox_fusion_utils.py`, vendored unmodified): every level must give the same per-test
results, and the expected ones. Used by tests/server_clients.rs; also runnable by hand:

    python3 testdata/server/verdicts_under_load.py http://127.0.0.1:8080/run_code [LEVEL ...]

Prints one JSON object per level and exits 1 on any difference.
"""

import json
import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from verl_sandbox_fusion_utils import check_correctness  # noqa: E402

# Several seconds alone on CPython-on-WASI (about 1 s of native CPython): the case of a
# correct program that timed out when 8 ran at once at verl's default run_timeout of 10.
SLOW = """
n = int(input())
s = 0
for i in range(6_000_000):
    s = (s + i * i) % 1_000_003
print(n * 2, s)
"""
SLOW_SUM = sum(i * i for i in range(6_000_000)) % 1_000_003  # same arithmetic, mod at the end

# Fast, mixed outcomes: right, wrong for n % 5 == 3, an exception for n % 7 == 6.
MIXED = """
n = int(input())
if n % 7 == 6:
    raise ValueError(n)
print(n * 2 + (1 if n % 5 == 3 else 0))
"""

# An endless loop for n == 0: a time-out decided by fuel, whatever the load.
LOOP = """
n = int(input())
while n == 0:
    pass
print(n)
"""


def problems():
    slow_inputs = [str(i) for i in range(8)]
    yield "slow", SLOW, 10, {"inputs": slow_inputs, "outputs": [f"{i * 2} {SLOW_SUM}" for i in range(8)]}, [True] * 8
    mixed_inputs = list(range(64))
    expected = [(-2 if n % 7 == 6 else (False if n % 5 == 3 else True)) for n in mixed_inputs]
    yield "mixed", MIXED, 10, {"inputs": [str(n) for n in mixed_inputs], "outputs": [str(n * 2) for n in mixed_inputs]}, expected
    yield "loop", LOOP, 1, {"inputs": ["0", "1", "2"], "outputs": ["0", "1", "2"]}, [-3, True, True]


def main() -> int:
    url = sys.argv[1]
    levels = [int(x) for x in sys.argv[2:]] or [1, 8, 64]
    failed = False
    first = None
    for level in levels:
        semaphore = threading.Semaphore(level)
        got = {}
        started = time.monotonic()
        for name, code, timeout, in_outs, expected in problems():
            results, metadata = check_correctness(
                url, in_outs, code, timeout=timeout, memory_limit_mb=1024, language="python",
                concurrent_semaphore=semaphore,
            )
            got[name] = results
            if results != expected:
                failed = True
                bad = [(i, r, e, metadata[i].get("status"), metadata[i].get("api_request_error"))
                       for i, (r, e) in enumerate(zip(results, expected)) if r != e]
                print(json.dumps({"level": level, "problem": name, "unexpected": bad[:8]}), flush=True)
        print(json.dumps({"level": level, "seconds": round(time.monotonic() - started, 2), "results": got}), flush=True)
        if first is None:
            first = got
        elif got != first:
            failed = True
            print(json.dumps({"level": level, "differs_from_level": levels[0]}), flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
