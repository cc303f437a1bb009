#!/usr/bin/env bash
# Math-Verify 0.9.0 against rlvr on the same pairs, in one run, one core each.
#
# Creates benches/.venv (git-ignored) with Math-Verify and its dependencies pinned by SHA-256,
# builds the release binary, and runs benches/compare_math_verify.py, which scores every pair of
# benches/data/{numeric,math500,math_verify}_pairs.jsonl with both tools, measures CPU time
# (pairs per CPU-second), checks both verdict lists against the labels and prints a Markdown table.
#
# Usage: benches/compare_math_verify.sh [--mv-only] [--limit N] [--rlvr-repeat N] [--sets a,b]
set -euo pipefail
cd "$(dirname "$0")/.."

venv=benches/.venv
python=${PYTHON:-python3}
if [ ! -x "$venv/bin/python" ]; then
    "$python" -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --require-hashes --no-deps \
    -r benches/requirements-math-verify.txt

rlvr_args=()
case " $* " in
    *" --mv-only "*) ;;
    *)
        cargo build --release --quiet --bin rlvr
        rlvr_args=(--rlvr target/release/rlvr)
        ;;
esac
exec "$venv/bin/python" benches/compare_math_verify.py "${rlvr_args[@]}" "$@"
