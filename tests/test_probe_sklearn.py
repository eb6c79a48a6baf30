"""ElasticNetProbe under scikit-learn: parameters, clone, the not-fitted contract, a grid search."""

import pickle

import numpy as np
import pytest

sklearn = pytest.importorskip("sklearn")

from sklearn.base import clone, is_classifier  # noqa: E402
from sklearn.exceptions import NotFittedError as SklearnNotFittedError  # noqa: E402
from sklearn.model_selection import GridSearchCV, StratifiedKFold  # noqa: E402
from sklearn.utils.validation import check_is_fitted  # noqa: E402

from neuronbook.exceptions import NotFittedError  # noqa: E402
from neuronbook.probe import ElasticNetProbe  # noqa: E402

SETTINGS = {"l1": 0.0, "l2": 0.0, "epochs": 20, "batch_size": 50, "lr": 5e-2, "device": "cpu", "seed": 3}


def toy(n=400, seed=0):
    """Two classes split by a plane through neurons 1 and 3 (separable); neurons 0, 2, 4 are noise."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 5)).astype(np.float32)
    return X, np.where(X[:, 1] + 0.5 * X[:, 3] > 0, "pos", "neg")


def test_get_params_deep_and_set_params():
    p = ElasticNetProbe(**SETTINGS)
    deep, shallow = p.get_params(deep=True), p.get_params(deep=False)
    assert deep == shallow == {**ElasticNetProbe().get_params(), **SETTINGS}  # no parameter is an estimator
    assert list(deep) == ["l1", "l2", "epochs", "batch_size", "lr", "standardize", "seed", "device", "patience",
                          "solver", "progress", "warm_start"]
    assert p.set_params(l1=1e-3, epochs=2) is p and (p.l1, p.epochs) == (1e-3, 2)
    with pytest.raises(ValueError, match=r"unknown parameter 'alpha' for ElasticNetProbe; valid parameters: \['batch"):
        p.set_params(l1=5.0, alpha=1)
    assert p.l1 == 1e-3  # nothing was set by the rejected call
    assert is_classifier(p)


def test_clone_is_unfitted_with_identical_params(monkeypatch):
    X, y = toy(200)
    p = ElasticNetProbe(**{**SETTINGS, "device": None, "patience": 4}).fit(X, y)
    calls = []
    own = ElasticNetProbe.__sklearn_clone__
    monkeypatch.setattr(ElasticNetProbe, "__sklearn_clone__", lambda self: calls.append(self) or own(self))
    c = clone(p)
    assert calls == [p]  # sklearn's clone went through the probe's own __sklearn_clone__
    assert type(c) is ElasticNetProbe and c is not p
    assert c.get_params(deep=True) == p.get_params(deep=True)
    assert "coef_" not in vars(c) and not hasattr(c, "coef_")
    with pytest.raises(SklearnNotFittedError):
        check_is_fitted(c)
    check_is_fitted(p)
    # the clone trains to the same weights as the original (same parameters, same seed)
    assert np.array_equal(c.fit(X, y).coef_, p.coef_)


@pytest.mark.parametrize("use", ["predict", "predict_proba", "decision_function", "score", "unseen_labels", "coef_",
                                 "classes_", "n_features_in_"])
def test_unfitted_use_is_a_not_fitted_error(use):
    X, y = toy(20)
    p = ElasticNetProbe()
    calls = {"predict": lambda: p.predict(X), "predict_proba": lambda: p.predict_proba(X),
             "decision_function": lambda: p.decision_function(X), "score": lambda: p.score(X, y),
             "unseen_labels": lambda: p.unseen_labels(y)}
    with pytest.raises(SklearnNotFittedError, match="not fitted") as caught:
        calls[use]() if use in calls else getattr(p, use)
    # neuronbook's own class, a ValueError and an AttributeError like scikit-learn's
    assert isinstance(caught.value, NotFittedError)
    assert isinstance(caught.value, ValueError) and isinstance(caught.value, AttributeError)
    again = pickle.loads(pickle.dumps(caught.value))  # e.g. from a worker process
    assert type(again) is type(caught.value) and str(again) == str(caught.value)


def test_check_is_fitted_sees_the_fitted_attributes():
    X, y = toy(200)
    p = ElasticNetProbe(**SETTINGS)
    with pytest.raises(SklearnNotFittedError):
        check_is_fitted(p)
    assert not hasattr(p, "coef_") and not hasattr(p, "history_")
    p.fit(X, y)
    check_is_fitted(p)
    check_is_fitted(p, ["coef_", "intercept_", "classes_", "mean_", "scale_", "n_features_in_"])
    with pytest.raises(AttributeError, match="no attribute 'coef'"):  # other names: a plain AttributeError
        p.coef


def test_grid_search_chooses_the_best_mean_score():
    X, y = toy()
    grid = [0.0, 1e-3, 10.0]  # 10: far above every gradient, all weights zero (the bias alone)
    search = GridSearchCV(ElasticNetProbe(**SETTINGS), {"l1": grid}, cv=2).fit(X, y)
    res = search.cv_results_
    # cv=2 for a classifier is StratifiedKFold(2) without shuffling: the same folds fitted by hand
    folds = list(StratifiedKFold(2).split(X, y))
    by_hand = np.array([[ElasticNetProbe(**{**SETTINGS, "l1": l1}).fit(X[tr], y[tr]).score(X[te], y[te])
                         for tr, te in folds] for l1 in grid])
    assert res["split0_test_score"] == pytest.approx(by_hand[:, 0], abs=1e-12)
    assert res["split1_test_score"] == pytest.approx(by_hand[:, 1], abs=1e-12)
    assert res["mean_test_score"] == pytest.approx(by_hand.mean(axis=1), abs=1e-12)
    best = int(np.argmax(by_hand.mean(axis=1)))  # first of any ties, as GridSearchCV ranks them
    assert search.best_params_ == {"l1": grid[best]} and search.best_score_ == pytest.approx(by_hand[best].mean())
    # sane values: the two small penalties learn the plane, the huge one predicts the majority class
    assert grid[best] != 10.0
    assert np.all(by_hand[:2] > 0.95)
    majority = [max(np.mean(y[te] == "pos"), np.mean(y[te] == "neg")) for _, te in folds]
    assert by_hand[2] == pytest.approx(majority, abs=0.01)
    # refit on all words with the chosen penalty, fitted, and its weights find neurons 1 and 3
    final = search.best_estimator_
    check_is_fitted(final)
    assert final.l1 == grid[best] and set(np.argsort(-np.abs(final.coef_).sum(axis=0))[:2].tolist()) == {1, 3}
    assert final.score(X, y) > 0.95
