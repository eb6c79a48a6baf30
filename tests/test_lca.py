"""LCA end to end: arrays, stores, the named pipeline; the result's probe, round trip and cache."""

import json
import warnings

import numpy as np
import pandas as pd
import pytest

from neuronbook.config import LCAConfig
from neuronbook.exceptions import ApproximationWarning, TargetNotReachedWarning, UnseenLabelsWarning
from neuronbook.lca import RESULT_FORMAT, LCAResult, analyze_store, lca_from_arrays, run_lca
from neuronbook.neurons import neuron_index
from neuronbook.store import ActivationStore
from tiny import write_corpus

FAST = {"epochs": 12, "batch_size": 64, "lr": 1e-2}


def planted_layers(n=1600, n_layers=3, width=8, seed=0):
    """Tags decided by layer 2 neuron 1 and layer 1 neuron 6 (flat columns 17 and 14)."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, n_layers * width)).astype(np.float32)
    y = np.array(["N", "V", "A", "D"])[(X[:, 17] > 0) * 2 + (X[:, 14] > 0)]
    control = rng.choice(["N", "V", "A", "D"], n)
    return X, y, control, neuron_index(range(n_layers), width)


# few draws and resamples keep the suite fast; the defaults (10 draws, 200 resamples) are for findings
CONFIG = LCAConfig(model="toy", data="synthetic", task="pos", search_grid=[0, 1e-3], percents=[5, 10, 25, 50],
                   ablation_percents=[10, 50], delta=0.05, n_draws=3, bootstrap=50, **FAST)


@pytest.fixture(scope="module")
def arrays():
    return planted_layers()


@pytest.fixture(scope="module")
def result(arrays):
    X, y, c, idx = arrays
    return lca_from_arrays(X[:1000], y[:1000], X[1000:1300], y[1000:1300], X[1300:], y[1300:], idx, config=CONFIG,
                           control=(c[:1000], c[1300:]), n_layers=4, progress=False)


def test_planted_neurons_found(result):
    assert result.ranking.columns.tolist() == ["rank", "layer", "neuron", "tag", "score", "chunk"]
    top = result.ranking.head(2)
    assert set(zip(top["layer"], top["neuron"])) == {(1, 6), (2, 1)}
    assert result.ranking["rank"].tolist() == list(range(1, 25))
    ms = result.minimal_set.iloc[0]
    assert ms["reached"] and ms["n_neurons"] == 2 and ms["percent"] == 10  # the grid point: 10% of 24 is 2
    assert result.selected[["layer", "neuron"]].values.tolist() == top[["layer", "neuron"]].values.tolist()
    # n_layers is the model's (4 given), not the number of analysed layers (3)
    ld = result.layer_distribution.set_index("layer")
    assert ld.index.tolist() == [0, 1, 2, 3]
    assert ld["count"].tolist() == [0, 1, 1, 0] and ld["share"].tolist() == [0, 0.5, 0.5, 0]
    assert ld["relative_depth"].tolist() == pytest.approx([0, 1 / 3, 2 / 3, 1])


def test_tables_and_info(result):
    assert result.regularization["chosen"].sum() == 1
    from neuronbook.evaluate import choose_penalty

    # the chosen pair is the criterion's own pick from the recorded search table
    _, best = choose_penalty(result.regularization, "tolerance", tolerance=CONFIG.search_tolerance)
    assert (result.info["l1"], result.info["l2"]) == best and result.info["searched"]
    assert result.regularization["nonzero"].between(0, 1).all() and result.regularization["nonzero"].iloc[0] == 1.0
    assert result.n_layers == 4 and result.config.task == "pos"
    assert result.info["n_train"] == 1000 and result.tags == ["A", "D", "N", "V"]
    assert result.oracle["split"].tolist() == ["train", "dev", "test"]
    test = result.ablation[(result.ablation.split == "test") & (result.ablation.method == "retrain")]
    acc = test[test.percent == 10].set_index("selection")["accuracy"]
    assert acc["top"] > acc["random"] and acc["top"] > acc["bottom"] and acc["top"] > 0.8
    sel = result.selectivity.set_index("selection")
    assert sel.index.tolist() == ["all", "minimal set"] and (sel["selectivity"] > 0.4).all()
    pt = result.per_tag_ranking
    assert "column" not in pt.columns and set(pt["tag"]) == {"A", "D", "N", "V"}
    assert {"tag", "layer", "count", "share"} <= set(result.tag_layer_distribution.columns)


def test_result_carries_its_probe(result, arrays):
    X, y, _, idx = arrays
    assert result.coef.shape == (4, 24)
    assert result.neurons[["layer", "neuron"]].values.tolist() == [list(t) for t in idx]
    counts = result.classes.set_index("tag")
    assert counts["n_train"].sum() == 1000 and counts["n_dev"].sum() == 300 and counts["n_test"].sum() == 300
    assert counts.loc["N", "n_train"] == int((y[:1000] == "N").sum())
    # the rebuilt probe predicts what the oracle measured on test
    test_acc = result.oracle.set_index("split").loc["test", "accuracy"]
    assert result.probe().score(X[1300:], y[1300:]) == pytest.approx(test_acc)
    # planted neuron (2, 1) decides N/V vs A/D: its weights have opposite signs for the two groups
    w = result.neuron_weights(2, 1).set_index("tag")["weight"]
    assert np.sign(w["N"]) == np.sign(w["V"]) and np.sign(w["A"]) == np.sign(w["D"])
    assert np.sign(w["N"]) != np.sign(w["A"])
    assert result.neuron_weights(2, 1)["share"].iloc[0] > 0.2
    long = result.weights()
    assert len(long) == 4 * 24 and long.columns.tolist() == ["tag", "layer", "neuron", "weight"]
    with pytest.raises(ValueError, match=r"neuron \(layer=7, neuron=0\) is not among the analysed"):
        result.neuron_weights(7, 0)


def test_rerank_without_refit(result):
    wide = result.rerank(tag_percentage=0.9)
    assert wide.config.tag_percentage == 0.9 and result.config.tag_percentage == 0.5
    assert wide.per_tag_ranking.groupby("tag").size().min() >= result.per_tag_ranking.groupby("tag").size().min()
    assert len(wide.per_tag_ranking) > len(result.per_tag_ranking)
    pd.testing.assert_frame_equal(wide.minimal_set, result.minimal_set)
    same = result.rerank()
    pd.testing.assert_frame_equal(same.ranking, result.ranking)


def test_summary_names_the_figures(result):
    text = result.summary()
    assert "model=toy" in text and "oracle test accuracy" in text and "retrain top - random at 10%" in text
    head = result.headline().set_index("metric")["value"]
    assert head["minimal set neurons"] == 2
    assert result.headline_dict()["minimal set neurons"] == 2
    assert head["minimal set reached"] == 1
    json.dumps(result.headline_dict())  # headline.json must be writable
    assert "<table" in result._repr_html_()


def test_baselines_over_draws_and_variants(result):
    d, b = result.baseline_draws, result.baselines
    # 2 baselines x 3 draws x (retrain keep, zero-out keep, zero-out remove) at 10 %; no refits at 50 %
    assert len(d) == 18 + 12 and set(d["percent"]) == {10.0, 50.0}
    assert set(d.loc[d["method"] == "retrain", "percent"]) == {10.0}
    assert set(map(tuple, d[["method", "variant"]].drop_duplicates().values.tolist())) == {
        ("retrain", "keep-selected"), ("zero-out", "keep-selected"), ("zero-out", "remove-selected")}
    # every size, baseline and method drew with the same three fresh seeds (never the run's own)
    seeds = d.groupby(["percent", "baseline", "method", "variant"])["seed"].apply(tuple)
    assert seeds.nunique() == 1 and len(seeds.iloc[0]) == 3 and result.config.seed not in set(d["seed"])
    assert len(b) == 6 + 4 and (b["n_draws"] == 3).all()
    abl = result.ablation[(result.ablation.split == "test") & (result.ablation.selection == "top")]
    for _, row in b.iterrows():
        mean = d[(d.percent == row.percent) & (d.baseline == row.baseline) & (d.method == row.method)
                 & (d.variant == row.variant)]["accuracy"].mean()
        assert row["mean"] == pytest.approx(mean) and row["difference"] == pytest.approx(row["top"] - mean)
        assert row["ci_low"] < row["difference"] < row["ci_high"] or row["sd"] == 0
        if row.variant == "keep-selected":
            top = abl[(abl.method == row.method) & (abl.percent == row.percent)]["accuracy"].iloc[0]
            assert row["top"] == pytest.approx(top)
    # the planted pair is in the top 10 %: top beats both random baselines when refitted
    at10 = b[(b.percent == 10) & (b.method == "retrain")].set_index("baseline")
    assert (at10["difference"] > 0.2).all()
    v = result.ablation_variants
    assert set(v["variant"]) == {"keep-selected", "remove-selected"} and set(v["fill"]) == {"mean", "zero"}
    keep_mean = v[(v.variant == "keep-selected") & (v.fill == "mean") & (v.split == "test")]
    zero_out = result.ablation[(result.ablation.method == "zero-out") & (result.ablation.split == "test")]
    # keep-selected with the others at their mean is the zero-out of the ablation table
    merged = keep_mean.merge(zero_out, on=["percent", "selection"])
    assert len(merged) == 6 and np.allclose(merged["accuracy_x"], merged["accuracy_y"])


def test_minimal_set_interval_and_headline(result):
    ms = result.minimal_set.iloc[0]
    assert ms["n_bootstrap"] == 50 and ms["size_low"] <= ms["n_neurons"] <= ms["size_high"]
    head = result.headline_dict()
    assert head["minimal set neurons, bootstrap median"] == ms["size_median"]
    name = "retrain top - layer-matched random at 10%"
    assert head[f"{name}, 95% CI low"] < head[name] < head[f"{name}, 95% CI high"]
    assert "retrain random 10% test accuracy (mean of 3)" in head
    assert result.info["search_criterion"] == "tolerance" and result.info["zero_mass_tags"] == []


def test_combine_seeds_spread_and_overlap(arrays):
    from neuronbook.lca import combine_seeds

    X, y, _, idx = arrays
    runs = [lca_from_arrays(X[:1000], y[:1000], X[1000:1300], y[1000:1300], X[1300:], y[1300:], idx,
                            config=CONFIG.replace(l1=1e-3, control=False, seed=s, seeds=[0, 1], n_draws=2,
                                                  ablation_percents=[10]), progress=False) for s in (0, 1)]
    # seeds of a multi-seed run are never baseline draws of any of its runs
    assert not {0, 1} & set(pd.concat([r.baseline_draws for r in runs])["seed"])
    both = combine_seeds(runs)
    assert both.info["seeds"] == [0, 1] and both.ranking.equals(runs[0].ranking)
    s = both.seed_summary.set_index("metric")
    values = [r.headline_dict()["oracle test accuracy"] for r in runs]
    assert s.loc["oracle test accuracy", "n_seeds"] == 2
    assert s.loc["oracle test accuracy", "mean"] == pytest.approx(np.mean(values))
    assert s.loc["oracle test accuracy", "sd"] == pytest.approx(np.std(values, ddof=1))
    ov = both.seed_overlap.set_index("selection")
    # the planted pair is the minimal set of both seeds
    assert ov.loc["minimal set", "jaccard"] == 1.0 and ov.loc["minimal set", "n_a"] == 2
    assert 0 < ov.loc["top 10%", "jaccard"] <= 1
    assert both.headline_dict()["seeds"] == 2
    with pytest.raises(ValueError, match="differ by seed"):
        combine_seeds([runs[0], runs[0]])


def test_save_load_round_trip(result, tmp_path):
    out = result.save(tmp_path / "res")
    back = LCAResult.load(out)
    for name, df in result.tables().items():
        pd.testing.assert_frame_equal(getattr(back, name), df, check_dtype=False)
    np.testing.assert_array_equal(back.coef, result.coef)
    assert back.config == result.config and back.info["l1"] == result.info["l1"]
    assert back.summary() == result.summary()
    assert back.neuron_weights(1, 6).equals(result.neuron_weights(1, 6))
    assert not list(tmp_path.glob(".res.tmp-*"))
    # saving over it needs overwrite=True; a folder holding something else is never touched
    with pytest.raises(FileExistsError, match="overwrite=True"):
        result.save(out)
    result.save(out, overwrite=True)
    other = tmp_path / "mine"
    other.mkdir()
    (other / "notes.txt").write_text("keep me")
    with pytest.raises(FileExistsError, match="not an LCA result"):
        result.save(other)
    assert (other / "notes.txt").read_text() == "keep me"


def test_load_checks_format_and_files(result, tmp_path):
    out = result.save(tmp_path / "res")
    payload = json.loads((out / "result.json").read_text())
    payload["format"] = RESULT_FORMAT + 1
    (out / "result.json").write_text(json.dumps(payload))
    with pytest.raises(ValueError, match="format"):
        LCAResult.load(out)
    out2 = result.save(tmp_path / "res2")
    (out2 / "curve.parquet").unlink()
    with pytest.raises(FileNotFoundError, match="curve.parquet"):
        LCAResult.load(out2)


def test_unseen_test_tags_warn_once(arrays):
    X, y, _, idx = arrays
    y_test = y[1300:].copy().astype(object)
    y_test[:5] = "NEW"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        r = lca_from_arrays(X[:1000], y[:1000], X[1000:1300], y[1000:1300], X[1300:], y_test.astype(str), idx,
                            config=CONFIG.replace(l1=1e-3, control=False), progress=False)
    unseen = [w for w in caught if issubclass(w.category, UnseenLabelsWarning)]
    assert len(unseen) == 1 and "test: 5 of 300 words (NEW=5)" in str(unseen[0].message)
    assert r.info["unseen_test_labels"] == {"NEW": 5}


def test_unknown_setting_names_valid_ones(arrays):
    X, y, _, idx = arrays
    with pytest.raises(TypeError, match="unknown LCAConfig setting 'dleta' .did you mean 'delta'"):
        lca_from_arrays(X[:10], y[:10], X[:10], y[:10], X[:10], y[:10], idx, dleta=0.1)


def _stores(tmp_path, approximation=None):
    X, y, _, _ = planted_layers(n=600)
    acts = X.reshape(600, 3, 8)
    words = [[f"w{i}_{j}" for j in range(6)] for i in range(100)]
    meta = {"model": "toy", "approximation": approximation}
    train = ActivationStore.from_array(tmp_path / "train", acts[:480], words[:80], meta)
    test = ActivationStore.from_array(tmp_path / "test", acts[480:], words[80:], meta)
    return train, y[:480], test, y[480:]


def test_analyze_store_uses_store_layers_and_warns_on_approximation(tmp_path):
    train, ytr, test, yte = _stores(tmp_path, approximation="4-bit weights")
    cfg = CONFIG.replace(model="toy-4bit", l1=1e-3, layers=[2], control=False)
    with pytest.warns(ApproximationWarning, match="approximation of toy-4bit: 4-bit weights"), \
            pytest.warns(TargetNotReachedWarning):
        r = analyze_store(train, ytr, test, yte, config=cfg, progress=False)
    assert set(r.neurons["layer"]) == {2} and r.n_layers == 3 and len(r.neurons) == 8
    assert tuple(r.ranking.loc[0, ["layer", "neuron"]]) == (2, 1)
    assert r.info["approximation"] == "4-bit weights" and "approximate model" in r.summary()
    assert r.approximation == "4-bit weights" and not r.from_cache
    assert r.info["n_dev_sentences"] == 8 and r.info["n_train_sentences"] == 72
    # the target was not reached: the minimal set is every neuron, with the oracle's accuracies
    ms = r.minimal_set.iloc[0]
    assert not ms["reached"] and ms["n_neurons"] == 8
    assert ms["test_accuracy"] == pytest.approx(r.oracle.set_index("split").loc["test", "accuracy"])


def test_analyze_store_exact_model_does_not_warn(tmp_path):
    train, ytr, test, yte = _stores(tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ApproximationWarning)
        analyze_store(train, ytr, test, yte, config=CONFIG.replace(l1=1e-3, control=False), progress=False)




@pytest.fixture
def tiny_corpus_dir(tmp_path):
    d = tmp_path / "data"
    d.mkdir()
    return write_corpus(d / "train.conllu", 60, 0), write_corpus(d / "test.conllu", 30, 1)


def test_run_lca_seeds_runs_and_caches_each(tmp_cache, tiny_corpus_dir, monkeypatch):
    import neuronbook.lca.pipeline as lca_mod  # where run_lca looks its steps up

    train_file, test_file = tiny_corpus_dir
    cfg = LCAConfig(model="tiny-random", data="toy", train=str(train_file), test=str(test_file), task="upos",
                    l1=1e-3, percents=[10, 50], ablation_percents=[10], n_draws=2, bootstrap=20, control=False,
                    max_sentences=40, seeds=[3, 5], **FAST)
    both = run_lca(cfg, progress=False)
    assert both.config.seed == 3 and both.info["seeds"] == [3, 5]
    assert sorted(both.seed_runs["seed"].unique()) == [3, 5]
    single = run_lca(cfg.replace(seed=5, seeds=None), progress=False)  # each seed's run is cached on its own
    assert "loaded_from_cache" in single.info and single.from_cache and single.config.seed == 5
    assert both.seed_runs.query("seed == 5").set_index("metric")["value"].drop("wall time (s)").to_dict() == \
        single.headline().set_index("metric")["value"].drop("wall time (s)").to_dict()
    monkeypatch.setattr(lca_mod, "lca_from_arrays", lambda *a, **k: pytest.fail("refitted a cached seed"))
    again = run_lca(cfg, progress=False)
    pd.testing.assert_frame_equal(again.seed_summary, both.seed_summary)


def test_run_lca_caches_the_whole_result(tmp_cache, tiny_corpus_dir, monkeypatch):
    import neuronbook.lca.pipeline as lca_mod  # where run_lca looks its steps up

    train_file, test_file = tiny_corpus_dir
    cfg = LCAConfig(model="tiny-random", data="toy", train=str(train_file), test=str(test_file), task="upos",
                    l1=1e-3, percents=[10, 50], control=False, max_sentences=40, **FAST)
    first = run_lca(cfg, progress=False)
    assert first.info["n_sentences_train_split"] == 40 and "loaded_from_cache" not in first.info
    assert set(first.tags) == {"DET", "NOUN", "VERB", "PUNCT"}
    # the second identical call loads the saved result: no model, no extraction, no probe trained
    # (what made it fast; timing it belongs to benchmarks/bench_result_cache.py, not here)
    import sys

    import neuronbook.models
    import neuronbook.probe as probe_mod

    monkeypatch.setattr(lca_mod, "lca_from_arrays", lambda *a, **k: pytest.fail("refitted a cached result"))
    monkeypatch.setattr(probe_mod, "_train_group", lambda *a, **k: pytest.fail("trained a probe for a cached result"))
    monkeypatch.setattr(sys.modules["neuronbook.extraction"], "extract",
                        lambda *a, **k: pytest.fail("extracted activations for a cached result"))
    monkeypatch.setattr(neuronbook.models, "load_model", lambda *a, **k: pytest.fail("loaded the model"))
    second = run_lca(cfg, progress=False)
    assert "loaded_from_cache" in second.info
    pd.testing.assert_frame_equal(second.ranking, first.ranking, check_dtype=False)
    # the request index answers without parsing the corpus at all
    monkeypatch.setattr(lca_mod, "load_splits", lambda *a, **k: pytest.fail("parsed the corpus"))
    assert "loaded_from_cache" in run_lca(cfg, progress=False).info
    # another setting is another result
    monkeypatch.undo()
    third = run_lca(cfg, progress=False, seed=1)
    assert "loaded_from_cache" not in third.info and third.config.seed == 1
    # cache=False computes and writes nothing
    n_before = len(list((tmp_cache / "results").iterdir()))
    run_lca(cfg, progress=False, cache=False)
    assert len(list((tmp_cache / "results").iterdir())) == n_before


def test_run_lca_edited_corpus_is_a_new_result(tmp_cache, tiny_corpus_dir):
    train_file, test_file = tiny_corpus_dir
    cfg = LCAConfig(model="tiny-random", data="toy", train=str(train_file), test=str(test_file), task="upos",
                    l1=1e-3, percents=[50], control=False, ablation_percents=[], **FAST)
    first = run_lca(cfg, progress=False)
    assert "loaded_from_cache" in run_lca(cfg, progress=False).info
    write_corpus(train_file, 60, seed=7)  # same size of file is possible: the content decides
    again = run_lca(cfg, progress=False)
    assert "loaded_from_cache" not in again.info
    assert again.info["store_train"]["key"] != first.info["store_train"]["key"]


def test_a_shipped_result_seeds_the_cache(tmp_path, tiny_corpus_dir, monkeypatch):
    from neuronbook.lca import cache_result

    train_file, test_file = tiny_corpus_dir
    cfg = LCAConfig(model="tiny-random", data="toy", train=str(train_file), test=str(test_file), task="upos",
                    l1=1e-3, percents=[50], control=False, ablation_percents=[], **FAST)
    monkeypatch.setenv("NEURONBOOK_CACHE", str(tmp_path / "one"))
    shipped = run_lca(cfg, progress=False).save(tmp_path / "shipped")
    # another machine: empty cache; the shipped result goes in, and run_lca answers from it
    monkeypatch.setenv("NEURONBOOK_CACHE", str(tmp_path / "two"))
    cache_result(LCAResult.load(shipped))
    assert "loaded_from_cache" in run_lca(cfg, progress=False).info
    # a shipped result whose corpus differs here is refused
    write_corpus(test_file, 30, seed=9)
    with pytest.raises(ValueError, match="corpus or the model files differ"):
        cache_result(LCAResult.load(shipped))


def test_run_lca_one_file_with_split_names_is_an_error(tiny_corpus_dir):
    with pytest.raises(ValueError, match="is one corpus file: give train= and test= as corpus files"):
        run_lca(data=str(tiny_corpus_dir[0]), model="tiny-random", test="dev")


def test_run_lca_unknown_setting():
    with pytest.raises(TypeError, match="unknown LCAConfig setting 'l3'"):
        run_lca(l3=0.1)


def test_prepare_gives_the_arrays_run_lca_analyses(tmp_cache, tiny_corpus_dir):
    from neuronbook.lca import prepare

    train_file, test_file = tiny_corpus_dir
    cfg = LCAConfig(model="tiny-random", data="toy", train=str(train_file), test=str(test_file), task="xpos",
                    l1=1e-3, percents=[50], control=True, layers=[0, 2], **FAST)
    data = prepare(cfg, progress=False)
    a = data.arrays()
    assert len(a["y_train"]) + len(a["y_dev"]) == 60 * 4 and len(a["y_test"]) == 30 * 4
    assert a["X_train"].shape[1] == len(a["neurons"]) and sorted(set(a["neurons"].get_level_values(0))) == [0, 2]
    assert set(data.y_train) == {"DT", "NN", "VBD", "."} and len(data.control_train) == len(data.y_train)
    r = run_lca(cfg, progress=False)
    assert (r.info["n_train"], r.info["n_dev"], r.info["n_test"]) == (len(a["y_train"]), len(a["y_dev"]),
                                                                        len(a["y_test"]))
    assert r.neurons[["layer", "neuron"]].values.tolist() == [list(t) for t in a["neurons"]]


def test_prepare_extracts_on_the_best_device(tmp_cache, tiny_corpus_dir, monkeypatch):
    # before: _prepare handed the CPU-loaded model to extract, which keeps a caller's model where it is,
    # so a GPU machine extracted on the CPU
    import sys

    import neuronbook.models as models_mod
    from neuronbook.lca import prepare

    extract_mod = sys.modules["neuronbook.extraction"]

    moved = []
    real_load = models_mod.load_model

    def load(name, **kw):
        model, tokenizer = real_load(name, **kw)
        real_to = model.to
        model.to = lambda device, *a, **k: (moved.append(str(device)), real_to(device, *a, **k))[1]
        return model, tokenizer

    monkeypatch.setattr(models_mod, "load_model", load)
    monkeypatch.setattr(extract_mod, "best_device", lambda: "cpu:0")  # stands for "cuda" on a GPU machine
    train_file, test_file = tiny_corpus_dir
    prepare(LCAConfig(model="tiny-random", data="toy", train=str(train_file), test=str(test_file), task="upos",
                      control=False), progress=False)
    assert moved and moved[0] == "cpu:0"


# ------------------------------------------------------------ validated inputs

def _small(n=300, seed=1):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 6)).astype(np.float32)
    return X, np.where(X[:, 2] > 0, "A", "B")


@pytest.mark.parametrize("split", ["train", "dev", "test"])
@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_activations_in_any_split_name_split_row_and_neuron(split, bad):
    X, y = _small()
    parts = {"train": (X[:200].copy(), y[:200]), "dev": (X[200:250].copy(), y[200:250]),
             "test": (X[250:].copy(), y[250:])}
    parts[split][0][7, 4] = bad
    idx = neuron_index([0, 3], 3)  # column 4 is layer 3, neuron 1
    args = [a for name in ("train", "dev", "test") for a in parts[name]]
    with pytest.raises(ValueError, match=rf"{split} activations: non-finite value {bad} at row 7, column 4 "
                                         r"\(layer=3, neuron=1\)"):
        lca_from_arrays(*args, idx, config=CONFIG, control=False, progress=False)


def test_finite_check_reads_row_blocks():
    from neuronbook.lca.pipeline import _check_finite

    X = np.zeros((10, 3), np.float32)
    X[9, 2] = np.nan
    with pytest.raises(ValueError, match="row 9, column 2"):
        _check_finite("dev", X, neuron_index([0], 3), rows_per_block=4)  # the NaN sits in the third block
    _check_finite("dev", np.zeros((5, 3), np.int8), neuron_index([0], 3))  # integers are always finite


def test_one_class_is_an_error_before_any_fit(monkeypatch):
    import neuronbook.evaluate as ev

    def no_fit(*a, **k):
        raise AssertionError("a probe was fitted")

    monkeypatch.setattr(ev, "oracle", no_fit)
    X, _ = _small()
    one = np.full(300, "NOUN")
    with pytest.raises(ValueError, match=r"training words carry 1 tag\(s\) \('NOUN': 200\): a probe needs at least"):
        lca_from_arrays(X[:200], one[:200], X[200:250], one[200:250], X[250:], one[250:], config=CONFIG,
                        control=False, progress=False)


def test_every_word_its_own_tag_is_an_error():
    X, _ = _small()
    own = np.array([f"w{i}" for i in range(300)])
    with pytest.raises(ValueError, match="200 tags on 200 training words but only 0 with more than one word"):
        lca_from_arrays(X[:200], own[:200], X[200:250], own[200:250], X[250:], own[250:], config=CONFIG,
                        control=False, progress=False)


def test_rare_tags_are_kept_with_a_warning():
    from neuronbook.exceptions import RareTagsWarning

    X, y = _small()
    y = y.astype(object)
    y[[3, 11, 40]] = "RARE"  # three training words
    with pytest.warns(RareTagsWarning, match=r"1 of 3 tags have fewer than 5 training words \(RARE=3\)"):
        r = lca_from_arrays(X[:200], y[:200], X[200:250], y[200:250], X[250:], y[250:], config=CONFIG,
                            control=False, progress=False)
    assert r.classes.set_index("tag").loc["RARE", "n_train"] == 3


def test_enough_words_per_tag_gives_no_rare_tag_warning():
    from neuronbook.lca.pipeline import _check_classes

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _check_classes(np.array(["A"] * 5 + ["B"] * 5))


def test_run_lca_splits_one_corpus_file_with_the_seed(tmp_cache, tiny_corpus_dir):
    train_file, _ = tiny_corpus_dir
    cfg = LCAConfig(model="tiny-random", data=str(train_file), task="upos", l1=1e-3, percents=[50],
                    control=False, ablation_percents=[], test_fraction=0.25, **FAST)
    r = run_lca(cfg, progress=False)
    assert r.info["n_sentences_test_split"] == 15 and r.info["n_sentences_train_split"] == 45  # 60 sentences
    assert r.info["split_of_file"] == {"file": str(train_file.resolve()), "test_fraction": 0.25, "seed": 0}
    assert "loaded_from_cache" in run_lca(cfg, progress=False).info
    other = run_lca(cfg.replace(seed=1), progress=False)
    assert other.info["store_test"]["key"] != r.info["store_test"]["key"]


def test_fits_the_analysis_already_has_are_not_repeated(result, arrays, monkeypatch):
    """The oracle is the search's fit of the chosen penalty; the top sets' retrains and selectivity's task
    probe on the minimal set are the minimal set's own prefix fits: the same figures, not refits."""
    # the ablation's top retrain at 10 % (2 of 24 neurons, a grid point of the minimal set) is the curve's point
    ab = result.ablation.query("selection == 'top' and method == 'retrain' and percent == 10")
    curve = result.curve.query("percent == 10")
    for split in ("dev", "test"):
        assert ab.set_index("split").loc[split, "accuracy"] == curve.set_index("split").loc[split, "accuracy"]
    sel = result.selectivity.set_index("selection")
    assert sel.loc["minimal set", "task_accuracy"] == result.minimal_set.iloc[0]["test_accuracy"]
    assert sel.loc["all", "task_accuracy"] == result.oracle.set_index("split").loc["test", "accuracy"]
    reg = result.regularization
    assert result.info["l1"] == reg.loc[reg["chosen"], "l1"].iloc[0]
    # and the whole analysis trains: one group for the search, then only what it cannot reuse
    import neuronbook.probe as probe_mod

    calls = []
    real = probe_mod._train_group
    monkeypatch.setattr(probe_mod, "_train_group", lambda probes, *a, **k: calls.append(len(probes)) or
                        real(probes, *a, **k))
    X, y, c, idx = arrays
    again = lca_from_arrays(X[:1000], y[:1000], X[1000:1300], y[1000:1300], X[1300:], y[1300:], idx, config=CONFIG,
                            control=(c[:1000], c[1300:]), n_layers=4, progress=False)
    assert calls[0] == len(CONFIG.search_grid)  # every penalty in one loop over the batches
    assert again.minimal_set.equals(result.minimal_set) and again.ablation.equals(result.ablation)


def rare_tag_arrays(n=1400, seed=3):
    """Tags spread over columns 5-7; a rare tag "R" (4 training words) sits on its own column 2."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 12)).astype(np.float32)
    y = np.where(X[:, 5:8].sum(1) > 0, "A", "B").astype(object)
    rare = np.array([10, 20, 30, 40, 1100, 1200])  # 4 in train, 2 in test
    y[rare] = "R"
    X[rare, 2] += 6.0  # an easy, lonely signal: left in the sweep, it would lead the ranking
    return X, y.astype(str), neuron_index([0, 1], 6)


@pytest.mark.parametrize("min_tag_count, first", [(1, {(0, 2)}), (5, {(0, 5), (1, 0), (1, 1)})])
def test_rare_tags_take_no_part_in_the_ranking(min_tag_count, first):
    X, y, idx = rare_tag_arrays()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = lca_from_arrays(X[:900], y[:900], X[900:1000], y[900:1000], X[1000:], y[1000:], idx, l1=1e-3,
                            min_tag_count=min_tag_count, percents=[10, 50], n_draws=0, control=False,
                            ablation_percents=[], progress=False, **FAST)
    assert tuple(r.ranking.loc[0, ["layer", "neuron"]].astype(int)) in first  # columns 2 and 5-7
    assert r.info["rare_tags"] == ({} if min_tag_count == 1 else {"R": 4}) and r.rare_tags == r.info["rare_tags"]
    # the per-tag table keeps the rare tag, marked
    per = r.per_tag_ranking
    assert "R" in set(per["tag"]) and per.loc[per["tag"] == "R", "rare"].all() == (min_tag_count > 1)
    assert not per.loc[per["tag"] != "R", "rare"].any()
    if min_tag_count > 1:  # and a rerank without the threshold brings it back to the front
        back = r.rerank(min_tag_count=1)
        assert tuple(back.ranking.loc[0, ["layer", "neuron"]].astype(int)) == (0, 2)
        assert back.info["rare_tags"] == {}


def test_every_tag_rare_is_an_error_naming_the_setting():
    from neuronbook.lca.result import toy_result  # 50 training words per tag

    with pytest.raises(ValueError, match="min_tag_count=60.*most frequent has 50"):
        toy_result().rerank(min_tag_count=60)


def test_a_target_never_reached_is_a_state_not_a_set():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(900, 12)).astype(np.float32)
    y = np.where(X[:, :6].sum(1) > 0, "A", "B")  # spread over half the neurons: 10 % cannot keep the oracle
    c = rng.choice(["A", "B"], 900)
    with pytest.warns(TargetNotReachedWarning):
        r = lca_from_arrays(X[:600], y[:600], X[600:750], y[600:750], X[750:], y[750:], l1=1e-4, percents=[10],
                            delta=0.001, n_draws=0, ablation_percents=[], control=(c[:600], c[750:]),
                            progress=False, **FAST)
    assert not r.minimal_set_reached and not bool(r.minimal_set.loc[0, "reached"])
    assert len(r.selected) == 0 and r.layer_distribution["count"].sum() == 0
    head = r.headline_dict()
    assert head["minimal set reached"] == 0
    assert np.isnan(head["minimal set neurons"]) and np.isnan(head["minimal set %"])
    assert r.selectivity["selection"].tolist() == ["all"]  # no "minimal set" row repeating "all"
    assert "NOT REACHED" in r.summary()

    from neuronbook.analysis.compare import NeuronSelection, finetuning_comparison

    sel = NeuronSelection.from_lca(r)
    assert not sel.reached and np.isnan(sel.n_selected)
    cmp = finetuning_comparison({"pos": r}, {"pos": r})
    assert np.isnan(cmp.overlap.loc[0, "jaccard"]) and np.isnan(cmp.overlap.loc[0, "mean_layer_shift"])
    assert cmp.summary["mean_relative_depth"].isna().all() and not cmp.summary["reached"].any()


def test_the_result_carries_its_estimator(result, arrays):
    """One carrier: ``estimator()`` is the config's probe with the chosen pair, unfitted; refitted it is the oracle."""
    X, y, _, _ = arrays
    chosen = result.regularization.loc[result.regularization["chosen"]].iloc[0]
    assert result.best_params == {"l1": chosen["l1"], "l2": chosen["l2"]}
    est = result.estimator()
    assert not hasattr(est, "coef_")
    assert est.get_params() == CONFIG.make_probe(**result.best_params).get_params()
    assert (est.epochs, est.lr, est.batch_size, est.seed) == (CONFIG.epochs, CONFIG.lr, CONFIG.batch_size, CONFIG.seed)
    refit = est.fit(X[:1000], y[:1000])
    test_acc = result.oracle.set_index("split").loc["test", "accuracy"]
    assert refit.score(X[1300:], y[1300:]) == pytest.approx(test_acc, abs=1e-9)
    np.testing.assert_allclose(refit.coef_, result.coef, atol=1e-6)


def test_verbs_have_no_penalty_defaults_of_their_own():
    import inspect

    import neuronbook as nb

    verbs = [nb.evaluate.oracle, nb.evaluate.minimal_set, nb.evaluate.ablation, nb.evaluate.selectivity, nb.evaluate.search_regularization, nb.evaluate.random_baselines,
             nb.disjoint_minimal_sets, nb.layerwise_probing, nb.planted_recall, nb.rank.LCARanker]
    for verb in verbs:
        params = inspect.signature(verb).parameters
        assert "estimator" in params and params["estimator"].default is None, verb.__name__
        assert not {"l1", "l2", "probe_params"} & set(params), verb.__name__
