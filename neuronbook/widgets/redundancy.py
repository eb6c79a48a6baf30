"""How redundant: a correlation-threshold view over neuron clusters, and the disjoint minimal sets chart.

:func:`cluster_sweep` clusters the neurons once per threshold of a grid
(:func:`neuronbook.correlation_clusters`); :class:`ClusterView` is a view over that table: a
threshold slider picks one cut and shows how many clusters (independent neurons) each layer keeps,
how large the clusters are, and how independence grows with the threshold.
:func:`disjoint_sets_chart` draws :func:`neuronbook.disjoint_minimal_sets`.

Examples
--------
>>> rng = np.random.default_rng(0)
>>> a = rng.normal(size=200)
>>> X = np.column_stack([a, a + 0.3 * rng.normal(size=200), rng.normal(size=200)])
>>> view = ClusterView(cluster_sweep(X, [0.0, 0.3]))
>>> view.set_threshold(0.3).summary["n_clusters"].item()
2
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
import pandas as pd

from ._base import ChartBox, View, ipw

__all__ = ["ClusterView", "cluster_sweep", "cluster_charts", "disjoint_sets_chart"]

logger = logging.getLogger(__name__)

_STYLE = {"description_width": "initial"}
_ACCENT = "#4c78a8"
_LIGHT = "#c6d4e6"
_CLUSTER_COLS = ["layer", "neuron", "cluster", "cluster_size", "representative"]


def cluster_sweep(X, thresholds: Sequence[float], neurons=None, method: str = "average") -> pd.DataFrame:
    """:func:`neuronbook.correlation_clusters` at every threshold, in one table with a ``threshold`` column.

    Parameters
    ----------
    X : ndarray or labelled DataFrame, (n_words, n_neurons)
        Activations (e.g. ``prepare(config).arrays()["X_train"]``).
    thresholds : sequence of float
        Dissimilarity cuts (``1 - |corr|``) in [0, 1].
    neurons : MultiIndex or DataFrame, optional
        ``(layer, neuron)`` of the columns of an ndarray ``X``.
    method : str
        Linkage method.

    Returns
    -------
    DataFrame
        ``threshold``, ``layer``, ``neuron``, ``cluster``, ``cluster_size``, ``representative``:
        one row per neuron and threshold, thresholds ascending.

    Examples
    --------
    >>> X = np.array([[1., 2., 0.], [2., 4., 1.], [3., 7., 0.], [4., 8., 1.]])
    >>> cluster_sweep(X, [0.2, 0.0]).groupby("threshold")["cluster"].max().tolist()
    [3, 2]
    """
    from ..analysis import correlation_clusters

    ts = sorted({float(t) for t in thresholds})
    if not ts:
        raise ValueError("give at least one threshold")
    parts = [correlation_clusters(X, t, neurons=neurons, method=method).assign(threshold=t) for t in ts]
    out = pd.concat(parts, ignore_index=True)
    return out[["threshold", *_CLUSTER_COLS]]


def cluster_charts(by_layer: pd.DataFrame, clusters: pd.DataFrame, sweep: pd.DataFrame | None = None,
                   threshold: float | None = None):
    """Clusters at one threshold: independent neurons per layer, cluster sizes and, with ``sweep``, the threshold curve.

    Parameters
    ----------
    by_layer : DataFrame
        :func:`neuronbook.clustering_summary` ``by="layer"``.
    clusters : DataFrame
        :func:`neuronbook.correlation_clusters` at that threshold.
    sweep : DataFrame, optional
        One row per threshold: ``threshold``, ``percent_independent`` (drawn as a line, with a rule
        at ``threshold``).
    threshold : float, optional

    Examples
    --------
    >>> by_layer = pd.DataFrame({"layer": [0, 1], "n_neurons": [4, 4], "n_clusters": [4, 2]})
    >>> cl = pd.DataFrame({"cluster": [1, 2, 3], "cluster_size": [1, 2, 2], "representative": True})
    >>> len(cluster_charts(by_layer, cl).to_dict()["hconcat"])
    2
    """
    import altair as alt

    layer_x = alt.X("layer:O", title="layer (0 = embeddings)", axis=alt.Axis(labelAngle=0))
    base = alt.Chart(by_layer[["layer", "n_neurons", "n_clusters"]].reset_index(drop=True)).encode(
        x=layer_x, tooltip=["layer:O", alt.Tooltip("n_neurons:Q", title="neurons"),
                            alt.Tooltip("n_clusters:Q", title="clusters (independent)")])
    layers_chart = alt.layer(
        base.mark_bar(color=_LIGHT).encode(y=alt.Y("n_neurons:Q", title="neurons")),
        base.mark_bar(color=_ACCENT, width={"band": 0.6}).encode(y="n_clusters:Q"),
    ).properties(width=max(200, 32 * len(by_layer)), height=200,
                 title="Independent neurons per layer (dark) of all (light)")
    reps = clusters[clusters["representative"]]
    sizes = reps["cluster_size"].astype(int).clip(upper=10)
    size_table = sizes.value_counts().sort_index().rename_axis("size").reset_index(name="n_clusters")
    size_table["label"] = [f"{s}" if s < 10 else "10+" for s in size_table["size"]]
    sizes_chart = alt.Chart(size_table).mark_bar(color=_ACCENT).encode(
        x=alt.X("label:O", title="cluster size (neurons)", sort=size_table["label"].tolist(),
                axis=alt.Axis(labelAngle=0)),
        y=alt.Y("n_clusters:Q", title="clusters"),
        tooltip=[alt.Tooltip("label:O", title="size"), alt.Tooltip("n_clusters:Q", title="clusters")],
    ).properties(width=220, height=200, title="How many clusters have each size")
    charts = [layers_chart, sizes_chart]
    if sweep is not None and len(sweep):
        curve = alt.Chart(sweep[["threshold", "percent_independent"]].reset_index(drop=True)).mark_line(
            point=True, color=_ACCENT).encode(
            x=alt.X("threshold:Q", title="threshold (1 - |corr|)", scale=alt.Scale(domain=[0, 1])),
            y=alt.Y("percent_independent:Q", title="independent neurons (%)", scale=alt.Scale(domain=[0, 100])),
            tooltip=["threshold:Q", alt.Tooltip("percent_independent:Q", format=".1f")])
        parts = [curve]
        if threshold is not None:
            parts.append(alt.Chart(pd.DataFrame({"threshold": [float(threshold)]})).mark_rule(
                color="#555", strokeDash=[4, 3]).encode(x="threshold:Q"))
        charts.insert(0, alt.layer(*parts).properties(width=220, height=200, title="Independence vs threshold"))
    return alt.hconcat(*charts)


class ClusterView(View):
    """A correlation-threshold slider over precomputed clusters (:func:`cluster_sweep`).

    Parameters
    ----------
    sweep : DataFrame
        :func:`cluster_sweep`: clusters of every neuron at each threshold of a grid.
    threshold : float, optional
        Start threshold (default 0.3, snapped to the nearest one computed).
    chart_mode : {"auto", "jupyter", "output"}

    Attributes
    ----------
    threshold : float
        The threshold shown.
    clusters : DataFrame
        :func:`neuronbook.correlation_clusters` at :attr:`threshold`.
    summary : DataFrame
        :func:`neuronbook.clustering_summary` (one row).
    table : DataFrame
        :func:`neuronbook.clustering_summary` per layer (counts, largest cluster, representatives).
    curve : DataFrame
        ``threshold``, ``n_clusters``, ``percent_independent`` over the whole grid.
    chart : altair chart
    text : str
    """

    def __init__(self, sweep: pd.DataFrame, threshold: float | None = None, chart_mode: str = "auto"):
        from ..analysis import clustering_summary

        missing = [c for c in ["threshold", *_CLUSTER_COLS] if c not in getattr(sweep, "columns", [])]
        if missing:
            raise ValueError(f"sweep lacks column(s) {missing}: pass the table of cluster_sweep")
        if not len(sweep):
            raise ValueError("sweep is empty: nothing to show")
        w = ipw()
        self.sweep = sweep
        self.thresholds = sorted(float(t) for t in sweep["threshold"].unique())
        self.curve = pd.DataFrame([{"threshold": t, **clustering_summary(g).iloc[0].to_dict()}
                                   for t, g in sweep.groupby("threshold", sort=True)])
        self.threshold = self._snap(0.3 if threshold is None else threshold)
        self._update_state()
        self.slider = w.SelectionSlider(options=[(f"{t:.2f}", t) for t in self.thresholds], value=self.threshold,
                                        description="threshold (1 - |corr|)", continuous_update=False,
                                        style=_STYLE, layout=w.Layout(width="420px"))
        self.box = ChartBox(self.chart, chart_mode)
        self.note = w.HTML(self.text)
        self.slider.observe(lambda change: self.set_threshold(change["new"]), names="value")
        self.widget = w.VBox([self.slider, self.note, self.box.widget])

    def _snap(self, threshold: float) -> float:
        if not 0 <= float(threshold) <= 1:
            raise ValueError(f"threshold must lie in [0, 1] (a dissimilarity 1 - |corr|), got {threshold}")
        ts = np.asarray(self.thresholds)
        return float(ts[int(np.argmin(np.abs(ts - float(threshold))))])

    def set_threshold(self, threshold: float) -> "ClusterView":
        """Show the clusters at ``threshold`` (snapped to the nearest computed one)."""
        threshold = self._snap(threshold)
        if threshold == self.threshold:
            return self
        self.threshold = threshold
        self._update_state()
        if self.slider.value != threshold:
            self.slider.value = threshold  # its observer calls back and finds nothing to do
        self.box.chart = self.chart
        self.note.value = self.text
        return self

    def _update_state(self) -> None:
        from ..analysis import clustering_summary

        rows = self.sweep[np.isclose(self.sweep["threshold"].astype(float), self.threshold)]
        self.clusters = rows[_CLUSTER_COLS].reset_index(drop=True)
        self.summary = clustering_summary(self.clusters)
        self.table = clustering_summary(self.clusters, by="layer")
        self.chart = cluster_charts(self.table, self.clusters, self.curve, self.threshold)
        self.text = self._describe()

    def _describe(self) -> str:
        s = self.summary.iloc[0]
        return (f"At threshold <b>{self.threshold:.2f}</b> (neurons whose activations correlate with |corr| &ge; "
                f"{1 - self.threshold:.2f} on average group together), {int(s['n_neurons'])} neurons form "
                f"<b>{int(s['n_clusters'])}</b> clusters: {s['percent_independent']:.1f}% independent, "
                f"{int(s['n_singletons'])} correlated with no other, the largest cluster has "
                f"{int(s['largest_cluster'])} neurons.")


def disjoint_sets_chart(summary: pd.DataFrame, sets: pd.DataFrame, n_layers: int | None = None):
    """The disjoint minimal sets: each set's size and dev accuracy against the target, and its layers.

    Parameters
    ----------
    summary : DataFrame
        :attr:`DisjointSets.summary` (``set``, ``reached``, ``n_neurons``, ``dev_accuracy``, ``target``).
    sets : DataFrame
        :attr:`DisjointSets.sets` (``set``, ``layer``, ``neuron``).
    n_layers : int, optional
        Layers including the embeddings (default: the deepest layer in ``sets`` + 1).

    Examples
    --------
    >>> summary = pd.DataFrame({"set": [1, 2], "reached": [True, False], "n_neurons": [3, None],
    ...                         "dev_accuracy": [0.9, 0.7], "target": [0.89, 0.89]})
    >>> sets = pd.DataFrame({"set": [1, 1, 1], "rank": [1, 2, 3], "layer": [0, 1, 1], "neuron": [4, 2, 7]})
    >>> len(disjoint_sets_chart(summary, sets).to_dict()["hconcat"])
    3
    """
    import altair as alt

    from ..analysis import layer_distribution

    s = summary.copy()
    s["set"] = s["set"].astype(int)
    s["n_neurons"] = pd.to_numeric(s["n_neurons"], errors="coerce").fillna(0).astype(int)
    s["target"] = s["target"].astype(float)
    reached = s["reached"].astype(bool)
    s["outcome"] = np.where(reached, "reached the target", "missed (search stops)")
    s["label"] = np.where(reached, s["n_neurons"].astype(str), "missed")
    # a round that missed has no set: show what all its remaining neurons reached instead
    s["accuracy"] = pd.to_numeric(s["dev_accuracy"], errors="coerce").astype(float)
    if "remaining_dev_accuracy" in s.columns:
        s["accuracy"] = s["accuracy"].fillna(pd.to_numeric(s["remaining_dev_accuracy"], errors="coerce"))
    s["of"] = np.where(reached, "the set", "all remaining neurons")
    domain = ["reached the target", "missed (search stops)"]
    color = alt.Color("outcome:N", title=None, scale=alt.Scale(domain=domain, range=[_ACCENT, "#d95f02"]))
    set_x = alt.X("set:O", title="disjoint set", axis=alt.Axis(labelAngle=0))
    data = s[["set", "n_neurons", "label", "accuracy", "of", "target", "outcome"]]
    width = max(120, 40 * len(s))
    top = max(1, int(s["n_neurons"].max()))
    bars = alt.Chart(data).encode(x=set_x, y=alt.Y("n_neurons:Q", title="neurons in the set",
                                                   scale=alt.Scale(domain=[0, top * 1.1])),
                                  tooltip=["set:O", "n_neurons:Q", "outcome:N"])
    sizes = alt.layer(bars.mark_bar().encode(color=color),
                      bars.mark_text(dy=-6, fontSize=11).encode(text="label:N")).properties(
        width=width, height=200, title="Size of each set")
    acc = alt.Chart(data).mark_point(filled=True, size=80).encode(
        x=set_x, y=alt.Y("accuracy:Q", title="dev accuracy", scale=alt.Scale(zero=False)),
        color=alt.Color("outcome:N", scale=alt.Scale(domain=domain, range=[_ACCENT, "#d95f02"]), legend=None),
        tooltip=["set:O", alt.Tooltip("accuracy:Q", format=".3f"), alt.Tooltip("of:N", title="probe on"),
                 alt.Tooltip("target:Q", format=".3f")])
    target = alt.Chart(pd.DataFrame({"target": [float(s["target"].iloc[0])]})).mark_rule(
        strokeDash=[4, 3], color="#555").encode(y="target:Q")
    accuracy = alt.layer(acc, target).properties(width=width, height=200,
                                                 title="Dev accuracy vs target (dashed)")
    charts = [sizes, accuracy]
    if len(sets):
        n = int(sets["layer"].max()) + 1 if n_layers is None else int(n_layers)
        dist = layer_distribution(sets, n, by="set")
        dist["set"] = dist["set"].astype(int)
        cells = alt.Chart(dist[["set", "layer", "count", "share"]]).encode(
            x=alt.X("layer:O", title="layer (0 = embeddings)", axis=alt.Axis(labelAngle=0)), y=set_x.title("set"))
        high = float(dist["share"].max()) / 2
        charts.append(alt.layer(
            cells.mark_rect().encode(
                color=alt.Color("share:Q", title="share of the set", scale=alt.Scale(scheme="blues", domainMin=0),
                                legend=alt.Legend(format="%")),
                tooltip=["set:O", "layer:O", "count:Q", alt.Tooltip("share:Q", format=".0%")]),
            cells.mark_text(fontSize=10).encode(
                text=alt.Text("share:Q", format=".0%"),
                color=alt.condition(alt.datum.share > high, alt.value("white"), alt.value("black"))),
        ).properties(width=max(160, 32 * n), height=max(60, 26 * dist["set"].nunique()),
                     title="Where each set sits (share per layer)"))
    return alt.hconcat(*charts).resolve_scale(color="independent")
