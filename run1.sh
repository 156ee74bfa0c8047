source /opt/djl/env.sh
APP=.gpu/app
J=(java -Xmx24g -cp "$APP/classes:$APP/lib/*" dev.eaglespark.cli.Main bench --shapes llama3.1-8b)
T=(--stage train --batch 1 --ttt 7 --draft-vocab 32000 --precision fp16)
"${J[@]}" --stage features --batch 1,4 --seq 2048 --warmup 3 --iters 10 --op-profile 2>&1 | grep -v "^\[W\|WARN\|JAVA_TOOL"
for i in 2 3; do "${J[@]}" --stage features --batch 1,4 --seq 2048 --warmup 3 --iters 10 2>&1 | grep -v "^\[W\|WARN\|JAVA_TOOL"; done
"${J[@]}" "${T[@]}" --seq 2048 --workers 2 --warmup 2 --iters 5 > w2.log 2>&1; grep -v "^\s*at \|^\[W\|WARN" w2.log | grep -i -m8 "exception\|error\|memory\|workers"
