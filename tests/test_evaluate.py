"""Evaluation: grid, oracle, minimal set, ablation, selectivity, regularisation search, layer tables."""

import numpy as np
import pandas as pd
import pytest

import neuronbook.evaluate as ev
from neuronbook.evaluate import (DEFAULT_REGULARIZATION_GRID, PERCENT_GRID, ablation, ablation_variants,
                                 baseline_seeds, baseline_summary, layer_matched_neurons, minimal_set,
                                 n_for_percent, oracle, random_baselines, search_regularization, selectivity)
from neuronbook.probe import ElasticNetProbe, masked_accuracies, predict_many
from neuronbook.rank import random_neurons
from neuronbook.exceptions import TargetNotReachedWarning, UnseenLabelsWarning

FAST = {"epochs": 12, "batch_size": 64, "lr": 1e-2}


def with_weights(probe, W):
    """A copy of a fitted probe with other weights (e.g. some neurons' zeroed): the zero-out reference."""
    import copy

    other = copy.copy(probe)
    other.coef_ = np.asarray(W, np.float32)
    return other


def est(l1, l2, params=FAST, seed=0):
    """The unfitted probe the verbs copy (what ``LCAConfig.make_probe`` builds)."""
    return ElasticNetProbe(l1=l1, l2=l2, seed=seed, **params)


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
    probe, acc = oracle(Xtr, ytr, Xdv, ydv, Xte, yte, estimator=est(1e-3, 1e-3))
    assert acc["split"].tolist() == ["train", "dev", "test"]
    assert acc["n_neurons"].tolist() == [50, 50, 50]
    assert acc.loc[2, "accuracy"] == pytest.approx(probe.score(Xte, yte))
    assert acc["accuracy"].min() > 0.75  # four quadrants from two of 50 neurons, 600 training words


def test_minimal_set_stops_at_the_planted_pair():
    Xtr, ytr, Xdv, ydv, Xte, yte = planted()
    probe, acc = oracle(Xtr, ytr, Xdv, ydv, estimator=est(1e-3, 1e-3))
    s = minimal_set(GOOD, Xtr, ytr, Xdv, ydv, Xte, yte, oracle_accuracy=acc.loc[1, "accuracy"],
                    delta=0.02, percents=(2, 4, 10, 50), estimator=est(1e-3, 1e-3))
    curve = s.curve
    # 2% of 50 = 1 neuron cannot separate four tags; 4% = the two planted neurons can
    assert s.reached and s.n_neurons == 2 and s.percent == 4.0 and s.columns == [3, 11]
    assert s.table().columns.tolist() == ["n_neurons", "percent", "dev_accuracy", "test_accuracy", "target", "reached"]
    assert sorted(s.probes) == [1, 2] and s.probes[2].coef_.shape == (4, 2) and s.bootstrap is None
    assert curve["n_neurons"].unique().tolist() == [1, 2]
    assert curve.columns.tolist() == ["selection", "method", "percent", "n_neurons", "split", "accuracy"]
    one = curve[(curve.n_neurons == 1) & (curve.split == "dev")]["accuracy"].iloc[0]
    assert 0.35 < one < 0.65  # one of two binary features: about half the words


def test_minimal_set_unreached_reports_all():
    Xtr, ytr, Xdv, ydv, _, _ = planted()
    with pytest.warns(TargetNotReachedWarning, match="no prefix of up to 4% .* all 50 neurons"):
        s = minimal_set(GOOD[::-1], Xtr, ytr, Xdv, ydv, oracle_accuracy=1.0, delta=0.0, percents=(2, 4),
                        estimator=est(0, 0))
    assert not s.reached and s.n_neurons == 50 and np.isnan(s.dev_accuracy)
    assert set(s.curve["split"]) == {"dev"}


def test_ablation_top_random_bottom_and_zero_out():
    Xtr, ytr, Xdv, ydv, Xte, yte = planted()
    probe = est(1e-3, 1e-3).fit(Xtr, ytr)
    t = ablation(GOOD, Xtr, ytr, Xte, yte, probe=probe, percents=(4,), estimator=est(1e-3, 1e-3), seed=0)
    assert len(t) == 6 and set(t["method"]) == {"retrain", "zero-out"}
    acc = t.set_index(["method", "selection"])["accuracy"]
    assert acc[("retrain", "top")] > 0.9 and acc[("retrain", "bottom")] < 0.45
    # zeroing every weight but the two planted neurons keeps the oracle's decisions
    W = np.zeros_like(probe.coef_)
    W[:, [3, 11]] = probe.coef_[:, [3, 11]]
    assert acc[("zero-out", "top")] == pytest.approx(np.mean(with_weights(probe, W).predict(Xte) == yte))
    assert acc[("zero-out", "top")] > 0.9
    with pytest.raises(ValueError, match="oracle probe"):
        ablation(GOOD, Xtr, ytr, Xte, yte, methods=("zero-out",))


def test_selectivity_task_beats_control():
    Xtr, ytr, Xdv, ydv, Xte, yte = planted()
    rng = np.random.default_rng(1)
    ctr, cte = rng.choice(list("abcd"), len(ytr)), rng.choice(list("abcd"), len(yte))
    t = selectivity(Xtr, ytr, ctr, Xte, yte, cte, selections={"all": None, "top": [3, 11]}, estimator=est(1e-3, 1e-3))
    assert t["selection"].tolist() == ["all", "top"] and t["n_neurons"].tolist() == [50, 2]
    assert np.allclose(t["selectivity"], t["task_accuracy"] - t["control_accuracy"])
    assert (t["control_accuracy"] < 0.4).all() and (t["selectivity"] > 0.5).all()


def test_search_regularization_criterion():
    Xtr, ytr, Xdv, ydv, _, _ = planted()
    grid = [(0.0, 0.0), (1e-3, 1e-3), (10.0, 10.0)]
    found = search_regularization(Xtr, ytr, Xdv, ydv, grid=grid, percent=4, estimator=est(0, 0), criterion="gap")
    table, best = found.table, found.best
    assert found.best_probe is found.probes[best] and sorted(found.probes) == grid
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
    table = search_regularization(Xtr, ytr, Xdv, ydv, grid=[(1e-3, 1e-3)], percent=4, estimator=est(0, 0),
                                  max_train=200).table
    assert table.loc[0, "eligible"] and table.loc[0, "chosen"]
    assert table.loc[0, "n_train"] == 200 and len(Xtr) > 200
    full = search_regularization(Xtr, ytr, Xdv, ydv, grid=[(1e-3, 1e-3)], percent=4, estimator=est(0, 0)).table
    assert full.loc[0, "n_train"] == len(Xtr)
    # the subsample changes what the probe saw, so its dev accuracy differs from the full fit's
    assert table.loc[0, "dev_accuracy"] != full.loc[0, "dev_accuracy"]


def test_unseen_test_labels_warn():
    Xtr, ytr, Xdv, ydv, _, _ = planted()
    probe = est(0, 0).fit(Xtr, ytr)
    y = np.asarray(ydv).copy().astype(object)
    y[:3] = "NEW"
    with pytest.warns(UnseenLabelsWarning, match=r"3 of \d+ words .* NEW=3"):
        acc = probe.score(Xdv, y.astype(str))
    assert acc <= 1 - 3 / len(y)


# -- baselines with intervals, ablation variants, the one-SE rule --------------------------------------------------

LAYERS = np.arange(50) // 10  # five "layers" of ten neurons: planted neurons 3 (layer 0) and 11 (layer 1)


def test_baseline_seeds_are_fresh_and_reproducible():
    seeds = baseline_seeds(0, 5)
    assert len(set(seeds)) == 5 and 0 not in seeds and seeds == baseline_seeds(0, 5)
    assert baseline_seeds(1, 5) != seeds
    # an excluded seed is skipped and the next candidate takes its place
    assert baseline_seeds(0, 5, exclude=[seeds[0]]) == seeds[1:] + baseline_seeds(0, 6)[5:]
    with pytest.raises(ValueError, match="at least 1"):
        baseline_seeds(0, 0)


def test_layer_matched_neurons_keep_per_layer_counts():
    sel = [3, 11, 12, 45]  # layers 0, 1, 1, 4
    draws = [layer_matched_neurons(sel, LAYERS, seed=s) for s in range(6)]
    for cols in draws:
        assert len(set(cols.tolist())) == 4
        assert np.bincount(LAYERS[cols], minlength=5).tolist() == [1, 2, 0, 0, 1]
    assert len({tuple(c) for c in draws}) > 1  # seeded, not fixed


def test_random_baselines_on_planted_data():
    Xtr, ytr, _, _, Xte, yte = planted()
    probe = est(1e-3, 1e-3).fit(Xtr, ytr)
    t = random_baselines(GOOD, Xtr, ytr, Xte, yte, neurons=LAYERS, k=2, n_draws=3, probe=probe, estimator=est(1e-3, 1e-3), seed=0)
    assert t.columns.tolist() == ["baseline", "method", "variant", "draw", "seed", "n_neurons", "accuracy"]
    assert len(t) == 2 * 2 * 3 and (t["n_neurons"] == 2).all()
    assert t[["baseline", "method"]].drop_duplicates().values.tolist() == [
        ["random", "retrain"], ["random", "zero-out"], ["layer-matched random", "retrain"],
        ["layer-matched random", "zero-out"]]
    seeds = baseline_seeds(0, 3)
    assert t["seed"].tolist() == seeds * 4 and t["draw"].tolist() == [0, 1, 2] * 4
    # each zero-out row is the oracle with only that draw's weights
    for _, row in t[t.method == "zero-out"].iterrows():
        cols = (random_neurons(50, 2, row["seed"]) if row["baseline"] == "random"
                else layer_matched_neurons([3, 11], LAYERS, row["seed"]))
        if row["baseline"] != "random":
            assert LAYERS[cols].tolist() == [0, 1]
        W = np.zeros_like(probe.coef_)
        W[:, cols] = probe.coef_[:, cols]
        assert row["accuracy"] == pytest.approx(np.mean(with_weights(probe, W).predict(Xte) == yte))
    # two random neurons of 50 miss the planted pair: far below the top pair's > 0.9
    assert t.loc[t.baseline == "random", "accuracy"].max() < 0.7
    with pytest.raises(ValueError, match="oracle probe"):
        random_baselines(GOOD, Xtr, ytr, Xte, yte, neurons=LAYERS, k=2)
    with pytest.raises(ValueError, match="layer of every column"):
        random_baselines(GOOD, Xtr, ytr, Xte, yte, k=2, methods=("retrain",))
    with pytest.raises(ValueError, match="of the 50 columns"):
        random_baselines(GOOD, Xtr, ytr, Xte, yte, neurons=LAYERS[:10], k=2, methods=("retrain",))


def test_baseline_summary_hand_computed():
    draws = pd.DataFrame({"baseline": ["random"] * 3 + ["layer-matched random"] * 3 + ["random"],
                          "method": ["retrain"] * 6 + ["zero-out"],
                          "accuracy": [0.80, 0.84, 0.88, 0.89, 0.90, 0.91, 0.5]})
    s = baseline_summary({"retrain": 0.90, "zero-out": 0.7}, draws).set_index(["baseline", "method"])
    r = s.loc[("random", "retrain")]
    # mean 0.84, sd 0.04, se 0.04 / sqrt(3); t(0.975, 2 df) = 4.302653
    assert r["n_draws"] == 3 and r["mean"] == pytest.approx(0.84) and r["sd"] == pytest.approx(0.04)
    assert r["difference"] == pytest.approx(0.06) and r["se"] == pytest.approx(0.04 / np.sqrt(3))
    half = 4.302653 * 0.04 / np.sqrt(3)
    assert r["ci_low"] == pytest.approx(0.06 - half, abs=1e-6) and r["ci_high"] == pytest.approx(0.06 + half,
                                                                                                  abs=1e-6)
    lm = s.loc[("layer-matched random", "retrain")]
    assert lm["difference"] == pytest.approx(0.0, abs=1e-12) and lm["sd"] == pytest.approx(0.01)
    one = s.loc[("random", "zero-out")]  # one draw: a difference, no interval
    assert one["difference"] == pytest.approx(0.2) and np.isnan(one["sd"]) and np.isnan(one["ci_low"])
    assert baseline_summary(0.9, draws.iloc[:3], confidence=0.5)["ci_high"].iloc[0] == pytest.approx(
        0.06 + 0.816497 * 0.04 / np.sqrt(3), abs=1e-6)
    with pytest.raises(ValueError, match="no top accuracy for method 'zero-out'"):
        baseline_summary({"retrain": 0.9}, draws)


def test_ablation_variants_on_planted_data():
    Xtr, ytr, Xdv, ydv, Xte, yte = planted()
    probe = est(1e-3, 1e-3).fit(Xtr, ytr)
    t = ablation_variants(GOOD, Xtr, ytr, Xte, yte, probe=probe, percents=(4,), X_dev=Xdv, y_dev=ydv)
    assert t.columns.tolist() == ["percent", "selection", "variant", "fill", "n_neurons", "split", "accuracy"]
    assert len(t) == 3 * 2 * 2 * 2 and (t["n_neurons"] == 2).all()
    acc = t[t.split == "test"].set_index(["selection", "variant", "fill"])["accuracy"]
    for fill in ("mean", "zero"):
        assert acc[("top", "keep-selected", fill)] > 0.9       # the planted pair alone keeps the accuracy
        assert acc[("top", "remove-selected", fill)] < 0.45    # removing it leaves about chance (4 tags)
        # removing two noise neurons costs about nothing (the oracle itself overfits the noise: ~0.82)
        assert abs(acc[("bottom", "remove-selected", fill)] - probe.score(Xte, yte)) < 0.03
    # keep-selected with the training mean is ablation's zero-out, row for row
    ab = ablation(GOOD, Xtr, ytr, Xte, yte, probe=probe, percents=(4,), methods=("zero-out",)).set_index(
        "selection")["accuracy"]
    for sel in ("top", "random", "bottom"):
        assert acc[(sel, "keep-selected", "mean")] == ab[sel]


def test_ablation_variants_zero_fill_is_raw_zero():
    Xtr, ytr, _, _, Xte, yte = planted()
    Xtr, Xte = Xtr.copy(), Xte.copy()
    Xtr[:, [3, 11]] += 5  # planted neurons far from 0: standardisation removes the shift, raw zero does not
    Xte[:, [3, 11]] += 5
    probe = est(1e-3, 1e-3).fit(Xtr, ytr)
    t = ablation_variants(GOOD, Xtr, ytr, Xte, yte, probe=probe, percents=(4,), selections=("top",),
                          variants=("remove-selected",))
    acc = t.set_index("fill")["accuracy"]
    # raw 0 is five standard deviations below both planted neurons' mean: every word looks like tag "a"
    assert acc["zero"] == pytest.approx(np.mean(yte == "a"))
    # the training mean is the oracle with the planted weights zeroed
    W = probe.coef_.copy()
    W[:, [3, 11]] = 0
    assert acc["mean"] == with_weights(probe, W).score(Xte, yte)
    # without standardisation "mean" replaces the raw activations by their training mean (5 for the planted pair)
    raw = est(1e-3, 1e-3, {**FAST, "standardize": False}).fit(Xtr, ytr)
    t = ablation_variants(GOOD, Xtr, ytr, Xte, yte, probe=raw, percents=(4,), selections=("top",))
    acc = t.set_index(["variant", "fill"])["accuracy"]
    Xm = Xte.copy()
    Xm[:, [3, 11]] = Xtr[:, [3, 11]].mean(axis=0, dtype=np.float64)
    assert acc[("remove-selected", "mean")] == raw.score(Xm, yte)
    Xk = Xte.copy()
    Xk[:, [j for j in range(50) if j not in (3, 11)]] = Xtr.mean(axis=0, dtype=np.float64)[
        [j for j in range(50) if j not in (3, 11)]]
    assert acc[("keep-selected", "mean")] == raw.score(Xk, yte)
    with pytest.raises(ValueError, match="unknown fill 'nan'"):
        ablation_variants(GOOD, Xtr, ytr, Xte, yte, probe=probe, fill=("nan",))
    with pytest.raises(ValueError, match="oracle probe"):
        ablation_variants(GOOD, Xtr, ytr, Xte, yte, probe=None)


class _GridProbe:
    """A stand-in probe whose accuracies are a hand-built grid: column j of X holds the value j."""

    DEV = {0.0: 0.90, 1e-4: 0.92, 1e-3: 0.91, 1e-2: 0.85}  # all-neuron dev accuracy per penalty
    TOP = {0.0: 0.6, 1e-4: 0.8, 1e-3: 0.7, 1e-2: 0.5}      # dev accuracy of a subset holding neuron 0

    def __init__(self, l1=0.0, l2=0.0):
        self.l1, self.l2 = l1, l2

    def get_params(self, deep=True):
        return {"l1": self.l1, "l2": self.l2}

    def fit(self, X, y):
        self.cols = np.asarray(X[0]).round().astype(int)
        self.coef_ = np.tile(np.linspace(1.0, 0.05, X.shape[1]), (2, 1))  # neuron 0 first, neuron d-1 last
        return self

    def score(self, X, y):
        if len(self.cols) == 20:
            return self.DEV[self.l1]
        return self.TOP[self.l1] if 0 in self.cols else 0.5


def test_search_regularization_one_se_differs_from_gap():
    X = np.tile(np.arange(20, dtype=np.float32), (400, 1))
    y = np.zeros(400, int)
    grid = [(v, v) for v in (0.0, 1e-4, 1e-3, 1e-2)]
    found = search_regularization(X, y, X, y, estimator=_GridProbe(), grid=grid, percent=10, seed=0, criterion="gap")
    gap, best_gap = found.table, found.best
    # gap: within 0.02 of (0, 0)'s 0.90 are 0, 1e-4, 1e-3; top - max(random, bottom) = 0.1, 0.3, 0.2
    assert gap["eligible"].tolist() == [True, True, True, False]
    assert gap["gap"].iloc[:3].round(6).tolist() == [0.1, 0.3, 0.2] and best_gap == (1e-4, 1e-4)
    assert "se" not in gap.columns
    found = search_regularization(X, y, X, y, estimator=_GridProbe(), grid=grid, percent=10, seed=0,
                                  criterion="one_se")
    se_t, best_se = found.table, found.best
    # best 0.92 on 400 dev words: se = sqrt(0.92 * 0.08 / 400) = 0.013565; within it: 1e-4 and 1e-3
    assert se_t["se"].iloc[0] == pytest.approx(np.sqrt(0.92 * 0.08 / 400))
    assert se_t["eligible"].tolist() == [False, True, True, False]
    assert best_se == (1e-3, 1e-3) and se_t["chosen"].tolist() == [False, False, True, False]
    assert se_t["gap"].isna().all() and se_t.columns.tolist()[:-1] == gap.columns.tolist()
    with pytest.raises(ValueError, match="unknown criterion 'best'"):
        search_regularization(X, y, X, y, grid=grid, criterion="best")


def test_minimal_set_fine_grid_between_last_miss_and_first_hit():
    # y needs neurons 0, 1 and 2: 1 neuron (10 %) misses, 5 (50 %) hit; the fine sizes 2..4 find 3
    rng = np.random.default_rng(1)
    X = rng.normal(size=(3000, 10)).astype(np.float32)
    y = (X[:, 0] + X[:, 1] + X[:, 2] > 0).astype(int)
    kw = dict(estimator=est(0, 0, {"epochs": 15, "lr": 1e-2, "batch_size": 64}))
    coarse = minimal_set(list(range(10)), X[:2000], y[:2000], X[2000:], y[2000:], oracle_accuracy=0.99,
                         delta=0.02, percents=(10, 50), fine_steps=0, **kw)
    fine = minimal_set(list(range(10)), X[:2000], y[:2000], X[2000:], y[2000:], oracle_accuracy=0.99,
                       delta=0.02, percents=(10, 50), fine_steps=4, **kw)
    f_curve = fine.curve
    assert coarse.n_neurons == 5 and fine.n_neurons == 3 and fine.reached
    # 10 %, then 18, 26, 34, 42 % (2, 3, 3, 4 neurons; 3 only once), then 50 %
    assert sorted(f_curve.loc[f_curve["split"] == "dev", "n_neurons"].tolist()) == [1, 2, 3, 4, 5]
    assert fine.columns == [0, 1, 2]


def test_bootstrap_sizes_hand_checked():
    # sizes 1 and 3: size 1 is right on sentence 0 only, size 3 everywhere; the oracle is right everywhere
    correct = np.array([[1, 1, 0, 0], [1, 1, 1, 1]], bool)
    groups = np.array([0, 0, 1, 1])
    out = ev._bootstrap_sizes(correct, np.array([1, 3]), 10, 4, groups, np.ones(4, bool), 1.0, 0.0, 400, 0)
    s = out["summary"]
    # a resample passes at size 1 only if it drew sentence 0 twice (probability 1/4)
    assert s["size_low"] == 1 and s["size_high"] == 3 and s["size_median"] == 3 and s["share_not_reached"] == 0
    assert out["acc_low"].tolist() == [0.0, 1.0] and out["acc_high"].tolist() == [1.0, 1.0]
    # nothing ever reaches a target above every accuracy: all neurons, and counted as not reached
    never = ev._bootstrap_sizes(correct[:1], np.array([1]), 10, 4, groups, None, 1.0, 0.0, 50, 0)["summary"]
    assert never["size_median"] == 10 and 0 < never["share_not_reached"] <= 1


def test_minimal_set_bootstrap_columns():
    Xtr, ytr, Xdv, ydv, Xte, yte = planted()
    probe, acc = oracle(Xtr, ytr, Xdv, ydv, estimator=est(1e-3, 1e-3))
    ms = minimal_set(GOOD, Xtr, ytr, Xdv, ydv, Xte, yte, oracle_accuracy=acc.loc[1, "accuracy"], delta=0.02,
                     percents=(2, 4, 10, 50), estimator=est(1e-3, 1e-3), bootstrap=100,
                     groups=np.arange(len(ydv)) // 5, oracle_correct=probe.predict(Xdv) == ydv)
    s, curve = ms.bootstrap, ms.curve
    assert ms.n_neurons == 2 and s["n_bootstrap"] == 100 and ms.table().loc[0, "n_bootstrap"] == 100
    assert s["size_low"] <= s["size_median"] <= s["size_high"]
    dev = curve[curve["split"] == "dev"]
    assert (dev["ci_low"] <= dev["accuracy"] + 1e-12).all() and (dev["ci_high"] >= dev["accuracy"] - 1e-12).all()
    assert curve.loc[curve["split"] == "test", "ci_low"].isna().all()


def test_random_baselines_remove_selected_variant():
    Xtr, ytr, Xdv, ydv, Xte, yte = planted()
    probe = est(1e-3, 1e-3).fit(Xtr, ytr)
    t = random_baselines(GOOD, Xtr, ytr, Xte, yte, neurons=np.zeros(50, int), k=2, n_draws=3, probe=probe,
                         methods=("zero-out",), variants=("keep-selected", "remove-selected"), seed=0)
    keep = t[t["variant"] == "keep-selected"].reset_index(drop=True)
    remove = t[t["variant"] == "remove-selected"].reset_index(drop=True)
    # same draws; removing 2 random neurons of 50 rarely hits 3 and 11, keeping 2 random ones rarely does
    assert (keep["seed"] == remove["seed"]).all() and (keep["n_neurons"] == 2).all()
    for (_, k), (_, r) in zip(keep.iterrows(), remove.iterrows()):
        cols = ev.random_neurons(50, 2, k["seed"]) if k["baseline"] == "random" else None
        if cols is not None:
            W = np.zeros_like(probe.coef_); W[:, cols] = probe.coef_[:, cols]
            assert k["accuracy"] == pytest.approx(with_weights(probe, W).score(Xte, yte))
            W = probe.coef_.copy(); W[:, cols] = 0
            assert r["accuracy"] == pytest.approx(with_weights(probe, W).score(Xte, yte))
    summary = baseline_summary({("zero-out", "keep-selected"): 0.9, ("zero-out", "remove-selected"): 0.3}, t)
    assert summary["variant"].tolist() == ["keep-selected", "remove-selected"] * 2
    assert summary.loc[1, "difference"] == pytest.approx(0.3 - remove.loc[remove["baseline"] == "random",
                                                                          "accuracy"].mean())


def test_ablation_random_is_not_the_search_subset():
    # the gap search draws random_neurons(n, k, seed); ablation's random set must be another draw
    Xtr, ytr, Xdv, ydv, Xte, yte = planted()
    t = ablation(GOOD, Xtr, ytr, Xte, yte, methods=("retrain",), percents=(10,), estimator=est(1e-3, 1e-3), seed=0)
    k = n_for_percent(50, 10)
    fresh = ev.random_ordering(50, baseline_seeds(0, 1)[0])[:k]
    assert set(fresh.tolist()) != set(random_neurons(50, k, 0).tolist())
    sub = est(1e-3, 1e-3).fit(Xtr[:, fresh], ytr)
    assert t.set_index("selection").loc["random", "accuracy"] == pytest.approx(sub.score(Xte[:, fresh], yte))


def test_missing_neurons_scored_in_one_pass_equal_refilled_inputs():
    """Each job's accuracy is the probe's on inputs whose missing neurons were overwritten by their fill."""
    X, y, _, _, Xt, yt = planted(n=1200)
    probe = est(0, 0, {"epochs": 10, "lr": 1e-2, "batch_size": 32}).fit(X, y)
    rng = np.random.default_rng(0)
    fills = {"mean": None, "zero": np.zeros(X.shape[1]), "other": rng.normal(size=X.shape[1])}
    jobs = [(rng.choice(X.shape[1], k, replace=False), keep, name) for k in (1, 5, 20) for keep in (True, False)
            for name in fills]
    got = masked_accuracies(probe, Xt, yt, [(c, keep, fills[f]) for c, keep, f in jobs])
    for (cols, keep, name), acc in zip(jobs, got):
        missing = np.ones(X.shape[1], bool)
        missing[cols] = False
        if not keep:
            missing = ~missing
        fill = probe.mean_.astype(np.float64) if fills[name] is None else fills[name]
        Xm = Xt.copy()
        Xm[:, missing] = fill[missing]
        assert acc == pytest.approx(probe.score(Xm, yt), abs=1.5 / len(yt))  # at most one near-tie flips


def test_predictions_of_many_probes_in_one_pass():
    X, y, _, _, Xt, yt = planted(n=1200)
    sets = [None, [3, 1], [11, 3, 2]]  # the probe's predict_many, with evaluate's accuracies on top
    probes = [est(1e-3, 1e-3, {"epochs": 10, "lr": 1e-2, "batch_size": 32}).fit(X if c is None else X[:, c], y)
              for c in sets]
    preds = predict_many(list(zip(probes, sets)), Xt)
    for p, c, pred in zip(probes, sets, preds):
        assert np.array_equal(p.classes_[pred], p.predict(Xt if c is None else Xt[:, c]))
    accs = ev._accuracies(list(zip(probes, sets)), Xt, yt)
    assert accs == [pytest.approx(p.score(Xt if c is None else Xt[:, c], yt)) for p, c in zip(probes, sets)]
    assert accs[2] > 0.9 > accs[1]  # neurons 3 and 11 decide the tags


def test_fit_many_runs_side_by_side_and_keeps_order():
    import threading

    X, y = planted(n=1200)[:2]
    seen = set()

    def job(seed):
        seen.add(threading.get_ident())
        return est(1e-3, 1e-3, {"epochs": 2}, seed=seed).fit(X, y)

    together = ev.fit_many([lambda s=s: job(s) for s in range(4)], n_jobs=2)
    alone = [est(1e-3, 1e-3, {"epochs": 2}, seed=s).fit(X, y) for s in range(4)]
    assert len(seen) == 2  # two worker threads
    for a, b in zip(together, alone):  # one torch thread each: the same fit as alone
        assert np.allclose(a.coef_, b.coef_, rtol=1e-5, atol=1e-7)
    assert ev.fit_many([lambda: 1, lambda: 2], n_jobs=1) == [1, 2]


def test_choose_penalty_tolerance_takes_the_sparsest_within_it():
    # dev accuracies of the issue-22 sweep (xpos, MiniLM-L6, seed 0)
    t = pd.DataFrame({"l1": [0, 1e-4, 1e-3, 1e-2], "l2": [0, 1e-4, 1e-3, 1e-2],
                      "dev_accuracy": [0.938, 0.929, 0.932, 0.816]})
    table, best = ev.choose_penalty(t, "tolerance", tolerance=0.01)
    assert best == (1e-3, 1e-3)  # 0.6 points below the best: the largest penalty within 1 point
    assert table["eligible"].tolist() == [True, True, True, False] and table["chosen"].tolist() == [0, 0, 1, 0]
    assert list(table.columns) == list(ev.SEARCH_COLUMNS) and table["nonzero"].isna().all()
    assert ev.choose_penalty(t, "tolerance", tolerance=0.005)[1] == (0.0, 0.0)  # 1e-3 is 0.6 below: out
    assert ev.choose_penalty(t, "tolerance", tolerance=0.2)[1] == (1e-2, 1e-2)
    # one SE of 0.938 on 2,400 words is 0.49 points: only the unpenalised probe
    se_table, se_best = ev.choose_penalty(t, "one_se", n_dev=2400)
    assert se_best == (0.0, 0.0) and se_table["se"].iloc[0] == pytest.approx(np.sqrt(0.938 * 0.062 / 2400))
    assert t.columns.tolist() == ["l1", "l2", "dev_accuracy"]  # the input is not modified
    with pytest.raises(ValueError, match="needs n_dev"):
        ev.choose_penalty(t, "one_se")
    with pytest.raises(ValueError, match="top/random/bottom"):
        ev.choose_penalty(t, "gap")
    with pytest.raises(ValueError, match="unknown criterion 'sparse'"):
        ev.choose_penalty(t, "sparse")


def test_search_table_reports_the_share_of_non_zero_weights():
    Xtr, ytr, Xdv, ydv, _, _ = planted()
    found = search_regularization(Xtr, ytr, Xdv, ydv, grid=[(0.0, 0.0), (3e-2, 3e-2)], estimator=est(0, 0),
                                  criterion="tolerance", tolerance=0.05)
    table, fitted = found.table, found.probes
    for (l1, l2), share in zip(table[["l1", "l2"]].itertuples(index=False), table["nonzero"]):
        coef = fitted[(l1, l2)].coef_
        assert share == pytest.approx(np.count_nonzero(coef) / coef.size)
    assert table.loc[0, "nonzero"] == 1.0 and table.loc[1, "nonzero"] < 0.5


def test_zero_out_fills_the_training_mean_without_standardisation():
    rng = np.random.default_rng(4)
    X = rng.normal(size=(600, 6)).astype(np.float32)
    X[:, 3] += 40.0  # a neuron far from 0: a raw-0 fill moves the logits by 40 x its weight
    y = np.where(X[:, 0] + 0.5 * (X[:, 3] - 40) > 0, "A", "B")
    probe = est(0, 0, dict(FAST, standardize=False)).fit(X[:400], y[:400])
    order = [0, 1, 2, 3, 4, 5]
    t = ablation(order, X[:400], y[:400], X[400:], y[400:], probe=probe, percents=[50], methods=("zero-out",))
    top = float(t.loc[t["selection"] == "top", "accuracy"].iloc[0])
    by_hand = X[400:].copy()
    by_hand[:, 3:] = X[:400, 3:].mean(axis=0)  # top 50 % keeps columns 0-2; the rest at their training mean
    assert top == pytest.approx(probe.score(by_hand, y[400:]))
    raw = X[400:].copy()
    raw[:, 3:] = 0.0
    assert probe.score(raw, y[400:]) != pytest.approx(top)  # what the raw 0 gave before
    drawn = random_baselines(order, X[:400], y[:400], X[400:], y[400:], k=3, n_draws=2, layer_matched=False,
                             methods=("zero-out",), probe=probe)
    for _, row in drawn.iterrows():
        cols = random_neurons(6, 3, int(row["seed"]))
        filled = X[400:].copy()
        rest = np.setdiff1d(np.arange(6), cols)
        filled[:, rest] = X[:400, rest].mean(axis=0)
        assert row["accuracy"] == pytest.approx(probe.score(filled, y[400:]))
