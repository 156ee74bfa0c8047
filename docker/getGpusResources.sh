#!/usr/bin/env bash
# Spark GPU discovery script (spark.executor.resource.gpu.discoveryScript): prints the GPUs this
# executor may use as {"name": "gpu", "addresses": ["0", "1", ...]}.
set -euo pipefail
addresses=$(nvidia-smi --query-gpu=index --format=csv,noheader | awk 'BEGIN{ORS=""} {if (NR>1) print ","; printf "\"%s\"", $1}')
echo "{\"name\": \"gpu\", \"addresses\": [${addresses}]}"
