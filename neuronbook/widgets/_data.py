"""Small tables the views draw, computed from an :class:`~neuronbook.lca.LCAResult`."""

from __future__ import annotations

import numpy as np
import pandas as pd

_CURVE = ["selection", "method", "percent", "n_neurons", "split", "accuracy"]


def accuracy_table(result, split: str = "test", method: str = "retrain") -> pd.DataFrame:
    """The minimal-set curve (top neurons) and the ablation (top / random / bottom) of one split and method.

    Where both measured the top neurons at the same percent, the ablation's row is kept (one row per
    selection and percent, as the accuracy chart requires).

    Examples
    --------
    >>> from neuronbook.lca.result import toy_result
    >>> accuracy_table(toy_result()).columns.tolist()
    ['selection', 'method', 'percent', 'n_neurons', 'split', 'accuracy']
    """
    parts = []
    for table in (result.ablation, result.curve):
        if len(table):
            t = table.copy()
            if "method" not in t.columns:
                t["method"] = "retrain"
            parts.append(t.loc[(t["split"].astype(str) == split) & (t["method"].astype(str) == method), _CURVE])
    if not parts:
        return pd.DataFrame(columns=_CURVE)
    out = pd.concat(parts, ignore_index=True)
    out["percent"] = out["percent"].astype(float)
    out["accuracy"] = out["accuracy"].astype(float)
    out = out.drop_duplicates(["selection", "percent"], keep="first")
    return out.sort_values(["selection", "percent"], kind="stable").reset_index(drop=True)


def measured_percents(result, split: str = "test", method: str = "retrain") -> list[float]:
    """Every percent at which some selection was measured, ascending."""
    return sorted(set(accuracy_table(result, split, method)["percent"].tolist()))


def oracle_accuracy(result, split: str = "test") -> float | None:
    acc = result.oracle.loc[result.oracle["split"].astype(str) == split, "accuracy"]
    return float(acc.iloc[0]) if len(acc) else None


def minimal_percent(result) -> float | None:
    """The minimal set's share of the neurons; None when there is none (not reached)."""
    if len(result.minimal_set) and getattr(result, "minimal_set_reached", True):
        return float(result.minimal_set["percent"].iloc[0])
    return None


def nearest(values, target: float) -> float:
    values = np.asarray(list(values), dtype=float)
    if not len(values):
        raise ValueError("no percent was measured in this result")
    return float(values[int(np.argmin(np.abs(values - float(target))))])


def neuron_label(layer, neuron) -> str:
    return f"L{int(layer)} N{int(neuron)}"
