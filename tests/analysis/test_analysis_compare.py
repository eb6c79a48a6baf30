"""Fine-tuning, architecture and language comparisons on hand-built selections."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from neuronbook.analysis.compare import (
    NeuronSelection,
    architecture_comparison,
    as_selection,
    finetuning_comparison,
    jaccard,
    language_comparison,
)
from neuronbook.plots import (
    architecture_comparison_chart,
    finetuning_shift_chart,
    language_similarity_chart,
    layer_distribution_chart,
    layerwise_accuracy_chart,
)


def rows_with(chart, *columns) -> list[dict]:
    """The rows of the chart's one dataset whose rows carry all ``columns``."""
    found = [rows for rows in chart.to_dict()["datasets"].values() if rows and set(columns) <= set(rows[0])]
    assert len(found) == 1, f"{len(found)} datasets carry {columns}"
    return found[0]


def _sel(layers, neurons, n_layers=4, total=40, tags=None, **kw):
    df = pd.DataFrame({"layer": layers, "neuron": neurons})
    per_tag = df.assign(tag=tags) if tags is not None else None
    return NeuronSelection(df, n_layers=n_layers, n_neurons_total=total, per_tag=per_tag, **kw)


def test_jaccard():
    assert jaccard([1, 2], [2, 3]) == pytest.approx(1 / 3)
    assert jaccard([], []) == 1.0
    assert jaccard([1], []) == 0.0


def test_selection_validates():
    with pytest.raises(ValueError, match=r"selected lacks column\(s\) \['neuron'\]"):
        NeuronSelection(pd.DataFrame({"layer": [0]}), 2, 10)
    with pytest.raises(ValueError, match="smaller than the 2 selected"):
        _sel([0, 1], [0, 0], total=1)
    with pytest.raises(TypeError, match="LCAResult or NeuronSelection"):
        as_selection(object())
    assert _sel([0, 1], [0, 0], total=8).percent == 25.0


def test_finetuning_comparison_hand_checked():
    lw = pd.DataFrame({"layer": [0, 1, 2, 3], "accuracy": [0.5, 0.7, 0.8, 0.75]})
    pre = {"pos": _sel([1, 1, 2, 2], [0, 1, 0, 1], accuracy=0.9, oracle_accuracy=0.92, layerwise=lw),
           "dep": _sel([3], [7], accuracy=0.8)}
    ft = {"pos": _sel([1, 3], [0, 5], accuracy=0.88, oracle_accuracy=0.91, layerwise=lw.assign(accuracy=0.6)),
          "dep": _sel([3], [7], accuracy=0.7)}
    res = finetuning_comparison(pre, ft)
    s = res.summary.set_index(["task", "model"])
    assert s.loc[("pos", "pretrained"), "mean_layer"] == 1.5
    assert s.loc[("pos", "fine-tuned"), "mean_layer"] == 2.0
    assert s.loc[("pos", "pretrained"), "n_neurons"] == 4
    assert s.loc[("pos", "fine-tuned"), "percent"] == 5.0
    assert s.loc[("pos", "fine-tuned"), "accuracy"] == 0.88
    assert s.loc[("pos", "pretrained"), "mean_relative_depth"] == pytest.approx(0.5)
    ov = res.overlap.set_index("task")
    assert ov.loc["pos", "jaccard"] == pytest.approx(1 / 5)  # {(1,0)} of {(1,0),(1,1),(2,0),(2,1),(3,5)}
    assert ov.loc["pos", "intersection"] == 1
    assert ov.loc["pos", "mean_layer_shift"] == 0.5
    assert ov.loc["dep", "jaccard"] == 1.0 and ov.loc["dep", "mean_layer_shift"] == 0.0
    assert len(res.layers) == 2 * 2 * 4  # tasks x models x layers, zero layers included
    assert res.layers.groupby(["task", "model"])["share"].sum().tolist() == [1.0] * 4
    assert len(res.layerwise) == 8 and set(res.layerwise["model"]) == {"pretrained", "fine-tuned"}
    assert res.layers.columns.tolist() == ["task", "model", "layer", "count", "share", "fraction", "relative_depth"]
    pos_pre = res.layers[(res.layers.task == "pos") & (res.layers.model == "pretrained")]
    assert pos_pre["count"].tolist() == [0, 2, 2, 0] and pos_pre["relative_depth"].tolist() == pytest.approx(
        [0, 1 / 3, 2 / 3, 1])
    # the tables feed the charts as they are, and the charts carry their values
    chart = finetuning_shift_chart(res.summary, res.overlap)
    points = rows_with(chart, "model", "mean_layer")
    assert {(r["task"], r["model"]): r["mean_layer"] for r in points} == {
        ("pos", "pretrained"): 1.5, ("pos", "fine-tuned"): 2.0, ("dep", "pretrained"): 3.0, ("dep", "fine-tuned"): 3.0}
    assert {r["task"]: r["jaccard"] for r in rows_with(chart, "jaccard")} == pytest.approx({"pos": 0.2, "dep": 1.0})
    bars = rows_with(layer_distribution_chart(res.layers[res.layers.task == "pos"], facet="model"), "share")
    assert [(r["model"], r["layer"], r["share"]) for r in bars] == [
        ("pretrained", 0, 0.0), ("pretrained", 1, 0.5), ("pretrained", 2, 0.5), ("pretrained", 3, 0.0),
        ("fine-tuned", 0, 0.0), ("fine-tuned", 1, 0.5), ("fine-tuned", 2, 0.0), ("fine-tuned", 3, 0.5)]
    lines = rows_with(layerwise_accuracy_chart(res.layerwise[res.layerwise.task == "pos"], color="model"), "accuracy")
    assert [(r["model"], r["accuracy"]) for r in lines if r["layer"] == 2] == [("pretrained", 0.8), ("fine-tuned", 0.6)]


def test_finetuning_comparison_errors():
    with pytest.raises(ValueError, match=r"only in pretrained: \['dep'\]"):
        finetuning_comparison({"pos": _sel([0], [0]), "dep": _sel([0], [0])}, {"pos": _sel([0], [0])})
    with pytest.raises(ValueError, match="differ in shape"):
        finetuning_comparison({"pos": _sel([0], [0])}, {"pos": _sel([0], [0], n_layers=7)})


def test_architecture_comparison_relative_depth():
    deep = _sel([12, 12, 6, 0], [0, 1, 2, 3], n_layers=13, total=400, accuracy=0.9)
    shallow = _sel([3, 3], [0, 1], n_layers=4, total=100, accuracy=0.85)
    res = architecture_comparison({"deep": deep, "shallow": shallow})
    s = res.summary.set_index("model")
    assert s.loc["deep", "percent_needed"] == 1.0 and s.loc["shallow", "percent_needed"] == 2.0
    assert s.loc["deep", "mean_relative_depth"] == pytest.approx((1 + 1 + 0.5 + 0) / 4)
    assert s.loc["shallow", "mean_relative_depth"] == 1.0
    assert s.loc["deep", "n_layers"] == 13
    lay = res.layers
    assert lay.columns.tolist() == ["model", "layer", "relative_depth", "count", "share", "percent_needed"]
    assert len(lay) == 13 + 4
    deep_rows = lay[lay.model == "deep"].set_index("layer")
    assert deep_rows.loc[6, "relative_depth"] == 0.5 and deep_rows.loc[6, "share"] == 0.25
    assert res.layerwise.empty
    chart = architecture_comparison_chart(lay)
    lines = rows_with(chart, "relative_depth", "share")
    assert len(lines) == 17
    shallow = [r for r in lines if r["model"] == "shallow"]
    assert [r["relative_depth"] for r in shallow] == pytest.approx([0.0, 1 / 3, 2 / 3, 1.0])
    assert [r["share"] for r in shallow] == [0.0, 0.0, 0.0, 1.0]
    assert rows_with(chart, "percent_needed") == [{"model": "deep", "percent_needed": 1.0},
                                                  {"model": "shallow", "percent_needed": 2.0}]


def test_architecture_comparison_layerwise_relative_depth():
    lw = pd.DataFrame({"layer": [0, 3, 6], "accuracy": [0.5, 0.8, 0.7]})
    res = architecture_comparison({"L6": _sel([6], [0], n_layers=7, layerwise=lw)})
    assert res.layerwise["relative_depth"].tolist() == [0.0, 0.5, 1.0]  # n_layers=7 counts the embeddings


def test_language_comparison_similarity_and_shared_neurons():
    en = _sel([1, 1, 2, 3], [0, 1, 2, 3], tags=["NOUN", "NOUN", "VERB", "VERB"])
    de = _sel([1, 2, 2, 3], [0, 2, 5, 9], tags=["NOUN", "VERB", "NOUN", "VERB"])
    fr = _sel([1, 2], [0, 2], tags=["NOUN", "VERB"])
    res = language_comparison({"en": en, "de": de, "fr": fr})
    sim = res.similarity.set_index(["language_a", "language_b"])
    assert sim.loc[("en", "de"), "jaccard"] == pytest.approx(2 / 6)
    assert sim.loc[("en", "fr"), "jaccard"] == pytest.approx(2 / 4)
    assert sim.loc[("de", "fr"), "intersection"] == 2
    # en shares [0, .5, .25, .25], de [0, .25, .5, .25] over layers 0..3
    assert sim.loc[("en", "de"), "layer_correlation"] == pytest.approx(
        np.corrcoef([0, .5, .25, .25], [0, .25, .5, .25])[0, 1])
    ts = res.tag_similarity.set_index(["tag", "language_a", "language_b"])
    assert ts.loc[("NOUN", "en", "de"), "jaccard"] == pytest.approx(1 / 3)  # {(1,0)} of {(1,0),(1,1),(2,5)}
    assert res.shared.values.tolist() == [["NOUN", 1, 0], ["VERB", 2, 2]]
    assert res.layers.groupby("language")["share"].sum().tolist() == [1.0, 1.0, 1.0]
    chart = language_similarity_chart(res.layers, res.similarity)
    lines = rows_with(chart, "language", "share")
    assert [r["share"] for r in lines if r["language"] == "en"] == [0.0, 0.5, 0.25, 0.25]
    matrix = rows_with(chart, "jaccard")
    assert {(r["language_a"], r["language_b"]): r["jaccard"] for r in matrix}[("fr", "en")] == pytest.approx(0.5)
    assert len(matrix) == 6  # three pairs, mirrored


def test_language_comparison_errors():
    with pytest.raises(ValueError, match="at least two languages"):
        language_comparison({"en": _sel([0], [0])})
    with pytest.raises(ValueError, match="one model"):
        language_comparison({"en": _sel([0], [0]), "de": _sel([0], [0], n_layers=13)})
    res = language_comparison({"en": _sel([0], [0]), "de": _sel([0], [1])})  # no per-tag sets
    assert res.tag_similarity.empty and res.shared.empty
