"""Rankings: NeuroX golden values, orderings, tidy frames, probe-free rankers."""

import numpy as np
import pandas as pd
import pytest

from neuronbook.neurons import neuron_index
from neuronbook.probe import ElasticNetProbe
from neuronbook.rank import (RANKERS, APRanker, IoURanker, LCARanker, ProbelessRanker, average_precision_scores,
                             bottom_neurons, bottom_ordering, get_ranker, iou_scores, neuron_ordering, neuron_scores,
                             ordering_from_scores, per_tag_ranking, probeless_scores, random_neurons, random_ordering,
                             ranking_frame, ranking_overlap, top_neurons)

RANKING_COLUMNS = ["rank", "layer", "neuron", "tag", "score"]


# -- golden values held by NeuroX's own tests ---------------------------------------------------

def test_top_neurons_golden():
    selected, per_class = top_neurons(np.array([[5, 1, 1], [1, 10, 1]]), 0.5)
    assert selected.tolist() == [0, 1]
    assert per_class[0].tolist() == [0]
    assert per_class[1].tolist() == [1]


def test_top_neurons_over_one_selects_all():
    selected, per_class = top_neurons(np.array([[10, 9, 8], [10, 2, 1]]), 1.1)
    assert selected.tolist() == [0, 1, 2]
    assert sorted(per_class[1].tolist()) == [0, 1, 2]


def test_bottom_neurons_golden():
    selected, per_class = bottom_neurons(np.array([[5, 4, 1], [10, 1, 1]]), 0.1)
    assert per_class[0].tolist() == [2]
    assert per_class[1].tolist() == [1, 2]
    assert selected.tolist() == [1, 2]


def test_neuron_ordering_golden():
    ordering, bounds = neuron_ordering(np.array([[4, 1, 5], [1, 1, 10]]))
    assert ordering.tolist() == [2, 0, 1]
    assert ordering[-1:].tolist() == [1]  # the one bottom neuron
    assert bounds[-1] == 3 and np.all(np.diff(bounds) > 0)


# -- semantics -------------------------------------------------------------------------------

def test_prefix_includes_first_position_reaching_the_mass():
    # class mass 10, cumsum 4, 7, 9, 10: 0.7 is reached exactly at the second neuron
    _, per = top_neurons([[4, 3, 2, 1]], 0.7)
    assert per[0].tolist() == [0, 1]
    _, per = top_neurons([[4, 3, 2, 1]], 0.71)
    assert per[0].tolist() == [0, 1, 2]


def test_sign_does_not_matter_and_names_key_the_dict():
    sel, per = top_neurons([[-5, 1, 1], [1, -10, 1]], 0.5, class_names=["NN", "VB"])
    assert sel.tolist() == [0, 1] and per["NN"].tolist() == [0] and per["VB"].tolist() == [1]
    with pytest.raises(ValueError, match="class names"):
        top_neurons([[1, 2]], 0.5, class_names=["a", "b"])


def test_ordering_chunks_follow_the_sweep():
    # class 0 puts 60% of its mass on neuron 3, class 1 puts 90% on neuron 0; neuron 1 has no weight
    W = np.array([[0.1, 0.0, 0.3, 0.6], [0.9, 0.0, 0.05, 0.05]])
    ordering, bounds = neuron_ordering(W, search_stride=10)
    assert sorted(ordering.tolist()) == [0, 1, 2, 3]
    assert set(ordering[:bounds[0]].tolist()) == {0, 3}  # each class's top neuron at percentage 0
    assert ordering[2] == 2  # needed by class 0 beyond 60%
    assert ordering[-1] == 1  # never selected: appended last
    chunks = ranking_frame(ordering, boundaries=bounds)["chunk"].tolist()
    assert chunks[:2] == [0, 0] and chunks == sorted(chunks)


def test_bottom_ordering_is_complete():
    ordering, _ = bottom_ordering(np.array([[4, 1, 5], [1, 1, 10]]))
    assert ordering.tolist() == [1, 0, 2]


def test_random_neurons_seeded_and_nested():
    a, b = random_neurons(100, 10, seed=3), random_neurons(100, 10, seed=3)
    assert a.tolist() == b.tolist() and len(set(a.tolist())) == 10
    assert random_neurons(100, 20, seed=3)[:10].tolist() == a.tolist()
    assert random_neurons(100, 10, seed=4).tolist() != a.tolist()
    assert sorted(random_ordering(7, 0).tolist()) == list(range(7))
    with pytest.raises(ValueError):
        random_neurons(5, 6)


def test_neuron_scores():
    assert neuron_scores([[3, 1], [1, 1]]).tolist() == [0.75, 0.5]
    assert neuron_scores([[0, 0]]).tolist() == [0.0, 0.0]  # no mass: no division by zero


def test_ranking_frame_maps_columns_to_layer_and_neuron():
    idx = pd.DataFrame({"layer": [0, 0, 0, 1, 1, 1], "neuron": [0, 1, 2, 0, 1, 2]})
    f = ranking_frame([4, 0, 5, 1, 2, 3], idx, scores=np.arange(6) / 10, tags=list("abcdef"))
    assert f.columns.tolist() == RANKING_COLUMNS  # no positional `column` leaves the package
    assert f["rank"].tolist() == [1, 2, 3, 4, 5, 6]
    assert f.loc[0, ["layer", "neuron", "tag"]].tolist() == [1, 1, "e"]
    assert f.loc[2, "score"] == pytest.approx(0.5)
    # a MultiIndex gives the same table as the equivalent layer/neuron table
    pd.testing.assert_frame_equal(ranking_frame([4, 0, 5, 1, 2, 3], neuron_index([0, 1], 3), scores=np.arange(6) / 10,
                                                tags=list("abcdef")), f)
    assert ranking_frame([1, 0])["tag"].tolist() == [None, None]
    with pytest.raises(ValueError, match="repeats"):
        ranking_frame([0, 0], idx)
    with pytest.raises(ValueError, match="only 1 neuron labels"):
        ranking_frame([0, 1], idx.head(2).iloc[:1])


def test_per_tag_ranking():
    f = per_tag_ranking([[5, 1, 1], [1, 10, 1]], ["A", "B"], percentage=0.5)
    assert f.columns.tolist() == ["tag", "rank", "layer", "neuron", "score"]
    assert f[["tag", "rank", "neuron"]].values.tolist() == [["A", 1, 0], ["B", 1, 1]]
    assert f["score"].tolist() == pytest.approx([5 / 7, 10 / 12])
    g = per_tag_ranking([[5, 1, 1], [1, 10, 1]], ["A", "B"], neuron_index([3], [7, 8, 9]))
    assert g[["tag", "layer", "neuron"]].values.tolist() == [["A", 3, 7], ["B", 3, 8]]


def test_ordering_from_scores_and_overlap():
    assert ordering_from_scores([0.1, 0.9, 0.5, 0.9]).tolist() == [1, 3, 2, 0]
    r = ranking_overlap([0, 1, 2, 3], [1, 5, 0, 2], 3)
    assert r == {"k": 3, "intersection": 2, "jaccard": 0.5, "overlap": pytest.approx(2 / 3)}
    # tables compare by (layer, neuron), whatever their column positions were
    a = ranking_frame([3, 2, 1, 0], neuron_index([0, 1], 2))  # (1,1), (1,0), (0,1), (0,0)
    b = ranking_frame([0, 1, 2, 3], pd.DataFrame({"layer": [1, 1, 0, 0], "neuron": [0, 1, 0, 1]}))
    assert ranking_overlap(a, b, 2)["jaccard"] == 1.0
    assert ranking_overlap(a, b, 1)["intersection"] == 0
    with pytest.raises(TypeError, match="not one of each"):
        ranking_overlap(a, [3, 2, 1, 0], 2)


# -- probe-free rankers ----------------------------------------------------------------------

def test_probeless_golden():
    # three tags with means 0, 1, 4 on neuron 0: pairwise |diffs| 1 + 4 + 3 = 8
    X = np.array([[0.0, 2.0], [1.0, 2.0], [4.0, 2.0], [0.0, 2.0]])
    overall, per_tag = probeless_scores(X, ["a", "b", "c", "a"])
    assert overall.tolist() == pytest.approx([8.0, 0.0])
    assert per_tag.columns.tolist() == ["tag", "layer", "neuron", "score"]
    s = per_tag.set_index(["tag", "neuron"])["score"]
    assert s[("c", 0)] == pytest.approx(4.0 - 1.0 / 3)  # mean of the others: (0 + 1 + 0) / 3
    assert s[("a", 1)] == 0.0


def test_iou_golden():
    X = np.array([[5.0], [0.0], [4.0], [0.0], [0.0]])
    overall, per = iou_scores(X, ["x", "y", "y", "y", "y"], quantile=0.5, two_sided=False)
    # fires (> median 0) on rows 0 and 2; tag x = {0}: IoU 1/2
    assert per.set_index("tag").loc["x", "score"] == pytest.approx(0.5)
    assert overall[0] == pytest.approx(0.5)


def test_average_precision_golden_and_two_sided():
    X = np.array([[0.0], [1.0], [2.0], [3.0]])
    _, per = average_precision_scores(X, ["b", "b", "a", "a"], two_sided=False)
    assert per.set_index("tag")["score"].to_dict() == pytest.approx({"a": 1.0, "b": (1 / 3 + 2 / 4) / 2})
    _, per2 = average_precision_scores(X, ["b", "b", "a", "a"], two_sided=True)
    assert per2.set_index("tag")["score"].to_dict() == pytest.approx({"a": 1.0, "b": 1.0})


# -- the ranker protocol ---------------------------------------------------------------------

def _planted(n=400, seed=0):
    """20 neurons over layers 0 and 1 (neuron numbers not 0..9); neuron (1, 3) carries the label."""
    rng = np.random.default_rng(seed)
    neurons = neuron_index([0, 1], [0, 2, 3, 5, 7, 8, 11, 13, 17, 19])
    z = rng.integers(0, 2, size=n)
    X = rng.normal(size=(n, 20))
    col = neurons.get_loc((1, 3))
    X[:, col] = 3.0 * z + 0.1 * rng.normal(size=n)
    return X, np.array(["NOUN", "VERB"])[z], neurons


FAST_LCA = {"estimator": ElasticNetProbe(l1=0, l2=0, epochs=30, lr=0.05, batch_size=None)}
# The IoU quantile must leave as many firing words as the tag has (about half of them here).
PARAMS = {"lca": FAST_LCA, "probeless": {}, "iou": {"quantile": 0.5}, "ap": {}}


def test_registry():
    assert RANKERS == {"lca": LCARanker, "probeless": ProbelessRanker, "iou": IoURanker, "ap": APRanker}
    assert all(cls.name == name for name, cls in RANKERS.items())
    r = get_ranker("iou", quantile=0.9)
    assert isinstance(r, IoURanker) and r.get_params() == {"quantile": 0.9, "two_sided": True}
    template = ElasticNetProbe(l1=0.1, l2=0.1)
    ranker = get_ranker("lca", estimator=template)
    assert ranker.estimator is template and ranker._probe() is not template and ranker._probe().l1 == 0.1


def test_get_ranker_errors_name_the_valid_choices():
    with pytest.raises(ValueError, match=r"unknown ranker 'gauss'; choose one of \['ap', 'iou', 'lca', 'probeless'\]"):
        get_ranker("gauss")
    with pytest.raises(TypeError, match=r"no parameter\(s\) \['quantil'\]; valid: \['quantile', 'two_sided'\]"):
        get_ranker("iou", quantil=0.5)
    with pytest.raises(TypeError, match=r"no parameter\(s\) \['l1'\]"):
        get_ranker("lca", l1=3)


@pytest.mark.parametrize("name", sorted(RANKERS))
def test_every_ranker_puts_the_planted_neuron_first(name):
    X, y, neurons = _planted()
    r = get_ranker(name, **PARAMS[name]).rank(X, y, neurons)
    assert r.columns.tolist() == RANKING_COLUMNS + (["chunk"] if name == "lca" else [])
    assert r["rank"].tolist() == list(range(1, 21))
    assert (int(r.loc[0, "layer"]), int(r.loc[0, "neuron"])) == (1, 3)
    # every label comes from `neurons`, each exactly once
    assert sorted(zip(r["layer"], r["neuron"])) == sorted(neurons.tolist())
    assert r.loc[0, "tag"] in {"NOUN", "VERB"}
    if name != "lca":  # LCA orders by sweep chunk first, the score only breaks ties inside a chunk
        assert r["score"].is_monotonic_decreasing
    else:
        assert r["chunk"].is_monotonic_increasing


def test_probeless_ranker_golden_values():
    # tag means: neuron 0: a=0, b=2 -> |diff| 2; neuron 1 constant -> 0
    X = np.array([[0., 1.], [0., 1.], [2., 1.], [2., 1.]])
    r = ProbelessRanker().rank(X, ["a", "a", "b", "b"])
    assert r[["layer", "neuron"]].values.tolist() == [[0, 0], [0, 1]]
    assert r["score"].tolist() == [2.0, 0.0]
    assert r["tag"].tolist() == ["a", "a"]  # |q(a) - q(b)| = |q(b) - q(a)|: ties go to the first tag


def test_lca_ranker_learns_probe_state():
    X, y, neurons = _planted()
    ranker = LCARanker(**FAST_LCA)
    r = ranker.rank(X, y, neurons)
    assert ranker.coef_.shape == (2, 20) and ranker.classes_.tolist() == ["NOUN", "VERB"]
    assert ranker.probe_.coef_ is ranker.coef_
    col = neurons.get_loc((1, 3))
    assert r.loc[0, "score"] == pytest.approx(neuron_scores(ranker.coef_)[col])


def test_labelled_frame_gives_the_same_table():
    X, y, neurons = _planted()
    frame = pd.DataFrame(X, columns=neurons)
    for name in ("probeless", "ap"):
        ranker = get_ranker(name)
        pd.testing.assert_frame_equal(ranker.rank(frame, y), ranker.rank(X, y, neurons))
    pd.testing.assert_frame_equal(get_ranker("probeless").rank(frame, y, neurons),
                                  get_ranker("probeless").rank(X, y, neurons))


def test_rank_input_errors():
    X, y, neurons = _planted()
    with pytest.raises(ValueError, match="one label per word"):
        ProbelessRanker().rank(X, y[:-1], neurons)
    with pytest.raises(ValueError, match="19 neuron labels for 20 columns"):
        ProbelessRanker().rank(X, y, neurons[:19])
    with pytest.raises(ValueError, match="names other neurons"):
        ProbelessRanker().rank(pd.DataFrame(X, columns=neurons), y, neuron_index([0, 2], 10))
    with pytest.raises(ValueError, match="MultiIndex"):
        ProbelessRanker().rank(pd.DataFrame(X), y)
    # without labels: one layer 0, neuron = column
    r = ProbelessRanker().rank(X, y)
    assert set(r["layer"]) == {0} and (int(r.loc[0, "neuron"])) == neurons.get_loc((1, 3))


def test_zero_mass_classes_select_nothing():
    # row "WP$" is all zero: before, the sweep's tie-broken argmax made it "select" neuron 0 at every step
    from neuronbook.rank import neuron_ordering, per_tag_ranking, top_neurons, zero_mass_classes

    W = np.array([[0.0, 0.0, 0.0, 0.0], [0.0, 1.0, 3.0, 0.0], [0.0, 0.0, 1.0, 2.0]])
    tags = ["WP$", "NN", "VB"]
    assert zero_mass_classes(W, tags) == ["WP$"]
    sel, per = top_neurons(W, 0.5, tags)
    assert per["WP$"].tolist() == [] and per["NN"].tolist() == [2] and per["VB"].tolist() == [3]
    assert sel.tolist() == [2, 3]
    ordering, bounds = neuron_ordering(W, search_stride=4)
    # neuron 0 has no weight anywhere: it comes last, never in an early chunk
    assert ordering.tolist()[-1] == 0 and ordering.tolist()[:2] == [2, 3]
    table = per_tag_ranking(W, tags, percentage=0.5)
    assert set(table["tag"]) == {"NN", "VB"}
