"""What identifies a model: a fingerprint of its files (or weights) and the shape facts results need.

The registry of loaded models lives here too: :func:`~neuronbook.models.load_model` records each
model it returns in a :class:`weakref.WeakKeyDictionary`, so nothing is ever written onto the model
object and the entry disappears with the model.
"""

from __future__ import annotations

import hashlib
import json
import os
import weakref
from pathlib import Path

from . import cache

__all__ = ["model_fingerprint", "config_fingerprint", "folder_fingerprint", "fingerprint_files",
           "max_length_from", "identity_from_folder", "identity_from_object", "is_causal"]

_FORMAT = 1  # part of every folder fingerprint: bump when the recipe changes

# Files that decide what a model computes: the configuration, every tokenizer file that
# transformers may read, and the weights. Everything else (README, sentence-transformers
# pooling config, other frameworks' weights, neuronbook's manifest with its timings) is left out.
CONFIG_FILE = "config.json"
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json",
                   "added_tokens.json", "vocab.txt", "vocab.json", "merges.txt", "sentencepiece.bpe.model",
                   "spiece.model", "tokenizer.model", "source.spm", "target.spm")
ROBERTA_LIKE = ("roberta", "xlm-roberta", "camembert", "mpnet")

# model object -> identity dict; filled by load_model, read by model_identity.
_LOADED: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()
# tokenizer object -> (its model's fingerprint, the tokenizer's own fingerprint at load time); filled by
# load_model, so that a (model, tokenizer) pair it made keys a store exactly as the model's name does.
_PAIRED: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()
# model object -> (weights version key, state_dict hash); see model_fingerprint.
_STATE_HASH: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()
# model object -> (weights hash, config hash) when load_model returned it: a model changed since
# (fine-tuned in place, a parameter replaced, cast, its config edited) is no longer its folder's.
_AS_LOADED: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()
# tokenizer object -> (its backend's serialisation, (model_max_length, unk_token_id), fingerprint); see
# tokenizer_fingerprint.
_TOKENIZER_HASH: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()
# Config entries that name where a model came from, not what it computes.
_CONFIG_PROVENANCE = ("_name_or_path", "transformers_version")


def weight_files(folder) -> list[Path]:
    """The weight files transformers loads from ``folder`` (safetensors first, as it does)."""
    folder = Path(folder)
    for single, index in (("model.safetensors", "model.safetensors.index.json"),
                          ("pytorch_model.bin", "pytorch_model.bin.index.json")):
        if (folder / single).is_file():
            return [folder / single]
        if (folder / index).is_file():
            shards = sorted(set(json.loads((folder / index).read_text())["weight_map"].values()))
            return [folder / index] + [folder / s for s in shards]
    raise FileNotFoundError(f"{folder}: no model.safetensors, pytorch_model.bin or a sharded index of either")


def fingerprint_files(folder) -> list[Path]:
    """Every file whose bytes enter a folder's fingerprint: config, tokenizer files, weights."""
    folder = Path(folder)
    files = [folder / CONFIG_FILE] + [folder / n for n in TOKENIZER_FILES if (folder / n).is_file()]
    return files + weight_files(folder)


def folder_fingerprint(folder) -> str:
    """Hex sha256 over the sha256 of :func:`fingerprint_files` (names included).

    File hashes are memoised on (path, size, mtime_ns, ctime_ns, inode) by :func:`cache.sha256_files`, so a
    second call, even in a new process, reads no weights.

    Examples
    --------
    >>> import os, tempfile, pathlib
    >>> os.environ["NEURONBOOK_CACHE"] = tempfile.mkdtemp()
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "config.json").write_text("{}"); _ = (d / "model.safetensors").write_bytes(b"w")
    >>> a = folder_fingerprint(d); _ = (d / "config.json").write_text('{"hidden_size": 8}')
    >>> len(a), a == folder_fingerprint(d)
    (64, False)
    >>> del os.environ["NEURONBOOK_CACHE"]
    """
    folder = Path(folder)
    files = fingerprint_files(folder)
    digests = cache.sha256_files(files)
    h = hashlib.sha256(f"neuronbook-folder-fingerprint/{_FORMAT}\n".encode())
    for f in files:
        h.update(f"{f.relative_to(folder).as_posix()}:{digests[str(f)]}\n".encode())
    return h.hexdigest()


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except ValueError as exc:
        raise ValueError(f"{path}: not valid JSON ({exc})") from exc


def _first(config: dict, *names):
    """The first of ``names`` the config has (DistilBERT says ``n_layers``/``dim``, GPT-2 ``n_layer``/``n_embd``)."""
    for name in names:
        if config.get(name) is not None:
            return config[name]
    return None


def is_causal(model_or_config) -> bool:
    """Whether a model is a causal decoder (each piece sees only the pieces before it).

    True when its ``model_type`` has a causal-LM class in transformers and no masked-LM one (GPT-2,
    Llama, Gemma, Qwen ...); BERT-like encoders have both. Accepts a model object, a config, a config
    dict, or a name or folder for :func:`neuronbook.load_model` (read from its ``config.json``, nothing
    loaded).

    Examples
    --------
    >>> is_causal({"model_type": "llama"}), is_causal({"model_type": "bert"}), is_causal({"model_type": "gpt2"})
    (True, False, True)
    """
    cfg = model_or_config
    if isinstance(cfg, (str, os.PathLike)):
        from .registry import resolve_model

        where, _ = resolve_model(cfg)
        folder = Path(where)
        if not folder.is_dir():
            from .registry import _hub_snapshot

            folder = _hub_snapshot(where)
            if folder is None:
                return False  # not in the cache: model_identity has already refused it or will
        cfg = _read_json(folder / CONFIG_FILE)
    elif not isinstance(cfg, dict):
        cfg = getattr(cfg, "config", cfg)
        cfg = cfg.to_dict() if hasattr(cfg, "to_dict") else {}
    model_type = cfg.get("model_type") or ""
    from transformers.models.auto.modeling_auto import (MODEL_FOR_CAUSAL_LM_MAPPING_NAMES,
                                                        MODEL_FOR_MASKED_LM_MAPPING_NAMES)

    return model_type in MODEL_FOR_CAUSAL_LM_MAPPING_NAMES and model_type not in MODEL_FOR_MASKED_LM_MAPPING_NAMES


def max_length_from(config: dict, tokenizer_max_length=None) -> int | None:
    """The usable position limit: the smaller of the position embeddings and the tokenizer's limit.

    RoBERTa-style models reserve ``pad_token_id + 1`` positions; a tokenizer limit of a million or
    more means "unset". None when neither is known.

    Examples
    --------
    >>> max_length_from({"model_type": "bert", "max_position_embeddings": 512}, 1_000_000_000)
    512
    >>> max_length_from({"model_type": "xlm-roberta", "max_position_embeddings": 514, "pad_token_id": 1}, 512)
    512
    """
    limits = []
    mpe = _first(config, "max_position_embeddings", "n_positions")
    if mpe:
        if config.get("model_type", "") in ROBERTA_LIKE:
            mpe -= (config.get("pad_token_id", 1) or 0) + 1
        limits.append(int(mpe))
    if tokenizer_max_length and tokenizer_max_length < 1_000_000:
        limits.append(int(tokenizer_max_length))
    return min(limits) if limits else None


def identity_from_folder(folder, model_id: str, approximation=None, *, extra: str | None = None) -> dict:
    """The identity of a Hugging Face model folder, from its files alone (no weights loaded).

    ``extra`` (e.g. a dtype the weights are cast to) is folded into the fingerprint.
    """
    folder = Path(folder)
    config = _read_json(folder / CONFIG_FILE)
    if not config:
        raise FileNotFoundError(f"{folder / CONFIG_FILE}: missing or empty")
    tok_config = _read_json(folder / "tokenizer_config.json")
    fp = folder_fingerprint(folder)
    if extra:
        fp = hashlib.sha256(f"{fp}|{extra}".encode()).hexdigest()
    layers = _first(config, "num_hidden_layers", "n_layers", "n_layer")
    return {
        "model": model_id,
        "fingerprint": fp,
        "approximation": approximation if approximation is not None else config.get("neuronbook_approximation"),
        "n_layers": int(layers) + 1 if layers is not None else None,  # embeddings are layer 0
        "hidden_size": _first(config, "hidden_size", "dim", "n_embd"),
        "max_length": max_length_from(config, tok_config.get("model_max_length")),
    }


def _config_dict(model) -> dict:
    cfg = getattr(model, "config", None)
    if cfg is None:
        return {}
    return cfg.to_dict() if hasattr(cfg, "to_dict") else dict(vars(cfg))


def config_fingerprint(model) -> str:
    """Hex sha256 of what a model object's configuration makes it compute.

    Every config entry except those naming its origin (``_name_or_path``, ``transformers_version``),
    plus the attention implementation, which is not in ``to_dict()`` but changes the numbers slightly.

    Examples
    --------
    >>> from transformers import BertConfig, BertModel
    >>> cfg = dict(vocab_size=8, hidden_size=4, num_hidden_layers=1, num_attention_heads=1, intermediate_size=4)
    >>> a, b = BertModel(BertConfig(**cfg)), BertModel(BertConfig(**cfg, hidden_act="relu"))
    >>> config_fingerprint(a) == config_fingerprint(a), config_fingerprint(a) == config_fingerprint(b)
    (True, False)
    """
    cfg = {k: v for k, v in _config_dict(model).items() if k not in _CONFIG_PROVENANCE}
    cfg["_attn_implementation"] = getattr(getattr(model, "config", None), "_attn_implementation", None)
    blob = json.dumps(cfg, sort_keys=True, separators=(",", ":"), default=repr)
    return hashlib.sha256(b"neuronbook-config/1\n" + blob.encode()).hexdigest()


def register_loaded(model, info: dict) -> None:
    """Record the identity :func:`load_model` computed for ``model``, and its state as loaded."""
    _LOADED[model] = info
    _AS_LOADED[model] = (model_fingerprint(model), config_fingerprint(model))


def _unchanged_since_load(model) -> bool:
    """True when ``model``'s weights and config are still those it was loaded with (cheap when they are:
    the weights hash is memoised on the tensors' in-place version counters)."""
    loaded = _AS_LOADED.get(model)
    return loaded is not None and loaded == (model_fingerprint(model), config_fingerprint(model))


def identity_from_object(model, tokenizer=None) -> dict:
    """The identity of a model object: from the registry if load_model made it and it is unchanged
    since, else from its weights and its config."""
    cfg = _config_dict(model)
    tok_limit = getattr(tokenizer, "model_max_length", None) if tokenizer is not None else None
    known = _LOADED.get(model)
    if known is not None and not _unchanged_since_load(model):
        # edited after loading: its folder no longer describes it; keep its name and provenance
        weights = _identity_from_weights(model, cfg, tok_limit)
        return {**weights, "model": known["model"], "approximation": known.get("approximation")}
    if known is not None:
        ident = dict(known)
        if tok_limit is not None:
            limit = max_length_from({}, tok_limit)
            if limit is not None:
                ident["max_length"] = min(x for x in (ident["max_length"], limit) if x is not None)
        return ident
    return _identity_from_weights(model, cfg, tok_limit)


def _identity_from_weights(model, cfg: dict, tok_limit) -> dict:
    """Identity of a model no folder describes: the fingerprint covers its weights and its config."""
    layers = _first(cfg, "num_hidden_layers", "n_layers", "n_layer")
    fp = hashlib.sha256(f"neuronbook-object/1\nweights:{model_fingerprint(model)}\n"
                        f"config:{config_fingerprint(model)}\n".encode()).hexdigest()
    return {
        "model": cfg.get("_name_or_path") or type(model).__name__,
        "fingerprint": fp,
        "approximation": cfg.get("neuronbook_approximation"),
        "n_layers": int(layers) + 1 if layers is not None else None,
        "hidden_size": _first(cfg, "hidden_size", "dim", "n_embd"),
        "max_length": max_length_from(cfg, tok_limit),
    }


def model_fingerprint(model, *, refresh: bool = False) -> str:
    """Hex sha256 of a model object's weights (names, dtypes, shapes and bytes).

    Remembered per object (outside it: nothing is written onto the model) and recomputed when a
    parameter is replaced or changes dtype or device; pass ``refresh=True`` after editing weights
    in place.

    Examples
    --------
    >>> import torch
    >>> a, b = torch.nn.Linear(2, 2), torch.nn.Linear(2, 2)
    >>> with torch.no_grad():
    ...     _ = b.load_state_dict(a.state_dict())
    >>> model_fingerprint(a) == model_fingerprint(b)
    True
    """
    import torch

    state = model.state_dict()
    # Cheap version key: which tensors, where, and their in-place version counters.
    try:
        version = tuple((name, t.data_ptr(), t.dtype, t._version) for name, t in state.items())
        cached = _STATE_HASH.get(model)
    except (RuntimeError, TypeError):  # inference tensors, or an object without weak references
        version = cached = None
    if cached and version is not None and cached[0] == version and not refresh:
        return cached[1]
    h = hashlib.sha256()
    for name, t in state.items():
        t = t.detach().to("cpu").contiguous().reshape(-1)
        h.update(f"{name}|{t.dtype}|{tuple(t.shape)}\n".encode())
        h.update(t.view(torch.uint8).numpy().data if t.numel() else b"")
    digest = h.hexdigest()
    if version is not None:
        try:
            _STATE_HASH[model] = (version, digest)
        except TypeError:
            pass
    return digest


def tokenizer_fingerprint(tokenizer) -> str:
    """Hash of a fast tokenizer's definition, length limit and unknown token; nothing is written onto the object.

    The backend's padding and truncation settings are left out: transformers rewrites them on
    every call, and extraction never uses them (it builds its own batches).
    """
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is None:
        raise TypeError("extract needs a fast (Rust-backed) tokenizer for word alignment")
    raw = backend.to_str()
    # extraction reads a word with no piece as this id: the Python-side unknown token, not the backend's
    python_side = (getattr(tokenizer, "model_max_length", None), getattr(tokenizer, "unk_token_id", None))
    try:
        known = _TOKENIZER_HASH.get(tokenizer)
    except TypeError:  # not weakly referenceable
        known = None
    # Serialising the backend takes a few ms; re-sorting its JSON (the vocabulary) ten times that.
    # The same definition and settings give the same fingerprint, so it is reused while they hold.
    if known is not None and known[0] == raw and known[1] == python_side:
        return known[2]
    spec = json.loads(raw)
    spec.pop("padding", None)
    spec.pop("truncation", None)
    h = hashlib.sha256(json.dumps(spec, sort_keys=True, ensure_ascii=False).encode())
    h.update(f"\nmodel_max_length={python_side[0]}".encode())
    h.update(f"\nunk_token_id={python_side[1]}".encode())
    digest = h.hexdigest()[:16]
    try:
        _TOKENIZER_HASH[tokenizer] = (raw, python_side, digest)
    except TypeError:
        pass
    return digest


def pair_tokenizer(tokenizer, model_fp: str) -> None:
    """Remember that ``tokenizer`` was loaded from the same folder as the model of fingerprint ``model_fp``."""
    _PAIRED[tokenizer] = (model_fp, tokenizer_fingerprint(tokenizer))


def is_paired_unchanged(tokenizer, model_fp: str) -> bool:
    """True when ``tokenizer`` came from load_model with that model and has not been changed since."""
    known = _PAIRED.get(tokenizer)
    return known is not None and known[0] == model_fp and known[1] == tokenizer_fingerprint(tokenizer)
