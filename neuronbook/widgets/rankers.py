"""Do rankers agree: a top-k slider over the rankings of several rankers.

:class:`RankerAgreementView` takes ranking tables already computed (one per ranker of
:data:`neuronbook.RANKERS`, all over the same neurons), measures their pairwise overlap at a grid
of k with :func:`neuronbook.ranker_agreement`, and lets a reader move k: the overlap matrix, the
overlap-vs-k curves and where each ranker's top k neurons sit follow.

Examples
--------
>>> def table(order):
...     return pd.DataFrame({"rank": range(1, 5), "layer": 0, "neuron": order})
>>> view = RankerAgreementView({"a": table([0, 1, 2, 3]), "b": table([1, 0, 3, 2])}, ks=[1, 2])
>>> view.set_k(2).table["overlap"].tolist()
[1.0]
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from ._base import ChartBox, View, ipw

__all__ = ["RankerAgreementView", "k_grid"]

logger = logging.getLogger(__name__)

_STYLE = {"description_width": "initial"}


def k_grid(n_neurons: int, start: int = 10, also=()) -> list[int]:
    """Top-k sizes on a 1-2-5 scale from ``start`` up to ``n_neurons`` (which is always included).

    ``also``: further k to include (a notebook's ``k``; each capped at ``n_neurons``).

    Examples
    --------
    >>> k_grid(700)
    [10, 20, 50, 100, 200, 500, 700]
    >>> k_grid(700, also=[75, 5000])
    [10, 20, 50, 75, 100, 200, 500, 700]
    >>> k_grid(4)
    [4]
    """
    n = int(n_neurons)
    if n < 1:
        raise ValueError(f"n_neurons must be >= 1, got {n_neurons}")
    extra = {min(int(k), n) for k in also}
    if any(k < 1 for k in extra):
        raise ValueError(f"every k must be >= 1, got {sorted(extra)}")
    ks, scale = [], 1
    while True:
        for m in (1, 2, 5):
            k = m * scale
            if k >= n:
                return sorted(set(ks) | {n} | extra)
            if k >= start:
                ks.append(k)
        scale *= 10


def _top_layers(rankings: Mapping[str, pd.DataFrame], k: int, n_layers: int) -> pd.DataFrame:
    from ..analysis import layer_distribution

    top = pd.concat([r.sort_values("rank", kind="stable").head(k)[["layer"]].assign(ranker=name)
                     for name, r in rankings.items()], ignore_index=True)
    return layer_distribution(top, n_layers, by="ranker")


class RankerAgreementView(View):
    """A top-k slider over the pairwise agreement of several rankings.

    Parameters
    ----------
    rankings : mapping
        Ranker name -> ranking table (``rank``, ``layer``, ``neuron``), all over the same neurons.
    ks : sequence of int, optional
        The k the slider offers (default :func:`k_grid` of the number of neurons).
    k : int, optional
        Start k (default the grid's value nearest 1% of the neurons), snapped to the grid.
    n_layers : int, optional
        Layers including the embeddings, for the layer chart (default the deepest layer + 1).
    chart_mode : {"auto", "jupyter", "output"}

    Attributes
    ----------
    agreement : DataFrame
        :func:`neuronbook.ranker_agreement` at every k of the grid.
    k : int
    table : DataFrame
        The agreement rows at :attr:`k`.
    layers : DataFrame
        Each ranker's top :attr:`k` per layer (:func:`neuronbook.layer_distribution` ``by="ranker"``).
    chart : altair chart
    text : str
    """

    def __init__(self, rankings: Mapping[str, pd.DataFrame], ks: Sequence[int] | None = None, k: int | None = None,
                 n_layers: int | None = None, chart_mode: str = "auto"):
        from ..analysis import ranker_agreement

        w = ipw()
        self.rankings = dict(rankings)
        if len(self.rankings) < 2:
            raise ValueError(f"need at least two rankings to compare, got {list(self.rankings)}")
        n = len(next(iter(self.rankings.values())))
        self.ks = sorted({int(x) for x in (k_grid(n) if ks is None else ks)})
        self.agreement = ranker_agreement(self.rankings, self.ks)
        deepest = max(int(r["layer"].max()) for r in self.rankings.values())
        self.n_layers = deepest + 1 if n_layers is None else int(n_layers)
        self.k = self._snap(max(1, n // 100) if k is None else k)
        self._update_state()
        self.slider = w.SelectionSlider(options=[(str(x), x) for x in self.ks], value=self.k, description="top k",
                                        continuous_update=False, style=_STYLE, layout=w.Layout(width="420px"))
        self.box = ChartBox(self.chart, chart_mode)
        self.note = w.HTML(self.text)
        self.slider.observe(lambda change: self.set_k(change["new"]), names="value")
        self.widget = w.VBox([self.slider, self.note, self.box.widget])

    def _snap(self, k) -> int:
        ks = np.asarray(self.ks)
        return int(ks[int(np.argmin(np.abs(np.log(ks) - np.log(max(float(k), 1e-9)))))])

    def set_k(self, k: int) -> "RankerAgreementView":
        """Compare the top ``k`` (snapped to the nearest k of the grid, on a log scale)."""
        k = self._snap(k)
        if k == self.k:
            return self
        self.k = k
        self._update_state()
        if self.slider.value != k:
            self.slider.value = k  # its observer calls back and finds nothing to do
        self.box.chart = self.chart
        self.note.value = self.text
        return self

    def _update_state(self) -> None:
        from ..plots import agreement_charts

        self.table = self.agreement[self.agreement["k"] == self.k].reset_index(drop=True)
        self.layers = _top_layers(self.rankings, self.k, self.n_layers)
        self.chart = agreement_charts(self.table, self.agreement, self.k, self.layers)
        self.text = self._describe()

    def _describe(self) -> str:
        t = self.table
        best, worst = t.loc[t["overlap"].idxmax()], t.loc[t["overlap"].idxmin()]
        expected = float(t["expected_overlap"].iloc[0])
        return (f"Top <b>{self.k}</b> neurons: the closest pair, {best['ranker_a']} / {best['ranker_b']}, shares "
                f"<b>{best['overlap']:.0%}</b>; the farthest, {worst['ranker_a']} / {worst['ranker_b']}, "
                f"{worst['overlap']:.0%}; two random rankings would share {expected:.0%}.")
