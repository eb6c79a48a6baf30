"""Correlation clustering and disjoint minimal sets on planted redundant neurons."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from neuronbook.analysis.redundancy import clustering_summary, correlation_clusters, correlation_dissimilarity


def test_dissimilarity_hand_checked():
    X = np.array([[1., 3., 5.], [2., 2., 5.], [3., 1., 5.]])
    D = correlation_dissimilarity(X)
    # column 1 = -column 0 (|corr| 1 -> 0); column 2 constant -> 1 to everything
    assert D == pytest.approx(np.array([[0.0, 0.0, 1.0], [0.0, 0.0, 1.0], [1.0, 1.0, 0.0]]), abs=1e-12)
    with pytest.raises(ValueError, match="at least 2 rows"):
        correlation_dissimilarity(np.ones((1, 3)))


def _copies(seed=0):
    """Three sources: a (3 noisy copies, one negated), b (2 copies), c (alone)."""
    rng = np.random.default_rng(seed)
    a, b, c = rng.normal(size=(3, 500))
    eps = lambda: 0.05 * rng.normal(size=500)  # noqa: E731
    X = np.column_stack([a, b + eps(), -a + eps(), c, 2 * a + eps(), b])
    idx = pd.DataFrame({"layer": [0, 0, 0, 1, 1, 1], "neuron": [0, 1, 2, 0, 1, 2]})
    return X, idx


def test_correlation_clusters_groups_planted_copies():
    X, idx = _copies()
    cl = correlation_clusters(X, threshold=0.2, neuron_index=idx)
    assert cl.columns.tolist() == ["column", "layer", "neuron", "cluster", "cluster_size", "representative"]
    assert cl["cluster"].tolist() == [1, 2, 1, 3, 1, 2]  # numbered by first column
    assert cl["cluster_size"].tolist() == [3, 2, 3, 1, 3, 2]
    assert cl.groupby("cluster")["representative"].sum().tolist() == [1, 1, 1]
    assert cl.loc[3, "representative"]
    summary = clustering_summary(cl).iloc[0]
    assert (summary["n_neurons"], summary["n_clusters"], summary["n_singletons"], summary["largest_cluster"]) == (
        6, 3, 1, 3)
    assert summary["percent_independent"] == pytest.approx(50.0)


def test_threshold_zero_keeps_everything_and_one_merges_everything():
    X, _ = _copies()
    assert correlation_clusters(X, threshold=0.0)["cluster"].nunique() >= 5  # only the exact copy could merge
    assert correlation_clusters(X, threshold=1.0)["cluster"].nunique() == 1
    with pytest.raises(ValueError, match="threshold must lie in"):
        correlation_clusters(X, threshold=1.5)
    with pytest.raises(ValueError, match="neuron_index has 2 rows"):
        correlation_clusters(X, neuron_index=pd.DataFrame({"layer": [0, 0], "neuron": [0, 1]}))


def test_clustering_summary_by_layer():
    X, idx = _copies()
    cl = correlation_clusters(X, threshold=0.2, neuron_index=idx)
    per_layer = clustering_summary(cl, by="layer")
    assert per_layer["layer"].tolist() == [0, 1]
    assert per_layer["n_neurons"].tolist() == [3, 3]
    assert per_layer["n_clusters"].sum() == 3
    with pytest.raises(ValueError, match="correlation_clusters"):
        clustering_summary(pd.DataFrame({"cluster": [1]}))
