"""Charts of redundancy (neuronbook.plots.redundancy): clusters at a threshold and the disjoint minimal sets."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from chart_checks import all_rows as _records
from neuronbook.plots import cluster_charts, disjoint_sets_chart


def test_disjoint_sets_chart_draws_sizes_accuracy_and_layers():
    summary = pd.DataFrame({"set": [1, 2, 3], "reached": [True, True, False], "n_neurons": [2, 3, np.nan],
                            "dev_accuracy": [0.95, 0.93, np.nan], "remaining_dev_accuracy": [0.97, 0.94, 0.6],
                            "target": [0.92] * 3})
    sets = pd.DataFrame({"set": [1, 1, 2, 2, 2], "rank": [1, 2, 1, 2, 3], "layer": [0, 2, 2, 2, 1],
                         "neuron": [1, 5, 0, 3, 4]})
    chart = disjoint_sets_chart(summary, sets, n_layers=3)
    assert len(chart.to_dict()["hconcat"]) == 3
    rows = _records(chart)
    sizes = {r["set"]: (r["n_neurons"], r["label"], r["outcome"], r["accuracy"]) for r in rows if "outcome" in r}
    # the missed round has no set: its point is the probe on all its remaining neurons
    assert sizes == {1: (2, "2", "reached the target", 0.95), 2: (3, "3", "reached the target", 0.93),
                     3: (0, "missed", "missed (search stops)", 0.6)}
    share = {(r["set"], r["layer"]): r["share"] for r in rows if "share" in r}
    assert share[(2, 2)] == pytest.approx(2 / 3) and share[(1, 1)] == 0


def test_disjoint_sets_chart_without_sets_has_two_panels():
    summary = pd.DataFrame({"set": [1], "reached": [True], "n_neurons": [4], "dev_accuracy": [0.91],
                            "target": [0.9]})
    chart = disjoint_sets_chart(summary, pd.DataFrame({"set": [], "layer": [], "neuron": []}))
    spec = chart.to_dict()
    assert [panel["title"] for panel in spec["hconcat"]] == ["Size of each set", "Dev accuracy vs target (dashed)"]
    assert {"target": 0.9} in _records(chart)  # the dashed target rule


def _clusters():
    by_layer = pd.DataFrame({"layer": [0, 1], "n_neurons": [10, 7], "n_clusters": [6, 3], "largest_cluster": 2})
    clusters = pd.DataFrame({"cluster": [1, 2, 3, 4, 4], "cluster_size": [1, 2, 2, 12, 12],
                             "representative": [True, True, True, True, False]})
    sweep = pd.DataFrame({"threshold": [0.0, 0.3], "percent_independent": [100.0, 52.9], "n_clusters": [17, 9]})
    return by_layer, clusters, sweep


def test_cluster_charts_layers_and_sizes():
    by_layer, clusters, _ = _clusters()
    chart = cluster_charts(by_layer, clusters)
    layers, sizes = chart.hconcat
    assert layers.data.to_dict("records") == [{"layer": 0, "n_neurons": 10, "n_clusters": 6},
                                              {"layer": 1, "n_neurons": 7, "n_clusters": 3}]
    assert [layer.to_dict()["encoding"]["y"]["field"] for layer in layers.layer] == ["n_neurons", "n_clusters"]
    # one count per representative; sizes from 10 up pooled as "10+"
    assert sizes.data[["size", "n_clusters", "label"]].values.tolist() == [[1, 1, "1"], [2, 2, "2"], [10, 1, "10+"]]
    spec = sizes.to_dict()
    assert spec["encoding"]["x"]["field"] == "label" and spec["encoding"]["x"]["sort"] == ["1", "2", "10+"]


def test_cluster_charts_with_sweep_puts_the_threshold_curve_first():
    by_layer, clusters, sweep = _clusters()
    chart = cluster_charts(by_layer, clusters, sweep, threshold=0.3)
    curve = chart.hconcat[0]
    assert curve.title == "Independence vs threshold"
    assert curve.layer[0].data.to_dict("records") == [{"threshold": 0.0, "percent_independent": 100.0},
                                                      {"threshold": 0.3, "percent_independent": 52.9}]
    assert curve.layer[1].data.to_dict("records") == [{"threshold": 0.3}]  # the rule at the threshold shown
    assert len(cluster_charts(by_layer, clusters, sweep).hconcat[0].layer) == 1  # no threshold: no rule
