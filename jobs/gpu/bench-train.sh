#!/usr/bin/env bash
# Stage-2 (training) throughput at Llama-3.1-8B shapes on the GPU: three runs of the bench command
# per precision (each the median of 10 timed updates after 3 warm-ups; one JVM per run so the
# memory reading is not inflated by an earlier run's cached blocks), then one profiled fp16 update.
# Usage: bench-train.sh APP_DIR OUT_DIR   (APP_DIR holds classes/ and lib/)
set -euo pipefail
APP=$1 OUT=$2
RUN=(java -Xmx24g -cp "$APP/classes:$APP/lib/*" dev.eaglespark.cli.Main bench --stage train --shapes llama3.1-8b
     --seq 2048 --ttt 7 --draft-vocab 32000)
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
for precision in fp16 fp32; do
  for i in 1 2 3; do "${RUN[@]}" --batch 1 --precision "$precision" --warmup 3 --iters 10; done
done
# with gradient accumulation (time per micro-batch) and at batch 2
"${RUN[@]}" --batch 1 --precision fp16 --accumulate 8 --warmup 1 --iters 3
"${RUN[@]}" --precision fp16 --batch 2 --warmup 2 --iters 5
"${RUN[@]}" --batch 1 --precision fp16 --warmup 2 --iters 2 --profile "$OUT"
