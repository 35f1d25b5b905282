#!/usr/bin/env bash
# Builds .carry/ for tools/device/gpu-check.sh: a jlink'd Java runtime, the cli's runtime jars (linux-x86_64
# natives only, without ONNX Runtime and the cpu backend, which the GPU run never loads) and the transformers peer script.
# Same recipe as ../shared/device/prepare-carry.sh, with two changes that keep the carry under 64 MiB while adding
# java.desktop (java.beans for Jinjava, the self judge's chat template; java.awt/ImageIO for report's PNG plots):
# the runtime is jlink'd uncompressed and packed with xz (jre.txz, about 22 MB, against 28 MB for the zip-9 +
# gzip runtime without java.desktop), and XChart stays in.
set -euo pipefail
root=$(git rev-parse --show-toplevel); cd "$root"
grep -qx '/.carry/' .git/info/exclude 2>/dev/null || echo '/.carry/' >> .git/info/exclude
jdk=${JDK:-/usr/lib/jvm/temurin-25-jdk-amd64}
modules=java.base,java.desktop,java.logging,java.management,java.naming,java.net.http,java.sql,java.xml,jdk.unsupported,jdk.crypto.ec
mkdir -p .carry
rm -f .carry/jre.tgz
if [ ! -s .carry/jre.txz ] || [ "$(cat .carry/jre.modules 2>/dev/null)" != "$modules" ]; then
  tmp=$(mktemp -d)
  "$jdk/bin/jlink" --add-modules "$modules" --strip-debug --no-man-pages --no-header-files --output "$tmp/jre" 2>/dev/null
  tar cf - -C "$tmp" jre | xz -9 -T0 > .carry/jre.txz && rm -rf "$tmp"
  echo "$modules" > .carry/jre.modules
fi
rm -rf .carry/lib && mkdir -p .carry/lib
mvn -q -B -DskipTests install -pl cli -am >/dev/null
mvn -q -B dependency:copy-dependencies -pl cli -DincludeScope=runtime -DoutputDirectory="$root/.carry/lib" >/dev/null
cp cli/target/*.jar .carry/lib/ 2>/dev/null || true
# The GPU run uses --backend cuda only: the cpu backend (engine/djl and its PyTorch jars) stays behind, which the
# engine split allows (backends are found through ServiceLoader; kernels depends on the runtime core alone).
rm -f .carry/lib/pytorch-native-*.jar .carry/lib/pytorch-engine-*.jar .carry/lib/pytorch-jni-*.jar .carry/lib/steer-djl-*.jar \
      .carry/lib/*-sources.jar .carry/lib/*-javadoc.jar .carry/lib/onnxruntime-*.jar
for jar in .carry/lib/*.jar; do   # keep linux-x86_64 natives only
  zip -q -d "$jar" 'native/lib/linux-aarch64/*' 'native/lib/osx-*' 'native/lib/win-*' 'jnilib/linux-aarch64/*' \
    'jnilib/osx-*' 'jnilib/win-*' 'org/bytedeco/*/linux-arm64/*' 'org/bytedeco/*/linux-ppc64le/*' \
    'org/bytedeco/*/windows-*' 'org/bytedeco/*/macosx-*' 'org/sqlite/native/Mac/*' 'org/sqlite/native/Windows/*' \
    'org/sqlite/native/FreeBSD/*' 'org/sqlite/native/Linux-Android/*' 'org/sqlite/native/Linux-Musl/*' \
    'org/sqlite/native/Linux/aarch64/*' 'org/sqlite/native/Linux/arm*' 'org/sqlite/native/Linux/ppc64/*' \
    'org/sqlite/native/Linux/x86/*' 'org/sqlite/native/Linux/riscv64/*' >/dev/null 2>&1 || true
done
cp ../shared/tools/hf_peer_bench.py .carry/
du -sh .carry | awk '{print ".carry: " $1 " (64 MiB at most go to the GPU machine, the working tree included)"}'
