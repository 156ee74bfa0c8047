#!/usr/bin/env bash
# The draft-quality benchmark of docs/QUALITY.md: the real stages on the stories15M target, each
# through jobs/submit.sh in Spark local mode (prompts and evaluate are Spark-free commands and run
# the same way), from prompts the target writes itself to the acceptance length of the drafts.
#
#   quality.sh [--tiny] [--device gpu|cpu] APP WORK OUT PHASE...
#
# APP: make-app.sh APP --spark (classes/, lib/, spark/), plus cache/models/stories15M when the
#      machine cannot fetch the model (make-quality-app.sh packs both). WORK: the state, kept between
#      calls (prompts, answers, features, checkpoints, exports, evaluations). OUT: what a run
#      reports (logs, timings.tsv, evaluations, metrics, quality.md, learning-curve.png).
# Phases, in this order (state on disk between them, so they can run in separate calls):
#   data      prompts (train seed 1; evaluation seed 2 and validation seed 3, both excluding the
#             training prompts and each other), regenerate, features, vocab
#   train     the main run and the ablations, TRAIN_JOBS at a time (small drafts leave the GPU
#             idle between the host's calls, so concurrent runs share it at little cost per run)
#   evaluate  speed and curve side by side (the GPU and a core or two for speed, the other cores
#             for curve); or each alone:
#   speed     evaluate the main run's exported draft on the evaluation prompts on the device with
#             --compare-plain: tau, acceptance per position, wall-clock speed-up over plain decoding
#   curve     export the runs' last checkpoints and the main run's earlier ones and evaluate each
#             on the evaluation prompts, EVAL_JOBS at a time on the CPU, one thread each (tau does
#             not depend on the device beyond fp16 rounding; the speed phase measures the GPU);
#             none is started after CURVE_SECONDS (the rest of the main run's curve is skipped)
#   report    quality.md, learning-curve.csv and learning-curve.png (QualityReport, in Java)
#   all       data train evaluate report
# --tiny: a few prompts and updates, to prove the script end to end on a CPU. Sizes can be
# overridden from the environment (the names below). Options that 'train' does not have yet
# (--loss-mask, --validation) are detected and their runs or flags skipped, with a note.
set -euo pipefail
tiny=false
device=gpu
while [[ $# -gt 0 && $1 == --* ]]; do
  case $1 in
    --tiny) tiny=true; shift ;;
    --device) device=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
[[ $# -ge 4 ]] || { sed -n '2,/^set /p' "$0" | sed '$d' >&2; exit 2; }
APP=$(cd "$1" && pwd)
mkdir -p "$2" "$3"
W=$(cd "$2" && pwd)
OUT=$(cd "$3" && pwd)
shift 3
phases=("$@")
[[ " ${phases[*]} " == *" all "* ]] && phases=(data train evaluate report)
repo=$(cd "$(dirname "$0")/../.." && pwd)
cd "$repo"

# Sizes. Full scale: about 4,000 training stories of up to 200 answer tokens (see docs/QUALITY.md).
if $tiny; then
  : "${TRAIN_PROMPTS:=48}" "${EVAL_PROMPTS:=8}" "${VAL_PROMPTS:=8}" "${ANSWER_TOKENS:=40}" "${VOCAB:=1000}"
  : "${SMALL_VOCAB:=300}" "${MICRO_BATCH:=4}" "${STEPS:=12}" "${CHECKPOINT_EVERY:=4}" "${WARMUP:=2}"
  : "${LR:=2e-3}" "${EVAL_TOKENS:=40}" "${CORES:=2}" "${EVAL_JOBS:=2}" "${TRAIN_JOBS:=2}" "${CURVE_SECONDS:=3600}"
else
  : "${TRAIN_PROMPTS:=4000}" "${EVAL_PROMPTS:=200}" "${VAL_PROMPTS:=200}" "${ANSWER_TOKENS:=200}" "${VOCAB:=8000}"
  : "${SMALL_VOCAB:=2000}" "${MICRO_BATCH:=32}" "${STEPS:=1200}" "${CHECKPOINT_EVERY:=150}" "${WARMUP:=60}"
  : "${LR:=1e-3}" "${EVAL_TOKENS:=200}" "${CORES:=$(nproc)}" "${EVAL_JOBS:=$((CORES - 4))}" "${TRAIN_JOBS:=8}"
  : "${CURVE_SECONDS:=300}"
fi
: "${MIN_LR:=$(awk -v l="$LR" 'BEGIN { printf "%.3g", l / 20 }')}"
: "${K:=7}"
MODEL=stories15M
CP="$APP/classes:$APP/lib/*:$APP/spark/*${EXTRA_CLASSPATH:+:$EXTRA_CLASSPATH}"
# The model from APP when it brings one (no npm on the GPU machine), else the usual cache.
[[ -d "$APP/cache/models/stories15M" ]] && CACHE_OPT="-Deaglespark.cache=$APP/cache" || CACHE_OPT=
mkdir -p "$OUT/logs" "$W/prompts"
[[ -s "$OUT/timings.tsv" ]] || printf 'stage\twall_s\tuser_s\tsys_s\n' > "$OUT/timings.tsv"
TIMEFORMAT='%R %U %S' # bash's time: wall, user and system seconds of a stage's JVM

# One stage through jobs/submit.sh (plain java, Spark local mode); its output to OUT/logs/NAME.log.
# THREADS: libtorch's intra-op threads, 0 for its default (1 for the data stages, whose Spark tasks
# run side by side, one per core).
stage() { # NAME THREADS COMMAND [options]
  local name=$1 threads=$2
  shift 2
  echo "== $(date +%T) $name: $*"
  local opts="-Xmx${HEAP:-8g} -XX:ErrorFile=$OUT/logs/hs_err_%p.log -Dai.djl.offline=true $CACHE_OPT"
  opts+=" -Dlog4j2.configurationFile=$repo/conf/log4j2.xml"
  [[ $threads -gt 0 ]] && opts+=" -Dai.djl.pytorch.num_threads=$threads"
  if { time SPARK_MASTER="local[$CORES]" EAGLESPARK_CLASSPATH="$CP" JAVA_OPTS="$opts" \
       jobs/submit.sh "$@" > "$OUT/logs/$name.log" 2>&1; } 2> "$OUT/logs/$name.time"; then
    printf '%s\t%s\n' "$name" "$(tr ' ' '\t' < "$OUT/logs/$name.time")" >> "$OUT/timings.tsv"
    grep -E '^(prompts|regenerate|features|vocab|trained draft|plain decoding|export):|^trained [0-9]' \
      "$OUT/logs/$name.log" | sed "s/^/$name: /" || true
  else
    echo "stage $name failed; last lines of $OUT/logs/$name.log:" >&2
    tail -30 "$OUT/logs/$name.log" >&2
    return 1
  fi
}

# Whether a command has an option (options of work on other branches may not exist yet).
has_option() { # COMMAND OPTION
  EAGLESPARK_CLASSPATH="$CP" JAVA_OPTS=-Dai.djl.offline=true jobs/submit.sh "$1" --help 2>/dev/null | grep -q -- "--$2 "
}
has_option train loss-mask && LOSS_MASK=true || LOSS_MASK=false
has_option train validation && VALIDATION=true || VALIDATION=false

phase_data() {
  local p=$W/prompts
  stage prompts-train 0 prompts --model $MODEL --count "$TRAIN_PROMPTS" --seed 1 --device "$device" \
    --output "$p/train.jsonl"
  stage prompts-eval 0 prompts --model $MODEL --count "$EVAL_PROMPTS" --seed 2 --device "$device" \
    --exclude "$p/train.jsonl" --output "$p/eval.jsonl"
  stage prompts-val 0 prompts --model $MODEL --count "$VAL_PROMPTS" --seed 3 --device "$device" \
    --exclude "$p/train.jsonl" --exclude "$p/eval.jsonl" --output "$p/val.jsonl"
  for split in train val; do
    stage "regenerate-$split" 1 regenerate --model $MODEL --input "$p/$split.jsonl" --output "$W/regenerated/$split" \
      --max-new-tokens "$ANSWER_TOKENS" --max-prompt-tokens 64 --batch-size 32 --partitions "$CORES"
    stage "features-$split" 1 features --model $MODEL --input "$W/regenerated/$split" --output "$W/features/$split" \
      --max-length 256 --partitions "$CORES"
  done
  # The data ablation: the first half of the training features' files (whole Spark partitions).
  local half=$W/features/train-half parts
  rm -rf "$half" && mkdir -p "$half" && cp "$W/features/train/_manifest.json" "$half/"
  parts=("$W"/features/train/part-*.parquet)
  ln "${parts[@]:0:$(( (${#parts[@]} + 1) / 2 ))}" "$half/"
  for size in "$VOCAB" "$SMALL_VOCAB"; do
    stage "vocab-$size" 0 vocab --features "$W/features/train" --output "$W/vocab/$size" --size "$size"
  done
}

# The runs: name and the options that differ from the main run. Every run trains on the same
# features with the same seed (initial weights and data order) and schedule.
runs() {
  echo "main"
  if $LOSS_MASK; then echo "mask-reference --loss-mask reference"; fi
  echo "vocab-$SMALL_VOCAB --vocab $W/vocab/$SMALL_VOCAB/vocab.safetensors"
  echo "lr-x3 --lr $(awk -v l="$LR" 'BEGIN { printf "%.3g", l * 3 }') --min-lr $(awk -v l="$MIN_LR" 'BEGIN { printf "%.3g", l * 3 }')"
  echo "lr-div3 --lr $(awk -v l="$LR" 'BEGIN { printf "%.3g", l / 3 }') --min-lr $(awk -v l="$MIN_LR" 'BEGIN { printf "%.3g", l / 3 }')"
  echo "data-half --features $W/features/train-half"
}

phase_train() {
  local extra=()
  if $LOSS_MASK; then extra+=(--loss-mask shifted); else echo "note: train has no --loss-mask yet: runs use its only mask"; fi
  if $VALIDATION; then
    extra+=(--validation "$W/features/val" --validate-every "$CHECKPOINT_EVERY")
  else
    echo "note: train has no --validation yet: no validation curve"
  fi
  local running=0 failed=0
  while read -r name opts; do
    rm -rf "$W/runs/$name"
    # shellcheck disable=SC2086  # opts is a list of options (a later --features or --vocab wins)
    stage "train-$name" 2 train --features "$W/features/train" --target $MODEL \
      --vocab "$W/vocab/$VOCAB/vocab.safetensors" --checkpoints "$W/runs/$name/checkpoints" \
      --export "$W/runs/$name/draft" --steps "$STEPS" --checkpoint-every "$CHECKPOINT_EVERY" \
      --micro-batch "$MICRO_BATCH" --lr "$LR" --min-lr "$MIN_LR" --warmup "$WARMUP" --seed 0 \
      --device "$device" "${extra[@]}" $opts &
    running=$((running + 1))
    if [[ $running -ge $TRAIN_JOBS ]]; then wait -n || failed=1; running=$((running - 1)); fi
  done < <(runs)
  while [[ $running -gt 0 ]]; do wait -n || failed=1; running=$((running - 1)); done
  return $failed
}

# evaluate NAME DEVICE DRAFT [options]: the evaluation prompts, chain K, greedy; report to WORK/eval.
# One libtorch thread: on a GPU the work is the device's, and on the CPU the evaluations run side
# by side, one per core (more threads per JVM only spin against each other).
evaluate() {
  local name=$1 dev=$2 draft=$3
  shift 3
  mkdir -p "$W/eval"
  stage "evaluate-$name" 1 evaluate --target $MODEL --draft "$draft" --prompts "$W/prompts/eval.jsonl" \
    --limit "$EVAL_PROMPTS" --k "$K" --max-new-tokens "$EVAL_TOKENS" --max-prompt-tokens 64 --device "$dev" \
    --report "$W/eval/$name.json" "$@"
}

phase_speed() {
  evaluate "speed-main" "$device" "$W/runs/main/draft" --compare-plain
}

phase_evaluate() {
  phase_speed &
  local speed=$! failed=0
  (phase_curve) || failed=1 # a subshell: its wait -n sees only its own evaluations
  wait $speed || failed=1
  return $failed
}

phase_curve() {
  # The runs' last checkpoints first, then the rest of the main run's, newest first: what is
  # left when CURVE_SECONDS runs out is the least needed.
  local jobs=() name
  while read -r name _; do
    local last
    last=$(ls -d "$W/runs/$name/checkpoints"/step-*/ 2>/dev/null | tail -1)
    [[ -n $last ]] && jobs+=("$name $last")
  done < <(runs)
  local main=("$W"/runs/main/checkpoints/step-*/)
  for ((i = ${#main[@]} - 2; i >= 0; i--)); do jobs+=("main ${main[$i]}"); done
  local phase_start=$SECONDS
  local running=0 failed=0
  for j in "${jobs[@]}"; do
    if [[ $((SECONDS - phase_start)) -ge $CURVE_SECONDS ]]; then echo "curve: out of time, not evaluated: $j"; continue; fi
    read -r name ck <<<"$j"
    local step vocab
    step=$(basename "$ck")
    vocab=$(grep -o -- "--vocab [^ ]*" <<<"$(runs | grep "^$name ")" | cut -d' ' -f2 || true)
    (
      stage "export-$name@$step" 1 export --checkpoint "$ck" --features "$W/features/train" --target $MODEL \
        --vocab "${vocab:-$W/vocab/$VOCAB/vocab.safetensors}" --output "$W/exports/$name@$step" &&
      evaluate "$name@$step" cpu "$W/exports/$name@$step"
    ) &
    running=$((running + 1))
    if [[ $running -ge $EVAL_JOBS ]]; then wait -n || failed=1; running=$((running - 1)); fi
  done
  while [[ $running -gt 0 ]]; do wait -n || failed=1; running=$((running - 1)); done
  return $failed
}

phase_report() {
  mkdir -p "$OUT/eval"
  cp "$W"/eval/*.json "$OUT/eval/" 2>/dev/null || true
  for run in "$W"/runs/*/; do
    mkdir -p "$OUT/runs/$(basename "$run")"
    cp "$run"/checkpoints/{metrics.csv,training-curves.html,best} "$OUT/runs/$(basename "$run")/" 2>/dev/null || true
  done
  for split in train val; do cp "$W/features/$split/_manifest.json" "$OUT/features-$split.json" 2>/dev/null || true; done
  for v in "$VOCAB" "$SMALL_VOCAB"; do cp "$W/vocab/$v/vocab.json" "$OUT/vocab-$v.json" 2>/dev/null || true; done
  cp "$W"/prompts/*.jsonl "$OUT/" 2>/dev/null || true
  java -Djava.awt.headless=true -cp "$CP" dev.eaglespark.bench.QualityReport "$OUT" \
    "scale=$($tiny && echo tiny || echo full) device=$device k=$K train_prompts=$TRAIN_PROMPTS eval_prompts=$EVAL_PROMPTS val_prompts=$VAL_PROMPTS answer_tokens=$ANSWER_TOKENS vocab=$VOCAB micro_batch=$MICRO_BATCH steps=$STEPS lr=$LR min_lr=$MIN_LR warmup=$WARMUP"
}

# Each phase stops at its first failed stage; a failed phase does not keep the later ones (the
# report above all) from running, and the script then exits 1.
start=$SECONDS
status=0
for ph in "${phases[@]}"; do
  echo "=== phase $ph ($(date +%T))"
  set +e
  (set -e; "phase_$ph")
  rc=$?
  set -e
  [[ $rc -eq 0 ]] || { echo "=== phase $ph failed" >&2; status=1; }
done
echo "=== done in $((SECONDS - start)) s; timings in $OUT/timings.tsv"
exit $status
