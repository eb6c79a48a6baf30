"""neuronbook.finetuning and models.finetuned: a tiny random BERT fine-tuned for a planted word task.

The planted task: a word's tag is its word class in a fixed lexicon (determiners, nouns, verbs), so a tagger
that reads the word itself learns it in a few steps; the held-out corpus shuffles the same words into new
sentences.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

import neuronbook as nb
from neuronbook.corpus import Corpus
from neuronbook.finetuning import FinetuneConfig, finetune, finetune_key
from neuronbook.models import finetuned as ft_mod
from neuronbook.models import load_model, model_identity

LEXICON = {"the": "DET", "a": "DET", "cat": "NOUN", "dog": "NOUN", "house": "NOUN", "mat": "NOUN",
           "sat": "VERB", "ran": "VERB", "walked": "VERB", "jumped": "VERB"}
FAST = dict(epochs=4, lr=3e-3, batch_size=8, max_sentences=None, eval_split=None)


def planted(n, seed, name):
    rng = np.random.default_rng(seed)
    det, noun, verb = ([w for w, t in LEXICON.items() if t == tag] for tag in ("DET", "NOUN", "VERB"))
    sents = [[str(rng.choice(det)), str(rng.choice(noun)), str(rng.choice(verb))] for _ in range(n)]
    return Corpus(sents, {"upos": [[LEXICON[w] for w in s] for s in sents]}, name=name)


TRAIN, HELD_OUT = planted(48, 0, "planted/train"), planted(24, 1, "planted/test")


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:
        path = tmp_path_factory.mktemp("ftcache")
        mp.setenv("NEURONBOOK_CACHE", str(path))
        yield path


@pytest.fixture(scope="module")
def tuned(cache):
    return finetune("tiny-random", TRAIN, "upos", eval_data=HELD_OUT, progress=False, **FAST)


def test_learns_the_planted_task(tuned):
    meta = tuned.metadata
    assert not tuned.reused and tuned.name == f"finetuned:{tuned.key}" and len(tuned.key) == 24
    assert len(meta["train_loss"]) == 4 and meta["train_loss"][-1] < 0.5 * meta["train_loss"][0]
    assert meta["accuracy_before"] < 0.7 and tuned.accuracy == 1.0  # 72 held-out words, all right
    assert meta["eval_words"] == 72 and meta["classes"] == ["DET", "NOUN", "VERB"]
    assert meta["train_sentences"] == 48 and meta["base_model"] == "neuronbook/tiny-random"
    on_disk = json.loads((tuned.path / ft_mod.METADATA).read_text())
    assert on_disk["accuracy"] == 1.0 and on_disk["key"] == tuned.key


def test_loads_by_name_and_differs_from_the_base(tuned):
    model, tok = load_model(tuned.name)
    ident = model_identity(tuned.name)
    assert ident["model"] == tuned.name and model_identity(model) == ident
    assert ident["fingerprint"] != model_identity("tiny-random")["fingerprint"]
    base, _ = load_model("tiny-random")
    moved = [n for n, p in model.named_parameters() if not np.allclose(p.detach(), base.get_parameter(n).detach())]
    assert moved  # the encoder itself was trained, not only the head
    store = nb.extract(tuned.name, HELD_OUT, progress=False, cache=False)
    assert store.n_words == 72 and store.metadata["model"] == tuned.name
    row = nb.list_models(finetuned=True).set_index("alias").loc[tuned.name]
    assert (row["layers"], row["hidden"]) == (2, 32) and "accuracy 1.000" in row["notes"]
    assert tuned.name not in set(nb.list_models()["alias"])  # presets only, unless asked
    listed = ft_mod.list_finetuned().set_index("name").loc[tuned.name]
    assert listed["accuracy"] == 1.0 and listed["task"] == "upos"


def test_the_same_fine_tune_is_reused_at_once(tuned, monkeypatch):
    import neuronbook.finetuning as F

    monkeypatch.setattr(F, "_train_torch", lambda *a, **k: pytest.fail("trained again"))
    again = finetune("tiny-random", TRAIN, "upos", eval_data=HELD_OUT, progress=False, **FAST)
    assert again.reused and again.name == tuned.name and again.metadata == tuned.metadata


def test_content_key(tuned):
    key = finetune_key("tiny-random", TRAIN, "upos", FinetuneConfig(**FAST))
    assert key == finetune_key("tiny-random", TRAIN, "upos", **dict(reversed(list(FAST.items()))))
    # the held-out corpus is part of the key (it decides the recorded accuracy); without one the key differs
    assert key != tuned.key
    others = {finetune_key("tiny-random", TRAIN, "upos", **{**FAST, "epochs": 5}),
              finetune_key("tiny-random", TRAIN, "upos", **{**FAST, "seed": 1}),
              finetune_key("tiny-random", TRAIN[:40], "upos", **FAST),
              finetune_key("tiny-random", TRAIN, "raw:upos", **FAST)}
    assert key not in others and len(others) == 4
    assert finetune_key("tiny-random", TRAIN, "upos", FinetuneConfig(**FAST)) == key  # stable


def test_interrupted_never_looks_complete_and_resumes(cache, monkeypatch):
    import neuronbook.finetuning as F

    settings = dict(FAST, epochs=3, seed=7)
    real_save = F._save_atomic
    calls = []

    def stop_after_first_epoch(obj, path):
        real_save(obj, path)
        calls.append(obj["epoch"])
        if obj["epoch"] == 1:
            raise KeyboardInterrupt

    monkeypatch.setattr(F, "_save_atomic", stop_after_first_epoch)
    with pytest.raises(KeyboardInterrupt):
        finetune("tiny-random", TRAIN, "upos", progress=False, **settings)
    key = finetune_key("tiny-random", TRAIN, "upos", **settings)
    name = ft_mod.finetuned_name(key)
    assert not (cache / "models" / "finetuned" / key).exists()
    assert name not in set(ft_mod.list_finetuned()["name"])
    with pytest.raises(nb.models.ModelNotFoundError, match="no complete fine-tune"):
        load_model(name)
    resumed = finetune("tiny-random", TRAIN, "upos", progress=False, **settings)
    assert calls == [1, 2, 3] and resumed.name == name  # epochs 2 and 3 only, after the interruption
    assert not (cache / "models" / "finetuned" / f".{key}.partial").exists()
    # the resumed run is the uninterrupted one, bit for bit
    monkeypatch.setattr(F, "_save_atomic", real_save)
    whole = finetune("tiny-random", TRAIN, "upos", progress=False, rebuild=True, **settings)
    assert whole.metadata["train_loss"] == resumed.metadata["train_loss"]

    # a write killed after every file is written but before the rename leaves nothing that looks complete
    real_build = nb.models.cache.atomic_build

    def killed_before_rename(target, build, manifest, checksum_files):
        def half(tmp):
            build(tmp)
            raise KeyboardInterrupt
        return real_build(target, half, manifest, checksum_files)

    monkeypatch.setattr(nb.models.cache, "atomic_build", killed_before_rename)
    other = dict(settings, seed=8)
    with pytest.raises(KeyboardInterrupt):
        finetune("tiny-random", TRAIN, "upos", progress=False, **other)
    key8 = finetune_key("tiny-random", TRAIN, "upos", **other)
    assert sorted(p.name for p in (cache / "models" / "finetuned").iterdir() if key8 in p.name) == [f".{key8}.partial"]
    assert ft_mod.finetuned_name(key8) not in set(ft_mod.list_finetuned()["name"])


def test_a_damaged_fine_tune_is_named_and_trained_again(tuned, cache):
    import shutil

    copy = cache / "models" / "finetuned" / tuned.key
    backup = cache / "backup"
    shutil.copytree(copy, backup)
    try:
        (copy / ft_mod.HEAD).write_bytes(b"not the head")
        with pytest.raises(nb.models.ModelNotFoundError, match="damaged"):
            load_model(tuned.name)
    finally:
        shutil.rmtree(copy)
        shutil.copytree(backup, copy)


def test_unknown_and_bad_settings_are_errors(cache):
    with pytest.raises(TypeError, match=r"unknown FinetuneConfig setting 'epochz' \(did you mean 'epochs'\?\)"):
        FinetuneConfig(epochz=2)
    with pytest.raises(TypeError, match="unknown FinetuneConfig setting 'learning_rate'"):
        finetune("tiny-random", TRAIN, "upos", learning_rate=1e-3)
    for bad, match in [({"epochs": 0}, "epochs must be a positive integer"), ({"lr": -1.0}, "lr must be"),
                       ({"loop": "keras"}, "loop must be one of"), ({"split": "test", "eval_split": "test"},
                                                                      "is the training split"),
                       ({"max_sentences": 2.5}, "max_sentences must be a positive integer or None")]:
        with pytest.raises(ValueError, match=match):
            FinetuneConfig(**bad)
    assert FinetuneConfig.describe()["name"].tolist()[:3] == ["epochs", "lr", "batch_size"]
    with pytest.raises(ValueError, match="24-hex-digit key"):
        load_model("finetuned:nope")
    with pytest.raises(nb.models.ModelNotFoundError, match="no complete fine-tune"):
        nb.models.model_identity("finetuned:" + "0" * 24)


def test_transformers_trainer_loop_learns_too(cache):
    pytest.importorskip("accelerate")
    out = finetune("tiny-random", TRAIN, "upos", eval_data=HELD_OUT, progress=False,
                   **dict(FAST, loop="transformers"))
    loss = out.metadata["train_loss"]
    assert len(loss) == 4 and loss[-1] < 0.5 * loss[0] and out.accuracy == 1.0


def test_run_lca_and_the_command_line_take_the_name(tuned, tmp_path, capsys):
    from tiny import write_corpus

    from neuronbook.cli import main

    train, test = write_corpus(tmp_path / "train.conllu", 40, 0), write_corpus(tmp_path / "test.conllu", 20, 1)
    fast = dict(data=str(train), train=str(train), test=str(test), task="upos", l1=1e-3, epochs=2, percents=[50],
                ablation_percents=[], control=False, n_draws=0, bootstrap=0)
    result = nb.run_lca(model=tuned.name, progress=False, cache=False, **fast)
    assert result.config.model == tuned.name and result.n_layers == 3
    assert main(["lca", "--model", tuned.name, "--data", str(train), "--train", str(train), "--test", str(test),
                 "--task", "upos", "--l1", "0.001", "--epochs", "2", "--percents", "50", "--ablation-percents", "[]",
                 "--control", "false", "--n-draws", "0", "--bootstrap", "0", "--no-cache", "--quiet",
                 "--out", str(tmp_path / "out")]) == 0
    assert "oracle test accuracy" in capsys.readouterr().out


def test_command_line_finetune(cache, tmp_path, capsys):
    from tiny import write_corpus

    from neuronbook.cli import main

    data = write_corpus(tmp_path / "toy.conllu", 24, 0)
    args = ["finetune", "--model", "tiny-random", "--data", str(data), "--task", "upos", "--eval-split", "null",
            "--max-sentences", "16", "--epochs", "1", "--batch-size", "8", "--quiet"]
    assert main(args) == 0
    out = capsys.readouterr().out
    name = next(w for w in out.split() if w.startswith("finetuned:"))
    assert "trained in" in out and f"neuronbook lca --model {name}" in out
    assert main(args) == 0 and "reused (already in the model cache)" in capsys.readouterr().out
    assert main(["models", "--finetuned"]) == 0 and name in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["finetune", "--model", "tiny-random", "--epochz", "1"])
