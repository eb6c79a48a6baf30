"""00_quickstart and 01_salient_neurons run headlessly (papermill) on tiny parameters, with and without widgets."""

from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat
import numpy as np
import pytest

import neuronbook as nb
from neuronbook.notebooks import notebook_errors, run_notebook

pytestmark = pytest.mark.notebook

REPO = Path(__file__).resolve().parents[2]
NOTEBOOKS = REPO / "notebooks"
#: Public names the notebooks call (nb.X).
USED = ["LCAConfig", "LCAResult", "notebook_setup", "run_lca", "save_headline", "save_chart", "accuracy_curve_chart",
        "layer_distribution_chart", "activation_html", "top_words", "top_words_chart", "list_models", "list_corpora"]

WORDS = [("the", "DT"), ("a", "DT"), ("cat", "NN"), ("dog", "NN"), ("mat", "NN"), ("sat", "VBD"), ("ran", "VBD"),
         ("on", "IN"), ("in", "IN"), ("big", "JJ"), ("red", "JJ"), (".", ".")]


def _conllu(n_sentences: int, seed: int) -> str:
    rng = np.random.default_rng(seed)
    lines = []
    for s in range(n_sentences):
        pattern = [0, 9, 2, 5, 7, 1, 4, 11] if s % 2 else [1, 10, 3, 6, 8, 0, 2, 11]
        for i, k in enumerate(pattern, 1):
            word, tag = WORDS[k if rng.random() > 0.2 else int(rng.integers(len(WORDS)))]
            lines.append(f"{i}\t{word}\t{word}\t_\t{tag}\t_\t0\troot\t_\t_")
        lines.append("")
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """A tiny UD-style treebank (ud:xx_toy, dev and test) and a private cache shared by the runs."""
    root = tmp_path_factory.mktemp("nbrun")
    tb = root / "data" / "ud" / "xx_toy"
    tb.mkdir(parents=True)
    (tb / "xx_toy-ud-dev.conllu").write_text(_conllu(40, 0))
    (tb / "xx_toy-ud-test.conllu").write_text(_conllu(20, 1))
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("NEURONBOOK_CACHE", str(root / "cache"))  # the kernels inherit it
        mp.setenv("HF_HUB_OFFLINE", "1")
        yield {"root": root, "params": {
            "model": "tiny-random", "data": "ud:xx_toy", "data_dir": str(root / "data"), "max_sentences": 30,
            "l1": 1e-3, "l2": 1e-3, "epochs": 2, "percents": [10, 50], "ablation_percents": [10],
            "control": False, "renderer": "auto"}}


def test_the_notebooks_use_only_exported_names():
    missing = [n for n in USED if not hasattr(nb, n)]
    assert not missing, f"neuronbook does not export {missing} (the notebooks call nb.<name>)"
    for name in ("00_quickstart", "01_salient_neurons"):
        book = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
        tagged = [c for c in book.cells if "parameters" in c.metadata.get("tags", [])]
        assert len(tagged) == 1
        assert all(not c.get("outputs") for c in book.cells if c.cell_type == "code")  # committed without outputs
        used = set(re.findall(r"\bnb\.([A-Za-z_]+)", "".join(c.source for c in book.cells)))
        assert used <= set(USED), used - set(USED)


def _check_outputs(out: Path, executed: Path, interactive: bool, charts: list[str]) -> dict:
    assert notebook_errors(executed) == []  # run_notebook checked it too: cells and saved widget state
    headline = json.loads((out / "headline.json").read_text())
    assert headline and all(isinstance(v, (int, float)) or v is None for v in headline.values())
    assert 0 <= headline["oracle test accuracy"] <= 1 and headline["l1"] == 1e-3
    ranking = (out / "ranking.csv").read_text().splitlines()
    assert ranking[0] == "rank,layer,neuron,tag,score,chunk" and len(ranking) > 10
    assert (out / "result" / "result.json").is_file()
    for name in charts:
        text = (out / f"{name}.html").read_text()
        assert "cdn.jsdelivr" not in text and not re.search(r"<script[^>]*src=[\"']?https?://", text), name
        assert "vegaEmbed" in text and (out / f"{name}.png").stat().st_size > 1000
    book = nbformat.read(executed, as_version=4)
    # the widget cells (other widget outputs, e.g. a library's loading bar, do not count)
    views = [o for c in book.cells if c.source.startswith("if interactive:") for o in c.get("outputs", [])
             if "application/vnd.jupyter.widget-view+json" in o.get("data", {})]
    assert bool(views) == interactive
    if interactive:
        assert book.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    return headline


@pytest.mark.parametrize("interactive", [False, True])
def test_quickstart_runs(tiny, interactive):
    out = tiny["root"] / f"00-{interactive}"
    executed = run_notebook(NOTEBOOKS / "00_quickstart.ipynb", {**tiny["params"], "interactive": interactive},
                            out, timeout=300)
    _check_outputs(out, executed, interactive, ["accuracy_curve", "layer_distribution"])


@pytest.mark.parametrize("interactive", [False, True])
def test_salient_neurons_runs(tiny, interactive):
    out = tiny["root"] / f"01-{interactive}"
    executed = run_notebook(NOTEBOOKS / "01_salient_neurons.ipynb", {**tiny["params"], "interactive": interactive},
                            out, timeout=300)
    _check_outputs(out, executed, interactive, ["accuracy_curve", "top_neuron_weights", "top_neuron_words"])
    weights = (out / "top_neuron_weights.csv").read_text().splitlines()
    assert weights[0] == "tag,weight,share,n_train" and len(weights) == 1 + 6  # the 6 tags of the toy treebank
    assert "<span title=" in (out / "top_neuron_activation.html").read_text()


def test_salient_neurons_opens_a_saved_result(tiny):
    """The Binder path: result_dir opens a saved result (here the one 00 wrote) instead of running."""
    source = tiny["root"] / "00-False" / "result"
    if not source.is_dir():
        pytest.skip("needs test_quickstart_runs[False] first")
    out = tiny["root"] / "01-binder"
    params = {"result_dir": str(source), "interactive": True, "model": "no-such-model", "renderer": "auto"}
    executed = run_notebook(NOTEBOOKS / "01_salient_neurons.ipynb", params, out, timeout=300)
    headline = _check_outputs(out, executed, True, ["accuracy_curve"])
    assert headline == json.loads((tiny["root"] / "00-False" / "headline.json").read_text())
