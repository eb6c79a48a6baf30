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

import numpy as np
import pandas as pd

__all__ = [
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


def correlation_clusters(X, threshold: float = 0.3, neuron_index=None, method: str = "average") -> pd.DataFrame:
    """Hierarchical clustering of neurons on ``1 - |corr|``, cut at a distance threshold.

    Parameters
    ----------
    X : array-like, shape (n_words, n_neurons)
        Activations (columns = neurons, e.g. one store's flat layer-major columns).
    threshold : float
        Largest average dissimilarity inside a cluster: neurons whose activations correlate
        with ``|corr| >= 1 - threshold`` (on average linkage) end up together.
    neuron_index : DataFrame, optional
        ``layer`` and ``neuron`` of each column (:meth:`ActivationStore.neuron_index`).
    method : str
        Linkage method of :func:`scipy.cluster.hierarchy.linkage` (default ``"average"``).

    Returns
    -------
    DataFrame
        One row per column: ``column``, ``layer``, ``neuron`` (with ``neuron_index``),
        ``cluster`` (1-based, numbered by first column), ``cluster_size`` and
        ``representative`` (True for one neuron per cluster: the member with the smallest
        mean dissimilarity to the others, lowest column on ties).

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

    X = np.asarray(X)
    if not 0 <= threshold <= 1:
        raise ValueError(f"threshold must lie in [0, 1] (a dissimilarity 1 - |corr|), got {threshold}")
    if X.ndim != 2:
        raise ValueError(f"X must be 2-D (words x neurons), got shape {X.shape}")
    n = X.shape[1]
    if neuron_index is not None:
        idx = pd.DataFrame(neuron_index).reset_index(drop=True)
        if len(idx) != n:
            raise ValueError(f"neuron_index has {len(idx)} rows but X has {n} columns")
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
    out = pd.DataFrame({"column": np.arange(n)})
    if neuron_index is not None:
        for col in ("layer", "neuron"):
            if col in idx.columns:
                out[col] = idx[col].to_numpy()
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
    >>> df = pd.DataFrame({"column": [0, 1, 2], "cluster": [1, 1, 2], "cluster_size": [2, 2, 1],
    ...                    "representative": [True, False, True]})
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
