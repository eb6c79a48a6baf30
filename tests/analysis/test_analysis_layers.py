"""Layer-wise probing and localization on synthetic activations where the answer is known."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from neuronbook.analysis.layers import (
    CLOSED_CLASS_TAGS,
    layer_distribution,
    layerwise_probing,
    localization,
    neurons_per_tag,
    relative_depth,
    tag_layer_counts,
)
from neuronbook.neurons import neuron_index
from neuronbook.neurons import relative_depth as the_relative_depth
from neuronbook.plots import layer_distribution_chart, layerwise_accuracy_chart, tag_layer_heatmap
from neuronbook.probe import ElasticNetProbe


def chart_rows(chart) -> list[dict]:
    """The rows of the chart's (single) dataset, as Altair wrote them into the spec."""
    spec = chart.to_dict()
    (rows,) = spec["datasets"].values()
    return rows


def _planted(n_words=600, n_layers=3, width=4, signal_layer=1, seed=0):
    """Noise everywhere, a 3-class label readable only from one neuron of ``signal_layer``."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n_words, n_layers * width)).astype(np.float32)
    y = rng.integers(0, 3, size=n_words)
    X[:, signal_layer * width + 2] = y * 3.0 + 0.2 * rng.normal(size=n_words)
    return X, np.array(["a", "b", "c"])[y], neuron_index(range(n_layers), width)


FAST = ElasticNetProbe(epochs=40, lr=0.05, batch_size=None, l1=0, l2=0)


def test_layerwise_probing_finds_the_planted_layer():
    X, y, idx = _planted(signal_layer=1)
    res = layerwise_probing(X[:400], y[:400], X[400:], y[400:], idx, X_dev=X[400:500], y_dev=y[400:500],
                            estimator=FAST, progress=False)
    assert res.columns.tolist() == ["layer", "n_neurons", "accuracy", "train_accuracy", "dev_accuracy"]
    assert res["layer"].tolist() == [0, 1, 2]
    assert res["n_neurons"].tolist() == [4, 4, 4]
    acc = res.set_index("layer")["accuracy"]
    assert acc[1] > 0.95
    assert acc[0] < 0.5 and acc[2] < 0.5  # chance is 1/3
    assert int(acc.idxmax()) == 1
    # feeds the chart as is: one point per layer, with its accuracy
    rows = chart_rows(layerwise_accuracy_chart(res))
    assert [r["layer"] for r in rows] == [0, 1, 2]
    assert [r["accuracy"] for r in rows] == pytest.approx(res["accuracy"].tolist())


def test_layerwise_probing_takes_labelled_frames():
    X, y, idx = _planted(signal_layer=2)
    frame = pd.DataFrame(X, columns=idx)
    res = layerwise_probing(frame.iloc[:400], y[:400], frame.iloc[400:], y[400:], estimator=FAST, progress=False)
    same = layerwise_probing(X[:400], y[:400], X[400:], y[400:], idx, estimator=FAST, progress=False)
    pd.testing.assert_frame_equal(res, same)
    assert int(res.set_index("layer")["accuracy"].idxmax()) == 2


def test_layerwise_probing_subset_of_layers_and_errors():
    X, y, idx = _planted()
    res = layerwise_probing(X[:400], y[:400], X[400:], y[400:], idx, layers=[2], estimator=FAST, progress=False)
    assert res["layer"].tolist() == [2]
    with pytest.raises(ValueError, match=r"layer\(s\) \[7\]"):
        layerwise_probing(X, y, X, y, idx, layers=[7], progress=False)
    with pytest.raises(ValueError, match="11 neuron labels for 12 columns"):
        layerwise_probing(X, y, X, y, idx[:11], progress=False)
    with pytest.raises(ValueError, match="both X_dev and y_dev"):
        layerwise_probing(X, y, X, y, idx, X_dev=X, progress=False)


def test_relative_depth_is_the_one_definition():
    assert relative_depth is the_relative_depth
    assert relative_depth([0, 3, 6], 7).tolist() == [0.0, 0.5, 1.0]  # n_layers counts the embeddings
    assert relative_depth(6, 13) == pytest.approx(0.5)
    with pytest.raises(ValueError, match="0..6"):
        relative_depth(7, 7)


def test_layer_distribution_counts_shares_and_zero_layers():
    sel = pd.DataFrame({"layer": [0, 2, 2, 2], "neuron": [5, 1, 2, 3]})
    dist = layer_distribution(sel, n_layers=4)
    assert dist["layer"].tolist() == [0, 1, 2, 3]
    assert dist["count"].tolist() == [1, 0, 3, 0]
    assert dist["share"].tolist() == [0.25, 0.0, 0.75, 0.0]
    assert dist["relative_depth"].tolist() == pytest.approx([0, 1 / 3, 2 / 3, 1])
    assert dist.columns.tolist() == ["layer", "count", "share", "fraction", "relative_depth"]
    assert dist["fraction"].isna().all()  # no layer size given
    # the chart carries the table's rows, zero layers included
    rows = chart_rows(layer_distribution_chart(dist))
    assert [(r["layer"], r["count"], r["share"]) for r in rows] == [(0, 1, 0.25), (1, 0, 0.0), (2, 3, 0.75),
                                                                    (3, 0, 0.0)]


def test_layer_distribution_fraction_from_layer_sizes():
    sel = pd.DataFrame({"layer": [0, 2, 2, 2], "neuron": [5, 1, 2, 3]})
    assert layer_distribution(sel, 4, layer_size=10)["fraction"].tolist() == [0.1, 0.0, 0.3, 0.0]
    # the analysed neurons themselves: layers 0 and 2, four neurons each (layers 1 and 3 not analysed)
    frac = layer_distribution(sel, 4, layer_size=neuron_index([0, 2], 4))["fraction"]
    assert frac.tolist()[0::2] == [0.25, 0.75] and frac.iloc[[1, 3]].isna().all()
    frac = layer_distribution(sel, 4, layer_size={0: 5, 2: 6})["fraction"]
    assert frac.tolist()[0::2] == [0.2, 0.5] and frac.iloc[[1, 3]].isna().all()
    assert layer_distribution(sel, 4, layer_size=[2, 2, 4, 1])["fraction"].tolist() == [0.5, 0.0, 0.75, 0.0]
    with pytest.raises(ValueError, match="layer 2 has 3 selected neurons but layer_size says it holds 2"):
        layer_distribution(sel, 4, layer_size=2)
    with pytest.raises(ValueError, match="3 sizes for n_layers=4"):
        layer_distribution(sel, 4, layer_size=[1, 2, 3])
    with pytest.raises(ValueError, match=r"layer\(s\) \[7\]"):
        layer_distribution(sel, 4, layer_size={7: 1})


def test_layer_distribution_by_group_gives_each_group_every_layer():
    sel = pd.DataFrame({"task": ["pos", "pos", "dep"], "layer": [0, 0, 2]})
    dist = layer_distribution(sel, n_layers=3, by="task")
    assert dist[["task", "layer", "count"]].values.tolist() == [
        ["dep", 0, 0], ["dep", 1, 0], ["dep", 2, 1], ["pos", 0, 2], ["pos", 1, 0], ["pos", 2, 0]]
    assert dist.groupby("task")["share"].sum().tolist() == [1.0, 1.0]
    chart = layer_distribution_chart(dist, facet="task", relative_depth=True)
    assert chart.to_dict()["mark"]["type"] == "line"
    assert [(r["task"], r["relative_depth"], r["share"]) for r in chart_rows(chart)] == [
        ("dep", 0.0, 0.0), ("dep", 0.5, 0.0), ("dep", 1.0, 1.0), ("pos", 0.0, 1.0), ("pos", 0.5, 0.0),
        ("pos", 1.0, 0.0)]


def test_layer_distribution_errors_name_the_problem():
    with pytest.raises(ValueError, match="n_layers .* must be an integer >= 1"):
        layer_distribution([0], n_layers=0)
    assert layer_distribution([0, 0], n_layers=1)[["count", "relative_depth"]].values.tolist() == [[2, 0.0]]
    with pytest.raises(ValueError, match="layer 5.*n_layers=3"):
        layer_distribution([0, 5], n_layers=3)
    with pytest.raises(ValueError, match="row 1 has layer -1"):
        layer_distribution([0, -1], n_layers=3)
    with pytest.raises(ValueError, match=r"group column\(s\) \['task'\]"):
        layer_distribution(pd.DataFrame({"layer": [0]}), n_layers=3, by="task")
    with pytest.raises(ValueError, match="'layer' column"):
        layer_distribution(pd.DataFrame({"lay": [0]}), n_layers=3)


def test_localization_hand_checked():
    # layers 1,1,3,3 of 0..3: mean 2, std 1, entropy 1 bit of log2(4) = 2 bits
    loc = localization([1, 1, 3, 3], n_layers=4).iloc[0]
    assert loc["n_neurons"] == 4
    assert loc["mean_layer"] == 2.0
    assert loc["std_layer"] == 1.0
    assert loc["entropy"] == pytest.approx(1.0)
    assert loc["normalized_entropy"] == pytest.approx(0.5)
    assert loc["mean_relative_depth"] == pytest.approx(2 / 3)
    assert loc["peak_layer"] == 1 and loc["peak_share"] == 0.5
    assert loc["median_layer"] == 1.0
    # all in one layer: entropy 0
    one = localization([2, 2, 2], n_layers=3).iloc[0]
    assert one["entropy"] == 0.0 and one["mean_relative_depth"] == 1.0 and one["std_layer"] == 0.0


def test_localization_low_versus_high_task():
    sel = pd.DataFrame({"task": ["suffix"] * 3 + ["deprel"] * 3, "layer": [0, 0, 1, 5, 6, 6]})
    loc = localization(sel, n_layers=7, by="task").set_index("task")
    assert loc.loc["suffix", "mean_layer"] == pytest.approx(1 / 3)
    assert loc.loc["deprel", "mean_layer"] == pytest.approx(17 / 3)
    assert loc.loc["suffix", "mean_relative_depth"] < loc.loc["deprel", "mean_relative_depth"]


def test_tag_layer_counts_and_neurons_per_tag():
    per_tag = pd.DataFrame({"tag": ["DT", "NN", "NN", "NN", "VB", "VB"], "layer": [0, 1, 2, 2, 2, 1],
                            "neuron": [0, 1, 2, 3, 2, 1]})
    cells = tag_layer_counts(per_tag, n_layers=3)
    assert cells.columns.tolist() == ["tag", "layer", "count", "share", "relative_depth"]
    assert len(cells) == 9
    assert cells.set_index(["tag", "layer"])["count"].to_dict() == {
        ("DT", 0): 1, ("DT", 1): 0, ("DT", 2): 0, ("NN", 0): 0, ("NN", 1): 1, ("NN", 2): 2,
        ("VB", 0): 0, ("VB", 1): 1, ("VB", 2): 1}
    assert cells.set_index(["tag", "layer"])["share"].to_dict() == pytest.approx({
        ("DT", 0): 1, ("DT", 1): 0, ("DT", 2): 0, ("NN", 0): 0, ("NN", 1): 1 / 3, ("NN", 2): 2 / 3,
        ("VB", 0): 0, ("VB", 1): 0.5, ("VB", 2): 0.5})
    assert cells["relative_depth"].tolist() == [0.0, 0.5, 1.0] * 3
    rows = chart_rows(tag_layer_heatmap(cells))
    assert [[r["tag"], r["layer"], r["count"]] for r in rows] == cells[["tag", "layer", "count"]].values.tolist()
    with pytest.raises(ValueError, match="columns 'tag' and 'layer'"):
        tag_layer_counts(per_tag.drop(columns="tag"), 3)
    res = neurons_per_tag(per_tag, n_layers=3, tag_counts={"DT": 50, "NN": 80, "VB": 40})
    assert res["tag"].tolist() == ["DT", "VB", "NN"]  # fewest neurons first
    assert res["n_neurons"].tolist() == [1, 2, 3]
    assert res["closed_class"].tolist() == [True, False, False]
    assert res["frequency"].tolist() == [50, 40, 80]
    assert res.set_index("tag").loc["NN", "mean_layer"] == pytest.approx(5 / 3)
    with pytest.raises(ValueError, match=r"no entry for tag\(s\) \['VB'\]"):
        neurons_per_tag(per_tag, n_layers=3, tag_counts={"DT": 1, "NN": 1})


def test_closed_class_covers_both_tag_sets():
    assert {"DET", "ADP", "DT", "IN", "PRP"} <= CLOSED_CLASS_TAGS
    assert not {"NOUN", "VERB", "NN", "VBD", "JJ"} & CLOSED_CLASS_TAGS


@pytest.mark.real
def test_layerwise_probing_real_model_pos_peaks_above_the_embeddings(shared_data, tmp_cache, monkeypatch):
    """all-MiniLM-L6-v2 on 400 en_ewt sentences: UPOS is read better from a transformer layer than from layer 0."""
    from neuronbook.datasets import load_corpus
    from neuronbook.extraction import extract

    monkeypatch.setenv("NEURONBOOK_DATA", str(shared_data))
    corpus = load_corpus("ud:en_ewt", split="dev")
    train, test = corpus.subset(range(300)), corpus.subset(range(300, 400))
    s_train, s_test = extract(corpus=train, progress=False), extract(corpus=test, progress=False)
    y_train = np.concatenate(train.labels["upos"])
    y_test = np.concatenate(test.labels["upos"])
    probe = ElasticNetProbe(epochs=30, lr=1e-2, batch_size=512, l1=0, l2=0)
    res = layerwise_probing(s_train.activations(), y_train, s_test.activations(), y_test, s_train.neurons(),
                            estimator=probe, progress=False)
    acc = res.set_index("layer")["accuracy"]
    assert res["layer"].tolist() == list(range(7)) and res["n_neurons"].eq(384).all()
    majority = pd.Series(y_test).value_counts(normalize=True).iloc[0]
    assert (acc > majority + 0.3).all()
    assert acc.drop(0).max() > acc[0] + 0.02
