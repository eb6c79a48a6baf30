"""08_interventions runs headlessly (papermill) on tiny parameters, with its widget."""

from __future__ import annotations

import pandas as pd
import pytest

from neuronbook.notebooks import run_notebook
from notebook_checks import NOTEBOOKS, PENALTIES, TINY, check_run

pytestmark = pytest.mark.notebook


def test_08_interventions(ws):
    out = ws.root / "08_interventions-interactive"
    params = {**TINY, **PENALTIES, **ws.files, "model": "tiny-random", "task": "upos", "k": 5, "n_draws": 2,
              "sentence": "the big cat sat .", "interactive": True}
    executed = run_notebook(NOTEBOOKS / "08_interventions.ipynb", params, out, timeout=300)
    headline = check_run(out, executed, True, ["interventions", "intervention_draws"],
                         ["sets", "effects", "summary", "comparison", "timing"])
    assert headline["probe layer"] == 2 and headline["neurons switched off"] == 5  # tiny-random: layers 0-2
    assert 0 <= headline["fixed accuracy (none)"] <= 1 and 0 <= headline["fixed accuracy (top)"] <= 1
    sets = pd.read_csv(out / "sets.csv")
    assert sets.groupby("selection").size().to_dict() == {"layer-matched random": 10, "random": 10, "top": 5}
    assert (sets["layer"] < 2).all()
    comparison = pd.read_csv(out / "comparison.csv")
    assert sorted(comparison["baseline"].unique()) == ["layer-matched random", "random"]
    assert (comparison["n_draws"] == 2).all()
    timing = pd.read_csv(out / "timing.csv")
    assert timing["step"].tolist() == ["clean extraction (test)", "intervened extraction (test)"]
