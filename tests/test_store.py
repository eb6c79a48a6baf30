import gc
import json
import os
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest

from neuronbook.store import ActivationStore, StoreIntegrityError, content_key


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


# -------------------------------------------------------------------------------- integrity
from neuronbook.store import StoreIntegrityError, _HOST, remove_stale_temporaries  # noqa: E402


def _flip(path, offset):
    with open(path, "r+b") as f:
        f.seek(offset)
        byte = f.read(1)
        f.seek(offset)
        f.write(bytes([byte[0] ^ 0xFF]))


def test_sizes_and_digests_recorded(tmp_path):
    store, _ = _toy(tmp_path)
    files = store.metadata["files"]
    assert sorted(files) == ["activations.npy", "offsets.npy", "words.json"]
    for name, record in files.items():
        assert record["size"] == (store.path / name).stat().st_size
        assert len(record["sha256"]) == len(record["sample_sha256"]) == 64
    # 6 words x 3 layers x 4 neurons float32 after a 128-byte header
    assert files["activations.npy"]["size"] == 128 + 6 * 3 * 4 * 4
    assert store.metadata["format_version"] == 3
    assert len(store.metadata["metadata_sha256"]) == 64
    store.verify()


@pytest.mark.parametrize("name", ["activations.npy", "offsets.npy", "words.json"])
def test_altered_byte_is_caught_on_open(tmp_path, name):
    store, _ = _toy(tmp_path)
    _flip(store.path / name, (store.path / name).stat().st_size - 3)
    with pytest.raises(StoreIntegrityError, match=f"{store.path}.*{name} differs from its sampled SHA-256"):
        ActivationStore(store.path)


def test_truncated_and_missing_files_are_named(tmp_path):
    store, _ = _toy(tmp_path)
    acts = store.path / "activations.npy"
    os.truncate(acts, acts.stat().st_size - 16)
    with pytest.raises(StoreIntegrityError, match=r"activations.npy is 400 bytes, 416 when written \(truncated\)"):
        ActivationStore(store.path)
    other, _ = _toy(tmp_path / "other")
    (other.path / "offsets.npy").unlink()
    with pytest.raises(StoreIntegrityError, match="offsets.npy is missing"):
        ActivationStore(other.path)


def test_unreadable_metadata_is_an_integrity_error(tmp_path):
    store, _ = _toy(tmp_path)
    (store.path / "metadata.json").write_text('{"complete": tr')
    with pytest.raises(StoreIntegrityError, match=f"{store.path}: metadata.json is unreadable"):
        ActivationStore(store.path)


def test_sampled_check_misses_a_byte_between_blocks_and_verify_catches_it(tmp_path):
    # 1200 words x 2 x 512 float32 = 4.9 MB > 65 blocks of 64 KiB: the open check samples.
    acts = np.ones((1200, 2, 512), np.float32)
    store = ActivationStore.from_array(tmp_path / "s", acts, [["w"] * 1200], {})
    path = store.path / "activations.npy"
    size = path.stat().st_size
    step = (size - 65536) // 64
    _flip(path, step + 65536 + 100)  # after block 1, before block 2
    reopened = ActivationStore(store.path)  # the sample does not see it (documented)
    with pytest.raises(StoreIntegrityError, match="activations.npy differs from its SHA-256"):
        reopened.verify()
    _flip(path, 2 * step + 7)  # inside block 2: seen on open
    with pytest.raises(StoreIntegrityError, match="sampled SHA-256"):
        ActivationStore(store.path)


def _edit_metadata(store, **changes):
    path = store.path / "metadata.json"
    meta = json.loads(path.read_text())
    for k, v in changes.items():
        if v is None:
            meta.pop(k, None)
        else:
            meta[k] = v
    path.write_text(json.dumps(meta))
    return meta


@pytest.mark.parametrize("changes, message", [
    ({"shape": [6, 3, 5]}, "differs from the metadata the store was written with"),
    ({"dtype": "float16"}, "differs from the metadata the store was written with"),
    ({"model": "other"}, "differs from the metadata the store was written with"),
    ({"format_version": 99}, "records format_version 99; this neuronbook reads formats 1, 2, 3"),
    ({"format_version": 2}, "differs from the metadata the store was written with"),  # a downgrade is an edit
    ({"metadata_sha256": None}, "records no 'metadata_sha256', which format 3 requires"),
    ({"files": None}, "records no file digests, which format 3 requires"),
])
def test_edited_metadata_is_refused_naming_the_file(tmp_path, changes, message):
    store, _ = _toy(tmp_path)
    _edit_metadata(store, **changes)
    with pytest.raises(StoreIntegrityError, match=f"{store.path}: metadata.json {message}"):
        ActivationStore(store.path)


def test_metadata_that_is_not_an_object_is_refused(tmp_path):
    store, _ = _toy(tmp_path)
    (store.path / "metadata.json").write_text("[1, 2]")
    with pytest.raises(StoreIntegrityError, match=f"{store.path}: metadata.json is not a JSON object"):
        ActivationStore(store.path)


@pytest.mark.parametrize("changes, message", [
    ({"shape": [6, 3, 5]}, r"records shape \[6, 3, 5\], but activations.npy holds \[6, 3, 4\]"),
    ({"dtype": "float16"}, "records dtype 'float16', but activations.npy holds float32"),
])
def test_shape_and_dtype_are_checked_against_the_arrays(tmp_path, changes, message):
    """Even with a digest made to match (or none, in an older format), the arrays must agree."""
    from neuronbook.store import _metadata_digest

    store, _ = _toy(tmp_path)
    meta = _edit_metadata(store, **changes)
    meta["metadata_sha256"] = _metadata_digest(meta)
    (store.path / "metadata.json").write_text(json.dumps(meta))
    with pytest.raises(StoreIntegrityError, match=f"{store.path}: metadata.json {message}"):
        ActivationStore(store.path)
    _edit_metadata(store, format_version=2, metadata_sha256=None)
    with pytest.raises(StoreIntegrityError, match=message):
        ActivationStore(store.path)


def test_format_2_store_without_a_metadata_digest_still_opens(tmp_path):
    store, acts = _toy(tmp_path)
    _edit_metadata(store, format_version=2, metadata_sha256=None)
    np.testing.assert_array_equal(ActivationStore(store.path).activations(layers=2), acts[:, 2, :])
    _edit_metadata(store, files=None)  # format 2 recorded its files' digests: without them, refused
    with pytest.raises(StoreIntegrityError, match="records no file digests, which format 2 requires"):
        ActivationStore(store.path)


def test_edited_metadata_in_the_store_cache_is_moved_aside_and_extracted_again(tiny_model, tmp_cache, caplog):
    import logging

    from neuronbook import extract

    model, tok = tiny_model
    corpus = [["the", "cat", "sat"], ["red"]]
    good = extract(model, corpus, tokenizer=tok, progress=False)
    expected, path = good.activations(), good.path
    good.close()
    _edit_metadata(ActivationStore(path), shape=[4, 3, 99])
    with caplog.at_level(logging.WARNING, logger="neuronbook.extraction"):
        healed = extract(model, corpus, tokenizer=tok, progress=False)
    assert healed.path == path
    np.testing.assert_array_equal(healed.activations(), expected)
    aside = [p for p in path.parent.iterdir() if p.name.startswith(f"{path.name}.damaged-")]
    assert len(aside) == 1 and "metadata.json differs" in caplog.text and str(aside[0]) in caplog.text


def test_legacy_store_without_digests_still_opens(tmp_path):
    store, acts = _toy(tmp_path)
    meta = json.loads((store.path / "metadata.json").read_text())
    del meta["files"], meta["metadata_sha256"]
    meta["format_version"] = 1
    (store.path / "metadata.json").write_text(json.dumps(meta))
    np.testing.assert_array_equal(ActivationStore(store.path).activations(layers=1), acts[:, 1, :])


# ------------------------------------------------------------------ temporaries and the rename race
def _dead_pid():
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_stale_temporaries_of_dead_writers_only_are_removed(tmp_path):
    old = time.time() - 120
    dead = tmp_path / f"k.tmp-{_HOST}-{_dead_pid()}-0000abcd"
    young_dead = tmp_path / f"j.tmp-{_HOST}-{_dead_pid()}-0000abcd"
    alive = tmp_path / f"k.tmp-{_HOST}-{os.getpid()}-0000abcd"
    other_host = tmp_path / f"k.tmp-zzzzzz-{_dead_pid()}-0000abcd"
    legacy = tmp_path / "k.tmp-0000abcd"
    for folder in (dead, young_dead, alive, other_host, legacy):
        folder.mkdir()
        (folder / "activations.npy").write_bytes(b"x")
    for folder in (dead, alive, other_host, legacy):
        os.utime(folder, (old, old))
    assert remove_stale_temporaries(tmp_path) == [dead]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        p.name for p in (young_dead, alive, other_host, legacy))


def test_writer_names_its_temporary_folder_with_its_pid(tmp_path):
    with ActivationStore.create(tmp_path / "s", [["a"]], 1, 2, {}) as writer:
        assert writer.tmp.name.startswith(f"s.tmp-{_HOST}-{os.getpid()}-")
        writer.array[:] = 1.0
    assert ActivationStore(tmp_path / "s").activations().tolist() == [[1.0, 1.0]]


def test_loser_of_the_rename_race_keeps_the_winners_store(tmp_path):
    path = tmp_path / "s"
    with ActivationStore.create(path, [["a"]], 1, 2, {"who": "loser"}) as writer:
        writer.array[:] = 1.0
        # Another process finishes the same store while we are still writing.
        ActivationStore.from_array(path, np.full((1, 1, 2), 7.0, np.float32), [["a"]], {"who": "winner"})
    assert writer.lost_race
    assert [p.name for p in tmp_path.iterdir()] == ["s"]
    store = ActivationStore(path)
    assert store.metadata["who"] == "winner" and store.activations().tolist() == [[7.0, 7.0]]


def test_full_disk_is_a_clear_error_and_keeps_nothing(tmp_path, monkeypatch):
    import errno
    import os

    def full(fd, offset, length):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "posix_fallocate", full)
    words = [["a", "b"], ["c"]]
    with pytest.raises(OSError, match=r"not enough disk space for the activation store .*s1: it needs"):
        ActivationStore.from_array(tmp_path / "s1", np.ones((3, 2, 4), np.float32), words, {})
    assert list(tmp_path.iterdir()) == []  # neither the store nor a temporary folder


def test_sigterm_while_writing_removes_the_temporary_folder(tmp_path):
    import os
    import signal

    before = signal.getsignal(signal.SIGTERM)
    writer = ActivationStore.create(tmp_path / "s2", [["a", "b"]], n_layers=1, n_neurons=2, metadata={})
    with pytest.raises(SystemExit) as info:
        with writer as w:
            w.array[0] = 1.0
            os.kill(os.getpid(), signal.SIGTERM)  # what a job scheduler sends
            time.sleep(1)  # the handler raises before this ends
    assert info.value.code == 128 + signal.SIGTERM
    assert list(tmp_path.iterdir()) == [] and signal.getsignal(signal.SIGTERM) is before


def test_sigterm_from_another_process_leaves_no_temporary_folder(tmp_path):
    import signal

    code = (
        "import sys, time, numpy as np\n"
        "from neuronbook.store import ActivationStore\n"
        f"w = ActivationStore.create({str(tmp_path / 's3')!r}, [['a', 'b']], n_layers=1, n_neurons=2, metadata={{}})\n"
        "with w:\n"
        "    print('writing', flush=True)\n"
        "    time.sleep(60)\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "writing"
    assert len(list(tmp_path.iterdir())) == 1  # the writer's temporary folder
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 128 + signal.SIGTERM
    assert list(tmp_path.iterdir()) == []


def test_write_rows_scatters_runs_and_writes_the_same_bytes_as_from_array(tmp_path):
    w, l, n = np.meshgrid(np.arange(6), np.arange(3), np.arange(4), indexing="ij")
    acts = (w * 100 + l * 10 + n).astype(np.float32)
    words = [["a", "b"], ["c"], ["d", "e", "f"]]
    with ActivationStore.create(tmp_path / "rows", words, 3, 4, {"model": "toy"}) as writer:
        order = np.array([3, 4, 0, 5])  # runs 3-4, 0, 5
        writer.write_rows(order, acts[order])
        writer.write_rows(np.array([1, 2]), acts[[1, 2]])
    store = ActivationStore(tmp_path / "rows")
    np.testing.assert_array_equal(store.array, acts)
    reference = ActivationStore.from_array(tmp_path / "whole", acts, words, {"model": "toy"})
    assert (store.path / "activations.npy").read_bytes() == (reference.path / "activations.npy").read_bytes()
    assert store.metadata["files"]["activations.npy"] == reference.metadata["files"]["activations.npy"]
    store.verify()


def test_write_rows_checks_dtype_shape_and_rows(tmp_path):
    with pytest.raises(ValueError, match="float32 of shape"):
        with ActivationStore.create(tmp_path / "s", [["a", "b"]], 1, 2, {}) as writer:
            writer.write_rows(np.array([0]), np.zeros((1, 1, 2), np.float64))
    with pytest.raises(IndexError, match=r"rows must be in \[0, 2\)"):
        with ActivationStore.create(tmp_path / "s", [["a", "b"]], 1, 2, {}) as writer:
            writer.write_rows(np.array([2]), np.zeros((1, 1, 2), np.float32))
    assert list(tmp_path.iterdir()) == []  # nothing kept of a failed writer


def test_rows_never_written_read_zero(tmp_path):
    with ActivationStore.create(tmp_path / "s", [["a", "b", "c"]], 1, 2, {}, "float16") as writer:
        writer.write_rows(np.array([1]), np.full((1, 1, 2), 1.5, np.float16))
    assert ActivationStore(tmp_path / "s").activations().tolist() == [[0, 0], [1.5, 1.5], [0, 0]]
