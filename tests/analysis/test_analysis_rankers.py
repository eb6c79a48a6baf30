"""Probe-free rankers in the LCA table format, and their agreement."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from neuronbook.analysis.rankers import RANKERS, rank_neurons, ranker_agreement


def _planted(n=400, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, size=n)
    X = rng.normal(size=(n, 6))
    X[:, 4] += 4.0 * y  # neuron 4 (layer 1, neuron 1) fires on tag "b"
    idx = pd.DataFrame({"layer": [0, 0, 0, 1, 1, 1], "neuron": [0, 1, 2, 0, 1, 2]})
    return X, np.array(["a", "b"])[y], idx


@pytest.mark.parametrize("method", RANKERS)
def test_every_ranker_puts_the_planted_neuron_first(method):
    X, y, idx = _planted()
    # the IoU quantile must leave as many firing words as the tag has (half of them here)
    kwargs = {"quantile": 0.5} if method == "iou" else {}
    r = rank_neurons(X, y, method=method, neuron_index=idx, **kwargs)
    assert r.columns.tolist() == ["rank", "column", "layer", "neuron", "tag", "score"]
    assert r["rank"].tolist() == [1, 2, 3, 4, 5, 6]
    assert sorted(r["column"]) == list(range(6))
    top = r.iloc[0]
    assert (top["column"], top["layer"], top["neuron"]) == (4, 1, 1)
    assert r["score"].is_monotonic_decreasing


def test_probeless_golden_values_and_tag():
    # tag means: neuron 0: a=0, b=2 -> |diff| 2; neuron 1 constant -> 0
    X = np.array([[0., 1.], [0., 1.], [2., 1.], [2., 1.]])
    r = rank_neurons(X, ["a", "a", "b", "b"], method="probeless")
    assert r["column"].tolist() == [0, 1]
    assert r["score"].tolist() == [2.0, 0.0]
    assert r["layer"].tolist() == [0, 0]


def test_rank_neurons_errors():
    with pytest.raises(ValueError, match="unknown ranker 'gauss'"):
        rank_neurons(np.zeros((2, 2)), ["a", "b"], method="gauss")
    with pytest.raises(ValueError, match="one label per word"):
        rank_neurons(np.zeros((3, 2)), ["a", "b"])


def test_ranker_agreement_hand_checked():
    a = pd.DataFrame({"rank": [1, 2, 3, 4], "column": [0, 1, 2, 3]})
    b = [1, 0, 3, 2]
    c = [3, 2, 1, 0]
    res = ranker_agreement({"lca": a, "iou": b, "ap": c}, k=[1, 2])
    assert res.columns.tolist() == ["ranker_a", "ranker_b", "k", "intersection", "jaccard", "overlap",
                                    "expected_overlap"]
    got = res.set_index(["ranker_a", "ranker_b", "k"])
    assert got.loc[("lca", "iou", 1), "intersection"] == 0
    assert got.loc[("lca", "iou", 2), "jaccard"] == 1.0
    assert got.loc[("lca", "ap", 2), "intersection"] == 0
    assert got.loc[("iou", "ap", 2), "jaccard"] == 0.0
    assert got.loc[("lca", "iou", 2), "expected_overlap"] == 0.5
    assert len(res) == 6


def test_ranker_agreement_errors():
    with pytest.raises(ValueError, match="at least two"):
        ranker_agreement({"a": [0, 1]}, 1)
    with pytest.raises(ValueError, match="different numbers of neurons"):
        ranker_agreement({"a": [0, 1], "b": [0, 1, 2]}, 1)
    with pytest.raises(ValueError, match=r"k must lie in 1..2"):
        ranker_agreement({"a": [0, 1], "b": [1, 0]}, 3)
