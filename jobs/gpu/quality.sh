#!/usr/bin/env bash
# The draft-quality benchmark of docs/QUALITY.md: the real stages on the stories15M target, each
# through jobs/submit.sh in Spark local mode (prompts, export and evaluate are Spark-free commands
# and run the same way), from prompts the target writes itself to the acceptance length of drafts.
#
#   quality.sh [--tiny] [--device gpu|cpu] APP WORK OUT PHASE...
#
# APP: make-app.sh APP --spark (classes/, lib/, spark/), plus cache/models/stories15M when the
#      machine cannot fetch the model (make-quality-app.sh packs both). WORK: the state, kept between
#      calls (prompts, answers, features, checkpoints, exports, evaluations). OUT: what a run
#      reports (logs, timings.tsv, summaries.txt, evaluations, metrics, quality.md, learning-curve.png).
# Phases, in this order (state on disk between them, so they can run in separate calls):
#   data      prompts (training seed 1; evaluation seed 2 and validation seed 3, both excluding the
#             training prompts and each other), regenerate and features of the training and
#             validation prompts, the draft vocabulary; on --device (gpu: every stage on the GPU,
#             regenerate and features through their --device gpu in local mode)
#   train     the runs of RUNS side by side (main, its loss-mask ablation and any ABLATIONS), each
#             validated on the validation features every CHECKPOINT_EVERY updates, TRAIN_JOBS at a
#             time; stopped (SIGTERM, at an update boundary) when the call's time budget runs out
#   evaluate  speed and curve side by side; or each alone:
#   speed     the main run's export (the best checkpoint by validation) on the EVAL_PROMPTS
#             evaluation prompts on --device with --compare-plain: tau, acceptance per position and
#             the wall-clock speed-up over plain decoding
#   curve     on the CPU cores, EVAL_JOBS at a time (1: after speed, not beside it), one thread each:
#             every run's last checkpoint on the EVAL_PROMPTS prompts, then the main run's earlier
#             checkpoints on the first CURVE_PROMPTS, newest first; none started past the budget
#   report    quality.md, learning-curve.csv and learning-curve.png (QualityReport, in Java)
#   all       data train evaluate report
# Time budget: CALL_SECONDS (full scale 470: a device call of at most 8 minutes) from the script's
# start; every stage is stopped (SIGTERM) when what is left less a margin runs out, and no
# evaluation starts with less than a minute left, so one call never runs past it (0: no budget).
# A train run stopped so keeps its checkpoints, which are evaluated as any. --tiny: a few prompts
# and updates, to prove the script end to end on a CPU. Sizes can be overridden from the
# environment (the names below); EXTRA_JAVA_OPTS goes to every stage's JVM.
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
[[ $device == gpu || $device == cpu ]] || { echo "--device must be gpu or cpu" >&2; exit 2; }
APP=$(cd "$1" && pwd)
# APP/jre (make-quality-app.sh) is a Java runtime with the modules Spark and Hadoop need: a runtime
# trimmed to what DJL needs lacks jdk.security.auth, and Hadoop's login then fails every Spark stage
if [[ -x $APP/jre/bin/java ]]; then export JAVA_HOME=$APP/jre PATH=$APP/jre/bin:$PATH; fi
mkdir -p "$2" "$3"
W=$(cd "$2" && pwd)
OUT=$(cd "$3" && pwd)
shift 3
phases=("$@")
[[ " ${phases[*]} " == *" all "* ]] && phases=(data train evaluate report)
repo=$(cd "$(dirname "$0")/../.." && pwd)
cd "$repo"

# Sizes (docs/QUALITY.md explains the full scale's choices).
if $tiny; then
  : "${TRAIN_PROMPTS:=48}" "${EVAL_PROMPTS:=8}" "${CURVE_PROMPTS:=4}" "${VAL_PROMPTS:=8}" "${ANSWER_TOKENS:=40}"
  : "${VOCAB:=1000}" "${SMALL_VOCAB:=300}" "${MICRO_BATCH:=4}" "${STEPS:=12}" "${CHECKPOINT_EVERY:=4}"
  : "${WARMUP:=2}" "${LR:=2e-3}" "${EVAL_TOKENS:=40}" "${CORES:=2}" "${EVAL_JOBS:=1}" "${TRAIN_JOBS:=1}"
  : "${CALL_SECONDS:=0}" "${ABLATIONS:=}" "${PROMPT_BATCH:=64}" "${REGEN_PARTITIONS:=2}" "${FEATURE_PARTITIONS:=2}"
else
  : "${TRAIN_PROMPTS:=4000}" "${EVAL_PROMPTS:=200}" "${CURVE_PROMPTS:=50}" "${VAL_PROMPTS:=200}"
  : "${ANSWER_TOKENS:=200}" "${VOCAB:=8000}" "${SMALL_VOCAB:=2000}" "${MICRO_BATCH:=64}" "${STEPS:=1200}"
  : "${CHECKPOINT_EVERY:=150}" "${WARMUP:=60}" "${LR:=1e-3}" "${EVAL_TOKENS:=200}" "${CORES:=$(nproc)}"
  : "${EVAL_JOBS:=$((CORES - 2))}" "${TRAIN_JOBS:=6}" "${CALL_SECONDS:=470}" "${ABLATIONS:=}"
  : "${PROMPT_BATCH:=256}" "${REGEN_PARTITIONS:=2}" "${FEATURE_PARTITIONS:=8}"
fi
: "${MIN_LR:=$(awk -v l="$LR" 'BEGIN { printf "%.3g", l / 20 }')}"
: "${K:=7}"
# The main run and the loss-mask ablation; ABLATIONS adds any of vocab-SMALL_VOCAB, lr-x3, lr-div3,
# data-half (each costs what the main run costs). RUNS replaces the list (a later call that trains
# and evaluates only ablations; docs/QUALITY.md).
: "${RUNS:=main mask-reference $ABLATIONS}"
MODEL=stories15M
CP="$APP/classes:$APP/lib/*:$APP/spark/*${EXTRA_CLASSPATH:+:$EXTRA_CLASSPATH}"
# The model from APP when it brings one (no npm on the GPU machine), else the usual cache.
[[ -d "$APP/cache/models/stories15M" ]] && CACHE_OPT="-Deaglespark.cache=$APP/cache" || CACHE_OPT=
mkdir -p "$OUT/logs" "$W/prompts"
[[ -s "$OUT/timings.tsv" ]] || printf 'stage\twall_s\tuser_s\tsys_s\n' > "$OUT/timings.tsv"
TIMEFORMAT='%R %U %S' # bash's time: wall, user and system seconds of a stage's JVM

# Seconds left of the call's budget, less MARGIN (default 15) for what follows; "" without a budget.
left() {
  [[ $CALL_SECONDS -gt 0 ]] || return 0
  echo $((CALL_SECONDS - SECONDS - ${1:-15}))
}

# One stage through jobs/submit.sh (plain java, Spark local mode); its output to OUT/logs/NAME.log,
# its one-line summaries to OUT/summaries.txt and the screen. THREADS: libtorch's intra-op threads,
# 0 for its default. LIMIT (seconds, "" for none): SIGTERM then, as a cluster stops a stage.
stage() { # NAME THREADS LIMIT COMMAND [options]
  local name=$1 threads=$2 limit=$3
  shift 3
  echo "== $(date +%T) $name: $*"
  local opts="-Xmx${HEAP:-8g} -XX:ErrorFile=$OUT/logs/hs_err_%p.log -Dai.djl.offline=true $CACHE_OPT"
  opts+=" -Dlog4j2.configurationFile=$repo/conf/log4j2.xml ${EXTRA_JAVA_OPTS:-}"
  [[ $threads -gt 0 ]] && opts+=" -Dai.djl.pytorch.num_threads=$threads"
  local timer=()
  if [[ -n $limit ]]; then
    [[ $limit -gt 0 ]] || { echo "stage $name: no time left in the budget; not started" >&2; return 1; }
    timer=(timeout --signal=TERM --kill-after=60 "$limit")
  fi
  if { time SPARK_MASTER="local[$CORES]" EAGLESPARK_CLASSPATH="$CP" JAVA_OPTS="$opts" \
       "${timer[@]}" jobs/submit.sh "$@" > "$OUT/logs/$name.log" 2>&1; } 2> "$OUT/logs/$name.time"; then
    printf '%s\t%s\n' "$name" "$(tr ' ' '\t' < "$OUT/logs/$name.time")" >> "$OUT/timings.tsv"
    grep -E '^(prompts|regenerate|features|vocab|trained draft|plain decoding|export):|^trained [0-9]' \
      "$OUT/logs/$name.log" | sed "s/^/$name: /" | tee -a "$OUT/summaries.txt" || true
  else
    local rc=$?
    printf '%s\t%s\n' "$name (exit $rc)" "$(tail -1 "$OUT/logs/$name.time" | tr ' ' '\t')" >> "$OUT/timings.tsv"
    if [[ $rc -eq 124 ]]; then
      echo "stage $name: out of time, stopped (SIGTERM); log $OUT/logs/$name.log" >&2
    else
      echo "stage $name failed (exit $rc); last lines of $OUT/logs/$name.log:" >&2
      tail -30 "$OUT/logs/$name.log" >&2
    fi
    return $rc
  fi
}

phase_data() {
  local p=$W/prompts
  local gen=(--model $MODEL --device "$device" --batch-size "$PROMPT_BATCH")
  stage prompts-train 0 "$(left)" prompts "${gen[@]}" --count "$TRAIN_PROMPTS" --seed 1 --output "$p/train.jsonl"
  stage prompts-eval 0 "$(left)" prompts "${gen[@]}" --count "$EVAL_PROMPTS" --seed 2 --exclude "$p/train.jsonl" \
    --output "$p/eval.jsonl"
  stage prompts-val 0 "$(left)" prompts "${gen[@]}" --count "$VAL_PROMPTS" --seed 3 --exclude "$p/train.jsonl" \
    --exclude "$p/eval.jsonl" --output "$p/val.jsonl"
  # On the CPU one libtorch thread per Spark task (one task per core); on the GPU its default.
  local threads=$([[ $device == cpu ]] && echo 1 || echo 0)
  for split in train val; do
    stage "regenerate-$split" "$threads" "$(left)" regenerate --model $MODEL --input "$p/$split.jsonl" \
      --output "$W/regenerated/$split" --max-new-tokens "$ANSWER_TOKENS" --max-prompt-tokens 64 \
      --device "$device" --partitions "$REGEN_PARTITIONS" \
      $([[ $device == gpu ]] && echo --batch-size 256)
    stage "features-$split" "$threads" "$(left)" features --model $MODEL --input "$W/regenerated/$split" \
      --output "$W/features/$split" --max-length 256 --device "$device" --partitions "$FEATURE_PARTITIONS"
  done
  stage "vocab-$VOCAB" 0 "$(left)" vocab --features "$W/features/train" --output "$W/vocab/$VOCAB" --size "$VOCAB"
}

# What an ablation reads beyond the main run's data, made when first needed.
ablation_data() { # NAME
  case $1 in
    data-half) # the first half of the training features' files (whole Spark partitions)
      local half=$W/features/train-half parts
      [[ -d $half ]] && return 0
      mkdir -p "$half.tmp" && cp "$W/features/train/_manifest.json" "$half.tmp/"
      parts=("$W"/features/train/part-*.parquet)
      ln "${parts[@]:0:$(( (${#parts[@]} + 1) / 2 ))}" "$half.tmp/" && mv "$half.tmp" "$half" ;;
    vocab-*)
      [[ -f $W/vocab/${1#vocab-}/vocab.safetensors ]] ||
        stage "$1" 0 "$(left)" vocab --features "$W/features/train" --output "$W/vocab/${1#vocab-}" --size "${1#vocab-}" ;;
  esac
}

# A run's own options: the loss mask (reference in mask-reference, else the fix, shifted) and what
# an ablation changes (same features, seed, initial weights and schedule otherwise).
run_options() { # NAME
  local mask=shifted other= op
  case $1 in
    main) ;;
    mask-reference) mask=reference ;;
    vocab-*) other="--vocab $W/vocab/${1#vocab-}/vocab.safetensors" ;;
    lr-x3 | lr-div3)
      [[ $1 == lr-x3 ]] && op="* 3" || op="/ 3"
      other=$(awk -v l="$LR" -v m="$MIN_LR" "BEGIN { printf \"--lr %.3g --min-lr %.3g\", l $op, m $op }") ;;
    data-half) other="--features $W/features/train-half" ;;
    *) echo "unknown run $1 (ABLATIONS: vocab-$SMALL_VOCAB, lr-x3, lr-div3, data-half)" >&2; return 1 ;;
  esac
  echo "--loss-mask $mask $other"
}

# A run stopped by the budget (exit 124) keeps its checkpoints: a note, not a failure.
train_run() { # NAME
  local name=$1 opts rc=0
  opts=$(run_options "$name")
  ablation_data "$name"
  rm -rf "$W/runs/$name"
  # shellcheck disable=SC2086  # opts is a list of options (a later --features or --vocab wins)
  stage "train-$name" 2 "$(left 20)" train --features "$W/features/train" --target $MODEL \
    --vocab "$W/vocab/$VOCAB/vocab.safetensors" --checkpoints "$W/runs/$name/checkpoints" \
    --export "$W/runs/$name/draft" --steps "$STEPS" --checkpoint-every "$CHECKPOINT_EVERY" \
    --validation "$W/features/val" --validate-every "$CHECKPOINT_EVERY" --micro-batch "$MICRO_BATCH" \
    --lr "$LR" --min-lr "$MIN_LR" --warmup "$WARMUP" --seed 0 --device "$device" $opts || rc=$?
  if [[ $rc -eq 124 ]]; then
    echo "train-$name: stopped by the time budget; its checkpoints stay" | tee -a "$OUT/summaries.txt"
    return 0
  fi
  return $rc
}

phase_train() {
  local running=0 failed=0 name
  for name in $RUNS; do
    run_options "$name" > /dev/null
    train_run "$name" &
    running=$((running + 1))
    if [[ $running -ge $TRAIN_JOBS ]]; then wait -n || failed=1; running=$((running - 1)); fi
  done
  while [[ $running -gt 0 ]]; do wait -n || failed=1; running=$((running - 1)); done
  return $failed
}

# evaluate NAME DEVICE DRAFT PROMPTS LIMIT [options]: chain K, greedy; report to WORK/eval/NAME.json.
# One libtorch thread: on a GPU the work is the device's, and on the CPU the evaluations run side
# by side, one per core (more threads per JVM only spin against each other).
evaluate() {
  local name=$1 dev=$2 draft=$3 prompts=$4 limit=$5
  shift 5
  mkdir -p "$W/eval"
  HEAP=2g stage "evaluate-$name" 1 "$limit" evaluate --target $MODEL --draft "$draft" \
    --prompts "$W/prompts/eval.jsonl" --limit "$prompts" --k "$K" --max-new-tokens "$EVAL_TOKENS" \
    --max-prompt-tokens 64 --device "$dev" --report "$W/eval/$name.json" "$@"
}

# The serving draft of a checkpoint of run NAME, exported to WORK/exports/NAME@step-N.
export_checkpoint() { # NAME CHECKPOINT_DIR LIMIT
  local name=$1 ck=$2 vocab=$W/vocab/$VOCAB/vocab.safetensors features=$W/features/train
  local opts
  opts=$(run_options "$name")
  [[ $opts =~ --vocab\ ([^ ]+) ]] && vocab=${BASH_REMATCH[1]}
  [[ $opts =~ --features\ ([^ ]+) ]] && features=${BASH_REMATCH[1]}
  HEAP=2g stage "export-$name@$(basename "$ck")" 1 "$3" export --checkpoint "$ck" --features "$features" \
    --target $MODEL --vocab "$vocab" --output "$W/exports/$name@$(basename "$ck")"
}

phase_speed() {
  local draft=$W/runs/main/draft ck best
  if [[ ! -f $draft/config.json ]]; then # the run was stopped before its export: the best checkpoint
    best=$(cat "$W/runs/main/checkpoints/best" 2>/dev/null || true)
    ck=$W/runs/main/checkpoints/${best:-$(basename "$(ls -d "$W"/runs/main/checkpoints/step-*/ | tail -1)")}
    export_checkpoint main "$ck" "$(left)"
    draft=$W/exports/main@$(basename "$ck")
  fi
  evaluate "speed-main" "$device" "$draft" "$EVAL_PROMPTS" "$(left)" --compare-plain
}

phase_evaluate() {
  if [[ $EVAL_JOBS -le 1 ]]; then # one JVM at a time
    local failed=0
    (phase_speed) || failed=1
    (phase_curve) || failed=1
    return $failed
  fi
  phase_speed &
  local speed=$! failed=0
  (phase_curve) || failed=1 # a subshell: its waits see only its own evaluations
  wait $speed || failed=1
  return $failed
}

phase_curve() {
  # Every run's last checkpoint on all the evaluation prompts, then the main run's earlier ones
  # on the first CURVE_PROMPTS, newest first: what the budget leaves out is the least needed.
  local jobs=() name ck
  for name in $RUNS; do
    ck=$(ls -d "$W/runs/$name/checkpoints"/step-*/ 2>/dev/null | tail -1)
    [[ -n $ck ]] && jobs+=("$name ${ck%/} $EVAL_PROMPTS")
  done
  if [[ " $RUNS " == *" main "* ]]; then
    local main=("$W"/runs/main/checkpoints/step-*/)
    for ((i = ${#main[@]} - 2; i >= 0; i--)); do jobs+=("main ${main[$i]%/} $CURVE_PROMPTS"); done
  fi
  local running=0 failed=0 j n
  for j in "${jobs[@]}"; do
    read -r name ck n <<<"$j"
    [[ -s $W/eval/$name@$(basename "$ck").json ]] && continue # evaluated by an earlier call
    if [[ -n $(left) && $(left 60) -le 0 ]]; then echo "curve: out of time, not evaluated: $name@$(basename "$ck")"; continue; fi
    (
      export_checkpoint "$name" "$ck" "$(left)" &&
      evaluate "$name@$(basename "$ck")" cpu "$W/exports/$name@$(basename "$ck")" "$n" "$(left)"
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
    "scale=$($tiny && echo tiny || echo full) device=$device k=$K runs=$(echo $RUNS | tr ' ' ,) train_prompts=$TRAIN_PROMPTS eval_prompts=$EVAL_PROMPTS curve_prompts=$CURVE_PROMPTS val_prompts=$VAL_PROMPTS answer_tokens=$ANSWER_TOKENS eval_tokens=$EVAL_TOKENS vocab=$VOCAB micro_batch=$MICRO_BATCH steps=$STEPS checkpoint_every=$CHECKPOINT_EVERY lr=$LR min_lr=$MIN_LR warmup=$WARMUP"
}

# Each phase stops at its first failed stage; a failed phase does not keep the later ones (the
# report above all) from running, and the script then exits 1.
status=0
for ph in "${phases[@]}"; do
  echo "=== phase $ph ($(date +%T), ${SECONDS} s in)"
  set +e
  (set -e; "phase_$ph")
  rc=$?
  set -e
  [[ $rc -eq 0 ]] || { echo "=== phase $ph failed" >&2; status=1; }
done
echo "=== done in $SECONDS s; timings in $OUT/timings.tsv"
exit $status
