"""Neuron rankings: LCA (probe weights, NeuroX semantics) and probe-free baselines.

All functions are pure numpy.  Weight matrices are ``(n_classes, n_neurons)``;
neurons are flat column indices (``column = layer * n_neurons_per_layer + neuron``,
layer-major, as in :meth:`ActivationStore.neuron_index`).

LCA selection (Durrani et al.; identical to NeuroX):

* per class ``c``: sort neurons by ``|W[c]|`` descending and keep the prefix up to
  and including the first position where the cumulative sum reaches
  ``percentage * sum|W[c]|`` (if none reaches it, e.g. ``percentage > 1``, keep all);
* the top set is the union over classes;
* the global ordering sweeps ``percentage`` from 0 to 1 in ``search_stride`` steps
  and appends the neurons that newly appear; the chunk boundaries are kept.

Ties in ``|W|`` are broken by the lower neuron index first (stable sort), so results are
reproducible.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = [
    "top_neurons",
    "bottom_neurons",
    "random_neurons",
    "random_ordering",
    "neuron_ordering",
    "bottom_ordering",
    "neuron_scores",
    "neuron_tags",
    "ranking_frame",
    "per_tag_ranking",
    "probeless_scores",
    "iou_scores",
    "average_precision_scores",
    "ordering_from_scores",
    "ranking_overlap",
]


def _weights(W):
    W = np.abs(np.asarray(W, dtype=np.float64))
    if W.ndim == 1:
        W = W[None, :]
    if W.ndim != 2:
        raise ValueError(f"W must be (n_classes, n_neurons), got shape {W.shape}")
    return W


def _class_keys(n, class_names):
    if class_names is None:
        return list(range(n))
    class_names = list(class_names)
    if len(class_names) != n:
        raise ValueError(f"{len(class_names)} class names for {n} rows of W")
    return class_names


def _select(W, percentage, class_names, ascending):
    A = _weights(W)
    per_class = {}
    for key, row in zip(_class_keys(len(A), class_names), A):
        order = np.argsort(row if ascending else -row, kind="stable")
        cum = np.cumsum(row[order])
        hit = np.nonzero(cum >= percentage * row.sum())[0]
        stop = hit[0] + 1 if hit.size else len(order)
        per_class[key] = order[:stop]
    selected = np.unique(np.concatenate(list(per_class.values()))) if per_class else np.zeros(0, int)
    return selected, per_class


def top_neurons(W, percentage=0.5, class_names=None):
    """Neurons that hold ``percentage`` of each class's absolute weight mass.

    Parameters
    ----------
    W : array-like, shape (n_classes, n_neurons)
        Probe weights (e.g. ``ElasticNetProbe.coef_``).
    percentage : float
        Fraction of each class's ``sum |W[c]|`` to cover.
    class_names : sequence, optional
        Keys of the per-class dict (default: row indices).

    Returns
    -------
    selected : numpy.ndarray
        Sorted union over classes.
    per_class : dict
        Class -> neurons in descending ``|W[c]|`` order.

    Examples
    --------
    >>> sel, per = top_neurons([[5, 1, 1], [1, 10, 1]], 0.5)
    >>> sel.tolist(), per[0].tolist(), per[1].tolist()
    ([0, 1], [0], [1])
    """
    return _select(W, percentage, class_names, ascending=False)


def bottom_neurons(W, percentage=0.5, class_names=None):
    """Like :func:`top_neurons` on the ascending sort (the least-weighted neurons per class).

    Examples
    --------
    >>> sel, per = bottom_neurons([[5, 4, 1], [10, 1, 1]], 0.1)
    >>> per[0].tolist(), per[1].tolist()
    ([2], [1, 2])
    """
    return _select(W, percentage, class_names, ascending=True)


def random_ordering(n_neurons, seed=0):
    """A seeded random permutation of ``range(n_neurons)``; its prefixes are nested random sets.

    Examples
    --------
    >>> sorted(random_ordering(5, seed=1).tolist())
    [0, 1, 2, 3, 4]
    """
    return np.random.default_rng(seed).permutation(int(n_neurons))


def random_neurons(n_neurons, k, seed=0):
    """``k`` distinct neurons out of ``n_neurons``, drawn with ``seed`` (the prefix of :func:`random_ordering`).

    Examples
    --------
    >>> len(set(random_neurons(100, 10, seed=0).tolist()))
    10
    """
    if not 0 <= k <= n_neurons:
        raise ValueError(f"k must be between 0 and n_neurons={n_neurons}, got {k}")
    return random_ordering(n_neurons, seed)[: int(k)]


def neuron_scores(W):
    """Per-neuron salience: the largest share of any class's weight mass, ``max_c |W[c,j]| / sum|W[c]|``.

    Used to order neurons inside a chunk of the sweep and as the ``score`` column.

    Examples
    --------
    >>> neuron_scores([[3, 1], [1, 1]]).tolist()
    [0.75, 0.5]
    """
    return _mass_shares(W).max(axis=0)


def neuron_tags(W, class_names):
    """Per neuron, the class whose weight mass it holds the largest share of (the ``tag`` column).

    Examples
    --------
    >>> neuron_tags([[3, 1], [1, 3]], ["A", "B"]).tolist()
    ['A', 'B']
    """
    return np.asarray(class_names)[_mass_shares(W).argmax(axis=0)]


def _mass_shares(W):
    """``|W[c, j]| / sum_j |W[c, j]|``: each neuron's share of each class's weight mass (0 for a zero row)."""
    A = _weights(W)
    mass = A.sum(axis=1, keepdims=True)
    return A / np.where(mass > 0, mass, 1.0)


def _sweep(W, search_stride, ascending):
    A = _weights(W)
    n = A.shape[1]
    score = neuron_scores(A)
    if ascending:
        score = -score
    seen = np.zeros(n, bool)
    ordering, boundaries = [], []
    for p in np.linspace(0.0, 1.0, int(search_stride) + 1):
        selected, _ = _select(A, p, None, ascending)
        new = selected[~seen[selected]]
        if new.size:
            # inside a chunk, the order is not part of the method; use the salience for stability
            new = new[np.argsort(-score[new], kind="stable")]
            seen[new] = True
            ordering.extend(new.tolist())
            boundaries.append(len(ordering))
    rest = np.nonzero(~seen)[0]
    if rest.size:  # e.g. neurons with zero weight everywhere: never reached by the sweep
        ordering.extend(rest[np.argsort(-score[rest], kind="stable")].tolist())
        boundaries.append(len(ordering))
    return np.asarray(ordering, dtype=np.int64), np.asarray(boundaries, dtype=np.int64)


def neuron_ordering(W, search_stride=100):
    """Global LCA ordering of all neurons, most salient first.

    Parameters
    ----------
    W : array-like, shape (n_classes, n_neurons)
    search_stride : int
        Number of steps of the percentage sweep from 0 to 1.

    Returns
    -------
    ordering : numpy.ndarray
        Every neuron exactly once.
    boundaries : numpy.ndarray
        Cumulative chunk ends: ``ordering[boundaries[i-1]:boundaries[i]]`` entered together.

    Examples
    --------
    >>> ordering, bounds = neuron_ordering([[4, 1, 5], [1, 1, 10]])
    >>> ordering.tolist(), ordering[-1:].tolist()
    ([2, 0, 1], [1])
    """
    return _sweep(W, search_stride, ascending=False)


def bottom_ordering(W, search_stride=100):
    """The sweep of :func:`neuron_ordering` over :func:`bottom_neurons` (least-weighted first).

    Note that a neuron can be in a class's bottom set while it matters for another
    class; for "the least salient neurons" use the tail of :func:`neuron_ordering`.

    Examples
    --------
    >>> bottom_ordering([[4, 1, 5], [1, 1, 10]])[0].tolist()
    [1, 0, 2]
    """
    return _sweep(W, search_stride, ascending=True)


def _index_frame(neuron_index, n):
    if neuron_index is None:
        return pd.DataFrame({"layer": np.zeros(n, np.int64), "neuron": np.arange(n)})
    idx = pd.DataFrame(neuron_index).reset_index(drop=True)
    missing = {"layer", "neuron"} - set(idx.columns)
    if missing:
        raise ValueError(f"neuron_index lacks columns {sorted(missing)}")
    if len(idx) != n:
        raise ValueError(f"neuron_index has {len(idx)} rows but there are {n} neurons")
    return idx


def ranking_frame(ordering, neuron_index=None, scores=None, tags=None, boundaries=None):
    """The tidy ranking table.

    Parameters
    ----------
    ordering : array-like of int
        Flat columns, most salient first (must be a permutation of a subset of the columns).
    neuron_index : DataFrame, optional
        Columns ``layer`` and ``neuron``, one row per flat column (default: one layer).
    scores : array-like, optional
        Per-column score (indexed by flat column).
    tags : array-like, optional
        Per-column tag (e.g. the class with the largest weight share).
    boundaries : array-like, optional
        Chunk ends of the ordering; adds a ``chunk`` column.

    Returns
    -------
    DataFrame
        ``rank`` (1 = most salient), ``column``, ``layer``, ``neuron``, ``tag``, ``score``
        (and ``chunk``).

    Examples
    --------
    >>> idx = pd.DataFrame({"layer": [0, 0, 1, 1], "neuron": [0, 1, 0, 1]})
    >>> ranking_frame([2, 0, 3, 1], idx)[["rank", "layer", "neuron"]].values.tolist()
    [[1, 1, 0], [2, 0, 0], [3, 1, 1], [4, 0, 1]]
    """
    ordering = np.asarray(ordering, dtype=np.int64)
    n = len(neuron_index) if neuron_index is not None else (int(ordering.max()) + 1 if ordering.size else 0)
    idx = _index_frame(neuron_index, n)
    if len(np.unique(ordering)) != len(ordering):
        raise ValueError("ordering repeats a neuron")
    if ordering.size and (ordering.min() < 0 or ordering.max() >= n):
        raise ValueError(f"ordering holds column {int(ordering.max())} but neuron_index has only {n} rows")
    out = pd.DataFrame({
        "rank": np.arange(1, len(ordering) + 1),
        "column": ordering,
        "layer": idx["layer"].to_numpy()[ordering],
        "neuron": idx["neuron"].to_numpy()[ordering],
        "tag": np.asarray(tags, dtype=object)[ordering] if tags is not None else None,
        "score": np.asarray(scores, dtype=np.float64)[ordering] if scores is not None else np.nan,
    })
    if boundaries is not None:
        out["chunk"] = np.searchsorted(np.asarray(boundaries), np.arange(len(ordering)), side="right")
    return out


def per_tag_ranking(W, class_names, neuron_index=None, percentage=0.5):
    """Per-class LCA ranking, long format.

    Returns
    -------
    DataFrame
        ``tag``, ``rank`` (within the tag), ``column``, ``layer``, ``neuron``, ``score``
        (``|W[c,j]| / sum|W[c]|``), one row per neuron in the tag's top set at ``percentage``.

    Examples
    --------
    >>> per_tag_ranking([[5, 1, 1], [1, 10, 1]], ["A", "B"])[["tag", "neuron"]].values.tolist()
    [['A', 0], ['B', 1]]
    """
    A = _weights(W)
    _, per_class = top_neurons(A, percentage, class_names)
    idx = _index_frame(neuron_index, A.shape[1])
    mass = A.sum(axis=1)
    frames = []
    for row, (tag, cols) in enumerate(per_class.items()):
        share = A[row, cols] / (mass[row] if mass[row] > 0 else 1.0)
        frames.append(pd.DataFrame({
            "tag": tag, "rank": np.arange(1, len(cols) + 1), "column": cols,
            "layer": idx["layer"].to_numpy()[cols], "neuron": idx["neuron"].to_numpy()[cols], "score": share,
        }))
    cols = ["tag", "rank", "column", "layer", "neuron", "score"]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=cols)


def ordering_from_scores(scores):
    """Columns sorted by ``scores`` descending (ties: lower column first).

    Examples
    --------
    >>> ordering_from_scores([0.1, 0.9, 0.5]).tolist()
    [1, 2, 0]
    """
    return np.argsort(-np.asarray(scores, dtype=np.float64), kind="stable")


# -- probe-free rankers ----------------------------------------------------------------------

def _one_hot(y):
    y = np.asarray(y)
    classes, codes = np.unique(y, return_inverse=True)
    return classes, codes


def probeless_scores(X, y, standardize=False):
    """Probeless ranking (Antverg & Belinkov, 2022): differences of per-tag mean activations.

    For each tag ``z`` let ``q(z)`` be the mean activation of the words tagged ``z``.  The
    neuron's overall score is ``sum over tag pairs |q(z) - q(z')|``; its per-tag score is
    ``|q(z) - mean activation of the other words|``.

    Parameters
    ----------
    X : array-like, shape (n_words, n_neurons)
    y : array-like of labels
    standardize : bool
        Divide each neuron by its standard deviation first (the paper uses raw activations).

    Returns
    -------
    overall : numpy.ndarray, shape (n_neurons,)
    per_tag : DataFrame
        ``tag``, ``column``, ``score`` (long format, every tag x neuron).

    Examples
    --------
    >>> X = np.array([[0., 1.], [0., 1.], [2., 1.], [2., 1.]])
    >>> overall, _ = probeless_scores(X, ["a", "a", "b", "b"])
    >>> overall.tolist()
    [2.0, 0.0]
    """
    X = np.asarray(X, dtype=np.float64)
    if standardize:
        sd = X.std(axis=0)
        X = X / np.where(sd > 0, sd, 1.0)
    classes, codes = _one_hot(y)
    counts = np.bincount(codes, minlength=len(classes)).astype(np.float64)
    sums = np.zeros((len(classes), X.shape[1]))
    np.add.at(sums, codes, X)
    q = sums / counts[:, None]
    # sum_{z<z'} |q_z - q_z'| via sorting each neuron's tag means: sum_i (2i - m + 1) * q_(i)
    qs = np.sort(q, axis=0)
    m = len(classes)
    overall = ((2 * np.arange(m) - m + 1)[:, None] * qs).sum(axis=0)
    total = X.sum(axis=0)
    rest = (total[None, :] - sums) / np.maximum(len(X) - counts, 1)[:, None]
    per = np.abs(q - rest)
    per_tag = pd.DataFrame({"tag": np.repeat(classes, X.shape[1]), "column": np.tile(np.arange(X.shape[1]), m),
                            "score": per.ravel()})
    return overall, per_tag


def iou_scores(X, y, quantile=0.995, two_sided=True):
    """Per-neuron IoU between "the neuron fires" and each tag (Mu & Andreas, 2020 style).

    A neuron fires on a word when its activation exceeds the neuron's ``quantile``
    (and, with ``two_sided``, also scores the mirrored test ``activation < 1 - quantile``
    quantile, keeping the better one: a neuron may encode a tag by being very negative).

    Returns
    -------
    overall : numpy.ndarray, shape (n_neurons,)
        Best IoU over tags.
    per_tag : DataFrame
        ``tag``, ``column``, ``score`` (IoU), every tag x neuron.

    Examples
    --------
    >>> X = np.array([[0.], [0.], [0.], [5.]])
    >>> overall, per = iou_scores(X, ["a", "a", "a", "b"], quantile=0.7)
    >>> float(overall[0])
    1.0
    """
    X = np.asarray(X, dtype=np.float64)
    classes, codes = _one_hot(y)
    Y = np.zeros((len(X), len(classes)))
    Y[np.arange(len(X)), codes] = 1.0
    n_tag = Y.sum(axis=0)

    def iou(M):
        inter = M.T @ Y  # neurons x tags
        union = M.sum(axis=0)[:, None] + n_tag[None, :] - inter
        return inter / np.where(union > 0, union, 1.0)

    res = iou((X > np.quantile(X, quantile, axis=0)).astype(np.float64))
    if two_sided:
        res = np.maximum(res, iou((X < np.quantile(X, 1 - quantile, axis=0)).astype(np.float64)))
    per_tag = pd.DataFrame({"tag": np.repeat(classes, X.shape[1]), "column": np.tile(np.arange(X.shape[1]), len(classes)),
                            "score": res.T.ravel()})
    return res.max(axis=1), per_tag


def average_precision_scores(X, y, two_sided=True, chunk=64):
    """Per-neuron average precision of the activation as a detector of each tag against the rest.

    Returns
    -------
    overall : numpy.ndarray, shape (n_neurons,)
        Best AP over tags (with ``two_sided``, also of the negated activation).
    per_tag : DataFrame
        ``tag``, ``column``, ``score`` (AP), every tag x neuron.

    Examples
    --------
    >>> X = np.array([[3.], [2.], [1.], [0.]])
    >>> overall, per = average_precision_scores(X, ["b", "b", "a", "a"], two_sided=False)
    >>> per.set_index("tag")["score"].round(3).to_dict()
    {'a': 0.417, 'b': 1.0}
    """
    X = np.asarray(X, dtype=np.float32)
    classes, codes = _one_hot(y)
    n, d = X.shape
    m = len(classes)
    pos = np.bincount(codes, minlength=m).astype(np.float64)
    ranks = np.arange(1, n + 1, dtype=np.float64)

    def ap(M):
        out = np.zeros((d, m))
        for start in range(0, d, chunk):
            order = np.argsort(-M[:, start:start + chunk], axis=0, kind="stable")  # n x c
            for j in range(order.shape[1]):
                c = codes[order[:, j]]
                Y = np.zeros((n, m))
                Y[np.arange(n), c] = 1.0
                hits = np.cumsum(Y, axis=0)
                out[start + j] = (Y * hits / ranks[:, None]).sum(axis=0) / np.where(pos > 0, pos, 1.0)
        return out

    res = ap(X)
    if two_sided:
        res = np.maximum(res, ap(-X))
    per_tag = pd.DataFrame({"tag": np.repeat(classes, d), "column": np.tile(np.arange(d), m), "score": res.T.ravel()})
    return res.max(axis=1), per_tag


def ranking_overlap(a, b, k):
    """Overlap of the top ``k`` of two orderings (or ranking frames).

    Returns
    -------
    dict
        ``k``, ``intersection`` (count), ``jaccard``, ``overlap`` (= intersection / k).

    Examples
    --------
    >>> ranking_overlap([0, 1, 2, 3], [1, 0, 3, 2], 2)
    {'k': 2, 'intersection': 2, 'jaccard': 1.0, 'overlap': 1.0}
    """
    def top(x):
        if isinstance(x, pd.DataFrame):
            x = x.sort_values("rank")["column"].to_numpy()
        return set(np.asarray(x)[: int(k)].tolist())

    sa, sb = top(a), top(b)
    inter = len(sa & sb)
    union = len(sa | sb)
    return {"k": int(k), "intersection": inter, "jaccard": inter / union if union else 1.0,
            "overlap": inter / k if k else 1.0}
