"""Redundancy (paper, question iii): is a property encoded once, or many times over?

Two complementary measures:

* :func:`disjoint_minimal_sets` finds a minimal neuron set with LCA, removes it, runs LCA
  again on the remaining neurons and repeats while the accuracy threshold is still reached:
  the number of disjoint sets that each recover the property, and where each lies;
* :func:`correlation_clusters` groups neurons whose activations are highly correlated
  (dissimilarity ``1 - |corr|``, average linkage, cut at a distance threshold; Dalvi et al.,
  2020); each cluster keeps one representative, and the number of clusters is the number of
  *independent* neurons (:func:`clustering_summary`).
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from ..neurons import neuron_table
from ..settings import progress_enabled

__all__ = [
    "DisjointSets",
    "disjoint_minimal_sets",
    "clustering_summary",
    "correlation_clusters",
    "correlation_dissimilarity",
]

logger = logging.getLogger(__name__)


# ----------------------------------------------------------------------------- correlation clustering


def correlation_dissimilarity(X) -> np.ndarray:
    """``1 - |corr|`` between every pair of columns of ``X`` (a square matrix, zero diagonal).

    A constant column correlates with nothing: its dissimilarity to every other column is 1.

    Examples
    --------
    >>> X = np.array([[1., 2., 0.], [2., 4., 1.], [3., 6., 0.]])
    >>> correlation_dissimilarity(X).round(3).tolist()
    [[0.0, 0.0, 1.0], [0.0, 0.0, 1.0], [1.0, 1.0, 0.0]]
    """
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or X.shape[0] < 2:
        raise ValueError(f"X must be 2-D with at least 2 rows (words x neurons), got shape {X.shape}")
    Z = X - X.mean(axis=0)
    norm = np.sqrt((Z * Z).sum(axis=0))
    constant = norm < 1e-12
    Z = Z / np.where(constant, 1.0, norm)
    corr = Z.T @ Z
    corr[constant, :] = 0.0
    corr[:, constant] = 0.0
    D = 1.0 - np.clip(np.abs(corr), 0.0, 1.0)
    np.fill_diagonal(D, 0.0)
    return D


def correlation_clusters(X, threshold: float = 0.3, neurons=None, method: str = "average") -> pd.DataFrame:
    """Hierarchical clustering of neurons on ``1 - |corr|``, cut at a distance threshold.

    Parameters
    ----------
    X : ndarray or DataFrame, shape (n_words, n_neurons)
        Activations: a matrix whose columns ``neurons`` labels, or a DataFrame whose columns are
        the ``(layer, neuron)`` MultiIndex (:meth:`ActivationStore.frame`).
    threshold : float
        Largest average dissimilarity inside a cluster: neurons whose activations correlate
        with ``|corr| >= 1 - threshold`` (on average linkage) end up together.
    neurons : MultiIndex or DataFrame, optional
        ``(layer, neuron)`` of each column (:meth:`ActivationStore.neurons`); default one layer 0.
    method : str
        Linkage method of :func:`scipy.cluster.hierarchy.linkage` (default ``"average"``).

    Returns
    -------
    DataFrame
        One row per neuron, in column order: ``layer``, ``neuron``, ``cluster`` (1-based,
        numbered in order of first appearance), ``cluster_size`` and ``representative`` (True
        for one neuron per cluster: the member with the smallest mean dissimilarity to the
        others, the first one on ties).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> a, b = rng.normal(size=(2, 100))
    >>> X = np.column_stack([a, 2 * a + 0.01 * rng.normal(size=100), b])
    >>> correlation_clusters(X, threshold=0.1)["cluster"].tolist()
    [1, 1, 2]
    """
    from scipy.cluster.hierarchy import fcluster, linkage
    from scipy.spatial.distance import squareform

    from ..neurons import labelled_matrix

    if not 0 <= threshold <= 1:
        raise ValueError(f"threshold must lie in [0, 1] (a dissimilarity 1 - |corr|), got {threshold}")
    X, idx = labelled_matrix(X, neurons)
    n = X.shape[1]
    D = correlation_dissimilarity(X)
    if n == 1:
        labels = np.ones(1, dtype=np.int64)
    else:
        Z = linkage(squareform(D, checks=False), method=method)
        labels = fcluster(Z, t=threshold, criterion="distance")
    # renumber clusters by their first column so results read the same whatever scipy's order
    _, first = np.unique(labels, return_index=True)
    order = np.argsort(first)
    remap = np.empty(labels.max() + 1, dtype=np.int64)
    remap[np.unique(labels)[order]] = np.arange(1, len(order) + 1)
    labels = remap[labels]
    sizes = np.bincount(labels)[labels]
    representative = np.zeros(n, dtype=bool)
    for c in np.unique(labels):
        members = np.flatnonzero(labels == c)
        spread = D[np.ix_(members, members)].mean(axis=1)
        representative[members[np.argmin(spread)]] = True
    out = neuron_table(idx)
    out["cluster"] = labels
    out["cluster_size"] = sizes
    out["representative"] = representative
    logger.info("correlation clustering at %.2f: %d neurons -> %d clusters", threshold, n, len(order))
    return out


def clustering_summary(clusters: pd.DataFrame, by: str | None = None) -> pd.DataFrame:
    """How many neurons are independent after :func:`correlation_clusters`.

    Parameters
    ----------
    clusters : DataFrame
        Output of :func:`correlation_clusters`.
    by : str, optional
        Summarise per value of a column (e.g. ``"layer"``); a cluster spanning several layers
        counts in the layer of its representative.

    Returns
    -------
    DataFrame
        ``[by]``, ``n_neurons``, ``n_clusters`` (= independent neurons), ``percent_independent``,
        ``n_singletons`` (neurons correlated with no other), ``largest_cluster``.

    Examples
    --------
    >>> df = pd.DataFrame({"layer": [0, 0, 1], "neuron": [0, 1, 0], "cluster": [1, 1, 2],
    ...                    "cluster_size": [2, 2, 1], "representative": [True, False, True]})
    >>> clustering_summary(df)[["n_neurons", "n_clusters", "n_singletons"]].values.tolist()
    [[3, 2, 1]]
    """
    need = ["cluster", "cluster_size", "representative"] + ([by] if by else [])
    missing = [c for c in need if c not in clusters.columns]
    if missing:
        raise ValueError(f"clusters lacks column(s) {missing}; pass the output of correlation_clusters")

    def summarise(g):
        return {"n_neurons": len(g), "n_clusters": int(g["representative"].sum()),
                "percent_independent": 100.0 * g["representative"].sum() / len(g) if len(g) else np.nan,
                "n_singletons": int((g["cluster_size"] == 1).sum()),
                "largest_cluster": int(g["cluster_size"].max()) if len(g) else 0}

    if by is None:
        return pd.DataFrame([summarise(clusters)])
    rows = [{by: key, **summarise(g)} for key, g in clusters.groupby(by, sort=True)]
    return pd.DataFrame(rows)


# ----------------------------------------------------------------------------- disjoint minimal sets


@dataclass
class DisjointSets:
    """Result of :func:`disjoint_minimal_sets`.

    Attributes
    ----------
    summary : DataFrame
        One row per round: ``set`` (1-based), ``reached`` (the round found a set reaching the
        target), ``n_neurons``, ``percent`` (of all neurons), ``dev_accuracy``,
        ``test_accuracy`` (of the probe retrained on the set), ``remaining`` (neurons left
        before the round), ``remaining_dev_accuracy`` (probe on all of them), ``target``,
        ``mean_layer``, ``mean_relative_depth``. The last row is the round that failed
        (``reached`` False), unless ``max_sets`` stopped the search first.
    sets : DataFrame
        One row per neuron of a found set: ``set``, ``rank`` (LCA rank within the round),
        ``layer``, ``neuron``.
    oracle_dev_accuracy : float
        Dev accuracy of the probe on all neurons (the target is ``(1 - delta)`` times it).
    """

    summary: pd.DataFrame
    sets: pd.DataFrame
    oracle_dev_accuracy: float

    @property
    def n_sets(self) -> int:
        """How many disjoint sets reach the target."""
        return int(self.summary["reached"].sum())


def disjoint_minimal_sets(X_train, y_train, X_dev, y_dev, X_test=None, y_test=None, *, neurons=None,
                          estimator=None, delta=0.01, percents=None, search_stride=100,
                          max_sets=10, seed=0, progress="auto") -> DisjointSets:
    """Find a minimal set, remove it, run LCA again on the rest; repeat while the target is reached.

    Each round trains the probe on the remaining neurons, ranks them by its weights
    (:func:`neuronbook.rank.neuron_ordering`) and searches the smallest prefix whose retrained
    probe reaches ``oracle_dev_accuracy * (1 - delta)`` on dev
    (:func:`neuronbook.evaluate.minimal_set`), where the oracle is the probe on *all* neurons,
    fixed before the first round. The count of rounds that reach it is the number of disjoint
    neuron sets that each encode the property as well as the whole model.

    Parameters
    ----------
    X_train, y_train, X_dev, y_dev : arrays or labelled DataFrames
        Training and dev words: matrices whose columns ``neurons`` labels, or DataFrames whose
        columns are the ``(layer, neuron)`` MultiIndex.
    X_test, y_test : optional
        Test words: adds the test accuracy of each set.
    neurons : MultiIndex or DataFrame, optional
        ``(layer, neuron)`` of each column (:meth:`ActivationStore.neurons`; default: one layer 0).
    estimator : ElasticNetProbe, optional
        The unfitted probe every fit copies (``LCAResult.estimator()``: LCA's chosen settings; ``None``:
        ``ElasticNetProbe()``).
    delta : float
        Allowed relative loss of accuracy.
    percents : sequence of float, optional
        Percent grid of the minimal-set search, of the *remaining* neurons
        (default :data:`neuronbook.evaluate.PERCENT_GRID`).
    search_stride : int
        Steps of LCA's ordering sweep.
    max_sets : int
        Stop after this many sets even if the target is still reached.
    seed : int
        Seed of the minimal-set searches' draws (the fits take the estimator's own).
    progress : bool or "auto"

    Returns
    -------
    DisjointSets

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> z = rng.integers(0, 2, 600)
    >>> X = rng.normal(size=(600, 20)).astype("float32")
    >>> X[:, 3] += 8 * z; X[:, 12] += 8 * z               # two redundant copies of the signal
    >>> from neuronbook.probe import ElasticNetProbe
    >>> est = ElasticNetProbe(l1=0, l2=0, epochs=30, lr=0.05, batch_size=None)
    >>> res = disjoint_minimal_sets(X[:400], z[:400], X[400:], z[400:], estimator=est, percents=(5, 10, 50),
    ...                             progress=False)
    >>> res.n_sets, sorted(res.sets["neuron"].tolist())
    (2, [3, 12])
    """
    from ..evaluate import PERCENT_GRID, minimal_set, oracle
    from ..exceptions import TargetNotReachedWarning
    from ..neurons import labelled_matrix
    from ..rank import neuron_ordering
    from .layers import localization

    X_train, idx = labelled_matrix(X_train, neurons)
    X_dev, _ = labelled_matrix(X_dev, idx)
    if X_test is not None:
        X_test, _ = labelled_matrix(X_test, idx)
    n_total = X_train.shape[1]
    if max_sets < 1:
        raise ValueError(f"max_sets must be >= 1, got {max_sets}")
    table = neuron_table(idx)
    # n_layers counts the embeddings (layer 0), so the deepest analysed layer L gives L + 1
    n_layers = int(table["layer"].max()) + 1
    percents = PERCENT_GRID if percents is None else percents
    _, acc = oracle(X_train, y_train, X_dev, y_dev, estimator=estimator)
    oracle_dev = float(acc.loc[acc["split"] == "dev", "accuracy"].iloc[0])
    logger.info("disjoint sets: oracle dev accuracy %.4f, target %.4f", oracle_dev, oracle_dev * (1 - delta))
    remaining = np.arange(n_total)
    rows, sets = [], []
    bar = tqdm(range(1, max_sets + 1), desc="disjoint sets", disable=not progress_enabled(progress))
    for round_ in bar:
        if len(remaining) == 0:
            break
        sub = lambda X: None if X is None else np.asarray(X)[:, remaining]  # noqa: E731
        probe, rest_acc = oracle(sub(X_train), y_train, sub(X_dev), y_dev, estimator=estimator)
        ordering = neuron_ordering(probe.coef_, search_stride)[0]
        with warnings.catch_warnings():
            # a round that misses the target is how the search stops; the summary records it
            warnings.simplefilter("ignore", TargetNotReachedWarning)
            found = minimal_set(ordering, sub(X_train), y_train, sub(X_dev), y_dev, sub(X_test), y_test,
                                oracle_accuracy=oracle_dev, delta=delta, percents=percents, estimator=estimator,
                                seed=seed)
        row = {"set": round_, "reached": bool(found.reached), "n_neurons": np.nan, "percent": np.nan,
               "dev_accuracy": found.dev_accuracy, "test_accuracy": found.test_accuracy,
               "remaining": len(remaining),
               "remaining_dev_accuracy": float(rest_acc.loc[rest_acc["split"] == "dev", "accuracy"].iloc[0]),
               "target": found.target, "mean_layer": np.nan, "mean_relative_depth": np.nan}
        if found.reached:
            cols = remaining[np.asarray(found.columns, dtype=np.int64)]
            chosen = pd.DataFrame({"set": round_, "rank": np.arange(1, len(cols) + 1),
                                   "layer": table["layer"].to_numpy()[cols], "neuron": table["neuron"].to_numpy()[cols]})
            sets.append(chosen)
            loc = localization(chosen, n_layers).iloc[0]
            row.update(n_neurons=len(cols), percent=100.0 * len(cols) / n_total, mean_layer=loc["mean_layer"],
                       mean_relative_depth=loc["mean_relative_depth"])
            remaining = np.setdiff1d(remaining, cols)
            logger.info("set %d: %d neurons, dev accuracy %.4f", round_, len(cols), found.dev_accuracy)
        rows.append(row)
        if not found.reached:
            break
    bar.close()
    summary = pd.DataFrame(rows)
    sets_df = (pd.concat(sets, ignore_index=True) if sets
               else pd.DataFrame(columns=["set", "rank", "layer", "neuron"]))
    return DisjointSets(summary=summary, sets=sets_df, oracle_dev_accuracy=oracle_dev)
