"""00_quickstart and 01_salient_neurons run headlessly (papermill) on tiny parameters, with and without widgets."""

from __future__ import annotations

import json

import pytest

from neuronbook.notebooks import run_notebook
from notebook_checks import NOTEBOOKS, PENALTIES, TINY, check_run

pytestmark = pytest.mark.notebook


def _params(ws, interactive: bool) -> dict:
    return {**TINY, **PENALTIES, **ws.treebank, "model": "tiny-random", "ablation_percents": [10],
            "interactive": interactive}


def _check_lca_outputs(out, headline: dict) -> None:
    assert 0 <= headline["oracle test accuracy"] <= 1 and headline["l1"] == 1e-3
    ranking = (out / "ranking.csv").read_text().splitlines()
    assert ranking[0] == "rank,layer,neuron,tag,score,chunk" and len(ranking) > 10
    assert (out / "result" / "result.json").is_file()


@pytest.mark.parametrize("interactive", [False, True])
def test_quickstart_runs(ws, interactive):
    out = ws.root / f"00-{interactive}"
    executed = run_notebook(NOTEBOOKS / "00_quickstart.ipynb", _params(ws, interactive), out, timeout=300)
    headline = check_run(out, executed, interactive, ["accuracy_curve", "layer_distribution"])
    _check_lca_outputs(out, headline)


@pytest.mark.parametrize("interactive", [False, True])
def test_salient_neurons_runs(ws, interactive):
    out = ws.root / f"01-{interactive}"
    executed = run_notebook(NOTEBOOKS / "01_salient_neurons.ipynb", _params(ws, interactive), out, timeout=300)
    headline = check_run(out, executed, interactive, ["accuracy_curve", "top_neuron_weights", "top_neuron_words"])
    _check_lca_outputs(out, headline)
    weights = (out / "top_neuron_weights.csv").read_text().splitlines()
    assert weights[0] == "tag,weight,share,n_train" and len(weights) == 1 + 6  # DT JJ NN VBD IN . of ud:xx_toy
    assert "<span title=" in (out / "top_neuron_activation.html").read_text()


def test_salient_neurons_opens_a_saved_result(ws):
    """The Binder path: result_dir opens a saved result (here the one 00 wrote) instead of running."""
    source = ws.root / "00-False" / "result"
    if not source.is_dir():
        pytest.skip("needs test_quickstart_runs[False] first")
    out = ws.root / "01-binder"
    params = {"result_dir": str(source), "interactive": True, "model": "no-such-model", "renderer": "auto"}
    executed = run_notebook(NOTEBOOKS / "01_salient_neurons.ipynb", params, out, timeout=300)
    headline = check_run(out, executed, True, ["accuracy_curve"])
    _check_lca_outputs(out, headline)
    assert headline == json.loads((ws.root / "00-False" / "headline.json").read_text())
