"""FreeTextView and LCAResult.read_sentence: a typed sentence through a tiny random model of the planted shape."""

from __future__ import annotations

import numpy as np
import pytest

from neuronbook.widgets import FreeTextView


@pytest.fixture(scope="module")
def tiny_pair():
    from tiny import make_tiny_model

    return make_tiny_model(hidden_size=8, num_hidden_layers=2)  # 3 layers x 8 neurons: planted_result's shape


def test_read_sentence_gives_activations_and_the_probes_tags(planted_result, tiny_pair):
    from neuronbook.extraction import extract

    table = planted_result.read_sentence("the cat sat", model=tiny_pair, neurons=[(2, 1), (1, 6)])
    assert table.columns.tolist() == ["position", "word", "predicted", "probability", "2:1", "1:6"]
    assert table["word"].tolist() == ["the", "cat", "sat"]
    with extract(tiny_pair, [["the", "cat", "sat"]], cache=False, progress=False) as store:
        acts = store.activations().reshape(3, 3, 8)  # words x layers x neurons
    assert np.allclose(table["2:1"], acts[:, 2, 1]) and np.allclose(table["1:6"], acts[:, 1, 6])
    # the tag is what the oracle probe predicts from all 24 neurons of these words
    assert table["predicted"].tolist() == planted_result.probe().predict(acts.reshape(3, -1)).tolist()
    assert ((table["probability"] > 0) & (table["probability"] <= 1)).all()
    with pytest.raises(ValueError, match="empty sentence"):
        planted_result.read_sentence("  ", model=tiny_pair)
    with pytest.raises(ValueError, match=r"\(9, 9\)"):
        planted_result.read_sentence("the cat", model=tiny_pair, neurons=[(9, 9)])


def test_free_text_view_colours_each_neuron_and_tags_each_word(planted_result, tiny_pair):
    view = FreeTextView(planted_result, neurons=2, model=tiny_pair)
    assert list(view.neurons.value) == [tuple(map(int, r)) for r in
                                        planted_result.ranking.sort_values("rank").head(2)[["layer", "neuron"]].values]
    shown = view.show("the dog ran")
    assert view.table["word"].tolist() == ["the", "dog", "ran"]
    assert shown.count("<tr>") == 3  # two neurons, one row of tags
    assert "probe's tag" in shown and all(f"<sub style='color:#555'>{t}</sub>" in shown for t in view.table["predicted"])
    view.neurons.value = ()
    with pytest.raises(ValueError, match="at least one neuron"):
        view.show()
    assert "failed:</b> ValueError: pick at least one neuron" in view.html.value
