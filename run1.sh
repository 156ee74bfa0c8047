set -x
source /opt/djl/env.sh
APP=.gpu/app
J=(java -Xmx24g -cp "$APP/classes:$APP/lib/*" dev.eaglespark.cli.Main bench --shapes llama3.1-8b)
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
T=(--stage train --batch 1 --ttt 7 --draft-vocab 32000 --precision fp16)
for i in 1 2 3; do "${J[@]}" "${T[@]}" --seq 2048 --warmup 3 --iters 10 2>&1 | grep -v "^\[W\|WARN"; done
"${J[@]}" "${T[@]}" --seq 2048 --workers 2 --warmup 2 --iters 5 2>&1 | grep -v "^\[W\|WARN" | tail -5
"${J[@]}" "${T[@]}" --seq 2048 --workers 2 --wire fp16 --warmup 2 --iters 5 2>&1 | grep -v "^\[W\|WARN" | tail -5
"${J[@]}" --stage features --batch 1,4 --seq 2048 --warmup 3 --iters 10 --op-profile 2>&1 | grep -v "^\[W\|WARN"
for i in 2 3; do "${J[@]}" --stage features --batch 1,4 --seq 2048 --warmup 3 --iters 10 2>&1 | grep -v "^\[W\|WARN"; done
