#!/usr/bin/env python3
"""Removes known-failure entries the harness reports as stale, after a fix or a merge.

Runs `cargo test --test testdata` and deletes, from the file the harness names, every entry that
  * now passes ("passes, but FILE lists `NAME`"), or
  * is listed a second time ("`NAME` is listed in both FIRST and SECOND": the SECOND is removed,
    so `testdata/known_failures.toml` wins over `testdata/known_failures/*.toml`).
It never adds entries: a new disagreement needs a human-written kind and reason.
Usage (from the repository root): python3 testdata/prune_known_failures.py [--dry-run]
"""

import pathlib
import re
import subprocess
import sys

PASSES = re.compile(r"passes, but (\S+) lists `([^`]+)`")
TWICE = re.compile(r"`([^`]+)` is listed in both (\S+) and (\S+): keep one entry")


def remove_entry(path: pathlib.Path, name: str) -> bool:
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    header = f'["{name}"]\n'
    if header not in lines:
        return False
    start = lines.index(header)
    end = start + 1
    while end < len(lines) and lines[end].strip() and not lines[end].startswith("["):
        end += 1
    while end < len(lines) and not lines[end].strip():  # the blank line after the entry
        end += 1
    del lines[start:end]
    path.write_text("".join(lines), encoding="utf-8")
    return True


def main() -> int:
    dry = "--dry-run" in sys.argv
    run = subprocess.run(["cargo", "test", "-q", "--test", "testdata"], capture_output=True, text=True)
    output = run.stdout + run.stderr
    stale = {(pathlib.Path(f), n) for f, n in PASSES.findall(output)}
    stale |= {(pathlib.Path(second), n) for n, _, second in TWICE.findall(output)}
    for path, name in sorted(stale):
        done = "would remove" if dry else ("removed" if remove_entry(path, name) else "NOT FOUND")
        print(f"{done}: {name} ({path})")
    print(f"{len(stale)} stale entries")
    return 0


if __name__ == "__main__":
    sys.exit(main())
