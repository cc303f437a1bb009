#!/usr/bin/env python3
"""Builds fuzz/corpus/<target>/ seed files from testdata/ (run from the repo root).

Each seed is one input its target understands (see `rlvr::fuzzing`): completions for
`extract`, `gold NUL completion` for `math_check`, whole JSONL lines for `sample_line`, and
the shipped recipes for `recipe`.
"""
import hashlib
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
            count += 1
    for path in sorted((root / "verifiers").glob("*.toml")):
        seed("recipe", path.read_bytes())
    print(f"seeded from {count} cases into {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
