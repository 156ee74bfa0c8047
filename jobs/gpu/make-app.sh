#!/usr/bin/env bash
# Assembles the APP directory that the other jobs/gpu scripts take: the project's classes, its
# test classes (the Gpu*Check programs of gpu-checks.sh; they read the fixtures from the
# checkout) and the runtime jars, without DJL's CPU natives (on the GPU machine libtorch comes
# from PYTORCH_LIBRARY_PATH). --slim also leaves out the jars that bench and the GPU checks never
# load (the tokenizer's and zstd's natives, about 25 MB), for machines reached through a size limit.
# --spark adds APP/spark: Spark's jars (the provided scope: what a cluster supplies), so that the
# Spark stages run in local mode through jobs/submit.sh (quality.sh); rocksdbjni (58 MB, the
# optional RocksDB store of Spark's UI and history server, never loaded by a batch job) is left
# out. pack-parts.sh cuts such an APP into parts that fit a device call.
# Usage (from anywhere in the checkout): make-app.sh OUT_DIR [--slim | --spark]
set -euo pipefail
OUT=${1:?usage: make-app.sh OUT_DIR [--slim | --spark]}
FLAG=${2:-}
cd "$(dirname "$0")/../.."
mvn -B -q test-compile
rm -rf "$OUT"
mkdir -p "$OUT/test-classes"
cp -r target/classes "$OUT/classes"
cp -r target/test-classes/dev "$OUT/test-classes/" # classes only: resources stay in the checkout
excluded=pytorch-native-cpu
if [ "$FLAG" = "--slim" ]; then excluded=$excluded,tokenizers,zstd-jni; fi
mvn -B -q dependency:copy-dependencies -DincludeScope=runtime -DexcludeArtifactIds="$excluded" \
    -DoutputDirectory="$OUT/lib"
if [ "$FLAG" = "--spark" ]; then
  mvn -B -q dependency:copy-dependencies -DincludeScope=provided -DexcludeArtifactIds=rocksdbjni \
      -DoutputDirectory="$OUT/spark"
fi
du -sh "$OUT"
