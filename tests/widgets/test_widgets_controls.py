"""The small controls: options from the registries, values that map onto LCAConfig."""

from __future__ import annotations

import subprocess
import sys

import pytest

from neuronbook.config import LCAConfig
from neuronbook.corpus import list_tasks
from neuronbook.models import list_models
from neuronbook.rank import RANKERS
from neuronbook.widgets import (
    corpus_picker,
    model_picker,
    neuron_picker,
    percent_slider,
    ranker_picker,
    task_picker,
    threshold_slider,
)


def test_importing_neuronbook_or_widgets_does_not_import_ipywidgets():
    code = ("import sys, neuronbook, neuronbook.widgets; "
            "print(sorted(m for m in ('ipywidgets', 'anywidget', 'altair') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_model_picker_lists_presets_installed_first():
    w = model_picker("tiny-random")
    assert w.value == "tiny-random"
    table = list_models()
    values = [v for _, v in w.options]
    assert set(values) == set(table["alias"])
    installed = dict(zip(table["alias"], table["installed"]))
    flags = [installed[v] for v in values]
    assert flags == sorted(flags, reverse=True)  # every installed preset before any missing one
    assert "(installed)" in dict((v, lab) for lab, v in w.options)["tiny-random"]


def test_model_picker_keeps_a_full_id_or_folder_as_given():
    default = LCAConfig().model
    assert model_picker().value == default  # the preset's full id, as the config writes it
    assert default in [v for _, v in model_picker().options]
    w = model_picker("/some/folder")
    assert w.value == "/some/folder" and w.options[0] == ("/some/folder", "/some/folder")


def test_corpus_picker_found_corpora_first(tmp_path, monkeypatch):
    monkeypatch.delenv("NEURONBOOK_DATA", raising=False)
    monkeypatch.setenv("NEURONBOOK_CACHE", str(tmp_path / "cache"))
    d = tmp_path / "ud" / "en_ewt"
    d.mkdir(parents=True)
    (d / "en_ewt-ud-test.conllu").write_text("1\thi\thi\tINTJ\tUH\t_\t0\troot\t_\t_\n\n")
    w = corpus_picker("ud:en_ewt", data_dir=str(tmp_path))
    assert w.value == "ud:en_ewt"
    labels = [lab for lab, _ in w.options]
    assert labels[0] == "ud:en_ewt (found)"
    assert all(lab.endswith("(not found)") for lab in labels[1:]) and "pmb:de (not found)" in labels
    assert corpus_picker("/data/my.conllu", data_dir=str(tmp_path)).options[0][1] == "/data/my.conllu"


def test_task_picker_offers_the_registry_and_free_text():
    w = task_picker("upos")
    assert w.value == "upos" and list(w.options) == list_tasks()["task"].tolist()
    w.value = "feats:Number"  # a parametrised task is typed in
    assert LCAConfig(task=w.value).task == "feats:Number"


def test_ranker_picker_and_threshold_slider():
    assert list(ranker_picker().options) == list(RANKERS)
    with pytest.raises(ValueError, match="unknown ranker 'nope'"):
        ranker_picker("nope")
    s = threshold_slider(0.8, min=0.5, max=1.0, step=0.1)
    assert (s.value, s.min, s.max) == (0.8, 0.5, 1.0)
    with pytest.raises(ValueError, match="outside"):
        threshold_slider(1.5)


def test_percent_slider_offers_the_measured_percents(planted_result):
    s = percent_slider(planted_result)
    values = [v for _, v in s.options]
    # the minimal-set search tried 5 % and 10 % (1 and 2 of 24 neurons) and, for its bootstrap, the grid point
    # after the hit (25 %); the ablation 10 % and 50 %
    assert values == pytest.approx([5.0, 10.0, 25.0, 50.0])
    assert s.value == pytest.approx(float(planted_result.minimal_set["percent"].iloc[0]))
    assert percent_slider(planted_result, 40).value == 50.0


def test_neuron_picker_top_dropdown_and_layer_neuron(planted_result):
    p = neuron_picker(planted_result, top=5)
    first = tuple(int(v) for v in planted_result.ranking.iloc[0][["layer", "neuron"]])
    assert p.value == first and p.top.value == first
    seen = []
    p.observe(seen.append)
    second = p.top.options[2][1]  # options[0] is "(other)"
    p.top.value = second
    assert p.value == second and (p.layer.value, p.neuron.value) == second
    p.layer.value = 0
    p.neuron.value = 3
    assert p.value == (0, 3)
    assert p.top.value is None  # (0, 3) is not among the top 5
    assert seen[0] == second and seen[-1] == (0, 3)
    with pytest.raises(ValueError, match="layer 3 was not analysed"):
        p.value = (3, 0)
    with pytest.raises(ValueError, match="neuron 9 of layer 1 was not analysed"):
        p.value = (1, 9)
    assert p.neuron.max == 7
