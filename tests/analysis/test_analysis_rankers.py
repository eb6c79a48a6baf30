"""Agreement between rankings: top-k overlap by (layer, neuron)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from neuronbook.analysis.rankers import ranker_agreement
from neuronbook.neurons import neuron_index
from neuronbook.rank import get_ranker


def _table(pairs):
    return pd.DataFrame({"rank": np.arange(1, len(pairs) + 1), "layer": [p[0] for p in pairs],
                         "neuron": [p[1] for p in pairs]})


def test_ranker_agreement_hand_checked_on_tables():
    a = _table([(0, 0), (0, 1), (1, 0), (1, 1)])
    b = _table([(0, 1), (0, 0), (1, 1), (1, 0)])
    c = _table([(1, 1), (1, 0), (0, 1), (0, 0)])
    res = ranker_agreement({"lca": a, "iou": b, "ap": c}, k=[1, 2])
    assert res.columns.tolist() == ["ranker_a", "ranker_b", "k", "intersection", "jaccard", "overlap",
                                    "expected_overlap"]
    got = res.set_index(["ranker_a", "ranker_b", "k"])
    assert got.loc[("lca", "iou", 1), "intersection"] == 0
    assert got.loc[("lca", "iou", 2), "jaccard"] == 1.0
    assert got.loc[("lca", "ap", 2), "intersection"] == 0
    assert got.loc[("iou", "ap", 2), "jaccard"] == 0.0
    assert got.loc[("iou", "ap", 1), "overlap"] == 0.0
    assert got.loc[("lca", "iou", 2), "expected_overlap"] == 0.5
    assert len(res) == 6


def test_tables_compare_by_layer_and_neuron_not_row_order():
    # the same neurons, listed in a different row order: the rank column decides the top
    a = _table([(2, 5), (0, 1), (1, 7)])
    b = _table([(0, 1), (2, 5), (1, 7)]).iloc[::-1]
    res = ranker_agreement({"a": a, "b": b}, k=[2, 3]).set_index("k")
    assert res.loc[2, "jaccard"] == 1.0 and res.loc[3, "intersection"] == 3


def test_orderings_still_compare():
    res = ranker_agreement({"lca": [0, 1, 2, 3], "iou": [1, 0, 3, 2]}, k=[1, 2])
    assert res["intersection"].tolist() == [0, 2]


def test_rankers_agree_on_a_planted_neuron():
    rng = np.random.default_rng(0)
    z = rng.integers(0, 2, 300)
    X = rng.normal(size=(300, 8))
    X[:, 6] += 4.0 * z
    neurons = neuron_index([0, 1], 4)
    tables = {name: get_ranker(name).rank(X, z, neurons) for name in ("probeless", "ap")}
    res = ranker_agreement(tables, k=1)
    assert res[["intersection", "jaccard"]].values.tolist() == [[1, 1.0]]


def test_ranker_agreement_errors():
    with pytest.raises(ValueError, match="at least two"):
        ranker_agreement({"a": [0, 1]}, 1)
    with pytest.raises(ValueError, match="different numbers of neurons"):
        ranker_agreement({"a": [0, 1], "b": [0, 1, 2]}, 1)
    with pytest.raises(ValueError, match=r"k must lie in 1..2"):
        ranker_agreement({"a": [0, 1], "b": [1, 0]}, 3)
    with pytest.raises(TypeError, match="all as orderings"):
        ranker_agreement({"a": _table([(0, 0), (0, 1)]), "b": [1, 0]}, 1)
    with pytest.raises(ValueError, match="lacks \\['layer', 'neuron'\\]"):
        ranker_agreement({"a": pd.DataFrame({"rank": [1], "column": [0]}), "b": _table([(0, 0)])}, 1)
