"""Interventions in the forward pass: hooks, intervened stores and their keys, matched sets, causal-LM losses.

Tiny random models built in code; one of them has a planted wire (neuron 3 of layer 1 drives neuron 5 of
layer 2) so that switching the wired neuron off must change the later layer far more than switching off
another one.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

import neuronbook as nb
from neuronbook.extraction import extract, store_key
from neuronbook.interventions import (Intervention, _summaries, as_intervention, causal_lm, hidden_state_modules,
                                      intervention_hooks, neuron_means, neuron_sets, word_losses)
from tiny import TINY_VOCAB, make_tiny_model

SENTENCES = [["the", "cat", "sat", "on", "the", "mat", "."], ["unbelievable", "dogs", "ran", "!"],
             ["x", "y", "z"]]


def planted_model():
    """A tiny BERT whose second layer copies neuron 3 of its input into neuron 5 of its output (and little else)."""
    model, tok = make_tiny_model(seed=1, hidden_size=16)
    block = model.encoder.layer[1]
    with torch.no_grad():
        for p in block.parameters():
            p.zero_()
        block.attention.output.LayerNorm.weight.fill_(1.0)
        block.output.LayerNorm.weight.fill_(1.0)
        block.intermediate.dense.weight[0, 3] = 4.0      # intermediate unit 0 reads input neuron 3
        block.intermediate.dense.bias[0] = 3.0           # ... in GELU's near-linear range
        block.output.dense.weight[5, 0] = 6.0            # ... and writes output neuron 5
    return model, tok


def hidden(model, tok, words, spec=None):
    enc = tok([words], is_split_into_words=True, return_tensors="pt")
    with (intervention_hooks(model, spec) if spec else torch.inference_mode()), torch.inference_mode():
        return model(**enc, output_hidden_states=True).hidden_states


def test_spec_sorts_checks_and_round_trips():
    spec = Intervention([(2, 1), (0, 4)], values=[0.5, -1.0])
    assert spec.neurons == ((0, 4), (2, 1)) and spec.values == (-1.0, 0.5) and spec.layers == [0, 2]
    assert as_intervention(spec.key_fields()) == spec
    assert spec.table().to_dict("list") == {"layer": [0, 2], "neuron": [4, 1], "value": [-1.0, 0.5]}
    with pytest.raises(ValueError, match="needs values"):
        Intervention([(0, 1)])
    with pytest.raises(ValueError, match="given twice"):
        Intervention([(0, 1), (0, 1)], how="zero")
    with pytest.raises(ValueError, match="how must be"):
        Intervention([(0, 1)], how="half")
    with pytest.raises(ValueError, match="unknown intervention settings"):
        as_intervention({"neurons": [[0, 1]], "how": "zero", "scale": 2})


def test_hidden_state_modules_of_encoder_and_decoders():
    from transformers import GPT2Config, GPT2LMHeadModel, LlamaConfig, LlamaForCausalLM

    bert, _ = make_tiny_model()
    assert [type(m).__name__ for m in hidden_state_modules(bert)] == ["BertEmbeddings", "BertLayer", "BertLayer"]
    gpt = GPT2LMHeadModel(GPT2Config(vocab_size=len(TINY_VOCAB), n_embd=16, n_layer=2, n_head=2, n_positions=32)).eval()
    # the last hidden state is after the final norm: hooking it there is what changes hidden_states[-1]
    assert [type(m).__name__ for m in hidden_state_modules(gpt)] == ["Dropout", "GPT2Block", "LayerNorm"]
    llama = LlamaForCausalLM(LlamaConfig(vocab_size=len(TINY_VOCAB), hidden_size=16, intermediate_size=32,
                                         num_hidden_layers=2, num_attention_heads=2, num_key_value_heads=2)).eval()
    assert [type(m).__name__ for m in hidden_state_modules(llama)][-1] == "LlamaRMSNorm"


def test_planted_wire_changes_the_later_layer():
    model, tok = planted_model()
    words = SENTENCES[0]
    clean = hidden(model, tok, words)
    wired = hidden(model, tok, words, Intervention([(1, 3)], how="zero"))
    other = hidden(model, tok, words, Intervention([(1, 8)], how="zero"))
    assert torch.equal(wired[0], clean[0])                               # below: untouched
    assert (wired[1][0, :, 3] == 0).all() and torch.equal(wired[1][..., :3], clean[1][..., :3])
    # the wired neuron moves its target by far more than switching off an unwired neuron does
    moved = (wired[2][0, :, 5] - clean[2][0, :, 5]).abs().mean()
    moved_other = (other[2][0, :, 5] - clean[2][0, :, 5]).abs().mean()
    assert moved > 0.3 and moved > 10 * moved_other, (moved, moved_other)
    # the hooks are gone after the block
    assert torch.equal(hidden(model, tok, words)[2], clean[2])


def test_intervened_store_values_keys_and_means(tmp_path):
    model, tok = make_tiny_model()
    clean_key = store_key(model, SENTENCES, tokenizer=tok)
    clean = extract((model, tok), SENTENCES, cache=tmp_path, progress=False)
    assert clean.metadata["key"] == clean_key and "intervention" not in clean.metadata
    values = neuron_means(clean, [(1, 2), (0, 7)])
    assert values.tolist() == pytest.approx([clean.activations(layers=[1], neurons=[2]).mean(),
                                             clean.activations(layers=[0], neurons=[7]).mean()], rel=1e-6)
    off = nb.intervene((model, tok), SENTENCES, [(1, 2), (0, 7)], reference=clean, cache=tmp_path, progress=False)
    # every word's vector is the mean of its pieces, each set to the value: the value itself
    assert off.activations(layers=[1], neurons=[2]).ravel() == pytest.approx(values[0], abs=1e-6)
    assert off.activations(layers=[0], neurons=[7]).ravel() == pytest.approx(values[1], abs=1e-6)
    assert not np.allclose(off.activations(layers=[2]), clean.activations(layers=[2]))  # later layers feel it
    spec = Intervention([(1, 2), (0, 7)], values=values)
    assert off.metadata["intervention"] == spec.key_fields()
    assert off.metadata["key"] == store_key(model, SENTENCES, tokenizer=tok, intervention=spec) != clean_key
    assert store_key(model, SENTENCES, tokenizer=tok) == clean_key  # the clean key is untouched
    other = Intervention([(1, 2), (0, 7)], values=values + 1)
    assert store_key(model, SENTENCES, tokenizer=tok, intervention=other) != off.metadata["key"]
    zero = nb.intervene((model, tok), SENTENCES, [(2, 0)], how="zero", cache=False, progress=False)
    assert (zero.activations(layers=[2], neurons=[0]) == 0).all()
    assert np.array_equal(zero.activations(layers=[0, 1]), clean.activations(layers=[0, 1]))
    with pytest.raises(ValueError, match="reference"):
        nb.intervene((model, tok), SENTENCES, [(1, 2)], progress=False)
    with pytest.raises(IndexError, match="layer 5"):
        nb.intervene((model, tok), SENTENCES, [(5, 2)], how="zero", cache=False, progress=False)


def test_windows_are_intervened_too():
    model, tok = make_tiny_model()
    long = [["the", "cat", "sat", "on", "the", "mat"] * 4]
    with extract((model, tok), long, cache=False, progress=False, max_length=10,
                 intervention=Intervention([(1, 4)], values=[2.5])) as s:
        assert s.metadata["sentences_windowed"] == 1
        assert s.activations(layers=[1], neurons=[4]).ravel() == pytest.approx(2.5)


def test_neuron_sets_match_size_and_layers():
    neurons = pd.DataFrame({"layer": np.repeat([0, 1, 2, 3], 5), "neuron": np.tile(np.arange(5), 4)})
    rank = np.random.default_rng(0).permutation(20) + 1
    result = nb.LCAResult(ranking=neurons.assign(rank=rank, tag="A", score=0.1), neurons=neurons)
    sets = neuron_sets(result, 6, probe_layer=3, n_draws=4, seed=0)
    top = sets[sets.selection == "top"]
    expected = neurons.assign(rank=rank).query("layer < 3").sort_values("rank").head(6)
    assert top[["layer", "neuron"]].values.tolist() == expected[["layer", "neuron"]].values.tolist()
    for sel in ("random", "layer-matched random"):
        part = sets[sets.selection == sel]
        assert part.groupby("draw").size().tolist() == [6] * 4 and (part["layer"] < 3).all()
        assert not part.duplicated(["draw", "layer", "neuron"]).any()
    matched = sets[sets.selection == "layer-matched random"]
    want = top["layer"].value_counts().sort_index().to_dict()
    assert all(g["layer"].value_counts().sort_index().to_dict() == want for _, g in matched.groupby("draw"))
    assert sets[sets.selection == "random"]["seed"].unique().tolist() == nb.evaluate.baseline_seeds(0, 4)
    with pytest.raises(ValueError, match="k must be between 1 and the 15"):
        neuron_sets(result, 16, probe_layer=3)


def test_summaries_intervals_by_hand():
    rows = [("none", 0, "fixed accuracy", 0.9), ("top", 0, "fixed accuracy", 0.5)]
    rows += [("random", d, "fixed accuracy", v) for d, v in enumerate([0.8, 0.7, 0.9])]
    effects = pd.DataFrame(rows, columns=["selection", "draw", "measure", "value"])
    summary, comparison = _summaries(effects)
    rnd = summary.set_index("selection").loc["random"]
    # mean 0.8, sd 0.1, t(0.975, 2) = 4.3027: 0.8 -+ 0.2484
    assert (rnd["mean"], rnd["sd"], rnd["drop"]) == pytest.approx((0.8, 0.1, 0.1))
    assert (rnd["ci_low"], rnd["ci_high"]) == pytest.approx((0.5516, 1.0484), abs=1e-4)
    c = comparison.iloc[0]
    assert (c["baseline"], c["measure"], c["top"], c["difference"]) == ("random", "fixed accuracy", 0.5,
                                                                          pytest.approx(-0.3))


def test_causal_lm_word_losses_match_the_model_loss(tmp_path):
    from transformers import GPT2Config, GPT2LMHeadModel

    _, tok = make_tiny_model()
    torch.manual_seed(0)
    gpt = GPT2LMHeadModel(GPT2Config(vocab_size=len(TINY_VOCAB), n_embd=16, n_layer=2, n_head=2, n_positions=64,
                                     pad_token_id=0)).eval()
    assert causal_lm(gpt) is gpt and causal_lm(make_tiny_model()[0]) is None
    gpt.save_pretrained(tmp_path / "gpt")
    assert type(causal_lm(str(tmp_path / "gpt"))).__name__ == "GPT2LMHeadModel"
    words = ["the", "cat", "sat", "on", "the", "mat", "."]   # one piece each; [CLS] comes first
    losses = word_losses(gpt, tok, [words, ["a", "dog", "ran"]])
    ids = torch.tensor([[tok.cls_token_id] + tok.convert_tokens_to_ids(words)])
    with torch.inference_mode():
        expected = float(gpt(input_ids=ids, labels=ids).loss)
    assert losses.shape == (10,) and float(losses[:7].mean()) == pytest.approx(expected, rel=1e-5)
    # switching off half of the last layer (after the final norm) changes what the head predicts
    spec = Intervention([(2, n) for n in range(8)], how="zero")
    off = word_losses(gpt, tok, [words, ["a", "dog", "ran"]], spec)
    assert np.isfinite(off).all() and not np.allclose(off, losses)
    # the intervened store of the same model shows the change at layer 2 and none below
    # (max_length given: reading a GPT-2's limit from its config is the decoder presets' business)
    with extract((gpt, tok), [words], cache=False, progress=False, intervention=spec, max_length=64) as s, \
            extract((gpt, tok), [words], cache=False, progress=False, max_length=64) as c:
        assert (s.activations(layers=[2], neurons=list(range(8))) == 0).all()
        assert np.array_equal(s.activations(layers=[0, 1]), c.activations(layers=[0, 1]))


@pytest.mark.real
@pytest.mark.parametrize("preset", ["minilm-l6", "e5-small"])
def test_real_presets_take_the_hooks(preset):
    """The packaged presets: the hooks sit on the embeddings and on every layer; below is untouched, above moves."""
    model, tok = nb.load_model(preset, progress=False)
    n_layers = model.config.num_hidden_layers + 1
    assert [type(m).__name__ for m in hidden_state_modules(model)] == ["BertEmbeddings"] + ["BertLayer"] * (n_layers - 1)
    sentences = [["The", "cat", "sat", "on", "the", "mat", "."], ["Neurons", "can", "be", "switched", "off", "."]]
    spec = Intervention([(3, n) for n in range(0, 384, 4)], how="zero")
    with extract((model, tok), sentences, cache=False, progress=False) as clean, \
            extract((model, tok), sentences, cache=False, progress=False, intervention=spec) as off:
        assert np.array_equal(off.activations(layers=[0, 1, 2]), clean.activations(layers=[0, 1, 2]))
        assert (off.activations(layers=[3], neurons=list(range(0, 384, 4))) == 0).all()
        later = np.abs(off.activations(layers=[n_layers - 1]) - clean.activations(layers=[n_layers - 1])).mean()
        assert later > 1e-3  # the last layer feels a quarter of layer 3 switched off


def test_effects_of_a_causal_lm_with_a_tag(tmp_path, tmp_cache):
    """The whole measurement on a tiny random GPT-2 folder: the probe measures, the tag's words, the LM losses."""
    from transformers import GPT2Config, GPT2LMHeadModel

    from tiny import write_corpus

    _, tok = make_tiny_model()
    torch.manual_seed(0)
    GPT2LMHeadModel(GPT2Config(vocab_size=len(TINY_VOCAB), n_embd=16, n_layer=2, n_head=2, n_positions=64,
                               pad_token_id=0)).save_pretrained(tmp_path / "gpt")
    tok.save_pretrained(tmp_path / "gpt")
    train, test = write_corpus(tmp_path / "train.conllu", 40, 0), write_corpus(tmp_path / "test.conllu", 20, 1)
    r = nb.intervention_effects(model=str(tmp_path / "gpt"), data="toy", train=str(train), test=str(test),
                                task="upos", l1=1e-3, l2=1e-3, epochs=2, percents=[10, 50], control=False,
                                max_length=64, k=3, n_draws=2, tag="NOUN", lm=True, time_clean=False, progress=False)
    assert r.info["lm"].startswith("next-token loss") and r.info["affected_tags"] == ["NOUN"]
    measures = set(r.effects["measure"])
    assert {"fixed tag accuracy", "loss change affected", "loss change other", "loss change contrast"} <= measures
    top = r.effects[r.effects["selection"] == "top"].set_index("measure")["value"]
    assert top["loss change contrast"] == pytest.approx(top["loss change affected"] - top["loss change other"])
    lm = r.lm[r.lm["selection"] == "top"]
    assert set(lm["tag"]) == {"DET", "NOUN", "VERB", "PUNCT"} and lm["n_words"].sum() == 20 * 4 - 0
    nouns = lm.set_index("tag").loc["NOUN"]
    assert nouns["loss_change"] == pytest.approx(top["loss change affected"])  # NOUN is the only affected tag
    assert set(r.sets[r.sets["selection"] == "top"]["layer"]) <= {0, 1}  # below the probe layer (2)
