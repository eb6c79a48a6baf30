"""Extraction from causal decoders: tiny random GPT-2 (byte-level BPE) and Llama (SentencePiece-style
BPE with a leading <bos>), models and tokenizers built in code."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from neuronbook import extract
from neuronbook.extraction import store_key
from neuronbook.extraction import _assign_windows, _word_prefix, resolve_aggregation
from neuronbook.models.identity import is_causal
from neuronbook.models.tiny import build_tiny_decoder

SENTENCES = [
    ["The", "cat", "sat", "on", "the", "mat", "."],
    ["She", "said", '"', "no", ".", '"'],                     # pieces that join punctuation in running text
    ["It", "didn", "'t", "rain", ",", "so", "Unbelievable", "!"],
]


@pytest.fixture(scope="module", params=["gpt2", "llama"])
def decoder(request):
    return (request.param, *build_tiny_decoder(request.param))


def _pieces(tok, words, prefix):
    """(ids, word of each piece) as the extraction feeds them, special tokens included."""
    fed = [words[0]] + [prefix + w for w in words[1:]]
    enc = tok([fed], is_split_into_words=True)
    return enc["input_ids"][0], enc.word_ids(0)


def test_decoders_are_causal_and_encoders_are_not(decoder, tiny_model):
    _, model, _ = decoder
    assert is_causal(model) and not is_causal(tiny_model[0])
    assert resolve_aggregation("auto", True) == "last" and resolve_aggregation("auto", False) == "mean"


def test_word_prefix_matches_running_text(decoder):
    arch, _, tok = decoder
    # byte-level BPE needs the space ('Ġcat'); the SentencePiece normaliser marks every word start itself
    assert _word_prefix(tok) == {"gpt2": " ", "llama": ""}[arch]
    if arch == "gpt2":
        ids, _ = _pieces(tok, ["The", "cat"], " ")
        assert tok.convert_ids_to_tokens(ids) == ["The", "Ġcat"]
    else:
        ids, wids = _pieces(tok, ["The", "cat"], "")
        assert tok.convert_ids_to_tokens(ids)[0] == "<bos>" and wids[0] is None


@pytest.mark.parametrize("aggregation", ["first", "last", "mean"])
def test_one_row_per_word_equal_to_the_hidden_states(decoder, tmp_cache, aggregation):
    arch, model, tok = decoder
    store = extract(model, SENTENCES, tokenizer=tok, aggregation=aggregation, progress=False)
    assert store.shape == (sum(map(len, SENTENCES)), 3, 32)
    assert store.metadata["alignment"] == "causal-1" and store.metadata["aggregation"] == aggregation
    prefix = _word_prefix(tok)
    assert store.metadata["word_prefix"] == prefix
    row = 0
    for words in SENTENCES:
        ids, wids = _pieces(tok, words, prefix)
        with torch.no_grad():
            hs = torch.stack(model(input_ids=torch.tensor([ids]), output_hidden_states=True).hidden_states)[:, 0]
        for j in range(len(words)):
            pos = [k for k, w in enumerate(wids) if w == j]
            assert pos, f"word {words[j]!r} has no piece"
            want = {"first": hs[:, pos[0]], "last": hs[:, pos[-1]], "mean": hs[:, pos].mean(1)}[aggregation]
            np.testing.assert_allclose(store.array[row], want.numpy(), atol=2e-5, rtol=1e-4)
            row += 1


def test_auto_is_last_for_a_decoder_and_mean_for_an_encoder(decoder, tiny_model, tmp_cache):
    _, model, tok = decoder
    assert store_key(model, SENTENCES, tokenizer=tok) == store_key(model, SENTENCES, tokenizer=tok,
                                                                   aggregation="last")
    bert, btok = tiny_model
    words = [["the", "cat", "sat"]]
    assert store_key(bert, words, tokenizer=btok) == store_key(bert, words, tokenizer=btok, aggregation="mean")


def test_a_word_sees_only_what_precedes_it(decoder, tmp_cache):
    """Changing the words after word j changes nothing of word j's vector (the last piece included)."""
    _, model, tok = decoder
    a = extract(model, [["The", "cat", "sat", "on", "the", "mat"]], tokenizer=tok, cache=False, progress=False)
    b = extract(model, [["The", "cat", "sat", "in", "a", "house", "."]], tokenizer=tok, cache=False, progress=False)
    np.testing.assert_allclose(a.array[:3], b.array[:3], atol=2e-5)
    assert not np.allclose(a.array[3], b.array[3], atol=1e-3)


def test_causal_windows_keep_the_most_left_context():
    # ten one-piece words, windows [0, 6), [3, 9), [6, 10): by left context, a word stays in the first
    # window that holds it; with both sides counted, words move to the window where they are central
    windows = [(0, 6), (3, 9), (6, 10)]
    assert _assign_windows([1] * 10, windows, causal=True).tolist() == [0] * 6 + [1] * 3 + [2]
    assert _assign_windows([1] * 10, windows).tolist() == [0, 0, 0, 0, 0, 1, 1, 1, 2, 2]


def test_long_sentence_windows_match_the_left_context(decoder, tmp_cache):
    """A 30-word sentence through 12-piece windows: every word gets a row, and (causal) each word's vector is
    what the model computes from its window's start."""
    arch, model, tok = decoder
    words = ("the cat sat on the mat and the dog ran in the house then they walk to the river "
             "and we saw three red birds on the mat").split()
    store = extract(model, [words], tokenizer=tok, max_length=12, aggregation="last", cache=False, progress=False)
    assert store.shape[0] == len(words) and store.metadata["sentences_windowed"] == 1
    assert np.isfinite(store.array).all()
    # the first word is owned by the first window: its vector is its vector in a sentence of its own
    alone = extract(model, [words[:3]], tokenizer=tok, aggregation="last", cache=False, progress=False)
    np.testing.assert_allclose(store.array[0], alone.array[0], atol=2e-5)


def test_auto_keys_an_encoder_result_as_mean(tmp_cache):
    from neuronbook import LCAConfig
    from neuronbook.lca.cache import result_key

    auto = LCAConfig(model="tiny-random", task="upos")
    assert auto.aggregation == "auto"
    assert result_key(auto, ["k"]) == result_key(auto.replace(aggregation="mean"), ["k"])
    assert result_key(auto, ["k"]) != result_key(auto.replace(aggregation="last"), ["k"])
