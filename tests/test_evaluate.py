"""Evaluation: grid, oracle, minimal set, ablation, selectivity, regularisation search, layer tables."""

import numpy as np
import pandas as pd
import pytest

from neuronbook.evaluate import (DEFAULT_REGULARIZATION_GRID, PERCENT_GRID, ablation, make_probe, minimal_set,
                                 n_for_percent, oracle, search_regularization, selectivity)
from neuronbook.exceptions import TargetNotReachedWarning, UnseenLabelsWarning

FAST = {"epochs": 12, "batch_size": 64, "lr": 1e-2}


def planted(n=1200, d=50, seed=0):
    """Four tags decided by neurons 3 and 11; the other neurons are noise."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)).astype(np.float32)
    y = np.array(["a", "b", "c", "d"])[(X[:, 3] > 0) * 2 + (X[:, 11] > 0)]
    return X[: n // 2], y[: n // 2], X[n // 2: 3 * n // 4], y[n // 2: 3 * n // 4], X[3 * n // 4:], y[3 * n // 4:]


GOOD = [3, 11] + [j for j in range(50) if j not in (3, 11)]


def test_percent_grid():
    assert PERCENT_GRID[:3] == (0.1, 0.2, 0.3) and PERCENT_GRID[9] == 1.0
    assert PERCENT_GRID[10:19] == (2, 3, 4, 5, 6, 7, 8, 9, 10)
    assert PERCENT_GRID[19:27] == (15, 20, 25, 30, 35, 40, 45, 50)
    assert PERCENT_GRID[27:] == (60, 70, 80, 90)
    assert n_for_percent(2688, 10) == 269 and n_for_percent(2688, 0.1) == 3 and n_for_percent(10, 0.1) == 1
    assert (0.0, 0.0) in DEFAULT_REGULARIZATION_GRID


def test_oracle_reports_each_split():
    Xtr, ytr, Xdv, ydv, Xte, yte = planted()
    probe, acc = oracle(Xtr, ytr, Xdv, ydv, Xte, yte, l1=1e-3, l2=1e-3, probe_params=FAST)
    assert acc["split"].tolist() == ["train", "dev", "test"]
    assert acc["n_neurons"].tolist() == [50, 50, 50]
    assert acc.loc[2, "accuracy"] == pytest.approx(probe.score(Xte, yte))
    assert acc["accuracy"].min() > 0.75  # four quadrants from two of 50 neurons, 600 training words


def test_minimal_set_stops_at_the_planted_pair():
    Xtr, ytr, Xdv, ydv, Xte, yte = planted()
    probe, acc = oracle(Xtr, ytr, Xdv, ydv, l1=1e-3, l2=1e-3, probe_params=FAST)
    s, curve = minimal_set(GOOD, Xtr, ytr, Xdv, ydv, Xte, yte, oracle_accuracy=acc.loc[1, "accuracy"],
                           delta=0.02, percents=(2, 4, 10, 50), l1=1e-3, l2=1e-3, probe_params=FAST)
    # 2% of 50 = 1 neuron cannot separate four tags; 4% = the two planted neurons can
    assert s["reached"] and s["n_neurons"] == 2 and s["percent"] == 4.0 and s["columns"] == [3, 11]
    assert curve["n_neurons"].unique().tolist() == [1, 2]
    assert curve.columns.tolist() == ["selection", "method", "percent", "n_neurons", "split", "accuracy"]
    one = curve[(curve.n_neurons == 1) & (curve.split == "dev")]["accuracy"].iloc[0]
    assert 0.35 < one < 0.65  # one of two binary features: about half the words


def test_minimal_set_unreached_reports_all():
    Xtr, ytr, Xdv, ydv, _, _ = planted()
    with pytest.warns(TargetNotReachedWarning, match="no prefix of up to 4% .* all 50 neurons"):
        s, curve = minimal_set(GOOD[::-1], Xtr, ytr, Xdv, ydv, oracle_accuracy=1.0, delta=0.0, percents=(2, 4),
                               l1=0, l2=0, probe_params=FAST)
    assert not s["reached"] and s["n_neurons"] == 50 and np.isnan(s["dev_accuracy"])
    assert set(curve["split"]) == {"dev"}


def test_ablation_top_random_bottom_and_zero_out():
    Xtr, ytr, Xdv, ydv, Xte, yte = planted()
    probe = make_probe(1e-3, 1e-3, FAST).fit(Xtr, ytr)
    t = ablation(GOOD, Xtr, ytr, Xte, yte, probe=probe, percents=(4,), l1=1e-3, l2=1e-3, probe_params=FAST, seed=0)
    assert len(t) == 6 and set(t["method"]) == {"retrain", "zero-out"}
    acc = t.set_index(["method", "selection"])["accuracy"]
    assert acc[("retrain", "top")] > 0.9 and acc[("retrain", "bottom")] < 0.45
    # zeroing every weight but the two planted neurons keeps the oracle's decisions
    W = np.zeros_like(probe.coef_)
    W[:, [3, 11]] = probe.coef_[:, [3, 11]]
    assert acc[("zero-out", "top")] == pytest.approx(np.mean(probe.predict(Xte, coef=W) == yte))
    assert acc[("zero-out", "top")] > 0.9
    with pytest.raises(ValueError, match="oracle probe"):
        ablation(GOOD, Xtr, ytr, Xte, yte, methods=("zero-out",))


def test_selectivity_task_beats_control():
    Xtr, ytr, Xdv, ydv, Xte, yte = planted()
    rng = np.random.default_rng(1)
    ctr, cte = rng.choice(list("abcd"), len(ytr)), rng.choice(list("abcd"), len(yte))
    t = selectivity(Xtr, ytr, ctr, Xte, yte, cte, selections={"all": None, "top": [3, 11]}, l1=1e-3, l2=1e-3,
                    probe_params=FAST)
    assert t["selection"].tolist() == ["all", "top"] and t["n_neurons"].tolist() == [50, 2]
    assert np.allclose(t["selectivity"], t["task_accuracy"] - t["control_accuracy"])
    assert (t["control_accuracy"] < 0.4).all() and (t["selectivity"] > 0.5).all()


def test_search_regularization_criterion():
    Xtr, ytr, Xdv, ydv, _, _ = planted()
    grid = [(0.0, 0.0), (1e-3, 1e-3), (10.0, 10.0)]
    table, best = search_regularization(Xtr, ytr, Xdv, ydv, grid=grid, percent=4, probe_params=FAST)
    assert table[["l1", "l2"]].values.tolist() == [[0, 0], [1e-3, 1e-3], [10, 10]]
    # a huge penalty zeroes the probe: not close to the unregularised accuracy, so never chosen
    assert not table.loc[2, "eligible"] and np.isnan(table.loc[2, "top"])
    assert table["chosen"].sum() == 1 and best != (10.0, 10.0)
    row = table[table["chosen"]].iloc[0]
    assert row["gap"] == pytest.approx(row["top"] - max(row["random"], row["bottom"]))
    assert row["gap"] == table.loc[table["eligible"], "gap"].max() and row["top"] > 0.9
    with pytest.raises(ValueError, match="empty"):
        search_regularization(Xtr, ytr, Xdv, ydv, grid=[])


def test_search_subsamples_training_words():
    Xtr, ytr, Xdv, ydv, _, _ = planted()
    table, _ = search_regularization(Xtr, ytr, Xdv, ydv, grid=[(1e-3, 1e-3)], percent=4, probe_params=FAST,
                                     max_train=200)
    assert table.loc[0, "eligible"] and table.loc[0, "chosen"]
    assert table.loc[0, "n_train"] == 200 and len(Xtr) > 200
    full, _ = search_regularization(Xtr, ytr, Xdv, ydv, grid=[(1e-3, 1e-3)], percent=4, probe_params=FAST)
    assert full.loc[0, "n_train"] == len(Xtr)
    # the subsample changes what the probe saw, so its dev accuracy differs from the full fit's
    assert table.loc[0, "dev_accuracy"] != full.loc[0, "dev_accuracy"]


def test_unseen_test_labels_warn():
    Xtr, ytr, Xdv, ydv, _, _ = planted()
    probe = make_probe(0, 0, FAST).fit(Xtr, ytr)
    y = np.asarray(ydv).copy().astype(object)
    y[:3] = "NEW"
    with pytest.warns(UnseenLabelsWarning, match=r"3 of \d+ words .* NEW=3"):
        acc = probe.score(Xdv, y.astype(str))
    assert acc <= 1 - 3 / len(y)
