#!/usr/bin/env bash
# fp16 against fp32 on a GPU for stories15M and the three architecture fixtures, plus dumps of
# stories15M in both dtypes for comparison with transformers' goldens (docs/BENCHMARKS.md).
# Usage: precision-check.sh APP_DIR STORIES15M_DIR OUT_DIR   (APP_DIR holds classes/ and lib/)
set -euo pipefail
APP=$1 ST=$2 OUT=$3
RUN=(java -Xmx8g -cp "$APP/classes:$APP/lib/*" dev.eaglespark.cli.Main)
P0=1,9038,2501,263,931
P1=1,450,2217,11203,471,1407,9796,1363,540,1476,263,4802,2654,8287,297,278,14089,29889
P2=1,4335,322,365,2354,3512,304,278,25695,29889,2688,4446,263,274,4201,322
LONG=$P0,29892,727,471,263,2217,7826,4257,365,2354,29889,2296,18012,304,1708,5377,297,278,6575,845,457,29889,3118,2462,29892,1183,4446,263,4802,29892,2654,8287,297,278,14744,29889,739,471,278,6575,29991,2296,2714,372,471,577,5051,29889,13
TINY=669,71,365,628,143,932,259,825,202,149,59,25,613,35,858,839,163,117,347,342,122,33,73,575,678,584,112,175,942,930,20,335,927,958,314,488,144,601,624,123
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
echo "== stories15M: fp16 vs fp32 on the GPU"
"${RUN[@]}" precision --model "$ST" --device gpu --ids $P0 --ids $P1 --ids $P2 --ids $LONG
for m in tiny-llama3 tiny-qwen2 tiny-qwen3; do
  echo "== $m: fp16 vs fp32 on the GPU"
  "${RUN[@]}" precision --model src/test/resources/fixtures/$m --device gpu --ids $TINY --ids ${TINY%%,59*}
done
for dt in fp32 fp16; do
  "${RUN[@]}" dump --model "$ST" --device gpu --dtype $dt --ids $P0 --ids $P1 --ids $P2 --greedy 24 \
    --out "$OUT/stories15M-gpu-$dt.safetensors"
done
