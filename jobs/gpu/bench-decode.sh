#!/usr/bin/env bash
# The regenerate stage's decoding on the GPU, in parts (each capped; check, fixed and eager about 6 minutes,
# ops 2, mix 6):
#   check   GpuDecodeStepCheck (the one-call decode path, an extension after its steps included,
#           against the per-layer path and fp32 on the CPU; tiny fixtures, fp16 and fp32; and at
#           Llama-3.1-8B's shapes, 4 layers of random weights, fp16 against fp32 on the GPU) and
#           GpuDecodeGraphCheck (decode steps replayed as CUDA
#           graphs against the interpreter: every token of a continuous-batching mix, on two
#           threads at once, and of multi-turn work whose next turns keep their slot's prefix; fp16)
#   cost    DecodeStepCost at narrow shapes (32 layers, hidden 256), fp16: ops and host ms per step
#   fixed   Llama-3.1-8B shapes (random fp16 weights), fixed shapes: batch 1, 32, 128 and 256,
#           512-token prompts, 64 new tokens, median of 3 iterations after 1 warm-up, against the
#           memory floor at the H200's 4.8 TB/s; with CUDA graphs (the default)
#   eager   the same without them (-Deaglespark.cuda-graphs=false): the interpreter's step
#   ops     GPU time per section of a step's layer (norms, GEMMs, rotary, cache write and attention,
#           SwiGLU) at the fixed shapes, by CUDA events (bench --op-profile), beside the measured step
#   mix     Llama-3.1-8B shapes, a realistic mix: 512-token prompts, answers log-normal in 50-1,000
#           tokens, 3 requests per slot, continuous against static batching at 128 and 256 slots (a JVM each;
#           MIX_SLOTS="256" for one count)
#   bias    attention over every slot's keys up to the longest row, hidden by a bias, as before
#           each row's own keys became the default (-Deaglespark.own-length-attention=false): the
#           step check, the fixed shapes and the 256-slot mix (about 6 minutes)
#   regen   regenerate's own loop (RegenerateTiming: the Regenerator of each task, without Spark) at
#           Llama-3.1-8B shapes, random fp16 weights, on the sample conversations six times over,
#           256 new tokens, slots from free memory, two rounds (about 1.5 minutes; APP with
#           cache/models/stories15M, as make-quality-app.sh packs it, for the tokenizer)
#   whole   the same with every prompt prefilled whole (-Deaglespark.prefix-reuse=false), against
#           regen's next turns keeping their slot's prefix (about 1.5 minutes)
# Exits 1 when a check fails or a part does not finish in its time.
# Usage (from the repository root): bench-decode.sh APP_DIR [PART...]   (default: check fixed eager
# mix; APP_DIR from make-app.sh: classes/, test-classes/ and lib/)
set -uo pipefail
APP=$1
shift
parts=("$@")
[[ ${#parts[@]} -gt 0 ]] || parts=(check fixed eager mix)
CP="$APP/test-classes:$APP/classes:$APP/lib/*:$APP/spark/*" # spark/: Hadoop, for apps made with --spark
BENCH=(dev.eaglespark.cli.Main bench --stage decode --shapes llama3.1-8b)
FIXED=(--batch 1,32,128,256 --prompt-len 512 --new-tokens 64 --warmup 1 --iters 3)
F=src/test/resources/fixtures
status=0
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
for part in "${parts[@]}"; do
  echo "== $(date +%T) $part"
  case $part in
    check)
      timeout 150 java -Xmx16g -cp "$CP" dev.eaglespark.model.GpuDecodeStepCheck "$F/tiny-llama3" "$F/tiny-qwen2" \
        "$F/tiny-qwen3" llama3.1-8b || status=1
      timeout 240 java -Xmx8g -cp "$CP" dev.eaglespark.model.GpuDecodeGraphCheck "$F/tiny-llama3" "$F/tiny-qwen2" \
        "$F/tiny-qwen3" || status=1 ;;
    cost)
      timeout 45 java -Xmx8g -cp "$CP" dev.eaglespark.model.DecodeStepCost conf/shapes/llama3.1-8b-narrow.json gpu \
        || status=1 ;;
    fixed) timeout 170 java -Xmx24g -cp "$CP" "${BENCH[@]}" "${FIXED[@]}" || status=1 ;;
    eager) timeout 170 java -Xmx24g -Deaglespark.cuda-graphs=false -cp "$CP" "${BENCH[@]}" "${FIXED[@]}" || status=1 ;;
    ops) # one timed iteration per batch, then each section of a step's layer by CUDA events, in ms per step
      timeout 150 java -Xmx24g -cp "$CP" "${BENCH[@]}" --batch 1,32,128,256 --prompt-len 512 --new-tokens 64 \
        --warmup 1 --iters 1 --op-profile || status=1 ;;
    mix) # one JVM per slot count: after 128 slots, 256 ran out of memory in blocks the allocator kept
      for slots in ${MIX_SLOTS:-128 256}; do
        PYTORCH_CUDA_ALLOC_CONF=expandable_segments:True timeout $((slots == 128 ? 150 : 220)) java -Xmx24g -cp "$CP" \
          "${BENCH[@]}" --mix lognormal --answers 50-1000 --batch $slots --requests 3 --prompt-len 512 || status=1
      done ;;
    bias)
      BIAS=-Deaglespark.own-length-attention=false
      timeout 60 java -Xmx8g $BIAS -cp "$CP" dev.eaglespark.model.GpuDecodeStepCheck "$F/tiny-llama3" "$F/tiny-qwen2" \
        "$F/tiny-qwen3" || status=1
      timeout 170 java -Xmx24g $BIAS -cp "$CP" "${BENCH[@]}" "${FIXED[@]}" || status=1
      PYTORCH_CUDA_ALLOC_CONF=expandable_segments:True timeout 220 java -Xmx24g $BIAS -cp "$CP" "${BENCH[@]}" \
        --mix lognormal --answers 50-1000 --batch 256 --requests 3 --prompt-len 512 || status=1 ;;
    regen|whole)
      REUSE=-Deaglespark.prefix-reuse=$([[ $part == regen ]] && echo true || echo false)
      timeout 290 java -Xmx24g $REUSE -Deaglespark.cache="$APP/cache" -cp "src/test/resources:$CP" \
        dev.eaglespark.regen.RegenerateTiming device=gpu shapes=llama3.1-8b slots=0 copies=6 new=256 prompt=1024 \
        || status=1 ;;
    *) echo "unknown part $part (check, cost, fixed, eager, ops, mix, bias, regen, whole)" >&2; status=2 ;;
  esac
done
exit $status
