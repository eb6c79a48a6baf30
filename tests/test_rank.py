"""Rankings: NeuroX golden values, orderings, tidy frames, probe-free rankers."""

import numpy as np
import pandas as pd
import pytest

from neuronbook.rank import (average_precision_scores, bottom_neurons, bottom_ordering, iou_scores, neuron_ordering,
                             neuron_scores, ordering_from_scores, per_tag_ranking, probeless_scores, random_neurons,
                             random_ordering, ranking_frame, ranking_overlap, top_neurons)


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


def test_ranking_frame_maps_flat_columns_to_layers():
    idx = pd.DataFrame({"layer": [0, 0, 0, 1, 1, 1], "neuron": [0, 1, 2, 0, 1, 2]})
    f = ranking_frame([4, 0, 5, 1, 2, 3], idx, scores=np.arange(6) / 10, tags=list("abcdef"))
    assert f.columns.tolist()[:6] == ["rank", "column", "layer", "neuron", "tag", "score"]
    assert f["rank"].tolist() == [1, 2, 3, 4, 5, 6]
    assert f.loc[0, ["layer", "neuron", "tag"]].tolist() == [1, 1, "e"]
    assert f.loc[2, "score"] == pytest.approx(0.5)
    with pytest.raises(ValueError, match="repeats"):
        ranking_frame([0, 0], idx)
    with pytest.raises(ValueError, match="rows"):
        ranking_frame([0, 1], idx.head(2).iloc[:1])


def test_per_tag_ranking():
    f = per_tag_ranking([[5, 1, 1], [1, 10, 1]], ["A", "B"], percentage=0.5)
    assert f[["tag", "rank", "column"]].values.tolist() == [["A", 1, 0], ["B", 1, 1]]
    assert f["score"].tolist() == pytest.approx([5 / 7, 10 / 12])


def test_ordering_from_scores_and_overlap():
    assert ordering_from_scores([0.1, 0.9, 0.5, 0.9]).tolist() == [1, 3, 2, 0]
    r = ranking_overlap([0, 1, 2, 3], [1, 5, 0, 2], 3)
    assert r == {"k": 3, "intersection": 2, "jaccard": 0.5, "overlap": pytest.approx(2 / 3)}
    frame = ranking_frame([3, 2, 1, 0])
    assert ranking_overlap(frame, [3, 2, 0, 1], 2)["jaccard"] == 1.0


# -- probe-free rankers ----------------------------------------------------------------------

def test_probeless_golden():
    # three tags with means 0, 1, 4 on neuron 0: pairwise |diffs| 1 + 4 + 3 = 8
    X = np.array([[0.0, 2.0], [1.0, 2.0], [4.0, 2.0], [0.0, 2.0]])
    overall, per_tag = probeless_scores(X, ["a", "b", "c", "a"])
    assert overall.tolist() == pytest.approx([8.0, 0.0])
    s = per_tag.set_index(["tag", "column"])["score"]
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
