#!/usr/bin/env bash
# The NCCL collective on the GPU machine (docs/ALLREDUCE.md), about 3 minutes on one GPU:
#  1. GpuNcclCheck with the NCCL libtorch brings (libtorch_cuda.so): binding, stream, one-rank
#     communicator on real gradients, training through it against none, a lone rank timing out; on two
#     GPUs or more also the two-rank checks (exact averages, NCCL against the ring, cancelled and dead peers);
#  2. the same with the libnccl.so.2 of the machine's Python NCCL package (nvidia-nccl-cu*), where there
#     is one: the route for a node's own NCCL (-Deaglespark.nccl.library);
#  3. the gradient all-reduce of a Llama-3.1-8B-shaped draft (1.7 GB) through a one-rank communicator,
#     8 micro-batches per update: the device path's own cost per update.
# Each check prints a line and the script exits 1 if any failed.
# Usage (from the repository root): nccl-checks.sh APP_DIR   (APP_DIR from make-app.sh: classes/, test-classes/, lib/)
set -uo pipefail
APP=$1
RUN=(java -Xmx8g -cp "$APP/test-classes:$APP/classes:$APP/lib/*")
F=src/test/resources/fixtures
status=0
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
"${RUN[@]}" dev.eaglespark.collective.GpuNcclCheck "$F" || status=1
package=$(python3 -c 'import nvidia.nccl as n; print(list(n.__path__)[0])' 2>/dev/null)
lib=$(find "${package:-/nonexistent}" -name 'libnccl.so.2' 2>/dev/null | head -1)
if [ -n "$lib" ]; then
  echo "with $lib:"
  "${RUN[@]}" -Deaglespark.nccl.library="$lib" dev.eaglespark.collective.GpuNcclCheck "$F" || status=1
else
  echo "note: no Python NCCL package here, so no check with a libnccl.so.2 of the machine's own"
fi
java -Xmx48g -cp "$APP/classes:$APP/lib/*" dev.eaglespark.cli.Main bench --stage train --shapes llama3.1-8b \
  --batch 1 --seq 2048 --ttt 7 --draft-vocab 32000 --precision fp16 --accumulate 8 --warmup 1 --iters 3 \
  --collective nccl || status=1
exit $status
