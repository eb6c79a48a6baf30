"""02_localization, 03_redundancy and 07_rankers run headlessly (papermill) on tiny parameters, with and without widgets."""

from __future__ import annotations

import pandas as pd
import pytest

import neuronbook as nb
from neuronbook.notebooks import run_notebook
from notebook_checks import NOTEBOOKS, PENALTIES, TINY, check_run

pytestmark = pytest.mark.notebook


def _run(name: str, ws, params: dict, interactive: bool, charts: list[str]) -> tuple:
    out = ws.root / f"{name}-{'interactive' if interactive else 'headless'}"
    params = {**TINY, **PENALTIES, **ws.files, "model": "tiny-random", **params, "interactive": interactive}
    executed = run_notebook(NOTEBOOKS / f"{name}.ipynb", params, out, timeout=300)
    return out, check_run(out, executed, interactive, charts)


# Every notebook runs with its widgets (their saved state is scanned for errors); the headless path
# (interactive=False) is the same code minus the last cells, so one notebook covers it (time budget).
def test_02_localization(ws):
    out, headline = _run("02_localization", ws, {"tasks": ["upos", "suffix"]}, True,
                         ["layer_distribution", "layer_distribution_depth", "tag_layer_heatmap_upos",
                          "tag_layer_heatmap_suffix", "layerwise_probing"])
    layerwise = pd.read_parquet(out / "layerwise_probing.parquet")
    for task in ("upos", "suffix"):
        assert 0 <= headline[f"{task} oracle test accuracy"] <= 1
        # the best single layer is a layer of the saved layer-wise table with its highest accuracy
        rows = layerwise[layerwise["task"] == task]
        top = rows["accuracy"].max()
        assert headline[f"{task} best single layer"] in rows.loc[rows["accuracy"] == top, "layer"].tolist()
        assert headline[f"{task} best single layer accuracy"] == pytest.approx(top, abs=5e-5)
        assert 0 <= headline[f"{task} mean relative depth"] <= 1
    dist = pd.read_parquet(out / "layer_distribution.parquet")
    assert sorted(dist["task"].unique()) == ["suffix", "upos"] and len(dist) == 2 * 3
    assert dist.groupby("task")["share"].sum().round(6).tolist() == [1.0, 1.0]
    tags = pd.read_csv(out / "tag_layer_distribution.csv")
    assert set(tags[tags["task"] == "upos"]["tag"]) == {"DET", "NOUN", "VERB", "ADJ", "PUNCT"}  # the corpus files
    assert layerwise.groupby("task")["layer"].apply(list).tolist() == [[0, 1, 2], [0, 1, 2]]
    assert layerwise["accuracy"].between(0, 1).all()


def test_03_redundancy(ws):
    out, headline = _run("03_redundancy", ws, {"task": "upos", "thresholds": [0.0, 0.5], "threshold": 0.3,
                                               "max_sets": 2}, True, ["clusters", "disjoint_sets"])
    assert headline["neurons"] == 96  # tiny-random: 3 layers x 32
    assert 1 <= headline["clusters at 0.3"] <= 96
    sweep = pd.read_parquet(out / "clusters.parquet")
    assert sorted(sweep["threshold"].unique()) == [0.0, 0.3, 0.5]  # `threshold` joins the grid
    per_cut = sweep.groupby("threshold")["cluster"].nunique()
    assert per_cut.is_monotonic_decreasing and per_cut[0.3] == headline["clusters at 0.3"]
    summary = pd.read_csv(out / "disjoint_sets_summary.csv")
    assert summary["set"].tolist() == list(range(1, len(summary) + 1)) and len(summary) <= 2  # max_sets
    # the headline counts the saved summary's sets that reached the target, and their neurons
    reached = summary[summary["reached"]]
    assert headline["disjoint sets"] == len(reached)
    assert headline["disjoint sets neurons"] == int(reached["n_neurons"].sum())
    assert (out / "representatives.csv").is_file() and (out / "clustering_by_layer.parquet").is_file()


@pytest.mark.parametrize("interactive", [False, True])
def test_07_rankers(ws, interactive):
    out, headline = _run("07_rankers", ws, {"task": "upos", "k": 10}, interactive,
                         ["ranker_seconds", "ranker_agreement"])
    pairs = [k for k in headline if k.startswith("overlap ")]
    assert len(pairs) == len(nb.RANKERS) * (len(nb.RANKERS) - 1) // 2
    assert all(0 <= headline[k] <= 1 for k in pairs) and headline["expected overlap at 10"] == round(10 / 96, 4)
    assert {f"{r} seconds" for r in nb.RANKERS} <= set(headline)
    agreement = pd.read_parquet(out / "ranker_agreement.parquet")
    assert sorted(agreement["k"].unique()) == [10, 20, 50, 96]
    assert (agreement.loc[agreement["k"] == 96, "overlap"] == 1.0).all()  # every ranking holds every neuron
    rankings = pd.read_csv(out / "rankings.csv")
    assert rankings.groupby("ranker")["rank"].max().tolist() == [96] * len(nb.RANKERS)
