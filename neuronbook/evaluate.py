"""Evaluation of a neuron ranking: oracle, minimal neuron set, ablation, selectivity.

Every function works on plain arrays ``X_* (words x neurons)`` and label arrays
``y_*`` and returns tidy DataFrames.  Neurons are flat column indices of ``X``.
Retraining on a subset of neurons uses the same regularisation as the oracle
(pass ``l1``/``l2`` and ``probe_params``).

Accuracy-curve tables share the columns ``selection`` (``top``/``random``/``bottom``),
``method`` (``retrain``/``zero-out``), ``percent`` (as requested, so the curve and the ablation
meet at the same values), ``n_neurons`` (the exact count: ``percent`` % of all neurons, rounded),
``split``, ``accuracy`` (the format :mod:`neuronbook.plots` draws).
"""

from __future__ import annotations

import logging
import warnings

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from .config import DEFAULT_PERCENTS, DEFAULT_SEARCH_GRID
from .exceptions import TargetNotReachedWarning
from .probe import ElasticNetProbe
from .rank import neuron_ordering, random_neurons, random_ordering

__all__ = [
    "PERCENT_GRID",
    "DEFAULT_REGULARIZATION_GRID",
    "make_probe",
    "n_for_percent",
    "oracle",
    "minimal_set",
    "ablation",
    "selectivity",
    "search_regularization",
]

logger = logging.getLogger(__name__)

#: Percentages of all neurons tried by :func:`minimal_set`, smallest first.
PERCENT_GRID = DEFAULT_PERCENTS

#: ``(l1, l2)`` pairs tried by :func:`search_regularization` (``l1 = l2``, as in the reference setup).
DEFAULT_REGULARIZATION_GRID = tuple((v, v) for v in DEFAULT_SEARCH_GRID)


def make_probe(l1=1e-3, l2=1e-3, probe_params=None, seed=0):
    """An unfitted :class:`ElasticNetProbe` with the given penalties and extra constructor arguments.

    Examples
    --------
    >>> make_probe(1e-4, 0.0, {"epochs": 3}).epochs
    3
    """
    params = dict(probe_params or {})
    params.setdefault("seed", seed)
    return ElasticNetProbe(l1=l1, l2=l2, **params)


def n_for_percent(n_total, percent):
    """Number of neurons in ``percent`` % of ``n_total`` (rounded, at least 1).

    Examples
    --------
    >>> n_for_percent(2688, 10), n_for_percent(2688, 0.1), n_for_percent(5, 1)
    (269, 3, 1)
    """
    return int(min(n_total, max(1, round(n_total * percent / 100.0))))


def _splits(**pairs):
    return [(name, X, y) for name, (X, y) in pairs.items() if X is not None and y is not None]


def oracle(X_train, y_train, X_dev=None, y_dev=None, X_test=None, y_test=None, *, l1=1e-3, l2=1e-3,
           probe_params=None, seed=0):
    """Train the probe on all neurons.

    Returns
    -------
    probe : ElasticNetProbe
        Fitted on ``(X_train, y_train)``.
    accuracy : DataFrame
        ``split`` (``train``/``dev``/``test``), ``accuracy``, ``n_neurons``.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(300, 4)).astype("float32"); y = (X[:, 0] > 0).astype(int)
    >>> probe, acc = oracle(X[:200], y[:200], X[200:], y[200:], l1=0, l2=0, probe_params={"epochs": 20, "lr": 1e-2, "batch_size": 16})
    >>> acc["split"].tolist(), bool(acc["accuracy"].min() > 0.9)
    (['train', 'dev'], True)
    """
    probe = make_probe(l1, l2, probe_params, seed).fit(X_train, y_train)
    rows = [{"split": s, "accuracy": probe.score(X, y), "n_neurons": X.shape[1]}
            for s, X, y in _splits(train=(X_train, y_train), dev=(X_dev, y_dev), test=(X_test, y_test))]
    return probe, pd.DataFrame(rows, columns=["split", "accuracy", "n_neurons"])


def minimal_set(ordering, X_train, y_train, X_dev, y_dev, X_test=None, y_test=None, *, oracle_accuracy,
                delta=0.01, percents=PERCENT_GRID, l1=1e-3, l2=1e-3, probe_params=None, seed=0, progress=False):
    """Smallest prefix of ``ordering`` whose retrained probe reaches ``oracle_accuracy * (1 - delta)`` on dev.

    Prefixes of ``percents`` % of all neurons are tried in increasing order; the search
    stops at the first one that reaches the target.

    Parameters
    ----------
    ordering : array-like of int
        Neurons, most salient first.
    oracle_accuracy : float
        Dev accuracy of the probe on all neurons.
    delta : float
        Allowed relative loss of accuracy.

    Returns
    -------
    summary : dict
        ``n_neurons``, ``percent``, ``dev_accuracy``, ``test_accuracy``, ``target``, ``reached``
        (False when no prefix reached the target: then all neurons are reported), ``columns``.
    curve : DataFrame
        ``selection`` ("top"), ``method`` ("retrain"), ``percent``, ``n_neurons``, ``split``, ``accuracy``.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(400, 10)).astype("float32"); y = (X[:, 3] > 0).astype(int)
    >>> s, curve = minimal_set([3, 0, 1, 2, 4, 5, 6, 7, 8, 9], X[:300], y[:300], X[300:], y[300:],
    ...                        oracle_accuracy=0.95, percents=(10, 50), l1=0, l2=0,
    ...                        probe_params={"epochs": 20, "lr": 1e-2, "batch_size": 16})
    >>> s["n_neurons"], s["reached"]
    (1, True)
    """
    ordering = np.asarray(ordering, dtype=np.int64)
    n_total = X_train.shape[1]
    target = oracle_accuracy * (1 - delta)
    rows, summary, seen = [], None, set()
    for pct in tqdm(sorted(percents), disable=not progress, desc="minimal set", leave=False):
        k = n_for_percent(n_total, pct)
        if k in seen:  # small stores: several percentages round to the same count
            continue
        seen.add(k)
        cols = ordering[:k]
        probe = make_probe(l1, l2, probe_params, seed).fit(X_train[:, cols], y_train)
        acc = {s: probe.score(X[:, cols], y) for s, X, y in _splits(dev=(X_dev, y_dev), test=(X_test, y_test))}
        rows += [{"selection": "top", "method": "retrain", "percent": float(pct), "n_neurons": k,
                  "split": s, "accuracy": a} for s, a in acc.items()]
        logger.debug("minimal set: %d neurons, dev accuracy %.4f (target %.4f)", k, acc["dev"], target)
        if acc["dev"] >= target:
            summary = {"n_neurons": k, "percent": float(pct), "dev_accuracy": acc["dev"],
                       "test_accuracy": acc.get("test", np.nan), "target": target, "reached": True}
            break
    if summary is None:
        warnings.warn(f"no prefix of up to {max(percents):g}% of the neurons reached the target dev accuracy "
                      f"{target:.4f} (oracle {oracle_accuracy:.4f} minus delta={delta:g}); the minimal set is "
                      f"reported as all {n_total} neurons", TargetNotReachedWarning, stacklevel=2)
        summary = {"n_neurons": n_total, "percent": 100.0, "dev_accuracy": np.nan, "test_accuracy": np.nan,
                   "target": target, "reached": False}
    summary["columns"] = ordering[: summary["n_neurons"]].tolist()
    curve = pd.DataFrame(rows, columns=["selection", "method", "percent", "n_neurons", "split", "accuracy"])
    return summary, curve


def ablation(ordering, X_train, y_train, X_test, y_test, *, probe=None, percents=(10,), X_dev=None, y_dev=None,
             methods=("retrain", "zero-out"), l1=1e-3, l2=1e-3, probe_params=None, seed=0, progress=False):
    """Accuracy with only the top / random / bottom ``percent`` % of neurons.

    ``retrain`` fits a new probe on the selected neurons; ``zero-out`` keeps the trained
    oracle ``probe`` and zeroes the weights of every other neuron (with a standardizing
    probe this replaces their activations by their training mean).  Top is the head of
    ``ordering``, bottom its tail, random a seeded draw.

    Returns
    -------
    DataFrame
        ``selection``, ``method``, ``percent``, ``n_neurons``, ``split``, ``accuracy``.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(400, 10)).astype("float32"); y = (X[:, 3] > 0).astype(int)
    >>> t = ablation([3, 0, 1, 2, 4, 5, 6, 7, 8, 9], X[:300], y[:300], X[300:], y[300:], methods=("retrain",),
    ...              l1=0, l2=0, probe_params={"epochs": 20, "lr": 1e-2, "batch_size": 16})
    >>> acc = t.set_index("selection")["accuracy"]
    >>> bool(acc["top"] > 0.9 and acc["bottom"] < 0.7)
    True
    """
    ordering = np.asarray(ordering, dtype=np.int64)
    n_total = X_train.shape[1]
    if "zero-out" in methods and probe is None:
        raise ValueError("method 'zero-out' needs the trained oracle probe (probe=...)")
    rand = random_ordering(n_total, seed)
    rows = []
    jobs = [(p, sel, m) for p in percents for sel in ("top", "random", "bottom") for m in methods]
    for pct, sel, method in tqdm(jobs, disable=not progress, desc="ablation", leave=False):
        k = n_for_percent(n_total, pct)
        cols = {"top": ordering[:k], "random": rand[:k], "bottom": ordering[len(ordering) - k:]}[sel]
        splits = _splits(dev=(X_dev, y_dev), test=(X_test, y_test))
        if method == "retrain":
            sub = make_probe(l1, l2, probe_params, seed).fit(X_train[:, cols], y_train)
            accs = [(s, sub.score(X[:, cols], y)) for s, X, y in splits]
        elif method == "zero-out":
            W = np.zeros_like(probe.coef_)
            W[:, cols] = probe.coef_[:, cols]
            accs = [(s, probe.score(X, y, coef=W)) for s, X, y in splits]
        else:
            raise ValueError(f"unknown ablation method {method!r}; use 'retrain' or 'zero-out'")
        rows += [{"selection": sel, "method": method, "percent": float(pct), "n_neurons": k, "split": s,
                  "accuracy": a} for s, a in accs]
    return pd.DataFrame(rows, columns=["selection", "method", "percent", "n_neurons", "split", "accuracy"])


def selectivity(X_train, y_train, control_train, X_test, y_test, control_test, *, selections=None, l1=1e-3,
                l2=1e-3, probe_params=None, seed=0):
    """Selectivity (Hewitt & Liang, 2019): task accuracy minus control-task accuracy.

    Parameters
    ----------
    control_train, control_test : array-like
        Control-task labels of the same words (e.g. from ``Task("control:xpos")``).
    selections : dict, optional
        Name -> neuron columns (``None`` = all neurons).  Default ``{"all": None}``.

    Returns
    -------
    DataFrame
        ``selection``, ``n_neurons``, ``task_accuracy``, ``control_accuracy``, ``selectivity``
        (test split).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(400, 3)).astype("float32"); y = (X[:, 0] > 0).astype(int)
    >>> ctrl = rng.integers(0, 2, 400)
    >>> t = selectivity(X[:300], y[:300], ctrl[:300], X[300:], y[300:], ctrl[300:], l1=0, l2=0,
    ...                 probe_params={"epochs": 20, "lr": 1e-2, "batch_size": 16})
    >>> bool(t.loc[0, "selectivity"] > 0.3)
    True
    """
    selections = {"all": None} if selections is None else selections
    rows = []
    for name, cols in selections.items():
        cols = np.arange(X_train.shape[1]) if cols is None else np.asarray(cols, dtype=np.int64)
        task = make_probe(l1, l2, probe_params, seed).fit(X_train[:, cols], y_train).score(X_test[:, cols], y_test)
        ctrl = make_probe(l1, l2, probe_params, seed).fit(X_train[:, cols], control_train).score(
            X_test[:, cols], control_test)
        rows.append({"selection": name, "n_neurons": len(cols), "task_accuracy": task, "control_accuracy": ctrl,
                     "selectivity": task - ctrl})
    return pd.DataFrame(rows, columns=["selection", "n_neurons", "task_accuracy", "control_accuracy", "selectivity"])


def search_regularization(X_train, y_train, X_dev, y_dev, *, grid=DEFAULT_REGULARIZATION_GRID, percent=10,
                          tolerance=0.02, probe_params=None, max_train=None, search_stride=100, seed=0,
                          progress=False):
    """Choose ``(l1, l2)`` with the LCA criterion.

    For each pair: train on all neurons and measure dev accuracy; rank the neurons; retrain
    on the top, a random and the bottom ``percent`` % and measure their dev accuracy.
    Eligible pairs keep dev accuracy within ``tolerance`` (absolute) of the unregularised
    probe ``(0, 0)`` (of the best pair when ``(0, 0)`` is not in the grid); among them the
    chosen pair maximises ``gap = top - max(random, bottom)`` (ties: the smaller penalty).

    Cost: one full fit per pair plus three fits on ``percent`` % of the neurons per eligible
    pair (about 1.3 full fits each); ``max_train`` subsamples the training words and
    ``probe_params`` (e.g. fewer epochs) makes each fit cheaper.

    Returns
    -------
    table : DataFrame
        ``l1``, ``l2``, ``dev_accuracy``, ``top``, ``random``, ``bottom``, ``gap_random``,
        ``gap_bottom``, ``gap``, ``eligible``, ``chosen``, ``n_train`` (training words per fit).
    best : tuple
        The chosen ``(l1, l2)``.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(600, 20)).astype("float32"); y = (X[:, :2].sum(1) > 0).astype(int)
    >>> table, best = search_regularization(X[:400], y[:400], X[400:], y[400:], grid=[(0, 0), (1e-3, 1e-3)],
    ...                                     percent=10, probe_params={"epochs": 20, "lr": 1e-2, "batch_size": 16})
    >>> table.columns.tolist()[:3], best in [(0, 0), (1e-3, 1e-3)]
    (['l1', 'l2', 'dev_accuracy'], True)
    """
    grid = [(float(a), float(b)) for a, b in grid]
    if not grid:
        raise ValueError("the regularisation grid is empty")
    if max_train is not None and len(X_train) > max_train:
        pick = np.sort(np.random.default_rng(seed).choice(len(X_train), int(max_train), replace=False))
        X_train, y_train = X_train[pick], np.asarray(y_train)[pick]
    n_total = X_train.shape[1]
    k = n_for_percent(n_total, percent)
    rand = random_neurons(n_total, k, seed)
    rows, orderings = [], {}
    for l1, l2 in tqdm(grid, disable=not progress, desc="regularisation", leave=False):
        probe = make_probe(l1, l2, probe_params, seed).fit(X_train, y_train)
        orderings[(l1, l2)] = neuron_ordering(probe.coef_, search_stride)[0]
        rows.append({"l1": l1, "l2": l2, "dev_accuracy": probe.score(X_dev, y_dev)})
    table = pd.DataFrame(rows)
    ref = table.loc[(table.l1 == 0) & (table.l2 == 0), "dev_accuracy"]
    reference = float(ref.iloc[0]) if len(ref) else float(table["dev_accuracy"].max())
    table["eligible"] = table["dev_accuracy"] >= reference - tolerance
    for col in ("top", "random", "bottom"):
        table[col] = np.nan
    for i in tqdm(np.nonzero(table["eligible"].to_numpy())[0], disable=not progress, desc="gaps", leave=False):
        l1, l2 = table.loc[i, "l1"], table.loc[i, "l2"]
        order = orderings[(l1, l2)]
        for name, cols in (("top", order[:k]), ("random", rand), ("bottom", order[len(order) - k:])):
            sub = make_probe(l1, l2, probe_params, seed).fit(X_train[:, cols], y_train)
            table.loc[i, name] = sub.score(X_dev[:, cols], y_dev)
    table["gap_random"] = table["top"] - table["random"]
    table["gap_bottom"] = table["top"] - table["bottom"]
    table["gap"] = table["top"] - table[["random", "bottom"]].max(axis=1)
    # stable sort on the gap only: ties keep grid order (weaker penalties come first in the default grid)
    best_i = table.loc[table["eligible"], "gap"].sort_values(ascending=False, kind="stable").index[0]
    table["chosen"] = table.index == best_i
    best = (float(table.loc[best_i, "l1"]), float(table.loc[best_i, "l2"]))
    logger.info("regularisation search chose l1=%g, l2=%g (dev accuracy %.4f, gap %.4f)", best[0], best[1],
                table.loc[best_i, "dev_accuracy"], table.loc[best_i, "gap"])
    table["n_train"] = len(X_train)  # words each fit saw (after any max_train subsample)
    cols = ["l1", "l2", "dev_accuracy", "top", "random", "bottom", "gap_random", "gap_bottom", "gap", "eligible",
            "chosen", "n_train"]
    return table[cols], best
