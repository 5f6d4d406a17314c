#!/usr/bin/env bash
# The load benchmark on one NVIDIA GPU, for the Llama-shaped models, in at most 8 minutes. Run it from the
# repository root on a machine with the GPU and the project installed (`make install`):
#     bash bench/gpu.sh
# Prints the device, the two engines in-process for the 8B shape (bench/engines.py), then one table per
# shape (bench/load.py's columns).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader
timeout 120 "$PY" bench/engines.py --shape llama-8b --concurrency 1,256 --prompt-tokens 128 --max-tokens 128 \
  || echo "engines: stopped after 120 s"
for shape in ${SHAPES:-llama-1b llama-8b}; do
  timeout 180 "$PY" bench/load.py --shape "$shape" --concurrency "${CONCURRENCY:-1,8,32,64,256}" \
    --prompt-tokens 128 --max-tokens 128 --requests-per-client 1 || echo "$shape: stopped after 180 s"
done
