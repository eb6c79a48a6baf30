"""04_finetuning, 05_architectures and 06_languages run headlessly (papermill) on tiny models and corpora."""

from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat
import numpy as np
import pandas as pd
import pytest

import neuronbook as nb
from neuronbook.notebooks import notebook_errors, run_notebook
from tiny import make_tiny_model

REPO = Path(__file__).resolve().parents[2]
NOTEBOOKS = REPO / "notebooks"
NAMES = ["04_finetuning", "05_architectures", "06_languages"]
#: Public names the notebooks call as nb.X.
USED = {"LCAConfig", "notebook_setup", "run_lca", "save_chart", "save_headline", "finetuning_comparison",
        "architecture_comparison", "language_comparison", "finetuning_shift_chart", "architecture_comparison_chart",
        "language_similarity_chart", "list_models", "get_preset", "list_corpora", "LCAResult"}

CONLLU = "# sent_id = {i}\n1\tthe\tthe\tDET\tDT\t_\t2\tdet\t_\t_\n2\t{noun}\t{noun}\tNOUN\tNN\t_\t3\tnsubj\t_\t_\n" \
         "3\t{verb}\t{verb}\tVERB\tVBD\t_\t0\troot\t_\t_\n4\t{adj}\t{adj}\tADJ\tJJ\t_\t3\txcomp\t_\t_\n" \
         "5\t.\t.\tPUNCT\t.\t_\t3\tpunct\t_\t_\n\n"


def _write_corpus(path: Path, n: int, seed: int, nouns, verbs, adjs) -> str:
    rng = np.random.default_rng(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(CONLLU.format(i=i, noun=rng.choice(nouns), verb=rng.choice(verbs), adj=rng.choice(adjs))
                            for i in range(n)))
    return str(path)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """Two tiny corpora ("languages"), two saved tiny models, and a private cache shared by the runs."""
    root = tmp_path_factory.mktemp("nb456")
    en = dict(nouns=["cat", "dog", "house", "mat"], verbs=["sat", "ran", "walked", "talked"], adjs=["big", "red"])
    xx = dict(nouns=["x", "y", "z", "mat"], verbs=["jump", "run", "talking", "walks"], adjs=["small", "blue"])
    corpora = {"en": (_write_corpus(root / "en" / "train.conllu", 50, 0, **en),
                      _write_corpus(root / "en" / "test.conllu", 30, 1, **en))}
    # the second "language" is a named corpus, ud:xx_toy, under data_dir (dev and test splits)
    _write_corpus(root / "data" / "ud" / "xx_toy" / "xx_toy-ud-dev.conllu", 50, 2, **xx)
    _write_corpus(root / "data" / "ud" / "xx_toy" / "xx_toy-ud-test.conllu", 30, 3, **xx)
    models = {}
    # same shape as the tiny-random preset (2 layers x 32): the "fine-tuned" model of 04
    # a deeper, narrower one for 05
    for name, kw in (("tiny-ft", dict(seed=1, hidden_size=32)), ("tiny-deep", dict(seed=2, num_hidden_layers=4))):
        model, tokenizer = make_tiny_model(**kw)
        model.save_pretrained(root / name)
        tokenizer.save_pretrained(root / name)
        models[name] = str(root / name)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("NEURONBOOK_CACHE", str(root / "cache"))  # the kernels inherit it
        mp.setenv("HF_HUB_OFFLINE", "1")
        yield {"root": root, "corpora": corpora, "models": models, "params": {
            "data": "toy", "train": corpora["en"][0], "test": corpora["en"][1], "data_dir": str(root / "data"),
            "max_sentences": 30, "l1": 0.001, "epochs": 2, "percents": [10, 50], "ablation_percents": [10],
            "control": False, "renderer": "auto"}}


def test_the_notebooks_are_committed_clean_and_use_only_exported_names():
    missing = sorted(n for n in USED if not hasattr(nb, n))
    assert not missing, f"neuronbook does not export {missing} (the notebooks call nb.<name>)"
    for name in NAMES:
        book = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
        tagged = [c for c in book.cells if "parameters" in c.metadata.get("tags", [])]
        assert len(tagged) == 1, name
        assert all(not c.get("outputs") and c.get("execution_count") is None
                   for c in book.cells if c.cell_type == "code"), f"{name} is committed with outputs"
        source = "".join(c.source for c in book.cells)
        used = set(re.findall(r"\bnb\.([A-Za-z_]+)", source))
        assert used <= USED, (name, used - USED)
        assert "nb.notebook_setup(renderer)" in book.cells[2].source  # the first call after the parameters


def _check_run(out: Path, executed: Path, interactive: bool, charts: list[str], tables: list[str]) -> dict:
    assert notebook_errors(executed) == []  # run_notebook checked it too: cells and saved widget state
    headline = json.loads((out / "headline.json").read_text())
    assert headline and all(isinstance(v, (int, float)) or v is None for v in headline.values())
    for name in charts:
        text = (out / f"{name}.html").read_text()
        assert not re.search(r"<script[^>]*src=[\"']?https?://", text) and "cdn.jsdelivr" not in text, name
        assert "vegaEmbed" in text and (out / f"{name}.png").stat().st_size > 1000, name
    for name in tables:
        assert len(pd.read_csv(out / f"{name}.csv")), name
    book = nbformat.read(executed, as_version=4)
    views = [o for c in book.cells if c.source.startswith("if interactive:") for o in c.get("outputs", [])
             if "application/vnd.jupyter.widget-view+json" in o.get("data", {})]
    assert bool(views) == interactive
    if interactive:
        assert book.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    return headline


def test_finetuning_runs(tiny):
    out = tiny["root"] / "04-headless"
    params = {**tiny["params"], "pretrained": "tiny-random", "finetuned": tiny["models"]["tiny-ft"],
              "tasks": ["upos", "xpos"], "interactive": False}
    executed = run_notebook(NOTEBOOKS / "04_finetuning.ipynb", params, out, timeout=300)
    headline = _check_run(out, executed, False, ["finetuning_shift", "finetuning_layers"],
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
    assert nb.LCAResult.load(out / "results" / "fine-tuned-xpos").config.model == tiny["models"]["tiny-ft"]


def test_finetuning_searches_the_penalty_on_the_pretrained_model(tiny):
    """l1 = None: the pretrained run searches, the fine-tuned run reuses its penalty (with the widgets shown)."""
    out = tiny["root"] / "04-interactive"
    params = {**tiny["params"], "pretrained": "tiny-random", "finetuned": tiny["models"]["tiny-ft"], "tasks": ["upos"],
              "l1": None, "search_grid": [0.0, 0.01], "interactive": True}
    executed = run_notebook(NOTEBOOKS / "04_finetuning.ipynb", params, out, timeout=300)
    _check_run(out, executed, True, ["finetuning_shift", "finetuning_layers"], ["finetuning_overlap"])
    runs = pd.read_csv(out / "runs.csv").set_index("model")
    assert runs.loc["pretrained", "searched"] and not runs.loc["fine-tuned", "searched"]
    assert runs.loc["fine-tuned", "l1"] == runs.loc["pretrained", "l1"] in (0.0, 0.01)


@pytest.mark.parametrize("interactive", [False, True])
def test_architectures_runs(tiny, interactive):
    out = tiny["root"] / f"05-{interactive}"
    models = ["tiny-random", tiny["models"]["tiny-deep"]]
    not_installed = nb.list_models().query("not installed")["alias"].tolist()
    models += not_installed[:1]  # a preset that is not installed is skipped with a message
    params = {**tiny["params"], "models": models, "task": "upos", "interactive": interactive}
    executed = run_notebook(NOTEBOOKS / "05_architectures.ipynb", params, out, timeout=300)
    headline = _check_run(out, executed, interactive, ["architectures"],
                          ["runs", "architectures_summary", "architectures_layers"])
    summary = pd.read_csv(out / "architectures_summary.csv").set_index("model")
    assert summary.index.tolist() == ["tiny-random", "tiny-deep"]  # labels: the last part of each name
    assert summary["n_layers"].tolist() == [3, 5] and summary["n_neurons_total"].tolist() == [96, 80]
    assert headline["tiny-deep % needed"] == pytest.approx(summary.loc["tiny-deep", "percent_needed"])
    depth = pd.read_csv(out / "architectures_layers.csv").query("model == 'tiny-deep'")["relative_depth"]
    assert depth.tolist() == pytest.approx([0, 0.25, 0.5, 0.75, 1])
    if not_installed:
        text = "".join(o.get("text", "") for c in nbformat.read(executed, as_version=4).cells
                       for o in c.get("outputs", []))
        assert f"skipping {not_installed[0]}: preset {not_installed[0]!r} is not installed" in text


@pytest.mark.parametrize("interactive", [False, True])
def test_languages_runs(tiny, interactive):
    out = tiny["root"] / f"06-{interactive}"
    train, test = tiny["corpora"]["en"]
    params = {**tiny["params"], "model": "tiny-random", "corpora": [["en", train, test], "ud:xx_toy"],
              "task": "upos", "train": "dev", "test": "test", "interactive": interactive}
    params.pop("data")
    executed = run_notebook(NOTEBOOKS / "06_languages.ipynb", params, out, timeout=300)
    headline = _check_run(out, executed, interactive, ["languages_similarity", "languages_by_tag"],
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
    assert tags == {"DET", "NOUN", "VERB", "ADJ", "PUNCT"}  # the tags both corpora have


def test_languages_rejects_a_bad_corpora_entry(tiny):
    from neuronbook.notebooks import NotebookError

    params = {**tiny["params"], "model": "tiny-random", "corpora": ["ud:xx_toy", ["en", "only-one-file"]],
              "task": "upos", "interactive": False}
    with pytest.raises(NotebookError, match=r"a corpora entry is a corpus name or \[label, train_file, test_file\]"):
        run_notebook(NOTEBOOKS / "06_languages.ipynb", params, tiny["root"] / "06-bad", timeout=300)
