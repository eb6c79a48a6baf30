"""Planted neurons: the plan, the plant, and the recall of the rankers on synthetic activations."""

import numpy as np
import pandas as pd
import pytest

from neuronbook.evaluate import CRITERIA
from neuronbook.groundtruth import (RECALL_COLUMNS, plant_neurons, planted_recall, planting_plan,
                                    summarize_recall)
from neuronbook.neurons import neuron_index
from neuronbook.probe import ElasticNetProbe
from neuronbook.rank import RANKERS

FAST = ElasticNetProbe(epochs=15, batch_size=64, lr=1e-2)
PROBE_FREE = sorted(set(RANKERS) - {"lca"})
GRID = (0.0, 1e-3, 1e-2)
K = 6


@pytest.fixture(scope="module", autouse=True)
def one_torch_thread():
    # probes this small run faster on one thread; more only contend (with each other and other jobs)
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def noise():
    """Pure-noise activations, 2,000 words x 30 neurons over 3 layers, 4 tags."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(2000, 30)).astype("float32")
    y = rng.choice(np.array(["A", "B", "C", "D"]), 2000)
    return X[:1600], y[:1600], X[1600:], y[1600:], neuron_index([0, 1, 2], 10)


@pytest.fixture(scope="module")
def table(noise, one_torch_thread):
    X_train, y_train, X_dev, y_dev, idx = noise
    return planted_recall(X_train, y_train, X_dev, y_dev, idx, k=K, strengths=(0.0, 4.0), seeds=(0, 1, 2),
                          grid=GRID, estimator=FAST)


# -- the plan -----------------------------------------------------------------------------------

def test_plan_is_spread_over_layers_and_names_its_neurons(noise):
    *_, idx = noise
    y = np.repeat(["A", "B", "C", "D", "rare"], [100, 100, 100, 100, 10])
    plan = planting_plan(idx, y, k=7, seed=3)
    assert plan.columns.tolist() == ["column", "layer", "neuron", "tag"]
    assert plan["column"].is_unique
    assert sorted(plan["layer"].value_counts().tolist()) == [2, 2, 3]
    assert [tuple(idx[c]) for c in plan["column"]] == list(zip(plan["layer"], plan["neuron"]))
    # 7 neurons, 4 eligible tags: every tag once before any repeats, the rare one never
    assert sorted(plan["tag"].value_counts().tolist()) == [1, 2, 2, 2]
    assert set(plan["tag"]) == {"A", "B", "C", "D"}
    assert sorted(plan["tag"].iloc[:4]) == ["A", "B", "C", "D"]


def test_plan_fills_up_from_the_larger_layers():
    idx = neuron_index([0], 2).append(neuron_index([1, 2], 10))
    plan = planting_plan(idx, ["A"] * 60, k=12, seed=0)
    assert plan["layer"].value_counts().sort_index().tolist() == [2, 5, 5]


def test_plan_is_deterministic_per_seed(noise):
    _, y_train, _, _, idx = noise
    a = planting_plan(idx, y_train, k=K, seed=1)
    pd.testing.assert_frame_equal(a, planting_plan(idx, y_train, k=K, seed=1))
    assert a["column"].tolist() != planting_plan(idx, y_train, k=K, seed=2)["column"].tolist()
    counts = pd.Series(y_train).value_counts()
    assert (counts[a["tag"]] >= 50).all()


def test_plan_rejects_bad_input(noise):
    _, y_train, _, _, idx = noise
    with pytest.raises(ValueError, match=r"k=31 neurons to plant, but there are 30 columns"):
        planting_plan(idx, y_train, k=31)
    with pytest.raises(ValueError, match=r"k=0"):
        planting_plan(idx, y_train, k=0)
    with pytest.raises(ValueError, match=r"no tag has min_count=50 training words.*A=10"):
        planting_plan(idx, ["A"] * 10 + ["B"] * 5, k=2)


# -- the plant ----------------------------------------------------------------------------------

def test_plant_shifts_by_strength_sd_on_the_tag_only():
    X = np.array([[1., 9., 0.], [1., 9., 4.], [3., 9., 0.], [3., 9., 4.]])  # sd: 1 and 2 (columns 0, 2)
    y = np.array(["a", "b", "b", "a"])
    before = X.copy()
    plan = pd.DataFrame({"column": [0, 2], "layer": [0, 0], "neuron": [0, 2], "tag": ["a", "b"]})
    out = plant_neurons(X, y, plan, 1.5)
    assert out.dtype == np.float32
    assert out.tolist() == [[2.5, 9, 0], [1, 9, 7], [3, 9, 3], [4.5, 9, 4]]
    np.testing.assert_array_equal(X, before)
    # the training spread reused on other words
    assert plant_neurons(X, y, plan, 1.0, scale=[10.0, 0.0]).tolist() == [[11, 9, 0], [1, 9, 4], [3, 9, 0],
                                                                          [13, 9, 4]]
    np.testing.assert_array_equal(plant_neurons(X, y, plan, 0.0), X)


def test_plant_changes_only_the_planted_columns(noise):
    X, y, _, _, idx = noise
    before = X.copy()
    plan = planting_plan(idx, y, k=K, seed=0)
    out = plant_neurons(X, y, plan, 2.0)
    np.testing.assert_array_equal(X, before)
    changed = np.flatnonzero((out != X).any(axis=0))
    assert sorted(changed.tolist()) == sorted(plan["column"].tolist())
    for col, tag in zip(plan["column"], plan["tag"]):
        expected = 2.0 * X[:, col].std(dtype=np.float64) * (y == tag)
        np.testing.assert_allclose(out[:, col] - X[:, col], expected, atol=1e-5)


def test_plant_rejects_bad_input(noise):
    X, y, _, _, idx = noise
    plan = planting_plan(idx, y, k=K)
    with pytest.raises(ValueError, match="scale has 2 entries for 6 planted neurons"):
        plant_neurons(X, y, plan, 1.0, scale=[1.0, 2.0])
    with pytest.raises(ValueError, match="one label per word"):
        plant_neurons(X, y[:-1], plan, 1.0)
    with pytest.raises(ValueError, match="lacks"):
        plant_neurons(X, y, plan.drop(columns="tag"), 1.0)


# -- the recall ---------------------------------------------------------------------------------

def test_a_strong_plant_is_recovered(table):
    strong = table[table["strength"] == 4.0]
    free = strong[strong["ranker"].isin(PROBE_FREE)]
    assert sorted(set(free["ranker"])) == PROBE_FREE
    assert (free["recall_at_k"] == 1.0).all() and (free["median_rank"] == (K + 1) / 2).all()
    sparse = strong[(strong["ranker"] == "lca") & (strong["l1"] == 1e-2) & strong["criterion"].isna()]
    assert len(sparse) == 6 and (sparse["nonzero"] < 0.7).all()  # 3 seeds x 2 standardize, most weights off
    assert (sparse["recall_at_k"] == 1.0).all() and (sparse["recall_at_10pct"] == 0.5).all()  # 3 of 6 fit in 10 %
    assert (strong.loc[strong["ranker"] == "lca", "dev_accuracy"] > 0.95).all()


def test_without_a_plant_recall_is_near_chance(table):
    none = table[table["strength"] == 0.0]
    chance = K / 30
    assert abs(none["recall_at_k"].mean() - chance) < 0.2
    assert none["median_rank"].mean() > 9  # the planted neurons sit anywhere (chance: 15.5), not at ranks 1-6
    assert (none.loc[none["ranker"] == "lca", "dev_accuracy"] < 0.4).all()  # 4 tags of noise: no signal


def test_table_has_the_documented_rows(table):
    assert table.columns.tolist() == list(RECALL_COLUMNS)
    assert len(table) == 2 * 3 * (2 * (len(GRID) + len(CRITERIA)) + len(PROBE_FREE))
    np.testing.assert_allclose(table["recall_at_k"], table["hits_at_k"] / table["k"])
    one = table[(table["seed"] == 1) & (table["strength"] == 4.0)]
    for std in (True, False):
        lca = one[(one["ranker"] == "lca") & (one["standardize"] == std)]
        per_penalty = lca[lca["criterion"].isna()].set_index("l1")
        assert per_penalty.index.tolist() == list(GRID) and (per_penalty["l2"] == per_penalty.index).all()
        chosen = lca[lca["criterion"].notna()]
        assert chosen["criterion"].tolist() == list(CRITERIA)
        for _, row in chosen.iterrows():  # a criterion's row repeats its penalty's row
            same = per_penalty.loc[row["l1"]]
            assert (row["recall_at_k"], row["dev_accuracy"], row["nonzero"]) == (
                same["recall_at_k"], same["dev_accuracy"], same["nonzero"])
    free = one[one["ranker"].isin(PROBE_FREE)]
    assert len(free) == len(PROBE_FREE)
    assert free[["l1", "l2", "standardize", "dev_accuracy", "nonzero"]].isna().all().all()


def test_summary_averages_over_seeds(table):
    s = summarize_recall(table)
    assert (s["n_seeds"] == 3).all()
    assert len(s) == 2 * (2 * (len(GRID) + len(CRITERIA)) + len(PROBE_FREE))  # per strength
    strong = s[s["strength"] == 4.0]
    assert (strong.loc[strong["ranker"].isin(PROBE_FREE), "recall_at_k_mean"] == 1.0).all()
    assert (strong.loc[strong["ranker"].isin(PROBE_FREE), "recall_at_k_sd"] == 0.0).all()
    picked = s[s["criterion"].notna()]
    assert picked["l1"].isna().all()
    assert all(len(c.split(", ")) == 3 for c in picked["chosen_l1"])  # one pick per seed
    assert s.loc[s["criterion"].isna(), "chosen_l1"].isna().all()
    row = s[(s["ranker"] == "iou") & (s["strength"] == 0.0)].iloc[0]
    raw = table[(table["ranker"] == "iou") & (table["strength"] == 0.0)]["recall_at_k"]
    assert row["recall_at_k_mean"] == pytest.approx(raw.mean()) and row["recall_at_k_sd"] == pytest.approx(raw.std())


def test_probe_free_only_is_deterministic(noise):
    X_train, y_train, X_dev, y_dev, idx = noise
    run = lambda: planted_recall(X_train, y_train, X_dev, y_dev, idx, k=K, strengths=[1.0], seeds=[5],  # noqa: E731
                                 grid=[], rankers=["probeless"])
    a = run()
    assert a["ranker"].tolist() == ["probeless"]
    pd.testing.assert_frame_equal(a, run())


def test_recall_rejects_bad_input(noise):
    X_train, y_train, X_dev, y_dev, idx = noise
    args = (X_train, y_train, X_dev, y_dev, idx)
    with pytest.raises(ValueError, match="k=40 neurons to plant, but there are 30 columns"):
        planted_recall(*args, k=40, grid=[], rankers=["probeless"])
    with pytest.raises(ValueError, match="no tag has min_count=5000"):
        planted_recall(*args, min_count=5000, grid=[], rankers=["probeless"])
    with pytest.raises(ValueError, match=r"unknown criteria \['best'\]"):
        planted_recall(*args, criteria=["best"])
    with pytest.raises(ValueError, match="'lca' is not a probe-free ranker"):
        planted_recall(*args, rankers=["lca"])
    with pytest.raises(ValueError, match="X_dev must have the 30 columns"):
        planted_recall(X_train, y_train, X_dev[:, :5], y_dev, idx)
    with pytest.raises(ValueError, match="30 neuron labels for 29 columns"):
        planted_recall(X_train[:, :29], y_train, X_dev[:, :29], y_dev, idx)
