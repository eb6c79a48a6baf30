"""Layer charts (neuronbook.plots.layers) beyond tests/test_plots.py: the relative-depth heat map."""

from __future__ import annotations

import pandas as pd

from neuronbook.plots import depth_heatmap, tag_layer_heatmap


def test_depth_heatmap_labels_the_layers_by_relative_depth():
    df = pd.DataFrame({"tag": ["NN"] * 3 + ["VB"] * 3, "layer": [0, 1, 2] * 2, "count": [4, 1, 0, 0, 2, 5],
                       "relative_depth": [0.0, 0.5, 1.0] * 2, "share": 0.0})
    chart = depth_heatmap(df)
    spec = chart.to_dict()
    rect = spec["layer"][0]
    assert rect["mark"]["type"] == "rect"
    x = rect["encoding"]["x"]
    assert (x["field"], x["type"], x["sort"]) == ("depth", "ordinal", ["0.00", "0.50", "1.00"])
    assert x["title"] == "relative depth (0 = embeddings, 1 = last layer)"
    assert rect["encoding"]["color"]["field"] == "count"
    assert chart.data[["tag", "layer", "count", "depth"]].values.tolist() == [
        ["NN", 0, 4, "0.00"], ["NN", 1, 1, "0.50"], ["NN", 2, 0, "1.00"],
        ["VB", 0, 0, "0.00"], ["VB", 1, 2, "0.50"], ["VB", 2, 5, "1.00"]]
    assert spec["title"] == "Neurons per tag and relative depth"
    assert spec == tag_layer_heatmap(df, relative_depth=True).to_dict()
