#!/usr/bin/env bash
# The embedded demo of the whole pipeline on Spark local mode, with the stories15M target
# (fetched once with npm) and the sample conversations shipped with the tests:
# regenerate -> features -> vocab -> train -> export -> evaluate (trained vs untrained draft).
# Settings and paths are those of conf/jobs/demo.conf: outputs go to target/quickstart/;
# TRAIN_STEPS sets the training length.
set -euo pipefail
cd "$(dirname "$0")/.."
# The deployable jar, plus what a cluster would supply (target/provided: Spark's jars, libtorch's CPU natives).
mvn -q -B -DskipTests package
run() {
  SPARK_MASTER='local[*]' jobs/submit.sh "$1" --config conf/jobs/demo.conf "${@:2}"
}
rm -rf target/quickstart
echo "== 1. regenerate: stories15M answers the sample conversations' questions itself"
run regenerate
echo "== 2. features (stage 1)"
run features
echo "== 3. draft vocabulary"
run vocab
echo "== 4. train the draft (${TRAIN_STEPS:-200} updates on the CPU) and export it"
run train ${TRAIN_STEPS:+--steps "$TRAIN_STEPS"}
echo "== 5. evaluate: speculative decoding on MT-bench questions, trained vs untrained draft"
run evaluate
