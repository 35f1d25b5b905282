#!/usr/bin/env bash
# llama.cpp's own llama-bench, built from the llama.cpp source that node-llama-cpp 3.21.1 bundles (the same commit
# as its prebuilt library; the bundle is a git bundle, so no network) for THIS CPU (-march=native), as the second
# peer next to bench.mjs: tools/bench/llama-peer/build-llama-bench.sh [DIR=/tmp/llama.cpp]; prints the binary's path.
# Needs cmake, gcc/g++ and `npm ci` done in tools/bench/llama-peer. Took 5 min 37 s on a 2-core VM.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
DIR=${1:-/tmp/llama.cpp}
BUNDLE="$HERE/node_modules/node-llama-cpp/llama/gitRelease.bundle"
[ -f "$BUNDLE" ] || (cd "$HERE" && npm ci --no-audit --no-fund)
[ -d "$DIR/.git" ] || git clone -q "$BUNDLE" "$DIR"
cmake -S "$DIR" -B "$DIR/build" -DCMAKE_BUILD_TYPE=Release -DGGML_NATIVE=ON -DLLAMA_CURL=OFF -DLLAMA_OPENSSL=OFF \
  -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_SERVER=OFF >/dev/null
cmake --build "$DIR/build" --target llama-bench -j "$(nproc)" >/dev/null
echo "$DIR/build/bin/llama-bench"
