"""RankerAgreementView: a k slider over hand-checkable rankings."""

from __future__ import annotations

import pandas as pd
import pytest

from neuronbook.widgets.rankers import RankerAgreementView, k_grid


def _records(chart) -> list[dict]:
    return [row for rows in chart.to_dict().get("datasets", {}).values() for row in rows]


def _table(order, layers):
    return pd.DataFrame({"rank": range(1, len(order) + 1), "layer": [layers[n] for n in order], "neuron": order,
                         "tag": None, "score": 1.0})


@pytest.fixture
def rankings():
    # 10 neurons, 0-4 in layer 0 and 5-9 in layer 1
    layers = {n: 0 if n < 5 else 1 for n in range(10)}
    return {"lca": _table(list(range(10)), layers),
            "probeless": _table([1, 0, 3, 2, 9, 8, 7, 6, 5, 4], layers),
            "iou": _table(list(range(9, -1, -1)), layers)}


def test_k_grid():
    assert k_grid(2688) == [10, 20, 50, 100, 200, 500, 1000, 2000, 2688]
    assert k_grid(10, start=1) == [1, 2, 5, 10]
    with pytest.raises(ValueError):
        k_grid(0)


def test_moving_k_changes_table_and_chart(rankings):
    view = RankerAgreementView(rankings, ks=[2, 4, 5], chart_mode="output")
    assert view.k == 2 and view.slider.value == 2  # nearest 1% of 10 neurons on a log scale
    overlap = {(a, b): o for a, b, o in view.table[["ranker_a", "ranker_b", "overlap"]].values}
    assert overlap == {("lca", "probeless"): 1.0, ("lca", "iou"): 0.0, ("probeless", "iou"): 0.0}
    cells = {(r["ranker_a"], r["ranker_b"]): r["overlap"] for r in _records(view.chart) if "intersection" in r}
    assert cells[("probeless", "lca")] == 1.0 and cells[("iou", "iou")] == 1.0  # mirrored, diagonal 1
    assert {"k": 2} in _records(view.chart)  # the rule on the overlap-vs-k curve
    view.slider.value = 5  # what dragging the slider does
    assert view.k == 5
    overlap = {(a, b): o for a, b, o in view.table[["ranker_a", "ranker_b", "overlap"]].values}
    # top 5: lca {0..4}, probeless {0,1,2,3,9}, iou {5..9}
    assert overlap == {("lca", "probeless"): 0.8, ("lca", "iou"): 0.0, ("probeless", "iou"): 0.2}
    cells = {(r["ranker_a"], r["ranker_b"]): r["overlap"] for r in _records(view.chart) if "intersection" in r}
    assert cells[("iou", "probeless")] == 0.2 and {"k": 5} in _records(view.chart)
    # where the top 5 sit: lca all in layer 0, probeless 4/5, iou none
    share = view.layers.set_index(["ranker", "layer"])["share"]
    assert (share[("lca", 0)], share[("probeless", 0)], share[("iou", 0)]) == (1.0, 0.8, 0.0)
    assert "lca / probeless, shares <b>80%</b>" in view.text and "random rankings would share 50%" in view.text


def test_set_k_snaps_to_the_grid(rankings):
    view = RankerAgreementView(rankings, ks=[1, 2, 5, 10], k=10, chart_mode="output")
    assert view.k == 10 and view.table["overlap"].tolist() == [1.0, 1.0, 1.0]
    assert view.set_k(4).k == 5 and view.slider.value == 5
    assert len(view.agreement) == 3 * 4  # 3 pairs x 4 k


def test_needs_two_rankings(rankings):
    with pytest.raises(ValueError, match="at least two rankings"):
        RankerAgreementView({"lca": rankings["lca"]})
