import gc
import json

import numpy as np
import pandas as pd
import pytest

from neuronbook.store import ActivationStore, content_key


def _toy(tmp_path, dtype=np.float32):
    # 3 sentences: 2 + 1 + 3 words; 3 layers x 4 neurons; value = word*100 + layer*10 + neuron
    w, l, n = np.meshgrid(np.arange(6), np.arange(3), np.arange(4), indexing="ij")
    acts = (w * 100 + l * 10 + n).astype(dtype)
    words = [["a", "b"], ["c"], ["d", "e", "f"]]
    return ActivationStore.from_array(tmp_path / "s", acts, words, {"model": "toy"}), acts


def test_shape_offsets_words(tmp_path):
    store, _ = _toy(tmp_path)
    assert store.shape == (6, 3, 4)
    assert store.offsets.tolist() == [0, 2, 3, 6]
    assert store.n_sentences == 3
    assert store.words[2] == ["d", "e", "f"]
    assert store.metadata["complete"] is True
    assert store.metadata["model"] == "toy"


def test_layer_neuron_sentence_selection(tmp_path):
    store, acts = _toy(tmp_path)
    x = store.activations(layers=[1, 2], neurons=[0, 3], sentences=[2, 0])
    # rows: words 3,4,5 then 0,1; columns layer-major: (1,0) (1,3) (2,0) (2,3)
    assert x[0].tolist() == [310, 313, 320, 323]
    assert x[3].tolist() == [10, 13, 20, 23]
    assert x.shape == (5, 4)
    idx = store.neurons(layers=[1, 2], neurons=[0, 3])
    assert list(idx.names) == ["layer", "neuron"]
    assert idx.tolist() == [(1, 0), (1, 3), (2, 0), (2, 3)]
    # all layers: flat column j is layer j // 4, neuron j % 4
    full = store.activations()
    assert full.shape == (6, 12)
    np.testing.assert_array_equal(full, acts.reshape(6, 12))
    assert store.activations(layers=-1)[5].tolist() == [520, 521, 522, 523]


def test_sentence_and_bad_layer(tmp_path):
    store, acts = _toy(tmp_path)
    words, a = store.sentence(1)
    assert words == ["c"]
    np.testing.assert_array_equal(a, acts[2:3])
    with pytest.raises(IndexError, match="layers 0..2"):
        store.activations(layers=[3])


def test_float16_widened(tmp_path):
    store, acts = _toy(tmp_path, np.float16)
    assert store.dtype == np.float16
    out = store.activations(layers=0)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, acts[:, 0, :].astype(np.float32))


def test_interrupted_write_leaves_nothing(tmp_path):
    path = tmp_path / "s"
    with pytest.raises(RuntimeError, match="boom"):
        with ActivationStore.create(path, [["a"]], 1, 2, {}) as writer:
            writer.array[:] = 1.0
            raise RuntimeError("boom")
    assert not path.exists()
    assert list(tmp_path.iterdir()) == []


def test_incomplete_store_is_refused(tmp_path):
    store, _ = _toy(tmp_path)
    meta = json.loads((store.path / "metadata.json").read_text())
    meta["complete"] = False
    (store.path / "metadata.json").write_text(json.dumps(meta))
    with pytest.raises(ValueError, match="incomplete"):
        ActivationStore(store.path)


def test_content_key_order_independent_and_sensitive():
    assert content_key({"a": 1, "b": [1, 2]}) == content_key({"b": [1, 2], "a": 1})
    assert content_key({"a": 1}) != content_key({"a": 2})


# ------------------------------------------------------------------------------- labelled view
def test_frame_round_trip(tmp_path):
    store, acts = _toy(tmp_path)
    frame = store.frame()
    np.testing.assert_array_equal(frame.to_numpy(), store.activations())
    assert frame.columns.equals(store.neurons())
    assert list(frame.index.names) == ["sentence", "position"]
    assert frame.index.tolist() == [(0, 0), (0, 1), (1, 0), (2, 0), (2, 1), (2, 2)]
    # value = word*100 + layer*10 + neuron: sentence 2, position 1 is word 4
    assert frame.loc[(2, 1), (1, 3)] == 413


def test_frame_selection_keeps_labels(tmp_path):
    store, _ = _toy(tmp_path)
    frame = store.frame(layers=[2, 0], neurons=[3, 1], sentences=[2, 0])
    np.testing.assert_array_equal(
        frame.to_numpy(), store.activations(layers=[2, 0], neurons=[3, 1], sentences=[2, 0]))
    assert frame.columns.tolist() == [(2, 3), (2, 1), (0, 3), (0, 1)]
    assert frame.index.tolist() == [(2, 0), (2, 1), (2, 2), (0, 0), (0, 1)]
    assert frame.loc[(0, 1), (2, 3)] == 123
    # Labels select the same numbers as positions: a layer taken from the full frame.
    full = store.frame()
    pd.testing.assert_frame_equal(full.loc[:, [2]], store.frame(layers=[2]).loc[:, [2]])
    assert store.neurons(layers=-1).get_level_values("layer").unique().tolist() == [2]


def test_bad_neuron_is_named(tmp_path):
    store, _ = _toy(tmp_path)
    with pytest.raises(IndexError, match="neuron 4 out of range"):
        store.neurons(neurons=[0, 4])
    with pytest.raises(IndexError, match="neuron -1 out of range"):
        store.activations(neurons=[-1])


def test_float16_frame_and_dtype(tmp_path):
    store, acts = _toy(tmp_path, np.float16)
    assert store.frame(layers=[0]).dtypes.unique().tolist() == [np.float32]
    out = store.activations(layers=[1], dtype=np.float16)
    assert out.dtype == np.float16
    np.testing.assert_array_equal(out, acts[:, 1, :])


# --------------------------------------------------------------------------------- lifetime
def test_remove_on_close(tmp_path):
    store, acts = _toy(tmp_path)
    owned = ActivationStore(store.path, remove_on_close=tmp_path)
    assert owned.temporary and not store.temporary
    with owned:
        np.testing.assert_array_equal(owned.activations(layers=0), acts[:, 0, :])
    assert owned.closed and not tmp_path.exists()
    with pytest.raises(ValueError, match="closed"):
        owned.shape


def test_removed_when_garbage_collected(tmp_path):
    store, _ = _toy(tmp_path / "d")
    owned = ActivationStore(store.path, remove_on_close=tmp_path / "d")
    del owned
    gc.collect()
    assert not (tmp_path / "d").exists()
    assert tmp_path.exists()


def test_plain_store_close_keeps_files(tmp_path):
    store, _ = _toy(tmp_path)
    store.close()
    assert store.closed and (store.path / "activations.npy").is_file()
    assert "closed" in repr(store)
    assert ActivationStore(store.path).shape == (6, 3, 4)
