#!/usr/bin/env python3
"""Bounded load test for `rlvr serve`: loopback only, a fixed number of requests per level, a hard
time cap, and a check that nothing is lost and no verdict is wrong.

    cargo build --release
    python3 benches/load_test.py --kind math --concurrency 1 8 64 --requests 200 --batch 16
    python3 benches/load_test.py --kind code --requests 50 --batch 4
    # scale-out: 3 replicas behind HAProxy (installed with apt-get when missing), or sharded by
    # the client over the replica URLs as OpenRLHF does with --reward.remote_url URL1,URL2,URL3
    python3 benches/load_test.py --replicas 3 --balancer haproxy --concurrency 8 64
    python3 benches/load_test.py --replicas 3 --balancer client --concurrency 8 64
    # kill one replica (SIGKILL) 2 s into each level: clients that retry lose nothing
    python3 benches/load_test.py --replicas 3 --balancer haproxy --kill-one-at 2

It starts `--replicas` × `target/release/rlvr serve --port 0` itself (127.0.0.1 only; or pass
--url of one already running on loopback), sends `--requests` POST /v1/score requests of
`--batch` samples at each concurrency level from that many threads on keep-alive connections, and
prints one Markdown row per level: samples/s, request latency p50/p99, retried, lost requests and
samples, wrong verdicts. A request that fails (connection error, 5xx, 429) is retried up to
`--retries` times (the trainers' clients retry 5–10 times); one that still fails is *lost*. A
*wrong verdict* is a sample whose `correct` differs from its label (math: built so that two of
every three forms are equivalent to the gold; code: the file's `expect_pass`). Exit code 1 if
anything was lost or wrong. Standard library only (plus the haproxy binary for --balancer haproxy).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def math_samples(n: int) -> list[dict]:
    """Deterministic GRPO-like math batches: groups of 8 completions per gold, mixed forms; forms 0
    and 1 are equivalent to the gold, form 2 is not (the label `expect`)."""
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
        samples.append({"id": i, "completion": completion, "answer": gold, "_expect": i % len(forms) != 2})
    return samples


def file_samples(path: str, n: int) -> list[dict]:
    """The first samples of a JSONL file, cycled to n; `expect_pass` becomes the label."""
    with open(path, encoding="utf-8") as f:
        rows = [json.loads(line) for line in f if line.strip()]
    keep = ("completion", "tests", "language", "answer", "recipe")
    base = [dict({k: r[k] for k in keep if k in r}, _expect=r.get("expect_pass", r.get("expected"))) for r in rows]
    return [dict(base[i % len(base)], id=i) for i in range(n)]


def start_server(binary: str, port: int = 0) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen(
        [binary, "serve", "--host", "127.0.0.1", "--port", str(port)],
        stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True,
    )
    assert proc.stderr is not None
    for line in proc.stderr:
        if line.startswith("rlvr: listening on "):
            # Keep draining stderr so the server never blocks on a full pipe.
            threading.Thread(target=lambda s=proc.stderr: [None for _ in s], daemon=True).start()
            return proc, line.split()[3]
    raise RuntimeError("rlvr serve exited before listening")


def free_port() -> int:
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_haproxy(urls: list[str]) -> tuple[subprocess.Popen, str]:
    """HAProxy on a free loopback port in front of `urls` (deploy/haproxy.cfg.in), installed from
    Debian when missing."""
    if shutil.which("haproxy") is None:
        subprocess.run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", "haproxy"], check=True,
                       env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"))
    port = free_port()
    servers = "\n".join(
        f"    server r{i} {urllib.parse.urlparse(u).hostname}:{urllib.parse.urlparse(u).port} check"
        for i, u in enumerate(urls))
    with open(os.path.join(ROOT, "deploy", "haproxy.cfg.in"), encoding="utf-8") as f:
        cfg = f.read().replace("@BIND@", f"127.0.0.1:{port}").replace("@SERVERS@", servers)
    path = os.path.join(tempfile.mkdtemp(prefix="rlvr-haproxy-"), "haproxy.cfg")
    with open(path, "w", encoding="utf-8") as f:
        f.write(cfg)
    log = open(path + ".log", "w", encoding="utf-8")
    proc = subprocess.Popen(["haproxy", "-f", path, "-db"], stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/health")
            if conn.getresponse().status == 200:
                conn.close()
                return proc, url
        except OSError:
            time.sleep(0.2)
    proc.kill()
    with open(path + ".log", encoding="utf-8") as f:
        raise RuntimeError(f"haproxy did not come up on {url} within 10 s; its log ({path}.log):\n{f.read()[-2000:]}")


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def run_level(targets: list[str], bodies: list[bytes], labels: list[list], batch: int, concurrency: int,
              max_seconds: float, retries: int, kill=None) -> dict:
    for url in targets:
        assert urllib.parse.urlparse(url).hostname in ("127.0.0.1", "localhost", "::1"), "loopback only"
    next_index = [0]
    lock = threading.Lock()
    latencies: list[float] = []
    counts = {"lost_requests": 0, "lost_samples": 0, "wrong": 0, "retried": 0}
    statuses: dict[int, int] = {}
    deadline = time.monotonic() + max_seconds

    def connect(url: str) -> http.client.HTTPConnection:
        p = urllib.parse.urlparse(url)
        return http.client.HTTPConnection(p.hostname, p.port, timeout=max_seconds + 60)

    def worker() -> None:
        conns: dict[str, http.client.HTTPConnection] = {}
        while True:
            with lock:
                i = next_index[0]
                if i >= len(bodies) or time.monotonic() > deadline:
                    break
                next_index[0] += 1
            start = time.perf_counter()
            status, raw = 0, b""
            for attempt in range(retries + 1):
                # Client sharding: request i goes to replica i mod N, the next one on a retry.
                url = targets[(i + attempt) % len(targets)]
                conn = conns.get(url) or connect(url)
                conns[url] = conn
                try:
                    conn.request("POST", "/v1/score", body=bodies[i], headers={"Content-Type": "application/json"})
                    response = conn.getresponse()
                    raw = response.read()
                    status = response.status
                except (OSError, http.client.HTTPException):
                    conn.close()
                    conns.pop(url, None)
                    status, raw = 0, b""
                with lock:
                    statuses[status] = statuses.get(status, 0) + 1
                if status == 200:
                    break
                with lock:
                    counts["retried"] += 1
                time.sleep(0.2 if status == 0 else 0.5)
            elapsed = time.perf_counter() - start
            results = json.loads(raw)["results"] if status == 200 else []
            wrong = sum(1 for r, want in zip(results, labels[i]) if want is not None and r["correct"] != want)
            with lock:
                latencies.append(elapsed)
                if status != 200:
                    counts["lost_requests"] += 1
                counts["lost_samples"] += batch - len(results)
                counts["wrong"] += wrong
        for conn in conns.values():
            conn.close()

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    killer = None
    if kill is not None:
        killer = threading.Timer(kill[0], kill[1])
        killer.start()
    for t in threads:
        t.join()
    if killer is not None:
        killer.cancel()
    wall = time.perf_counter() - start
    sent = len(latencies)
    return {
        "concurrency": concurrency,
        "requests": sent,
        "samples": sent * batch,
        "seconds": wall,
        "samples_per_s": (sent * batch - counts["lost_samples"]) / wall if wall > 0 else 0.0,
        "p50_ms": 1000 * percentile(latencies, 0.50),
        "p99_ms": 1000 * percentile(latencies, 0.99),
        "retried": counts["retried"],
        "lost_requests": counts["lost_requests"],
        "lost_samples": counts["lost_samples"],
        "wrong_verdicts": counts["wrong"],
        "statuses": statuses,
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
    parser.add_argument("--binary", default=os.path.join(ROOT, "target", "release", "rlvr"))
    parser.add_argument("--url", help="an already running server on loopback (default: start them)")
    parser.add_argument("--replicas", type=int, default=1, help="rlvr serve processes to start")
    parser.add_argument("--balancer", choices=["client", "haproxy"], default="client",
                        help="client: shard requests over the replica URLs; haproxy: one URL in front of them")
    parser.add_argument("--retries", type=int, default=5, help="retries per failed request (OpenRLHF: 5, slime: 10)")
    parser.add_argument("--kill-one-at", type=float, help="SIGKILL one replica this many seconds into each level "
                        "(a fresh one is started between levels)")
    parser.add_argument("--json", help="also write the figures here")
    args = parser.parse_args()

    n = args.requests * args.batch
    samples = math_samples(n) if args.kind == "math" else file_samples(args.data, n)
    labels = [[s.pop("_expect") for s in samples[i:i + args.batch]] for i in range(0, n, args.batch)]
    bodies = [json.dumps({"samples": samples[i:i + args.batch]}).encode() for i in range(0, n, args.batch)]

    procs: list[subprocess.Popen] = []
    replica_urls: list[str] = []
    balancer = None
    if args.url is not None:
        replica_urls = [args.url]
    else:
        for _ in range(args.replicas):
            proc, url = start_server(args.binary)
            procs.append(proc)
            replica_urls.append(url)

    def targets() -> list[str]:
        return [balancer[1]] if balancer is not None else list(replica_urls)

    rows = []
    killed_note = ""
    try:
        if args.balancer == "haproxy" and args.url is None:
            balancer = start_haproxy(replica_urls)
        for c in args.concurrency:
            kill = None
            if args.kill_one_at is not None and procs:
                victim = procs[-1]
                kill = (args.kill_one_at, lambda v=victim: v.send_signal(signal.SIGKILL))
                killed_note = f"; one of {len(procs)} replicas SIGKILLed {args.kill_one_at} s into each level (when the level ran that long)"
            row = run_level(targets(), bodies, labels, args.batch, c, args.max_seconds, args.retries, kill)
            rows.append(row)
            row["killed"] = kill is not None and procs[-1].poll() is not None
            if row["killed"]:
                # Bring the killed replica back (same port for HAProxy's list) before the next level.
                procs[-1].wait(timeout=30)
                port = urllib.parse.urlparse(replica_urls[-1]).port
                proc, url = start_server(args.binary, port)
                procs[-1] = proc
                time.sleep(1.5)  # HAProxy's health check marks it up again
    finally:
        if balancer is not None:
            balancer[0].terminate()
            balancer[0].wait(timeout=30)
        for proc in procs:
            if proc.poll() is None:
                proc.terminate()
                proc.wait(timeout=30)

    mode = f"replicas={len(replica_urls)} balancer={args.balancer if len(replica_urls) > 1 or balancer else 'none'}"
    print(f"kind={args.kind} batch={args.batch} requests/level={args.requests} {mode}{killed_note}")
    print("| kind | replicas | balancer | concurrency | requests | samples | seconds | samples/s | p50 ms | p99 ms "
          "| retried | lost requests | lost samples | wrong verdicts |")
    print("|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    bal = "haproxy" if balancer is not None or args.balancer == "haproxy" else ("client" if len(replica_urls) > 1 else "-")
    for r in rows:
        print(f"| {args.kind} | {len(replica_urls)} | {bal} | {r['concurrency']} | {r['requests']} | {r['samples']} | "
              f"{r['seconds']:.2f} | {r['samples_per_s']:.0f} | {r['p50_ms']:.1f} | {r['p99_ms']:.1f} | "
              f"{r['retried']} | {r['lost_requests']} | {r['lost_samples']} | {r['wrong_verdicts']} |")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump({"kind": args.kind, "batch": args.batch, "replicas": len(replica_urls), "balancer": bal,
                       "kill_one_at": args.kill_one_at, "levels": rows}, f, indent=2)
    bad = any(r["lost_requests"] or r["lost_samples"] or r["wrong_verdicts"] or r["requests"] < args.requests
              for r in rows)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
