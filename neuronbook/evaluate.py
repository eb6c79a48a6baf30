"""Evaluation of a neuron ranking: oracle, minimal neuron set, ablation, selectivity.

Every function works on plain arrays ``X_* (words x neurons)`` and label arrays
``y_*`` and returns tidy DataFrames.  Neurons are flat column indices of ``X``.
Every verb that fits probes takes ``estimator=``: an unfitted probe (normally
``LCAConfig.make_probe()`` or ``LCAResult.estimator()``) whose settings every fit copies, so a
retrained subset uses the oracle's penalties; ``None`` means ``ElasticNetProbe()``.  The verbs have
no penalty defaults of their own.

Accuracy-curve tables share the columns ``selection`` (``top``/``random``/``bottom``),
``method`` (``retrain``/``zero-out``), ``percent`` (as requested, so the curve and the ablation
meet at the same values), ``n_neurons`` (the exact count: ``percent`` % of all neurons, rounded),
``split``, ``accuracy`` (the format :mod:`neuronbook.plots` draws).
"""

from __future__ import annotations

import dataclasses
import logging
import warnings

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from .config import DEFAULT_PERCENTS, DEFAULT_SEARCH_GRID
from .exceptions import TargetNotReachedWarning
from .probe import (ElasticNetProbe, clone, column_means, encode_labels, fit_copies, masked_accuracies,
                    predict_many)
from .rank import neuron_ordering, random_neurons, random_ordering
from .tables import COLUMNS

__all__ = [
    "PERCENT_GRID",
    "DEFAULT_REGULARIZATION_GRID",
    "fit_many",
    "n_for_percent",
    "oracle",
    "MinimalSet",
    "minimal_set",
    "ablation",
    "selectivity",
    "PenaltySearch",
    "search_regularization",
    "choose_penalty",
    "CRITERIA",
    "SEARCH_COLUMNS",
    "baseline_seeds",
    "layer_matched_neurons",
    "random_baselines",
    "baseline_summary",
    "ABLATION_VARIANTS",
    "ABLATION_FILLS",
    "ablation_variants",
]

logger = logging.getLogger(__name__)

#: Percentages of all neurons tried by :func:`minimal_set`, smallest first.
PERCENT_GRID = DEFAULT_PERCENTS

#: ``(l1, l2)`` pairs tried by :func:`search_regularization` (``l1 = l2``, as in the reference setup).
DEFAULT_REGULARIZATION_GRID = tuple((v, v) for v in DEFAULT_SEARCH_GRID)


def fit_many(jobs, n_jobs=None):
    """Run independent zero-argument jobs (probe fits) side by side, results in order.

    A probe's mini-batch products are too small for torch to spread one over several cores well
    (two threads make one fit about 10 % faster), so independent fits run in ``n_jobs`` threads of
    one torch thread each instead (torch releases the GIL inside its kernels).  Each fit is the same
    computation as alone with one torch thread.

    Parameters
    ----------
    jobs : list of callables
    n_jobs : int, optional
        Threads (default: torch's thread count, normally the CPU cores); 1 runs the jobs in turn.

    Examples
    --------
    >>> fit_many([lambda: 1, lambda: 2], n_jobs=2)
    [1, 2]
    """
    import torch

    jobs = list(jobs)
    n = torch.get_num_threads() if n_jobs is None else int(n_jobs)
    if n <= 1 or len(jobs) <= 1:
        return [job() for job in jobs]
    from concurrent.futures import ThreadPoolExecutor

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with ThreadPoolExecutor(min(n, len(jobs))) as pool:
            return list(pool.map(lambda job: job(), jobs))
    finally:
        torch.set_num_threads(before)


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


def oracle(X_train, y_train, X_dev=None, y_dev=None, X_test=None, y_test=None, *, estimator=None, probe=None):
    """Train the probe on all neurons.

    ``estimator``: the unfitted probe to copy (``None``: ``ElasticNetProbe()``).  ``probe``: a probe
    already fitted on ``(X_train, y_train)`` with these settings (e.g. the regularisation search's fit of
    the chosen penalty): it is scored instead of fitted again.

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
    >>> est = ElasticNetProbe(l1=0, l2=0, epochs=20, lr=1e-2, batch_size=16)
    >>> probe, acc = oracle(X[:200], y[:200], X[200:], y[200:], estimator=est)
    >>> acc["split"].tolist(), bool(acc["accuracy"].min() > 0.9)
    (['train', 'dev'], True)
    """
    probe = clone(estimator).fit(X_train, y_train) if probe is None else probe
    rows = [{"split": s, "accuracy": probe.score(X, y), "n_neurons": X.shape[1]}
            for s, X, y in _splits(train=(X_train, y_train), dev=(X_dev, y_dev), test=(X_test, y_test))]
    return probe, pd.DataFrame(rows, columns=list(COLUMNS["oracle"]))


@dataclasses.dataclass(frozen=True)
class MinimalSet:
    """What :func:`minimal_set` found: the smallest prefix of a ranking that reaches the target, and its curve.

    Attributes
    ----------
    n_neurons, percent : int, float
        The prefix's size (all neurons, 100 %, when ``reached`` is False: the search's end, not a set).
    dev_accuracy, test_accuracy : float
        Of the probe retrained on the prefix (NaN when not reached, or without a test split).
    target : float
        ``oracle_accuracy * (1 - delta)``.
    reached : bool
        Whether any evaluated prefix reached ``target`` on dev.
    columns : list of int
        The prefix's neurons (columns of ``X``), most salient first.
    curve : DataFrame
        :data:`neuronbook.tables.COLUMNS` ``["curve"]``: every evaluated prefix's dev (and test) accuracy;
        with a bootstrap also ``ci_low``/``ci_high`` of the dev accuracy.
    probes : dict
        Prefix size -> the probe fitted on that prefix (reusable, e.g. as the ablation's top sets).
    bootstrap : dict or None
        With resamples: ``n_bootstrap``, ``size_median``, ``size_low``, ``size_high`` (2.5 / 97.5 %
        percentiles, in neurons) and ``share_not_reached``.
    """

    n_neurons: int
    percent: float
    dev_accuracy: float
    test_accuracy: float
    target: float
    reached: bool
    columns: list
    curve: pd.DataFrame = dataclasses.field(repr=False)
    probes: dict = dataclasses.field(default_factory=dict, repr=False)
    bootstrap: dict | None = None

    def table(self) -> pd.DataFrame:
        """One row: :data:`neuronbook.tables.COLUMNS` ``["minimal_set"]``, plus the bootstrap's columns."""
        row = {c: getattr(self, c) for c in COLUMNS["minimal_set"]}
        row.update(self.bootstrap or {})
        return pd.DataFrame([row])


def minimal_set(ordering, X_train, y_train, X_dev, y_dev, X_test=None, y_test=None, *, oracle_accuracy,
                delta=0.01, percents=PERCENT_GRID, estimator=None, seed=0, progress=False, fine_steps=4,
                bootstrap=0, groups=None, oracle_correct=None):
    """Smallest prefix of ``ordering`` whose retrained probe reaches ``oracle_accuracy * (1 - delta)`` on dev.

    Prefixes of ``percents`` % of all neurons are tried in increasing order up to the first one
    that reaches the target; then ``fine_steps`` evenly spaced sizes between that one and the grid
    point before it are tried too, so the answer does not jump by a coarse grid step.

    With ``bootstrap`` resamples the size gets an interval: the dev sentences (``groups``: the
    sentence of every dev word; default every word on its own) are drawn with replacement, the
    target is recomputed from the oracle's correct words (``oracle_correct``) on the same draw, and
    the smallest evaluated prefix that reaches it is that resample's size.  The grid point after the
    first hit is also evaluated, so a resample whose first hit falls short can still land.  The
    bootstrap covers the dev sample only; the spread over training seeds needs several runs
    (``LCAConfig.seeds``).

    Parameters
    ----------
    ordering : array-like of int
        Neurons, most salient first.
    oracle_accuracy : float
        Dev accuracy of the probe on all neurons.
    estimator : ElasticNetProbe, optional
        The unfitted probe every prefix's refit copies (``None``: ``ElasticNetProbe()``).
    seed : int
        Seed of the bootstrap resamples.
    delta : float
        Allowed relative loss of accuracy.
    fine_steps : int
        Extra sizes tried between the last miss and the first hit of the coarse grid (0: none).
    bootstrap : int
        Resamples of the dev set for the size's interval (0: none).
    groups : array-like, optional
        Sentence (or any cluster) of every dev word; resampling draws whole groups.
    oracle_correct : array-like of bool, optional
        Whether the oracle got each dev word right (default: the target stays fixed).

    Returns
    -------
    MinimalSet
        The prefix (``reached`` False when none reached the target: then all neurons are reported as the
        search's end), the ``curve`` of every evaluated prefix, the fitted ``probes`` and, with
        ``bootstrap``, the size's interval (resamples where no evaluated prefix reached the target count
        as all neurons).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(400, 10)).astype("float32"); y = (X[:, 3] > 0).astype(int)
    >>> ms = minimal_set([3, 0, 1, 2, 4, 5, 6, 7, 8, 9], X[:300], y[:300], X[300:], y[300:],
    ...                  oracle_accuracy=0.95, percents=(10, 50),
    ...                  estimator=ElasticNetProbe(l1=0, l2=0, epochs=20, lr=1e-2, batch_size=16))
    >>> ms.n_neurons, ms.reached, ms.columns
    (1, True, [3])
    """
    ordering = np.asarray(ordering, dtype=np.int64)
    y_dev = np.asarray(y_dev)
    n_total = X_train.shape[1]
    target = oracle_accuracy * (1 - delta)
    if int(fine_steps) < 0 or int(bootstrap) < 0:
        raise ValueError(f"fine_steps and bootstrap must be >= 0, got {fine_steps} and {bootstrap}")
    results = {}  # k -> (percent, dev correct per word, dev accuracy, test accuracy)
    probes = {}  # k -> the probe fitted on the first k neurons


    def evaluate(pcts):
        """Fit the prefixes of these percentages side by side (small stores: several may share a count)."""
        todo = {}
        for pct in pcts:
            k = n_for_percent(n_total, pct)
            if k not in results and k not in todo:
                todo[k] = float(pct)
        prefixes = [ordering[:k] for k in todo]
        models = list(zip(fit_copies(estimator, X_train, y_train, prefixes), prefixes))
        dev_pred = predict_many(models, X_dev)
        tests = _accuracies(models, X_test, y_test) if X_test is not None and y_test is not None else [None] * len(todo)
        for (k, pct), (probe, _), pred, test in zip(todo.items(), models, dev_pred, tests):
            correct = probe.classes_[pred] == y_dev  # unseen dev tags are errors, as in score()
            results[k] = (pct, correct, float(correct.mean()), test)
            probes[k] = probe
            logger.debug("minimal set: %d neurons, dev accuracy %.4f (target %.4f)", k, correct.mean(), target)
        bar.update(len(pcts))
        return [n_for_percent(n_total, pct) for pct in pcts]

    grid = sorted(float(p) for p in percents)
    bar = tqdm(total=len(grid) + int(fine_steps) + 1, disable=not progress, desc="minimal set", leave=False)
    # prefixes are trained together a chunk at a time (they share each mini-batch); a chunk is about half
    # a full fit's work.  Points past the first hit are dropped unless the rule below would have tried
    # them, so the result does not depend on the chunking
    chunks, start = [], 0
    while start < len(grid):
        stop = start + 1
        while stop < len(grid) and (stop - start + 1) * n_for_percent(n_total, grid[stop]) <= n_total / 2:
            stop += 1
        chunks.append((start, stop))
        start = stop
    previous, hit = 0.0, None
    for start, stop in chunks:
        ks = evaluate(grid[start:stop])
        for i, k in enumerate(ks, start):
            if results[k][2] >= target:
                hit = i
                break
            previous = grid[i]
        if hit is not None:
            break
    if hit is not None:
        keep = {n_for_percent(n_total, p) for p in grid[:hit + 1 + (1 if bootstrap else 0)]}
        for k in [k for k in results if k not in keep]:
            del results[k]
        more = []
        if previous > 0 and fine_steps:
            more += [round(float(pct), 4) for pct in np.linspace(previous, grid[hit], int(fine_steps) + 2)[1:-1]]
        if bootstrap and hit + 1 < len(grid):
            more.append(grid[hit + 1])
        evaluate(more)
    bar.close()
    sizes = sorted(results)
    passing = [k for k in sizes if results[k][2] >= target]
    if passing:
        k = passing[0]
        pct, _, dev_acc, test_acc = results[k]
        found = {"n_neurons": k, "percent": pct, "dev_accuracy": dev_acc,
                 "test_accuracy": np.nan if test_acc is None else test_acc, "target": target, "reached": True}
    else:
        warnings.warn(f"no prefix of up to {max(percents):g}% of the neurons reached the target dev accuracy "
                      f"{target:.4f} (oracle {oracle_accuracy:.4f} minus delta={delta:g}): there is no minimal set "
                      f"(reached=False; its row counts all {n_total} neurons only as the search's end)",
                      TargetNotReachedWarning, stacklevel=2)
        found = {"n_neurons": n_total, "percent": 100.0, "dev_accuracy": np.nan, "test_accuracy": np.nan,
                 "target": target, "reached": False}
    rows = []
    for k in sizes:
        pct, _, dev_acc, test_acc = results[k]
        rows.append({"selection": "top", "method": "retrain", "percent": pct, "n_neurons": k, "split": "dev",
                     "accuracy": dev_acc})
        if test_acc is not None:
            rows.append({"selection": "top", "method": "retrain", "percent": pct, "n_neurons": k, "split": "test",
                         "accuracy": test_acc})
    curve = pd.DataFrame(rows, columns=list(COLUMNS["curve"]))
    interval = None
    if bootstrap:
        correct = np.stack([results[k][1] for k in sizes])  # sizes x dev words
        boot = _bootstrap_sizes(correct, np.asarray(sizes), n_total, len(y_dev), groups, oracle_correct,
                                target, delta, int(bootstrap), seed)
        interval = boot["summary"]
        lo = dict(zip(sizes, boot["acc_low"]))
        hi = dict(zip(sizes, boot["acc_high"]))
        dev = curve["split"] == "dev"
        curve["ci_low"] = np.where(dev, curve["n_neurons"].map(lo), np.nan)
        curve["ci_high"] = np.where(dev, curve["n_neurons"].map(hi), np.nan)
    return MinimalSet(**found, columns=ordering[: found["n_neurons"]].tolist(), curve=curve,
                      probes={k: probes[k] for k in sorted(results)}, bootstrap=interval)


def _bootstrap_sizes(correct, sizes, n_total, n_dev, groups, oracle_correct, target, delta, n_boot, seed):
    """Minimal-set size and dev accuracies over resamples of the dev groups (see :func:`minimal_set`)."""
    codes = np.arange(n_dev) if groups is None else np.unique(np.asarray(groups), return_inverse=True)[1].ravel()
    if len(codes) != n_dev:
        raise ValueError(f"groups has {len(codes)} entries for {n_dev} dev words")
    n_groups = int(codes.max()) + 1 if n_dev else 0
    words = np.bincount(codes, minlength=n_groups).astype(np.float64)
    # correct words per group for every evaluated size, so a resample is a weighted sum over groups
    hits = np.stack([np.bincount(codes, weights=c.astype(np.float64), minlength=n_groups) for c in correct])
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), 0xB007]))
    counts = rng.multinomial(n_groups, np.full(n_groups, 1.0 / n_groups), size=n_boot).astype(np.float64)
    denom = counts @ words
    acc = (counts @ hits.T) / denom[:, None]  # resamples x sizes
    if oracle_correct is not None:
        oc = np.bincount(codes, weights=np.asarray(oracle_correct, dtype=np.float64), minlength=n_groups)
        targets = (counts @ oc) / denom * (1 - delta)
    else:
        targets = np.full(n_boot, target)
    ok = acc >= targets[:, None]
    first = np.where(ok.any(axis=1), sizes[np.argmax(ok, axis=1)], n_total)
    return {"summary": {"n_bootstrap": n_boot, "size_median": float(np.median(first)),
                        "size_low": float(np.percentile(first, 2.5)), "size_high": float(np.percentile(first, 97.5)),
                        "share_not_reached": float((~ok.any(axis=1)).mean())},
            "acc_low": np.percentile(acc, 2.5, axis=0), "acc_high": np.percentile(acc, 97.5, axis=0)}


def ablation(ordering, X_train, y_train, X_test, y_test, *, probe=None, percents=(10,), X_dev=None, y_dev=None,
             methods=("retrain", "zero-out"), estimator=None, seed=0, progress=False, top_probes=None):
    """Accuracy with only the top / random / bottom ``percent`` % of neurons.

    ``retrain`` fits a copy of ``estimator`` on the selected neurons (``top_probes``: prefix size -> a probe
    already fitted on that prefix of ``ordering`` with these settings, e.g. :attr:`MinimalSet.probes`, is
    scored instead of fitted again); ``zero-out`` keeps the trained
    oracle ``probe`` and zeroes the weights of every other neuron (with a standardizing
    probe this replaces their activations by their training mean).  Top is the head of
    ``ordering``, bottom its tail, random one draw with the first of :func:`baseline_seeds` of ``seed`` (never
    the subset :func:`search_regularization` drew with ``seed``; :func:`random_baselines` gives many draws).

    Returns
    -------
    DataFrame
        ``selection``, ``method``, ``percent``, ``n_neurons``, ``split``, ``accuracy``.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(400, 10)).astype("float32"); y = (X[:, 3] > 0).astype(int)
    >>> t = ablation([3, 0, 1, 2, 4, 5, 6, 7, 8, 9], X[:300], y[:300], X[300:], y[300:], methods=("retrain",),
    ...              estimator=ElasticNetProbe(l1=0, l2=0, epochs=20, lr=1e-2, batch_size=16))
    >>> acc = t.set_index("selection")["accuracy"]
    >>> bool(acc["top"] > 0.9 and acc["bottom"] < 0.7)
    True
    """
    ordering = np.asarray(ordering, dtype=np.int64)
    n_total = X_train.shape[1]
    if "zero-out" in methods and probe is None:
        raise ValueError("method 'zero-out' needs the trained oracle probe (probe=...)")
    rand = _ablation_random(n_total, seed)
    rows = []
    jobs = [(p, sel, m) for p in percents for sel in ("top", "random", "bottom") for m in methods]
    for m in methods:
        if m not in ("retrain", "zero-out"):
            raise ValueError(f"unknown ablation method {m!r}; use 'retrain' or 'zero-out'")

    def columns(pct, sel):
        k = n_for_percent(n_total, pct)
        return {"top": ordering[:k], "random": rand[:k], "bottom": ordering[len(ordering) - k:]}[sel]

    splits = _splits(dev=(X_dev, y_dev), test=(X_test, y_test))
    refits = [(pct, sel) for pct, sel, m in jobs if m == "retrain"]
    bar = tqdm(total=len(jobs), disable=not progress, desc="ablation", leave=False)

    def fit_columns(pct, sel):  # the bottom set as a prefix of the reversed ordering: all sets nest per selection
        return ordering[::-1][:n_for_percent(n_total, pct)] if sel == "bottom" else columns(pct, sel)

    fitted = dict(top_probes or {})
    fill = _mean_fill(probe, X_train) if "zero-out" in methods else None
    models = {}
    for sel in ("top", "random", "bottom"):
        mine = [r for r in refits if r[1] == sel]
        for r in mine:  # fits the caller already has (the minimal set's prefixes are the top sets)
            k = n_for_percent(n_total, r[0])
            if sel == "top" and k in fitted:
                models[r] = (fitted[k], columns(*r))
        mine = [r for r in mine if r not in models]
        sets = [fit_columns(*r) for r in mine]
        models.update({r: (m, c) for r, m, c in zip(mine, fit_copies(estimator, X_train, y_train, sets), sets)})
        bar.update(len(mine))
    models = [models[r] for r in refits]
    split_accs = [(s, _accuracies(models, X, y)) for s, X, y in splits]
    retrained = {r: [(s, accs[i]) for s, accs in split_accs] for i, r in enumerate(refits)}
    for pct, sel, method in jobs:
        k = n_for_percent(n_total, pct)
        cols = columns(pct, sel)
        if method == "retrain":
            accs = retrained[(pct, sel)]
        elif method == "zero-out":  # every other weight zeroed: the others at the probe's mean
            accs = [(s, masked_accuracies(probe, X, y, [(cols, True, fill)])[0]) for s, X, y in splits]
            bar.update()
        rows += [{"selection": sel, "method": method, "percent": float(pct), "n_neurons": k, "split": s,
                  "accuracy": a} for s, a in accs]
    bar.close()
    return pd.DataFrame(rows, columns=list(COLUMNS["ablation"]))


def selectivity(X_train, y_train, control_train, X_test, y_test, control_test, *, selections=None,
                estimator=None, probes=None):
    """Selectivity (Hewitt & Liang, 2019): task accuracy minus control-task accuracy.

    Parameters
    ----------
    control_train, control_test : array-like
        Control-task labels of the same words (e.g. from ``Task("control:xpos")``).
    selections : dict, optional
        Name -> neuron columns (``None`` = all neurons).  Default ``{"all": None}``.
    estimator : ElasticNetProbe, optional
        The unfitted probe the task and control fits copy (``None``: ``ElasticNetProbe()``).
    probes : dict, optional
        Name -> a task probe already fitted on that selection with these settings (e.g. the oracle
        for ``"all"``): scored instead of fitted again.

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
    >>> t = selectivity(X[:300], y[:300], ctrl[:300], X[300:], y[300:], ctrl[300:],
    ...                 estimator=ElasticNetProbe(l1=0, l2=0, epochs=20, lr=1e-2, batch_size=16))
    >>> bool(t.loc[0, "selectivity"] > 0.3)
    True
    """
    selections = {"all": None} if selections is None else selections
    fitted = dict(probes or {})
    jobs, columns, labels = [], [], []
    for name, cols in selections.items():
        cols = None if cols is None else np.asarray(cols, dtype=np.int64)
        for y_fit, y_score, task in ((y_train, y_test, True), (control_train, control_test, False)):
            if task and name in fitted:
                jobs.append(lambda p=fitted[name]: p)
            else:
                jobs.append(lambda c=cols, a=y_fit: clone(estimator).fit(
                    X_train if c is None else X_train[:, c], a))
            columns.append(cols)
            labels.append(y_score)
    probes = fit_many(jobs)
    preds = predict_many(list(zip(probes, columns)), X_test)
    accs = [float(np.mean(p.classes_[pred] == np.asarray(lab))) for p, pred, lab in zip(probes, preds, labels)]
    rows = []
    for i, (name, cols) in enumerate(selections.items()):
        task, ctrl = accs[2 * i], accs[2 * i + 1]
        rows.append({"selection": name, "n_neurons": X_train.shape[1] if cols is None else len(cols),
                     "task_accuracy": task, "control_accuracy": ctrl, "selectivity": task - ctrl})
    return pd.DataFrame(rows, columns=list(COLUMNS["selectivity"]))


#: Criteria of :func:`choose_penalty` (and ``LCAConfig.search_criterion``).
CRITERIA = ("tolerance", "one_se", "gap")

#: Columns of the search table, in order (``se`` only with ``criterion="one_se"``).
SEARCH_COLUMNS = COLUMNS["regularization"]


@dataclasses.dataclass(frozen=True)
class PenaltySearch:
    """What :func:`search_regularization` found.

    Attributes
    ----------
    table : DataFrame
        One row per pair: :data:`SEARCH_COLUMNS` (plus ``se`` with ``criterion="one_se"``).
    best : tuple of float
        The chosen ``(l1, l2)``.
    probes : dict
        ``(l1, l2)`` -> the probe fitted on all neurons with that pair (on the ``max_train`` subsample when
        there is one: ``table["n_train"]`` says how many words each saw).
    """

    table: pd.DataFrame
    best: tuple
    probes: dict = dataclasses.field(default_factory=dict, repr=False)

    @property
    def best_probe(self):
        """The fitted probe of the chosen pair."""
        return self.probes[self.best]


def search_regularization(X_train, y_train, X_dev, y_dev, *, estimator=None, grid=DEFAULT_REGULARIZATION_GRID,
                          percent=10, tolerance=0.02, max_train=None, search_stride=100, seed=0, progress=False,
                          criterion="tolerance"):
    """Fit one probe per ``(l1, l2)`` of ``grid`` on all neurons and choose a pair on dev (:func:`choose_penalty`).

    Every pair is a copy of ``estimator`` (``None``: ``ElasticNetProbe()``) with that pair's penalties,
    fitted on the same mini-batches (one product per batch for all of them) and scored
    on dev; ``nonzero`` is the share of its weights that are not exactly zero.  Only
    ``criterion="gap"`` needs more: for every pair within ``tolerance`` of the unpenalised probe the
    neurons are ranked and the top, a random and the bottom ``percent`` % are refitted and scored on
    dev (the ``top`` ... ``gap`` columns; NaN for the other criteria).

    Cost: one full fit per pair; with ``"gap"`` three fits on ``percent`` % of the neurons per
    eligible pair besides (about 1.3 full fits each).  ``max_train`` subsamples the training words (with
    ``seed``, which also draws the gap criterion's random subset) and an ``estimator`` with fewer epochs makes
    each fit cheaper.

    Returns
    -------
    PenaltySearch
        The table, the chosen pair and every pair's fitted probe.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(600, 20)).astype("float32"); y = (X[:, :2].sum(1) > 0).astype(int)
    >>> found = search_regularization(X[:400], y[:400], X[400:], y[400:], grid=[(0, 0), (0.3, 0.3)],
    ...                               criterion="tolerance", tolerance=0.01,
    ...                               estimator=ElasticNetProbe(epochs=20, lr=1e-2, batch_size=16))
    >>> found.best, found.table["nonzero"].round(2).tolist()   # 0.3 switches every weight off: chance, not eligible
    ((0.0, 0.0), [1.0, 0.0])
    """
    if criterion not in CRITERIA:
        raise ValueError(f"unknown criterion {criterion!r}; use one of {list(CRITERIA)}")
    grid = [(float(a), float(b)) for a, b in grid]
    if not grid:
        raise ValueError("the regularisation grid is empty")
    if max_train is not None and len(X_train) > max_train:
        pick = np.sort(np.random.default_rng(seed).choice(len(X_train), int(max_train), replace=False))
        X_train, y_train = X_train[pick], np.asarray(y_train)[pick]
    bar = tqdm(total=len(grid), disable=not progress, desc="regularisation", leave=False)
    # every penalty on the same mini-batches: one product per batch for all of them
    probes = fit_copies(estimator, X_train, y_train, [None] * len(grid), penalties=grid)
    bar.update(len(grid))
    bar.close()
    dev_accs = _accuracies([(p, None) for p in probes], X_dev, y_dev)
    table = pd.DataFrame({"l1": [a for a, _ in grid], "l2": [b for _, b in grid], "dev_accuracy": dev_accs,
                          "nonzero": [float(np.count_nonzero(p.coef_)) / p.coef_.size for p in probes]})
    if criterion == "gap":
        _gap_columns(table, probes, X_train, y_train, X_dev, y_dev, percent=percent, tolerance=tolerance,
                     estimator=estimator, search_stride=search_stride, seed=seed)
    table["n_train"] = len(X_train)  # words each fit saw (after any max_train subsample)
    table, best = choose_penalty(table, criterion, tolerance=tolerance, n_dev=len(y_dev))
    return PenaltySearch(table, best, dict(zip(grid, probes)))


def _gap_reference(table):
    """Dev accuracy of the unpenalised pair (the best pair's when ``(0, 0)`` is not in the table)."""
    ref = table.loc[(table.l1 == 0) & (table.l2 == 0), "dev_accuracy"]
    return float(ref.iloc[0]) if len(ref) else float(table["dev_accuracy"].max())


def _gap_columns(table, probes, X_train, y_train, X_dev, y_dev, *, percent, tolerance, estimator, search_stride,
                 seed):
    """Fill ``top``, ``random``, ``bottom`` (dev accuracy of refits on ``percent`` %) for the gap criterion."""
    n_total = X_train.shape[1]
    k = n_for_percent(n_total, percent)
    rand = random_neurons(n_total, k, seed)
    eligible = table["dev_accuracy"].to_numpy() >= _gap_reference(table) - tolerance
    for col in ("top", "random", "bottom"):
        table[col] = np.nan
    jobs = []
    for i in np.nonzero(eligible)[0]:  # only eligible pairs are ranked and refitted
        order = neuron_ordering(probes[i].coef_, search_stride)[0]
        l1, l2 = table.loc[i, "l1"], table.loc[i, "l2"]
        for name, cols in (("top", order[:k]), ("random", rand), ("bottom", order[len(order) - k:])):
            jobs.append((i, name, l1, l2, cols))
    subs = fit_copies(estimator, X_train, y_train, [job[4] for job in jobs], penalties=[(job[2], job[3]) for job in jobs])
    accs = _accuracies([(p, job[4]) for p, job in zip(subs, jobs)], X_dev, y_dev)
    for (i, name, _, _, _), acc in zip(jobs, accs):
        table.loc[i, name] = acc


def choose_penalty(table, criterion="tolerance", *, tolerance=0.01, n_dev=None):
    """Choose ``(l1, l2)`` from a search table (one row per pair, in grid order).

    ``"tolerance"``
        The sparsest pair (largest ``l1 + l2``; ties: the larger ``l1``) whose dev accuracy is within
        ``tolerance`` (absolute) of the best pair's.  A penalty that costs little accuracy is taken as
        large as it goes, because the ranking reads the probe's weights and only a sparse probe's
        weights single neurons out (docs/lca.md, the penalty study).
    ``"one_se"``
        The same with the tolerance set to one standard error of the best accuracy,
        ``se = sqrt(p * (1 - p) / n_dev)`` (needs ``n_dev``; the table gains ``se``).
    ``"gap"``
        Among pairs within ``tolerance`` of the unpenalised probe, the largest
        ``gap = top - max(random, bottom)`` (needs the ``top``, ``random``, ``bottom`` columns that
        :func:`search_regularization` fills; ties: grid order).  It chooses by the contrast that is
        then reported.

    Parameters
    ----------
    table : DataFrame
        ``l1``, ``l2``, ``dev_accuracy``; ``top``, ``random``, ``bottom`` for ``"gap"``.
    criterion : str
        One of :data:`CRITERIA`.
    tolerance : float
        Allowed loss of dev accuracy (absolute; ``"tolerance"`` and ``"gap"``).
    n_dev : int, optional
        Dev words (``"one_se"``).

    Returns
    -------
    table : DataFrame
        A copy with :data:`SEARCH_COLUMNS` (missing ones NaN), ``eligible`` and ``chosen`` filled.
    best : tuple of float

    Examples
    --------
    >>> t = pd.DataFrame({"l1": [0, 1e-4, 1e-3, 1e-2], "l2": [0, 1e-4, 1e-3, 1e-2],
    ...                   "dev_accuracy": [0.938, 0.929, 0.932, 0.816]})
    >>> choose_penalty(t, "tolerance", tolerance=0.01)[1]
    (0.001, 0.001)
    >>> choose_penalty(t, "one_se", n_dev=2400)[1]
    (0.0, 0.0)
    """
    if criterion not in CRITERIA:
        raise ValueError(f"unknown criterion {criterion!r}; use one of {list(CRITERIA)}")
    table = table.reset_index(drop=True).copy()
    if not len(table):
        raise ValueError("the search table is empty")
    for col in SEARCH_COLUMNS:
        if col not in table:
            table[col] = np.nan
    best_acc = float(table["dev_accuracy"].max())
    slack = 1e-12  # a pair exactly at the limit is not lost to float rounding
    if criterion == "gap":
        if table["top"].isna().all():
            raise ValueError("criterion 'gap' needs the top/random/bottom columns of search_regularization")
        table["gap_random"] = table["top"] - table["random"]
        table["gap_bottom"] = table["top"] - table["bottom"]
        table["gap"] = table["top"] - table[["random", "bottom"]].max(axis=1)
        table["eligible"] = (table["dev_accuracy"] >= _gap_reference(table) - tolerance - slack) & table["gap"].notna()
        # stable sort on the gap only: ties keep grid order (weaker penalties come first in the default grid)
        best_i = table.loc[table["eligible"], "gap"].sort_values(ascending=False, kind="stable").index[0]
    else:
        if criterion == "one_se":
            if not n_dev:
                raise ValueError("criterion 'one_se' needs n_dev, the number of dev words")
            tolerance = float(np.sqrt(best_acc * (1 - best_acc) / n_dev))
            table["se"] = tolerance
        table["eligible"] = table["dev_accuracy"] >= best_acc - tolerance - slack
        cand = table[table["eligible"]]
        # largest total penalty, then the larger l1; stable, so remaining ties keep grid order
        best_i = pd.DataFrame({"s": cand["l1"] + cand["l2"], "l1": cand["l1"]}).sort_values(
            ["s", "l1"], ascending=False, kind="stable").index[0]
    table["chosen"] = table.index == best_i
    best = (float(table.loc[best_i, "l1"]), float(table.loc[best_i, "l2"]))
    logger.info("regularisation search (%s) chose l1=%g, l2=%g (dev accuracy %.4f, best %.4f)", criterion,
                best[0], best[1], table.loc[best_i, "dev_accuracy"], best_acc)
    cols = list(SEARCH_COLUMNS) + (["se"] if criterion == "one_se" else [])
    return table[cols], best


# -- baselines with intervals, ablation variants ------------------------------------------------------------------

#: Stream tag mixed into the seed of every baseline draw, so the draws never replay the random subset
#: that a search or an ablation drew with the run's own ``seed``.
_BASELINE_STREAM = 0xB45E


def _accuracies(models, X, y):
    """Accuracy of each ``(probe, columns)`` on ``(X, y)`` (labels unseen in training count as errors)."""
    if not all(isinstance(probe, ElasticNetProbe) for probe, _ in models):  # any other estimator: its own score
        return [probe.score(X if cols is None else X[:, cols], y) for probe, cols in models]
    y = np.asarray(y)
    return [float(np.mean(pred == encode_labels(y, probe.classes_)))
            for (probe, _), pred in zip(models, predict_many(models, X))]


def _mean_fill(probe, X_train):
    """What a zeroed-out neuron takes: its training mean, whether or not the probe standardises.

    A standardising probe already centres on that mean (``None``: zeroed weights do it); a raw-input
    probe's zeroed weight would put the neuron at a raw 0, off its distribution for outlier dimensions.
    """
    return None if bool(getattr(probe, "standardize", True)) else column_means(X_train)


def baseline_seeds(seed, n_draws, exclude=()):
    """Seeds of ``n_draws`` fresh random draws, derived from ``seed`` and never equal to it.

    Draw ``d`` tries the integer ``numpy.random.SeedSequence([seed, 0xB45E, d]).generate_state(1)[0]``
    (a 32-bit number); a candidate equal to ``seed`` or in ``exclude`` (e.g. the seeds of the other runs
    of a multi-seed analysis, whose searches drew their random subsets with them) is skipped and the
    next ``d`` is tried.  So the baseline draws are reproducible from ``seed`` and never the subset that
    :func:`search_regularization` or :func:`ablation` drew with ``seed`` for a choice.

    Examples
    --------
    >>> s = baseline_seeds(0, 3)
    >>> len(set(s)), 0 in s, s == baseline_seeds(0, 3)
    (3, False, True)
    """
    if int(n_draws) < 1:
        raise ValueError(f"n_draws must be at least 1, got {n_draws}")
    banned = {int(seed), *(int(s) for s in exclude)}
    out, d = [], 0
    while len(out) < int(n_draws):
        cand = int(np.random.SeedSequence([int(seed), _BASELINE_STREAM, d]).generate_state(1)[0])
        d += 1
        if cand not in banned and cand not in out:
            out.append(cand)
    return out


def _ablation_random(n_total, seed):
    """The one random ordering of :func:`ablation` and :func:`ablation_variants`: a fresh draw, never ``seed``'s."""
    return random_ordering(n_total, baseline_seeds(seed, 1)[0])


def _column_layers(neurons, n_total):
    """Layer of each column from a (layer, neuron) MultiIndex / table / labelled frame, or a 1-D array of layers."""
    if isinstance(neurons, (pd.MultiIndex, pd.DataFrame)):
        from .neurons import as_neuron_index
        return np.asarray(as_neuron_index(neurons, n_total).get_level_values("layer"), dtype=np.int64)
    layers = np.asarray(neurons)
    if layers.ndim != 1 or len(layers) != n_total or not np.issubdtype(layers.dtype, np.integer):
        raise ValueError(f"neurons must give the layer of each of the {n_total} columns (a (layer, neuron) "
                         f"MultiIndex, a table with layer/neuron columns, or {n_total} integer layers); "
                         f"got shape {layers.shape} of {layers.dtype}")
    return layers.astype(np.int64)


def layer_matched_neurons(columns, layers, seed=0):
    """A random set with the same number of neurons per layer as ``columns``.

    For every layer, as many columns as ``columns`` holds there are drawn (without replacement,
    seeded) from all the columns of that layer (the selected ones included, as for a uniform draw).

    Parameters
    ----------
    columns : array-like of int
        The selection (column positions).
    layers : array-like of int
        Layer of every column of the activation matrix.
    seed : int

    Returns
    -------
    numpy.ndarray of int
        Sorted column positions.

    Examples
    --------
    >>> layers = [0, 0, 0, 1, 1, 1, 1]
    >>> cols = layer_matched_neurons([0, 3, 4], layers, seed=1)
    >>> [layers[c] for c in cols]
    [0, 1, 1]
    """
    layers = np.asarray(layers, dtype=np.int64)
    columns = np.asarray(columns, dtype=np.int64)
    rng = np.random.default_rng(seed)
    picked = []
    for layer, count in zip(*np.unique(layers[columns], return_counts=True)):
        pool = np.flatnonzero(layers == layer)
        picked.append(rng.choice(pool, int(count), replace=False))
    return np.sort(np.concatenate(picked)) if picked else np.zeros(0, np.int64)


def random_baselines(ordering_or_selected_columns, X_train, y_train, X_test, y_test, *, neurons=None, k=None,
                     n_draws=10, layer_matched=True, methods=("retrain", "zero-out"), probe=None, estimator=None,
                     seed=0, exclude_seeds=(), variants=("keep-selected",), progress=False):
    """Accuracy of random neuron sets of the selection's size, over fresh draws.

    ``"random"`` draws ``k`` neurons uniformly; ``"layer-matched random"`` keeps the per-layer counts
    of the top-``k`` set (see :func:`layer_matched_neurons`), which separates *which neurons* from
    *which layers*.  Each draw ``d`` uses ``baseline_seeds(seed, n_draws, exclude_seeds)[d]``: derived
    from ``seed`` but never ``seed`` itself, so no draw is the random subset a search or an
    ablation used for a choice.  Both baselines of a draw share its seed.

    ``retrain`` fits a copy of ``estimator`` on the drawn neurons (``None``: ``ElasticNetProbe()``);
    ``zero-out`` zeroes every other weight of the trained oracle ``probe`` (with a
    standardising probe: the other neurons at their training mean), as :func:`ablation` does.
    ``variants`` adds ``remove-selected``: the drawn neurons are the missing ones instead (for
    ``retrain``: a probe on all the other neurons, as costly as the oracle).

    Parameters
    ----------
    ordering_or_selected_columns : array-like of int
        A neuron ordering (most salient first) or the selected columns; the top set is its first ``k``.
    neurons : pandas.MultiIndex, DataFrame or array-like of int, optional
        Layer of every column of ``X`` (a ``(layer, neuron)`` index or table, or one layer per column);
        needed when ``layer_matched``.
    k : int, optional
        Size of the top set (default: all of ``ordering_or_selected_columns``).
    n_draws : int
        Draws per baseline.
    exclude_seeds : iterable of int
        Other seeds no draw may use (e.g. every seed of a multi-seed run).

    Returns
    -------
    DataFrame
        One row per (baseline, method, variant, draw): ``baseline`` (``random`` / ``layer-matched
        random``), ``method``, ``variant``, ``draw`` (0-based), ``seed`` (of the draw), ``n_neurons``
        (the drawn set's size), ``accuracy`` (test split).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(300, 6)).astype("float32"); y = (X[:, 0] > 0).astype(int)
    >>> t = random_baselines([0, 1, 2, 3, 4, 5], X[:200], y[:200], X[200:], y[200:], neurons=[0, 0, 0, 1, 1, 1],
    ...                      k=2, n_draws=2, methods=("retrain",), estimator=ElasticNetProbe(l1=0, l2=0, epochs=5))
    >>> t[["baseline", "draw", "n_neurons"]].values.tolist()
    [['random', 0, 2], ['random', 1, 2], ['layer-matched random', 0, 2], ['layer-matched random', 1, 2]]
    """
    top = np.asarray(ordering_or_selected_columns, dtype=np.int64)
    n_total = X_train.shape[1]
    k = len(top) if k is None else int(k)
    if not 1 <= k <= len(top):
        raise ValueError(f"k must be between 1 and the {len(top)} given columns, got {k}")
    top = top[:k]
    for m in methods:
        if m not in ("retrain", "zero-out"):
            raise ValueError(f"unknown method {m!r}; use 'retrain' or 'zero-out'")
    bad = [v for v in variants if v not in ABLATION_VARIANTS]
    if bad or not variants:
        raise ValueError(f"unknown variant {bad[0] if bad else None!r}; use any of {list(ABLATION_VARIANTS)}")
    if "zero-out" in methods and probe is None:
        raise ValueError("method 'zero-out' needs the trained oracle probe (probe=...)")
    baselines = ["random"]
    if layer_matched:
        if neurons is None:
            raise ValueError("a layer-matched baseline needs the layer of every column (neurons=...)")
        layers = _column_layers(neurons, n_total)
        baselines.append("layer-matched random")
    seeds = baseline_seeds(seed, n_draws, exclude_seeds)
    rows, zero_jobs, refit_jobs = [], [], []
    fill = _mean_fill(probe, X_train) if "zero-out" in methods else None
    jobs = [(b, d, s) for b in baselines for d, s in enumerate(seeds)]
    for base, d, s in tqdm(jobs, disable=not progress, desc="random baselines", leave=False):
        drawn = random_neurons(n_total, k, s) if base == "random" else layer_matched_neurons(top, layers, s)
        for method in methods:
            for variant in variants:
                acc = np.nan
                if method == "retrain":  # fitted below, side by side
                    kept = drawn if variant == "keep-selected" else np.setdiff1d(np.arange(n_total), drawn)
                    refit_jobs.append((len(rows), kept))
                else:  # scored below, all draws in one pass over X_test
                    zero_jobs.append((len(rows), (drawn, variant == "keep-selected", fill)))
                rows.append({"baseline": base, "method": method, "variant": variant, "draw": d, "seed": s,
                             "n_neurons": len(drawn), "accuracy": acc})
    subs = fit_copies(estimator, X_train, y_train, [kept for _, kept in refit_jobs])
    accs = _accuracies([(p, kept) for p, (_, kept) in zip(subs, refit_jobs)], X_test, y_test)
    for (i, _), acc in zip(refit_jobs, accs):
        rows[i]["accuracy"] = acc
    if zero_jobs:
        accs = masked_accuracies(probe, X_test, y_test, [job for _, job in zero_jobs])
        for (i, _), acc in zip(zero_jobs, accs):
            rows[i]["accuracy"] = acc
    table = pd.DataFrame(rows, columns=list(COLUMNS["random_draws"]))
    # one block per (baseline, method, variant), draws in order
    key = (table["baseline"].map({b: i for i, b in enumerate(baselines)}) * 100
           + table["method"].map({m: i for i, m in enumerate(methods)}) * 10
           + table["variant"].map({v: i for i, v in enumerate(variants)}))
    return table.iloc[np.lexsort((table["draw"], key))].reset_index(drop=True)


def baseline_summary(top_accuracy, draws, *, confidence=0.95):
    """Top accuracy against random draws: the difference with a t interval.

    Per ``(baseline, method)``: ``mean`` and ``sd`` (``ddof=1``) of the draws' accuracies,
    ``difference = top - mean`` and the interval ``difference -+ t * sd / sqrt(n)`` with ``t`` the
    ``(1 + confidence) / 2`` quantile of Student's t with ``n - 1`` degrees of freedom (the top
    accuracy is treated as fixed; with one draw ``sd`` and the interval are NaN).

    Parameters
    ----------
    top_accuracy : float or mapping
        The top set's accuracy: one number for every method, ``{method: accuracy}`` (e.g. retrain
        and zero-out differ), or ``{(method, variant): accuracy}`` when ``draws`` has a ``variant``
        column.
    draws : DataFrame
        From :func:`random_baselines` (``baseline``, ``method``, ``accuracy``).
    confidence : float
        Coverage of the interval.

    Returns
    -------
    DataFrame
        ``baseline``, ``method``, ``n_draws``, ``mean``, ``sd``, ``top``, ``difference``, ``se``,
        ``ci_low``, ``ci_high``, ``confidence``.

    Examples
    --------
    >>> d = pd.DataFrame({"baseline": "random", "method": "retrain", "accuracy": [0.8, 0.9]})
    >>> s = baseline_summary(0.95, d)
    >>> [round(float(s.loc[0, c]), 3) for c in ("difference", "ci_low", "ci_high")]
    [0.1, -0.535, 0.735]
    """
    from scipy import stats

    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    missing = {"baseline", "method", "accuracy"} - set(draws.columns)
    if missing:
        raise ValueError(f"draws lacks the columns {sorted(missing)} (use random_baselines' table)")
    rows = []
    has_variant = "variant" in draws.columns
    keys = ["baseline", "method", "variant"] if has_variant else ["baseline", "method"]
    for key, grp in draws.groupby(keys, sort=False):
        base, method = key[0], key[1]
        variant = key[2] if has_variant else None
        if isinstance(top_accuracy, (int, float, np.number)):
            top = float(top_accuracy)
        elif has_variant and (method, variant) in top_accuracy:
            top = float(top_accuracy[(method, variant)])
        elif method in top_accuracy:
            top = float(top_accuracy[method])
        else:
            raise ValueError(f"no top accuracy for method {method!r}" + (f", variant {variant!r}" if has_variant else "")
                             + f"; give {{method: accuracy}} for {sorted(draws['method'].unique())}")
        acc = grp["accuracy"].to_numpy(np.float64)
        n = len(acc)
        mean = float(acc.mean())
        sd = float(acc.std(ddof=1)) if n > 1 else np.nan
        se = sd / np.sqrt(n) if n > 1 else np.nan
        half = float(stats.t.ppf((1 + confidence) / 2, n - 1)) * se if n > 1 else np.nan
        diff = top - mean
        row = {"baseline": base, "method": method, "variant": variant, "n_draws": n, "mean": mean, "sd": sd,
               "top": top, "difference": diff, "se": se, "ci_low": diff - half, "ci_high": diff + half,
               "confidence": float(confidence)}
        rows.append(row if has_variant else {k: v for k, v in row.items() if k != "variant"})
    cols = COLUMNS["baseline_summary"]
    return pd.DataFrame(rows, columns=list(cols) if has_variant else [c for c in cols if c != "variant"])


ABLATION_VARIANTS = ("keep-selected", "remove-selected")
ABLATION_FILLS = ("mean", "zero")


def ablation_variants(ordering, X_train, y_train, X_test, y_test, *, probe, percents=(10, 15, 20),
                      variants=ABLATION_VARIANTS, fill=ABLATION_FILLS, selections=("top", "random", "bottom"),
                      X_dev=None, y_dev=None, seed=0, progress=False):
    """Accuracy of the trained oracle ``probe`` when some neurons go missing.

    For every percentage and selection (top = head of ``ordering``, bottom = its tail, random = the
    same draw as :func:`ablation`'s):

    - ``keep-selected``: only the selected neurons are seen, the others are missing;
    - ``remove-selected``: the selected neurons are missing, all others are seen.

    A missing neuron is filled in one of two ways:

    - ``mean``: at its training mean.  With a standardising probe this is zeroing its weights
      (the standardised activation is 0), exactly as :func:`ablation`'s ``zero-out`` does, so
      ``keep-selected``/``mean`` reproduces ``ablation``'s zero-out rows.  Without standardisation
      the raw activations are replaced by their mean over ``X_train``.
    - ``zero``: its raw activation set to 0 *before* the probe's standardisation (NeuroX's
      zeroing); a standardising probe then sees ``-mean / scale``, which is far from neutral for
      neurons with a large mean (outlier dimensions).

    No probe is retrained here (retraining on the selection is :func:`ablation`'s ``retrain``).

    Returns
    -------
    DataFrame
        ``percent``, ``selection``, ``variant``, ``fill``, ``n_neurons`` (the selection's size),
        ``split`` (``dev`` when given, ``test``), ``accuracy``.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(400, 10)).astype("float32"); y = (X[:, 3] > 0).astype(int)
    >>> p = ElasticNetProbe(l1=0, l2=0, epochs=20, lr=1e-2, batch_size=16).fit(X[:300], y[:300])
    >>> t = ablation_variants([3, 0, 1, 2, 4, 5, 6, 7, 8, 9], X[:300], y[:300], X[300:], y[300:], probe=p,
    ...                       percents=(10,), selections=("top",))
    >>> acc = t.set_index(["variant", "fill"])["accuracy"]
    >>> bool(acc["keep-selected", "mean"] > 0.9 and acc["remove-selected", "mean"] < 0.7)
    True
    """
    ordering = np.asarray(ordering, dtype=np.int64)
    n_total = X_train.shape[1]
    if probe is None or not hasattr(probe, "coef_"):
        raise ValueError("ablation_variants needs the trained oracle probe (probe=...)")
    for name, given, allowed in (("variant", variants, ABLATION_VARIANTS), ("fill", fill, ABLATION_FILLS),
                                 ("selection", selections, ("top", "random", "bottom"))):
        bad = [v for v in given if v not in allowed]
        if bad:
            raise ValueError(f"unknown {name} {bad[0]!r}; use one of {list(allowed)}")
    rand = _ablation_random(n_total, seed)
    fills = {"mean": _mean_fill(probe, X_train), "zero": np.zeros(n_total)}
    splits = _splits(dev=(X_dev, y_dev), test=(X_test, y_test))
    jobs = [(p, sel, v, f) for p in percents for sel in selections for v in variants for f in fill]
    specs = []
    for pct, sel, variant, how in jobs:
        k = n_for_percent(n_total, pct)
        cols = {"top": ordering[:k], "random": rand[:k], "bottom": ordering[len(ordering) - k:]}[sel]
        specs.append((cols, variant == "keep-selected", fills[how]))
    accs = {}
    for s, X, y in tqdm(splits, disable=not progress, desc="ablation variants", leave=False):
        # one pass over the split for every job: each costs only its own neurons' share of the logits
        accs[s] = masked_accuracies(probe, X, y, specs)
    rows = [{"percent": float(pct), "selection": sel, "variant": variant, "fill": how,
             "n_neurons": n_for_percent(n_total, pct), "split": s, "accuracy": accs[s][i]}
            for i, (pct, sel, variant, how) in enumerate(jobs) for s, _, _ in splits]
    return pd.DataFrame(rows, columns=list(COLUMNS["ablation_variants"]))
