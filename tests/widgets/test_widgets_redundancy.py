"""ClusterView over planted correlations, cluster_sweep and the disjoint-sets chart."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from neuronbook.neurons import neuron_index
from neuronbook.widgets.redundancy import ClusterView, cluster_sweep


def _records(chart) -> list[dict]:
    return [row for rows in chart.to_dict().get("datasets", {}).values() for row in rows]


@pytest.fixture(scope="module")
def sweep():
    """Two layers of 3 neurons: (0,1) is a noisy copy of (0,0) and (1,1) of (0,2); the rest independent."""
    rng = np.random.default_rng(0)
    a, b, c, d = rng.normal(size=(4, 500))
    X = np.column_stack([a, a + 0.2 * rng.normal(size=500), b, c, b + 0.2 * rng.normal(size=500), d])
    return cluster_sweep(X, [0.3, 0.0, 0.9], neuron_index([0, 1], 3))


def test_cluster_sweep_has_one_row_per_neuron_and_threshold(sweep):
    assert sweep.columns.tolist() == ["threshold", "layer", "neuron", "cluster", "cluster_size", "representative"]
    assert sweep["threshold"].unique().tolist() == [0.0, 0.3, 0.9]
    assert len(sweep) == 18


def test_duplicates_cluster_at_0_3_not_at_0(sweep):
    view = ClusterView(sweep, threshold=0.0, chart_mode="output")
    assert view.summary["n_clusters"].item() == 6 and view.summary["n_singletons"].item() == 6
    view.set_threshold(0.3)
    cl = view.clusters.set_index(["layer", "neuron"])["cluster"]
    assert cl[(0, 0)] == cl[(0, 1)] and cl[(0, 2)] == cl[(1, 1)]
    assert len({cl[(0, 0)], cl[(0, 2)], cl[(1, 0)], cl[(1, 2)]}) == 4
    s = view.summary.iloc[0]
    assert (s["n_neurons"], s["n_clusters"], s["n_singletons"], s["largest_cluster"]) == (6, 4, 2, 2)
    assert s["percent_independent"] == pytest.approx(400 / 6)
    # per layer: neurons 3 + 3; the cross-layer cluster counts once, in its representative's layer
    assert view.table["n_neurons"].tolist() == [3, 3] and view.table["n_clusters"].sum() == 4
    assert "form <b>4</b> clusters" in view.text


def test_threshold_slider_and_chart_follow(sweep):
    view = ClusterView(sweep, chart_mode="output")  # starts at 0.3
    assert view.threshold == 0.3 and view.slider.value == 0.3
    sizes = [r for r in _records(view.chart) if "label" in r]
    assert {r["label"]: r["n_clusters"] for r in sizes} == {"1": 2, "2": 2}
    view.slider.value = 0.0  # what dragging the slider does
    assert view.threshold == 0.0 and view.summary["n_clusters"].item() == 6
    sizes = [r for r in _records(view.chart) if "label" in r]
    assert {r["label"]: r["n_clusters"] for r in sizes} == {"1": 6}
    # the threshold curve: 100% independent at 0, fewer above; the rule marks the threshold shown
    assert view.curve.set_index("threshold")["n_clusters"].tolist()[:2] == [6, 4]
    assert {"threshold": 0.0} in [r for r in _records(view.chart) if set(r) == {"threshold"}]
    view.set_threshold(0.27)  # snapped to the nearest computed threshold
    assert view.threshold == 0.3 and view.slider.value == 0.3
    with pytest.raises(ValueError, match=r"threshold must lie in \[0, 1\]"):
        view.set_threshold(1.5)


def test_cluster_view_rejects_other_tables():
    with pytest.raises(ValueError, match="cluster_sweep"):
        ClusterView(pd.DataFrame({"layer": [0], "neuron": [0]}))
