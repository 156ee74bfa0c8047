#!/usr/bin/env bash
# The nightly chain: regenerate -> features -> vocab -> train (resumed) -> export -> evaluate.
#   jobs/nightly.sh [CONFIG]        (default conf/jobs/demo.conf)
# Each night writes $NIGHTLY_ROOT/runs/YYYY-MM-DD/ (regenerated, features, vocab, draft,
# evaluation.json). Training continues the persistent $NIGHTLY_ROOT/checkpoints (--resume) for
# STEPS_PER_NIGHT more updates, with the draft vocabulary pinned at $NIGHTLY_ROOT/vocab when the
# checkpoints began (a resumed lm_head only means something with the vocabulary it was trained on).
# $NIGHTLY_ROOT/latest is a one-line text file holding the last good run directory (a file, not
# a symlink, so it works on HDFS and S3 too; never absent or half-written: see fs_write). It
# moves only when every stage succeeded and tau (evaluation.json, trained.tau) is at most
# MAX_TAU_DROP below the tau of the run it pointed to. Exit 1: a stage failed (named);
# exit 3: tau regressed. Either way latest is left as it was.
# Settings come from the config (train options included); this script only adds paths.
# Relative paths: NIGHTLY_ROOT and the config's own path are the caller's (the working directory),
# paths inside the config are relative to the config file.
# Environment, with defaults:
#   NIGHTLY_ROOT     target/nightly        local path or Hadoop URI (hdfs://, s3a://; needs the hadoop CLI)
#   NIGHTLY_DATE     today (UTC)           the run's name, YYYY-MM-DD
#   STEPS_PER_NIGHT  the config's train.steps
#   MAX_TAU_DROP     0.05                  largest accepted relative drop of tau
# and those of jobs/submit.sh (SPARK_MASTER etc.), which runs each stage.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
conf=${1:-$repo/conf/jobs/demo.conf}
root=${NIGHTLY_ROOT:-target/nightly}
date=${NIGHTLY_DATE:-$(date -u +%F)}
max_drop=${MAX_TAU_DROP:-0.05}
run=$root/runs/$date
ckpt=$root/checkpoints

# shellcheck source=jobs/lib/fs.sh
source "$repo/jobs/lib/fs.sh"
tau_of() { sed -n 's/.*"tau" *: *\([0-9.eE+-]*\).*/\1/p' | head -1; }
conf_value() { # KEY...: the last value of the first key the config sets
  local k v
  for k in "$@"; do
    v=$(sed -n "s/^[[:space:]]*${k//./\\.}[[:space:]]*=[[:space:]]*\\(.*\\)/\\1/p" "$conf" | tail -1)
    [[ -n "$v" ]] && { echo "${v%%[[:space:]]}"; return; }
  done
}
fail() { echo "nightly $date: $1; latest unchanged" >&2; exit "${2:-1}"; }
stage() {
  echo "== nightly $date: $1"
  "$repo/jobs/submit.sh" "$@" --config "$conf" || fail "stage $1 failed"
}

[[ -f "$conf" ]] || fail "no config file $conf"
per_night=${STEPS_PER_NIGHT:-$(conf_value train.steps steps)}
[[ "$per_night" =~ ^[0-9]+$ ]] || fail "set STEPS_PER_NIGHT or train.steps in $conf"
remote "$root" || mkdir -p "$(local_path "$run")"

stage regenerate --output "$run/regenerated"
stage features --input "$run/regenerated" --output "$run/features"
stage vocab --features "$run/features" --output "$run/vocab"
from=$(last_step "$ckpt")
# A fresh start (no checkpoints yet) pins tonight's vocabulary for every later resumed night.
if [[ "$from" == 0 ]]; then fs_replace_dir "$run/vocab" "$root/vocab" || fail "pinning the vocabulary failed"; fi
echo "== nightly $date: training from step $from to $((from + per_night))"
stage train --features "$run/features" --vocab "$root/vocab/vocab.safetensors" --checkpoints "$ckpt" --resume \
  --steps $((from + per_night)) --export "$run/draft"

# evaluate reads and writes local files: a remote run is evaluated on a local copy.
if remote "$run"; then
  local_eval=$(mktemp -d)
  fs_get "$run/draft" "$local_eval/draft" || fail "fetching the draft failed"
else
  local_eval=$(local_path "$run")
fi
stage evaluate --draft "$local_eval/draft" --report "$local_eval/evaluation.json"
remote "$run" && { fs_put "$local_eval/evaluation.json" "$run/evaluation.json" || fail "storing the report failed"; }

tau=$(tau_of < "$local_eval/evaluation.json")
[[ -n "$tau" ]] || fail "no tau in $run/evaluation.json"
previous=$(fs_cat_pointer "$root/latest" || true)
if [[ -n "$previous" ]]; then
  prev_tau=$(fs_cat "$previous/evaluation.json" | tau_of || true)
  if [[ -z "$prev_tau" ]]; then
    echo "nightly $date: no tau in $previous/evaluation.json; not compared" >&2
  elif ! awk -v t="$tau" -v p="$prev_tau" -v d="$max_drop" 'BEGIN { exit !(t >= p * (1 - d)) }'; then
    fail "tau $tau regressed more than $max_drop below $prev_tau ($previous)" 3
  fi
fi
remote "$root" || run=$(cd "$(local_path "$run")" && pwd)
fs_write "$root/latest" "$run"
echo "nightly $date: tau $tau (previous ${prev_tau:-none}); latest -> $run"
