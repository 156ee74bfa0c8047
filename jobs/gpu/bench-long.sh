#!/usr/bin/env bash
# Training memory and throughput with the chunked head and loss, at Llama-3.1-8B shapes, TTT 7,
# fp16, one sequence per micro-batch: the shared head (the target's 128,256-token vocabulary,
# frozen) at sequences 2048 and 8192; a 32,000-token draft vocabulary at 2048, then at 16,384 and
# 32,768 with every step's activations kept and with the steps recomputed in the backward
# (--recompute); then online training at 2048 (stage 1 alone, training on ready features, online).
# One JVM per configuration, so a reading is not inflated by an earlier run's cached blocks; each
# line is the median of 5 timed updates after 2 warm-ups (3 after 1 at 16,384 and longer).
# About 6 minutes on an H200; a configuration that fails (out of memory) does not stop the others.
# Usage: bench-long.sh APP_DIR   (APP_DIR holds classes/ and lib/, see make-app.sh)
set -uo pipefail
APP=$1
RUN=(java -Xmx24g -cp "$APP/classes:$APP/lib/*" dev.eaglespark.cli.Main bench --stage train --shapes llama3.1-8b
     --batch 1 --ttt 7 --precision fp16)
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
status=0
for seq in 2048 8192; do "${RUN[@]}" --shared-head --seq "$seq" --warmup 2 --iters 5 || status=1; done
"${RUN[@]}" --draft-vocab 32000 --seq 2048 --warmup 2 --iters 5 || status=1
for seq in 16384 32768; do
  "${RUN[@]}" --draft-vocab 32000 --seq "$seq" --warmup 1 --iters 3 || status=1
  "${RUN[@]}" --draft-vocab 32000 --seq "$seq" --warmup 1 --iters 3 --recompute || status=1
done
"${RUN[@]}" --draft-vocab 32000 --seq 2048 --warmup 2 --iters 5 --online || status=1
exit $status
