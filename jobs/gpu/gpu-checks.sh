#!/usr/bin/env bash
# The GPU checks behind docs/BENCHMARKS.md's correctness figures for the GPU-only paths: the
# train-time-test step on the reference dumps, the draft's inference steps against the training script,
# clipping and fused AdamW against the CPU, the fused
# fp16 forward against fp32 on the CPU, the KV-cached forward (fp16 and fp32) against the CPU's full
# forward, the one-call decode path against the per-layer one and the CPU, its CUDA graphs against
# the interpreter, the pipelined stage-1
# extractor against one batch at a time, and the NCCL collective (GpuNcclCheck; nccl-checks.sh runs
# it with more). They are programs in src/test/java (compiled by every build, not run by it: CI has no GPU);
# each prints what it measured and exits 1 past its limit.
# Usage (from the repository root): gpu-checks.sh APP_DIR   (APP_DIR holds classes/, test-classes/ and lib/)
set -uo pipefail
APP=$1
RUN=(java -Xmx8g -cp "$APP/test-classes:$APP/classes:$APP/lib/*:$APP/spark/*") # spark/: Hadoop, for apps made with --spark
F=src/test/resources/fixtures
status=0
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
"${RUN[@]}" dev.eaglespark.draft.GpuTrainStepCheck "$F" || status=1
"${RUN[@]}" dev.eaglespark.draft.GpuDraftInferenceCheck "$F" || status=1
"${RUN[@]}" dev.eaglespark.train.GpuAdamWCheck || status=1
"${RUN[@]}" dev.eaglespark.model.GpuFusedForwardCheck "$F/tiny-llama3" "$F/tiny-qwen2" "$F/tiny-qwen3" || status=1
"${RUN[@]}" dev.eaglespark.model.GpuCachedForwardCheck "$F/tiny-llama3" "$F/tiny-qwen2" "$F/tiny-qwen3" || status=1
"${RUN[@]}" dev.eaglespark.model.GpuDecodeStepCheck "$F/tiny-llama3" "$F/tiny-qwen2" "$F/tiny-qwen3" || status=1
"${RUN[@]}" dev.eaglespark.model.GpuDecodeGraphCheck "$F/tiny-llama3" "$F/tiny-qwen2" "$F/tiny-qwen3" || status=1
"${RUN[@]}" dev.eaglespark.features.GpuPipelineCheck "$F/tiny-llama3" "$F/tiny-qwen3" || status=1
"${RUN[@]}" dev.eaglespark.collective.GpuNcclCheck "$F" || status=1
exit $status
