#!/usr/bin/env bash
# The CPU figures BENCHMARKS.md's CPU sections need, each with the machine's load beside it. Run on a QUIET machine
# (load average well below the core count) from anywhere: tools/bench/cpu-floor.sh [WORKDIR]
#   1. gemma-2-2b random weights, batch 1, prompt 16, 16 new tokens: float32 and --precision bf16, each decode step
#      against the measured floor (weight bytes / read bandwidth, measured again beside each row's best run) and
#      the cpu backend's op profile; on steer's CPU kernels (the default), then with -Dsteer.cpu.kernels=off
#      (every op on PyTorch: the path before the kernels, as the in-run comparison);
#   2. the tiny model's decode with --threads 1 and with the default;
#   3. peak RSS (/usr/bin/time -v) of loading a gemma-2-2b-layout checkpoint written as BF16 and as F32
#      safetensors: bf16 -> f32, f32 -> f32, bf16 -> bf16.
# Needs ~13 GB of available memory for the gemma-2-2b steps (skipped with a note otherwise) and ~16 GB of disk in
# WORKDIR (default: a fresh directory under /tmp, removed at the end). Took 3 min 46 s on a quiet 2-core VM before the
# kernels' rows were added.
set -euo pipefail
cd "$(dirname "$0")/../.."
KEEP=${1:+yes}
WORK=${1:-$(mktemp -d /tmp/steer-cpu-floor.XXXXXX)}
mkdir -p "$WORK"
JAR=cli/target/steer.jar
CP="models/target/test-classes:$JAR"

section() { echo; echo "== $*"; echo "   load: $(uptime | sed 's/.*load average/load average/')"; }
avail_gb() { awk '/MemAvailable/ {printf "%d", $2 / 1048576}' /proc/meminfo; }
big_ok() {
  if [ "$(avail_gb)" -lt 13 ]; then echo "   SKIPPED: $(avail_gb) GB available, gemma-2-2b needs ~13 GB"; return 1; fi
}

section "machine"
lscpu | grep -E 'Model name|^CPU\(s\)' || true
echo "   avx512_bf16: $(grep -q avx512_bf16 /proc/cpuinfo && echo yes || echo no), amx_bf16: $(grep -q amx_bf16 /proc/cpuinfo && echo yes || echo no)"
free -g | head -2
java -version 2>&1 | head -1

section "build (also compiles the models test classes: RandomCheckpoint, LoadPeak)"
mvn -B -ntp -q -pl cli -am -DskipTests package

for kernels in "" off; do
  opt=${kernels:+-Dsteer.cpu.kernels=$kernels}
  label=${opt:-"(the kernels)"}
  section "gemma-2-2b random, float32, batch 1 $label"
  if big_ok; then java $opt -jar "$JAR" bench --random gemma-2-2b --batch 1 --prompt-len 16 --new-tokens 16 --repeats 2; fi
  section "gemma-2-2b random, --precision bf16, batch 1 $label"
  if big_ok; then java $opt -jar "$JAR" bench --random gemma-2-2b --precision bf16 --batch 1 --prompt-len 16 --new-tokens 16 --repeats 2; fi
done

section "tiny model decode, --threads 1"
java -jar "$JAR" bench --random tiny --batch 1 --prompt-len 16 --new-tokens 128 --threads 1 --repeats 3
section "tiny model decode, default threads"
java -jar "$JAR" bench --random tiny --batch 1 --prompt-len 16 --new-tokens 128 --repeats 3

section "peak RSS of loading a gemma-2-2b-layout checkpoint (2.61 B parameters: 10.5 GB as float32, 5.2 GB as bf16)"
if big_ok; then
  java -cp "$CP" dev.steer.models.hf.RandomCheckpoint "$WORK/bf16" BF16 gemma-2-2b
  java -cp "$CP" dev.steer.models.hf.RandomCheckpoint "$WORK/f32" F32 gemma-2-2b
  for run in "bf16 f32" "f32 f32" "bf16 bf16"; do
    set -- $run
    section "load the $1 checkpoint as --precision $2"
    if big_ok; then
      /usr/bin/time -v java -cp "$CP" dev.steer.models.hf.LoadPeak "$WORK/$1" "$2" 2>&1 \
        | grep -E 'weight_bytes|Maximum resident set size|Elapsed \(wall clock\)'
    fi
  done
fi
[ -z "$KEEP" ] && rm -rf "$WORK"
echo; echo "done: $(date -u)"
