#!/usr/bin/env bash
# steer and llama.cpp on this CPU, in one run, on the same shapes (gemma-2-2b, random weights, batch 1, prompt 16,
# 32 new tokens, 2 threads), alternating so that the VM's drift shows in both: steer, llama.cpp, steer, llama.cpp,
# first BF16 then F32. Run on a QUIET machine from anywhere: tools/bench/llama-peer/run.sh [WORKDIR] [bf16|f32]...
# llama.cpp is the build that the npm package node-llama-cpp 3.21.1 ships (prebuilt, one library per x86 level,
# picked at load for this CPU; its system info line is printed). With LLAMA_BENCH=PATH (build-llama-bench.sh's binary:
# llama.cpp's own llama-bench, the same source built for this CPU) each round also runs `llama-bench -p 16 -n 32 -t 2`.
# Needs Node 20 + npm, python3 with numpy (for the GGUF files), ~16 GB of disk in WORKDIR (default /tmp/steer-llama-peer, kept for reruns) and ~12 GB of memory.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
cd "$HERE/../../.."
WORK=${1:-/tmp/steer-llama-peer}
shift || true
PRECISIONS=${*:-bf16 f32}
mkdir -p "$WORK"
JAR=cli/target/steer.jar
section() { echo; echo "== $*"; echo "   $(date -u +%H:%M:%S) load: $(uptime | sed 's/.*load average/load average/')"; }

section "machine"
lscpu | grep -E 'Model name|^CPU\(s\)|Flags' | sed -E 's/(Flags:).*/\1 '"$(grep -o -w 'avx2\|fma\|avx512f\|avx512_bf16\|amx_bf16' /proc/cpuinfo | sort -u | tr '\n' ' ')"'/'
[ -f "$JAR" ] || mvn -B -ntp -q -pl cli -am -DskipTests package
(cd "$HERE" && [ -d node_modules/node-llama-cpp ] || npm ci --no-audit --no-fund)

for p in $PRECISIONS; do
  G=$(echo "$p" | tr a-z A-Z)
  [ -f "$WORK/$p.gguf" ] || python3 "$HERE/make-gguf.py" "$WORK/$p.gguf" "$G"
  for round in 1 2; do
    section "steer, $p, round $round"
    java -jar "$JAR" bench --random gemma-2-2b --precision "$p" --batch 1 --prompt-len 16 --new-tokens 32 --repeats 2
    section "llama.cpp, $G, round $round"
    node "$HERE/bench.mjs" "$WORK/$p.gguf" --threads 2 --prompt-len 16 --new-tokens 32 --repeats 2
    if [ -n "${LLAMA_BENCH:-}" ]; then
      section "llama-bench (built here, $LLAMA_BENCH), $G, round $round"
      "$LLAMA_BENCH" -m "$WORK/$p.gguf" -p 16 -n 32 -t 2
    fi
  done
done
