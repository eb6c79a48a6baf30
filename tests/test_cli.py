import random

import pytest

from conftest import make_tiny_model
from neuronbook import ActivationStore, LCAResult
from neuronbook.cli import main

# word -> (UPOS, XPOS) for a toy treebank written in code
LEXICON = {
    "the": ("DET", "DT"), "a": ("DET", "DT"), "cat": ("NOUN", "NN"), "dog": ("NOUN", "NN"),
    "mat": ("NOUN", "NN"), "house": ("NOUN", "NN"), "sat": ("VERB", "VBD"), "ran": ("VERB", "VBD"),
    "walked": ("VERB", "VBD"), "big": ("ADJ", "JJ"), "small": ("ADJ", "JJ"), "red": ("ADJ", "JJ"),
    "on": ("ADP", "IN"), "in": ("ADP", "IN"), ".": ("PUNCT", "."),
}


def _conllu(path, n_sentences, seed):
    rng = random.Random(seed)
    blocks = []
    for s in range(n_sentences):
        words = [rng.choice(["the", "a"]), rng.choice(["big", "small", "red"]), rng.choice(["cat", "dog"]),
                 rng.choice(["sat", "ran", "walked"]), rng.choice(["on", "in"]), "the",
                 rng.choice(["mat", "house"]), "."]
        lines = [f"# sent_id = s{s}"]
        for i, w in enumerate(words, 1):
            upos, xpos = LEXICON[w]
            lines.append(f"{i}\t{w}\t{w}\t{upos}\t{xpos}\t_\t0\tdep\t_\t_")
        blocks.append("\n".join(lines) + "\n")
    path.write_text("\n".join(blocks) + "\n")


@pytest.fixture
def toy_setup(tmp_path, tmp_cache, monkeypatch):
    model, tok = make_tiny_model()
    model_dir = tmp_path / "tiny-bert"
    model.save_pretrained(model_dir)
    tok.save_pretrained(model_dir)
    data = tmp_path / "data"
    tb = data / "ud" / "xx_toy"
    tb.mkdir(parents=True)
    _conllu(tb / "xx_toy-ud-dev.conllu", 60, seed=0)
    _conllu(tb / "xx_toy-ud-test.conllu", 30, seed=1)
    monkeypatch.setenv("NEURONBOOK_DATA", str(data))
    monkeypatch.setenv("NEURONBOOK_OFFLINE", "1")
    return model_dir


def test_extract_command(toy_setup, tmp_cache, capsys):
    assert main(["extract", "--model", str(toy_setup), "--data", "ud:xx_toy", "--split", "test", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "240 words" in out  # 30 sentences x 8 words
    (store_dir,) = (tmp_cache / "stores").iterdir()
    store = ActivationStore(store_dir)
    assert store.shape == (240, 3, 16)
    assert store.metadata["aggregation"] == "mean"


def test_lca_command_writes_a_loadable_result(toy_setup, tmp_path, capsys):
    out_dir = tmp_path / "result"
    status = main(["lca", "--model", str(toy_setup), "--data", "ud:xx_toy", "--task", "upos",
                   "--l1", "1e-4", "--l2", "1e-4", "--out", str(out_dir), "--quiet"])
    assert status == 0
    printed = capsys.readouterr().out
    assert "oracle test accuracy" in printed and str(out_dir) in printed
    result = LCAResult.load(out_dir)
    ranking = result.ranking
    assert len(ranking) == 3 * 16  # every neuron of 3 layers x 16 is ranked once
    assert set(ranking.columns) >= {"layer", "neuron", "rank"}
    assert result.config["task"] == "upos"


def test_listing_commands(capsys):
    assert main(["models"]) == 0
    assert "sentence-transformers/all-MiniLM-L6-v2" in capsys.readouterr().out
    assert main(["corpora"]) == 0
    assert "ud:en_ewt" in capsys.readouterr().out
