"""Cache-key audit: every input that changes the activations changes the store key.

Each test here failed before the fix it holds (the store key missed that input), except where
a comment says it pins behaviour that was already right.
"""

from __future__ import annotations

import importlib
import os

import pytest
import torch

from neuronbook.extraction import extract, library_versions, store_key
from neuronbook.models import load_model, model_fingerprint
from neuronbook.models import cache as model_cache
from tiny import make_tiny_model

extract_module = importlib.import_module("neuronbook.extraction")
CORPUS = [["the", "cat", "sat"], ["a", "dog", "ran"]]


# ------------------------------------------------------------ a model edited after load_model
@pytest.mark.parametrize("edit", ["in place", "parameter replaced", "half and back", "config"])
def test_model_edited_after_loading_is_no_longer_keyed_by_its_folder(tmp_cache, edit):
    by_name = store_key("tiny-random", CORPUS)
    model, tok = load_model("tiny-random")
    assert store_key((model, tok), CORPUS) == by_name  # unchanged: the folder's store (was already so)
    emb = model.embeddings.word_embeddings
    if edit == "in place":  # a fine-tuning step
        with torch.no_grad():
            emb.weight.add_(0.01)
    elif edit == "parameter replaced":
        emb.weight = torch.nn.Parameter(emb.weight.detach() * 2)
    elif edit == "half and back":  # rounds every weight
        model.half().float()
    else:
        model.config.hidden_act = "relu"
    edited = store_key((model, tok), CORPUS)
    assert edited != by_name
    assert store_key(model, CORPUS, tokenizer=tok) == edited  # stable once edited


def test_edit_through_data_is_seen_after_refresh(tmp_cache):
    # `.data` bypasses torch's version counter, so the memoised weights hash cannot see it:
    # model_fingerprint(model, refresh=True) is the documented way to tell neuronbook.
    by_name = store_key("tiny-random", CORPUS)
    model, tok = load_model("tiny-random")
    model.embeddings.word_embeddings.weight.data.mul_(2)
    model_fingerprint(model, refresh=True)
    assert store_key((model, tok), CORPUS) != by_name


def test_edited_model_gets_its_own_store(tmp_cache):
    model, tok = load_model("tiny-random")
    before = extract((model, tok), CORPUS, progress=False).activations()
    with torch.no_grad():
        model.embeddings.word_embeddings.weight.add_(1.0)
    after = extract((model, tok), CORPUS, progress=False)
    assert not (after.activations() == before).all()  # not served the unedited model's store
    assert len(list((tmp_cache / "stores").iterdir())) == 2


# ------------------------------------------------------------------- a model object by itself
def test_model_object_config_is_part_of_its_key():
    model, tok = make_tiny_model()
    other, _ = make_tiny_model()  # same weights
    assert store_key(model, CORPUS, tokenizer=tok) == store_key(other, CORPUS, tokenizer=tok)
    other.config.layer_norm_eps = 1e-3
    assert store_key(model, CORPUS, tokenizer=tok) != store_key(other, CORPUS, tokenizer=tok)
    third, _ = make_tiny_model()
    third.set_attn_implementation("eager" if third.config._attn_implementation != "eager" else "sdpa")
    assert store_key(model, CORPUS, tokenizer=tok) != store_key(third, CORPUS, tokenizer=tok)


def test_tokenizer_unknown_token_is_part_of_the_key():
    model, tok = make_tiny_model()
    key = store_key(model, CORPUS, tokenizer=tok)
    _, other = make_tiny_model()
    other.unk_token = "[MASK]"  # words with no piece are read as this token instead
    assert other.unk_token_id != tok.unk_token_id
    assert store_key(model, CORPUS, tokenizer=other) != key


# -------------------------------------------------------------------------- library versions
def test_library_versions_are_part_of_the_key(monkeypatch):
    model, tok = make_tiny_model()
    key = store_key(model, CORPUS, tokenizer=tok)
    assert set(library_versions()) == {"torch", "transformers", "tokenizers"}
    assert library_versions()["torch"] == torch.__version__.split("+")[0] or \
        library_versions()["torch"] == torch.__version__
    real = dict(library_versions())
    for name in real:
        monkeypatch.setattr(extract_module, "library_versions", lambda name=name: {**real, name: "0.0.0"})
        assert store_key(model, CORPUS, tokenizer=tok) != key, name
    monkeypatch.undo()
    assert store_key(model, CORPUS, tokenizer=tok) == key


# ------------------------------------------------------------ model folders edited on disk
def _same_size_edit_keeping_mtime(path, old: str, new: str):
    assert len(old) == len(new)
    st = path.stat()
    path.write_text(path.read_text().replace(old, new, 1))
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))  # what cp -p, rsync -t or touch -r leave
    assert path.stat().st_size == st.st_size and path.stat().st_mtime_ns == st.st_mtime_ns


@pytest.mark.parametrize("file, old, new", [
    ("config.json", '"hidden_act": "gelu"', '"hidden_act": "relu"'),
    ("tokenizer.json", '"cat": ', '"dog": '),  # two pieces swap ids
])
def test_folder_file_edited_with_its_mtime_put_back_changes_the_key(tmp_path, tmp_cache, file, old, new):
    model, tok = make_tiny_model()
    folder = tmp_path / "tiny"
    model.save_pretrained(folder)
    tok.save_pretrained(folder)
    key = store_key(str(folder), CORPUS)  # hashes the files and memoises them
    if file == "tokenizer.json":
        text = (folder / file).read_text()
        a, b = text.index('"cat": '), text.index('"dog": ')
        assert a > 0 and b > 0
        swapped = text.replace('"cat": ', '"@@@": ').replace('"dog": ', '"cat": ').replace('"@@@": ', '"dog": ')
        st = (folder / file).stat()
        (folder / file).write_text(swapped)
        os.utime(folder / file, ns=(st.st_atime_ns, st.st_mtime_ns))
        assert (folder / file).stat().st_size == st.st_size
    else:
        assert old in (folder / file).read_text()
        _same_size_edit_keeping_mtime(folder / file, old, new)
    assert store_key(str(folder), CORPUS) != key


def test_hash_memo_still_spares_the_read_of_an_unchanged_file(tmp_cache, tmp_path, monkeypatch):
    # pins the memo's purpose (was already so): the second look at an unchanged file reads nothing
    f = tmp_path / "w.bin"
    f.write_bytes(b"weights")
    first = model_cache.sha256_files([f])
    monkeypatch.setattr(model_cache, "sha256_file", lambda p, chunk=0: pytest.fail(f"re-hashed {p}"))
    assert model_cache.sha256_files([f]) == first


# -------------------------------------------------------------------------------- the corpus
def test_word_that_is_not_valid_unicode_is_a_clear_error():
    model, tok = make_tiny_model()
    with pytest.raises(ValueError, match=r"sentence 1 \(:1\) word 0 is '\\ud800x': surrogates not allowed.*"
                                         r"valid Unicode text"):
        store_key(model, [["the"], ["\ud800x"]], tokenizer=tok)


# ------------------------------------------------------------------------ the result key (lca)
def _config(**kw):
    from neuronbook.config import LCAConfig

    return LCAConfig(model="tiny-random", **kw)


def test_result_key_separates_settings_and_stores():
    from neuronbook.lca import result_key

    keys = {result_key(_config(), ["a", "b"]), result_key(_config(), ["b", "a"]),
            result_key(_config(seed=1), ["a", "b"]), result_key(_config(l1=1e-3), ["a", "b"]),
            result_key(_config(task="upos"), ["a", "b"]), result_key(_config(epochs=3), ["a", "b"])}
    assert len(keys) == 6
    # data_dir says where to look, not what is computed
    assert result_key(_config(data_dir="/x"), ["a", "b"]) == result_key(_config(), ["a", "b"])


def test_result_key_covers_the_labels(tmp_path, tmp_cache):
    import warnings

    from neuronbook.lca import run_lca

    def write(path, tag_of_cat):
        rows = []
        for i in range(40):
            words = [("the", "DT"), ("cat", tag_of_cat), ("sat", "VBD")] if i % 2 else \
                [("a", "DT"), ("dog", "NN"), ("ran", "VBD")]
            rows += [f"{k}\t{w}\t{w}\tX\t{t}\t_\t0\t_\t_\t_" for k, (w, t) in enumerate(words, start=1)] + [""]
        path.write_text("\n".join(rows) + "\n")

    data = tmp_path / "c.conllu"
    settings = dict(data=str(data), task="xpos", epochs=2, l1=1e-3, l2=1e-3, percents=(50,), ablation_percents=(),
                    control=False, progress=False, cache=tmp_path / "results")
    write(data, "NN")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        first = run_lca(**settings)
        write(data, "VB")  # same words, one tag corrected
        second = run_lca(**settings)
    assert "loaded_from_cache" not in second.info
    assert set(second.classes["tag"]) != set(first.classes["tag"])
