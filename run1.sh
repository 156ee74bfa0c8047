source /opt/djl/env.sh
APP=.gpu/app
M=(java -Xmx24g -cp "$APP/classes:$APP/lib/*" dev.eaglespark.cli.Main)
J=("${M[@]}" bench --shapes llama3.1-8b)
T=(--stage train --batch 1 --ttt 7 --draft-vocab 32000)
F='^\[W\|WARN\|JAVA_TOOL'
for i in 1 2 3; do "${J[@]}" "${T[@]}" --precision fp16 --seq 2048 --warmup 3 --iters 10 2>&1 | grep -v "$F" | grep median; done
"${J[@]}" "${T[@]}" --precision fp16 --batch 2 --seq 2048 --warmup 2 --iters 5 2>&1 | grep median
"${J[@]}" "${T[@]}" --precision fp16 --seq 2048 --warmup 2 --iters 2 --profile $OUT 2>&1 | grep median
ls -la $OUT; gzip -9 $OUT/*.json; ls -la $OUT
