#!/usr/bin/env bash
# Data-parallel scaling on a two-GPU machine: training throughput of 1 rank against 2 ranks (rank r
# on GPU r, threads of one JVM, gradients averaged by the ring over loopback after every update),
# at Llama-3.1-8B draft shapes, with the shipped configs' 64 micro-batches per update and with 8.
# Usage: bench-scaling.sh APP_DIR   (APP_DIR holds classes/ and lib/)
set -euo pipefail
APP=$1
RUN=(java -Xmx48g -cp "$APP/classes:$APP/lib/*" dev.eaglespark.cli.Main bench --stage train --shapes llama3.1-8b
     --batch 1 --seq 2048 --ttt 7 --draft-vocab 32000 --precision fp16)
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
"${RUN[@]}" --accumulate 64 --warmup 1 --iters 3
"${RUN[@]}" --accumulate 64 --warmup 1 --iters 3 --workers 2
"${RUN[@]}" --accumulate 64 --warmup 1 --iters 3 --workers 2 --wire fp16
"${RUN[@]}" --accumulate 8 --warmup 1 --iters 5
"${RUN[@]}" --accumulate 8 --warmup 1 --iters 5 --workers 2
