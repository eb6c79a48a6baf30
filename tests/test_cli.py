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
    lines = [ln.split() for ln in printed.splitlines() if ln.split()[1:2] == ["b"]]
    # the narrow view: grid keys, status, the failure's last line (cell names: --all-columns or report.csv)
    assert [ln[:3] for ln in lines] == [["1", "b", "ok"], ["2", "b", "failed"]] and len(lines[1]) > 4  # + why
    assert "1 of 2 cells ok" in printed


def test_bad_grid_option_is_a_clear_error(tmp_path, capsys):
    with pytest.raises(SystemExit, match="--grid wants NAME=V1,V2"):
        main(["sweep", str(TINY_NB), "--grid", "x", "--out", str(tmp_path)])
    with pytest.raises(SystemExit, match="--grid x given twice"):
        main(["sweep", str(TINY_NB), "--grid", "x=1", "--grid", "x=2", "--out", str(tmp_path)])
    assert main(["run", "99_no_such_notebook", "--out", str(tmp_path)]) == 2
    assert "neuronbook run: error: no notebook '99_no_such_notebook'" in capsys.readouterr().err


# ------------------------------------------------------------ failing like a CLI

def _error_line(capsys, command="lca"):
    """The one stderr line of a failed command (warnings and logs aside), checked to be that one line."""
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = [ln for ln in err.splitlines() if ln.startswith("neuronbook")]
    assert len(lines) == 1 and lines[0].startswith(f"neuronbook {command}: error: "), err
    return lines[0]


def test_bad_setting_is_one_line_and_status_2(capsys):
    assert main(["lca", "--delta", "2", "--quiet"]) == 2
    assert "LCAConfig.delta=2" in _error_line(capsys)
    assert main(["lca", "--l1", "nan", "--quiet"]) == 2
    assert "l1" in _error_line(capsys)


@pytest.mark.parametrize("options, message", [
    (["--data", "ud:xx_nope"], "corpus 'ud:xx_nope' split 'dev' not found. Looked in:"),
    (["--model", "no-such/model"], "Could not load 'no-such/model'"),
    (["--task", "nope"], "unknown task 'nope' for corpus"),
    (["--task", "feats:Number"], "has no Feature 'Number'; present: none"),
    (["--task", "raw:deprel"], r"the training words carry 1 tag(s) ('dep': "),
    (["--train", "dev", "--test", "no_such_split"], "unknown split 'no_such_split' for 'ud:xx_toy'; valid: ['dev', 'test', 'train']"),
])
def test_user_errors_are_one_line_and_status_2(toy_setup, capsys, options, message):
    args = ["lca", "--model", str(toy_setup), "--data", "ud:xx_toy", "--train", "dev", "--l1", "1e-4",
            "--control", "false", "--no-cache", "--quiet"]
    assert main(args + options) == 2
    assert message in _error_line(capsys)


def test_files_that_do_not_parse_are_named(toy_setup, tmp_path, capsys):
    bad_json = tmp_path / "settings.json"
    bad_json.write_text("{'task': 'upos'}")
    assert main(["lca", "--config", str(bad_json), "--quiet"]) == 2
    assert f"--config {bad_json} is not valid JSON" in _error_line(capsys)
    assert main(["lca", "--config", str(tmp_path / "missing.json"), "--quiet"]) == 2
    assert "missing.json: no such file" in _error_line(capsys)
    bad_corpus = tmp_path / "bad.conllu"
    bad_corpus.write_text("1\tthe\tthe\tDET\n")
    assert main(["lca", "--model", str(toy_setup), "--data", str(bad_corpus), "--quiet"]) == 2
    assert _error_line(capsys).endswith(f"error: {bad_corpus}:1: expected 10 tab-separated fields, found 4")


def test_debug_adds_the_traceback(capsys):
    for args in (["--debug", "lca", "--delta", "2", "--quiet"], ["lca", "--delta", "2", "--quiet", "--debug"]):
        assert main(args) == 2
        err = capsys.readouterr().err
        assert "Traceback (most recent call last)" in err and "neuronbook lca: error: " in err


def test_an_unexpected_failure_is_one_line_with_status_1(monkeypatch, capsys):
    import neuronbook.lca

    def broken(*a, **k):
        raise RuntimeError("CUDA went away")

    monkeypatch.setattr(neuronbook.lca, "run_lca", broken)
    assert main(["lca", "--quiet"]) == 1
    assert _error_line(capsys).endswith("RuntimeError: CUDA went away (run again with --debug for the traceback)")


def test_lca_on_one_corpus_file_splits_it_with_the_seed(toy_setup, tmp_path, tmp_cache, capsys):
    corpus_file = tmp_path / "one.conllu"
    _conllu(corpus_file, 50, seed=3)
    args = ["lca", "--model", str(toy_setup), "--data", str(corpus_file), "--task", "upos", "--l1", "1e-4",
            "--percents", "50", "--control", "false", "--quiet"]
    assert main(args + ["--out", str(tmp_path / "a")]) == 0
    assert "computed" in capsys.readouterr().out
    result = LCAResult.load(tmp_path / "a")
    # 50 sentences: 10 (--test-fraction 0.2) for test, 40 for train (of which dev_fraction is dev), 8 words each
    assert result.info["n_sentences_test_split"] == 10 and result.info["n_sentences_train_split"] == 40
    assert result.info["n_test"] == 80 and result.info["n_train"] + result.info["n_dev"] == 320
    assert result.info["split_of_file"] == {"file": str(corpus_file.resolve()), "test_fraction": 0.2, "seed": 0}
    # the same command is the same split: served by the result cache; another seed is another split
    assert main(args + ["--out", str(tmp_path / "b")]) == 0
    assert "loaded from the result cache" in capsys.readouterr().out
    assert main(args + ["--out", str(tmp_path / "c"), "--seed", "1", "--test-fraction", "0.5"]) == 0
    assert "computed" in capsys.readouterr().out
    other = LCAResult.load(tmp_path / "c")
    assert other.info["n_sentences_test_split"] == 25
    assert other.info["store_test"]["key"] != result.info["store_test"]["key"]


def test_lca_on_corpus_files_uses_train_and_test_files(toy_setup, tmp_path, tmp_cache, capsys):
    train, test = tmp_path / "train.conllu", tmp_path / "test.conllu"
    _conllu(train, 30, seed=4)
    _conllu(test, 12, seed=5)
    args = ["lca", "--model", str(toy_setup), "--data", str(train), "--train", str(train), "--test", str(test),
            "--task", "upos", "--l1", "1e-4", "--percents", "50", "--control", "false", "--quiet",
            "--out", str(tmp_path / "r")]
    assert main(args) == 0
    result = LCAResult.load(tmp_path / "r")
    assert result.info["n_test"] == 12 * 8 and result.info["n_train"] + result.info["n_dev"] == 30 * 8
    assert "split_of_file" not in result.info
    # a split name with a corpus file is neither a file nor the seeded split: a user error
    assert main(["lca", "--model", str(toy_setup), "--data", str(train), "--test", "dev", "--quiet"]) == 2
    assert "give train= and test= as corpus files, or leave them at their defaults" in _error_line(capsys)
    assert main(["lca", "--data", str(train), "--test-fraction", "1.5", "--quiet"]) == 2
    assert "LCAConfig.test_fraction=1.5: must be a number in (0, 1)" in _error_line(capsys)


def test_lca_help_documents_the_one_file_split():
    from neuronbook.cli import _parser

    help_text = " ".join(_parser()._subparsers._group_actions[0].choices["lca"].format_help().split())
    assert "without them the file's sentences are split, shuffled with --seed, into train and test" in help_text
    assert "--test-fraction VALUE" in help_text and "--debug" in help_text


def test_extract_errors_name_the_extract_command(toy_setup, capsys):
    assert main(["extract", "--model", str(toy_setup), "--data", "ud:xx_toy", "--split", "nope", "--quiet"]) == 2
    assert "unknown split 'nope' for 'ud:xx_toy'" in _error_line(capsys, "extract")


def test_list_settings_parse_from_the_command_line():
    from neuronbook.cli import _config_from, _parser

    args = _parser().parse_args(["lca", "--seeds", "0,1,2", "--layers", "3", "--ablation-percents", "[10, 20]",
                                 "--search-criterion", "gap", "--n-draws", "5"])
    cfg = _config_from(args)
    assert cfg.seeds == (0, 1, 2) and cfg.layers == (3,) and cfg.ablation_percents == (10, 20)
    assert cfg.search_criterion == "gap" and cfg.n_draws == 5


def test_intervene_command_prints_and_saves_the_tables(toy_setup, tmp_path, tmp_cache, capsys):
    import pandas as pd

    out_dir = tmp_path / "interventions"
    args = ["intervene", "--model", str(toy_setup), "--data", "ud:xx_toy", "--task", "upos", "--l1", "1e-3",
            "--l2", "1e-3", "--epochs", "2", "--percents", "10,50", "--max-sentences", "20", "--control", "false",
            "--k", "4", "--draws", "2", "--how", "zero", "--out", str(out_dir), "--quiet"]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "4 neurons below layer 2 set to their zero; 2 draws" in printed
    assert "layer-matched random" in printed and "does not apply" in printed  # a BERT has no causal-LM head
    sets = pd.read_csv(out_dir / "sets.csv")
    assert sets.groupby("selection").size().to_dict() == {"layer-matched random": 8, "random": 8, "top": 4}
    comparison = pd.read_csv(out_dir / "comparison.csv")
    assert set(comparison["measure"]) == {"fixed accuracy", "retrained accuracy", "perturbation",
                                          "probe-layer change"}
    summary = pd.read_csv(out_dir / "summary.csv").set_index(["selection", "measure"])["mean"]
    assert summary[("none", "perturbation")] == 0 and summary[("top", "perturbation")] > 0
    assert summary[("top", "probe-layer change")] > 0  # layer 2 feels what was done below it
    assert (comparison["n_draws"] == 2).all()
