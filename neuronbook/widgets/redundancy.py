"""How redundant: a correlation-threshold view over neuron clusters.

:func:`cluster_sweep` clusters the neurons once per threshold of a grid
(:func:`neuronbook.correlation_clusters`); :class:`ClusterView` is a view over that table: a
threshold slider picks one cut and shows how many clusters (independent neurons) each layer keeps,
how large the clusters are, and how independence grows with the threshold.
The charts are :func:`neuronbook.plots.cluster_charts` and, for
:func:`neuronbook.disjoint_minimal_sets`, :func:`neuronbook.plots.disjoint_sets_chart`.

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

__all__ = ["ClusterView", "cluster_sweep"]

logger = logging.getLogger(__name__)

_STYLE = {"description_width": "initial"}
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
        from ..plots import cluster_charts

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
