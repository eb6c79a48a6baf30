"""Charts of several analyses (neuronbook.plots.comparisons): the data they carry and their guards."""

from __future__ import annotations

import pandas as pd
import pytest

from neuronbook.plots import architecture_comparison_chart, finetuning_layers_chart, tag_similarity_chart


def test_finetuning_layers_chart_puts_both_models_side_by_side():
    df = pd.DataFrame({"task": ["pos"] * 4 + ["dep"] * 4, "model": (["pretrained"] * 2 + ["fine-tuned"] * 2) * 2,
                       "layer": [0, 1] * 4, "count": [1, 3, 2, 2, 4, 0, 0, 4], "share": [.25, .75, .5, .5, 1, 0, 0, 1]})
    chart = finetuning_layers_chart(df)
    spec = chart.to_dict()
    facet = spec["encoding"]["facet"]
    assert facet["field"] == "task" and facet["columns"] == 2 and facet["sort"] == ["pos", "dep"]
    assert spec["encoding"]["color"]["scale"]["domain"] == ["pretrained", "fine-tuned"]
    assert chart.data["share"].tolist() == df["share"].tolist()
    with pytest.raises(ValueError, match="'pretrained' or 'fine-tuned', got \\['base'\\]"):
        finetuning_layers_chart(df.replace({"pretrained": "base"}))
    with pytest.raises(ValueError, match="lacks column"):
        finetuning_layers_chart(df.drop(columns="share"))


def test_tag_similarity_chart_needs_one_row_per_tag():
    df = pd.DataFrame({"tag": ["PER", "DEF"], "jaccard": [0.2, 0.05]})
    assert tag_similarity_chart(df).data["tag"].tolist() == ["PER", "DEF"]
    with pytest.raises(ValueError, match="one row per tag"):
        tag_similarity_chart(pd.concat([df, df]))


def test_finetuning_layers_chart_rows_and_encoding():
    df = pd.DataFrame({"task": ["pos"] * 4, "model": ["pretrained", "pretrained", "fine-tuned", "fine-tuned"],
                       "layer": [0.0, 1.0, 0.0, 1.0], "share": [0.25, 0.75, 0.5, 0.5], "extra": 1})
    chart = finetuning_layers_chart(df)
    spec = chart.to_dict()
    assert spec["mark"]["type"] == "bar"
    enc = spec["encoding"]
    assert (enc["x"]["field"], enc["x"]["type"], enc["x"]["title"]) == ("layer", "ordinal", "layer (0 = embeddings)")
    assert (enc["xOffset"]["field"], enc["xOffset"]["sort"]) == ("model", ["pretrained", "fine-tuned"])
    assert (enc["y"]["field"], enc["y"]["axis"]["format"]) == ("share", "%")
    assert enc["color"]["scale"]["range"] == ["#8c8c8c", "#7b3294"]  # as finetuning_shift_chart
    assert enc["facet"]["columns"] == 1
    # the rows drawn: the columns the chart needs (no count column here), layers as integers
    assert chart.data.to_dict("records") == [
        {"task": "pos", "model": "pretrained", "layer": 0, "share": 0.25},
        {"task": "pos", "model": "pretrained", "layer": 1, "share": 0.75},
        {"task": "pos", "model": "fine-tuned", "layer": 0, "share": 0.5},
        {"task": "pos", "model": "fine-tuned", "layer": 1, "share": 0.5}]
    assert [t.get("field") for t in enc["tooltip"]] == ["task", "model", "layer", "share"]


def test_tag_similarity_chart_bars_title_and_height():
    df = pd.DataFrame({"tag": ["PER", "DEF", "LOC"], "jaccard": [0.2, 0.05, 0.1], "intersection": [12, 1, 4],
                       "language_a": "en"})
    chart = tag_similarity_chart(df, title="en vs de")
    spec = chart.to_dict()
    assert spec["mark"] == {"type": "bar", "color": "#7b3294"}
    assert spec["encoding"]["x"]["field"] == "jaccard" and spec["encoding"]["y"]["field"] == "tag"
    assert [t["field"] for t in spec["encoding"]["tooltip"]] == ["tag", "jaccard", "intersection"]
    assert spec["title"] == "en vs de" and spec["height"] == 60  # max(60, 13 per tag)
    assert chart.data.to_dict("records") == [{"tag": "PER", "jaccard": 0.2, "intersection": 12},
                                             {"tag": "DEF", "jaccard": 0.05, "intersection": 1},
                                             {"tag": "LOC", "jaccard": 0.1, "intersection": 4}]
    assert tag_similarity_chart(df.drop(columns="intersection")).to_dict()["title"] == "Same neurons per tag?"
    with pytest.raises(ValueError, match="lacks column"):
        tag_similarity_chart(df.drop(columns="jaccard"))


def _architectures() -> pd.DataFrame:
    return pd.DataFrame({"model": ["deep"] * 3 + ["shallow"] * 2, "layer": [0, 2, 4, 0, 2],
                         "share": [0.2, 0.3, 0.5, 0.4, 0.6], "percent_needed": [1.5] * 3 + [4.0] * 2})


def test_architecture_comparison_on_absolute_layers():
    df = _architectures()
    relative = architecture_comparison_chart(df).to_dict()["hconcat"]
    absolute = architecture_comparison_chart(df, relative_depth=False)
    left, right = absolute.hconcat
    spec = absolute.to_dict()["hconcat"]
    assert relative[0]["encoding"]["x"]["field"] == "relative_depth"
    assert (spec[0]["encoding"]["x"]["field"], spec[0]["encoding"]["x"]["type"]) == ("layer", "quantitative")
    assert spec[0]["encoding"]["x"]["axis"] == {"format": "d", "tickMinStep": 1}
    assert spec[0]["title"] == "Where the neurons sit (layer)"
    assert left.data.to_dict("records") == df[["model", "layer", "share"]].to_dict("records")
    # the right panel is the same in both: the % of neurons each model needs
    assert right.data.to_dict("records") == [{"model": "deep", "percent_needed": 1.5},
                                             {"model": "shallow", "percent_needed": 4.0}]
    assert spec[1] == relative[1]
    with pytest.raises(ValueError, match=r"lacks column\(s\) \['layer'\]"):
        architecture_comparison_chart(pd.DataFrame({"model": ["a", "a"], "relative_depth": [0.0, 1.0],
                                                    "share": [0.5, 0.5], "percent_needed": 2.0}),
                                      relative_depth=False)
