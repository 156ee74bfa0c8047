#!/usr/bin/env bash
# The embedded demo of the whole pipeline on Spark local mode, with the stories15M target
# (fetched once with npm) writing its own data: prompts (story openings) -> regenerate ->
# features -> vocab -> train -> export -> evaluate on held-out openings (trained vs untrained
# draft). Settings and paths are those of conf/jobs/demo.conf: outputs go to target/quickstart/;
# TRAIN_STEPS sets the training length.
set -euo pipefail
cd "$(dirname "$0")/.."
# The deployable jar, plus what a cluster would supply (target/provided: Spark's jars, libtorch's CPU natives).
mvn -q -B -DskipTests package
run() {
  SPARK_MASTER='local[*]' jobs/submit.sh "$1" --config conf/jobs/demo.conf "${@:2}"
}
rm -rf target/quickstart
echo "== 1. prompts: stories15M writes story openings, for training (seed 1) and held out (seed 2)"
run prompts
# The held-out openings: evaluate.prompts in the config names this file.
run prompts --seed 2 --count 20 --exclude target/quickstart/prompts/train.jsonl \
  --output target/quickstart/prompts/heldout.jsonl
echo "== 2. regenerate: stories15M answers its training openings itself"
run regenerate
echo "== 3. features (stage 1)"
run features
echo "== 4. draft vocabulary"
run vocab
echo "== 5. train the draft (${TRAIN_STEPS:-200} updates on the CPU) and export it"
run train ${TRAIN_STEPS:+--steps "$TRAIN_STEPS"}
echo "== 6. evaluate: speculative decoding on the held-out openings, trained vs untrained draft"
run evaluate
