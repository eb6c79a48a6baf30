"""Tests for neuronbook.plots: chart specs, the data they carry, guards and export."""

from __future__ import annotations

import json
import logging

import numpy as np
import pandas as pd
import pytest

from chart_checks import datasets
from neuronbook import plots
from neuronbook.plots import export


def records(df: pd.DataFrame) -> list[dict]:
    """Rows as plain Python values, as Altair writes them into the spec."""
    return [{k: v.item() if isinstance(v, np.generic) else v for k, v in row.items()}
            for row in df.to_dict("records")]


# ----------------------------------------------------------------------------- accuracy curve


def make_curve(method: bool = False) -> pd.DataFrame:
    rows = []
    for split in ("dev", "test"):
        for sel, accs in (("top", (0.8, 0.9)), ("random", (0.4, 0.6)), ("bottom", (0.2, 0.3))):
            for methods in (("retrain", "zero-out") if method else (None,)):
                for (n, pct), acc in zip(((10, 1.0), (50, 5.0)), accs):
                    row = dict(selection=sel, n_neurons=n, percent=pct, split=split,
                               accuracy=acc - (0.05 if split == "dev" else 0) - (0.01 if methods == "zero-out" else 0))
                    if methods:
                        row["method"] = methods
                    rows.append(row)
    return pd.DataFrame(rows)


def test_accuracy_curve_data_marks_and_colours():
    curve = make_curve()
    spec, data = datasets(plots.accuracy_curve_chart(curve, oracle=0.93))
    assert [layer["mark"]["type"] for layer in spec["layer"]] == ["line", "point", "rule", "text"]
    expected = curve[curve["split"] == "test"][["selection", "n_neurons", "percent", "accuracy"]]
    assert data[0] == records(expected)
    assert len(data[0]) == 6 and all(row["accuracy"] >= 0.2 for row in data[0])
    assert data[1] == [{"label": "oracle 0.930", "accuracy": 0.93}]
    color = spec["layer"][0]["encoding"]["color"]
    assert color["field"] == "selection"
    assert color["scale"]["domain"] == ["top", "random", "bottom"]
    assert color["scale"]["range"] == [plots.SELECTION_COLORS[s] for s in ("top", "random", "bottom")]
    assert spec["layer"][0]["encoding"]["x"]["field"] == "percent"
    assert spec["layer"][0]["encoding"]["y"]["title"] == "test accuracy"


def test_accuracy_curve_dev_split_method_dash_and_no_oracle():
    curve = make_curve(method=True)
    spec, data = datasets(plots.accuracy_curve_chart(curve, split="dev", log_x=True))
    assert len(spec["layer"]) == 2
    line = spec["layer"][0]["encoding"]
    assert line["strokeDash"]["field"] == "method"
    assert line["strokeDash"]["scale"]["domain"] == ["retrain", "zero-out"]
    assert line["x"]["scale"] == {"type": "log", "domain": [1.0, 5.0], "nice": False}
    assert len(data) == 1 and len(data[0]) == 12
    dev_top_zero_out = [r for r in data[0] if r["selection"] == "top" and r["method"] == "zero-out"]
    assert [r["accuracy"] for r in dev_top_zero_out] == pytest.approx([0.74, 0.84])


def test_accuracy_curve_errors():
    curve = make_curve()
    with pytest.raises(ValueError, match="no rows for split 'train'"):
        plots.accuracy_curve_chart(curve, split="train")
    with pytest.raises(ValueError, match=r"unknown value\(s\) \['best'\]"):
        plots.accuracy_curve_chart(curve.replace({"selection": {"top": "best"}}))
    with pytest.raises(ValueError, match="Average random seeds"):
        plots.accuracy_curve_chart(pd.concat([curve, curve]))
    with pytest.raises(ValueError, match=r"lacks column\(s\) \['percent'\]"):
        plots.accuracy_curve_chart(curve.drop(columns="percent"))


# ----------------------------------------------------------------------------- layers


def test_layer_distribution_bars_and_facet():
    df = pd.DataFrame({"task": ["POS"] * 3 + ["SEM"] * 3, "layer": [0, 1, 2] * 2,
                       "count": [1, 3, 6, 5, 5, 0], "share": [0.1, 0.3, 0.6, 0.5, 0.5, 0.0]})
    spec, data = datasets(plots.layer_distribution_chart(df, facet="task"))
    assert spec["mark"]["type"] == "bar"
    assert spec["encoding"]["x"] == {"field": "layer", "type": "ordinal", "title": "layer (0 = embeddings)",
                                     "axis": {"labelAngle": 0}}
    assert spec["encoding"]["y"]["field"] == "share"
    assert spec["encoding"]["facet"]["field"] == "task"
    assert data[0] == records(df[["layer", "count", "share", "task"]])


def test_layer_distribution_relative_depth_per_facet():
    df = pd.DataFrame({"model": ["a"] * 3 + ["b"] * 5, "layer": [0, 1, 2, 0, 1, 2, 3, 4],
                       "count": [1] * 8, "share": [1 / 3] * 3 + [0.2] * 5})
    spec, data = datasets(plots.layer_distribution_chart(df, facet="model", relative_depth=True))
    assert spec["mark"]["type"] == "line"
    assert spec["encoding"]["x"]["field"] == "relative_depth"
    assert spec["encoding"]["color"]["field"] == "model"
    assert [r["relative_depth"] for r in data[0]] == [0.0, 0.5, 1.0, 0.0, 0.25, 0.5, 0.75, 1.0]
    # n_layers (counting the embeddings) overrides the depth read from the data: model a really
    # has layers 0..4, like b.
    _, data = datasets(plots.layer_distribution_chart(df, facet="model", relative_depth=True,
                                                      n_layers={"a": 5, "b": 5}))
    assert [r["relative_depth"] for r in data[0]] == [0.0, 0.25, 0.5, 0.0, 0.25, 0.5, 0.75, 1.0]
    # a table's own relative_depth column (analysis.layer_distribution writes one) is used as is
    _, data = datasets(plots.layer_distribution_chart(df.assign(relative_depth=[0.0, 0.1, 0.2] + [0.5] * 5),
                                                      facet="model", relative_depth=True))
    assert [r["relative_depth"] for r in data[0]][:4] == [0.0, 0.1, 0.2, 0.5]


def test_add_relative_depth_checks():
    df = pd.DataFrame({"layer": [0, 3, 6]})
    assert plots.add_relative_depth(df)["relative_depth"].tolist() == [0.0, 0.5, 1.0]
    assert plots.add_relative_depth(df, n_layers=7)["relative_depth"].tolist() == [0.0, 0.5, 1.0]
    # n_layers counts the embeddings: a 12-layer model has n_layers=13
    assert plots.add_relative_depth(df, n_layers=13)["relative_depth"].tolist() == [0.0, 0.25, 0.5]
    with pytest.raises(ValueError, match=r"layer 6 is beyond the last layer 3 \(n_layers=4"):
        plots.add_relative_depth(df, n_layers=4)
    with pytest.raises(ValueError, match="no entry for model value"):
        plots.add_relative_depth(df.assign(model="m"), by="model", n_layers={"other": 7})
    with pytest.raises(ValueError, match="integers >= 0"):
        plots.add_relative_depth(pd.DataFrame({"layer": [0, 1.5]}))


def test_relative_depth_agrees_with_analysis():
    """analysis.layer_distribution and the charts share one meaning of n_layers (embeddings counted)."""
    from neuronbook.analysis.layers import layer_distribution, tag_layer_counts
    from neuronbook.neurons import relative_depth

    selected = pd.DataFrame({"layer": [1, 6, 6, 3], "neuron": [0, 1, 2, 3], "tag": ["A", "A", "B", "B"]})
    dist = layer_distribution(selected, n_layers=7)
    assert dist.set_index("layer").loc[6, "relative_depth"] == 1.0
    expected = relative_depth(np.arange(7), 7).tolist()
    assert dist["relative_depth"].tolist() == expected
    assert plots.add_relative_depth(dist.drop(columns="relative_depth"), n_layers=7)["relative_depth"].tolist() \
        == expected
    # the chart computing depth from n_layers and the chart reading the table's column agree
    _, computed = datasets(plots.layer_distribution_chart(dist.drop(columns="relative_depth"), relative_depth=True,
                                                          n_layers=7))
    _, given = datasets(plots.layer_distribution_chart(dist, relative_depth=True))
    assert [r["relative_depth"] for r in computed[0]] == [r["relative_depth"] for r in given[0]] == expected
    cells = tag_layer_counts(selected, n_layers=7)
    assert plots.add_relative_depth(cells, by="tag", n_layers=7)["relative_depth"].tolist() \
        == cells["relative_depth"].tolist()
    # a model whose deepest selected neuron is not in its last layer: only n_layers gives depth 1 to layer 6
    shallow = layer_distribution([1, 3], n_layers=7)
    assert plots.add_relative_depth(shallow[shallow["count"] > 0].drop(columns="relative_depth"),
                                    n_layers=7)["relative_depth"].tolist() == [1 / 6, 0.5]


def test_row_guard():
    big = pd.DataFrame({"task": np.repeat(np.arange(1001), 5), "layer": np.tile(np.arange(5), 1001),
                        "count": 1, "share": 0.2})
    assert len(big) == 5005
    with pytest.raises(ValueError, match=r"5005 rows, more than the 5000"):
        plots.layer_distribution_chart(big, facet="task")
    ok = big[big["task"] < 1000]  # exactly 5000 rows is allowed
    assert len(datasets(plots.layer_distribution_chart(ok, facet="task"))[1][0]) == 5000


def test_tag_layer_heatmap():
    df = pd.DataFrame({"tag": ["NN", "NN", "VB", "VB"], "layer": [0, 1, 0, 1], "count": [4, 1, 0, 7]})
    spec, data = datasets(plots.tag_layer_heatmap(df))
    assert [layer["mark"]["type"] for layer in spec["layer"]] == ["rect", "text"]
    assert data[0] == records(df)
    rect = spec["layer"][0]["encoding"]
    assert (rect["x"]["field"], rect["y"]["field"], rect["color"]["field"]) == ("layer", "tag", "count")
    assert rect["y"]["sort"] == {"field": "count", "op": "sum", "order": "descending"}
    # Text turns white above half the largest count (7 / 2).
    assert spec["layer"][1]["encoding"]["color"]["condition"]["test"] == "(datum['count'] > 3.5)"
    no_labels, _ = datasets(plots.tag_layer_heatmap(df, labels=False))
    assert len(no_labels["layer"]) == 1
    with pytest.raises(ValueError, match="several rows"):
        plots.tag_layer_heatmap(pd.concat([df, df.head(1)]))


def test_layerwise_accuracy_with_and_without_colour():
    df = pd.DataFrame({"task": ["POS"] * 2 + ["SEM"] * 2, "layer": [0, 1, 0, 1], "accuracy": [0.8, 0.9, 0.6, 0.7]})
    spec, data = datasets(plots.layerwise_accuracy_chart(df))
    assert [layer["mark"]["type"] for layer in spec["layer"]] == ["line", "point"]
    assert spec["layer"][0]["encoding"]["color"]["field"] == "task"
    assert data[0] == records(df[["layer", "accuracy", "task"]])
    single = df[df["task"] == "POS"].drop(columns="task")
    spec, data = datasets(plots.layerwise_accuracy_chart(single))
    assert "color" not in spec["layer"][0]["encoding"]
    assert data[0] == [{"layer": 0, "accuracy": 0.8}, {"layer": 1, "accuracy": 0.9}]
    with pytest.raises(ValueError, match="no column 'task'"):
        plots.layerwise_accuracy_chart(df.drop(columns="task"))
    spec, _ = datasets(plots.layerwise_accuracy_chart(df.rename(columns={"task": "model"}), color="model"))
    assert spec["layer"][0]["encoding"]["color"]["field"] == "model"


# ----------------------------------------------------------------------------- comparisons


def make_summary():
    return pd.DataFrame({"task": ["POS", "POS", "SEM", "SEM"],
                         "model": ["pretrained", "fine-tuned"] * 2,
                         "mean_layer": [2.5, 2.0, 3.5, 4.5], "n_neurons": [40, 30, 60, 50],
                         "accuracy": [0.9, 0.92, 0.85, 0.8]})


def test_finetuning_shift_dumbbell_and_overlap():
    summary = make_summary()
    overlap = pd.DataFrame({"task": ["POS", "SEM"], "jaccard": [0.25, 0.5]})
    spec, data = datasets(plots.finetuning_shift_chart(summary, overlap))
    dumbbell, bars = spec["hconcat"]
    rule, points = dumbbell["layer"]
    assert rule["mark"]["type"] == "rule"
    assert (rule["encoding"]["x"]["aggregate"], rule["encoding"]["x2"]["aggregate"]) == ("min", "max")
    assert points["encoding"]["color"]["scale"]["domain"] == ["pretrained", "fine-tuned"]
    assert data[0] == records(summary)
    assert data[1] == records(overlap)
    # Bars follow the dumbbell's order: largest mean layer first (SEM 4.5, POS 2.5).
    assert bars["encoding"]["y"]["sort"] == ["SEM", "POS"]
    assert points["encoding"]["y"]["sort"] == {"field": "mean_layer", "op": "max", "order": "descending"}
    alone, _ = datasets(plots.finetuning_shift_chart(summary))
    assert "layer" in alone and "hconcat" not in alone


def test_finetuning_shift_errors():
    with pytest.raises(ValueError, match=r"unknown value\(s\) \['finetuned'\]"):
        plots.finetuning_shift_chart(make_summary().replace({"model": {"fine-tuned": "finetuned"}}))
    with pytest.raises(ValueError, match=r"task\(s\) \['NER'\] that the summary lacks"):
        plots.finetuning_shift_chart(make_summary(), pd.DataFrame({"task": ["NER"], "jaccard": [0.1]}))


def test_architecture_comparison_from_layers():
    df = pd.DataFrame({"model": ["big"] * 5 + ["small"] * 3, "layer": [0, 1, 2, 3, 4, 0, 1, 2],
                       "share": [0.1, 0.2, 0.4, 0.2, 0.1, 0.2, 0.5, 0.3],
                       "percent_needed": [1.5] * 5 + [4.0] * 3})
    spec, data = datasets(plots.architecture_comparison_chart(df))
    lines, bars = spec["hconcat"]
    assert lines["mark"]["type"] == "line" and bars["mark"]["type"] == "bar"
    assert [r["relative_depth"] for r in data[0]] == [0.0, 0.25, 0.5, 0.75, 1.0, 0.0, 0.5, 1.0]
    assert [r["share"] for r in data[0]] == df["share"].tolist()
    assert data[1] == [{"model": "big", "percent_needed": 1.5}, {"model": "small", "percent_needed": 4.0}]
    bad = df.assign(percent_needed=[1.5] * 4 + [2.0] + [4.0] * 3)
    with pytest.raises(ValueError, match=r"differs between rows of model\(s\) \['big'\]"):
        plots.architecture_comparison_chart(bad)
    with pytest.raises(ValueError, match="'relative_depth' or a 'layer'"):
        plots.architecture_comparison_chart(df.drop(columns="layer"))


def test_architecture_comparison_given_relative_depth():
    df = pd.DataFrame({"model": ["a", "a"], "relative_depth": [0.0, 1.0], "share": [0.3, 0.7],
                       "percent_needed": [2.0, 2.0]})
    _, data = datasets(plots.architecture_comparison_chart(df))
    assert data[0] == records(df[["model", "relative_depth", "share"]])


def test_language_similarity_mirrors_pairs():
    dist = pd.DataFrame({"language": ["en", "en", "de", "de"], "layer": [0, 1, 0, 1], "share": [0.4, 0.6, 0.3, 0.7]})
    sim = pd.DataFrame({"language_a": ["en", "en", "de"], "language_b": ["en", "de", "de"], "jaccard": [1.0, 0.3, 1.0]})
    spec, data = datasets(plots.language_similarity_chart(dist, sim))
    lines, matrix = spec["hconcat"]
    assert lines["mark"]["type"] == "line"
    assert [layer["mark"]["type"] for layer in matrix["layer"]] == ["rect", "text"]
    assert data[0] == records(dist)
    assert data[1] == records(sim) + [{"language_a": "de", "language_b": "en", "jaccard": 0.3}]
    assert matrix["layer"][0]["encoding"]["x"]["sort"] == ["de", "en"]
    # A similarity table alone, passed positionally, gives just the matrix.
    alone, data = datasets(plots.language_similarity_chart(sim))
    assert "hconcat" not in alone and len(data[0]) == 4
    with pytest.raises(ValueError, match="needs a layer distribution"):
        plots.language_similarity_chart()


# ----------------------------------------------------------------------------- activations


def test_activation_text_layout_and_colours():
    words = [["the", "cat"], ["ran"]]
    values = [np.array([-2.0, 1.0]), np.array([0.5])]
    spec, data = datasets(plots.activation_text_chart(words, values, title="n"))
    assert [layer["mark"]["type"] for layer in spec["layer"]] == ["rect", "text"]
    rows = data[0]
    assert [r["word"] for r in rows] == ["the", "cat", "ran"]
    assert [r["sign"] for r in rows] == ["negative", "positive", "positive"]
    assert [r["alpha"] for r in rows] == [1.0, 0.5, 0.25]  # |v| / max |v| = 2
    # 3 characters x 7.8 px + 2 x 3 px padding, then half a character of space.
    assert rows[0]["x"] == 0.0 and rows[0]["x2"] == pytest.approx(29.4)
    assert rows[1]["x"] == pytest.approx(33.3)
    assert rows[2]["x"] == 0.0 and rows[2]["y"] > rows[0]["y2"]  # second sentence on a new line
    assert spec["layer"][0]["encoding"]["color"]["scale"]["range"] == ["#d73027", "#4575b4"]
    assert spec["title"] == "n"
    # A fixed max_abs caps opacity at 1 and keeps charts comparable.
    _, data = datasets(plots.activation_text_chart(words, values, max_abs=1.0))
    assert [r["alpha"] for r in data[0]] == [1.0, 1.0, 0.5]


def test_activation_text_wraps_long_sentences_and_rejects_bad_input():
    words = [["abcd"] * 5 + ["abcdefghijkl"]]  # "abcd abcd" is 9 characters: two words per line of 10
    _, data = datasets(plots.activation_text_chart(words, [np.arange(6.0)], max_chars=10))
    # Word boxes are 4 x 7.8 + 6 px wide, half a character apart.
    assert [r["x"] for r in data[0]] == pytest.approx([0.0, 41.1, 0.0, 41.1, 0.0, 0.0])
    assert len({r["y"] for r in data[0]}) == 4  # the 12-character word gets its own line
    with pytest.raises(ValueError, match="sentence 1: 1 words but values of shape"):
        plots.activation_text_chart([["a"], ["b"]], [np.array([1.0]), np.array([1.0, 2.0])])
    with pytest.raises(ValueError, match="sentence 0: values contain NaN"):
        plots.activation_text_chart([["a"]], [np.array([np.nan])])
    with pytest.raises(ValueError, match="more than the 5000"):
        plots.activation_text_chart([["w"] * 5001], [np.ones(5001)])


def test_activation_html():
    text = plots.activation_html([["the", "<cat>"], ["ran"]], [np.array([-1.0, 2.0]), np.array([0.0])])
    assert text.count("<span") == 3 and text.count('<div style="margin') == 2
    assert "rgba(215, 48, 39, 0.500)" in text  # -1 of max 2: red at half opacity
    assert "rgba(69, 117, 180, 1.000)" in text
    assert "&lt;cat&gt;" in text and "<cat>" not in text
    assert 'title="-1"' in text
    assert "<script" not in text


# ----------------------------------------------------------------------------- top words


def test_top_words_golden_values():
    words = [["a", "b"], ["a", "c"]]
    values = np.array([4.0, 0.0, 1.0, -1.0])  # mean 1, std sqrt(3.5)
    table = plots.top_words(words, values)
    assert list(table.columns) == ["rank", "word", "count", "mean_z", "mean_signed_z"]
    assert table["word"].tolist() == ["c", "a", "b"]
    assert table["rank"].tolist() == [1, 2, 3]
    assert table["count"].tolist() == [1, 2, 1]
    std = np.sqrt(3.5)
    assert table["mean_z"].tolist() == pytest.approx([2 / std, 1.5 / std, 1 / std])
    assert table["mean_signed_z"].tolist() == pytest.approx([-2 / std, 1.5 / std, -1 / std])
    assert plots.top_words(words, values, min_count=2)["word"].tolist() == ["a"]
    assert plots.top_words(words, values, k=1)["word"].tolist() == ["c"]


def test_top_words_errors_and_constant_neuron(caplog):
    with pytest.raises(ValueError, match="4 words, values of shape"):
        plots.top_words([["a", "b"], ["a", "c"]], np.ones(3))
    with caplog.at_level(logging.WARNING, logger="neuronbook.plots"):
        table = plots.top_words([["a", "b"]], np.ones(2))
    assert table["mean_z"].tolist() == [0.0, 0.0]
    assert "constant" in caplog.text


def test_top_words_chart():
    table = plots.top_words([["a", "b"], ["a", "c"]], np.array([4.0, 0.0, 1.0, -1.0]))
    spec, data = datasets(plots.top_words_chart(table, title="neuron 3:7"))
    assert spec["mark"]["type"] == "bar"
    assert spec["encoding"]["y"]["field"] == "word"
    assert spec["encoding"]["x"]["field"] == "mean_z"
    assert spec["encoding"]["color"]["field"] == "direction"
    assert data[0] == records(table[["word", "count", "mean_z", "mean_signed_z"]])
    unsigned, _ = datasets(plots.top_words_chart(table.drop(columns="mean_signed_z")))
    assert "color" not in unsigned["encoding"]


# ----------------------------------------------------------------------------- export


def small_chart():
    return plots.layer_distribution_chart(pd.DataFrame({"layer": [0, 1], "count": [1, 3], "share": [0.25, 0.75]}))


def test_save_html_and_json(tmp_path):
    chart = small_chart()
    html_path = plots.save_chart(chart, tmp_path / "sub" / "chart.html")
    text = html_path.read_text()
    assert "vega" in text and '"share"' in text and "requirejs" not in text.lower()
    json_path = plots.save_chart(chart, tmp_path / "chart.json")
    assert json.loads(json_path.read_text())["mark"]["type"] == "bar"
    with pytest.raises(ValueError, match="'chart.gif'"):
        plots.save_chart(chart, tmp_path / "chart.gif")


def test_save_png(tmp_path):
    pytest.importorskip("vl_convert")
    path = plots.save_chart(small_chart(), tmp_path / "chart.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    svg = plots.save_chart(small_chart(), tmp_path / "chart.svg")
    assert svg.read_text().lstrip().startswith("<svg")


def test_save_png_without_vl_convert(tmp_path, monkeypatch):
    monkeypatch.setattr(export, "_have_vl_convert", lambda: False)
    with pytest.raises(ImportError, match="needs vl-convert-python"):
        plots.save_chart(small_chart(), tmp_path / "chart.png")
    assert not (tmp_path / "chart.png").exists()
    # HTML still works, loading the scripts from a CDN instead of inlining them.
    assert "cdn.jsdelivr.net" in plots.save_chart(small_chart(), tmp_path / "chart.html").read_text()
