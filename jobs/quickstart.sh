#!/usr/bin/env bash
# The embedded demo: builds the project, fetches the stories15M target once (npm), and runs it.
set -euo pipefail
cd "$(dirname "$0")/.."
mvn -q -B -DskipTests package dependency:copy-dependencies -DincludeScope=compile -DoutputDirectory=target/lib
exec java -cp "target/classes:target/lib/*" dev.eaglespark.cli.Main dump --model stories15M \
  --text "Once upon a time" --greedy 48 --out target/quickstart/stories15M-dump.safetensors
