#!/usr/bin/env bash
# The regenerate stage's decoding on the GPU, in one command of about 6 minutes (each part capped,
# at most 7.8 minutes in all):
# 1. GpuDecodeStepCheck: the one-call decode path (prefill and steps of rows at their own positions
#    in slots) against the per-layer path and fp32 on the CPU, the tiny fixtures, fp16 and fp32;
# 2. DecodeStepCost at narrow shapes (32 layers, hidden 256), fp16: ops and host ms per decode step,
#    per-layer calls against one call, batch 1, 8 and 32, and the host's cost of one op;
# 3. Llama-3.1-8B shapes (random fp16 weights), fixed shapes: batch 1, 32, 128 and 256, 512-token
#    prompts, 64 new tokens, median of 3 iterations after 1 warm-up, against the memory floor at the
#    H200's 4.8 TB/s;
# 4. Llama-3.1-8B shapes, a realistic mix: 512-token prompts, answers log-normal in 50-1,000 tokens,
#    3 requests per slot, continuous against static batching at 128 and 256 slots.
# Exits 1 when a check fails or a part does not finish in its time.
# Usage (from the repository root): bench-decode.sh APP_DIR   (APP_DIR from make-app.sh: classes/,
# test-classes/ and lib/)
set -uo pipefail
APP=$1
CP="$APP/test-classes:$APP/classes:$APP/lib/*"
BENCH=(java -Xmx24g -cp "$CP" dev.eaglespark.cli.Main bench --stage decode --shapes llama3.1-8b)
F=src/test/resources/fixtures
status=0
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
timeout 60 java -Xmx8g -cp "$CP" dev.eaglespark.model.GpuDecodeStepCheck "$F/tiny-llama3" "$F/tiny-qwen2" \
    "$F/tiny-qwen3" || status=1
timeout 45 java -Xmx8g -cp "$CP" dev.eaglespark.model.DecodeStepCost conf/shapes/llama3.1-8b-narrow.json gpu \
    || status=1
timeout 120 "${BENCH[@]}" --batch 1,32,128,256 --prompt-len 512 --new-tokens 64 --warmup 1 --iters 3 || status=1
timeout 240 "${BENCH[@]}" --mix lognormal --answers 50-1000 --batch 128,256 --requests 3 \
    --prompt-len 512 || status=1
exit $status
