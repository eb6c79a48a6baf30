"""Which neurons: the top of a ranking, one neuron's weight per tag, and how far rankers agree."""

from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd

__all__ = ["ranking_chart", "weights_chart", "agreement_charts"]


def ranking_chart(result, top: int = 20, selection: str = "neuron_pick") -> alt.Chart:
    """Bars of the ``top`` highest-ranked neurons (score, coloured by tag), clickable.

    A click selects a neuron through the point selection named ``selection`` over ``layer`` and
    ``neuron`` (read it with ``alt.JupyterChart(chart).selections.neuron_pick``); the bars not
    selected fade.

    Parameters
    ----------
    result : LCAResult or DataFrame
        An :class:`~neuronbook.lca.LCAResult` (its ``ranking`` is drawn) or a ranking table with
        columns ``rank``, ``layer``, ``neuron``, ``tag``, ``score``.
    top : int
        How many of the highest-ranked neurons to draw.
    selection : str
        Name of the click selection (a valid Vega-Lite parameter name).

    Returns
    -------
    altair.Chart
        One bar per neuron, labelled ``#rank L<layer> N<neuron>``, in rank order.

    Examples
    --------
    >>> from neuronbook.lca.result import toy_result
    >>> r = toy_result().rerank()
    >>> spec = ranking_chart(r).to_dict()
    >>> spec["params"][0]["name"], spec["mark"]["type"]
    ('neuron_pick', 'bar')
    """
    ranking = getattr(result, "ranking", result)
    head = ranking.sort_values("rank").head(int(top))
    data = pd.DataFrame({"rank": head["rank"].astype(int).to_numpy(), "layer": head["layer"].astype(int).to_numpy(),
                         "neuron": head["neuron"].astype(int).to_numpy(),
                         "tag": head["tag"].astype(object).where(head["tag"].notna(), "(none)").astype(str).to_numpy(),
                         "score": head["score"].astype(float).to_numpy()})
    data["label"] = [f"#{r} L{int(la)} N{int(n)}" for r, la, n in zip(data["rank"], data["layer"], data["neuron"])]
    pick = alt.selection_point(name=selection, fields=["layer", "neuron"], on="click")
    return alt.Chart(data).mark_bar().encode(
        x=alt.X("label:N", sort=alt.EncodingSortField("rank"), title="neuron (rank, layer, number)",
                axis=alt.Axis(labelAngle=-45)),
        y=alt.Y("score:Q", title="score (share of a tag's weight mass)"),
        color=alt.Color("tag:N", title="tag"),
        opacity=alt.condition(pick, alt.value(1.0), alt.value(0.4)),
        tooltip=["rank:Q", "layer:Q", "neuron:Q", "tag:N", alt.Tooltip("score:Q", format=".3f")],
    ).add_params(pick).properties(width=max(200, 22 * len(data)), height=160,
                                  title="Top-ranked neurons (click one to browse it)")


def weights_chart(weights: pd.DataFrame, title: str | None = None) -> alt.Chart:
    """Bars of one neuron's weight per tag, red negative, blue positive.

    Parameters
    ----------
    weights : DataFrame
        :meth:`LCAResult.neuron_weights` of one neuron: columns ``tag``, ``weight``, ``share``,
        ``n_train``.
    title : str, optional
        Chart title (default ``"Weight per tag"``).

    Returns
    -------
    altair.Chart
        One horizontal bar per tag, the largest weight on top.

    Examples
    --------
    >>> from neuronbook.lca.result import toy_result
    >>> weights_chart(toy_result().neuron_weights(0, 0)).to_dict()["mark"]["type"]
    'bar'
    """
    data = weights[["tag", "weight", "share", "n_train"]].copy()
    data["tag"] = data["tag"].astype(str)
    data["sign"] = np.where(data["weight"] < 0, "negative", "positive")
    return alt.Chart(data).mark_bar().encode(
        y=alt.Y("tag:N", sort=alt.EncodingSortField("weight", order="descending"), title=None),
        x=alt.X("weight:Q", title="probe weight"),
        color=alt.Color("sign:N", scale=alt.Scale(domain=["negative", "positive"], range=["#d73027", "#4575b4"]),
                        legend=None),
        tooltip=["tag:N", alt.Tooltip("weight:Q", format=".3f"), alt.Tooltip("share:Q", format=".1%"), "n_train:Q"],
    ).properties(width=240, height=max(60, 14 * len(data)), title=title or "Weight per tag")


def agreement_charts(at_k: pd.DataFrame, curve: pd.DataFrame, k: int,
                     layers: pd.DataFrame | None = None) -> alt.HConcatChart | alt.VConcatChart:
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

    Returns
    -------
    altair.HConcatChart or altair.VConcatChart
        The overlap matrix (the diagonal is 1) beside the overlap-vs-k curves with the overlap of two
        random rankings dashed; with ``layers``, grouped bars of each ranker's top k per layer on a
        second row (three charts side by side do not fit a notebook's width).

    Examples
    --------
    >>> rows = pd.DataFrame({"ranker_a": ["a"], "ranker_b": ["b"], "k": [2], "intersection": [1],
    ...                      "jaccard": [1 / 3], "overlap": [0.5], "expected_overlap": [0.5]})
    >>> len(agreement_charts(rows, rows, 2).to_dict()["hconcat"])
    2
    """
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
    top = alt.hconcat(*charts[:2]).resolve_scale(color="independent")
    if len(charts) == 2:
        return top
    # the layer bars on a row of their own: three charts side by side overflow a notebook's output area
    return alt.vconcat(top, charts[2]).resolve_scale(color="independent")
