#!/usr/bin/env bash
# Runs one eaglespark stage: jobs/submit.sh STAGE [options]   (e.g. train --config conf/jobs/demo.conf)
#
# SPARK_MASTER unset or local[...]: plain java on this machine with the classpath below (no Spark
# install needed; Spark runs embedded). Anything else (yarn, k8s://..., spark://...): spark-submit
# (on PATH). Relative paths in the options are made absolute by the command itself, on the driver
# (those of a config file relative to the file). Environment, with defaults:
#   SPARK_MASTER          (unset)         the Spark master
#   SPARK_DEPLOY_MODE     client          driver placement for spark-submit
#   GPUS_PER_EXECUTOR     0               GPUs each executor asks for, one task per GPU (with the
#                                         discovery script below); 0: CPU executors, no GPU settings
#   GPU_DISCOVERY_SCRIPT  /opt/spark/scripts/getGpusResources.sh  (in the image of docker/Dockerfile)
# Executor sizing, set only when given; with GPUS_PER_EXECUTOR > 0 the defaults in brackets apply:
#   NUM_EXECUTORS         [2]             spark.executor.instances (YARN, Kubernetes)
#   EXECUTOR_CORES        [8]             spark.executor.cores; spark.task.cpus is EXECUTOR_CORES / GPUS_PER_EXECUTOR
#   EXECUTOR_MEMORY       [48g]           spark.executor.memory
#   EXECUTOR_OVERHEAD     [16g]           spark.executor.memoryOverhead
#   DRIVER_MEMORY         [8g]            --driver-memory
# libtorch on the executors (DJL runs offline there), one of:
#   PYTORCH_LIBRARY_PATH, PYTORCH_FLAVOR, PYTORCH_VERSION   a libtorch installed on every node (e.g.
#                                         /opt/djl/lib, cu124, 2.5.1): all three or none, passed to the executors
#   TORCH_NATIVES_JAR     target/provided/native/pytorch-native-*.jar   shipped with --jars (not on k8s://,
#                                         whose image has libtorch); 'none' ships nothing
#   EAGLESPARK_JAR        local:///opt/eaglespark/eaglespark.jar for k8s://, else target/eaglespark-*-all.jar
#   SPARK_SUBMIT_OPTS_EXTRA  more spark-submit arguments, split at spaces (e.g. --conf spark.kubernetes.container.image=...)
#   EAGLESPARK_CLASSPATH  local mode only: the classpath (default: the jar and target/provided/*, which mvn package writes)
#   JAVA_OPTS             local mode only: extra JVM options
# spark-submit itself adds the --add-opens flags Java 17 needs (Spark 3.3+); plain java gets them here.
set -euo pipefail
[[ $# -ge 1 ]] || { sed -n '2,/^set /p' "$0" | sed '$d' >&2; exit 2; }
stage=$1
shift
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

die() { echo "submit.sh: $*" >&2; exit 2; }
k8s=false
[[ "$SPARK_MASTER" == k8s://* ]] && k8s=true
if $k8s; then
  jar=${EAGLESPARK_JAR:-local:///opt/eaglespark/eaglespark.jar}
else
  jar=${EAGLESPARK_JAR:-$(ls "$repo"/target/eaglespark-*-all.jar 2>/dev/null | head -1)}
  [[ -n "$jar" ]] || die "no target/eaglespark-*-all.jar: run 'mvn -B -DskipTests package' or set EAGLESPARK_JAR"
fi
gpus=${GPUS_PER_EXECUTOR:-0}
[[ "$gpus" =~ ^[0-9]+$ ]] || die "GPUS_PER_EXECUTOR must be a number, got '$gpus'"
args=(--master "$SPARK_MASTER" --deploy-mode "${SPARK_DEPLOY_MODE:-client}"
  --conf spark.driver.extraJavaOptions=-Dai.djl.offline=true
  --conf spark.executor.extraJavaOptions=-Dai.djl.offline=true)
if (( gpus > 0 )); then
  cores=${EXECUTOR_CORES:-8}
  args+=(--conf spark.executor.instances="${NUM_EXECUTORS:-2}"
    --conf spark.executor.cores="$cores" --conf spark.task.cpus=$(( cores / gpus > 0 ? cores / gpus : 1 ))
    --conf spark.executor.resource.gpu.amount="$gpus" --conf spark.task.resource.gpu.amount=1
    --conf spark.executor.resource.gpu.discoveryScript="${GPU_DISCOVERY_SCRIPT:-/opt/spark/scripts/getGpusResources.sh}"
    --conf spark.executor.memory="${EXECUTOR_MEMORY:-48g}"
    --conf spark.executor.memoryOverhead="${EXECUTOR_OVERHEAD:-16g}" --driver-memory "${DRIVER_MEMORY:-8g}")
  # Kubernetes asks its device plugin for the GPUs by vendor.
  $k8s && args+=(--conf spark.executor.resource.gpu.vendor=nvidia.com)
else
  [[ -n "${NUM_EXECUTORS:-}" ]] && args+=(--conf spark.executor.instances="$NUM_EXECUTORS")
  [[ -n "${EXECUTOR_CORES:-}" ]] && args+=(--conf spark.executor.cores="$EXECUTOR_CORES")
  [[ -n "${EXECUTOR_MEMORY:-}" ]] && args+=(--conf spark.executor.memory="$EXECUTOR_MEMORY")
  [[ -n "${EXECUTOR_OVERHEAD:-}" ]] && args+=(--conf spark.executor.memoryOverhead="$EXECUTOR_OVERHEAD")
  [[ -n "${DRIVER_MEMORY:-}" ]] && args+=(--driver-memory "$DRIVER_MEMORY")
fi

# libtorch: DJL needs all three variables for an installed library (with the path alone it takes
# its pre-cxx11 CPU build, and the executor dies on an undefined symbol).
torch_vars=0
for v in PYTORCH_LIBRARY_PATH PYTORCH_FLAVOR PYTORCH_VERSION; do [[ -n "${!v:-}" ]] && torch_vars=$((torch_vars + 1)); done
if (( torch_vars == 3 )); then
  for v in PYTORCH_LIBRARY_PATH PYTORCH_FLAVOR PYTORCH_VERSION; do args+=(--conf "spark.executorEnv.$v=${!v}"); done
elif (( torch_vars > 0 )); then
  die "set PYTORCH_LIBRARY_PATH, PYTORCH_FLAVOR (cpu, cu124) and PYTORCH_VERSION (2.5.1) together, or none of them"
elif ! $k8s; then
  natives=${TORCH_NATIVES_JAR:-$(ls "$repo"/target/provided/native/pytorch-native-*.jar 2>/dev/null | head -1)}
  [[ -n "$natives" ]] || die "no libtorch for the executors: set PYTORCH_LIBRARY_PATH, PYTORCH_FLAVOR and" \
    "PYTORCH_VERSION (a node install), or TORCH_NATIVES_JAR (or run 'mvn package', which puts it in target/provided/native)"
  [[ "$natives" == none ]] || args+=(--jars "$natives")
fi
# Training is one barrier task per worker: executors must not come and go under it.
[[ "$stage" == train ]] && args+=(--conf spark.dynamicAllocation.enabled=false)
# shellcheck disable=SC2086  # SPARK_SUBMIT_OPTS_EXTRA is a list of arguments
exec spark-submit "${args[@]}" ${SPARK_SUBMIT_OPTS_EXTRA:-} --class "$MAIN" "$jar" "$stage" "$@"
