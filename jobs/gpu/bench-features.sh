#!/usr/bin/env bash
# Stage-1 throughput at Llama-3.1-8B shapes on the GPU: three runs of the bench command (each
# the median of 10 intervals between batches of the pipelined feature extractor, after 3
# warm-ups; the first run also times each op class of a layer alone), then one profiled batch
# per batch size.
# Usage: bench-features.sh APP_DIR OUT_DIR   (APP_DIR holds classes/ and lib/)
set -euo pipefail
APP=$1 OUT=$2
RUN=(java -Xmx24g -cp "$APP/classes:$APP/lib/*" dev.eaglespark.cli.Main bench --stage features --shapes llama3.1-8b)
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
"${RUN[@]}" --batch 1,4 --seq 2048 --warmup 3 --iters 10 --op-profile
for i in 2 3; do "${RUN[@]}" --batch 1,4 --seq 2048 --warmup 3 --iters 10; done
"${RUN[@]}" --batch 1,4 --seq 2048 --warmup 2 --iters 2 --profile "$OUT"
