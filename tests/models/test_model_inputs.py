"""Model folders that would load wrong: missing weights, a truncated file, an edited tokenizer (issue 21)."""

from __future__ import annotations

import json
import logging

import pytest
import torch

from neuronbook.models import load_model, registry
from neuronbook.models.registry import Preset, resolve_model


def _save(folder, model, tok, drop=()):
    from safetensors.torch import save_file

    model.save_pretrained(folder)
    tok.save_pretrained(folder)
    if drop:
        sd = {k: v.contiguous() for k, v in model.state_dict().items() if not k.startswith(drop)}
        save_file(sd, str(folder / "model.safetensors"), metadata={"format": "pt"})
    return folder


def test_a_complete_checkpoint_loads(tmp_cache, tmp_path, tiny_model):
    model, tok = tiny_model
    loaded, _ = load_model(_save(tmp_path / "m", model, tok), progress=False)
    for k, v in model.state_dict().items():
        torch.testing.assert_close(loaded.state_dict()[k], v)
    load_model("tiny-random", progress=False)  # the built-in preset reports nothing missing either


def test_a_checkpoint_without_a_pooler_loads(tmp_cache, tmp_path, tiny_model):
    from transformers import BertForMaskedLM

    model, tok = tiny_model
    mlm = BertForMaskedLM(model.config)  # an MLM checkpoint has no pooler: the hidden states need none
    folder = tmp_path / "mlm"
    mlm.save_pretrained(folder)
    tok.save_pretrained(folder)
    load_model(folder, progress=False)


def test_a_checkpoint_missing_a_layer_is_refused(tmp_cache, tmp_path, tiny_model):
    model, tok = tiny_model
    folder = _save(tmp_path / "cut", model, tok, drop=("encoder.layer.1.",))
    with pytest.raises(ValueError, match=rf"{tmp_path / 'cut'}: the checkpoint lacks 16 weight\(s\) the model needs "
                                         r"\(encoder\.layer\.1\.attention\.output\.LayerNorm\.bias, .* and 11 more\); "
                                         r"transformers would fill them with random values"):
        load_model(folder, progress=False)


def test_loading_info_ignores_buffers_and_the_pooler_only():
    registry._check_loading_info("x", {"missing_keys": {"embeddings.position_ids", "pooler.dense.weight",
                                                        "bert.pooler.dense.bias", "embeddings.token_type_ids"}})
    with pytest.raises(ValueError, match=r"x: the checkpoint lacks 1 weight\(s\) .*\(embeddings\.word_embeddings"):
        registry._check_loading_info("x", {"missing_keys": {"pooler.dense.weight", "embeddings.word_embeddings.weight"}})


def test_a_truncated_weights_file_is_named(tmp_cache, tmp_path, tiny_model):
    model, tok = tiny_model
    folder = _save(tmp_path / "trunc", model, tok)
    weights = folder / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])
    with pytest.raises(ValueError, match=rf"{weights}: the model weights cannot be read \(SafetensorError: .*\); "
                                         r"the file is truncated or damaged"):
        load_model(folder, progress=False)


@pytest.fixture
def toy_preset(monkeypatch, tiny_model):
    model, tok = tiny_model
    calls = []

    def build(preset, tmp):
        calls.append(tmp)
        model.save_pretrained(tmp)
        tok.save_pretrained(tmp)
        return {}

    preset = Preset(alias="toy-tok", id="org/toy-tok", packages=("pytest",), architecture="BERT", layers=2,
                    hidden=16, vocab=53, kind="toy-tok")
    monkeypatch.setitem(registry._BUILDERS, "toy-tok", build)
    monkeypatch.setitem(registry._BY_NAME, "toy-tok", preset)
    return calls


def test_converted_preset_checksums_cover_config_and_tokenizer(tmp_cache, toy_preset):
    path, _ = resolve_model("toy-tok")
    sums = registry.cache.read_manifest(path)["sha256"]
    assert {"model.safetensors", "config.json", "tokenizer.json", "tokenizer_config.json"} <= set(sums)
    from neuronbook.models.identity import TOKENIZER_FILES

    written = {f.name for f in (tmp_cache / "models" / "toy-tok").iterdir() if f.name in TOKENIZER_FILES}
    assert written <= set(sums)  # every tokenizer file the build wrote


def test_an_edited_tokenizer_in_a_converted_preset_is_rebuilt(tmp_cache, toy_preset, caplog):
    calls = toy_preset
    path, _ = resolve_model("toy-tok")
    tj = tmp_cache / "models" / "toy-tok" / "tokenizer.json"
    data = json.loads(tj.read_text())
    data["model"]["vocab"]["cat"], data["model"]["vocab"]["dog"] = data["model"]["vocab"]["dog"], \
        data["model"]["vocab"]["cat"]
    tj.write_text(json.dumps(data))
    with caplog.at_level(logging.WARNING, logger="neuronbook.models.registry"):
        resolve_model("toy-tok")
    assert len(calls) == 2 and f"{tj}: sha256" in caplog.text and "differs from the recorded" in caplog.text
    assert registry.cache.verify_dir(path)[0]
    _, tok = load_model("toy-tok", progress=False)
    assert tok.convert_tokens_to_ids("cat") == 7  # the conversion's own tokenizer again


def test_a_manifest_without_tokenizer_checksums_is_rebuilt(tmp_cache, toy_preset, caplog):
    calls = toy_preset
    path, _ = resolve_model("toy-tok")
    man_path = tmp_cache / "models" / "toy-tok" / registry.cache.MANIFEST
    man = json.loads(man_path.read_text())
    man["sha256"] = {"model.safetensors": man["sha256"]["model.safetensors"]}  # as recorded before issue 21
    man_path.write_text(json.dumps(man))
    with caplog.at_level(logging.WARNING, logger="neuronbook.models.registry"):
        resolve_model("toy-tok")
    assert len(calls) == 2 and "its manifest records no sha256 of config.json, tokenizer.json" in caplog.text
    resolve_model("toy-tok")
    assert len(calls) == 2  # verified since
