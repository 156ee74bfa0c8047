#!/usr/bin/env bash
# The regenerate stage's decoding at Llama-3.1-8B shapes on the GPU: three runs of the bench
# command (each the median of 3 iterations after 1 warm-up; an iteration generates 1 token, then
# 64, from 512-token random prompts, greedy), at batch 1 and 32.
# Usage: bench-decode.sh APP_DIR   (APP_DIR holds classes/ and lib/)
set -euo pipefail
APP=$1
RUN=(java -Xmx24g -cp "$APP/classes:$APP/lib/*" dev.eaglespark.cli.Main bench --stage decode --shapes llama3.1-8b)
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
for i in 1 2 3; do "${RUN[@]}" --batch 1,32 --prompt-len 512 --new-tokens 64 --warmup 1 --iters 3; done
