"""Neuron rankings: LCA (probe weights, NeuroX semantics) and probe-free baselines.

Every ranker follows one protocol: an object with a ``name`` and one verb,
``rank(X, y, neurons=None)``, returning the ranking table (``rank``, ``layer``, ``neuron``,
``tag``, ``score``; LCA adds ``chunk``). :data:`RANKERS` maps names to the classes and
:func:`get_ranker` builds one by name::

    ranking = get_ranker("probeless").rank(store.activations(), y, store.neurons())

Below the rankers sit pure-numpy functions. Weight matrices are ``(n_classes, n_neurons)``;
orderings are column positions of the activation matrix, whose ``(layer, neuron)`` labels
(:meth:`ActivationStore.neurons`) turn them into tables.

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

import inspect

import numpy as np
import pandas as pd

from .neurons import as_neuron_index, labelled_matrix, neuron_table

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
    "zero_mass_classes",
    "probeless_scores",
    "iou_scores",
    "average_precision_scores",
    "ordering_from_scores",
    "ranking_overlap",
    "Ranker",
    "LCARanker",
    "ProbelessRanker",
    "IoURanker",
    "APRanker",
    "RANKERS",
    "get_ranker",
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
        if not row.sum() > 0:
            # a class whose weights are all zero has no mass to cover: it selects nothing (a tie-broken
            # argmax would invent a neuron for it at every percentage)
            per_class[key] = np.zeros(0, np.int64)
            continue
        order = np.argsort(row if ascending else -row, kind="stable")
        cum = np.cumsum(row[order])
        hit = np.nonzero(cum >= percentage * row.sum())[0]
        stop = hit[0] + 1 if hit.size else len(order)
        per_class[key] = order[:stop]
    selected = np.unique(np.concatenate(list(per_class.values()))) if per_class else np.zeros(0, int)
    return selected, per_class


def zero_mass_classes(W, class_names=None):
    """Classes whose weight row is all zero (a strong L1 penalty can leave a rare tag without weights).

    They select no neurons in :func:`top_neurons`, :func:`neuron_ordering` and :func:`per_tag_ranking`;
    an analysis reports them instead of inventing neurons for them.

    Examples
    --------
    >>> zero_mass_classes([[0, 0, 0], [1, 0, 2]], ["WP$", "NN"])
    ['WP$']
    """
    A = _weights(W)
    keys = _class_keys(len(A), class_names)
    return [key for key, row in zip(keys, A) if not row.sum() > 0]


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

    A neuron with no weight for any class has no tag (None).

    Examples
    --------
    >>> neuron_tags([[3, 1, 0], [1, 3, 0]], ["A", "B"]).tolist()
    ['A', 'B', None]
    """
    shares = _mass_shares(W)
    tags = np.asarray(class_names, dtype=object)[shares.argmax(axis=0)]
    tags[~(shares.max(axis=0) > 0)] = None
    return tags


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


def _neuron_labels(neurons, n):
    """``(layer, neuron)`` MultiIndex of ``n`` columns (one layer 0 when ``neurons`` is None)."""
    return as_neuron_index(neurons, n)


def ranking_frame(ordering, neurons=None, scores=None, tags=None, boundaries=None):
    """The tidy ranking table.

    Parameters
    ----------
    ordering : array-like of int
        Column positions, most salient first (a permutation of a subset of the columns).
    neurons : MultiIndex or DataFrame, optional
        ``(layer, neuron)`` of every column: a MultiIndex (:meth:`ActivationStore.neurons`), a table
        with ``layer`` and ``neuron`` columns, or None (one layer 0, ``neuron`` = column).
    scores : array-like, optional
        Per-column score (indexed by column position).
    tags : array-like, optional
        Per-column tag (e.g. the class with the largest weight share).
    boundaries : array-like, optional
        Chunk ends of the ordering; adds a ``chunk`` column.

    Returns
    -------
    DataFrame
        ``rank`` (1 = most salient), ``layer``, ``neuron``, ``tag``, ``score`` (and ``chunk``).

    Examples
    --------
    >>> from neuronbook.neurons import neuron_index
    >>> idx = neuron_index([0, 1], 2)
    >>> ranking_frame([2, 0, 3, 1], idx)[["rank", "layer", "neuron"]].values.tolist()
    [[1, 1, 0], [2, 0, 0], [3, 1, 1], [4, 0, 1]]
    """
    ordering = np.asarray(ordering, dtype=np.int64)
    if neurons is None:
        n = int(ordering.max()) + 1 if ordering.size else 0
    else:
        n = len(neurons.columns) if isinstance(neurons, pd.DataFrame) and isinstance(neurons.columns, pd.MultiIndex) \
            else len(neurons)
    idx = _neuron_labels(neurons, n)
    if len(np.unique(ordering)) != len(ordering):
        raise ValueError("ordering repeats a neuron")
    if ordering.size and (ordering.min() < 0 or ordering.max() >= n):
        raise ValueError(f"ordering holds column {int(ordering.max())} but there are only {n} neuron labels")
    table = neuron_table(idx, ordering)
    out = pd.DataFrame({
        "rank": np.arange(1, len(ordering) + 1),
        "layer": table["layer"].to_numpy(),
        "neuron": table["neuron"].to_numpy(),
        "tag": np.asarray(tags, dtype=object)[ordering] if tags is not None else [None] * len(ordering),
        "score": np.asarray(scores, dtype=np.float64)[ordering] if scores is not None else np.nan,
    })
    if boundaries is not None:
        out["chunk"] = np.searchsorted(np.asarray(boundaries), np.arange(len(ordering)), side="right")
    return out


def per_tag_ranking(W, class_names, neurons=None, percentage=0.5):
    """Per-class LCA ranking, long format.

    Parameters
    ----------
    W : array-like, shape (n_classes, n_neurons)
    class_names : sequence
        The tag of each row of ``W`` (e.g. ``probe.classes_``).
    neurons : MultiIndex or DataFrame, optional
        ``(layer, neuron)`` of every column (see :func:`ranking_frame`).
    percentage : float
        Share of each tag's weight mass its top set covers.

    Returns
    -------
    DataFrame
        ``tag``, ``rank`` (within the tag), ``layer``, ``neuron``, ``score``
        (``|W[c,j]| / sum|W[c]|``), one row per neuron in the tag's top set at ``percentage``.

    Examples
    --------
    >>> per_tag_ranking([[5, 1, 1], [1, 10, 1]], ["A", "B"])[["tag", "neuron"]].values.tolist()
    [['A', 0], ['B', 1]]
    """
    A = _weights(W)
    _, per_class = top_neurons(A, percentage, class_names)
    idx = _neuron_labels(neurons, A.shape[1])
    mass = A.sum(axis=1)
    frames = []
    for row, (tag, cols) in enumerate(per_class.items()):
        if not len(cols):  # a zero-mass tag has no top neurons (see zero_mass_classes)
            continue
        share = A[row, cols] / (mass[row] if mass[row] > 0 else 1.0)
        table = neuron_table(idx, cols)
        frames.append(pd.DataFrame({
            "tag": tag, "rank": np.arange(1, len(cols) + 1), "layer": table["layer"].to_numpy(),
            "neuron": table["neuron"].to_numpy(), "score": share,
        }))
    cols = ["tag", "rank", "layer", "neuron", "score"]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=cols)


def ordering_from_scores(scores):
    """Columns sorted by ``scores`` descending (ties: lower column first).

    Examples
    --------
    >>> ordering_from_scores([0.1, 0.9, 0.5]).tolist()
    [1, 2, 0]
    """
    return np.argsort(-np.asarray(scores, dtype=np.float64), kind="stable")


# -- probe-free scores ----------------------------------------------------------------------
#
# Each private scorer returns ``(classes, per)``, ``per`` a (n_neurons, n_classes) matrix of the
# neuron's score for each tag; the public functions wrap it into tidy tables.

def _codes(y):
    classes, codes = np.unique(np.asarray(y), return_inverse=True)
    return classes, codes.reshape(-1)


def _check_xy(X, y, dtype=np.float64):
    X = np.asarray(X, dtype=dtype)
    y = np.asarray(y)
    if X.ndim != 2 or y.ndim != 1 or len(X) != len(y):
        raise ValueError(f"X must be words x neurons with one label per word: X {X.shape}, y {y.shape}")
    if len(X) == 0:
        raise ValueError("cannot rank neurons on 0 words")
    return X, y


def _probeless(X, y, standardize=False):
    X, y = _check_xy(X, y)
    if standardize:
        sd = X.std(axis=0)
        X = X / np.where(sd > 0, sd, 1.0)
    classes, codes = _codes(y)
    counts = np.bincount(codes, minlength=len(classes)).astype(np.float64)
    sums = np.zeros((len(classes), X.shape[1]))
    np.add.at(sums, codes, X)
    q = sums / counts[:, None]
    # sum_{z<z'} |q_z - q_z'| via sorting each neuron's tag means: sum_i (2i - m + 1) * q_(i)
    qs = np.sort(q, axis=0)
    m = len(classes)
    overall = ((2 * np.arange(m) - m + 1)[:, None] * qs).sum(axis=0)
    rest = (X.sum(axis=0)[None, :] - sums) / np.maximum(len(X) - counts, 1)[:, None]
    return classes, overall, np.abs(q - rest).T


def _iou(X, y, quantile=0.995, two_sided=True):
    X, y = _check_xy(X, y)
    if not 0 < quantile < 1:
        raise ValueError(f"quantile must lie strictly between 0 and 1, got {quantile}")
    classes, codes = _codes(y)
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
    return classes, res.max(axis=1), res


def _average_precision(X, y, two_sided=True, chunk=64):
    X, y = _check_xy(X, y, np.float32)
    classes, codes = _codes(y)
    n, d = X.shape
    m = len(classes)
    pos = np.bincount(codes, minlength=m).astype(np.float64)
    ranks = np.arange(1, n + 1, dtype=np.float64)

    def ap(M):
        out = np.zeros((d, m))
        for start in range(0, d, int(chunk)):
            order = np.argsort(-M[:, start:start + int(chunk)], axis=0, kind="stable")  # n x c
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
    return classes, res.max(axis=1), res


def _per_tag_table(classes, per, neurons):
    d, m = per.shape
    table = neuron_table(_neuron_labels(neurons, d))
    return pd.DataFrame({"tag": np.repeat(classes, d), "layer": np.tile(table["layer"].to_numpy(), m),
                         "neuron": np.tile(table["neuron"].to_numpy(), m), "score": per.T.ravel()})


def probeless_scores(X, y, standardize=False, neurons=None):
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
    neurons : MultiIndex or DataFrame, optional
        ``(layer, neuron)`` of the columns (default: one layer 0).

    Returns
    -------
    overall : numpy.ndarray, shape (n_neurons,)
    per_tag : DataFrame
        ``tag``, ``layer``, ``neuron``, ``score`` (long format, every tag x neuron).

    Examples
    --------
    >>> X = np.array([[0., 1.], [0., 1.], [2., 1.], [2., 1.]])
    >>> overall, _ = probeless_scores(X, ["a", "a", "b", "b"])
    >>> overall.tolist()
    [2.0, 0.0]
    """
    classes, overall, per = _probeless(X, y, standardize)
    return overall, _per_tag_table(classes, per, neurons)


def iou_scores(X, y, quantile=0.995, two_sided=True, neurons=None):
    """Per-neuron IoU between "the neuron fires" and each tag (Mu & Andreas, 2020 style).

    A neuron fires on a word when its activation exceeds the neuron's ``quantile``
    (and, with ``two_sided``, also scores the mirrored test ``activation < 1 - quantile``
    quantile, keeping the better one: a neuron may encode a tag by being very negative).

    Returns
    -------
    overall : numpy.ndarray, shape (n_neurons,)
        Best IoU over tags.
    per_tag : DataFrame
        ``tag``, ``layer``, ``neuron``, ``score`` (IoU), every tag x neuron.

    Examples
    --------
    >>> X = np.array([[0.], [0.], [0.], [5.]])
    >>> overall, per = iou_scores(X, ["a", "a", "a", "b"], quantile=0.7)
    >>> float(overall[0])
    1.0
    """
    classes, overall, per = _iou(X, y, quantile, two_sided)
    return overall, _per_tag_table(classes, per, neurons)


def average_precision_scores(X, y, two_sided=True, chunk=64, neurons=None):
    """Per-neuron average precision of the activation as a detector of each tag against the rest.

    Returns
    -------
    overall : numpy.ndarray, shape (n_neurons,)
        Best AP over tags (with ``two_sided``, also of the negated activation).
    per_tag : DataFrame
        ``tag``, ``layer``, ``neuron``, ``score`` (AP), every tag x neuron.

    Examples
    --------
    >>> X = np.array([[3.], [2.], [1.], [0.]])
    >>> overall, per = average_precision_scores(X, ["b", "b", "a", "a"], two_sided=False)
    >>> per.set_index("tag")["score"].round(3).to_dict()
    {'a': 0.417, 'b': 1.0}
    """
    classes, overall, per = _average_precision(X, y, two_sided, chunk)
    return overall, _per_tag_table(classes, per, neurons)


def _top_pairs(x, k):
    if isinstance(x, pd.DataFrame):
        missing = {"rank", "layer", "neuron"} - set(x.columns)
        if missing:
            raise ValueError(f"a ranking table needs columns 'rank', 'layer' and 'neuron'; it lacks {sorted(missing)}")
        top = x.sort_values("rank", kind="stable").head(int(k))
        return set(zip(top["layer"].astype(int), top["neuron"].astype(int)))
    return set(np.asarray(x)[: int(k)].tolist())


def ranking_overlap(a, b, k):
    """Overlap of the top ``k`` of two ranking tables (compared by ``(layer, neuron)``) or orderings.

    Returns
    -------
    dict
        ``k``, ``intersection`` (count), ``jaccard``, ``overlap`` (= intersection / k).

    Examples
    --------
    >>> ranking_overlap([0, 1, 2, 3], [1, 0, 3, 2], 2)
    {'k': 2, 'intersection': 2, 'jaccard': 1.0, 'overlap': 1.0}
    """
    if isinstance(a, pd.DataFrame) != isinstance(b, pd.DataFrame):
        raise TypeError("compare two ranking tables or two orderings, not one of each: a table names neurons by "
                        "(layer, neuron), an ordering by column position")
    sa, sb = _top_pairs(a, k), _top_pairs(b, k)
    inter = len(sa & sb)
    union = len(sa | sb)
    return {"k": int(k), "intersection": inter, "jaccard": inter / union if union else 1.0,
            "overlap": inter / k if k else 1.0}


# -- the ranker protocol ---------------------------------------------------------------------

def _best_tags(classes, per):
    """The tag each neuron scores best for (ties: first tag in sorted order).

    Scores within rounding error of the best count as ties, so the tag does not depend on the
    memory layout of ``X`` (e.g. two tags' probeless scores are equal in exact arithmetic).
    """
    best = per.max(axis=1, keepdims=True)
    near = per >= best - 1e-9 * np.maximum(np.abs(best), 1e-3)
    return np.asarray(classes, dtype=object)[np.argmax(near, axis=1)]


class Ranker:
    """Base of the neuron rankers: ``name``, constructor parameters, and one verb, :meth:`rank`.

    Subclasses store their parameters in ``__init__`` (scikit-learn style) and implement
    :meth:`_scores`.
    """

    name: str = ""

    def get_params(self) -> dict:
        """The constructor arguments, as a dict."""
        return {k: getattr(self, k) for k in _param_names(type(self))}

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"

    def rank(self, X, y, neurons=None) -> pd.DataFrame:
        """Rank every neuron, most salient first.

        Parameters
        ----------
        X : ndarray or DataFrame, shape (n_words, n_neurons)
            Activations: a matrix whose columns ``neurons`` labels, or a DataFrame whose columns
            are the ``(layer, neuron)`` MultiIndex (:meth:`ActivationStore.frame`).
        y : array-like
            One label per word.
        neurons : MultiIndex or DataFrame, optional
            ``(layer, neuron)`` of the columns of an ndarray ``X`` (:meth:`ActivationStore.neurons`);
            None: one layer 0 with ``neuron`` = column.

        Returns
        -------
        DataFrame
            ``rank`` (1 = most salient), ``layer``, ``neuron``, ``tag`` (the tag the neuron serves
            best), ``score`` (the ranker's salience).
        """
        X, idx = labelled_matrix(X, neurons)
        y = np.asarray(y)
        if y.ndim != 1 or len(y) != len(X):
            raise ValueError(f"X must be words x neurons with one label per word: X {X.shape}, y {y.shape}")
        return self._rank(X, y, idx)

    def _rank(self, X, y, idx):
        classes, overall, per = self._scores(X, y)
        return ranking_frame(ordering_from_scores(overall), idx, scores=overall, tags=_best_tags(classes, per))


class ProbelessRanker(Ranker):
    """Differences of per-tag mean activations (Antverg & Belinkov, 2022); see :func:`probeless_scores`.

    Parameters
    ----------
    standardize : bool
        Divide each neuron by its standard deviation first.

    Examples
    --------
    >>> X = np.array([[0., 1.], [0., 1.], [2., 1.], [2., 1.]])
    >>> ProbelessRanker().rank(X, ["a", "a", "b", "b"])[["rank", "neuron", "score"]].values.tolist()
    [[1.0, 0.0, 2.0], [2.0, 1.0, 0.0]]
    """

    name = "probeless"

    def __init__(self, standardize=False):
        self.standardize = standardize

    def _scores(self, X, y):
        return _probeless(X, y, self.standardize)


class IoURanker(Ranker):
    """Best IoU over tags between "the neuron fires" and the tag (Mu & Andreas, 2020 style); see :func:`iou_scores`.

    Parameters
    ----------
    quantile : float
        The neuron fires above this quantile of its activations (and, with ``two_sided``,
        below ``1 - quantile``).
    two_sided : bool

    Examples
    --------
    >>> X = np.array([[0., 1.], [0., 2.], [0., 3.], [5., 4.]])
    >>> IoURanker(quantile=0.7).rank(X, ["a", "a", "a", "b"])["neuron"].tolist()
    [0, 1]
    """

    name = "iou"

    def __init__(self, quantile=0.995, two_sided=True):
        self.quantile = quantile
        self.two_sided = two_sided

    def _scores(self, X, y):
        return _iou(X, y, self.quantile, self.two_sided)


class APRanker(Ranker):
    """Best average precision over tags of the activation as a one-vs-rest detector; see
    :func:`average_precision_scores`.

    Parameters
    ----------
    two_sided : bool
        Also score the negated activation.
    chunk : int
        Neurons sorted at once (memory / speed trade-off only).

    Examples
    --------
    >>> X = np.array([[3., 0.], [2., 1.], [1., 0.], [0., 1.]])
    >>> APRanker().rank(X, ["b", "b", "a", "a"])[["neuron", "tag", "score"]].values.tolist()
    [[0, 'a', 1.0], [1, 'b', 0.8333333333333333]]
    """

    name = "ap"

    def __init__(self, two_sided=True, chunk=64):
        self.two_sided = two_sided
        self.chunk = chunk

    def _scores(self, X, y):
        return _average_precision(X, y, self.two_sided, self.chunk)


class LCARanker(Ranker):
    """Linguistic Correlation Analysis: an elastic-net probe's weights, ordered with NeuroX semantics.

    Fits :class:`neuronbook.probe.ElasticNetProbe` and orders the neurons with
    :func:`neuron_ordering` (the percentage sweep over each class's weight mass); ``score`` is
    :func:`neuron_scores`, ``tag`` :func:`neuron_tags`, and ``chunk`` the sweep step a neuron
    entered at.

    Parameters
    ----------
    estimator : ElasticNetProbe, optional
        The unfitted probe to copy and fit (``None``: ``ElasticNetProbe()``); ``LCAConfig.make_probe()``
        or ``LCAResult.estimator()`` give the analysis's own.
    search_stride : int
        Steps of the percentage sweep.

    Attributes
    ----------
    probe_ : ElasticNetProbe
        The fitted probe of the last :meth:`rank`.
    coef_ : numpy.ndarray, shape (n_classes, n_neurons)
    classes_ : numpy.ndarray

    Examples
    --------
    >>> from neuronbook.probe import ElasticNetProbe
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(200, 6)).astype("float32"); y = np.where(X[:, 4] > 0, "A", "B")
    >>> est = ElasticNetProbe(l1=0, l2=0, epochs=20, lr=0.05, batch_size=None)
    >>> r = LCARanker(estimator=est).rank(X, y)
    >>> int(r.loc[0, "neuron"]), r.columns.tolist()
    (4, ['rank', 'layer', 'neuron', 'tag', 'score', 'chunk'])
    """

    name = "lca"

    def __init__(self, estimator=None, search_stride=100):
        self.estimator = estimator
        self.search_stride = search_stride

    def _probe(self):
        from .probe import clone

        return clone(self.estimator)  # a fresh copy: the template stays unfitted

    def _rank(self, X, y, idx):
        self.probe_ = self._probe().fit(X, y)
        self.coef_ = self.probe_.coef_
        self.classes_ = self.probe_.classes_
        ordering, boundaries = neuron_ordering(self.coef_, self.search_stride)
        return ranking_frame(ordering, idx, scores=neuron_scores(self.coef_),
                             tags=neuron_tags(self.coef_, self.classes_), boundaries=boundaries)


#: Name -> ranker class; :func:`get_ranker` builds one by name.
RANKERS = {cls.name: cls for cls in (LCARanker, ProbelessRanker, IoURanker, APRanker)}


def _param_names(cls) -> list:
    return [p for p in inspect.signature(cls.__init__).parameters if p != "self"]


def get_ranker(name: str, **params) -> Ranker:
    """A ranker of :data:`RANKERS` by name, with its parameters.

    Examples
    --------
    >>> get_ranker("iou", quantile=0.9)
    IoURanker(quantile=0.9, two_sided=True)
    """
    if name not in RANKERS:
        raise ValueError(f"unknown ranker {name!r}; choose one of {sorted(RANKERS)}")
    cls = RANKERS[name]
    valid = _param_names(cls)
    unknown = sorted(set(params) - set(valid))
    if unknown:
        raise TypeError(f"ranker {name!r} has no parameter(s) {unknown}; valid: {valid}")
    return cls(**params)
