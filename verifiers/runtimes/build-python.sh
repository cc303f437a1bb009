#!/usr/bin/env bash
# Build rlvr's CPython 3.11.2 runtime for wasm32-wasi (WASI preview 1) from Debian packages only
# (toolchain: bookworm clang-16/lld-16/wasi-libc; source: bookworm deb-src python3.11 orig tarball,
# checked by SHA-256). Derived from the verified recipe in shared/recipes/build-cpython-wasi.sh:
# -O3, pymalloc, 32 MiB C stack; the driver is verifiers/runtimes/rlvr_python.c.
#
# Output ($OUT, normally ~/.cache/rlvr/runtimes/python-<key>, see .ci/install-code-runtimes.sh):
#   rlvr_python.wasm            interpreter + rlvr driver (exports "wizer.initialize"); rlvr makes the
#                               Wizer snapshot itself on first use and caches it beside this file
#   usr/local/lib/python3.11/   pruned stdlib with .pyc (preopened read-only as /usr/local)
#   READY                       written last: the runtime is complete
#
# Usage: W=/tmp/build OUT=~/.cache/rlvr/runtimes/python-KEY JOBS=2 bash build-python.sh
# Needs root for apt-get. Does not touch /etc/apt/sources.list.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
W=${W:-$HOME/cpython-wasi}
OUT=${OUT:?set OUT to the runtime directory}
JOBS=${JOBS:-$(nproc)}
OPT=${OPT:--DNDEBUG -fwrapv -O3 -Wall}
STACK=${STACK:-33554432}         # C (shadow) stack: 32 MiB instead of CPython's 512 KiB
INITMEM=$((STACK + 8388608))     # initial linear memory must hold stack + static data
ORIG_SHA256=2411c74bda5bbcfcddaf4531f66d1adc73f247f529aee981b029513aefdbf849
PYVER=3.11.2
EXTRA=(--with-pymalloc)

mkdir -p "$W"
cd "$W"
T0=$(date +%s)
log() { echo "[$(( $(date +%s) - T0 ))s] $*"; }

# ---------------------------------------------------------------- 1. toolchain
log "apt: toolchain"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends \
    clang-16 lld-16 llvm-16 wasi-libc libclang-rt-16-dev-wasm32 \
    gcc make libc6-dev pkg-config ca-certificates xz-utils >/dev/null

# ---------------------------------------------------------------- 2. source
log "apt: deb-src python3.11 (separate source list)"
mkdir -p "$W/aptsrc/lists/partial"
echo 'deb-src http://deb.debian.org/debian bookworm main' > "$W/aptsrc/src.list"
APTSRC=(-o "Dir::Etc::SourceList=$W/aptsrc/src.list" -o Dir::Etc::SourceParts=/dev/null
        -o "Dir::State::Lists=$W/aptsrc/lists")
apt-get "${APTSRC[@]}" update -qq
if [ ! -f "$W/aptsrc/python3.11_${PYVER}.orig.tar.gz" ]; then
    (cd "$W/aptsrc" && apt-get "${APTSRC[@]}" source --download-only python3.11 2>&1 | tail -2)
fi
echo "$ORIG_SHA256  $W/aptsrc/python3.11_${PYVER}.orig.tar.gz" | sha256sum -c -
rm -rf "$W/Python-$PYVER"
tar xzf "$W/aptsrc/python3.11_${PYVER}.orig.tar.gz" -C "$W"
SRC="$W/Python-$PYVER"

# ------------------------------------------------- 3. clean wasm32-wasi sysroot
# --sysroot=/usr would also search /usr/include (host glibc, zlib.h, ...);
# a sysroot that only has the multiarch wasm32-wasi dirs avoids that.
SYSROOT="$W/sysroot"
mkdir -p "$SYSROOT/include" "$SYSROOT/lib"
ln -sfn /usr/include/wasm32-wasi "$SYSROOT/include/wasm32-wasi"
ln -sfn /usr/lib/wasm32-wasi "$SYSROOT/lib/wasm32-wasi"

# ------------------------------------------------------ 4. native build python
log "native build python (same version, needed for freezing/deepfreeze)"
mkdir -p "$SRC/builddir/build"
(cd "$SRC/builddir/build" && ../../configure -C --prefix="$W/native" >configure.log 2>&1 \
    && make -j"$JOBS" >make.log 2>&1)
BUILDPY="$SRC/builddir/build/python"
"$BUILDPY" -c 'import sys; print("build python", sys.version.split()[0])'

# ------------------------------------------------------------ 5. cross build
log "wasm32-wasi configure + make"
export CC="clang-16 --target=wasm32-wasi --sysroot=$SYSROOT"
export CPP="clang-16 --target=wasm32-wasi --sysroot=$SYSROOT -E"
export CXX="clang++-16 --target=wasm32-wasi --sysroot=$SYSROOT"
export AR=llvm-ar-16 RANLIB=llvm-ranlib-16 READELF=true
export OPT
export PKG_CONFIG_PATH="" PKG_CONFIG_LIBDIR="$SYSROOT/lib/pkgconfig" PKG_CONFIG_SYSROOT_DIR="$SYSROOT"
# clang 16 turns -Wint-conversion into an error; timemodule.c passes
# wasi-libc's pointer-valued CLOCK_* macros to PyModule_AddIntMacro.
export CFLAGS="-Wno-error=int-conversion"
mkdir -p "$SRC/builddir/wasi"
cd "$SRC/builddir/wasi"
CONFIG_SITE=../../Tools/wasm/config.site-wasm32-wasi ../../configure -C \
    --host=wasm32-unknown-wasi --build="$(../../config.guess)" \
    --with-build-python="$BUILDPY" --disable-test-modules "${EXTRA[@]}" >configure.log 2>&1
# configure puts "-z stack-size=524288 ... --initial-memory=10485760" in
# CONFIGURE_LDFLAGS_NODIST; LDFLAGS_NODIST comes after it and wasm-ld takes the last value.
BIGSTACK="-z stack-size=$STACK -Wl,--initial-memory=$INITMEM"
make -j"$JOBS" LDFLAGS_NODIST="$BIGSTACK" >make.log 2>&1
log "make install (stdlib + .pyc via build python)"
rm -rf "$W/install"
make install DESTDIR="$W/install" LDFLAGS_NODIST="$BIGSTACK" >install.log 2>&1

# ------------------------------------------------------------ 6. output tree
log "assemble $OUT.tmp"
rm -rf "$OUT.tmp" "$OUT"
mkdir -p "$OUT.tmp/usr/local/lib"
cp -a "$W/install/usr/local/lib/python3.11" "$OUT.tmp/usr/local/lib/"
L="$OUT.tmp/usr/local/lib/python3.11"
rm -rf "$L"/{test,idlelib,tkinter,turtledemo,ensurepip,lib2to3,distutils/tests,pydoc_data,config-3.11-wasm32-wasi} \
       "$L"/{unittest,ctypes,sqlite3}/test "$L"/turtle.py
find "$L" -name '*.opt-1.pyc' -o -name '*.opt-2.pyc' | xargs rm -f

# ------------------------------------------------------- 7. rlvr driver
log "rlvr driver rlvr_python.wasm"
OBJS=$(grep -- '-o python.wasm' make.log | tr ' ' '\n' | grep '\.o$' | grep -v '^Programs/python.o$' | tr '\n' ' ')
LINKFLAGS=$(grep -- '-o python.wasm' make.log | tr ' ' '\n' | grep -E '^(-z|stack-size=|-Wl,)' | tr '\n' ' ')
$CC -c $OPT -std=c11 -I. -I../../Include -I../../Include/internal "$HERE/rlvr_python.c" -o "$W/rlvr_python.o"
# shellcheck disable=SC2086
$CC $LINKFLAGS -Wl,--allow-undefined-file="$HERE/rlvr_imports.txt" -o "$OUT.tmp/rlvr_python.wasm" "$W/rlvr_python.o" $OBJS \
    -lwasi-emulated-signal -lwasi-emulated-getpid -lwasi-emulated-process-clocks -lm \
    Modules/_decimal/libmpdec/libmpdec.a Modules/expat/libexpat.a -lm
date -u +%FT%TZ > "$OUT.tmp/READY"
mv "$OUT.tmp" "$OUT"
log "done"
ls -la "$OUT"
du -sh "$OUT"
