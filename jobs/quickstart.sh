#!/usr/bin/env bash
# The embedded demo of the whole pipeline on Spark local mode, with the stories15M target
# (fetched once with npm) and the sample conversations shipped with the tests:
# regenerate -> features -> vocab -> train -> export -> evaluate (trained vs untrained draft).
# Outputs go to target/quickstart/ (QUICKSTART_OUT overrides); TRAIN_STEPS sets the training length.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${QUICKSTART_OUT:-target/quickstart}
STEPS=${TRAIN_STEPS:-200}
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
rm -rf "$OUT"
echo "== 1. regenerate: stories15M answers the sample conversations' questions itself"
run regenerate --model stories15M --input "$DATA/sharegpt_sample.jsonl" --input "$DATA/ultrachat_sample.jsonl" \
  --max-new-tokens 96 --max-prompt-tokens 200 --output "$OUT/regenerated"
echo "== 2. features (stage 1)"
run features --model stories15M --input "$OUT/regenerated" --max-length 256 --output "$OUT/features"
echo "== 3. draft vocabulary"
run vocab --features "$OUT/features" --output "$OUT/vocab" --size 4000
echo "== 4. train the draft ($STEPS updates on the CPU) and export it"
run train --features "$OUT/features" --target stories15M --vocab "$OUT/vocab/vocab.safetensors" \
  --checkpoints "$OUT/checkpoints" --steps "$STEPS" --checkpoint-every 100 --micro-batch 4 --lr 2e-3 \
  --warmup 20 --export "$OUT/draft"
echo "== 5. evaluate: speculative decoding on MT-bench questions, trained vs untrained draft"
run evaluate --target stories15M --draft "$OUT/draft" --prompts "$DATA/mt_bench_questions.jsonl" \
  --limit 10 --max-new-tokens 64 --k 5 --compare-untrained --report "$OUT/evaluation.json"
