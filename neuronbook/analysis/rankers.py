"""Other neuron rankers behind LCA's output format, and how much rankers agree.

The scoring functions live in :mod:`neuronbook.rank` (pure numpy); this module turns them into
the same tidy ranking table as LCA (``rank``, ``column``, ``layer``, ``neuron``, ``tag``,
``score``) so any downstream analysis takes either, and compares rankings by the overlap of
their top-k neurons.

Rankers
-------
``"probeless"``
    Differences of per-tag mean activations (Antverg & Belinkov, 2022).
``"iou"``
    Best IoU over tags between "the neuron fires" (beyond a high quantile) and the tag
    (Mu & Andreas, 2020 style).
``"ap"``
    Best average precision over tags of the activation as a detector of one tag against the rest.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

__all__ = ["RANKERS", "rank_neurons", "ranker_agreement"]

logger = logging.getLogger(__name__)

#: Names accepted by :func:`rank_neurons`.
RANKERS = ("probeless", "iou", "ap")


def rank_neurons(X, y, method: str = "probeless", neuron_index=None, **kwargs) -> pd.DataFrame:
    """Rank neurons with a probe-free method, as a tidy ranking table.

    Parameters
    ----------
    X : array-like, shape (n_words, n_neurons)
        Training activations (flat layer-major columns).
    y : array-like
        One label per word.
    method : {"probeless", "iou", "ap"}
        See the module notes.
    neuron_index : DataFrame, optional
        ``layer`` and ``neuron`` per column (:meth:`ActivationStore.neuron_index`).
    **kwargs
        Passed to the scoring function (e.g. ``quantile=`` for ``"iou"``).

    Returns
    -------
    DataFrame
        ``rank`` (1 = best), ``column``, ``layer``, ``neuron``, ``tag`` (the tag the neuron
        scores best for), ``score``; the format of :func:`neuronbook.rank.ranking_frame`.

    Examples
    --------
    >>> X = np.array([[0., 1.], [0., 1.], [2., 1.], [2., 1.]])
    >>> rank_neurons(X, ["a", "a", "b", "b"])[["rank", "column", "score"]].values.tolist()
    [[1.0, 0.0, 2.0], [2.0, 1.0, 0.0]]
    """
    from .. import rank

    scorers = {"probeless": rank.probeless_scores, "iou": rank.iou_scores, "ap": rank.average_precision_scores}
    if method not in scorers:
        raise ValueError(f"unknown ranker {method!r}; choose one of {list(scorers)}")
    X = np.asarray(X)
    y = np.asarray(y)
    if X.ndim != 2 or len(X) != len(y):
        raise ValueError(f"X must be words x neurons with one label per word: X {X.shape}, y {y.shape}")
    overall, per_tag = scorers[method](X, y, **kwargs)
    # the tag each neuron serves best, for the ``tag`` column (ties: first tag in sorted order)
    best = per_tag.sort_values(["column", "score"], ascending=[True, False], kind="stable")
    tags = best.drop_duplicates("column").set_index("column")["tag"].reindex(np.arange(X.shape[1])).to_numpy()
    return rank.ranking_frame(rank.ordering_from_scores(overall), neuron_index, scores=overall, tags=tags)


def _ordering(r) -> np.ndarray:
    if isinstance(r, pd.DataFrame):
        if not {"rank", "column"} <= set(r.columns):
            raise ValueError(f"a ranking table needs columns 'rank' and 'column'; it has {list(r.columns)}")
        return r.sort_values("rank", kind="stable")["column"].to_numpy()
    return np.asarray(r)


def ranker_agreement(rankings: Mapping[str, object], k: int | Sequence[int]) -> pd.DataFrame:
    """Overlap of the top-k neurons of every pair of rankings.

    Parameters
    ----------
    rankings : mapping
        Ranker name -> ranking table (``rank``, ``column``) or ordering (columns, best first).
    k : int or sequence of int
        Top-k sizes to compare at.

    Returns
    -------
    DataFrame
        ``ranker_a``, ``ranker_b``, ``k``, ``intersection``, ``jaccard``, ``overlap``
        (intersection / k), one row per pair and k, plus ``expected_overlap``: what two random
        rankings would share on average (k / n_neurons), to read the overlap against.

    Examples
    --------
    >>> res = ranker_agreement({"lca": [0, 1, 2, 3], "iou": [1, 0, 3, 2]}, k=[1, 2])
    >>> res[["k", "intersection", "jaccard"]].values.tolist()
    [[1.0, 0.0, 0.0], [2.0, 2.0, 1.0]]
    """
    from ..rank import ranking_overlap

    if len(rankings) < 2:
        raise ValueError(f"need at least two rankings to compare, got {list(rankings)}")
    orders = {name: _ordering(r) for name, r in rankings.items()}
    sizes = {name: len(o) for name, o in orders.items()}
    if len(set(sizes.values())) != 1:
        raise ValueError(f"rankings cover different numbers of neurons: {sizes}")
    n = next(iter(sizes.values()))
    ks = [int(k)] if np.isscalar(k) else [int(x) for x in k]
    bad = [x for x in ks if not 0 < x <= n]
    if bad:
        raise ValueError(f"k must lie in 1..{n} (the number of neurons), got {bad}")
    rows = []
    for (a, oa), (b, ob) in itertools.combinations(orders.items(), 2):
        for kk in ks:
            rows.append({"ranker_a": a, "ranker_b": b, **ranking_overlap(oa, ob, kk), "expected_overlap": kk / n})
    return pd.DataFrame(rows)
