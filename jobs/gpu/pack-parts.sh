#!/usr/bin/env bash
# Cuts an APP directory (make-app.sh APP --spark) into parts that each fit one device call beside
# the working tree, for the GPU machine, which has no Java build and no registry access (its
# libtorch and Java runtime come the same way: ../shared/gpu/make-bundle.sh, into .gpu/).
# Output: .gpu-app/p00 ... .gpu-app/pNN in the checkout (git ignores .gpu-app/), each holding one
# slice of APP as a gzipped tar; the last also holds unpack.sh, which joins the slices, checks
# their SHA-256 and unpacks them to /opt/eaglespark-app. Part size: what the device call's 62 MB
# leaves beside the working tree, less 2 MB (PART_MB overrides). Prints the calls to make.
# Usage (from anywhere in the checkout):
#   pack-parts.sh APP       pack, then print the calls
#   pack-parts.sh --calls   print the calls that carry the parts of .gpu/ (when there) and
#                           .gpu-app/, numbered from 1, with what each should take
set -euo pipefail
ROOT=$(git -C "$(dirname "$0")" rev-parse --show-toplevel)
OUT=$ROOT/.gpu-app
DEST=/opt/eaglespark-app

# One device call per part directory: copy it to /tmp/NAME-parts; the directory that holds a
# script (the last: make-bundle.sh's install.sh, our unpack.sh) also runs it.
print_calls() {
  local n=0 set dir script
  for set in .gpu .gpu-app; do
    [[ -d $ROOT/$set ]] || { [[ $set == .gpu ]] && echo "  (no .gpu/: run ../shared/gpu/make-bundle.sh first; its calls come first)"; continue; }
    for dir in "$ROOT/$set"/p*; do
      n=$((n + 1))
      local name=$set/$(basename "$dir") tmp=/tmp/${set#.}-parts
      script=$(cd "$dir" && ls ./*.sh 2>/dev/null | head -1 || true)
      if [[ -n $script ]]; then
        echo "  $n. carry [\"$name\"]: mkdir -p $tmp && cp -r $name/* $tmp/ && bash $tmp/${script#./}" \
          "   (~$([[ $set == .gpu ]] && echo 40 || echo 15) s: joins, checks and unpacks)"
      else
        echo "  $n. carry [\"$name\"]: mkdir -p $tmp && cp -r $name/* $tmp/   (~10 s)"
      fi
    done
  done
}

if [[ ${1:-} == --calls ]]; then
  print_calls
  exit 0
fi
APP=$(cd "${1:?usage: pack-parts.sh APP | --calls}" && pwd)
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
tar -C "$APP" -czf "$WORK/app.tar.gz" .
SUM=$(sha256sum "$WORK/app.tar.gz" | cut -c1-64)
tree_kb=$(cd "$ROOT" && { git ls-files -z; git ls-files -z --others --exclude-standard; } | xargs -0 -r du -ck 2>/dev/null | tail -1 | cut -f1)
part_mb=${PART_MB:-$(( (62 * 1024 - ${tree_kb:-0}) / 1024 - 2 ))}
[ "$part_mb" -ge 8 ] || { echo "the working tree is $((tree_kb / 1024)) MB: too large to carry parts beside it" >&2; exit 1; }
rm -rf "$OUT"; mkdir -p "$OUT"
split -b "${part_mb}m" -d -a 2 "$WORK/app.tar.gz" "$WORK/app."
parts=("$WORK"/app.[0-9][0-9])
for i in "${!parts[@]}"; do
  dir=$(printf '%s/p%02d' "$OUT" "$i"); mkdir -p "$dir"; mv "${parts[$i]}" "$dir/"
done
last=$dir
cat > "$last/unpack.sh" <<UNPACK
#!/bin/bash
# Runs on the GPU machine once every part was copied to /tmp/gpu-app-parts.
set -euo pipefail
cd /tmp/gpu-app-parts
cat app.[0-9][0-9] > app.tar.gz
echo "$SUM  app.tar.gz" | sha256sum -c --quiet
rm -rf $DEST && mkdir -p $DEST && tar -xzf app.tar.gz -C $DEST
rm -f app.[0-9][0-9] app.tar.gz
echo "unpacked to $DEST: \$(du -sh $DEST | cut -f1)"
UNPACK
chmod +x "$last/unpack.sh"
echo "working tree $((${tree_kb:-0} / 1024)) MB, APP $(du -sh "$APP" | cut -f1), gzipped $(du -h "$WORK/app.tar.gz" | cut -f1): ${#parts[@]} parts of at most $part_mb MB"
du -sh "$OUT"/p*
echo "carry each part in its own device call, back to back (the machine keeps /tmp and /opt only while warm):"
print_calls
