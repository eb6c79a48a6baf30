import gc
import logging
import os
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

from tiny import make_tiny_model
from neuronbook.exceptions import ClippedWordsWarning, UnknownWordsWarning
from neuronbook.extraction import _aggregate, _assign_windows, _plan, _windows, extract, store_key

SENTENCES = [
    ["the", "cat", "sat", "on", "the", "mat", "."],
    ["unbelievable", "!"],                      # one word of three pieces
    ["zzzz", "walked", "quickly"],              # z ##z ##z ##z, walk ##ed, quick ##ly
    ["red"],
    ["she", "talked", "and", "ran", "in", "the", "big", "house"],
]


def _reference(model, tokenizer, words, aggregation):
    """Word vectors straight from the model's own hidden_states, one sentence at a time."""
    enc = tokenizer(words, is_split_into_words=True, return_tensors="pt")
    with torch.no_grad():
        states = torch.stack(model(**enc, output_hidden_states=True).hidden_states)[:, 0]
    wids = enc.word_ids(0)
    out = []
    for w in range(len(words)):
        pos = [k for k, x in enumerate(wids) if x == w]
        piece = states[:, pos]  # layers x pieces x hidden
        vec = {"first": piece[:, 0], "last": piece[:, -1], "mean": piece.mean(1)}[aggregation]
        out.append(vec.numpy())
    return np.stack(out)  # words x layers x hidden


@pytest.mark.parametrize("aggregation", ["first", "last", "mean"])
def test_equals_hidden_states(tiny_model, tmp_cache, aggregation):
    model, tok = tiny_model
    # A small token budget forces several batches with padding.
    store = extract(model, SENTENCES, tokenizer=tok, aggregation=aggregation, token_budget=24, progress=False)
    assert store.shape == (sum(map(len, SENTENCES)), 3, 16)
    assert store.words == SENTENCES
    for i, words in enumerate(SENTENCES):
        _, got = store.sentence(i)
        np.testing.assert_allclose(got, _reference(model, tok, words, aggregation), atol=1e-5)


def test_many_pieces_word_differs_by_aggregation(tiny_model, tmp_cache):
    model, tok = tiny_model
    assert tok(["zzzz"], is_split_into_words=True, add_special_tokens=False).word_ids() == [0, 0, 0, 0]
    first = extract(model, SENTENCES, tokenizer=tok, aggregation="first", progress=False).sentence(2)[1]
    last = extract(model, SENTENCES, tokenizer=tok, aggregation="last", progress=False).sentence(2)[1]
    mean = extract(model, SENTENCES, tokenizer=tok, aggregation="mean", progress=False).sentence(2)[1]
    assert not np.allclose(first[0, 1:], last[0, 1:])
    ref = _reference(model, tok, SENTENCES[2], "mean")
    np.testing.assert_allclose(mean, ref, atol=1e-5)


def test_windows_cover_every_word():
    lengths = [1, 3, 2, 1, 1, 4, 1, 2, 1, 1]  # 17 pieces
    windows = _windows(lengths, max_pieces=6, overlap=3)
    covered = set()
    starts = np.concatenate([[0], np.cumsum(lengths)])
    for s, e in windows:
        assert starts[e] - starts[s] <= 6
        covered.update(range(s, e))
    assert covered == set(range(len(lengths)))
    assert windows[0][0] == 0 and windows[-1][1] == len(lengths)
    owner = _assign_windows(lengths, windows)
    for w, k in enumerate(owner):
        s, e = windows[k]
        assert s <= w < e


def test_windows_hand_checked():
    # 6 one-piece words, windows of 4 pieces sharing 2: [0,4) [2,6)
    assert _windows([1] * 6, 4, 2) == [(0, 4), (2, 6)]
    # word 2 sits 2 from the left edge of window 0 and 1 from its right edge; in window 1 it is at the
    # left edge: window 0 wins. Word 3: window 0 gives 0 on the right, window 1 gives 1 on the left.
    assert _assign_windows([1] * 6, [(0, 4), (2, 6)]).tolist() == [0, 0, 0, 1, 1, 1]


def test_word_longer_than_window_is_an_error():
    with pytest.raises(ValueError, match="word 1 has 5 pieces"):
        _windows([1, 5, 1], 4, 1)


def test_long_sentence_windows_in_context(tmp_cache):
    model, tok = make_tiny_model(max_position_embeddings=12)  # 10 pieces + [CLS] [SEP]
    long = (["the", "unbelievable", "cat", "walked", "on", "a", "mat", "."] * 5)[:37]
    store = extract(model, [long, ["red"]], tokenizer=tok, progress=False)
    assert store.metadata["sentences_windowed"] == 1
    assert store.offsets.tolist() == [0, 37, 38]
    words, acts = store.sentence(0)
    assert words == long
    # Each word's vector is the model's output on the window that owns it: nothing truncated,
    # nothing computed without context.
    lengths = [len(tok(w, add_special_tokens=False)["input_ids"]) for w in long]
    windows = _windows(lengths, 10, 5)
    assert len(windows) > 3
    owner = _assign_windows(lengths, windows)
    for k, (s, e) in enumerate(windows):
        ref = _reference(model, tok, long[s:e], "mean")
        for w in np.flatnonzero(owner == k):
            np.testing.assert_allclose(acts[w], ref[w - s], atol=1e-5)


def test_word_without_pieces_is_reported(tiny_model, tmp_cache):
    model, tok = tiny_model
    sent = ["the", "\u200b", "cat"]
    assert tok(sent, is_split_into_words=True, add_special_tokens=False).word_ids() == [0, 2]
    with pytest.warns(UnknownWordsWarning, match=r"1 word\(s\) produced no piece.*sentence 0 word 1 \('\\u200b'\)"):
        store = extract(model, [sent], tokenizer=tok, progress=False)
    assert store.metadata["words_unknown"] == [[0, 1, "\u200b"]]
    _, acts = store.sentence(0)
    # The missing word is read as [UNK] in context: same as the model on "the [UNK] cat".
    enc = tok(["the", "[UNK]", "cat"], is_split_into_words=True, return_tensors="pt")
    with torch.no_grad():
        top = model(**enc).last_hidden_state[0]
    np.testing.assert_allclose(acts[:, -1], top[1:4].numpy(), atol=1e-5)


@pytest.mark.filterwarnings("ignore::neuronbook.exceptions.ClippedWordsWarning")  # max_length=8 clips zzzz
def test_cache_reused_and_invalidated(tiny_model, tmp_cache, monkeypatch):
    model, tok = tiny_model
    calls = []
    original = model.forward

    def counting_forward(*a, **kw):
        calls.append(1)
        return original(*a, **kw)

    monkeypatch.setattr(model, "forward", counting_forward)
    a = extract(model, SENTENCES, tokenizer=tok, progress=False)
    n = len(calls)
    assert n > 0
    b = extract(model, SENTENCES, tokenizer=tok, progress=False)
    assert b.path == a.path and len(calls) == n  # reused, no forward pass
    assert len(list((tmp_cache / "stores").iterdir())) == 1

    variants = [
        dict(aggregation="first"),
        dict(dtype="float16"),
        dict(max_length=8),
    ]
    paths = {a.path}
    for kw in variants:
        paths.add(extract(model, SENTENCES, tokenizer=tok, progress=False, **kw).path)
    paths.add(extract(model, SENTENCES[:-1], tokenizer=tok, progress=False).path)  # corpus
    other, _ = make_tiny_model(seed=1)  # weights
    paths.add(extract(other, SENTENCES, tokenizer=tok, progress=False).path)
    _, other_tok = make_tiny_model()
    other_tok.add_tokens(["newword"])  # tokenizer
    paths.add(extract(model, SENTENCES, tokenizer=other_tok, progress=False).path)
    assert len(paths) == 7  # the original + six single-key changes, each a new store
    # A tokenizer that has been used (transformers rewrites its padding settings) keys the same.
    tok(["the", "cat"], is_split_into_words=True, padding="max_length", truncation=True, max_length=5)
    assert extract(model, SENTENCES, tokenizer=tok, progress=False).path == a.path


def test_float16_store_close_to_float32(tiny_model, tmp_cache):
    model, tok = tiny_model
    a = extract(model, SENTENCES, tokenizer=tok, progress=False).activations()
    b = extract(model, SENTENCES, tokenizer=tok, dtype="float16", progress=False)
    assert b.dtype == np.float16
    np.testing.assert_allclose(b.activations(), a, rtol=2e-3, atol=2e-3)


def test_bad_input(tiny_model, tmp_cache):
    model, tok = tiny_model
    with pytest.raises(ValueError, match="sentence 1 has no words"):
        extract(model, [["the"], []], tokenizer=tok, progress=False)
    with pytest.raises(ValueError, match="aggregation"):
        extract(model, [["the"]], tokenizer=tok, aggregation="max", progress=False)


@pytest.mark.real
def test_real_default_model(tmp_cache, shared_data):
    """The packaged all-MiniLM-L6-v2: 7 layers x 384, equal to its own hidden states."""
    from neuronbook import load_corpus, load_model

    model, tok = load_model()
    corpus = load_corpus("ud:en_ewt", split="dev", data_dir=shared_data).head(8)
    store = extract(model, corpus, tokenizer=tok, progress=False)
    assert store.shape == (corpus.n_words, 7, 384)
    assert store.metadata["model"] == "sentence-transformers/all-MiniLM-L6-v2"
    for i in (0, 7):
        _, got = store.sentence(i)
        np.testing.assert_allclose(got, _reference(model, tok, corpus.sentences[i], "mean"), atol=1e-4)
    # The same call again reuses the store.
    assert extract(model, corpus, tokenizer=tok, progress=False).path == store.path


def test_word_longer_than_half_the_window_is_clipped_and_reported(tmp_cache):
    model, tok = make_tiny_model(max_position_embeddings=12)  # 10-piece window, words capped at 5
    sent = ["the", "z" * 12, "cat"]  # z + 11 x ##z = 12 pieces
    with pytest.warns(ClippedWordsWarning, match=r"1 word\(s\).*10-piece window.*sentence 0 word 1 \('zzzzzzzzzzzz', 12"):
        store = extract(model, [sent, ["red"]], tokenizer=tok, progress=False)
    assert store.metadata["words_clipped"] == [[0, 1, 12, 5]]
    assert store.shape[0] == 4  # no word lost
    ids = tok.convert_tokens_to_ids(["[CLS]", "the", "z", "##z", "##z", "##z", "##z", "cat", "[SEP]"])
    with torch.no_grad():
        states = torch.stack(model(input_ids=torch.tensor([ids]), output_hidden_states=True).hidden_states)
    _, acts = store.sentence(0)
    np.testing.assert_allclose(acts[1], states[:, 0, 2:7].mean(1).numpy(), atol=1e-5)
    np.testing.assert_allclose(acts[2], states[:, 0, 7].numpy(), atol=1e-5)


# ---------------------------------------------------------------------------- stages on toy input
def _in_order(pieces, aggregation):
    """Hand rule: first piece, last piece, or the pieces added first to last and divided by their count."""
    if aggregation == "first":
        return pieces[0]
    if aggregation == "last":
        return pieces[-1]
    total = pieces[0].copy()
    for p in pieces[1:]:
        total = total + p
    return total / pieces.dtype.type(len(pieces))


@pytest.mark.parametrize("aggregation", ["first", "last", "mean"])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])  # float32 on the CPU: the NumPy path
def test_aggregate_is_exactly_the_hand_rule(aggregation, dtype):
    gen = torch.Generator().manual_seed(0)
    hidden = tuple(torch.randn(2, 6, 5, generator=gen, dtype=dtype) for _ in range(3))  # 2 rows x 6 tokens
    # words as (store row, first flat position, pieces): row 0 of the batch holds tokens 1..4, row 1 tokens 7..10
    rows, first, count = np.array([4, 5, 9, 2]), np.array([1, 2, 7, 8]), np.array([1, 3, 1, 3])
    out = np.full((4, 3, 5), np.nan, dtype=np.float32)
    _aggregate(hidden, (rows, first, count), aggregation, out)
    for k in range(4):
        for layer, h in enumerate(hidden):
            pieces = h.reshape(-1, 5)[first[k]: first[k] + count[k]].numpy()
            expected = _in_order(pieces, aggregation).astype(np.float32)
            assert np.array_equal(out[k, layer], expected), (k, layer)


def test_words_written_in_small_chunks_equal_one_chunk(tiny_model, monkeypatch):
    module = sys.modules["neuronbook.extraction"]
    model, tok = tiny_model
    with extract(model, SENTENCES, tokenizer=tok, cache=False, progress=False) as whole:
        expected = whole.activations()
    monkeypatch.setattr(module, "_CHUNK_WORDS", 2)  # 2 words per write: runs split across chunks and sentences
    with extract(model, SENTENCES, tokenizer=tok, cache=False, progress=False, dtype="float16") as half, \
            extract(model, SENTENCES, tokenizer=tok, cache=False, progress=False) as chunked:
        assert np.array_equal(chunked.activations(), expected)
        assert np.array_equal(half.activations(), expected.astype(np.float16).astype(np.float32))


@pytest.mark.parametrize("enabled", [True, False])
def test_garbage_collector_is_paused_while_extracting_and_restored(tiny_model, monkeypatch, enabled):
    module = sys.modules["neuronbook.extraction"]
    model, tok = tiny_model
    seen = []
    real_plan = module._plan
    monkeypatch.setattr(module, "_plan", lambda *a, **kw: seen.append(gc.isenabled()) or real_plan(*a, **kw))
    was = gc.isenabled()
    try:
        gc.enable() if enabled else gc.disable()
        with extract(model, SENTENCES, tokenizer=tok, cache=False, progress=False):
            assert gc.isenabled() is enabled
        monkeypatch.setattr(module, "_write", lambda *a: 1 / 0)
        with pytest.raises(ZeroDivisionError):
            extract(model, SENTENCES, tokenizer=tok, cache=False, progress=False)
        assert gc.isenabled() is enabled
    finally:
        gc.enable() if was else gc.disable()
    assert seen == [False, False]


def test_plan_clips_and_windows_hand_checked(tiny_model):
    _, tok = tiny_model
    ids = dict(zip(["the", "un", "##able", "cat"], tok.convert_tokens_to_ids(["the", "un", "##able", "cat"])))
    sentences = [["the", "unbelievable", "cat"], ["the", "cat", "sat", "on", "the", "mat"]]
    plan = _plan(tok, sentences, max_pieces=4, overlap=2)
    # Words are capped at 4 // 2 = 2 pieces: un ##believ ##able keeps its first and last piece.
    assert plan.clipped == [(0, 1, 3, 2)]
    assert plan.unknown == []
    # Sentence 0 now fits (4 pieces); sentence 1 (6 pieces) becomes windows [0, 4) and [2, 6).
    assert plan.n_windowed == 1
    assert len(plan.segments) == 3
    first = plan.segments[0]
    assert first.piece_ids == [ids["the"], ids["un"], ids["##able"], ids["cat"]]
    assert first.piece_word == [0, 1, 1, 2]
    assert first.word_rows.tolist() == [0, 1, 2]
    # Store rows of sentence 1 are 3..8; each word is owned by exactly one window (-1 elsewhere).
    assert plan.segments[1].word_rows.tolist() == [3, 4, 5, -1]
    assert plan.segments[2].word_rows.tolist() == [-1, 6, 7, 8]
    assert plan.n_pieces == 4 + 4 + 4


def test_tokenizer_reading_every_word_as_unknown_is_an_error(tmp_cache, monkeypatch):
    from transformers import BertConfig, BertModel, BertTokenizerFast

    tok = BertTokenizerFast(vocab={"[PAD]": 0, "[UNK]": 1, "[CLS]": 2, "[SEP]": 3})  # no word at all
    model = BertModel(BertConfig(vocab_size=4, hidden_size=8, num_hidden_layers=1, num_attention_heads=2,
                                 intermediate_size=8))
    with pytest.raises(ValueError, match=r"every word of the corpus \(3 words\) is read as the unknown token"):
        extract(model, [["the", "cat"], ["sat"]], tokenizer=tok, progress=False)
    assert not (tmp_cache / "stores").exists() or not any((tmp_cache / "stores").iterdir())
    # A temporary store that fails leaves no folder behind either.
    import tempfile

    made = []
    real_mkdtemp = tempfile.mkdtemp
    monkeypatch.setattr(tempfile, "mkdtemp", lambda **kw: made.append(real_mkdtemp(**kw)) or made[-1])
    with pytest.raises(ValueError, match="every word"):
        extract(model, [["the"]], tokenizer=tok, cache=False, progress=False)
    assert len(made) == 1 and not Path(made[0]).exists()


# ------------------------------------------------------------------------------------ the key
def test_words_with_tabs_and_newlines_get_their_own_key(tiny_model):
    model, tok = tiny_model
    # Joined with tabs and newlines, each pair reads the same; length-prefixed, they differ.
    pairs = [([["a\tb"]], [["a", "b"]]), ([["a\nb"]], [["a"], ["b"]]), ([["a", "b\tc"]], [["a\tb", "c"]])]
    for one, other in pairs:
        assert store_key(model, one, tokenizer=tok) != store_key(model, other, tokenizer=tok)
    # A Corpus and the same words as lists share the key; a (model, tokenizer) pair is the same model.
    from neuronbook.corpus import Corpus

    words = [["the", "cat"], ["sat"]]
    key = store_key(model, words, tokenizer=tok)
    assert store_key(model, Corpus(words, {"tag": [["D", "N"], ["V"]]}), tokenizer=tok) == key
    assert store_key((model, tok), words) == key
    assert store_key(model, words, tokenizer=tok, aggregation="first") != key
    assert len(key) == 24


def test_store_key_is_the_store_folder(tiny_model, tmp_cache):
    model, tok = tiny_model
    store = extract((model, tok), SENTENCES, dtype="float16", progress=False)
    assert store.path.name == store_key(model, SENTENCES, tokenizer=tok, dtype="float16")
    assert store.path.parent == tmp_cache / "stores"
    assert store.metadata["key"] == store.path.name


def test_nothing_is_written_onto_the_model_or_tokenizer(tmp_cache):
    model, tok = make_tiny_model()
    with torch.no_grad():  # transformers marks its own hooks on the first forward: not ours
        model(**tok([["the", "cat"]], is_split_into_words=True, return_tensors="pt"), output_hidden_states=True)
    before = (set(vars(model)), model.config.to_dict(), set(vars(tok)))
    extract(model, SENTENCES, tokenizer=tok, progress=False)
    store_key(model, SENTENCES, tokenizer=tok)
    assert (set(vars(model)), model.config.to_dict(), set(vars(tok))) == before
    for obj in (model, model.config, tok):
        assert not any("neuronbook" in name for name in vars(obj))


def test_model_given_by_name_is_loaded_only_to_extract(tmp_path, tmp_cache, monkeypatch):
    import neuronbook.models as models

    model, tok = make_tiny_model()
    folder = tmp_path / "tiny"
    model.save_pretrained(folder)
    tok.save_pretrained(folder)
    loads = []
    real_load = models.load_model

    def counting_load(*a, **kw):
        loads.append(a)
        return real_load(*a, **kw)

    monkeypatch.setattr(models, "load_model", counting_load)
    key = store_key(str(folder), SENTENCES)
    assert loads == []  # keyed from the files
    store = extract(folder, SENTENCES, progress=False)
    assert len(loads) == 1 and store.path.name == key
    np.testing.assert_allclose(store.sentence(0)[1], _reference(model, tok, SENTENCES[0], "mean"), atol=1e-5)
    again = extract(str(folder), SENTENCES, progress=False)
    assert again.path == store.path and len(loads) == 1  # cached: the model is not loaded again


# ---------------------------------------------------------------------------- temporary stores
def test_temporary_store_removed_on_close_and_with_block(tiny_model, tmp_cache):
    model, tok = tiny_model
    store = extract(model, SENTENCES, tokenizer=tok, cache=False, progress=False)
    folder = store.path.parent
    assert store.temporary and folder.is_dir() and not (tmp_cache / "stores").exists()
    expected = store.activations(layers=[1])
    store.close()
    assert not folder.exists() and store.closed
    with pytest.raises(ValueError, match="closed"):
        store.activations()
    store.close()  # idempotent

    with extract(model, SENTENCES, tokenizer=tok, cache=False, progress=False) as store:
        folder = store.path.parent
        np.testing.assert_array_equal(store.activations(layers=[1]), expected)  # same numbers each time
    assert not folder.exists()


def test_temporary_store_removed_when_garbage_collected(tiny_model, tmp_cache):
    model, tok = tiny_model
    store = extract(model, SENTENCES, tokenizer=tok, cache=False, progress=False)
    folder = store.path.parent
    assert folder.is_dir()
    del store
    gc.collect()
    assert not folder.exists()


def test_cached_store_survives_close(tiny_model, tmp_cache):
    model, tok = tiny_model
    with extract(model, SENTENCES, tokenizer=tok, progress=False) as store:
        assert not store.temporary
    assert (store.path / "metadata.json").is_file()


def test_progress_switch_is_checked(tiny_model, tmp_cache):
    model, tok = tiny_model
    with pytest.raises(ValueError, match="progress must be"):
        extract(model, SENTENCES, tokenizer=tok, cache=False, progress="sometimes")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a clean corpus extracts without a warning
        store = extract(model, SENTENCES, tokenizer=tok, progress="auto")
    assert store.metadata["words_unknown"] == [] and store.metadata["words_clipped"] == []


def test_name_and_loaded_pair_share_a_store_key(tmp_cache):
    from neuronbook.models import load_model

    corpus = [["the", "cat", "sat"], ["a", "dog", "ran"]]
    by_name = store_key("tiny-random", corpus)
    model, tok = load_model("tiny-random")
    assert store_key((model, tok), corpus) == by_name
    assert store_key(model, corpus, tokenizer=tok) == by_name
    # a tokenizer changed after loading is no longer the folder's: another key
    tok.add_tokens(["zebra-token"])
    assert store_key((model, tok), corpus) != by_name


@pytest.mark.parametrize("corpus, error, message", [
    ("the cat sat", TypeError, r"corpus must be a Corpus or a list of sentences, each a list of word strings.*"
                               r"got str 'the cat sat'; split the text"),
    (b"the cat", TypeError, r"got bytes b'the cat'"),
    (["the cat sat", "it ran"], TypeError, r"sentence 0 is str 'the cat sat', not a list of words"),
    ([["the", "cat"], "it ran"], TypeError, r"sentence 1 is str 'it ran'"),
    ([["the"], 7], TypeError, r"sentence 1 is int 7, not a list of words"),
    ([["the", 3]], TypeError, r"sentence 0, word 1: expected str, got int \(3\)"),
    ([[["the"]]], TypeError, r"sentence 0, word 0: expected str, got list \(\['the'\]\)"),
    ([["the", None]], TypeError, r"sentence 0, word 1: expected str, got NoneType"),
    ({"s1": ["the"]}, TypeError, r"corpus must be .* got dict"),
    (42, TypeError, r"corpus must be .* got int"),
    ([], ValueError, r"the corpus has no sentences"),
    ((s for s in []), ValueError, r"the corpus has no sentences"),
    (None, ValueError, r"extract needs a corpus"),
])
def test_corpus_shape_is_checked_before_any_model_work(tiny_model, tmp_cache, corpus, error, message):
    model, tok = tiny_model
    with pytest.raises(error, match=message):
        extract(model, corpus, tokenizer=tok, progress=False)
    with pytest.raises(error, match=message):
        store_key(model, corpus, tokenizer=tok)
    assert not (tmp_cache / "stores").exists() or not any((tmp_cache / "stores").iterdir())


def test_an_empty_corpus_object_is_an_error(tiny_model, tmp_cache):
    from neuronbook.corpus import Corpus

    model, tok = tiny_model
    with pytest.raises(ValueError, match="the corpus has no sentences"):
        extract(model, Corpus([]), tokenizer=tok, progress=False)


def test_words_may_come_as_tuples_or_a_generator(tiny_model, tmp_cache):
    model, tok = tiny_model
    a = extract(model, [["the", "cat"], ["red"]], tokenizer=tok, progress=False)
    b = extract(model, (tuple(s) for s in [["the", "cat"], ["red"]]), tokenizer=tok, progress=False)
    assert a.path == b.path and a.n_words == 3


# ------------------------------------------------------------------------ a cache that heals itself
def _damage(path, how):
    acts = path / "activations.npy"
    if how == "flipped byte":
        with open(acts, "r+b") as f:
            f.seek(acts.stat().st_size - 5)
            byte = f.read(1)
            f.seek(-1, 1)
            f.write(bytes([byte[0] ^ 0xFF]))
    elif how == "truncated":
        os.truncate(acts, acts.stat().st_size // 2)
    elif how == "unreadable metadata":
        (path / "metadata.json").write_text("{")
    else:  # no metadata at all: a folder that never was a complete store
        (path / "metadata.json").unlink()


@pytest.mark.parametrize("how", ["flipped byte", "truncated", "unreadable metadata", "no metadata"])
def test_damaged_cached_store_is_moved_aside_and_extracted_again(tiny_model, tmp_cache, how, caplog):
    model, tok = tiny_model
    good = extract(model, SENTENCES, tokenizer=tok, progress=False)
    expected = good.activations()
    path = good.path
    good.close()
    _damage(path, how)
    with caplog.at_level(logging.WARNING, logger="neuronbook.extraction"):
        healed = extract(model, SENTENCES, tokenizer=tok, progress=False)
    assert healed.path == path
    np.testing.assert_array_equal(healed.activations(), expected)
    healed.verify()
    aside = [p for p in path.parent.iterdir() if p.name.startswith(f"{path.name}.damaged-")]
    assert len(aside) == 1 and sorted(p.name for p in path.parent.iterdir()) == sorted([path.name, aside[0].name])
    assert str(path) in caplog.text and str(aside[0]) in caplog.text


def test_stale_temporary_folder_of_a_dead_writer_is_removed(tiny_model, tmp_cache):
    from neuronbook.store import _HOST

    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    root = tmp_cache / "stores"
    root.mkdir(parents=True, exist_ok=True)
    stale = root / f"0123456789abcdef01234567.tmp-{_HOST}-{proc.pid}-deadbeef"
    live = root / f"0123456789abcdef01234567.tmp-{_HOST}-{os.getpid()}-cafecafe"
    for folder in (stale, live):
        folder.mkdir()
        (folder / "activations.npy").write_bytes(b"partial")
        os.utime(folder, (time.time() - 300, time.time() - 300))
    model, tok = tiny_model
    store = extract(model, SENTENCES, tokenizer=tok, progress=False)
    assert not stale.exists() and live.exists()
    assert sorted(p.name for p in root.iterdir()) == sorted([store.path.name, live.name])


def test_loser_of_the_rename_race_uses_the_winners_store(tiny_model, tmp_cache, monkeypatch):
    from neuronbook.store import ActivationStore, _StoreWriter

    original = _StoreWriter._rename_into_place

    def another_process_finishes_first(self):
        if self.metadata.get("who") != "winner":  # the winner itself renames normally
            winner = np.full(self.shape, 3.0, np.float32)
            ActivationStore.from_array(self.path, winner, self.words, {"who": "winner"})
        original(self)

    monkeypatch.setattr(_StoreWriter, "_rename_into_place", another_process_finishes_first)
    model, tok = tiny_model
    store = extract(model, SENTENCES, tokenizer=tok, progress=False)
    assert store.metadata["who"] == "winner"
    assert np.all(store.activations() == 3.0)
    assert [p.name for p in store.path.parent.iterdir()] == [store.path.name]  # the loser's folder is gone


def test_max_length_beyond_the_position_embeddings_names_both(tmp_cache):
    model, tok = make_tiny_model(max_position_embeddings=64)
    corpus = [["the", "cat", "sat"]]
    with pytest.raises(ValueError, match=r"max_length=65 is more than BertModel's limit of 64 pieces: pass "
                                         r"max_length <= 64"):
        extract(model, corpus, tokenizer=tok, max_length=65, cache=False, progress=False)
    store = extract(model, corpus, tokenizer=tok, max_length=64, cache=False, progress=False)  # the limit itself
    assert store.shape[0] == 3


def test_max_length_check_takes_off_the_roberta_padding_offset(tmp_cache):
    from transformers import RobertaConfig, RobertaModel

    _, tok = make_tiny_model()
    config = RobertaConfig(vocab_size=tok.vocab_size, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                           intermediate_size=32, max_position_embeddings=66, pad_token_id=1)
    torch.manual_seed(0)
    model = RobertaModel(config).eval()
    with pytest.raises(ValueError, match=r"max_length=65 is more than RobertaModel's limit of 64 pieces \(66 "
                                         r"position embeddings less the padding offset\)"):
        extract(model, [["the", "cat"]], tokenizer=tok, max_length=65, cache=False, progress=False)
