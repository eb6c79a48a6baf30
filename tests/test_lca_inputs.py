"""lca_from_arrays refuses inputs that cannot make sense before any fit: shapes and label types (issue 21)."""

import numpy as np
import pytest

from neuronbook.config import LCAConfig
from neuronbook.lca import lca_from_arrays

CONFIG = LCAConfig(model="toy", data="synthetic", task="pos", l1=1e-3, percents=[50], ablation_percents=[],
                   n_draws=0, bootstrap=0, epochs=2, batch_size=64)


@pytest.fixture
def no_fit(monkeypatch):
    import neuronbook.evaluate as ev

    def fail(*a, **k):
        raise AssertionError("a probe was fitted")

    for name in ("oracle", "search_regularization", "minimal_set"):
        monkeypatch.setattr(ev, name, fail)


def _small(n=300, seed=1):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 6)).astype(np.float32)
    return X, np.where(X[:, 2] > 0, "A", "B")


def _run(parts, **kw):
    args = [a for name in ("train", "dev", "test") for a in parts[name]]
    return lca_from_arrays(*args, config=CONFIG, progress=False, **kw)


def _parts(X, y, y_train=None, y_dev=None, y_test=None):
    return {"train": (X[:200], y[:200] if y_train is None else y_train),
            "dev": (X[200:250], y[200:250] if y_dev is None else y_dev),
            "test": (X[250:], y[250:] if y_test is None else y_test)}


@pytest.mark.parametrize("split, other", [("dev", "test"), ("test", "dev")])
def test_numeric_train_labels_against_string_labels_are_refused(no_fit, split, other):
    X, y = _small()
    codes = (y == "A").astype(np.int64)  # integer training labels ...
    parts = _parts(X, y, y_train=codes[:200], **{f"y_{other}": codes[200:250] if other == "dev" else codes[250:]})
    with pytest.raises(ValueError, match=rf"train labels are numbers \((0, 1|1, 0), \.\.\.\) but {split} labels are "
                                         rf"strings \('[AB]', '[AB]', \.\.\.\): no {split} label can equal a train"):
        _run(parts, control=False)


def test_string_train_labels_against_numeric_test_labels_are_refused(no_fit):
    X, y = _small()
    parts = _parts(X, y, y_test=(y[250:] == "A").astype(float))
    with pytest.raises(ValueError, match=r"train labels are strings .* but test labels are numbers \("):
        _run(parts, control=False)
    obj = np.array([1, 0] * 25, dtype=object)  # an object array of numbers is numbers too
    with pytest.raises(ValueError, match=r"but dev labels are numbers"):
        _run(_parts(X, y, y_dev=obj), control=False)


def test_control_labels_of_two_types_are_refused(no_fit):
    X, y = _small()
    with pytest.raises(ValueError, match=r"control train labels are strings .* but control test labels are numbers"):
        _run(_parts(X, y), control=(y[:200], np.zeros(50, np.int64)))


def test_one_label_type_in_every_split_passes_the_check():
    from neuronbook.lca.pipeline import _check_label_kinds

    _check_label_kinds(train=np.array([0, 1]), dev=np.array([1.0, 0.0]), test=[True, False])  # numbers all
    _check_label_kinds(train=np.array(["A"]), dev=np.array(["B"], dtype=object), test=np.array([], dtype=str))
    _check_label_kinds(train=np.array(["A", 1], dtype=object), test=np.array([1, 2]))  # mixed: left to the probe


@pytest.mark.parametrize("split", ["train", "dev", "test"])
def test_one_dimensional_activations_name_the_split_and_shape(no_fit, split):
    X, y = _small()
    parts = _parts(X, y)
    Xs, ys = parts[split]
    parts[split] = (Xs[:, 0], ys)
    with pytest.raises(ValueError, match=rf"{split} activations must be 2-D \(words x neurons\), got shape "
                                         rf"\({len(Xs)},\); a single neuron is X\[:, \[j\]\]"):
        _run(parts, control=False)


def test_three_dimensional_activations_and_2d_labels_are_refused(no_fit):
    X, y = _small()
    parts = _parts(X, y)
    parts["test"] = (X[250:, :, None], y[250:])
    with pytest.raises(ValueError, match=r"test activations must be 2-D .*got shape \(50, 6, 1\)$"):
        _run(parts, control=False)
    parts = _parts(X, y, y_dev=y[200:250, None])
    with pytest.raises(ValueError, match=r"dev labels must be 1-D .*got shape \(50, 1\)"):
        _run(parts, control=False)


def test_probe_fit_names_the_shape_of_1d_X():
    from neuronbook.probe import ElasticNetProbe

    X, y = _small()
    with pytest.raises(ValueError, match=r"must be a 2-D array \(words x neurons\), got shape \(300,\)"):
        ElasticNetProbe(epochs=1).fit(X[:, 0], y)
