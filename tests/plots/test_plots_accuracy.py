"""Accuracy charts (neuronbook.plots.accuracy) beyond tests/test_plots.py: the curve with one percent marked."""

from __future__ import annotations

import pandas as pd
import pytest

from neuronbook.plots import SELECTION_COLORS, accuracy_curve_chart, marked_accuracy_curve_chart


def _curve() -> pd.DataFrame:
    rows = []
    for split, shift in (("dev", -0.05), ("test", 0.0)):
        for sel, accs in (("top", (0.8, 0.9)), ("random", (0.4, 0.6)), ("bottom", (0.2, 0.3))):
            for (n, pct), acc in zip(((10, 1.0), (50, 5.0)), accs):
                rows.append(dict(selection=sel, n_neurons=n, percent=pct, split=split, accuracy=acc + shift))
    return pd.DataFrame(rows)


def test_marked_curve_is_the_curve_a_rule_and_the_points_at_the_percent():
    curve = _curve()
    chart = marked_accuracy_curve_chart(curve, 5.0, oracle=0.93)
    base, rule, points = chart.layer
    alone = accuracy_curve_chart(curve, oracle=0.93).to_dict()
    spec = chart.to_dict()
    # the curve as accuracy_curve_chart draws it; its size moves up to the chart that holds the three layers
    assert (spec["width"], spec["height"]) == (alone.pop("width"), alone.pop("height")) == (360, 240)
    assert base.to_dict() == alone
    assert rule.data.to_dict("records") == [{"percent": 5.0}]
    assert rule.to_dict()["mark"] == {"type": "rule", "color": "#555"}
    # the test rows at 5 %, one point per selection
    assert points.data.to_dict("records") == [
        {"selection": "top", "percent": 5.0, "n_neurons": 50, "accuracy": 0.9},
        {"selection": "random", "percent": 5.0, "n_neurons": 50, "accuracy": 0.6},
        {"selection": "bottom", "percent": 5.0, "n_neurons": 50, "accuracy": 0.3}]
    spec = points.to_dict()
    assert spec["mark"]["size"] == 160 and spec["encoding"]["color"]["legend"] is None
    assert spec["encoding"]["color"]["scale"] == {"domain": list(SELECTION_COLORS),
                                                  "range": list(SELECTION_COLORS.values())}


def test_marked_curve_of_another_split_and_percent():
    chart = marked_accuracy_curve_chart(_curve(), 1.0, split="dev")
    assert chart.layer[2].data["accuracy"].tolist() == pytest.approx([0.75, 0.35, 0.15])
    assert chart.layer[0].to_dict()["title"] == "Accuracy with a subset of neurons (dev)"
    with pytest.raises(ValueError, match="no rows for split 'train'"):
        marked_accuracy_curve_chart(_curve(), 1.0, split="train")


def _search_curve():
    return pd.DataFrame({"selection": "top", "method": "retrain", "percent": [1.0, 5.0, 10.0], "n_neurons": [5, 25, 50],
                         "split": "dev", "accuracy": [0.5, 0.85, 0.9]})


def test_minimal_set_chart_marks_the_size_and_its_interval():
    from neuronbook.plots import minimal_set_chart

    ms = pd.DataFrame({"n_neurons": [25], "target": [0.84], "reached": [True], "size_low": [20.0], "size_high": [50.0]})
    spec = minimal_set_chart(_search_curve(), ms).to_dict()
    marks = [layer["mark"]["type"] if isinstance(layer["mark"], dict) else layer["mark"] for layer in spec["layer"]]
    assert marks == ["rect", "line", "rule", "rule"]  # interval, curve, target, the chosen size
    values = {k: v for k, v in spec["datasets"].items()}
    assert any(rows == [{"n": 25, "label": "minimal set: 25"}] for rows in values.values())
    assert any(rows[0].get("lo") == 20.0 and rows[0].get("hi") == 50.0 for rows in values.values())
    assert spec["title"].startswith("Minimal set: dev accuracy")


def test_minimal_set_chart_not_reached_draws_no_size_and_says_so():
    from neuronbook.plots import minimal_set_chart

    ms = pd.DataFrame({"n_neurons": [50], "target": [0.95], "reached": [False], "size_low": [50.0], "size_high": [50.0]})
    spec = minimal_set_chart(_search_curve(), ms).to_dict()
    marks = [layer["mark"]["type"] if isinstance(layer["mark"], dict) else layer["mark"] for layer in spec["layer"]]
    assert marks == ["line", "rule"]  # the curve and the target only: no interval, no chosen size
    assert "NOT REACHED" in spec["title"]
