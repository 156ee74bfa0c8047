#!/usr/bin/env bash
# Packs what jobs/gpu/quality.sh needs on the GPU machine, which has no Java build, no npm and no
# registry access: make-app.sh APP --spark (classes, runtime jars, Spark's jars), plus the stories15M
# model directory (fetched and converted here once, into the usual cache) as APP/cache/models/
# stories15M, which quality.sh hands to every stage (-Deaglespark.cache). Then pack-parts.sh cuts
# APP into parts that fit a device call, and prints the calls. libtorch and the Java runtime come
# from ../shared/gpu/make-bundle.sh, installed first.
# Usage (from anywhere in the checkout): make-quality-app.sh APP
set -euo pipefail
APP=${1:?usage: make-quality-app.sh APP}
here=$(cd "$(dirname "$0")" && pwd)
"$here/make-app.sh" "$APP" --spark
model=$(java -cp "$APP/classes:$APP/lib/*" dev.eaglespark.model.Stories15M | tail -1)
mkdir -p "$APP/cache/models"
cp -r "$model" "$APP/cache/models/stories15M"
"$here/pack-parts.sh" "$APP"
