"""The columns of every table an analysis returns, in one place.

:class:`~neuronbook.lca.LCAResult` names its tables after the keys of :data:`COLUMNS`; the evaluation
verbs build their tables with the same tuples, so a column is named, ordered and documented once.

Examples
--------
>>> empty("oracle").columns.tolist()
['split', 'accuracy', 'n_neurons']
>>> COLUMNS["curve"] == COLUMNS["ablation"]
True
"""

from __future__ import annotations

import pandas as pd

__all__ = ["COLUMNS", "empty"]

_CURVE = ("selection", "method", "percent", "n_neurons", "split", "accuracy")

#: Table name -> its columns, in order.  ``percent`` columns are percentages of all neurons.
COLUMNS: dict[str, tuple[str, ...]] = {
    "ranking": ("rank", "layer", "neuron", "tag", "score"),
    "per_tag_ranking": ("tag", "rank", "layer", "neuron", "score", "rare"),
    "oracle": ("split", "accuracy", "n_neurons"),
    "curve": _CURVE,
    "minimal_set": ("n_neurons", "percent", "dev_accuracy", "test_accuracy", "target", "reached"),
    "minimal_set_bootstrap": ("n_bootstrap", "size_median", "size_low", "size_high", "share_not_reached"),
    "ablation": _CURVE,
    "ablation_variants": ("percent", "selection", "variant", "fill", "n_neurons", "split", "accuracy"),
    "random_draws": ("baseline", "method", "variant", "draw", "seed", "n_neurons", "accuracy"),
    "baseline_draws": ("percent", "baseline", "method", "variant", "draw", "seed", "n_neurons", "accuracy"),
    "baseline_summary": ("baseline", "method", "variant", "n_draws", "mean", "sd", "top", "difference", "se",
                         "ci_low", "ci_high", "confidence"),
    "baselines": ("percent", "baseline", "method", "variant", "n_draws", "mean", "sd", "top", "difference", "se",
                  "ci_low", "ci_high", "confidence"),
    "selectivity": ("selection", "n_neurons", "task_accuracy", "control_accuracy", "selectivity"),
    "layer_distribution": ("layer", "count", "share"),
    "tag_layer_distribution": ("tag", "layer", "count", "share"),
    "regularization": ("l1", "l2", "dev_accuracy", "nonzero", "top", "random", "bottom", "gap_random", "gap_bottom",
                       "gap", "eligible", "chosen", "n_train"),
    "neurons": ("layer", "neuron", "mean", "scale"),
    "classes": ("tag", "n_train", "n_dev", "n_test", "intercept"),
    "headline": ("metric", "value"),
    "seed_runs": ("seed", "metric", "value"),
    "seed_summary": ("metric", "n_seeds", "mean", "sd", "median", "min", "max"),
    "seed_overlap": ("seed_a", "seed_b", "selection", "n_a", "n_b", "jaccard"),
}


def empty(name: str) -> pd.DataFrame:
    """A table of no rows with the columns of ``name`` (a key of :data:`COLUMNS`)."""
    if name not in COLUMNS:
        raise KeyError(f"no table {name!r}; the tables are {sorted(COLUMNS)}")
    return pd.DataFrame(columns=list(COLUMNS[name]))
