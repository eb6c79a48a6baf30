"""The result cache: a result is kept under a key of its settings, its activation stores and its corpora.

:func:`result_key` is the full key; :func:`request_key` a cheap one of the request as given (the files'
identity), which lets an identical second call find its result without parsing the corpus.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import time
import uuid
import warnings
from pathlib import Path

from ..config import LCAConfig
from ..exceptions import ApproximationWarning, ResultCacheWarning
from .data import load_splits, one_file_split, store_keys
from .result import RESULT_FORMAT, LCAResult

__all__ = ["result_key", "cache_result", "results_root", "load_cached", "save_cached", "request_key",
           "remember_request"]

logger = logging.getLogger(__name__)


#: Settings that change where data is looked for, not what is computed: not part of a result's key.
_NOT_KEYED = ("data_dir",)


def result_key(config: LCAConfig, store_keys, corpora=None) -> str:
    """The cache key of a result: its settings, the keys of the activation stores it reads and the
    fingerprints of the corpora (their labels too: a store depends on the words only, so a corrected tag
    changes no store key but must change the result)."""
    from .. import __version__
    from ..store import content_key

    fields = {k: v for k, v in config.to_dict().items() if k not in _NOT_KEYED}
    if fields.get("aggregation") == "auto":  # keyed by what it stands for: "auto" and "mean" on BERT are one result
        from ..extraction import resolve_aggregation
        from ..models.identity import is_causal

        fields["aggregation"] = resolve_aggregation("auto", is_causal(config.model))
    labels = None if corpora is None else [c.fingerprint() for c in corpora]
    return content_key({"config": fields, "stores": list(store_keys), "labels": labels, "format": RESULT_FORMAT,
                        "version": __version__})


def cache_result(result: "LCAResult | str | Path", cache: bool | str = True) -> Path:
    """Put a saved result into the result cache, so that :func:`run_lca` with its settings loads it.

    Used to ship a precomputed result (Binder): the keys of the activation stores are computed
    again here from the config's corpus and model files and must equal the ones the result
    recorded, so a result is never served for other data or another model. ``result`` is a
    result or the folder of one: a folder is read with :meth:`LCAResult.load`, which refuses one
    whose ``result.json`` or files do not match their digests.

    Returns
    -------
    Path
        The cache folder it was written to.
    """
    if not isinstance(result, LCAResult):
        result = LCAResult.load(result)  # checks result.json's digest and every file's
    config = result.config
    corpora = load_splits(config)
    keys = store_keys(config, corpora)
    recorded = [(result.info.get(f"store_{split}") or {}).get("key") for split in ("train", "test")]
    if keys != recorded:
        raise ValueError(f"this result was computed from activation stores {recorded}, but its settings give "
                         f"{keys} here: the corpus or the model files differ, so it does not answer run_lca "
                         f"for {config.model} on {config.data}")
    folder = results_root(cache) / result_key(config, keys, corpora)
    info = {k: v for k, v in result.info.items() if k != "loaded_from_cache"}
    dataclasses.replace(result, info=info).save(folder, overwrite=True)
    return folder


def results_root(cache: bool | str) -> Path:
    from ..settings import cache_dir

    return cache_dir("results") if cache is True else Path(cache)


def load_cached(folder: Path, config: LCAConfig) -> "LCAResult | None":
    """The result saved in ``folder``, or None when there is none.

    A folder there that is no intact result (``result.json`` missing, unreadable or edited, a file
    missing or altered) is moved aside as ``<folder>.damaged-<time>-<pid>`` (logged), so the result
    computed next can be saved in its place.
    """
    if not folder.is_dir():
        return None
    try:
        result = LCAResult.load(folder)
    except (ValueError, OSError, KeyError, TypeError) as err:  # damaged: recomputed, and saved in its place
        _move_aside(folder, err)
        return None
    logger.info("loaded cached result %s", folder)
    if result.info.get("approximation"):
        warnings.warn(f"the activations come from an approximation of {config.model}: "
                      f"{result.info['approximation']}", ApproximationWarning, stacklevel=3)
    result.info["loaded_from_cache"] = str(folder)
    return result


def _move_aside(folder: Path, error: Exception) -> None:
    """A cached result that fails to load is renamed ``<folder>.damaged-<time>-<pid>`` (as a damaged store)."""
    aside = folder.with_name(f"{folder.name}.damaged-{time.strftime('%Y%m%dT%H%M%S')}-{os.getpid()}")
    try:
        os.rename(folder, aside)
    except FileNotFoundError:  # another process moved it first (or is replacing it)
        return
    except OSError as err:
        logger.warning("cached result %s is damaged (%s) and moving it aside to %s failed (%s); recomputing",
                       folder, error, aside, err)
        return
    logger.warning("cached result %s is damaged (%s); moved to %s and recomputing", folder, error, aside)


def save_cached(result: LCAResult, folder: Path) -> bool:
    """Save a computed result into the cache folder; on failure (a full disk, no permission) warn and go on.

    :meth:`LCAResult.save` writes a temporary folder and renames it into place, so a failed save
    leaves no folder that looks complete. Returns whether it was saved.
    """
    try:
        result.save(folder, overwrite=True)
    except OSError as err:
        warnings.warn(f"the result could not be saved into the result cache at {folder} ({err}); it is returned "
                      f"all the same, and the next identical call computes it again", ResultCacheWarning,
                      stacklevel=4)
        return False
    return True


def _split_source(config: LCAConfig, split: str) -> Path | None:
    """The corpus file a split is read from, found without reading it (None: not found)."""
    from ..datasets import corpus_file

    if Path(split).expanduser().is_file():
        return Path(split).expanduser().resolve()
    if one_file_split(config):  # both splits come from that file (seed and test_fraction are in the key)
        return Path(config.data).expanduser().resolve()
    return corpus_file(config.data, split, config.data_dir)


def request_key(config: LCAConfig) -> str | None:
    """A key of the request as given: settings, the corpus files' identity (path, size, mtime) and the
    model's fingerprint (from its files, memoised). Any change to a file changes it; None when a source
    cannot be named cheaply (then only the full key is used)."""
    from .. import __version__
    from ..models import model_identity
    from ..store import content_key

    try:
        sources = []
        for split in (config.train, config.test):
            path = _split_source(config, split)
            if path is None:
                return None
            st = path.stat()
            sources.append([str(path.resolve()), st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino])
        model = model_identity(config.model)["fingerprint"]
    except Exception as err:  # noqa: BLE001 - any trouble here only means the slow path is taken
        logger.debug("no request key (%s)", err)
        return None
    from ..extraction import library_versions

    fields = {k: v for k, v in config.to_dict().items() if k not in _NOT_KEYED}
    return content_key({"config": fields, "sources": sources, "model": model, "format": RESULT_FORMAT,
                        "version": __version__, "libraries": library_versions()})


def remember_request(root: Path, quick: str | None, result_name: str) -> None:
    if quick is None:
        return
    target = root / "requests" / quick
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{quick}.tmp-{uuid.uuid4().hex[:8]}")
    tmp.write_text(result_name)
    tmp.replace(target)  # atomic: a reader sees the old pointer or the new one
