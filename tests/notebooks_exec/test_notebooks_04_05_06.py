"""04_finetuning, 05_architectures and 06_languages run headlessly (papermill) on tiny models and corpora."""

from __future__ import annotations

import numpy as np
import nbformat
import pandas as pd
import pytest

import neuronbook as nb
from neuronbook.notebooks import NotebookError, run_notebook
from notebook_checks import NOTEBOOKS, TINY, check_run
from tiny import make_tiny_model

pytestmark = pytest.mark.notebook


@pytest.fixture(scope="module")
def models(ws):
    """Two saved tiny models: "tiny-ft" has the shape of the tiny-random preset (2 layers x 32), the
    "fine-tuned" model of 04; "tiny-deep" is deeper and narrower (4 layers x 16), for 05."""
    saved = {}
    for name, kw in (("tiny-ft", dict(seed=1, hidden_size=32)), ("tiny-deep", dict(seed=2, num_hidden_layers=4))):
        model, tokenizer = make_tiny_model(**kw)
        model.save_pretrained(ws.root / name)
        tokenizer.save_pretrained(ws.root / name)
        saved[name] = str(ws.root / name)
    return saved


def _params(ws, **params) -> dict:
    """The comparison notebooks: l1 alone (l2 follows it), ablation without retraining."""
    return {**TINY, **ws.files, "l1": 0.001, "ablation_percents": [10], **params}


def test_finetuning_runs(ws, models):
    out = ws.root / "04-headless"
    params = _params(ws, pretrained="tiny-random", finetuned=models["tiny-ft"], tasks=["upos", "xpos"],
                     interactive=False)
    executed = run_notebook(NOTEBOOKS / "04_finetuning.ipynb", params, out, timeout=300)
    headline = check_run(out, executed, False, ["finetuning_shift", "finetuning_layers"],
                         ["runs", "finetuning_summary", "finetuning_overlap", "finetuning_layers"])
    runs = pd.read_csv(out / "runs.csv")
    assert runs[["task", "model"]].values.tolist() == [["upos", "pretrained"], ["upos", "fine-tuned"],
                                                      ["xpos", "pretrained"], ["xpos", "fine-tuned"]]
    assert (runs["l1"] == 0.001).all() and (runs["l2"] == 0.001).all() and not runs["searched"].any()
    overlap = pd.read_csv(out / "finetuning_overlap.csv").set_index("task")
    for task in ("upos", "xpos"):
        assert headline[f"{task} jaccard"] == pytest.approx(overlap.loc[task, "jaccard"])
        assert 0 <= headline[f"{task} jaccard"] <= 1
    layers = pd.read_csv(out / "finetuning_layers.csv")
    assert sorted(layers["layer"].unique()) == [0, 1, 2]  # tiny models: embeddings + 2 layers
    assert nb.LCAResult.load(out / "results" / "fine-tuned-xpos").config.model == models["tiny-ft"]


def test_finetuning_searches_the_penalty_on_the_pretrained_model(ws, models):
    """l1 = None: the pretrained run searches, the fine-tuned run reuses its penalty (with the widgets shown)."""
    out = ws.root / "04-interactive"
    params = _params(ws, pretrained="tiny-random", finetuned=models["tiny-ft"], tasks=["upos"], l1=None,
                     search_grid=[0.0, 0.01], interactive=True)
    executed = run_notebook(NOTEBOOKS / "04_finetuning.ipynb", params, out, timeout=300)
    check_run(out, executed, True, ["finetuning_shift", "finetuning_layers"], ["finetuning_overlap"])
    runs = pd.read_csv(out / "runs.csv").set_index("model")
    assert runs.loc["pretrained", "searched"] and not runs.loc["fine-tuned", "searched"]
    # the pretrained run's pair is the criterion's own pick from the search table it recorded; the
    # fine-tuned run uses that pair
    pre = nb.LCAResult.load(out / "results" / "pretrained-upos")
    searched = pre.regularization
    assert searched[["l1", "l2"]].values.tolist() == [[0.0, 0.0], [0.01, 0.01]]  # the grid given, both tried
    _, best = nb.evaluate.choose_penalty(searched, pre.config.search_criterion, tolerance=pre.config.search_tolerance,
                                n_dev=int(pre.classes["n_dev"].sum()))
    assert (pre.info["l1"], pre.info["l2"]) == best
    assert searched.loc[searched["chosen"], ["l1", "l2"]].values.tolist() == [list(best)]
    for model in ("pretrained", "fine-tuned"):
        assert (runs.loc[model, "l1"], runs.loc[model, "l2"]) == pytest.approx(best)
    assert nb.LCAResult.load(out / "results" / "fine-tuned-upos").info["l1"] == best[0]


@pytest.mark.parametrize("interactive", [False, True])
def test_architectures_runs(ws, models, interactive):
    out = ws.root / f"05-{interactive}"
    not_installed = nb.list_models().query("not installed")["alias"].tolist()
    # a preset that is not installed is skipped with a message
    params = _params(ws, models=["tiny-random", models["tiny-deep"]] + not_installed[:1], task="upos",
                     interactive=interactive)
    executed = run_notebook(NOTEBOOKS / "05_architectures.ipynb", params, out, timeout=300)
    headline = check_run(out, executed, interactive, ["architectures"],
                         ["runs", "architectures_summary", "architectures_layers"])
    summary = pd.read_csv(out / "architectures_summary.csv").set_index("model")
    assert summary.index.tolist() == ["tiny-random", "tiny-deep"]  # labels: the last part of each name
    assert summary["n_layers"].tolist() == [3, 5] and summary["n_neurons_total"].tolist() == [96, 80]
    needed = summary.loc["tiny-deep", "percent_needed"]
    if summary.loc["tiny-deep", "reached"]:
        assert headline["tiny-deep % needed"] == pytest.approx(needed)
    else:  # a minimal set never reached has no size: NaN in the table, null in the headline, not 100 %
        assert np.isnan(needed) and headline["tiny-deep % needed"] is None
    depth = pd.read_csv(out / "architectures_layers.csv").query("model == 'tiny-deep'")["relative_depth"]
    assert depth.tolist() == pytest.approx([0, 0.25, 0.5, 0.75, 1])
    if not_installed:
        text = "".join(o.get("text", "") for c in nbformat.read(executed, as_version=4).cells
                       for o in c.get("outputs", []))
        assert f"skipping {not_installed[0]}: preset {not_installed[0]!r} is not installed" in text


def _languages(ws, corpora, interactive: bool) -> dict:
    params = _params(ws, model="tiny-random", corpora=corpora, task="upos", train="dev", test="test",
                     interactive=interactive)
    params.pop("data")
    return params


@pytest.mark.parametrize("interactive", [False, True])
def test_languages_runs(ws, interactive):
    out = ws.root / f"06-{interactive}"
    executed = run_notebook(NOTEBOOKS / "06_languages.ipynb",
                            _languages(ws, [["en", ws.train, ws.test], "ud:xx_toy"], interactive), out, timeout=300)
    headline = check_run(out, executed, interactive, ["languages_similarity", "languages_by_tag"],
                         ["runs", "languages_summary", "languages_layers", "languages_similarity",
                          "languages_tag_similarity", "languages_by_tag"])
    runs = pd.read_csv(out / "runs.csv")
    assert runs["language"].tolist() == ["en", "xx_toy"] and runs["data"].tolist() == ["en", "ud:xx_toy"]
    sim = pd.read_csv(out / "languages_similarity.csv").iloc[0]
    assert (sim["language_a"], sim["language_b"]) == ("en", "xx_toy")
    assert headline["en-xx_toy jaccard"] == pytest.approx(sim["jaccard"])
    sizes = pd.read_csv(out / "languages_summary.csv").set_index("language")["n_neurons"]
    assert sim["chance"] == pytest.approx(sizes["en"] * sizes["xx_toy"] / 96)
    tags = set(pd.read_csv(out / "languages_by_tag.csv")["tag"])
    assert tags == {"DET", "NOUN", "VERB", "ADJ", "PUNCT"}  # the tags both corpora have (ADP: xx_toy only)


def test_languages_rejects_a_bad_corpora_entry(ws):
    with pytest.raises(NotebookError, match=r"a corpora entry is a corpus name or \[label, train_file, test_file\]"):
        run_notebook(NOTEBOOKS / "06_languages.ipynb", _languages(ws, ["ud:xx_toy", ["en", "only-one-file"]], False),
                     ws.root / "06-bad", timeout=300)
