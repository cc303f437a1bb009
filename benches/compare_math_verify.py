#!/usr/bin/env python3
"""Scores the same (gold, completion) pairs with Math-Verify and with rlvr; compares speed and labels.

Run through benches/compare_math_verify.sh, which provides the pinned venv and the release binary.

Both tools get one core and the same pairs (benches/data/*_pairs.jsonl):

* Math-Verify 0.9.0, in this process: `verify(parse(gold), parse(completion))` with the library's
  defaults. Bare golds of the numeric and MATH-500 sets are given as `\\boxed{gold}` (what verl's
  `math_verify` reward does); Math-Verify's own test pairs are given exactly as its tests give them.
  CPU time is `time.process_time()` around the calls.
* rlvr: `rlvr score --threads 1 --chunk 1` on the pairs repeated `--rlvr-repeat` times (so process
  start-up is amortised), CPU time from `getrusage(RUSAGE_CHILDREN)`, i.e. the whole process:
  start-up, JSON in and out, gold parsing for every sample (`--chunk 1` stops golds from being
  shared between samples, so nothing is cached across pairs). A second row uses the default chunk,
  where a gold repeated in a chunk is parsed once, as in a GRPO group.

Each tool runs `--best-of` times per set (default 3), interleaved with the other's runs, and its least
CPU time counts, as timeit advises on a shared machine. Every Math-Verify run is a fresh Python process
(its caches and sympy's would otherwise serve the later runs), as every rlvr run is a fresh process. Each tool's verdicts (first repetition for rlvr) are checked against the labels; the table shows
pairs per CPU-second, agreement with the labels and rlvr's throughput over Math-Verify's.
"""

import argparse
import json
import os
import pathlib
import platform
import resource
import subprocess
import sys
import tempfile
import time

DATA = pathlib.Path(__file__).resolve().parent / "data"
SETS = {
    "numeric": ("numeric_pairs.jsonl", True),
    "math500": ("math500_pairs.jsonl", True),
    "math_verify": ("math_verify_pairs.jsonl", False),
}


def load(name: str, limit: int | None) -> list:
    rows = [json.loads(l) for l in (DATA / name).read_text(encoding="utf-8").splitlines() if l.strip()]
    return rows[:limit] if limit else rows


def run_math_verify(pairs: list, box_gold: bool) -> tuple[list, float]:
    from math_verify import parse, verify

    verify(parse("$1$"), parse("$1$"))  # imports and grammar loading stay out of the timing
    verdicts = []
    cpu = 0.0
    for pair in pairs:
        gold = f"\\boxed{{{pair['answer']}}}" if box_gold else pair["answer"]
        start = time.process_time()
        try:
            ok = bool(verify(parse(gold), parse(pair["completion"])))
        except Exception:  # Math-Verify reports most failures as False; count the rest the same way
            ok = False
        cpu += time.process_time() - start
        verdicts.append(ok)
    return verdicts, cpu


def run_math_verify_fresh(name: str, limit: int | None) -> tuple[list, float]:
    """`run_math_verify` in a new Python process: Math-Verify and sympy memoise parses and
    simplifications, so a second pass in one process over the same pairs would be served from cache."""
    cmd = [sys.executable, __file__, "--mv-worker", name] + (["--limit", str(limit)] if limit else [])
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    result = json.loads(out)
    return result["verdicts"], result["cpu"]


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_rlvr(rlvr: str, pairs: list, repeat: int, chunk: int | None) -> tuple[list, float]:
    with tempfile.TemporaryDirectory() as tmp:
        inp = pathlib.Path(tmp) / "in.jsonl"
        out = pathlib.Path(tmp) / "out.jsonl"
        lines = [json.dumps({"id": i, "answer": p["answer"], "completion": p["completion"]}) for i, p in enumerate(pairs)]
        inp.write_text("\n".join(lines * repeat) + "\n", encoding="utf-8")
        cmd = [rlvr, "score", "--threads", "1", str(inp), "-o", str(out)]
        if chunk is not None:
            cmd += ["--chunk", str(chunk)]
        before = children_cpu()
        subprocess.run(cmd, check=True, stderr=subprocess.DEVNULL)
        cpu = children_cpu() - before
        outcomes = [json.loads(l) for l in out.read_text(encoding="utf-8").splitlines()[: len(pairs)]]
    return [bool(o.get("correct")) for o in outcomes], cpu


def agreement(verdicts: list, pairs: list) -> str:
    agree = sum(v == p["expected"] for v, p in zip(verdicts, pairs))
    return f"{agree}/{len(pairs)} ({100 * agree / len(pairs):.1f}%)"


def rate(n: int, cpu: float) -> float:
    return n / cpu if cpu > 0 else float("inf")


def cpu_model() -> str:
    try:
        for line in pathlib.Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rlvr", help="path to the rlvr release binary (omit with --mv-only)")
    ap.add_argument("--mv-only", action="store_true", help="run only the Math-Verify half")
    ap.add_argument("--sets", default=",".join(SETS), help="comma-separated: " + ", ".join(SETS))
    ap.add_argument("--limit", type=int, help="use only the first N pairs of each set")
    ap.add_argument("--rlvr-repeat", type=int, default=100, help="times rlvr scores each set (default 100)")
    ap.add_argument("--best-of", type=int, default=3,
                    help="runs of each tool per set, interleaved; the least CPU time counts (default 3)")
    ap.add_argument("--json", type=pathlib.Path, help="also write every verdict to this file")
    ap.add_argument("--mv-worker", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.mv_worker:
        file, box_gold = SETS[args.mv_worker]
        verdicts, cpu = run_math_verify(load(file, args.limit), box_gold)
        print(json.dumps({"verdicts": verdicts, "cpu": cpu}))
        return 0
    if not args.mv_only and not args.rlvr:
        ap.error("--rlvr is required unless --mv-only")

    from importlib.metadata import version

    print(f"Math-Verify {version('math-verify')}, sympy {version('sympy')}, Python {platform.python_version()}; "
          f"{cpu_model()}; one core each")
    header = "| set | pairs | Math-Verify pairs/CPU-s | Math-Verify agrees with labels |"
    rule = "|---|---:|---:|---:|"
    if not args.mv_only:
        header += (" rlvr pairs/CPU-s (--chunk 1) | rlvr pairs/CPU-s (default chunk) | rlvr agrees with labels |"
                   " rlvr ÷ Math-Verify (--chunk 1) | rlvr ÷ Math-Verify (default chunk) |")
        rule += "---:|---:|---:|---:|---:|"
    rows, details = [], {}
    total = {"n": 0, "mv": 0.0, "r1": 0.0, "rc": 0.0, "rn": 0}
    for name in [s.strip() for s in args.sets.split(",") if s.strip()]:
        if name not in SETS:
            ap.error(f"unknown set {name!r}")
        file, box_gold = SETS[name]
        pairs = load(file, args.limit)
        # Best of N, the runs of both tools interleaved: a burst of load from other tenants of a
        # shared machine then inflates one run, not one tool's figure.
        mv_cpu = r1_cpu = rc_cpu = float("inf")
        for _ in range(args.best_of):
            mv, cpu = run_math_verify_fresh(name, args.limit)
            mv_cpu = min(mv_cpu, cpu)
            if not args.mv_only:
                rv, cpu = run_rlvr(args.rlvr, pairs, args.rlvr_repeat, 1)
                r1_cpu = min(r1_cpu, cpu)
                _, cpu = run_rlvr(args.rlvr, pairs, args.rlvr_repeat, None)
                rc_cpu = min(rc_cpu, cpu)
        total["n"] += len(pairs)
        total["mv"] += mv_cpu
        row = f"| {name} | {len(pairs)} | {rate(len(pairs), mv_cpu):,.0f} | {agreement(mv, pairs)} |"
        details[name] = {"math_verify": mv, "labels": [p["expected"] for p in pairs], "ids": [p["id"] for p in pairs]}
        if not args.mv_only:
            n = len(pairs) * args.rlvr_repeat
            total["r1"] += r1_cpu
            total["rc"] += rc_cpu
            total["rn"] += n
            ratio = rate(n, r1_cpu) / rate(len(pairs), mv_cpu)
            shared = rate(n, rc_cpu) / rate(len(pairs), mv_cpu)
            row += (f" {rate(n, r1_cpu):,.0f} | {rate(n, rc_cpu):,.0f} | {agreement(rv, pairs)} | {ratio:,.0f}× |"
                    f" {shared:,.0f}× |")
            details[name]["rlvr"] = rv
        rows.append(row)
        print(f"  {name}: done", file=sys.stderr)
    if len(rows) > 1:
        row = f"| **all** | {total['n']} | {rate(total['n'], total['mv']):,.0f} | |"
        if not args.mv_only:
            ratio = rate(total["rn"], total["r1"]) / rate(total["n"], total["mv"])
            shared = rate(total["rn"], total["rc"]) / rate(total["n"], total["mv"])
            row += (f" {rate(total['rn'], total['r1']):,.0f} | {rate(total['rn'], total['rc']):,.0f} | |"
                    f" {ratio:,.0f}× | {shared:,.0f}× |")
        rows.append(row)
    print()
    print(header)
    print(rule)
    for row in rows:
        print(row)
    if args.json:
        args.json.write_text(json.dumps(details, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
