import random

import pytest

from tiny import make_tiny_model
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


def test_lca_command_writes_a_loadable_result(toy_setup, tmp_path, tmp_cache, capsys):
    out_dir = tmp_path / "result"
    args = ["lca", "--model", str(toy_setup), "--data", "ud:xx_toy", "--task", "upos", "--l1", "1e-4",
            "--percents", "10,50", "--layers", "1,2", "--max-sentences", "50", "--control", "false",
            "--out", str(out_dir), "--quiet"]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "oracle test accuracy" in printed and str(out_dir) in printed and "computed" in printed
    result = LCAResult.load(out_dir)
    assert len(result.ranking) == 2 * 16  # every neuron of the 2 chosen layers x 16 is ranked once
    assert set(result.ranking["layer"]) == {1, 2} and "column" not in result.ranking
    c = result.config
    assert (c.task, c.l1, c.percents, c.layers, c.max_sentences, c.control) == ("upos", 1e-4, (10, 50), (1, 2),
                                                                                 50, False)
    # the same command again is served by the result cache, into a new folder
    again = [a if a != str(out_dir) else str(tmp_path / "again") for a in args]
    assert main(again) == 0
    assert "loaded from the result cache" in capsys.readouterr().out


def test_lca_command_rejects_bad_settings(capsys):
    assert main(["lca", "--delta", "2", "--quiet"]) == 2
    assert "LCAConfig.delta=2" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["lca", "--dleta", "0.1"])


def test_lca_options_cover_every_setting():
    from neuronbook.cli import _parser
    from neuronbook.config import LCAConfig

    help_text = _parser()._subparsers._group_actions[0].choices["lca"].format_help()
    for name in LCAConfig.fields():
        assert f"--{name.replace('_', '-')}" in help_text, name


def test_listing_commands(capsys):
    assert main(["models"]) == 0
    assert "sentence-transformers/all-MiniLM-L6-v2" in capsys.readouterr().out
    assert main(["corpora"]) == 0
    assert "ud:en_ewt" in capsys.readouterr().out


# ------------------------------------------------------------ notebooks: run, sweep, report

from pathlib import Path as _Path  # noqa: E402

from neuronbook.cli import parse_literal  # noqa: E402

TINY_NB = _Path(__file__).resolve().parent / "notebooks" / "tiny_params.ipynb"


def test_parameter_values_are_read_as_literals():
    assert [parse_literal(v) for v in ["7", "0.5", "1e-3", "false", "null", "[1, 2]", "{a: 1}", "minilm-l6",
                                       "ud:en_ewt", "yes", "2024-01-01", "01_x"]] == [
        7, 0.5, 0.001, False, None, [1, 2], {"a": 1}, "minilm-l6", "ud:en_ewt", "yes", "2024-01-01", "01_x"]


def test_run_command_says_where_outputs_went(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["run", str(TINY_NB), "-p", "x", "5", "-p", "mode", "a", "-p", "renderer", "null",
                 "--out", str(out), "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert f"executed notebook: {out / 'tiny_params.ipynb'}" in printed
    assert "headline.json" in printed and "env.json" in printed
    assert (out / "headline.json").read_text().count('"double": 10') == 1


def test_sweep_and_report_commands(tmp_path, capsys):
    out = tmp_path / "grid"
    code = main(["sweep", str(TINY_NB), "--grid", "x=1,2", "--grid", "mode=b", "-p", "renderer", "null",
                 "--out", str(out)])
    captured = capsys.readouterr()
    assert code == 1  # one cell fails on purpose
    assert "1 of 2 cells ok" in captured.out and "1 failed: x=2__mode=b" in captured.out
    assert "FAILED x=2__mode=b" in captured.err and "fails on purpose" in captured.err
    assert sorted(p.name for p in out.iterdir()) == ["sweep.json", "x=1__mode=b", "x=2__mode=b"]

    assert main(["report", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "report.html" in printed and (out / "report.parquet").is_file()
    lines = [ln.split() for ln in printed.splitlines() if ln.strip().startswith(("1", "2"))]
    assert [ln[:4] for ln in lines] == [["1", "b", "x=1__mode=b", "ok"], ["2", "b", "x=2__mode=b", "failed"]]


def test_bad_grid_option_is_a_clear_error(tmp_path, capsys):
    with pytest.raises(SystemExit, match="--grid wants NAME=V1,V2"):
        main(["sweep", str(TINY_NB), "--grid", "x", "--out", str(tmp_path)])
    with pytest.raises(SystemExit, match="--grid x given twice"):
        main(["sweep", str(TINY_NB), "--grid", "x=1", "--grid", "x=2", "--out", str(tmp_path)])
    assert main(["run", "99_no_such_notebook", "--out", str(tmp_path)]) == 2
    assert "neuronbook run: error: no notebook '99_no_such_notebook'" in capsys.readouterr().err
