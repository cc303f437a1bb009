#!/usr/bin/env bash
# Install what the code verifier needs: apt toolchain (clang-16 for the CPython build; clang-22 → wasm32-wasi with libc++ 22 for C/C++; bubblewrap),
# the rustup wasm32-wasip1 target, and the CPython WASI runtime, built once and cached outside the
# repository under $RLVR_RUNTIMES (default ~/.cache/rlvr/runtimes)/python-<key>, where <key> is the
# SHA-256 of the runtime's inputs (see verifiers/runtimes.toml). Re-running is cheap: a cached
# runtime with a READY file is kept.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
RT=verifiers/runtimes
PKGS=$(awk '/^apt = \[/{f=1} f{print} f&&/\]/{exit}' verifiers/runtimes.toml | sed 's/^apt = //' | tr -d '[]",' | tr -s ' \n' ' ')
# C/C++ submissions compile with LLVM 22 (libc++ 22 for wasm32; the C++ exception runtime is built
# by rlvr from verifiers/runtimes/cxx-eh). Listed here rather than in runtimes.toml, whose hash keys
# the CPython runtime, so the toolchain can change without rebuilding CPython.
PKGS="$PKGS clang-22 lld-22 libclang-rt-22-dev-wasm32 libc++-22-dev-wasm32 libc++abi-22-dev-wasm32"
# Debian's wasm32 libc++ packages of different LLVM versions conflict (one /usr/include/wasm32-wasi/c++
# link): installing the 16 ones (listed in runtimes.toml for the C-only CPython build, which does not
# need them) would remove the 22 ones that C++ submissions link against, and vice versa on the next run.
PKGS=$(for p in $PKGS; do case "$p" in libc++-16-dev-wasm32|libc++abi-16-dev-wasm32) ;; *) printf '%s ' "$p" ;; esac; done)
echo "install-code-runtimes: apt: $PKGS"
export DEBIAN_FRONTEND=noninteractive
missing=$(for p in $PKGS; do dpkg -s "$p" >/dev/null 2>&1 || echo "$p"; done)
if [ -n "$missing" ]; then
    apt-get update -qq
    # shellcheck disable=SC2086
    apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi
rustup target add wasm32-wasip1
# pytest (pure-Python wheels, pinned with SHA-256 in pytest-requirements.txt) for `pytest` tests: kept
# beside the CPython runtime, keyed by its own inputs, so a new pin never rebuilds CPython.
BASE=${RLVR_RUNTIMES:-$HOME/.cache/rlvr/runtimes}
PYTEST_KEY=$(cat $RT/pytest-requirements.txt $RT/rlvr_pytest_preload.py | sha256sum | cut -c1-64)
PT="$BASE/pytest-$PYTEST_KEY"
if [ ! -f "$PT/READY" ]; then
    rm -rf "$PT.tmp" && mkdir -p "$PT.tmp/wheels" "$PT.tmp/site-packages"
    python3 -m pip download --quiet --disable-pip-version-check --no-deps --only-binary=:all: --require-hashes \
        --python-version 3.11 --implementation py --abi none --platform any \
        -r $RT/pytest-requirements.txt -d "$PT.tmp/wheels"
    for w in "$PT.tmp"/wheels/*.whl; do python3 -m zipfile -e "$w" "$PT.tmp/site-packages"; done
    cp $RT/rlvr_pytest_preload.py "$PT.tmp/site-packages/"
    echo "import rlvr_pytest_preload" > "$PT.tmp/site-packages/rlvr_pytest.pth"
    rm -rf "$PT.tmp/wheels" "$PT"
    date -u +%FT%TZ > "$PT.tmp/READY"
    mv "$PT.tmp" "$PT"
    echo "install-code-runtimes: pytest installed at $PT"
fi
KEY=$(cat verifiers/runtimes.toml $RT/build-python.sh $RT/rlvr_python.c $RT/rlvr_imports.txt | sha256sum | cut -c1-64)
OUT="$BASE/python-$KEY"
if [ -f "$OUT/READY" ]; then
    echo "install-code-runtimes: python runtime cached at $OUT"
    exit 0
fi
mkdir -p "$BASE"
W=${RLVR_BUILD_DIR:-$BASE/build-python-$KEY} OUT="$OUT" JOBS=${JOBS:-$(nproc)} bash $RT/build-python.sh
echo "install-code-runtimes: python runtime built at $OUT"
