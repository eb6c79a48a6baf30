"""Cases of issue 11 that no other test file holds (see docs/integrity.md for the whole table)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from neuronbook.extraction import extract, store_key
from neuronbook.lca import LCAResult
from neuronbook.models import ModelNotFoundError, load_model
from tiny import make_tiny_model
from tiny import small_result

CORPUS = [["the", "cat", "sat"], ["a", "dog", "ran"]]


# ---------------------------------------------------------------------------- model folders
def _folder(tmp_path, tokenizer=True):
    model, tok = make_tiny_model()
    folder = tmp_path / "tiny"
    model.save_pretrained(folder)
    if tokenizer:
        tok.save_pretrained(folder)
    return folder


def test_editing_a_local_models_config_gives_a_new_store(tmp_path, tmp_cache):
    folder = _folder(tmp_path)
    first = extract(str(folder), CORPUS, progress=False)
    config = json.loads((folder / "config.json").read_text())
    config["layer_norm_eps"] = 1e-3
    (folder / "config.json").write_text(json.dumps(config))
    second = extract(str(folder), CORPUS, progress=False)
    assert second.path != first.path
    assert not np.array_equal(second.activations(), first.activations())


def test_editing_a_converted_presets_tokenizer_is_caught_and_rebuilt(tmp_cache, caplog):
    import logging

    key = store_key("tiny-random", CORPUS)
    model, tok0 = load_model("tiny-random")  # converted into the cache
    folder = tmp_cache / "models" / "tiny-random"
    tok = json.loads((folder / "tokenizer.json").read_text())
    vocab = tok["model"]["vocab"]
    vocab["cat"], vocab["dog"] = vocab["dog"], vocab["cat"]
    (folder / "tokenizer.json").write_text(json.dumps(tok))
    # the manifest records the tokenizer's sha256 (issue 21): the edit is named and the conversion redone,
    # so the edited tokenizer is never used and the key is the preset's own again
    with caplog.at_level(logging.WARNING, logger="neuronbook.models.registry"):
        assert store_key("tiny-random", CORPUS) == key
    assert f"{folder / 'tokenizer.json'}: sha256" in caplog.text and "rebuilding it" in caplog.text
    _, tok1 = load_model("tiny-random")
    assert tok1.convert_tokens_to_ids("cat") == tok0.convert_tokens_to_ids("cat")


def test_model_folder_without_tokenizer_files_is_an_error_naming_it(tmp_path, tmp_cache):
    folder = _folder(tmp_path, tokenizer=False)
    with pytest.raises(ModelNotFoundError, match=rf"{folder.resolve()} has no tokenizer files"):
        extract(str(folder), CORPUS, progress=False)
    assert not (tmp_cache / "stores").exists() or not any((tmp_cache / "stores").iterdir())


# ---------------------------------------------------------------------------------- results
@pytest.fixture(scope="module")
def result():
    return small_result()


def test_save_failing_half_way_leaves_the_old_result_whole(result, tmp_path, monkeypatch):
    out = result.save(tmp_path / "res")
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    calls = []
    real = pd.DataFrame.to_parquet

    def failing(self, *a, **kw):
        calls.append(1)
        if len(calls) == 3:
            raise OSError("No space left on device")
        return real(self, *a, **kw)

    monkeypatch.setattr(pd.DataFrame, "to_parquet", failing)
    with pytest.raises(OSError, match="No space left"):
        result.save(out, overwrite=True)
    monkeypatch.undo()
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before  # untouched, not a mix
    assert sorted(p.name for p in tmp_path.iterdir()) == ["res"]  # no temporary folder left
    assert LCAResult.load(out).config == result.config


def test_damaged_table_is_an_error_naming_the_file(result, tmp_path):
    out = result.save(tmp_path / "res")
    (out / "curve.parquet").write_bytes(b"not parquet")
    with pytest.raises(ValueError, match=r"curve\.parquet"):
        LCAResult.load(out)


@pytest.mark.parametrize("name, content", [("result.json", b"{"), ("probe.npz", b"xx")])
def test_unreadable_result_file_is_an_error_naming_it(result, tmp_path, name, content):
    out = result.save(tmp_path / "res")
    (out / name).write_bytes(content)
    with pytest.raises(Exception) as err:
        LCAResult.load(out)
    assert name in str(err.value)


def test_altered_table_is_detected(result, tmp_path):
    out = result.save(tmp_path / "res")
    table = pd.read_parquet(out / "ranking.parquet")
    table.loc[0, "score"] += 1.0
    table.to_parquet(out / "ranking.parquet", index=False)
    try:
        LCAResult.load(out)
    except ValueError as err:
        assert "ranking.parquet" in str(err)
    else:
        raise AssertionError("an altered ranking loaded as valid")


# --------------------------------------------------------------------------- validated inputs
@pytest.mark.parametrize("name, value, message", [
    ("seed", 1.5, "non-negative integer"),
    ("seed", "3", "non-negative integer"),
    ("seeds", [1, 2.5], "distinct non-negative integers"),
    ("l2", float("inf"), "finite number >= 0"),
    ("percents", [150], r"\(0, 100\]"),
])
def test_seeds_and_penalties_are_checked(name, value, message):
    from neuronbook.config import LCAConfig

    with pytest.raises(ValueError, match=rf"LCAConfig\.{name}=.*{message}"):
        LCAConfig(**{name: value})


def test_a_word_that_is_not_text_is_refused_by_the_corpus():
    from neuronbook.corpus import Corpus

    with pytest.raises(ValueError, match=r"sentence 0 \(t:0\) word 1 .* valid Unicode text"):
        Corpus([["a", "\udcff"]], name="t")
