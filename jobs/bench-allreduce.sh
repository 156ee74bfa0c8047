#!/usr/bin/env bash
# All-reduce throughput on loopback: eaglespark ring vs XGBoost4J Communicator vs raw sockets.
# Usage: jobs/bench-allreduce.sh [sizesMB=1,10,100,1000] [ranks=2,3] [impls=raw,ring,ring-fp16,xgb]
set -euo pipefail
cd "$(dirname "$0")/.."
mvn -B -q test-compile
mvn -B -q dependency:build-classpath -Dmdep.includeScope=test -Dmdep.outputFile=target/bench.classpath
exec java -Xmx2g -Dbench.workerHeap="${BENCH_WORKER_HEAP:-3g}" -Dbench.bucketMB="${BENCH_BUCKET_MB:-4}" \
  -cp "target/classes:target/test-classes:$(cat target/bench.classpath)" \
  dev.eaglespark.bench.AllReduceBench "$@"
