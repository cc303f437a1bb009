#!/usr/bin/env python3
"""rlvr's Python package against Math-Verify, in one Python process, on the same pairs.

    python/.venv/bin/python benches/python_vs_math_verify.py [--sets numeric,math500,math_verify] [--limit N]

(The venv is the one `.ci/test` makes, with the `rlvr` extension and Math-Verify 0.9.0 installed;
for the README's figure the extension is built in release: `maturin develop --release -m python/Cargo.toml`.)

Per call: `rlvr.verify(gold, completion)` against `math_verify.verify(math_verify.parse(gold),
math_verify.parse(completion))` for every pair, one after the other on this thread. Batched: one
`rlvr.Engine().score(samples)` call over the whole set (rayon threads, GIL released; a gold that
repeats in the batch is parsed once) against the same Math-Verify loop, which has no batch form.
Bare golds of the numeric and MATH-500 sets are given to Math-Verify as `\\boxed{gold}`, as
benches/compare_math_verify.py does (verl's `math_verify` reward does the same).

Each measurement is the best of `--best-of` runs (default 3), wall time (`time.perf_counter`).
Math-Verify memoises parses (`functools.lru_cache`) and sympy caches simplifications, so before each
of its runs every `lru_cache` in `math_verify` and sympy's cache are cleared: every run pays for its
pairs as a first run does. The table reports pairs per second and the ratios.
"""

import argparse
import functools
import json
import os
import pathlib
import platform
import sys
import time

DATA = pathlib.Path(__file__).resolve().parent / "data"
SETS = {
    "numeric": ("numeric_pairs.jsonl", True),
    "math500": ("math500_pairs.jsonl", True),
    "math_verify": ("math_verify_pairs.jsonl", False),
}


def load(name, limit):
    rows = [json.loads(l) for l in (DATA / name).read_text(encoding="utf-8").splitlines() if l.strip()]
    return rows[:limit] if limit else rows


def clear_math_verify_caches():
    import sympy.core.cache
    import math_verify.grader
    import math_verify.parser

    for module in (math_verify.parser, math_verify.grader):
        for value in vars(module).values():
            if isinstance(value, functools._lru_cache_wrapper):
                value.cache_clear()
    sympy.core.cache.clear_cache()


def time_math_verify(pairs, box_gold):
    from math_verify import parse, verify

    clear_math_verify_caches()
    verdicts = []
    start = time.perf_counter()
    for p in pairs:
        gold = f"\\boxed{{{p['answer']}}}" if box_gold else p["answer"]
        try:
            verdicts.append(bool(verify(parse(gold), parse(p["completion"]))))
        except Exception:
            verdicts.append(False)
    return time.perf_counter() - start, verdicts


def time_rlvr_per_call(pairs):
    import rlvr

    start = time.perf_counter()
    verdicts = [rlvr.verify(p["answer"], p["completion"]) for p in pairs]
    return time.perf_counter() - start, verdicts


def time_rlvr_batch(engine, pairs):
    samples = [{"id": i, "answer": p["answer"], "completion": p["completion"]} for i, p in enumerate(pairs)]
    start = time.perf_counter()
    outcomes = engine.score(samples)
    return time.perf_counter() - start, [o["correct"] for o in outcomes]


def best(fn, runs):
    results = [fn() for _ in range(runs)]
    return min(t for t, _ in results), results[0][1]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sets", default=",".join(SETS))
    ap.add_argument("--limit", type=int)
    ap.add_argument("--best-of", type=int, default=3)
    args = ap.parse_args()

    import logging
    from importlib.metadata import version

    import math_verify
    import rlvr

    logging.getLogger("math_verify").setLevel(logging.ERROR)
    math_verify.verify(math_verify.parse("$1$"), math_verify.parse("$1$"))  # imports stay out of the timing
    engine = rlvr.Engine()
    engine_1 = rlvr.Engine(threads=1)
    print(f"rlvr {rlvr.__version__}, Math-Verify {version('math-verify')}, Python {platform.python_version()}, "
          f"{os.cpu_count()} CPUs; engine threads: {engine.threads}; best of {args.best_of}, wall time")
    print("| set | pairs | Math-Verify pairs/s | rlvr.verify pairs/s | per-call ratio | engine.score pairs/s (1 thread) "
          "| batched ratio (1 thread) | engine.score pairs/s (all threads) | batched ratio | agreement with labels (MV / rlvr) |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for name in args.sets.split(","):
        file, box_gold = SETS[name]
        pairs = load(file, args.limit)
        n = len(pairs)
        mv, mv_verdicts = best(lambda: time_math_verify(pairs, box_gold), args.best_of)
        call, call_verdicts = best(lambda: time_rlvr_per_call(pairs), args.best_of)
        batch1, _ = best(lambda: time_rlvr_batch(engine_1, pairs), args.best_of)
        batch, batch_verdicts = best(lambda: time_rlvr_batch(engine, pairs), args.best_of)
        labels = [p["expected"] for p in pairs]
        agree = lambda v: sum(a == b for a, b in zip(v, labels))
        assert call_verdicts == batch_verdicts, "per-call and batched verdicts differ"
        print(f"| {name} | {n} | {n / mv:,.0f} | {n / call:,.0f} | {mv / call:,.0f}x | {n / batch1:,.0f} | {mv / batch1:,.0f}x "
              f"| {n / batch:,.0f} | {mv / batch:,.0f}x | {agree(mv_verdicts)}/{n} / {agree(call_verdicts)}/{n} |")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
