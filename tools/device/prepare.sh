#!/usr/bin/env bash
# Builds .carry/ for tools/device/gpu-check.sh: a jlink'd Java runtime, the cli's runtime jars (linux-x86_64
# natives only, without jars the GPU run never loads) and the transformers peer script.
set -euo pipefail
cd "$(git rev-parse --show-toplevel)"
EXCLUDE='onnxruntime-*.jar xchart-*.jar pdfbox-*.jar fontbox-*.jar VectorGraphics2D-*.jar graphics2d-*.jar animated-gif-lib-*.jar' \
  ../shared/device/prepare-carry.sh cli
cp ../shared/tools/hf_peer_bench.py .carry/
du -sh .carry
