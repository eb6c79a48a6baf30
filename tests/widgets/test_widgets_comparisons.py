"""The comparison views driven from Python, on a planted toy LCA result and hand-built neuron sets."""

from __future__ import annotations

import subprocess
import sys

import pandas as pd
import pytest

from neuronbook.analysis.compare import NeuronSelection, as_selection, jaccard
from neuronbook.widgets.comparisons import ArchitectureView, FineTuningView, LanguagePairView

def selection(neurons, n_layers, width=8, accuracy=0.9):
    """A hand-built minimal set; each neuron also serves two tags (N and V for the first, A and D for the rest)."""
    df = pd.DataFrame(neurons, columns=["layer", "neuron"])
    per_tag = pd.concat([df.head(1).assign(tag="N"), df.head(1).assign(tag="V"), df.iloc[1:].assign(tag="A"),
                         df.iloc[1:].assign(tag="D")], ignore_index=True)
    return NeuronSelection(df, n_layers=n_layers, n_neurons_total=(n_layers - 1) * width, accuracy=accuracy,
                           oracle_accuracy=accuracy + 0.01, per_tag=per_tag)


@pytest.fixture(scope="module")
def toy(planted_result):
    """``low`` is a real LCA result (the planted one of conftest.py): tags decided by the signs of neurons
    (2, 1) and (1, 6), 4 layers; its minimal set is exactly those two."""
    low = planted_result
    assert {tuple(map(int, t)) for t in low.selected[["layer", "neuron"]].values} == {(1, 6), (2, 1)}
    return {"low": low, "high": selection([(2, 1), (2, 5)], 4), "other": selection([(0, 3), (1, 6)], 4),
            "shallow": selection([(0, 2), (1, 5)], 3)}


def _sets(result):
    per_tag = as_selection(result).per_tag
    return {t: set(zip(g["layer"], g["neuron"])) for t, g in per_tag.groupby("tag")}


# ------------------------------------------------------------------------------- fine-tuning

def test_finetuning_view_skips_a_task_without_both_minimal_sets(toy):
    import dataclasses

    unreached = dataclasses.replace(toy["high"], reached=False)
    view = FineTuningView({"pos": toy["low"]}, {"pos": unreached}, chart_mode="output")
    assert "skipped: the minimal set of the fine-tuned model was not reached" in view.text
    assert "shift" in view.text and "Jaccard" not in view.text  # no number made up from a missing set
    for chart in (view.chart, view.shift_chart):  # a line of text, not a chart of NaN (vega fails on those)
        assert chart.to_dict()["mark"]["type"] == "text"


def test_finetuning_view_states_the_shift_and_overlap(toy):
    view = FineTuningView({"pos": toy["low"], "dep": toy["other"]}, {"pos": toy["high"], "dep": toy["low"]},
                          chart_mode="output")
    assert view.tasks == ["pos", "dep"] and view.task == "pos" and view.picker.value == "pos"
    # pos: {(1,6),(2,1)} mean layer 1.5 -> {(2,1),(2,5)} mean layer 2.0; one neuron shared of three
    assert "mean layer shift +0.50" in view.text and "1 neurons in both sets (Jaccard 0.33)" in view.text
    assert view.table["model"].tolist() == ["pretrained", "fine-tuned"]
    assert view.table["mean_layer"].tolist() == [1.5, 2.0] and view.table["n_neurons"].tolist() == [2, 2]
    shares = view.chart.data.set_index(["model", "layer"])["share"]
    assert shares[("pretrained", 1)] == 0.5 and shares[("pretrained", 2)] == 0.5 and shares[("fine-tuned", 2)] == 1.0
    assert set(view.chart.data["task"]) == {"pos"}
    # the shift chart holds both tasks and does not change with the picker
    shift_before = view.shift_chart.to_dict()
    view.picker.value = "dep"  # what the dropdown does in the browser
    assert view.task == "dep" and set(view.chart.data["task"]) == {"dep"}
    # dep: {(0,3),(1,6)} mean 0.5 -> {(1,6),(2,1)} mean 1.5
    assert "mean layer shift +1.00" in view.text and view.note.value == view.text
    assert view.shift_chart.to_dict() == shift_before
    assert view.set_task("pos").picker.value == "pos"
    with pytest.raises(ValueError, match=r"unknown task 'xpos'; the comparison has \['pos', 'dep'\]"):
        view.set_task("xpos")


# ----------------------------------------------------------------------------- architectures

def test_architecture_view_selects_models_and_depth_axis(toy):
    view = ArchitectureView({"deep": toy["low"], "shallow": toy["shallow"]}, chart_mode="output")
    assert view.models == ("deep", "shallow") and view.relative and view.toggle.value
    summary = view.table.set_index("model")
    assert summary["percent_needed"].to_dict() == pytest.approx({"deep": 100 * 2 / 24, "shallow": 100 * 2 / 16})
    # deep: layers 1 and 2 of 4 -> relative depth 1/3, 2/3; shallow: layers 0 and 1 of 3 -> 0, 1/2
    assert summary["mean_relative_depth"].to_dict() == pytest.approx({"deep": 0.5, "shallow": 0.25})
    left = view.chart.hconcat[0]
    assert left.to_dict()["encoding"]["x"]["field"] == "relative_depth"
    assert sorted(left.data.loc[left.data["model"] == "shallow", "relative_depth"]) == pytest.approx([0, 0.5, 1])

    view.toggle.value = False  # the checkbox in the browser
    assert not view.relative
    left = view.chart.hconcat[0]
    assert left.to_dict()["encoding"]["x"]["field"] == "layer"
    assert left.data.set_index(["model", "layer"])["share"][("shallow", 1)] == 0.5

    view.set_models(["shallow"])
    assert view.selector.value == ("shallow",) and view.table["model"].tolist() == ["shallow"]
    assert set(view.chart.hconcat[0].data["model"]) == {"shallow"}
    view.selector.value = ()  # an empty pick keeps the last chart and says why
    assert view.models == ("shallow",) and "pick at least one model" in view.status.value
    view.selector.value = ("deep", "shallow")
    assert view.models == ("deep", "shallow") and view.status.value == ""
    assert view.set_relative(True).toggle.value
    with pytest.raises(ValueError, match="pick at least one model"):
        view.set_models([])
    with pytest.raises(ValueError, match=r"unknown model\(s\) \['tiny'\]"):
        view.set_models(["tiny"])
    with pytest.raises(TypeError, match="list of model labels"):
        view.set_models("deep")


# --------------------------------------------------------------------------------- languages

def test_language_pair_view_overlap_and_tags(toy):
    results = {"en": toy["low"], "de": toy["high"], "it": toy["other"]}
    view = LanguagePairView(results, chart_mode="output")
    assert view.pair == ("en", "de") and (view.picker_a.value, view.picker_b.value) == ("en", "de")
    assert view.similarity["jaccard"] == pytest.approx(1 / 3) and view.similarity["intersection"] == 1
    assert "1 neurons in both minimal sets (2 and 2 neurons; Jaccard 0.333; chance: 0.2 neurons" in view.text
    # chance: two random sets of 2 out of 24 neurons share 2 * 2 / 24 = 1/6, Jaccard (1/6) / (4 - 1/6) = 1/23
    assert view.chance["intersection"] == pytest.approx(1 / 6) and view.chance["jaccard"] == pytest.approx(1 / 23)
    bars = view.chart.vconcat[0].hconcat[1].data  # the pair's overlap drawn beside its chance level
    assert bars["jaccard"].tolist() == pytest.approx([1 / 3, 1 / 23])
    # per-tag overlap: recomputed from the per-tag rankings
    en, de = _sets(toy["low"]), _sets(toy["high"])
    expected = {t: jaccard(en[t], de[t]) for t in en}
    assert dict(zip(view.table["tag"], view.table["jaccard"])) == pytest.approx(expected)
    assert view.table["jaccard"].is_monotonic_decreasing
    assert set(view.chart.vconcat[0].hconcat[0].data["language"]) == {"en", "de"}
    assert view.chart.vconcat[1].data["tag"].tolist() == view.table["tag"].tolist()  # on a row of its own

    view.picker_b.value = "it"
    assert view.pair == ("en", "it") and view.similarity["jaccard"] == pytest.approx(1 / 3)
    assert set(view.chart.vconcat[0].hconcat[0].data["language"]) == {"en", "it"} and view.note.value == view.text
    view.picker_a.value = "it"  # the language the other picker shows: the two swap
    assert view.pair == ("it", "en") and view.picker_b.value == "en"
    # de {(2,1),(2,5)} vs it {(0,3),(1,6)}: nothing shared; order of the pair does not matter
    view.set_pair("it", "de")
    assert view.similarity["intersection"] == 0 and view.similarity["jaccard"] == 0
    with pytest.raises(ValueError, match="two different languages"):
        view.set_pair("en", "en")
    with pytest.raises(ValueError, match=r"unknown language\(s\) \['fr'\]"):
        view.set_pair("en", "fr")
    with pytest.raises(ValueError, match="at least two languages"):
        LanguagePairView({"en": toy["low"]}, chart_mode="output")


def test_importing_the_views_does_not_import_ipywidgets():
    code = "import sys, neuronbook.widgets.comparisons; print('ipywidgets' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
