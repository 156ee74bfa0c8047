source /opt/djl/env.sh
APP=.gpu/app
J=(java -Xmx24g -cp "$APP/classes:$APP/lib/*" dev.eaglespark.cli.Main bench --shapes llama3.1-8b)
T=(--stage train --batch 1 --ttt 7 --draft-vocab 32000 --precision fp16)
F='^\[W\|WARN\|JAVA_TOOL'
"${J[@]}" --stage features --batch 1,4 --seq 2048 --warmup 3 --iters 10 --op-profile 2>&1 | grep -v "$F"
for i in 2 3; do "${J[@]}" --stage features --batch 1,4 --seq 2048 --warmup 3 --iters 10 2>&1 | grep -v "$F"; done
"${J[@]}" "${T[@]}" --seq 1024 --warmup 3 --iters 10 2>&1 | grep -v "$F"
for w in fp32 fp16; do
"${J[@]}" "${T[@]}" --seq 1024 --workers 2 --wire $w --warmup 2 --iters 5 > w2.log 2>&1; grep -v "^\s*at \|$F" w2.log | grep -i -m8 "exception\|error\|memory\|workers"
done
