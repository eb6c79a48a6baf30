"""Property-based tests (hypothesis) of extraction's word alignment and of the cache keys.

Alignment: whatever the words and however the tokenizer cuts them (no piece, one, many; sentences
longer than the window), every word gets exactly one row of the store, in its own sentence.
Keys: different inputs give different keys, including words holding the characters a naive
encoding would join them with (tab, newline, ``:``, digits) and shifts of a word boundary.
"""

from __future__ import annotations

import itertools
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from neuronbook.corpus import Corpus
from neuronbook.extraction import _plan, extract, store_key
from neuronbook.store import content_key
from tiny import TINY_VOCAB, make_tiny_model

SETTINGS = settings(max_examples=30, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


# --------------------------------------------------------------------------------- alignment
class _Encoding:
    def __init__(self, ids, word_ids):
        self._ids, self._word_ids = ids, word_ids

    def __getitem__(self, key):
        assert key == "input_ids"
        return self._ids

    def word_ids(self, i):
        return self._word_ids[i]


class PieceTokenizer:
    """Stands in for a fast tokenizer: word ``w`` becomes ``counts[w]`` pieces (0: none at all)."""

    unk_token_id = 1

    def __init__(self, counts: dict):
        self.counts = counts

    def __call__(self, sentences, is_split_into_words, add_special_tokens):
        assert is_split_into_words and not add_special_tokens
        ids, wids = [], []
        for sent in sentences:
            ids.append([100 + 7 * j + k for j, w in enumerate(sent) for k in range(self.counts[w])])
            wids.append([j for j, w in enumerate(sent) for _ in range(self.counts[w])])
        return _Encoding(ids, wids)


_WORDS = st.text(st.characters(exclude_categories=("Cs",)), min_size=1, max_size=4)


@SETTINGS
@given(sentences=st.lists(st.lists(_WORDS, min_size=1, max_size=12), min_size=1, max_size=5),
       max_pieces=st.integers(1, 12), data=st.data())
def test_every_word_gets_exactly_one_row_whatever_the_pieces(sentences, max_pieces, data):
    distinct = sorted({w for s in sentences for w in s})
    counts = {w: data.draw(st.integers(0, 9), label=f"pieces of {w!r}") for w in distinct}
    assume(any(counts[w] for w in distinct))  # a tokenizer reading every word as unknown is an error
    overlap = data.draw(st.integers(0, max_pieces - 1), label="overlap")
    plan = _plan(PieceTokenizer(counts), sentences, max_pieces, overlap)

    n_words = sum(len(s) for s in sentences)
    sentence_of_row = np.repeat(np.arange(len(sentences)), [len(s) for s in sentences])
    owned = np.concatenate([seg.word_rows[seg.word_rows >= 0] for seg in plan.segments])
    assert sorted(owned.tolist()) == list(range(n_words))  # each row exactly once
    cap = max(1, max_pieces // 2)
    for seg in plan.segments:
        assert 1 <= len(seg.piece_ids) <= max_pieces
        # every word of the segment has at least one piece, in order, and belongs to the segment's sentence
        assert sorted(set(seg.piece_word)) == list(range(len(seg.word_rows)))
        assert seg.piece_word == sorted(seg.piece_word)
        assert (sentence_of_row[seg.word_rows[seg.word_rows >= 0]] == seg.sentence).all()
        assert max(np.bincount(seg.piece_word)) <= max(cap, 1)
    assert plan.unknown == [(i, j, w) for i, s in enumerate(sentences) for j, w in enumerate(s) if counts[w] == 0]
    assert [c[:3] for c in plan.clipped] == [(i, j, counts[w]) for i, s in enumerate(sentences)
                                             for j, w in enumerate(s) if counts[w] > cap]


@pytest.fixture(scope="module")
def tiny():
    return make_tiny_model(max_position_embeddings=64)


_TINY_WORDS = st.one_of(st.sampled_from([p.lstrip("#") for p in TINY_VOCAB[5:]] + ["unbelievable", "walking"]),
                        st.text(st.characters(exclude_categories=("Cs",)), min_size=1, max_size=6))


@settings(max_examples=12, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(sentences=st.lists(st.lists(_TINY_WORDS, min_size=1, max_size=14), min_size=1, max_size=4),
       max_length=st.sampled_from([None, 6, 9]), aggregation=st.sampled_from(["mean", "first", "last"]))
def test_extracted_store_has_one_row_per_word(tiny, sentences, max_length, aggregation):
    model, tok = tiny
    sentences = [["the", *sentences[0]], *sentences[1:]]  # a corpus of only unknown words is an error
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # unknown and clipped words are reported; here only rows count
        with extract(model, sentences, tokenizer=tok, cache=False, max_length=max_length,
                     aggregation=aggregation, progress=False) as store:
            acts = store.activations()
            assert acts.shape == (sum(len(s) for s in sentences), 3 * 16)
            assert np.isfinite(acts).all()
            for i, sent in enumerate(sentences):
                words, vecs = store.sentence(i)
                assert words == sent and vecs.shape[0] == len(sent)
                if max_length is None:  # one window: each row is its own word's vector
                    ref = _reference(model, tok, sent, aggregation)
                    if ref is not None:
                        np.testing.assert_allclose(vecs, ref, atol=1e-5)


def _reference(model, tok, words, aggregation):
    """Word vectors from one plain forward pass, or None when a word has no piece (read as unknown)."""
    import torch

    enc = tok(words, is_split_into_words=True, return_tensors="pt")
    wids = enc.word_ids(0)
    if any(j not in wids for j in range(len(words))):
        return None
    with torch.no_grad():
        hidden = torch.stack(model(**enc, output_hidden_states=True).hidden_states, dim=2)[0]  # tokens x layers x h
    out = []
    for j in range(len(words)):
        pos = [k for k, w in enumerate(wids) if w == j]
        v = {"mean": hidden[pos].mean(0), "first": hidden[pos[0]], "last": hidden[pos[-1]]}[aggregation]
        out.append(v.numpy())
    return np.stack(out)


# -------------------------------------------------------------------------------------- keys
# Characters a naive key would join words with, and digits/colons of a naive length prefix.
_ADVERSARIAL = st.text(st.sampled_from("ab\t\n:S0123 \x1f\u2028"), min_size=1, max_size=4)
_CORPORA = st.lists(st.lists(_ADVERSARIAL, min_size=1, max_size=4), min_size=1, max_size=3)


@settings(max_examples=200, deadline=None, derandomize=True)
@given(a=_CORPORA, b=_CORPORA)
def test_different_corpora_have_different_word_fingerprints(a, b):
    assume(a != b)
    assert Corpus(a).words_fingerprint() != Corpus(b).words_fingerprint()


@st.composite
def _two_segmentations(draw):
    """The same characters cut into words and sentences in two different ways."""
    text = draw(st.text(st.sampled_from("ab\t\n1:"), min_size=2, max_size=10))

    def cut():
        cuts = sorted(draw(st.sets(st.integers(1, len(text) - 1), max_size=len(text) - 1)))
        words = [text[i:j] for i, j in zip([0, *cuts], [*cuts, len(text)])]
        ends = sorted(draw(st.sets(st.integers(1, len(words) - 1), max_size=len(words) - 1))) \
            if len(words) > 1 else []
        return [words[i:j] for i, j in zip([0, *ends], [*ends, len(words)])]

    return cut(), cut()


@settings(max_examples=150, deadline=None, derandomize=True)
@given(pair=_two_segmentations())
def test_shifting_a_word_or_sentence_boundary_changes_the_key(pair):
    a, b = pair
    assume(a != b)
    assert Corpus(a).words_fingerprint() != Corpus(b).words_fingerprint()


def test_boundary_shift_examples_have_their_own_store_keys(tiny):
    model, tok = tiny
    cases = [[["ab", "c"]], [["a", "bc"]], [["abc"]], [["a"], ["bc"]], [["a", "b", "c"]], [["a\tb", "c"]],
             [["a", "b\tc"]], [["a\nb"]], [["a"], ["b"]], [["1:a"]], [["1", "a"]], [["a"], ["b", "c"]]]
    keys = [store_key(model, c, tokenizer=tok) for c in cases]
    assert len(set(keys)) == len(cases)


@settings(max_examples=40, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(a=_CORPORA, b=_CORPORA)
def test_different_corpora_have_different_store_keys(tiny, a, b):
    assume(a != b)
    model, tok = tiny
    assert store_key(model, a, tokenizer=tok) != store_key(model, b, tokenizer=tok)


def test_every_extraction_setting_has_its_own_store_key(tiny):
    model, tok = tiny
    corpus = [["the", "cat"]]
    grid = list(itertools.product(["mean", "first", "last"], ["float32", "float16"], [None, 16, 32],
                                  [None, 2, 4]))
    keys = {store_key(model, corpus, tokenizer=tok, aggregation=a, dtype=d, max_length=m, window_overlap=o)
            for a, d, m, o in grid}
    assert len(keys) == len(grid)


@settings(max_examples=100, deadline=None, derandomize=True)
@given(a=st.dictionaries(st.sampled_from(["model", "corpus", "dtype"]), st.one_of(st.none(), _ADVERSARIAL,
                                                                                    st.integers(-3, 3))),
       b=st.dictionaries(st.sampled_from(["model", "corpus", "dtype"]), st.one_of(st.none(), _ADVERSARIAL,
                                                                                    st.integers(-3, 3))))
def test_content_key_is_injective_on_field_dicts(a, b):
    assume(a != b)
    assert content_key(a) != content_key(b)
