"""How redundant: neuron clusters at a correlation threshold, and the disjoint minimal sets."""

from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd

from ._base import ACCENT, LIGHT

__all__ = ["cluster_charts", "disjoint_sets_chart"]


def cluster_charts(by_layer: pd.DataFrame, clusters: pd.DataFrame, sweep: pd.DataFrame | None = None,
                   threshold: float | None = None) -> alt.HConcatChart:
    """Clusters at one threshold: independent neurons per layer, cluster sizes and, with ``sweep``, the threshold curve.

    Parameters
    ----------
    by_layer : DataFrame
        :func:`neuronbook.clustering_summary` ``by="layer"`` (``layer``, ``n_neurons``, ``n_clusters``).
    clusters : DataFrame
        :func:`neuronbook.correlation_clusters` at that threshold (``cluster_size``, ``representative``).
    sweep : DataFrame, optional
        One row per threshold: ``threshold``, ``percent_independent`` (drawn as a line, with a rule
        at ``threshold``).
    threshold : float, optional
        The threshold of ``by_layer`` and ``clusters``, marked on the ``sweep`` curve.

    Returns
    -------
    altair.HConcatChart
        [the threshold curve,] neurons and clusters per layer (light / dark bars), and how many
        clusters have each size (sizes from 10 up pooled as ``"10+"``).

    Examples
    --------
    >>> by_layer = pd.DataFrame({"layer": [0, 1], "n_neurons": [4, 4], "n_clusters": [4, 2]})
    >>> cl = pd.DataFrame({"cluster": [1, 2, 3], "cluster_size": [1, 2, 2], "representative": True})
    >>> len(cluster_charts(by_layer, cl).to_dict()["hconcat"])
    2
    """
    layer_x = alt.X("layer:O", title="layer (0 = embeddings)", axis=alt.Axis(labelAngle=0))
    base = alt.Chart(by_layer[["layer", "n_neurons", "n_clusters"]].reset_index(drop=True)).encode(
        x=layer_x, tooltip=["layer:O", alt.Tooltip("n_neurons:Q", title="neurons"),
                            alt.Tooltip("n_clusters:Q", title="clusters (independent)")])
    layers_chart = alt.layer(
        base.mark_bar(color=LIGHT).encode(y=alt.Y("n_neurons:Q", title="neurons")),
        base.mark_bar(color=ACCENT, width={"band": 0.6}).encode(y="n_clusters:Q"),
    ).properties(width=max(200, 32 * len(by_layer)), height=200,
                 title="Independent neurons per layer (dark) of all (light)")
    reps = clusters[clusters["representative"]]
    sizes = reps["cluster_size"].astype(int).clip(upper=10)
    size_table = sizes.value_counts().sort_index().rename_axis("size").reset_index(name="n_clusters")
    size_table["label"] = [f"{s}" if s < 10 else "10+" for s in size_table["size"]]
    sizes_chart = alt.Chart(size_table).mark_bar(color=ACCENT).encode(
        x=alt.X("label:O", title="cluster size (neurons)", sort=size_table["label"].tolist(),
                axis=alt.Axis(labelAngle=0)),
        y=alt.Y("n_clusters:Q", title="clusters"),
        tooltip=[alt.Tooltip("label:O", title="size"), alt.Tooltip("n_clusters:Q", title="clusters")],
    ).properties(width=220, height=200, title="How many clusters have each size")
    charts = [layers_chart, sizes_chart]
    if sweep is not None and len(sweep):
        curve = alt.Chart(sweep[["threshold", "percent_independent"]].reset_index(drop=True)).mark_line(
            point=True, color=ACCENT).encode(
            x=alt.X("threshold:Q", title="threshold (1 - |corr|)", scale=alt.Scale(domain=[0, 1])),
            y=alt.Y("percent_independent:Q", title="independent neurons (%)", scale=alt.Scale(domain=[0, 100])),
            tooltip=["threshold:Q", alt.Tooltip("percent_independent:Q", format=".1f")])
        parts = [curve]
        if threshold is not None:
            parts.append(alt.Chart(pd.DataFrame({"threshold": [float(threshold)]})).mark_rule(
                color="#555", strokeDash=[4, 3]).encode(x="threshold:Q"))
        charts.insert(0, alt.layer(*parts).properties(width=220, height=200, title="Independence vs threshold"))
    return alt.hconcat(*charts)


def disjoint_sets_chart(summary: pd.DataFrame, sets: pd.DataFrame, n_layers: int | None = None) -> alt.HConcatChart:
    """The disjoint minimal sets: each set's size and dev accuracy against the target, and its layers.

    Parameters
    ----------
    summary : DataFrame
        :attr:`DisjointSets.summary` (``set``, ``reached``, ``n_neurons``, ``dev_accuracy``, ``target``;
        optionally ``remaining_dev_accuracy``, shown for a round that missed).
    sets : DataFrame
        :attr:`DisjointSets.sets` (``set``, ``layer``, ``neuron``).
    n_layers : int, optional
        Layers including the embeddings (default: the deepest layer in ``sets`` + 1).

    Returns
    -------
    altair.HConcatChart
        The size of each set (a missed round labelled ``"missed"``), its dev accuracy against the
        target (dashed) and, when ``sets`` has rows, each set's share per layer as a heat map.

    Examples
    --------
    >>> summary = pd.DataFrame({"set": [1, 2], "reached": [True, False], "n_neurons": [3, None],
    ...                         "dev_accuracy": [0.9, 0.7], "target": [0.89, 0.89]})
    >>> sets = pd.DataFrame({"set": [1, 1, 1], "rank": [1, 2, 3], "layer": [0, 1, 1], "neuron": [4, 2, 7]})
    >>> len(disjoint_sets_chart(summary, sets).to_dict()["hconcat"])
    3
    """
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
    color = alt.Color("outcome:N", title=None, scale=alt.Scale(domain=domain, range=[ACCENT, "#d95f02"]))
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
        color=alt.Color("outcome:N", scale=alt.Scale(domain=domain, range=[ACCENT, "#d95f02"]), legend=None),
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
