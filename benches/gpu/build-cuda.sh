#!/usr/bin/env bash
# Builds `rlvr` with `--features cuda` on a machine without a GPU or a CUDA install (how the H200
# figures in testdata/train/gpu/ were produced): the CUDA 13.0 toolchain comes from PyPI wheels
# pinned by hash (cuda-requirements.txt), unpacked under $RLVR_CUDA (default ~/.cache/rlvr/cuda).
# cudarc links libcuda dynamically; the driver lives only on the GPU machine, so a link-time stub of
# libcuda.so (every cu* symbol cudarc declares, SONAME libcuda.so.1) stands in for it here and the
# real driver is loaded at run time. CUDA_COMPUTE_CAP (default 90, Hopper) picks the PTX target.
# Output: target/debug/rlvr (or the profile in $PROFILE), and target/rlvr-cuda.xz, stripped and
# compressed for transfer. Run there with LD_LIBRARY_PATH=/usr/local/cuda/lib64.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
CUDA=${RLVR_CUDA:-$HOME/.cache/rlvr/cuda}
CU=$CUDA/nvidia/cu13
if [ ! -f "$CUDA/READY" ]; then
    rm -rf "$CUDA" && mkdir -p "$CUDA/wheels"
    python3 -m pip download -q --no-deps --only-binary=:all: --require-hashes --python-version 3.12 \
        --implementation cp --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 \
        --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 --platform manylinux_2_12_x86_64 \
        --platform manylinux2010_x86_64 -r "$ROOT/benches/gpu/cuda-requirements.txt" -d "$CUDA/wheels"
    for w in "$CUDA"/wheels/*.whl; do python3 -m zipfile -e "$w" "$CUDA"; done
    chmod +x "$CU"/bin/* "$CU"/nvvm/bin/*
    ln -sfn lib "$CU/lib64"
    for l in libcublas libcublasLt libcudart libcurand libnvrtc; do ln -sf "$l.so".* "$CU/lib/$l.so" 2>/dev/null || true; done
    # The link-time stand-in for the driver: one empty function per symbol cudarc's bindings declare.
    sys=$(ls -d "$HOME"/.cargo/registry/src/*/cudarc-0.19*/src/driver/sys/mod.rs 2>/dev/null | head -1)
    [ -n "$sys" ] || (cd "$ROOT" && cargo fetch -q) && sys=$(ls -d "$HOME"/.cargo/registry/src/*/cudarc-0.19*/src/driver/sys/mod.rs | head -1)
    grep -ohE "^\s+(pub )?fn cu[A-Za-z0-9_]+\(" "$sys" | grep -oE "cu[A-Za-z0-9_]+" | sort -u \
        | sed 's/.*/void &(void) {}/' >"$CUDA/cuda_stub.c"
    gcc -shared -fPIC -Wl,-soname,libcuda.so.1 -o "$CU/lib/libcuda.so" "$CUDA/cuda_stub.c"
    touch "$CUDA/READY"
fi
export CUDA_ROOT=$CU CUDA_PATH=$CU CUDA_HOME=$CU PATH=$CU/bin:$PATH LIBRARY_PATH=$CU/lib
export CUDA_COMPUTE_CAP=${CUDA_COMPUTE_CAP:-90} CUDARC_CUDA_VERSION=13000
cd "$ROOT"
profile=${PROFILE:-dev}
cargo build --profile "$profile" --bin rlvr --features cuda
dir=$([ "$profile" = dev ] && echo debug || echo "$profile")
objcopy --strip-all "target/$dir/rlvr" target/rlvr-cuda
xz -6 -T0 -f target/rlvr-cuda
ls -l target/rlvr-cuda.xz
