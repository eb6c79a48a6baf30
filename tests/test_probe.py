"""ElasticNetProbe: planted signal, reproducibility, labels, penalties, errors."""

import numpy as np
import pytest

from neuronbook.exceptions import UnseenLabelsWarning
from neuronbook.probe import ElasticNetProbe, encode_labels
from neuronbook.rank import neuron_ordering

FAST = {"epochs": 15, "batch_size": 64, "lr": 1e-2}


def planted(n=1500, d=40, seed=0):
    """Labels decided by neurons 7, 19 and 31 only; the others are noise."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)).astype(np.float32)
    X[:, 5] *= 50.0  # an outlier dimension (BERT has some): large but uninformative
    score = np.stack([X[:, 7], X[:, 19], -X[:, 31], np.zeros(n)], axis=1)
    y = np.array(["A", "B", "C", "D"])[score.argmax(axis=1)]
    return X, y


def test_planted_neurons_rank_first():
    X, y = planted()
    probe = ElasticNetProbe(l1=1e-3, l2=1e-3, **FAST).fit(X[:1200], y[:1200])
    assert probe.classes_.tolist() == ["A", "B", "C", "D"]
    assert probe.coef_.shape == (4, 40) and probe.intercept_.shape == (4,)
    ordering, _ = neuron_ordering(probe.coef_)
    assert set(ordering[:3].tolist()) == {7, 19, 31}
    assert probe.score(X[1200:], y[1200:]) > 0.85
    # each planted neuron weighs most for its own class
    assert np.abs(probe.coef_[0]).argmax() == 7 and np.abs(probe.coef_[1]).argmax() == 19
    assert probe.coef_[2, 31] > 0 > probe.coef_[2, 7] or np.abs(probe.coef_[2]).argmax() == 31


def test_l1_gives_exact_zeros_and_bias_is_free():
    X, y = planted()
    # a penalty far above any gradient: every weight is zero, the bias alone learns the priors
    probe = ElasticNetProbe(l1=10.0, l2=0.0, epochs=30, batch_size=500, lr=5e-2).fit(X, y)
    assert np.all(probe.coef_ == 0)
    prior = np.array([np.mean(y == c) for c in probe.classes_])
    assert probe.predict_proba(X[:3]) == pytest.approx(np.tile(prior, (3, 1)), abs=0.02)
    sparse = ElasticNetProbe(l1=3e-2, l2=0.0, **FAST).fit(X, y)
    assert (sparse.coef_ == 0).mean() > 0.5  # noise neurons are switched off exactly
    assert np.all(sparse.coef_[:, [7, 19]].any(axis=0))


def test_same_seed_same_weights_other_seed_differs():
    X, y = planted(n=400)
    a = ElasticNetProbe(seed=1, **FAST).fit(X, y).coef_
    b = ElasticNetProbe(seed=1, **FAST).fit(X, y).coef_
    c = ElasticNetProbe(seed=2, **FAST).fit(X, y).coef_
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)


def test_standardization_makes_weights_scale_free():
    X, y = planted(n=400)
    X2 = X.copy()
    X2[:, 7] *= 1000.0
    X2[:, 19] += 500.0
    a = ElasticNetProbe(**FAST).fit(X, y)
    b = ElasticNetProbe(**FAST).fit(X2, y)
    assert b.coef_ == pytest.approx(a.coef_, abs=1e-4)
    assert b.scale_[7] == pytest.approx(1000 * a.scale_[7], rel=1e-5)
    raw = ElasticNetProbe(standardize=False, **FAST).fit(X, y)
    assert np.all(raw.mean_ == 0) and np.all(raw.scale_ == 1)


def test_unseen_labels_count_as_errors():
    X, y = planted(n=600)
    probe = ElasticNetProbe(**FAST).fit(X, y)
    y_test = y[:100].astype(object)
    y_test[:10] = "NEW"
    full = probe.score(X[:100], y[:100])
    with pytest.warns(UnseenLabelsWarning, match="10 of 100 words .*unseen in training.*NEW=10"):
        acc = probe.score(X[:100], y_test)
    correct_rest = np.mean(probe.predict(X[10:100]) == y[10:100]) * 90
    assert acc == pytest.approx(correct_rest / 100)
    assert acc <= full - 0.1 + 1e-9 or full < 0.1
    assert probe.unseen_labels(y_test).to_dict() == {"NEW": 10}


def test_integer_labels_and_class_order():
    X, _ = planted(n=300)
    y = np.where(X[:, 7] > 0, 10, 2)
    probe = ElasticNetProbe(**FAST).fit(X, y)
    assert probe.classes_.tolist() == [2, 10]
    assert set(np.unique(probe.predict(X)).tolist()) <= {2, 10}
    assert encode_labels(np.array([10, 3, 2]), probe.classes_).tolist() == [1, -1, 0]


def test_validation_keeps_best_epoch_and_history():
    X, y = planted(n=800)
    probe = ElasticNetProbe(epochs=6, batch_size=64, lr=1e-2, patience=2).fit(X[:600], y[:600], X[600:], y[600:])
    h = probe.history_
    assert h.columns.tolist() == ["epoch", "loss", "val_accuracy"]
    assert 1 <= probe.best_epoch_ <= len(h) <= 6
    assert h["val_accuracy"].max() == pytest.approx(probe.score(X[600:], y[600:]))


def test_adam_solver_and_coef_override():
    X, y = planted(n=600)
    probe = ElasticNetProbe(solver="adam", **FAST).fit(X, y)
    assert probe.score(X, y) > 0.85
    zero = np.zeros_like(probe.coef_)
    # without weights every word gets the class with the largest bias
    assert set(probe.predict(X, coef=zero).tolist()) == {probe.classes_[probe.intercept_.argmax()]}


def test_errors():
    X, y = planted(n=100)
    with pytest.raises(ValueError, match="one label per row"):
        ElasticNetProbe().fit(X, y[:50])
    with pytest.raises(ValueError, match="2-D"):
        ElasticNetProbe().fit(X[:, 0], y)
    bad = X.copy()
    bad[3, 4] = np.nan
    with pytest.raises(ValueError, match="row 3, column 4"):
        ElasticNetProbe().fit(bad, y)
    with pytest.raises(RuntimeError, match="not fitted"):
        ElasticNetProbe().predict(X)
    probe = ElasticNetProbe(epochs=1).fit(X, y)
    with pytest.raises(ValueError, match="10 features but the probe was fitted on 40"):
        probe.predict(X[:, :10])
    with pytest.raises(ValueError, match="solver"):
        ElasticNetProbe(solver="sgd").fit(X, y)
    with pytest.raises(ValueError, match="unknown parameter"):
        probe.set_params(alpha=1)


def test_init_only_stores_arguments():
    p = ElasticNetProbe(l1=0.5, l2=0.25, epochs=3)
    assert p.get_params()["l1"] == 0.5 and not hasattr(p, "coef_")
    assert "l2=0.25" in repr(p)


@pytest.mark.parametrize("name, value", [("l1", float("nan")), ("l2", -1.0), ("lr", 0.0), ("lr", float("inf"))])
def test_bad_penalties_are_errors(name, value):
    X = np.zeros((4, 2), np.float32)
    with pytest.raises(ValueError, match=f"ElasticNetProbe.{name}="):
        ElasticNetProbe(**{name: value}).fit(X, ["a", "b", "a", "b"])


def test_diverging_loss_is_an_error():
    X = np.array([[1e30, -1e30], [-1e30, 1e30]] * 4, np.float32)
    with pytest.raises(FloatingPointError, match="training loss became"):
        ElasticNetProbe(standardize=False, lr=1e30, epochs=3, batch_size=2, device="cpu").fit(X, ["a", "b"] * 4)
