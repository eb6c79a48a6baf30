"""Ground truth for neuron rankers: plant known neurons into real activations, count how many come back.

A ranking of real neurons cannot be checked against the truth, because nobody knows which neurons
encode a tag.  Planting makes one: pick ``k`` columns of real activations, give each a tag, and
shift the neuron's own values by ``strength`` of its own standard deviations on the words of that
tag (:func:`plant_neurons`).  The rest of the matrix stays real, correlations and outliers
included, so a ranker has to find the planted neurons among real competitors.
:func:`planted_recall` runs LCA (every penalty of a grid, and the penalty each selection
criterion of :func:`neuronbook.evaluate.choose_penalty` picks) and the probe-free rankers of
:data:`neuronbook.rank.RANKERS` on planted copies and records recall at ``k``.

A planted neuron is a clean, linear, one-tag signal: recall here is a necessary condition for a
ranker, not a sufficient one (a real neuron may encode a tag less plainly).

Examples
--------
>>> from neuronbook.neurons import neuron_index
>>> rng = np.random.default_rng(0)
>>> X = rng.normal(size=(400, 12)).astype("float32"); y = np.repeat(["A", "B"], 200)
>>> neurons = neuron_index([0, 1], 6)
>>> plan = planting_plan(neurons, y, k=2, seed=0)
>>> planted = plant_neurons(X, y, plan, strength=3.0)
>>> sorted(np.flatnonzero((planted != X).any(axis=0)).tolist()) == sorted(plan["column"].tolist())
True
"""

from __future__ import annotations

__all__ = ["planting_plan", "plant_neurons", "planted_recall", "summarize_recall"]

import logging

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from .config import DEFAULT_SEARCH_GRID
from .neurons import as_neuron_index, positions

logger = logging.getLogger(__name__)

#: Columns of :func:`planted_recall`'s table, in order.
RECALL_COLUMNS = ("ranker", "criterion", "standardize", "l1", "l2", "strength", "seed", "k", "hits_at_k",
                  "recall_at_k", "recall_at_10pct", "median_rank", "dev_accuracy", "nonzero")

_PLAN_COLUMNS = ("column", "layer", "neuron", "tag")


def planting_plan(neurons, y_train, k=24, *, seed=0, min_count=50) -> pd.DataFrame:
    """Which ``k`` neurons to plant, and the tag each one will encode.

    The columns are spread evenly over the layers (round-robin over the layers, random neurons
    inside each); the tags are drawn from those with at least ``min_count`` training words, each
    tag once before any repeats.  The same ``seed`` gives the same plan.

    Parameters
    ----------
    neurons : MultiIndex or DataFrame
        ``(layer, neuron)`` of every column of the activation matrix
        (:func:`neuronbook.neurons.as_neuron_index` reads it).
    y_train : array-like
        One training label per word.
    k : int
        Neurons to plant.
    seed : int
    min_count : int
        Training words a tag needs to be planted (a tag on a handful of words is no fair test).

    Returns
    -------
    DataFrame
        ``column`` (flat position in ``X``), ``layer``, ``neuron``, ``tag``; one row per planted neuron.

    Examples
    --------
    >>> from neuronbook.neurons import neuron_index
    >>> plan = planting_plan(neuron_index([0, 1, 2], 4), ["A"] * 60 + ["B"] * 60, k=3, seed=1)
    >>> plan["layer"].tolist(), sorted(set(plan["tag"]))
    ([0, 1, 2], ['A', 'B'])
    """
    idx = as_neuron_index(neurons)
    k = int(k)
    if not 0 < k <= len(idx):
        raise ValueError(f"k={k} neurons to plant, but there are {len(idx)} columns; k must be in 1..{len(idx)}")
    tags, counts = np.unique(np.asarray(y_train), return_counts=True)
    eligible = tags[counts >= min_count]
    if not len(eligible):
        top = sorted(zip(counts.tolist(), tags.tolist()), reverse=True)[:10]
        raise ValueError(f"no tag has min_count={min_count} training words to plant; the most frequent: "
                         + ", ".join(f"{t}={c}" for c, t in top))
    rng = np.random.default_rng(seed)
    layers = idx.get_level_values("layer").to_numpy()
    per_layer = [rng.permutation(np.flatnonzero(layers == layer)) for layer in np.unique(layers)]
    # round r takes the r-th random neuron of every layer that still has one: even over layers
    spread = [cols[r] for r in range(max(map(len, per_layer))) for cols in per_layer if r < len(cols)]
    columns = np.asarray(spread[:k], dtype=np.int64)
    # a fresh permutation of the eligible tags per cycle: a tag repeats only once every tag is used
    drawn = np.concatenate([rng.permutation(eligible) for _ in range(-(-k // len(eligible)))])[:k]
    return pd.DataFrame({"column": columns, "layer": layers[columns].astype(np.int64),
                         "neuron": idx.get_level_values("neuron").to_numpy()[columns].astype(np.int64),
                         "tag": drawn})


def _plan_columns(plan):
    missing = set(_PLAN_COLUMNS) - set(plan.columns)
    if missing:
        raise ValueError(f"a planting plan needs columns {list(_PLAN_COLUMNS)}; it lacks {sorted(missing)}")
    return plan["column"].to_numpy(np.int64)


def plant_neurons(X, y, plan, strength, *, scale=None) -> np.ndarray:
    """A float32 copy of ``X`` with the neurons of ``plan`` shifted on the words of their tag.

    Column ``j`` of a plan row with tag ``t`` becomes ``x_j + strength * scale_j * (y == t)``: a
    class-conditional shift in units of the neuron's own spread.  Every other column is copied
    unchanged, and ``X`` itself is never modified.

    Parameters
    ----------
    X : array-like, shape (n_words, n_neurons)
    y : array-like, shape (n_words,)
    plan : DataFrame
        From :func:`planting_plan`.
    strength : float
        Shift in standard deviations (0: no plant).
    scale : array-like, optional
        One spread per plan row.  Default: the standard deviation of the column in ``X``.  To plant
        train and dev alike, pass the training columns' standard deviations when planting dev.

    Returns
    -------
    numpy.ndarray, float32

    Examples
    --------
    >>> X = np.array([[0., 5.], [2., 5.], [4., 5.]]); y = np.array(["a", "b", "a"])
    >>> plan = pd.DataFrame({"column": [0], "layer": [0], "neuron": [0], "tag": ["a"]})
    >>> (plant_neurons(X, y, plan, 0.5) - X).round(3).tolist()   # sd of column 0 is 1.633: "a" moves by 0.816
    [[0.816, 0.0], [0.0, 0.0], [0.816, 0.0]]
    """
    out = np.array(X, dtype=np.float32, copy=True)
    y = np.asarray(y)
    if out.ndim != 2 or y.shape != (len(out),):
        raise ValueError(f"X must be words x neurons with one label per word: X {out.shape}, y {y.shape}")
    cols = _plan_columns(plan)
    if ((cols < 0) | (cols >= out.shape[1])).any():
        raise ValueError(f"the plan names columns outside 0..{out.shape[1] - 1}")
    scale = out[:, cols].std(axis=0, dtype=np.float64) if scale is None else np.asarray(scale, np.float64)
    if scale.shape != cols.shape:
        raise ValueError(f"scale has {scale.size} entries for {len(cols)} planted neurons")
    for j, tag, s in zip(cols, plan["tag"].to_numpy(), scale):
        out[:, j] = out[:, j].astype(np.float64) + float(strength) * s * (y == tag)
    return out


def _recall(ordering, planted, k, n_top):
    """Recall figures of the planted columns in an ordering of all columns (most salient first)."""
    rank = np.empty(len(ordering), np.int64)
    rank[np.asarray(ordering, np.int64)] = np.arange(1, len(ordering) + 1)
    r = rank[planted]
    hits = int((r <= k).sum())
    return {"k": k, "hits_at_k": hits, "recall_at_k": hits / k, "recall_at_10pct": float(np.mean(r <= n_top)),
            "median_rank": float(np.median(r))}


def _probe_free(rankers):
    from .rank import RANKERS, get_ranker

    names = [n for n in RANKERS if n != "lca"] if rankers is None else list(rankers)
    out = []
    for r in names:
        ranker = get_ranker(r) if isinstance(r, str) else r
        if ranker.name == "lca":
            raise ValueError("'lca' is not a probe-free ranker: its rows come from `grid` and `criteria`")
        out.append(ranker)
    return out


def _lca_rows(X_train, y_train, X_dev, y_dev, planted, *, pairs, criteria, standardize, seed, tolerance,
              estimator, search_stride, n_top, min_tag_count):
    """One row per penalty, then one per criterion (the chosen penalty's row again)."""
    from .evaluate import choose_penalty, search_regularization
    from .probe import clone
    from .lca import rare_tags
    from .rank import neuron_ordering

    k = len(planted)
    # one fit per penalty, all on the same mini-batches; "gap" adds the top/random/bottom refits
    estimator = clone(estimator, standardize=standardize, seed=seed)
    search = search_regularization(X_train, y_train, X_dev, y_dev, estimator=estimator, grid=pairs,
                                   tolerance=tolerance, search_stride=search_stride, seed=seed,
                                   criterion="gap" if "gap" in criteria else "tolerance")
    table, fitted = search.table, search.probes
    labels, counts = np.unique(y_train, return_counts=True)
    rows = {}
    for pair, acc, nonzero in zip(zip(table["l1"], table["l2"]), table["dev_accuracy"], table["nonzero"]):
        probe = fitted[pair]  # ranked as the pipeline ranks: rare tags take no part in the sweep
        rare = rare_tags(labels, counts, min_tag_count)  # classes_ are the sorted unique labels, as here
        ordering = neuron_ordering(probe.coef_[[str(c) not in rare for c in probe.classes_]], search_stride)[0]
        rows[pair] = {"ranker": "lca", "criterion": None, "standardize": standardize, "l1": pair[0], "l2": pair[1],
                      **_recall(ordering, planted, k, n_top), "dev_accuracy": float(acc), "nonzero": float(nonzero)}
    chosen = [{**rows[choose_penalty(table, c, tolerance=tolerance, n_dev=len(y_dev))[1]], "criterion": c}
              for c in criteria]
    return list(rows.values()) + chosen


def planted_recall(X_train, y_train, X_dev, y_dev, neurons, *, k=24, strengths=(0.25, 0.5, 1.0, 2.0),
                   seeds=(0, 1, 2), rankers=None, grid=None, criteria=None, standardize=(True, False),
                   tolerance=0.01, estimator=None, search_stride=100, min_count=50, min_tag_count=None,
                   progress=False) -> pd.DataFrame:
    """Recall of planted neurons by LCA (every penalty, every selection criterion) and the probe-free rankers.

    For every seed and strength a plan is drawn (:func:`planting_plan`, with that seed) and planted
    into train and dev alike (the shift in the *training* standard deviation of each neuron).  Then

    * LCA, for each ``standardize``: one :class:`~neuronbook.probe.ElasticNetProbe` per penalty of
      ``grid`` on all neurons, trained together (:func:`neuronbook.evaluate.search_regularization`,
      which also fits the top / random / bottom 10 % refits the ``"gap"`` criterion needs), each
      ranked by :func:`neuronbook.rank.neuron_ordering`: one row per penalty (``criterion`` missing),
      then one row per criterion of ``criteria``, the row of the pair that
      :func:`neuronbook.evaluate.choose_penalty` picks on dev;
    * every probe-free ranker on the planted training words: one row each (``l1``, ``l2``,
      ``standardize``, ``dev_accuracy``, ``nonzero`` NaN).

    Parameters
    ----------
    X_train, y_train, X_dev, y_dev : arrays
        Real activations (words x neurons) and labels; dev chooses the penalty. Never pass test.
    neurons : MultiIndex or DataFrame
        ``(layer, neuron)`` of the columns.
    k : int
        Neurons planted, and the cut-off of ``hits_at_k``.
    strengths : sequence of float
        Shifts in standard deviations.
    seeds : sequence of int
        Each seed draws its own plan and seeds the probes.
    rankers : sequence of str or Ranker, optional
        Probe-free rankers (default: every one of :data:`neuronbook.rank.RANKERS` but ``"lca"``).
    grid : sequence of float or (l1, l2) pairs, optional
        Penalties (default :data:`neuronbook.config.DEFAULT_SEARCH_GRID`, ``l1 = l2 = value``); empty: no LCA.
    criteria : sequence of str, optional
        Of :data:`neuronbook.evaluate.CRITERIA` (the default: all).
    standardize : sequence of bool
        The probe's ``standardize`` settings to try.
    tolerance : float
        Of :func:`~neuronbook.evaluate.choose_penalty`.
    estimator : ElasticNetProbe, optional
        The probe settings (``epochs``, ``batch_size``, ``lr``, ``solver``, ...; ``None``:
        ``ElasticNetProbe()``); its penalties, ``seed`` and ``standardize`` are replaced by ``grid``,
        ``seeds`` and ``standardize``.
    search_stride : int
        Steps of the LCA percentage sweep.
    min_count : int
        Training words a tag needs to be planted.
    min_tag_count : int, optional
        Tags with fewer training words take no part in the LCA sweep, as in the pipeline (default:
        ``LCAConfig().min_tag_count``).
    progress : bool
        A tqdm bar over the (seed, strength) pairs.

    Returns
    -------
    DataFrame
        :data:`RECALL_COLUMNS`: ``ranker``, ``criterion`` (missing on the per-penalty and probe-free
        rows), ``standardize``, ``l1``, ``l2``, ``strength``, ``seed``, ``k``, ``hits_at_k`` (planted
        neurons among the first ``k``), ``recall_at_k`` (``hits_at_k / k``; with ``k`` planted and
        ``k`` retrieved it is also the precision),
        ``recall_at_10pct`` (share of the planted neurons in the first 10 % of all neurons),
        ``median_rank`` (1-based), ``dev_accuracy``, ``nonzero`` (share of exactly non-zero weights).

    Examples
    --------
    >>> from neuronbook.neurons import neuron_index
    >>> from neuronbook.probe import ElasticNetProbe
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(600, 12)).astype("float32"); y = np.tile(["A", "B", "C"], 200)
    >>> t = planted_recall(X[:400], y[:400], X[400:], y[400:], neuron_index([0, 1], 6), k=2, strengths=[4.0],
    ...                    seeds=[0], rankers=["probeless"], grid=[1e-3], criteria=["tolerance"], standardize=[True],
    ...                    estimator=ElasticNetProbe(epochs=10, batch_size=64, lr=1e-2))
    >>> t[["ranker", "criterion", "recall_at_k"]].fillna("-").values.tolist()
    [['lca', '-', 1.0], ['lca', 'tolerance', 1.0], ['probeless', '-', 1.0]]
    """
    from .evaluate import CRITERIA, n_for_percent

    X_train, X_dev = np.asarray(X_train), np.asarray(X_dev)
    y_train, y_dev = np.asarray(y_train), np.asarray(y_dev)
    idx = as_neuron_index(neurons, X_train.shape[1])
    if X_dev.ndim != 2 or X_dev.shape[1] != X_train.shape[1]:
        raise ValueError(f"X_dev must have the {X_train.shape[1]} columns of X_train, got shape {X_dev.shape}")
    for name, X, y in (("train", X_train, y_train), ("dev", X_dev, y_dev)):
        if y.shape != (len(X),):
            raise ValueError(f"{name}: one label per word needed, X {X.shape}, y {y.shape}")
    criteria = list(CRITERIA if criteria is None else criteria)
    unknown = sorted(set(criteria) - set(CRITERIA))
    if unknown:
        raise ValueError(f"unknown criteria {unknown}; use some of {list(CRITERIA)}")
    grid = DEFAULT_SEARCH_GRID if grid is None else grid
    pairs = [(float(v), float(v)) if np.isscalar(v) else (float(v[0]), float(v[1])) for v in grid]
    rankers = _probe_free(rankers)
    n_top = n_for_percent(X_train.shape[1], 10)
    if min_tag_count is None:
        from .config import LCAConfig

        min_tag_count = LCAConfig().min_tag_count

    rows = []
    jobs = [(seed, strength) for seed in seeds for strength in strengths]
    for seed, strength in tqdm(jobs, disable=not progress, desc="planted recall"):
        plan = planting_plan(idx, y_train, k, seed=seed, min_count=min_count)
        planted = plan["column"].to_numpy()
        scale = X_train[:, planted].std(axis=0, dtype=np.float64)  # dev is shifted in training units
        Xp_train = plant_neurons(X_train, y_train, plan, strength, scale=scale)
        Xp_dev = plant_neurons(X_dev, y_dev, plan, strength, scale=scale)
        found = []
        if pairs:
            for std in standardize:
                found += _lca_rows(Xp_train, y_train, Xp_dev, y_dev, planted, pairs=pairs, criteria=criteria,
                                   standardize=bool(std), seed=seed, tolerance=tolerance, estimator=estimator,
                                   search_stride=search_stride, n_top=n_top, min_tag_count=min_tag_count)
        for ranker in rankers:
            ordering = positions(idx, ranker.rank(Xp_train, y_train, idx).sort_values("rank", kind="stable"))
            found.append({"ranker": ranker.name, "criterion": None, "standardize": np.nan, "l1": np.nan,
                          "l2": np.nan, **_recall(ordering, planted, len(planted), n_top),
                          "dev_accuracy": np.nan, "nonzero": np.nan})
        for row in found:
            row.update(strength=float(strength), seed=int(seed))
        rows += found
        logger.info("planted recall, seed %s, strength %g: %s", seed, strength,
                    ", ".join(f"{r['ranker']}/{r['criterion'] or r['l1']}={r['recall_at_k']:.2f}" for r in found))
    return pd.DataFrame(rows, columns=list(RECALL_COLUMNS))


def summarize_recall(table) -> pd.DataFrame:
    """Mean, sd and count over seeds of ``recall_at_k`` and ``recall_at_10pct`` of a :func:`planted_recall` table.

    Groups by ``ranker``, ``criterion``, ``standardize``, ``l1`` and ``strength`` (missing values
    form groups of their own).  A criterion's penalty may differ between seeds, so its rows are
    grouped with ``l1`` NaN and ``chosen_l1`` lists the pick of every seed (in seed order).

    Returns
    -------
    DataFrame
        The group columns, ``recall_at_k_mean``, ``recall_at_k_sd``, ``recall_at_10pct_mean``,
        ``recall_at_10pct_sd``, ``n_seeds``, ``chosen_l1`` (a string; None for rows without a criterion).

    Examples
    --------
    >>> t = pd.DataFrame({"ranker": ["ap", "ap"], "criterion": [None, None], "standardize": [np.nan, np.nan],
    ...                   "l1": [np.nan, np.nan], "strength": [1.0, 1.0], "seed": [0, 1],
    ...                   "recall_at_k": [0.5, 1.0], "recall_at_10pct": [1.0, 1.0]})
    >>> s = summarize_recall(t)
    >>> s[["ranker", "recall_at_k_mean", "n_seeds"]].values.tolist()
    [['ap', 0.75, 2]]
    """
    keys = ["ranker", "criterion", "standardize", "l1", "strength"]
    t = table.sort_values("seed", kind="stable").copy()
    picked = t["criterion"].notna()
    t["chosen_l1"] = np.where(picked, t["l1"].map(lambda v: f"{v:g}"), None)
    t.loc[picked, "l1"] = np.nan
    return t.groupby(keys, dropna=False, sort=False).agg(
        recall_at_k_mean=("recall_at_k", "mean"), recall_at_k_sd=("recall_at_k", "std"),
        recall_at_10pct_mean=("recall_at_10pct", "mean"), recall_at_10pct_sd=("recall_at_10pct", "std"),
        n_seeds=("recall_at_k", "count"),
        chosen_l1=("chosen_l1", lambda s: ", ".join(s.dropna()) or None)).reset_index()
