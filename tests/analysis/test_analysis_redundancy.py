"""Correlation clustering and disjoint minimal sets on planted redundant neurons."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from neuronbook.analysis.redundancy import clustering_summary, correlation_clusters, correlation_dissimilarity
from neuronbook.neurons import neuron_index
from neuronbook.probe import ElasticNetProbe


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
    cl = correlation_clusters(X, threshold=0.2, neurons=idx)
    assert cl.columns.tolist() == ["layer", "neuron", "cluster", "cluster_size", "representative"]
    assert cl[["layer", "neuron"]].values.tolist() == idx[["layer", "neuron"]].values.tolist()
    assert cl["cluster"].tolist() == [1, 2, 1, 3, 1, 2]  # numbered in order of first appearance
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
    with pytest.raises(ValueError, match="2 neuron labels for 6 columns"):
        correlation_clusters(X, neurons=pd.DataFrame({"layer": [0, 0], "neuron": [0, 1]}))
    unlabelled = correlation_clusters(X, threshold=0.2)
    assert unlabelled["layer"].tolist() == [0] * 6 and unlabelled["neuron"].tolist() == list(range(6))


def test_correlation_clusters_reads_a_labelled_frame():
    X, idx = _copies()
    frame = pd.DataFrame(X, columns=neuron_index([0, 1], 3))
    pd.testing.assert_frame_equal(correlation_clusters(frame, threshold=0.2),
                                  correlation_clusters(X, threshold=0.2, neurons=idx))


def test_clustering_summary_by_layer():
    X, idx = _copies()
    cl = correlation_clusters(X, threshold=0.2, neurons=idx)
    per_layer = clustering_summary(cl, by="layer")
    assert per_layer["layer"].tolist() == [0, 1]
    assert per_layer["n_neurons"].tolist() == [3, 3]
    assert per_layer["n_clusters"].sum() == 3
    with pytest.raises(ValueError, match="correlation_clusters"):
        clustering_summary(pd.DataFrame({"cluster": [1]}))


from neuronbook.analysis.redundancy import disjoint_minimal_sets  # noqa: E402

PROBE = ElasticNetProbe(l1=0, l2=0, epochs=30, lr=0.05, batch_size=None)


def _redundant(copies, n=600, width=8, n_layers=3, seed=0):
    """A binary label planted in one neuron of each of ``copies`` layers (identical copies up to noise)."""
    rng = np.random.default_rng(seed)
    z = rng.integers(0, 2, n)
    X = rng.normal(size=(n, n_layers * width)).astype(np.float32)
    planted = [layer * width + 5 for layer in copies]
    for col in planted:
        X[:, col] += 8.0 * z
    return X, np.array(["no", "yes"])[z], neuron_index(range(n_layers), width), planted


@pytest.mark.parametrize("copies", [[1], [0, 2], [0, 1, 2]])
def test_disjoint_sets_count_planted_copies(copies):
    X, y, idx, planted = _redundant(copies)
    res = disjoint_minimal_sets(X[:400], y[:400], X[400:500], y[400:500], X[500:], y[500:], neurons=idx,
                                estimator=PROBE, percents=(5, 10, 50), progress=False)
    assert res.n_sets == len(copies)
    # each found set is one planted neuron, each in its own layer
    assert res.sets.columns.tolist() == ["set", "rank", "layer", "neuron"]
    assert sorted(zip(res.sets["layer"], res.sets["neuron"])) == [idx[c] for c in planted]
    assert sorted(res.sets["layer"].tolist()) == copies
    assert set(res.sets["neuron"]) == {5}
    assert res.sets.groupby("set").size().tolist() == [1] * len(copies)
    s = res.summary
    assert s["set"].tolist() == list(range(1, len(copies) + 2))
    assert s["reached"].tolist() == [True] * len(copies) + [False]
    assert s["remaining"].tolist() == [24 - i for i in range(len(copies) + 1)]
    assert (s.loc[s["reached"], "test_accuracy"] > 0.95).all()
    # once every copy is gone, the probe on all remaining neurons is near chance
    assert s["remaining_dev_accuracy"].iloc[-1] < 0.8
    assert s.loc[s["reached"], "mean_layer"].tolist() == [float(c) for c in
                                                          res.sets.sort_values("set")["layer"]]


def test_disjoint_sets_max_sets_and_errors():
    X, y, idx, _ = _redundant([0, 1, 2])
    res = disjoint_minimal_sets(X[:400], y[:400], X[400:], y[400:], neurons=idx, estimator=PROBE, percents=(5, 10, 50), max_sets=2, progress=False)
    assert res.n_sets == 2 and len(res.summary) == 2 and res.summary["reached"].all()
    assert res.summary["test_accuracy"].isna().all()  # no test words given
    with pytest.raises(ValueError, match="3 neuron labels for 24 columns"):
        disjoint_minimal_sets(X, y, X, y, neurons=idx[:3], progress=False)
    with pytest.raises(ValueError, match="max_sets"):
        disjoint_minimal_sets(X, y, X, y, max_sets=0, progress=False)
