#!/usr/bin/env bash
# Packs what jobs/gpu/quality.sh needs on the GPU machine, which has no Java build, no npm and no
# registry access: make-app.sh APP --spark (classes, runtime jars, Spark's jars), a Java runtime
# (APP/jre, jlink of this machine's JDK 17, x86-64), plus the stories15M
# model directory (fetched and converted here once, into the usual cache) as APP/cache/models/
# stories15M, which quality.sh hands to every stage (-Deaglespark.cache). pack-parts.sh cuts APP
# into parts that fit a device call. libtorch and the Java runtime come from
# ../shared/gpu/make-bundle.sh (.gpu/), installed first. Prints every device call of the benchmark,
# in order, with what each carries and should take.
# Usage (from anywhere in the checkout): make-quality-app.sh APP
set -euo pipefail
APP=${1:?usage: make-quality-app.sh APP}
here=$(cd "$(dirname "$0")" && pwd)
"$here/make-app.sh" "$APP" --spark
model=$(java -cp "$APP/classes:$APP/lib/*" dev.eaglespark.demo.Stories15M | tail -1)
# A Java runtime with what Spark's local mode and Hadoop's login need (jdk.security.auth above all):
# the GPU bundle's runtime is trimmed to DJL's needs. About 33 MB gzipped.
rm -rf "$APP/jre"
jlink --add-modules java.se,jdk.security.auth,jdk.security.jgss,jdk.unsupported,jdk.crypto.ec,jdk.management,jdk.zipfs,jdk.naming.dns,jdk.httpserver \
    --strip-debug --no-man-pages --no-header-files --compress=2 --output "$APP/jre"
mkdir -p "$APP/cache/models"
rm -rf "$APP/cache/models/stories15M"
cp -r "$model" "$APP/cache/models/stories15M"
"$here/pack-parts.sh" "$APP" > /dev/null
calls=$("$here/pack-parts.sh" --calls)
n=$(grep -c '^  [0-9]' <<<"$calls" || true)
# Each benchmark call keeps its state in /tmp (WORK and OUT) for the next and copies OUT back.
bench() { # PHASES
  echo "source /opt/djl/env.sh && jobs/gpu/quality.sh /opt/eaglespark-app /tmp/quality-work /tmp/quality-out $1;" \
    "rc=\$?; cp -r /tmp/quality-out/. \$OUT/; exit \$rc"
}
cat <<CALLS
The device calls of the quality benchmark (kind nvidia-h200), in this order and back to back: the
machine keeps /tmp and /opt only while warm, so a machine that went cold starts over at call 1.
$calls
  $((n + 1)). carry []: $(bench "data train")
       (5-7 min: prompts, answers and features of 4,000 + 200 + 200 stories, then the main and
       mask-reference runs side by side; never past 470 s, CALL_SECONDS: the runs stop there)
  $((n + 2)). carry []: $(bench "evaluate report")
       (5-7 min: the speed measurement on the GPU beside the CPU evaluations; never past 470 s)
The second call's files are the results: quality.md, learning-curve.png, learning-curve.csv,
eval/*.json, runs/*/metrics.csv, timings.tsv, summaries.txt, logs/ (docs/QUALITY.md says more).
CALLS
