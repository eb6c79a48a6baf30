"""LocalizationView: task / tag selectors and the relative-depth toggle over hand-made tag x layer tables."""

from __future__ import annotations

import pandas as pd
import pytest

from neuronbook.analysis import layer_distribution, tag_layer_counts
from neuronbook.plots import depth_heatmap
from neuronbook.widgets.localization import ALL_TAGS, LocalizationView


def _records(chart) -> list[dict]:
    """Every data row a chart carries (all its datasets)."""
    spec = chart.to_dict()
    return [row for rows in spec.get("datasets", {}).values() for row in rows]


@pytest.fixture
def tables():
    # upos: DET twice in layer 0, NOUN once in layer 1 and twice in layer 2; suffix: "-s" in layer 2 only
    per_tag = pd.DataFrame({"task": ["upos"] * 5 + ["suffix"] * 2,
                            "tag": ["DET", "DET", "NOUN", "NOUN", "NOUN", "-s", "-s"],
                            "layer": [0, 0, 1, 2, 2, 2, 2]})
    tag_layers = pd.concat([tag_layer_counts(per_tag[per_tag["task"] == t], n_layers=3).assign(task=t)
                            for t in ("upos", "suffix")], ignore_index=True)
    minimal = pd.DataFrame({"task": ["upos", "upos", "suffix"], "layer": [0, 2, 2]})
    return tag_layers, layer_distribution(minimal, 3, by="task")


def test_all_tags_is_the_heatmap_of_the_first_task(tables):
    view = LocalizationView(*tables, chart_mode="output")
    assert (view.task, view.tag, view.relative_depth) == ("upos", None, False)
    assert view.tags == ["NOUN", "DET"]  # most neurons first
    assert list(view.tag_picker.options) == [ALL_TAGS, "NOUN", "DET"]
    counts = view.table.set_index(["tag", "layer"])["count"]
    assert counts[("DET", 0)] == 2 and counts[("NOUN", 2)] == 2 and counts[("DET", 2)] == 0
    marks = [layer["mark"]["type"] for layer in view.chart.to_dict()["layer"]]
    assert marks == ["rect", "text"]
    assert "5 neurons" in view.text and "2 tags" in view.text


def test_one_tag_then_relative_depth(tables):
    view = LocalizationView(*tables, chart_mode="output")
    view.set_tag("NOUN")
    assert view.tag_picker.value == "NOUN"
    assert view.table[["layer", "count"]].values.tolist() == [[0, 0], [1, 1], [2, 2]]
    assert view.chart.to_dict()["mark"]["type"] == "bar"
    assert "most in layer 2 (67%)" in view.text and "mean relative depth 0.83" in view.text
    view.set_relative_depth(True)
    assert view.depth_toggle.value is True
    spec = view.chart.to_dict()
    assert spec["mark"]["type"] == "line" and spec["encoding"]["x"]["field"] == "relative_depth"
    assert sorted(r["relative_depth"] for r in _records(view.chart)) == [0.0, 0.5, 1.0]
    # back to every tag, still on the depth axis: the heat map's columns are labelled by depth
    view.set_tag(None)
    assert view.chart.to_dict()["layer"][0]["encoding"]["x"]["field"] == "depth"
    assert {r["depth"] for r in _records(view.chart)} == {"0.00", "0.50", "1.00"}
    # the overview overlays the tasks as lines over depth
    assert view.overview.to_dict()["mark"]["type"] == "line"


def test_controls_drive_the_view_and_a_task_change_resets_the_tag(tables):
    view = LocalizationView(*tables, chart_mode="output")
    view.tag_picker.value = "DET"  # what a click in the dropdown does
    assert view.tag == "DET" and view.table["count"].tolist() == [2, 0, 0]
    view.task_picker.value = "suffix"
    assert view.task == "suffix" and view.tag is None  # DET is no suffix tag
    assert list(view.tag_picker.options) == [ALL_TAGS, "-s"] and view.tag_picker.value == ALL_TAGS
    assert view.table["tag"].unique().tolist() == ["-s"]
    view.depth_toggle.value = True
    assert view.relative_depth


def test_bad_selection_names_the_choices(tables):
    view = LocalizationView(*tables, chart_mode="output")
    with pytest.raises(ValueError, match=r"task 'upos' has no tag 'VERB'; its tags: \['NOUN', 'DET'\]"):
        view.set_tag("VERB")
    with pytest.raises(ValueError, match="unknown task 'ner'"):
        view.set_task("ner")
    with pytest.raises(ValueError, match="lacks column"):
        LocalizationView(tables[0].drop(columns="relative_depth"))


def test_a_table_without_task_column_is_one_task():
    tl = tag_layer_counts(pd.DataFrame({"tag": ["A", "B"], "layer": [0, 1]}), n_layers=2)
    view = LocalizationView(tl, chart_mode="output")
    assert view.tasks == ["task"] and view.overview is None
    assert depth_heatmap(tl).to_dict()["layer"][0]["mark"]["type"] == "rect"
