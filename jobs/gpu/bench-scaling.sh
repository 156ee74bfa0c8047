#!/usr/bin/env bash
# Data-parallel scaling on a two-GPU machine, about 6 minutes: first GpuNcclCheck (its two-rank checks:
# exact averages, NCCL and the ring training to the same weights, failures), then training throughput at
# Llama-3.1-8B draft shapes with 64 (the shipped configs) and 8 micro-batches per update, in four JVMs:
# 1 rank without a collective, 1 rank through a one-rank NCCL communicator (the device path's own cost),
# 2 ranks on the ring over loopback, 2 ranks on NCCL (rank r on GPU r, threads of one JVM). Each line
# reports rank 0's time per micro-batch, the tokens/s of all ranks and the all-reduce time per update.
# Usage: bench-scaling.sh APP_DIR [OPTIONS...]   (APP_DIR from make-app.sh; OPTIONS go to every bench
# run, e.g. --wire fp16)
set -euo pipefail
APP=$1
shift
RUN=(java -Xmx48g -cp "$APP/classes:$APP/lib/*" dev.eaglespark.cli.Main bench --stage train --shapes llama3.1-8b
     --batch 1 --seq 2048 --ttt 7 --draft-vocab 32000 --precision fp16 --accumulate 64,8 --warmup 1 --iters 3 "$@")
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
java -Xmx8g -cp "$APP/test-classes:$APP/classes:$APP/lib/*" dev.eaglespark.collective.GpuNcclCheck \
  src/test/resources/fixtures || echo "GpuNcclCheck FAILED (the timings follow all the same)"
"${RUN[@]}"
"${RUN[@]}" --collective nccl
"${RUN[@]}" --workers 2 --collective ring
"${RUN[@]}" --workers 2 --collective nccl
