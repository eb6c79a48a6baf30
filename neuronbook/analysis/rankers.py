"""How much neuron rankers agree: overlap of their top-k neurons.

The rankers themselves live in :mod:`neuronbook.rank` (:data:`neuronbook.rank.RANKERS`,
:func:`neuronbook.rank.get_ranker`); they all return the same ranking table, so any two of them
(or two runs of one) compare here by the ``(layer, neuron)`` of their top neurons.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

__all__ = ["ranker_agreement"]

logger = logging.getLogger(__name__)


def _size(r) -> int:
    if isinstance(r, pd.DataFrame):
        missing = {"rank", "layer", "neuron"} - set(r.columns)
        if missing:
            raise ValueError(f"a ranking table needs columns 'rank', 'layer' and 'neuron'; it lacks {sorted(missing)}")
        return len(r)
    return len(np.asarray(r))


def ranker_agreement(rankings: Mapping[str, object], k: int | Sequence[int]) -> pd.DataFrame:
    """Overlap of the top-k neurons of every pair of rankings.

    Parameters
    ----------
    rankings : mapping
        Ranker name -> ranking table (``rank``, ``layer``, ``neuron``; compared by
        ``(layer, neuron)``), or -> ordering (column positions, best first). Give all tables or
        all orderings.
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
    kinds = {name: isinstance(r, pd.DataFrame) for name, r in rankings.items()}
    if len(set(kinds.values())) != 1:
        raise TypeError(f"give all rankings as tables or all as orderings; tables: "
                        f"{[n for n, t in kinds.items() if t]}, orderings: {[n for n, t in kinds.items() if not t]}")
    sizes = {name: _size(r) for name, r in rankings.items()}
    if len(set(sizes.values())) != 1:
        raise ValueError(f"rankings cover different numbers of neurons: {sizes}")
    n = next(iter(sizes.values()))
    ks = [int(k)] if np.isscalar(k) else [int(x) for x in k]
    bad = [x for x in ks if not 0 < x <= n]
    if bad:
        raise ValueError(f"k must lie in 1..{n} (the number of neurons), got {bad}")
    rows = []
    for (a, ra), (b, rb) in itertools.combinations(rankings.items(), 2):
        for kk in ks:
            rows.append({"ranker_a": a, "ranker_b": b, **ranking_overlap(ra, rb, kk), "expected_overlap": kk / n})
    return pd.DataFrame(rows)
