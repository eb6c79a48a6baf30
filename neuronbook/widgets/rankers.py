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

__all__ = ["RankerAgreementView", "k_grid", "agreement_charts"]

logger = logging.getLogger(__name__)

_STYLE = {"description_width": "initial"}


def k_grid(n_neurons: int, start: int = 10) -> list[int]:
    """Top-k sizes on a 1-2-5 scale from ``start`` up to ``n_neurons`` (which is always included).

    Examples
    --------
    >>> k_grid(700)
    [10, 20, 50, 100, 200, 500, 700]
    >>> k_grid(4)
    [4]
    """
    n = int(n_neurons)
    if n < 1:
        raise ValueError(f"n_neurons must be >= 1, got {n_neurons}")
    ks, scale = [], 1
    while True:
        for m in (1, 2, 5):
            k = m * scale
            if k >= n:
                return ks + [n]
            if k >= start:
                ks.append(k)
        scale *= 10


def _top_layers(rankings: Mapping[str, pd.DataFrame], k: int, n_layers: int) -> pd.DataFrame:
    from ..analysis import layer_distribution

    top = pd.concat([r.sort_values("rank", kind="stable").head(k)[["layer"]].assign(ranker=name)
                     for name, r in rankings.items()], ignore_index=True)
    return layer_distribution(top, n_layers, by="ranker")


def agreement_charts(at_k: pd.DataFrame, curve: pd.DataFrame, k: int, layers: pd.DataFrame | None = None):
    """Overlap of every pair of rankers at ``k`` (a matrix), overlap against k, and, optionally, their layers.

    Parameters
    ----------
    at_k : DataFrame
        :func:`neuronbook.ranker_agreement` rows at one k.
    curve : DataFrame
        :func:`neuronbook.ranker_agreement` rows at every k of the grid.
    k : int
        Marked with a rule on the curve.
    layers : DataFrame, optional
        :func:`neuronbook.layer_distribution` of each ranker's top k ``by="ranker"``.

    Examples
    --------
    >>> rows = pd.DataFrame({"ranker_a": ["a"], "ranker_b": ["b"], "k": [2], "intersection": [1],
    ...                      "jaccard": [1 / 3], "overlap": [0.5], "expected_overlap": [0.5]})
    >>> len(agreement_charts(rows, rows, 2).to_dict()["hconcat"])
    2
    """
    import altair as alt

    names = list(dict.fromkeys(list(curve["ranker_a"]) + list(curve["ranker_b"])))
    pairs = at_k[["ranker_a", "ranker_b", "intersection", "overlap"]]
    mirrored = pairs.rename(columns={"ranker_a": "ranker_b", "ranker_b": "ranker_a"})
    diagonal = pd.DataFrame({"ranker_a": names, "ranker_b": names, "intersection": int(k), "overlap": 1.0})
    matrix = pd.concat([pairs, mirrored, diagonal], ignore_index=True)
    base = alt.Chart(matrix).encode(x=alt.X("ranker_a:N", title=None, sort=names, axis=alt.Axis(labelAngle=0)),
                                    y=alt.Y("ranker_b:N", title=None, sort=names))
    heat = alt.layer(
        base.mark_rect().encode(color=alt.Color("overlap:Q", title="overlap", scale=alt.Scale(domain=[0, 1],
                                                                                              scheme="blues")),
                                tooltip=["ranker_a:N", "ranker_b:N", "intersection:Q",
                                         alt.Tooltip("overlap:Q", format=".0%")]),
        base.mark_text(fontSize=12).encode(
            text=alt.Text("overlap:Q", format=".0%"),
            color=alt.condition(alt.datum.overlap > 0.5, alt.value("white"), alt.value("black"))),
    ).properties(width=60 * len(names), height=60 * len(names), title=f"Share of the top {k} in common")
    lines = curve.assign(pair=curve["ranker_a"] + " / " + curve["ranker_b"])[["pair", "k", "overlap",
                                                                                "expected_overlap"]]
    expected = lines.drop_duplicates("k")[["k", "expected_overlap"]]
    span = [int(lines["k"].min()), int(lines["k"].max())]
    x = alt.X("k:Q", title="top k neurons (log scale)", axis=alt.Axis(values=sorted(set(lines["k"].astype(int))),
                                                                     labelAngle=0),
              scale=alt.Scale(type="log", domain=span, nice=False) if span[0] < span[1] else alt.Undefined)
    curve_chart = alt.layer(
        alt.Chart(lines).mark_line(point=True).encode(
            x=x, y=alt.Y("overlap:Q", title="overlap (share of the top k)", scale=alt.Scale(domain=[0, 1])),
            color=alt.Color("pair:N", title="rankers"),
            tooltip=["pair:N", "k:Q", alt.Tooltip("overlap:Q", format=".0%")]),
        alt.Chart(expected).mark_line(strokeDash=[4, 3], color="#888").encode(x=x, y="expected_overlap:Q"),
        alt.Chart(pd.DataFrame({"k": [int(k)]})).mark_rule(color="#555").encode(x="k:Q"),
    ).properties(width=320, height=220, title="Overlap vs k (dashed: two random rankings)")
    charts = [heat, curve_chart]
    if layers is not None:
        n_layers = layers["layer"].nunique()
        charts.append(alt.Chart(layers[["ranker", "layer", "share"]]).mark_bar().encode(
            x=alt.X("layer:O", title="layer (0 = embeddings)", axis=alt.Axis(labelAngle=0)),
            xOffset=alt.XOffset("ranker:N", sort=names),
            y=alt.Y("share:Q", title="share of the top k", axis=alt.Axis(format="%")),
            color=alt.Color("ranker:N", title="ranker", sort=names, scale=alt.Scale(scheme="dark2")),
            tooltip=["ranker:N", "layer:O", alt.Tooltip("share:Q", format=".0%")],
        ).properties(width=max(220, 14 * len(names) * n_layers), height=220, title=f"Where each ranker's top {k} sit"))
    return alt.hconcat(*charts).resolve_scale(color="independent")


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
