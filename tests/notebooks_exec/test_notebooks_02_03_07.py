"""02_localization, 03_redundancy and 07_rankers run headlessly (papermill) on tiny parameters, with and without widgets."""

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

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
NAMES = ["02_localization", "03_redundancy", "07_rankers"]

CONLLU = """# sent_id = {i}
1\tthe\tthe\tDET\tDT\t_\t2\tdet\t_\t_
2\t{noun}\t{noun}\tNOUN\t{xpos}\t_\t3\tnsubj\t_\t_
3\t{verb}\t{verb}\tVERB\tVBD\t_\t0\troot\t_\t_
4\t.\t.\tPUNCT\t.\t_\t3\tpunct\t_\t_

"""


def _write_corpus(path: Path, n: int, seed: int) -> str:
    rng = np.random.default_rng(seed)
    nouns = [("cat", "NN"), ("dogs", "NNS"), ("house", "NN"), ("mats", "NNS")]
    verbs = ["sat", "ran", "walked", "talked"]
    rows = []
    for i in range(n):
        noun, xpos = nouns[int(rng.integers(len(nouns)))]
        rows.append(CONLLU.format(i=i, noun=noun, xpos=xpos, verb=verbs[int(rng.integers(len(verbs)))]))
    path.write_text("".join(rows))
    return str(path)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """Two small CoNLL-U files and a private cache shared by every run of this module."""
    root = tmp_path_factory.mktemp("nb020307")
    train = _write_corpus(root / "train.conllu", 40, 0)
    test = _write_corpus(root / "test.conllu", 20, 1)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("NEURONBOOK_CACHE", str(root / "cache"))  # the kernels inherit it
        mp.setenv("HF_HUB_OFFLINE", "1")
        yield {"root": root, "params": {"model": "tiny-random", "data": "toy", "train": train, "test": test,
                                        "max_sentences": 30, "l1": 1e-3, "l2": 1e-3, "epochs": 2,
                                        "percents": [10, 50], "control": False, "renderer": "auto"}}


def test_notebooks_are_committed_clean_and_use_public_names():
    for name in NAMES:
        book = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
        tagged = [c for c in book.cells if "parameters" in c.metadata.get("tags", [])]
        assert len(tagged) == 1, name
        assert all(not c.get("outputs") and c.get("execution_count") is None
                   for c in book.cells if c.cell_type == "code"), f"{name} holds outputs"
        code = "".join(c.source for c in book.cells if c.cell_type == "code")
        used = set(re.findall(r"\bnb\.([A-Za-z_]+)", code))
        assert used and all(hasattr(nb, n) for n in used), sorted(n for n in used if not hasattr(nb, n))
        # the parameters are literals: the cell runs alone, and every LCAConfig name in it is valid
        namespace: dict = {}
        exec(tagged[0].source, {}, namespace)
        config = nb.LCAConfig.from_parameters(namespace)
        assert {"output_dir", "interactive", "renderer"} <= set(namespace)
        assert config.model == nb.LCAConfig().model and namespace["interactive"] is True


def _html_charts_are_offline(out: Path, names: list[str]) -> None:
    for name in names:
        text = (out / f"{name}.html").read_text()
        assert not re.search(r"<script[^>]*src=[\"']?https?://", text), f"{name}.html loads a script from the web"
        assert "cdn.jsdelivr" not in text and "vegaEmbed" in text, name
        assert (out / f"{name}.png").stat().st_size > 1000, name


def _run(name: str, tiny, params: dict, interactive: bool) -> tuple[Path, Path]:
    out = tiny["root"] / f"{name}-{'interactive' if interactive else 'headless'}"
    executed = run_notebook(name, {**tiny["params"], **params, "interactive": interactive}, out, timeout=300)
    assert notebook_errors(executed) == []  # run_notebook checked it too: cells and saved widget state
    book = nbformat.read(executed, as_version=4)
    # the views appear in the `if interactive:` cells, and only when asked for (other cells may show
    # progress-bar widgets of libraries)
    views = [c for c in book.cells if c.cell_type == "code" and c.source.startswith("if interactive:")]
    shown = [any("application/vnd.jupyter.widget-view+json" in o.get("data", {}) for o in c.get("outputs", []))
             for c in views]
    assert views and shown == [interactive] * len(views), f"{name}: views shown {shown}"
    return out, executed


# Every notebook runs with its widgets (their saved state is scanned for errors); the headless path
# (interactive=False) is the same code minus the last cells, so one notebook covers it (time budget).
def test_02_localization(tiny):
    out, _ = _run("02_localization", tiny, {"tasks": ["upos", "suffix"]}, interactive=True)
    headline = json.loads((out / "headline.json").read_text())
    for task in ("upos", "suffix"):
        assert 0 <= headline[f"{task} oracle test accuracy"] <= 1
        assert headline[f"{task} best single layer"] in (0, 1, 2)  # tiny-random: embeddings + 2 layers
        assert 0 <= headline[f"{task} mean relative depth"] <= 1
    dist = pd.read_parquet(out / "layer_distribution.parquet")
    assert sorted(dist["task"].unique()) == ["suffix", "upos"] and len(dist) == 2 * 3
    assert dist.groupby("task")["share"].sum().round(6).tolist() == [1.0, 1.0]
    tags = pd.read_csv(out / "tag_layer_distribution.csv")
    assert set(tags[tags["task"] == "upos"]["tag"]) == {"DET", "NOUN", "VERB", "PUNCT"}
    layerwise = pd.read_parquet(out / "layerwise_probing.parquet")
    assert layerwise.groupby("task")["layer"].apply(list).tolist() == [[0, 1, 2], [0, 1, 2]]
    assert layerwise["accuracy"].between(0, 1).all()
    _html_charts_are_offline(out, ["layer_distribution", "layer_distribution_depth", "tag_layer_heatmap_upos",
                                   "tag_layer_heatmap_suffix", "layerwise_probing"])


def test_03_redundancy(tiny):
    out, _ = _run("03_redundancy", tiny, {"task": "upos", "thresholds": [0.0, 0.5], "threshold": 0.3,
                                          "max_sets": 2}, interactive=True)
    headline = json.loads((out / "headline.json").read_text())
    assert headline["neurons"] == 96  # tiny-random: 3 layers x 32
    assert 1 <= headline["clusters at 0.3"] <= 96 and headline["disjoint sets"] in (0, 1, 2)
    sweep = pd.read_parquet(out / "clusters.parquet")
    assert sorted(sweep["threshold"].unique()) == [0.0, 0.3, 0.5]  # `threshold` joins the grid
    per_cut = sweep.groupby("threshold")["cluster"].nunique()
    assert per_cut.is_monotonic_decreasing and per_cut[0.3] == headline["clusters at 0.3"]
    summary = pd.read_csv(out / "disjoint_sets_summary.csv")
    assert summary["set"].tolist() == list(range(1, len(summary) + 1))
    assert (out / "representatives.csv").is_file() and (out / "clustering_by_layer.parquet").is_file()
    _html_charts_are_offline(out, ["clusters", "disjoint_sets"])


@pytest.mark.parametrize("interactive", [False, True])
def test_07_rankers(tiny, interactive):
    out, _ = _run("07_rankers", tiny, {"task": "upos", "k": 10}, interactive)
    headline = json.loads((out / "headline.json").read_text())
    pairs = [k for k in headline if k.startswith("overlap ")]
    assert len(pairs) == len(nb.RANKERS) * (len(nb.RANKERS) - 1) // 2
    assert all(0 <= headline[k] <= 1 for k in pairs) and headline["expected overlap at 10"] == round(10 / 96, 4)
    assert {f"{r} seconds" for r in nb.RANKERS} <= set(headline)
    agreement = pd.read_parquet(out / "ranker_agreement.parquet")
    assert sorted(agreement["k"].unique()) == [10, 20, 50, 96]
    assert (agreement.loc[agreement["k"] == 96, "overlap"] == 1.0).all()  # every ranking holds every neuron
    rankings = pd.read_csv(out / "rankings.csv")
    assert rankings.groupby("ranker")["rank"].max().tolist() == [96] * len(nb.RANKERS)
    _html_charts_are_offline(out, ["ranker_seconds", "ranker_agreement"])
