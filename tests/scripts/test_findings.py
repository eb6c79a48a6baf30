"""scripts/findings.py: the claim checks on small planted analyses (the real run takes an hour)."""

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from neuronbook.config import LCAConfig
from neuronbook.lca import lca_from_arrays
from neuronbook.neurons import neuron_index

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "findings.py"
FAST = {"epochs": 8, "batch_size": 64, "lr": 1e-2}


@pytest.fixture(scope="module")
def findings():
    spec = importlib.util.spec_from_file_location("findings_script", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _runs(signal_layer, seeds=(0, 1), n=1000, width=10):
    """Three layers of `width` neurons; the tag is decided by two neurons of `signal_layer`."""
    out = []
    for seed in seeds:
        rng = np.random.default_rng(100 + seed)
        X = rng.normal(size=(n, 3 * width)).astype(np.float32)
        a, b = signal_layer * width + 1, signal_layer * width + 4
        y = np.array(["A", "B", "C", "D"])[(X[:, a] > 0) * 2 + (X[:, b] > 0)]
        cfg = LCAConfig(model="toy", data="toy", task="pos", l1=1e-3, percents=[5, 10, 50], ablation_percents=[10],
                        n_draws=2, bootstrap=20, control=False, seed=seed, **FAST)
        out.append(lca_from_arrays(X[:600], y[:600], X[600:800], y[600:800], X[800:], y[800:],
                                   neuron_index(range(3), width), config=cfg, progress=False))
    return out


@pytest.fixture(scope="module")
def low_and_high():
    return {"suffix": _runs(0), "xpos": _runs(1), "deprel": _runs(2)}


def test_protocol_table_has_every_figure(findings, low_and_high):
    table = findings.protocol_table(low_and_high).set_index("figure")
    assert list(table.columns) == ["suffix", "xpos", "deprel"]
    for row in ("oracle test", "retrain 10%: top", "retrain 10%: random (mean of draws)",
                "retrain 10%: layer-matched random", "zero-out remove 10%: top - random (points)",
                "minimal set: neurons, median [range] over seeds", "seeds"):
        assert row in table.index, row
    # the planted pair is the minimal set in every seed: 2 neurons, no spread
    assert table.loc["minimal set: neurons, median [range] over seeds", "xpos"] == "2 [2-2]"
    assert table.loc["seeds", "xpos"] == 2


def test_claims_small_and_layers_hold_on_planted_data(findings, low_and_high):
    text, ok = findings.claim_small(low_and_high)
    assert ok and "| xpos | 6.7 ± 0.0 % (max 6.7 %)" in text  # 2 of 30 neurons
    text, ok = findings.claim_layers(low_and_high)
    # depth 0, 0.5, 1 exactly: the interval collapses on +0.5 for both steps
    assert ok and "xpos - suffix: +0.500" in text and "deprel - xpos: +0.500" in text


def test_claim_layers_fails_when_the_order_is_reversed(findings, low_and_high):
    swapped = {"suffix": low_and_high["deprel"], "xpos": low_and_high["xpos"], "deprel": low_and_high["suffix"]}
    _, ok = findings.claim_layers(swapped)
    assert not ok


def test_claim_languages_against_chance(findings, low_and_high):
    # the same neurons in "both languages": far above chance; different layers: no overlap at all
    same = {"en": low_and_high["xpos"][:2], "de": low_and_high["xpos"][:2]}
    _, ok = findings.claim_languages(same, "toy")
    assert ok
    apart = {"en": low_and_high["suffix"][:2], "de": low_and_high["deprel"][:2]}
    text, ok = findings.claim_languages(apart, "toy")
    assert not ok and "Two random sets of that size" in text
    assert findings.claim_languages({"en": same["en"]}, "toy")[1] is None


def test_chance_jaccard_matches_simulation(findings):
    rng = np.random.default_rng(0)
    sims = [len(set(rng.choice(100, 10, replace=False)) & set(rng.choice(100, 10, replace=False))) for _ in range(4000)]
    inter = np.mean(sims)
    assert findings.chance_jaccard(10, 100) == pytest.approx(inter / (20 - inter), rel=0.05)


def test_layer_shift_of_claim_4_reads_finetuning_comparison(findings, low_and_high):
    # "fine-tuning" that moves the deciding neurons from layer 0 to layer 2
    text, shifts = findings.layer_shift(low_and_high["suffix"], low_and_high["deprel"])
    assert len(shifts) == 2 and all(1.5 <= s <= 2.0 for s in shifts)
    assert "95 % t interval over seeds" in text and text.startswith("+")
    same, zero = findings.layer_shift(low_and_high["xpos"], low_and_high["xpos"])
    assert zero == [0.0, 0.0]
