#!/usr/bin/env python3
"""Bounded load test for `rlvr serve`: loopback only, a fixed number of requests per level, a hard
time cap, and a check that nothing is lost (every request answered 200, every sample in its answer).

    cargo build --release
    python3 benches/load_test.py --kind math --concurrency 1 8 64 --requests 200 --batch 16
    python3 benches/load_test.py --kind code --data benches/data/code_python.jsonl --requests 50 --batch 4

It starts `target/release/rlvr serve --port 0` itself (127.0.0.1; or pass --url of one already
running on loopback), sends `--requests` POST /v1/score requests of `--batch` samples at each
concurrency level from that many threads on keep-alive connections, and prints one Markdown row per
level: samples/s, request latency p50/p99, and lost requests/samples. Exit code 1 if anything was lost.
Standard library only.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import subprocess
import sys
import threading
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))


def math_samples(n: int) -> list[dict]:
    """Deterministic GRPO-like math batches: groups of 8 completions per gold, mixed forms, ~half right."""
    golds = []
    for k in range(1, 65):
        golds.append((str(k * 7), [f"{k * 7}", f"{k * 7}.0", f"{k * 7 + 1}"]))
        golds.append((f"\\frac{{{k}}}{{{k + 1}}}", [f"\\frac{{{k}}}{{{k + 1}}}", f"{k}/{k + 1}", f"\\frac{{{k + 1}}}{{{k}}}"]))
        golds.append((f"{k}\\sqrt{{2}}", [f"{k}\\sqrt{{2}}", f"\\sqrt{{{2 * k * k}}}", f"{k}\\sqrt{{3}}"]))
    samples = []
    for i in range(n):
        gold, forms = golds[(i // 8) % len(golds)]
        pred = forms[i % len(forms)]
        completion = f"<think>Let me work it out step by step.</think> The final answer is $\\boxed{{{pred}}}$."
        samples.append({"id": i, "completion": completion, "answer": gold})
    return samples


def file_samples(path: str, n: int) -> list[dict]:
    """The first samples of a JSONL file, cycled to n; labels (expect_pass, source) are dropped."""
    with open(path, encoding="utf-8") as f:
        rows = [json.loads(line) for line in f if line.strip()]
    keep = ("completion", "tests", "language", "answer", "recipe")
    base = [{k: r[k] for k in keep if k in r} for r in rows]
    return [dict(base[i % len(base)], id=i) for i in range(n)]


def start_server(binary: str, extra: list[str]) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen(
        [binary, "serve", "--host", "127.0.0.1", "--port", "0", *extra],
        stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True,
    )
    assert proc.stderr is not None
    for line in proc.stderr:
        if line.startswith("rlvr: listening on "):
            return proc, line.split()[3]
    raise RuntimeError("rlvr serve exited before listening")


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def run_level(url: str, bodies: list[bytes], batch: int, concurrency: int, max_seconds: float) -> dict:
    parsed = urllib.parse.urlparse(url)
    assert parsed.hostname in ("127.0.0.1", "localhost", "::1"), "loopback only"
    next_index = [0]
    lock = threading.Lock()
    latencies: list[float] = []
    lost_requests = [0]
    lost_samples = [0]
    statuses: dict[int, int] = {}
    deadline = time.monotonic() + max_seconds

    def worker() -> None:
        conn = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=max_seconds + 60)
        while True:
            with lock:
                i = next_index[0]
                if i >= len(bodies) or time.monotonic() > deadline:
                    break
                next_index[0] += 1
            start = time.perf_counter()
            try:
                conn.request("POST", "/v1/score", body=bodies[i], headers={"Content-Type": "application/json"})
                response = conn.getresponse()
                raw = response.read()
                status = response.status
            except (OSError, http.client.HTTPException):
                conn.close()
                conn = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=max_seconds + 60)
                status, raw = 0, b""
            elapsed = time.perf_counter() - start
            answered = len(json.loads(raw)["results"]) if status == 200 else 0
            with lock:
                statuses[status] = statuses.get(status, 0) + 1
                latencies.append(elapsed)
                if status != 200:
                    lost_requests[0] += 1
                lost_samples[0] += batch - answered
        conn.close()

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - start
    sent = len(latencies)
    return {
        "concurrency": concurrency,
        "requests": sent,
        "samples": sent * batch,
        "seconds": wall,
        "samples_per_s": (sent * batch - lost_samples[0]) / wall if wall > 0 else 0.0,
        "p50_ms": 1000 * percentile(latencies, 0.50),
        "p99_ms": 1000 * percentile(latencies, 0.99),
        "lost_requests": lost_requests[0],
        "lost_samples": lost_samples[0],
        "statuses": statuses,
        "verdicts": None,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kind", choices=["math", "code"], default="math")
    parser.add_argument("--data", default=os.path.join(HERE, "data", "code_python.jsonl"),
                        help="JSONL samples for --kind code")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 8, 64])
    parser.add_argument("--requests", type=int, default=200, help="requests per concurrency level")
    parser.add_argument("--batch", type=int, default=16, help="samples per request")
    parser.add_argument("--max-seconds", type=float, default=60.0, help="hard cap per level")
    parser.add_argument("--binary", default=os.path.join(HERE, "..", "target", "release", "rlvr"))
    parser.add_argument("--url", help="an already running server on loopback (default: start one)")
    parser.add_argument("--json", help="also write the figures here")
    args = parser.parse_args()

    n = args.requests * args.batch
    samples = math_samples(n) if args.kind == "math" else file_samples(args.data, n)
    bodies = [json.dumps({"samples": samples[i:i + args.batch]}).encode() for i in range(0, n, args.batch)]

    proc = None
    url = args.url
    if url is None:
        proc, url = start_server(args.binary, [])
    try:
        # One verdict census, so the figures say what was measured.
        conn = http.client.HTTPConnection(urllib.parse.urlparse(url).hostname, urllib.parse.urlparse(url).port)
        conn.request("POST", "/v1/score", body=bodies[0], headers={"Content-Type": "application/json"})
        census: dict[str, int] = {}
        for r in json.loads(conn.getresponse().read())["results"]:
            census[r["verdict"]] = census.get(r["verdict"], 0) + 1
        conn.close()
        rows = [run_level(url, bodies, args.batch, c, args.max_seconds) for c in args.concurrency]
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(timeout=30)

    print(f"kind={args.kind} batch={args.batch} requests/level={args.requests} verdicts(first batch)={census}")
    print("| kind | concurrency | requests | samples | seconds | samples/s | p50 ms | p99 ms | lost requests | lost samples |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {args.kind} | {r['concurrency']} | {r['requests']} | {r['samples']} | {r['seconds']:.2f} | "
              f"{r['samples_per_s']:.0f} | {r['p50_ms']:.1f} | {r['p99_ms']:.1f} | {r['lost_requests']} | "
              f"{r['lost_samples']} |")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump({"kind": args.kind, "batch": args.batch, "census": census, "levels": rows}, f, indent=2)
    lost = any(r["lost_requests"] or r["lost_samples"] or r["requests"] < args.requests for r in rows)
    return 1 if lost else 0


if __name__ == "__main__":
    sys.exit(main())
