#!/usr/bin/env bash
# Device run 6, call 2: the profile, sampling and model-command stages of gpu-check.sh with STEER_GEMV=auto (the
# candidate default), then the opt-ins A/B'd with --repeats 5 in one call (batch 1 and 64): cuBLAS plan, auto plan,
# auto + look-ahead, auto + look-ahead + PDL (each set explicitly: auto and look-ahead are the defaults since). Logs land in the same logs.tgz as gpu-check.sh's.
set -u
OUT=${OUT:-/tmp/steer-out}; L=/tmp/steer-logs
STEER_GEMV=auto STAGES="self profile sampled commands" BATCHES=1,64 bash tools/device/gpu-check.sh > /tmp/gpu-check.txt 2>&1
tail -n 60 /tmp/gpu-check.txt; cp /tmp/gpu-check.txt "$L/gpu-check-console.txt"
export PATH=/tmp/jre/bin:$PATH LD_LIBRARY_PATH=/opt/torch/.venv/lib/python3.12/site-packages/nvidia/cu13/lib:${LD_LIBRARY_PATH:-}
J=(java -Xmx48g --enable-native-access=ALL-UNNAMED -Dai.djl.offline=true -Dorg.bytedeco.javacpp.cachedir=/tmp/javacpp -cp ".carry/lib/*")
i=0
for cfg in "STEER_GEMV=0 STEER_LOOKAHEAD=0" "STEER_GEMV=auto STEER_LOOKAHEAD=0" "STEER_GEMV=auto STEER_LOOKAHEAD=1" "STEER_GEMV=auto STEER_LOOKAHEAD=1 STEER_PDL=1"; do
  i=$((i+1)); echo "== ab$i: $cfg"
  env $cfg timeout 150 "${J[@]}" dev.steer.cli.Steer bench --model /tmp/g2 --backend cuda --batch 1,64 --prompt-len 64 \
      --new-tokens 128 --layer 12 --repeats 5 > "$L/ab$i.log" 2>&1
  echo "rc=$?"; grep -A8 "batch variant" "$L/ab$i.log"; grep "backend stats" "$L/ab$i.log"
  tar czf "$OUT/logs.tgz" -C "$L" .
done
