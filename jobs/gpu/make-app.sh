#!/usr/bin/env bash
# Assembles the APP directory that the other jobs/gpu scripts take: the project's classes, its
# test classes (the Gpu*Check programs of gpu-checks.sh; they read the fixtures from the
# checkout) and the runtime jars, without DJL's CPU natives (on the GPU machine libtorch comes
# from PYTORCH_LIBRARY_PATH). --slim also leaves out the jars that bench and the GPU checks never
# load (the tokenizer's and zstd's natives, about 25 MB), for machines reached through a size limit.
# Usage (from anywhere in the checkout): make-app.sh OUT_DIR [--slim]
set -euo pipefail
OUT=${1:?usage: make-app.sh OUT_DIR [--slim]}
SLIM=${2:-}
cd "$(dirname "$0")/../.."
mvn -B -q test-compile
rm -rf "$OUT"
mkdir -p "$OUT/test-classes"
cp -r target/classes "$OUT/classes"
cp -r target/test-classes/dev "$OUT/test-classes/" # classes only: resources stay in the checkout
excluded=pytorch-native-cpu
if [ "$SLIM" = "--slim" ]; then excluded=$excluded,tokenizers,zstd-jni; fi
mvn -B -q dependency:copy-dependencies -DincludeScope=runtime -DexcludeArtifactIds="$excluded" \
    -DoutputDirectory="$OUT/lib"
du -sh "$OUT"
