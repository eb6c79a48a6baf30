"""Linguistic Correlation Analysis end to end: probe, rank, evaluate, one result object.

Three levels, one :class:`~neuronbook.config.LCAConfig` for all of them:

* :func:`run_lca` -- a config (model, corpus, task names) in, :class:`LCAResult` out; loads the
  corpus, reuses or extracts the activation stores, and keeps the whole result in a cache keyed
  by the config and the stores' keys, so an identical second call loads it instead of refitting;
* :func:`analyze_store` -- activation stores and per-word labels in;
* :func:`lca_from_arrays` -- plain arrays in (train / dev / test).

Four modules hold them: :mod:`~neuronbook.lca.result` (the result type, its files and views, seed
combination), :mod:`~neuronbook.lca.data` (corpus splits, labels and activation stores),
:mod:`~neuronbook.lca.pipeline` (the analysis) and :mod:`~neuronbook.lca.cache` (the result cache).
"""

from .cache import cache_result, result_key
from .data import LCAData, prepare, split_store_rows
from .pipeline import analyze_store, lca_from_arrays, rare_tags, run_lca
from .result import RESULT_FORMAT, LCAResult, combine_seeds

__all__ = ["LCAResult", "LCAData", "RESULT_FORMAT", "lca_from_arrays", "split_store_rows", "analyze_store",
           "prepare", "run_lca", "combine_seeds", "result_key", "cache_result", "rare_tags"]
