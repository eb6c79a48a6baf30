"""Fine-tuned models in the model cache: where they live, how a name finds them, what they record.

:func:`neuronbook.finetuning.finetune` writes each fine-tune once, atomically, into
``settings.cache_dir("models", "finetuned", <key>)``: a standard Hugging Face folder (the encoder and its
tokenizer), the tagger's head (``tagger_head.safetensors``), ``finetune.json`` (base model, data, task,
settings, classes, training loss, the tagger's held-out accuracy) and the cache's manifest with the sha256 of
every file. The folder only appears once everything is written, so an interrupted fine-tune never looks
complete. ``"finetuned:<key>"`` is the model's name everywhere a model name is accepted (``load_model``,
``run_lca(model=...)``, ``neuronbook lca --model``). This module needs neither torch nor transformers.

Examples
--------
>>> is_finetuned_name("finetuned:0123456789abcdef01234567"), is_finetuned_name("minilm-l6")
(True, False)
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd

from .. import settings
from . import cache

__all__ = ["PREFIX", "METADATA", "HEAD", "is_finetuned_name", "finetuned_name", "finetuned_key", "finetuned_dir",
           "finetuned_metadata", "list_finetuned"]

#: Names of fine-tuned models start with this.
PREFIX = "finetuned:"
#: The metadata file of a fine-tune (also copied into the cache manifest).
METADATA = "finetune.json"
#: The tagger's classification head (a linear layer over the last hidden state).
HEAD = "tagger_head.safetensors"

_KEY = re.compile(r"^[0-9a-f]{24}$")


class _NotFound(OSError):
    pass


def is_finetuned_name(name) -> bool:
    """True when ``name`` is a ``"finetuned:<key>"`` model name (whether or not it exists)."""
    return isinstance(name, str) and name.lower().startswith(PREFIX)


def finetuned_name(key: str) -> str:
    """The model name of a fine-tune: ``"finetuned:<key>"``."""
    return PREFIX + key


def finetuned_key(name: str) -> str:
    """The content key of a ``"finetuned:<key>"`` name; a malformed key is an error that says what one is."""
    key = name[len(PREFIX):].strip().lower() if is_finetuned_name(name) else name
    if not _KEY.match(key):
        raise ValueError(f"{name!r}: a fine-tuned model is named 'finetuned:<key>' with a 24-hex-digit key "
                         "(the name neuronbook.finetune returned); see neuronbook.finetuning.list_finetuned()")
    return key


def _root() -> Path:
    return settings.cache_dir("models", "finetuned")


def _complete(folder: Path) -> bool:
    """A fine-tune folder is complete when its manifest exists and records its metadata file."""
    man = cache.read_manifest(folder) if folder.is_dir() else None
    return bool(man) and METADATA in (man.get("sha256") or {})


def finetuned_dir(name: str, *, verify: bool = True) -> Path:
    """The folder of a complete fine-tune, checked against its manifest's sha256.

    Raises
    ------
    ModelNotFoundError
        No complete fine-tune has that key (the message lists those that exist), or its files no longer
        match their recorded sha256.
    """
    from .registry import ModelNotFoundError

    key = finetuned_key(name)
    folder = _root() / key
    if not _complete(folder):
        known = [r for r in list_finetuned()["name"]] if _root().is_dir() else []
        raise ModelNotFoundError(
            f"{name!r}: no complete fine-tune with that key in {_root()}"
            + (f"; there are: {', '.join(known)}" if known else "; there is none yet")
            + ". neuronbook.finetune(model, data, task) (or `neuronbook finetune`) makes one")
    if verify:
        ok, reason = cache.verify_dir(folder)
        if not ok:
            raise ModelNotFoundError(f"{name!r}: the fine-tuned model at {folder} is damaged ({reason}); "
                                     "run the same fine-tune again with rebuild=True")
    return folder


def finetuned_metadata(name: str) -> dict:
    """The metadata recorded with a fine-tune (``finetune.json``): base model, data, task, settings, accuracy.

    Examples
    --------
    >>> finetuned_metadata("finetuned:" + "0" * 24)   # doctest: +SKIP
    {'name': 'finetuned:000...', 'base_model': 'sentence-transformers/all-MiniLM-L6-v2', 'accuracy': 0.93, ...}
    """
    folder = finetuned_dir(name, verify=False)
    return json.loads((folder / METADATA).read_text())


#: The columns of :func:`list_finetuned`.
COLUMNS = ["name", "base_model", "data", "split", "task", "epochs", "sentences", "eval_split", "accuracy",
           "accuracy_before", "seconds", "device", "path"]


def list_finetuned() -> pd.DataFrame:
    """The complete fine-tunes in the model cache, one row each (an interrupted one is not listed).

    Columns: ``name`` (pass it as a model name), ``base_model``, ``data``, ``split`` (trained on), ``task``,
    ``epochs``, ``sentences``, ``eval_split``, ``accuracy`` (the tagger on ``eval_split``), ``accuracy_before``
    (the same head untrained), ``seconds``, ``device``, ``path``.

    Examples
    --------
    >>> list(list_finetuned().columns)[:3]
    ['name', 'base_model', 'data']
    """
    rows = []
    root = _root()
    for folder in sorted(root.iterdir()) if root.is_dir() else []:
        if not (_KEY.match(folder.name) and _complete(folder)):
            continue
        try:
            meta = json.loads((folder / METADATA).read_text())
        except (OSError, ValueError):
            continue  # listed by nothing; finetuned_dir names the damage when it is asked for
        rows.append({"name": finetuned_name(folder.name), "base_model": meta.get("base_model"),
                     "data": meta.get("data"), "split": meta.get("settings", {}).get("split"),
                     "task": meta.get("task", {}).get("name"), "epochs": meta.get("settings", {}).get("epochs"),
                     "sentences": meta.get("train_sentences"),
                     "eval_split": meta.get("settings", {}).get("eval_split"), "accuracy": meta.get("accuracy"),
                     "accuracy_before": meta.get("accuracy_before"), "seconds": meta.get("seconds"),
                     "device": meta.get("device"), "path": str(folder)})
    return pd.DataFrame(rows, columns=COLUMNS)
