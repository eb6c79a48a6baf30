"""The views driven from Python: accuracy curve, neuron browser, run panel."""

from __future__ import annotations

import logging

import pandas as pd
import pytest

from neuronbook.config import LCAConfig
from neuronbook.widgets import AccuracyCurveView, NeuronBrowser, RunPanel



# ------------------------------------------------------------------------------ accuracy curve

def _layer_data(chart, i):
    return chart.layer[i].data


def test_accuracy_view_starts_at_the_minimal_set(planted_result):
    view = AccuracyCurveView(planted_result, chart_mode="output")
    assert view.percent == 10.0  # the grid point of the 2 planted neurons (10% of 24, rounded)
    # the curve and the ablation meet at the same grid point: top, random and bottom at 2 neurons
    assert sorted(view.markers[["selection", "n_neurons"]].values.tolist()) == [["bottom", 2], ["random", 2],
                                                                               ["top", 2]]
    assert "(the minimal set)" in view.text and "not measured here" not in view.text
    spec = view.chart.to_dict()  # a valid Vega-Lite spec: curve, oracle, rule, markers
    assert len(spec["layer"]) == 3
    oracle = float(planted_result.oracle.set_index("split").loc["test", "accuracy"])
    assert f"oracle) <b>{oracle:.3f}</b>" in view.text


def test_moving_the_percent_moves_the_markers(planted_result):
    view = AccuracyCurveView(planted_result, chart_mode="output")
    before = view.chart.to_dict()
    view.slider.value = 50.0  # what the slider does in the browser
    assert view.percent == 50.0
    ab = planted_result.ablation
    expected = ab[(ab.split == "test") & (ab.percent == 50)].set_index("selection")["accuracy"]
    got = view.markers.set_index("selection")["accuracy"]
    assert sorted(got.index) == ["bottom", "random", "top"]
    assert got.to_dict() == pytest.approx(expected.to_dict())
    assert _layer_data(view.chart, 1)["percent"].tolist() == [50.0]  # the vertical rule
    assert _layer_data(view.chart, 2)["percent"].tolist() == [50.0] * 3
    assert view.chart.to_dict() != before
    assert "With 50% of the neurons (12)" in view.text and f"random <b>{expected['random']:.3f}</b>" in view.text
    assert view.note.value == view.text
    # set_percent snaps to the nearest measured percent and moves the slider too
    assert view.set_percent(11) == 10.0 and view.slider.value == 10.0
    assert view.markers["percent"].unique().tolist() == [10.0]


def test_accuracy_view_rejects_a_result_without_curves(planted_result):
    import dataclasses

    empty = dataclasses.replace(planted_result, curve=planted_result.curve.iloc[:0],
                                ablation=planted_result.ablation.iloc[:0])
    with pytest.raises(ValueError, match="no accuracy on split 'test'"):
        AccuracyCurveView(empty, chart_mode="output")


# ------------------------------------------------------------------------------ neuron browser

def test_browser_shows_weights_activations_and_top_words(planted_result, planted_store):
    b = NeuronBrowser(planted_result, planted_store, neuron=(2, 1), chart_mode="output")
    assert b.neuron == (2, 1)
    pd.testing.assert_frame_equal(b.weights, planted_result.neuron_weights(2, 1))
    assert b.chart.data["tag"].tolist() == b.weights["tag"].tolist()
    assert b.top_words["word"].iloc[0] == "cat"  # fires +5 on "cat" only
    assert b.top_words["mean_signed_z"].iloc[0] > 0
    # the shown sentences are those where it fires most: each holds a "cat", coloured full blue
    assert len(b.sentences) == 5 and all("cat" in planted_store.words[i] for i in b.sentences)
    assert "rgba(69, 117, 180, 1.000)" in b.text and ">cat</span>" in b.text
    assert b.html.value == b.text and b.store_note is None


def test_picking_another_neuron_changes_weights_and_text(planted_result, planted_store):
    b = NeuronBrowser(planted_result, planted_store, neuron=(2, 1), chart_mode="output")
    chart_before, text_before = b.chart.to_dict(), b.text
    b.picker.layer.value = 1  # as a user would: layer, then neuron
    b.picker.neuron.value = 6
    assert b.neuron == (1, 6)
    assert b.chart.data["weight"].tolist() == pytest.approx(planted_result.neuron_weights(1, 6)["weight"].tolist())
    assert b.chart.to_dict() != chart_before and b.text != text_before
    assert b.top_words["word"].iloc[0] == "dog" and b.top_words["mean_signed_z"].iloc[0] < 0
    assert "rgba(215, 48, 39, 1.000)" in b.text and ">dog</span>" in b.text  # full red on "dog"
    assert b.set_neuron(0, 0) == (0, 0) and b.picker.value == (0, 0)
    with pytest.raises(ValueError, match="layer 5 was not analysed"):
        b.set_neuron(5, 0)


def test_clicking_a_neuron_in_the_ranking_chart(planted_result, planted_store):
    b = NeuronBrowser(planted_result, planted_store, neuron=(0, 0), chart_mode="jupyter")
    assert b.clickable and b.ranking_box.widget.__class__.__name__ == "JupyterChart"
    assert b.ranking_box.widget.spec["params"][0]["name"] == "neuron_pick"
    # what the browser sends when the bar of neuron (1, 6) is clicked
    b.ranking_box.widget._vl_selections = {
        "neuron_pick": {"value": {"vlPoint": {"or": [{"layer": 1, "neuron": 6}]}}, "store": []}}
    assert b.neuron == (1, 6) and b.picker.value == (1, 6)
    assert b.top_words["word"].iloc[0] == "dog"
    assert b.weights_box.widget.chart is b.chart  # the JupyterChart redrawn with the new weights


def test_ranking_chart_lists_the_top_neurons(planted_result, planted):
    b = NeuronBrowser(planted_result, store=False, top=6, chart_mode="output")
    data = b.ranking_chart.data
    assert data["rank"].tolist() == [1, 2, 3, 4, 5, 6]
    assert set(zip(data["layer"].head(2), data["neuron"].head(2))) == set(planted)
    assert not b.clickable  # the picker is the way without JupyterChart


def test_browser_without_activations_says_so(planted_result, planted):
    b = NeuronBrowser(planted_result, store=False, chart_mode="output")
    assert b.top_words is None and "No activation store was given" in b.text
    b2 = NeuronBrowser(planted_result, chart_mode="output")  # the toy result records no store
    assert "does not record its test activation store" in b2.text
    b2.set_neuron(*planted[0])  # weights still browse
    assert b2.weights["weight"].tolist() == pytest.approx(
        planted_result.neuron_weights(*planted[0])["weight"].tolist())


# ------------------------------------------------------------------------------ run panel

@pytest.fixture
def fake_run(monkeypatch, planted_result):
    calls = []

    def run_lca(config=None, *, cache=True, progress="auto", **overrides):
        import warnings

        from neuronbook.exceptions import ApproximationWarning

        calls.append({"config": config, "cache": cache, "progress": progress, "overrides": overrides})
        if config.task == "deprel":
            raise RuntimeError("boom: the analysis failed")
        for _ in range(3):  # the same caveat thrice: one line in the box, counted
            warnings.warn("4-bit weights", ApproximationWarning)
        return planted_result

    monkeypatch.setattr("neuronbook.lca.run_lca", run_lca)
    return calls


@pytest.fixture
def toy_corpora(tmp_path):
    """A CoNLL-U file (upos, xpos, deprel, feats ...) and a CoNLL-2000-style file (pos, chunk, ner columns)."""
    from tiny import write_corpus

    ud = write_corpus(tmp_path / "toy.conllu", 6, 0)
    tagged = tmp_path / "toy.conll"
    tagged.write_text("the DT B-NP O\ncat NN I-NP O\n\nthe DT B-NP O\ndog NN I-NP O\n\n")
    return str(ud), str(tagged)


def test_run_panel_builds_the_config_from_its_controls(fake_run, planted_result, toy_corpora):
    ud, _ = toy_corpora
    base = LCAConfig(data=ud, l1=1e-3, percents=[5, 50], control=False)
    panel = RunPanel(base, progress=False, cache=False)
    assert panel.config == base  # the controls start from the config
    panel.model.value = "tiny-random"
    panel.task.value = "upos"
    panel.max_sentences.value = 30
    seen = []
    panel.on_result(seen.append)
    panel.button.click()
    assert len(fake_run) == 1
    call = fake_run[0]
    assert call["config"] == base.replace(model="tiny-random", task="upos", max_sentences=30)
    assert call["config"].l1 == 1e-3  # other settings kept
    assert (call["cache"], call["progress"], call["overrides"]) == (False, False, {})
    assert panel.result is planted_result and seen == [planted_result]
    assert panel.status.value == "done" and "minimal set by layer" in panel.text
    # the warnings of the run: one caveat, counted, in the box under the headline
    assert panel.caveats.frame()[["kind", "count"]].values.tolist() == [["ApproximationWarning", 3]]
    assert "nb-caveats" in panel.text and "&times;3" in panel.text
    panel.max_sentences.value = 0  # 0 means all sentences
    assert panel.config.max_sentences is None


def test_run_panel_offers_only_the_tasks_of_the_corpus(fake_run, toy_corpora, tmp_path):
    import traitlets

    ud, tagged = toy_corpora
    panel = RunPanel(LCAConfig(data=ud, task="xpos"), progress=False)
    assert {"upos", "xpos", "deprel", "suffix"} <= set(panel.task.options)
    assert not any(t.startswith("control:") for t in panel.task.options)
    with pytest.raises(traitlets.TraitError):
        panel.task.value = "sem"  # not a task of this corpus: the control refuses it
    panel.corpus.options = list(panel.corpus.options) + [(tagged, tagged)]
    panel.corpus.value = tagged  # one label column: the options follow, xpos is gone
    assert list(panel.task.options) == ["suffix", "pos", "chunk", "ner"] and panel.task.value == "suffix"
    assert not panel.button.disabled
    missing = str(tmp_path / "nowhere.conllu")
    panel.corpus.options = list(panel.corpus.options) + [(missing, missing)]
    panel.corpus.value = missing  # cannot be read: nothing offered, Run disabled, one line says why
    assert panel.task.options == () and panel.button.disabled
    assert "failed:</b>" in panel.status.value and "nowhere.conllu" in panel.status.value
    panel.corpus.value = ud
    assert panel.task.value == "suffix" and not panel.button.disabled  # kept: ud has suffix too


def test_run_panel_shows_a_failure_in_one_line(fake_run, caplog, toy_corpora):
    ud, _ = toy_corpora
    panel = RunPanel(LCAConfig(data=ud), progress=False)
    panel.task.value = "deprel"
    with caplog.at_level(logging.ERROR, logger="neuronbook.widgets.views"):
        panel.button.click()  # a click shows the failure, it does not raise
        with pytest.raises(RuntimeError, match="boom"):
            panel.run()  # called from code, it raises too
    assert isinstance(panel.error, RuntimeError) and panel.result is None
    first, _, rest = panel.status.value.partition("</div>")
    assert "failed:</b> RuntimeError: boom: the analysis failed" in first
    assert rest.startswith('<details class="nb-traceback">') and "Traceback (most recent call last)" in rest
    assert "boom" in caplog.text
    assert not panel.button.disabled  # ready for another try
    panel.max_sentences.value = -3  # an invalid setting is an error of the same kind, before any run
    with pytest.raises(ValueError, match="max_sentences"):
        panel.run()
    assert len(fake_run) == 2 and "max_sentences" in panel.status.value
