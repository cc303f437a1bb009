#!/usr/bin/env bash
# The trainers' own HTTP clients that tests/server_clients.rs runs against the real server:
# aiohttp (OpenRLHF's agent.py, slime's rm_hub) and requests (verl's sandbox_fusion). Exact
# versions, SHA-256-checked wheels from PyPI; nothing is installed when both already import.
set -euo pipefail
cd "$(dirname "$0")/.."
if python3 -c 'import aiohttp, requests' 2>/dev/null; then
    echo "install-server-clients: aiohttp and requests present"
    exit 0
fi
python3 -m pip install --quiet --require-hashes --only-binary=:all: -r testdata/server/requirements-clients.txt
