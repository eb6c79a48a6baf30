"""Charts of rankings (neuronbook.plots.ranking): the top neurons, one neuron's weights, ranker agreement."""

from __future__ import annotations

import types

import pandas as pd

from chart_checks import datasets
from neuronbook.plots import agreement_charts, ranking_chart, weights_chart


def _ranking() -> pd.DataFrame:
    return pd.DataFrame({"rank": [2, 1, 3], "layer": [0, 1, 2], "neuron": [5, 3, 7], "tag": ["NN", None, "VB"],
                         "score": [0.2, 0.3, 0.1]})


def test_ranking_chart_rows_in_rank_order_with_labels():
    chart = ranking_chart(_ranking(), top=2)
    assert chart.data.to_dict("records") == [
        {"rank": 1, "layer": 1, "neuron": 3, "tag": "(none)", "score": 0.3, "label": "#1 L1 N3"},
        {"rank": 2, "layer": 0, "neuron": 5, "tag": "NN", "score": 0.2, "label": "#2 L0 N5"}]
    spec = chart.to_dict()
    assert spec["mark"]["type"] == "bar"
    assert spec["encoding"]["x"]["field"] == "label" and spec["encoding"]["x"]["sort"] == {"field": "rank"}
    assert (spec["encoding"]["y"]["field"], spec["encoding"]["color"]["field"]) == ("score", "tag")
    (param,) = spec["params"]
    assert param["name"] == "neuron_pick" and param["select"] == {"type": "point", "fields": ["layer", "neuron"],
                                                                 "on": "click"}
    assert spec["encoding"]["opacity"]["condition"] == {"param": "neuron_pick", "value": 1.0}


def test_ranking_chart_reads_a_result_and_names_its_selection():
    result = types.SimpleNamespace(ranking=_ranking())
    spec = ranking_chart(result, top=3, selection="pick").to_dict()
    assert spec["params"][0]["name"] == "pick" and spec["encoding"]["opacity"]["condition"]["param"] == "pick"
    _, (rows,) = datasets(ranking_chart(result, top=3))
    assert [r["label"] for r in rows] == ["#1 L1 N3", "#2 L0 N5", "#3 L2 N7"]


def test_weights_chart_signs_and_order():
    weights = pd.DataFrame({"tag": ["NN", "VB", 3], "weight": [-0.5, 1.25, 0.0], "share": [0.2, 0.7, 0.1],
                            "n_train": [10, 20, 5], "other": "x"})
    chart = weights_chart(weights, title="L1 N2")
    assert chart.data.to_dict("records") == [
        {"tag": "NN", "weight": -0.5, "share": 0.2, "n_train": 10, "sign": "negative"},
        {"tag": "VB", "weight": 1.25, "share": 0.7, "n_train": 20, "sign": "positive"},
        {"tag": "3", "weight": 0.0, "share": 0.1, "n_train": 5, "sign": "positive"}]
    spec = chart.to_dict()
    assert spec["encoding"]["y"]["sort"] == {"field": "weight", "order": "descending"}
    assert spec["encoding"]["color"]["scale"] == {"domain": ["negative", "positive"], "range": ["#d73027", "#4575b4"]}
    assert spec["title"] == "L1 N2" and spec["height"] == 60
    assert weights_chart(weights).to_dict()["title"] == "Weight per tag"


def _agreement():
    curve = pd.DataFrame({"ranker_a": ["a", "a"], "ranker_b": ["b", "b"], "k": [1, 2], "intersection": [0, 1],
                          "jaccard": [0.0, 1 / 3], "overlap": [0.0, 0.5], "expected_overlap": [0.25, 0.5]})
    layers = pd.DataFrame({"ranker": ["a", "a", "b", "b"], "layer": [0, 1, 0, 1], "count": [1, 1, 0, 2],
                           "share": [0.5, 0.5, 0.0, 1.0]})
    return curve[curve["k"] == 2], curve, layers


def test_agreement_charts_matrix_curve_and_layers():
    at_k, curve, layers = _agreement()
    chart = agreement_charts(at_k, curve, 2, layers)
    (heat, lines), bars = chart.vconcat[0].hconcat, chart.vconcat[1]  # the layer bars on a second row
    # the matrix: the pair both ways round, and each ranker with itself (all k in common)
    matrix = heat.data  # the cells and their labels share one table
    assert sorted(map(tuple, matrix[["ranker_a", "ranker_b", "intersection", "overlap"]].values.tolist())) == [
        ("a", "a", 2, 1.0), ("a", "b", 1, 0.5), ("b", "a", 1, 0.5), ("b", "b", 2, 1.0)]
    assert heat.title == "Share of the top 2 in common"
    # overlap vs k: one line per pair, the random expectation dashed, a rule at k
    assert lines.layer[0].data[["pair", "k", "overlap"]].values.tolist() == [["a / b", 1, 0.0], ["a / b", 2, 0.5]]
    assert lines.layer[1].data.to_dict("records") == [{"k": 1, "expected_overlap": 0.25},
                                                      {"k": 2, "expected_overlap": 0.5}]
    assert lines.layer[2].data.to_dict("records") == [{"k": 2}]
    x = lines.layer[0].to_dict()["encoding"]["x"]
    assert x["scale"] == {"type": "log", "domain": [1, 2], "nice": False} and x["axis"]["values"] == [1, 2]
    assert bars.data.to_dict("records") == layers[["ranker", "layer", "share"]].to_dict("records")
    assert bars.to_dict()["encoding"]["xOffset"] == {"field": "ranker", "sort": ["a", "b"], "type": "nominal"}
    assert len(agreement_charts(at_k, curve, 2).hconcat) == 2  # no layers: no third panel
