#!/usr/bin/env python3
"""Builds fuzz/corpus/<target>/ seed files from testdata/ (run from the repo root).

Each seed is one input its target understands (see `rlvr::fuzzing`): completions for
`extract`, `gold NUL completion` for `math_check`, whole JSONL lines for `sample_line`, the
shipped recipes for `recipe`, the `tests` objects of code cases for `code_spec`, an endpoint
byte + request body for `server_body` (0 /v1/score, 1 /get_reward, 2 /run_code), and
fixed pseudo-random byte strings for the structured `math_diff` (its bytes drive `arbitrary`).
"""
import hashlib
import random
import json
import pathlib
import sys

root = pathlib.Path(__file__).resolve().parent.parent
out = root / "fuzz" / "corpus"


def seed(target: str, data: bytes) -> None:
    d = out / target
    d.mkdir(parents=True, exist_ok=True)
    (d / hashlib.sha1(data).hexdigest()).write_bytes(data)


def main() -> int:
    count = 0
    # `/v1/score` seeds: batches of 8 math samples, and one batch of two Python code samples. A batch
    # of compiled-language submissions (clang/rustc runs of seconds each, a template bomb among them)
    # cannot be judged inside libFuzzer's 10 s per input; `sample_line` feeds those one at a time.
    samples = []
    code_samples = []
    for path in sorted((root / "testdata").rglob("*.jsonl")):
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            if not line.strip():
                continue
            seed("sample_line", line.encode())
            try:
                case = json.loads(line)
            except json.JSONDecodeError:
                continue
            if not isinstance(case, dict):
                continue
            completion = case.get("completion")
            answer = case.get("answer")
            if isinstance(completion, str):
                seed("extract", completion.encode())
            if isinstance(answer, str) and isinstance(completion, str):
                seed("math_check", answer.encode() + b"\x00" + completion.encode())
                query = {"query": [completion], "labels": [answer]}
                seed("server_body", b"\x01" + json.dumps(query).encode())
            tests = case.get("tests")
            if isinstance(tests, dict):
                seed("code_spec", json.dumps(tests).encode())
            if isinstance(completion, str) and "code" not in path.parts and len(samples) < 64:
                samples.append(case)
            if isinstance(completion, str) and case.get("language") == "python" and len(code_samples) < 2:
                code_samples.append(case)
            count += 1
    for path in sorted((root / "verifiers").glob("*.toml")):
        seed("recipe", path.read_bytes())
    for k in range(0, len(samples), 8):
        seed("server_body", b"\x00" + json.dumps({"samples": samples[k : k + 8]}).encode())
    seed("server_body", b"\x00" + json.dumps({"samples": code_samples}).encode())
    seed("server_body", b"\x02" + json.dumps({"code": "print(1)", "language": "python", "run_timeout": 1}).encode())
    seed("server_body", b"\x02" + json.dumps({"code": "x", "language": "cpp", "compile_timeout": 61}).encode())
    rng = random.Random(2026)
    for _ in range(64):
        seed("math_diff", bytes(rng.randrange(256) for _ in range(rng.randrange(8, 96))))
    print(f"seeded from {count} cases into {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
