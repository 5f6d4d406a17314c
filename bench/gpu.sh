#!/usr/bin/env bash
# The load benchmark on one NVIDIA GPU, for the Llama-shaped models, in at most 8 minutes. Run it from the
# repository root on a machine with the GPU and the project installed (`make install`):
#     bash bench/gpu.sh
# Prints the device, then one table per shape (bench/load.py's columns).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader
for shape in ${SHAPES:-llama-1b llama-8b}; do
  timeout 240 "$PY" bench/load.py --shape "$shape" --concurrency "${CONCURRENCY:-1,8,32,64,256}" \
    --prompt-tokens 128 --max-tokens 128 --requests-per-client 1 || echo "$shape: stopped after 240 s"
done
