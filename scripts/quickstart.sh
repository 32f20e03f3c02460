#!/usr/bin/env bash
# Set up, then run the main job on the shipped real data: the key-frame MLP and the
# baseline on the two shipped landmark sets, then the comparison report.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PATH="$PWD/.venv/bin:$PATH"
for dataset in asl-signs signo; do
  for model in pooled_logreg keyframe_mlp; do
    slrbench run --model "$model" --dataset "$dataset"
  done
done
slrbench report --out reports/quickstart.html
echo "report: reports/quickstart.html"
