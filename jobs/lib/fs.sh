# Storage helpers of jobs/nightly.sh, for local paths and Hadoop URIs alike (sourced, not run).
# A URI with a scheme other than file:// (hdfs://, s3a://) goes through the `hadoop fs` CLI,
# which must be on PATH then; anything else is a local path.
remote() { [[ "$1" =~ ^[a-z0-9]+:// && "$1" != file://* ]]; }
object_store() { [[ "$1" =~ ^(s3a|s3|s3n|gs):// ]]; }
local_path() { echo "${1#file://}"; }
fs_cat() { if remote "$1"; then hadoop fs -cat "$1"; else cat "$(local_path "$1")"; fi; }
# A one-line file replaced so that a reader sees the old text or the new, never none:
# locally and on object stores one step (rename; a single PUT with -d, no temporary copy);
# on HDFS, whose shell cannot rename over a file, PATH.new is written first and read by
# fs_cat_pointer while PATH is briefly absent (or after a crash right then).
fs_write() { # PATH TEXT
  if object_store "$1"; then
    printf '%s\n' "$2" | hadoop fs -put -f -d - "$1"
  elif remote "$1"; then
    printf '%s\n' "$2" | hadoop fs -put -f - "$1.new" && hadoop fs -rm -f "$1" && hadoop fs -mv "$1.new" "$1"
  else
    local p; p=$(local_path "$1")
    printf '%s\n' "$2" > "$p.tmp.$$" && mv -f "$p.tmp.$$" "$p"
  fi
}
fs_cat_pointer() { fs_cat "$1" 2>/dev/null || fs_cat "$1.new" 2>/dev/null; }
# Replaces DST by a copy of SRC, DST staying whole until the copy is complete.
fs_replace_dir() { # SRC DST
  if remote "$2"; then
    hadoop fs -rm -r -f -skipTrash "$2.new" && hadoop fs -cp "$1" "$2.new" \
      && hadoop fs -rm -r -f -skipTrash "$2" && hadoop fs -mv "$2.new" "$2"
  else
    local d; d=$(local_path "$2")
    rm -rf "$d.new" && cp -r "$(local_path "$1")" "$d.new" && rm -rf "$d" && mv "$d.new" "$d"
  fi
}
# The directory holding a stage's output files: on object stores outputs are versioned and
# DIR/_CURRENT names the complete version (see README, "What a mistake never costs").
current_dir() {
  if object_store "$1" && hadoop fs -test -e "$1/_CURRENT"; then echo "$1/$(hadoop fs -cat "$1/_CURRENT")"
  else echo "$1"; fi
}
fs_get() { # REMOTE LOCAL: a copy of a remote file or directory (a stage output's current version) at a new local path
  hadoop fs -get "$(current_dir "$1")" "$2"
}
fs_put() { # LOCAL REMOTE: a local file stored at a remote path, replacing it
  hadoop fs -put -f "$1" "$2"
}
# The step of the newest committed checkpoint under DIR, 0 when there is none.
last_step() { # DIR
  local steps
  if remote "$1"; then steps=$(hadoop fs -ls -d "$1/step-*/_COMMITTED" 2>/dev/null || true)
  else steps=$(ls -d "$(local_path "$1")"/step-*/_COMMITTED 2>/dev/null || true); fi
  steps=$(grep -o 'step-[0-9]*' <<<"$steps" | sort | tail -1 || true)
  if [[ -n "$steps" ]]; then echo $((10#${steps#step-})); else echo 0; fi
}
