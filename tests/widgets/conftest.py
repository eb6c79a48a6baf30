"""A planted toy analysis and a matching activation store for the widget tests."""

from __future__ import annotations

import numpy as np
import pytest

from neuronbook.config import LCAConfig
from neuronbook.lca import lca_from_arrays
from neuronbook.neurons import neuron_index
from neuronbook.store import ActivationStore

#: The neurons that decide the tags (flat columns 17 and 14 of 3 layers x 8 neurons).
PLANTED = [(2, 1), (1, 6)]
VOCAB = ["the", "cat", "dog", "sat", "on", "mat", "big", "red"]


@pytest.fixture(scope="session")
def planted():
    """The (layer, neuron) pairs that decide the tags of ``planted_result``."""
    return PLANTED


@pytest.fixture(scope="session")
def planted_result():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(1000, 24)).astype(np.float32)
    y = np.array(["N", "V", "A", "D"])[(X[:, 17] > 0) * 2 + (X[:, 14] > 0)]
    config = LCAConfig(model="toy", data="synthetic", task="pos", l1=1e-3, epochs=8, batch_size=64, lr=1e-2,
                       percents=[5, 10, 25, 50], ablation_percents=[10, 50], ablation_methods=["retrain"],
                       delta=0.05, control=False)
    result = lca_from_arrays(X[:600], y[:600], X[600:800], y[600:800], X[800:], y[800:],
                             neuron_index(range(3), 8), config=config, n_layers=4, progress=False)
    assert {tuple(map(int, t)) for t in result.ranking.head(2)[["layer", "neuron"]].values} == set(PLANTED)
    return result


@pytest.fixture(scope="session")
def planted_store(tmp_path_factory):
    """60 sentences of 5 words; neuron (2, 1) fires +5 on "cat", neuron (1, 6) -5 on "dog"."""
    rng = np.random.default_rng(1)
    words = [list(rng.choice(VOCAB, 5)) for _ in range(60)]
    flat = np.array([w for s in words for w in s])
    acts = (0.1 * rng.normal(size=(len(flat), 3, 8))).astype(np.float32)
    acts[flat == "cat", 2, 1] += 5.0
    acts[flat == "dog", 1, 6] -= 5.0
    return ActivationStore.from_array(tmp_path_factory.mktemp("store") / "s", acts, words, {"model": "toy"})
