#!/usr/bin/env bash
# Runs one eaglespark stage: jobs/submit.sh STAGE [options]   (e.g. train --config conf/jobs/demo.conf)
#
# SPARK_MASTER unset or local[...]: plain java on this machine with the classpath below (no Spark
# install needed; Spark runs embedded). Anything else (yarn, k8s://..., spark://...): spark-submit
# with one GPU and one task per executor. Environment, with defaults:
#   SPARK_MASTER          (unset)         the Spark master
#   SPARK_DEPLOY_MODE     client          driver placement for spark-submit
#   NUM_EXECUTORS         2               executors (= GPUs) to ask for
#   EXECUTOR_CORES        8               cores per executor; spark.task.cpus is the same, so one task runs per executor
#   EXECUTOR_MEMORY       48g             heap per executor (spark.executor.memoryOverhead: EXECUTOR_OVERHEAD, 16g)
#   DRIVER_MEMORY         8g
#   GPU_DISCOVERY_SCRIPT  /opt/spark/scripts/getGpusResources.sh  (in the image of docker/Dockerfile)
#   EAGLESPARK_JAR        local:///opt/eaglespark/eaglespark.jar for k8s://, else target/eaglespark-*-all.jar
#   SPARK_SUBMIT_OPTS_EXTRA  more spark-submit arguments, split at spaces (e.g. --conf spark.kubernetes.container.image=...)
#   EAGLESPARK_CLASSPATH  local mode only: the classpath (default: the jar and target/provided/* that jobs/quickstart.sh gathers)
#   JAVA_OPTS             local mode only: extra JVM options
# spark-submit itself adds the --add-opens flags Java 17 needs (Spark 3.3+); plain java gets them here.
set -euo pipefail
[[ $# -ge 1 ]] || { sed -n '2,/^set /p' "$0" | sed '$d' >&2; exit 2; }
stage=$1
shift
# Relative paths in the options and the config are the caller's; only the defaults below use the checkout.
repo=$(cd "$(dirname "$0")/.." && pwd)
MAIN=dev.eaglespark.cli.Main

if [[ -z "${SPARK_MASTER:-}" || "$SPARK_MASTER" == local* ]]; then
  cp=${EAGLESPARK_CLASSPATH:-"$(ls "$repo"/target/eaglespark-*-all.jar 2>/dev/null | head -1):$repo/target/provided/native/*:$repo/target/provided/spark/*"}
  # shellcheck disable=SC2086  # JAVA_OPTS is a list of options
  exec java --add-opens=java.base/java.nio=ALL-UNNAMED --add-opens=java.base/sun.nio.ch=ALL-UNNAMED \
    --add-opens=java.base/java.lang=ALL-UNNAMED --add-opens=java.base/java.util=ALL-UNNAMED \
    --add-opens=java.base/java.lang.invoke=ALL-UNNAMED -Dspark.master="${SPARK_MASTER:-local[*]}" \
    ${JAVA_OPTS:-} -cp "$cp" "$MAIN" "$stage" "$@"
fi

if [[ "$SPARK_MASTER" == k8s://* ]]; then
  jar=${EAGLESPARK_JAR:-local:///opt/eaglespark/eaglespark.jar}
else
  jar=${EAGLESPARK_JAR:-$(ls "$repo"/target/eaglespark-*-all.jar | head -1)}
fi
cores=${EXECUTOR_CORES:-8}
conf=(
  --conf spark.executor.instances="${NUM_EXECUTORS:-2}"
  --conf spark.executor.cores="$cores"
  --conf spark.task.cpus="$cores"
  --conf spark.executor.resource.gpu.amount=1
  --conf spark.task.resource.gpu.amount=1
  --conf spark.executor.resource.gpu.discoveryScript="${GPU_DISCOVERY_SCRIPT:-/opt/spark/scripts/getGpusResources.sh}"
  --conf spark.executor.memory="${EXECUTOR_MEMORY:-48g}"
  --conf spark.executor.memoryOverhead="${EXECUTOR_OVERHEAD:-16g}"
  --conf spark.driver.extraJavaOptions=-Dai.djl.offline=true
  --conf spark.executor.extraJavaOptions=-Dai.djl.offline=true
)
# Training is one barrier task per GPU: executors must not come and go under it.
[[ "$stage" == train ]] && conf+=(--conf spark.dynamicAllocation.enabled=false)
# shellcheck disable=SC2086  # SPARK_SUBMIT_OPTS_EXTRA is a list of arguments
exec spark-submit --master "$SPARK_MASTER" --deploy-mode "${SPARK_DEPLOY_MODE:-client}" \
  --driver-memory "${DRIVER_MEMORY:-8g}" "${conf[@]}" ${SPARK_SUBMIT_OPTS_EXTRA:-} \
  --class "$MAIN" "$jar" "$stage" "$@"
