"""Where the neurons sit: layer distributions, the tag x layer heat map, layer-wise probing, relative depth.

``n_layers`` counts every layer INCLUDING the embeddings (a 6-layer BERT has ``n_layers=7``);
relative depth is ``layer / (n_layers - 1)`` (see :func:`add_relative_depth`).
"""

from __future__ import annotations

from collections.abc import Mapping

import altair as alt
import numpy as np
import pandas as pd

from ..neurons import relative_depth as _relative_depth
from ._base import ACCENT, DEPTH_TITLE, check_layers, check_rows, check_unique, layer_x, require

__all__ = ["add_relative_depth", "layer_distribution_chart", "tag_layer_heatmap", "depth_heatmap",
           "layerwise_accuracy_chart"]


# ----------------------------------------------------------------------------- depth


def add_relative_depth(df: pd.DataFrame, by: str | None = None,
                       n_layers: int | Mapping[str, int] | None = None) -> pd.DataFrame:
    """Return a copy of ``df`` with a ``relative_depth`` column, ``layer / (n_layers - 1)``.

    Parameters
    ----------
    df : DataFrame
        Must have an integer ``layer`` column (0 = embeddings).
    by : str, optional
        Column naming the model (or task, ...) whose own depth normalises its layers.
    n_layers : int or mapping, optional
        Layers INCLUDING the embeddings (a 6-layer BERT: 7), one int for all groups or one per
        value of ``by``. Default: per group, the deepest layer present + 1 (so it sits at depth 1).

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"model": ["a", "a", "b", "b", "b"], "layer": [0, 6, 0, 6, 12]})
    >>> add_relative_depth(df, by="model")["relative_depth"].tolist()
    [0.0, 1.0, 0.0, 0.5, 1.0]
    >>> add_relative_depth(df[df.model == "a"], n_layers=13)["relative_depth"].tolist()
    [0.0, 0.5]
    """
    require(df, ["layer"] + ([by] if by else []), "table")
    out = check_layers(df, "table")
    if n_layers is None:
        count = (out.groupby(by)["layer"].transform("max") if by
                 else pd.Series(out["layer"].max(), index=out.index)) + 1
    elif isinstance(n_layers, Mapping):
        if by is None:
            raise ValueError("n_layers given per group needs `by`")
        missing = sorted(set(out[by].astype(str)) - {str(k) for k in n_layers})
        if missing:
            raise ValueError(f"n_layers has no entry for {by} value(s) {missing}")
        lookup = {str(k): int(v) for k, v in n_layers.items()}
        count = out[by].astype(str).map(lookup)
    else:
        count = pd.Series(int(n_layers), index=out.index)
    if (count < 1).any():
        raise ValueError("n_layers counts the layers including the embeddings and must be >= 1")
    beyond = out["layer"] > count - 1
    if beyond.any():
        row = out.index[beyond.to_numpy()][0]
        raise ValueError(f"row {row!r}: layer {out.at[row, 'layer']} is beyond the last layer {count[row] - 1} "
                         f"(n_layers={count[row]} counts the embeddings)")
    depth = np.empty(len(out))
    for n, rows in out.groupby(count.to_numpy()).indices.items():
        depth[rows] = _relative_depth(out["layer"].to_numpy()[rows], int(n))
    out["relative_depth"] = depth
    return out


# ----------------------------------------------------------------------------- layers


def layer_distribution_chart(df: pd.DataFrame, facet: str | None = None, relative_depth: bool = False,
                             n_layers: int | Mapping[str, int] | None = None) -> alt.Chart:
    """Share of the selected neurons that falls in each layer.

    Parameters
    ----------
    df : DataFrame
        The table of :func:`neuronbook.analysis.layer_distribution`: columns ``layer``, ``count``,
        ``share`` (in 0..1), optionally ``fraction`` and ``relative_depth``, and, when ``facet``
        is given, that column (e.g. ``task``, ``model``, ``language``). One row per layer (per
        facet), zero-count layers included.
    facet : str, optional
        Column to split the chart by.
    relative_depth : bool
        Plot against relative depth (see the module notes) as lines, overlaying the ``facet``
        groups in colour so models of different depth compare on one axis. Otherwise draw bars
        per layer, one small multiple per ``facet`` value.
    n_layers : int or mapping, optional
        Layers including the embeddings, per ``facet`` value, for the relative depth; default:
        the table's ``relative_depth`` column, else see :func:`add_relative_depth`.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"layer": [0, 1, 2], "count": [1, 3, 6], "share": [0.1, 0.3, 0.6]})
    >>> layer_distribution_chart(df).to_dict()["mark"]["type"]
    'bar'
    """
    what = "layer distribution"
    require(df, ["layer", "count", "share"] + ([facet] if facet else []), what)
    has_fraction = "fraction" in df.columns and df["fraction"].notna().any()
    columns = ["layer", "count", "share"] + (["fraction"] if has_fraction else []) + ([facet] if facet else [])
    data = check_layers(df[columns], what)
    check_unique(data, ["layer"] + ([facet] if facet else []), what)
    check_rows(data, what)
    tooltip = ([f"{facet}:N"] if facet else []) + ["layer:O", "count:Q", alt.Tooltip("share:Q", format=".1%")] + (
        [alt.Tooltip("fraction:Q", format=".1%", title="fraction of the layer")] if has_fraction else [])
    y = alt.Y("share:Q", title="share of selected neurons", axis=alt.Axis(format="%"))
    if relative_depth:
        if n_layers is None and "relative_depth" in df.columns:
            depth = pd.to_numeric(df["relative_depth"], errors="coerce")
            if depth.isna().any() or (depth < 0).any() or (depth > 1).any():
                raise ValueError(f"{what}: relative_depth must lie in [0, 1]")
            data = data.assign(relative_depth=depth.to_numpy()).reset_index(drop=True)
        else:
            data = add_relative_depth(data, by=facet, n_layers=n_layers).reset_index(drop=True)
        encoding = dict(x=alt.X("relative_depth:Q", title=DEPTH_TITLE, scale=alt.Scale(domain=[0, 1])),
                        y=y, tooltip=tooltip + [alt.Tooltip("relative_depth:Q", format=".2f")])
        if facet:
            encoding["color"] = alt.Color(f"{facet}:N", title=facet)
        chart = alt.Chart(data).mark_line(point=True).encode(**encoding)
        return chart.properties(width=360, height=220, title="Where the neurons sit (relative depth)")
    data = data.reset_index(drop=True)
    encoding = dict(x=layer_x(), y=y, tooltip=tooltip)
    if facet:
        encoding["facet"] = alt.Facet(f"{facet}:N", title=facet, columns=min(4, data[facet].nunique()))
    chart = alt.Chart(data).mark_bar(color=ACCENT).encode(**encoding)
    return chart.properties(width=200 if facet else 320, height=160 if facet else 220,
                            title="Where the neurons sit")


def tag_layer_heatmap(df: pd.DataFrame, labels: bool | None = None, relative_depth: bool = False) -> alt.LayerChart:
    """Heat map of how many neurons each tag has in each layer.

    Parameters
    ----------
    df : DataFrame
        The table of :func:`neuronbook.analysis.tag_layer_counts`: columns ``tag``, ``layer``,
        ``count`` (and ``relative_depth`` for ``relative_depth=True``; others are ignored); one row
        per tag and layer.
    labels : bool, optional
        Write the count in each cell; by default only when there are at most 300 cells.
    relative_depth : bool
        Label the layer columns by their relative depth, so models of different depth read on one scale.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"tag": ["NN", "NN", "VB", "VB"], "layer": [0, 1, 0, 1], "count": [4, 1, 0, 7]})
    >>> [layer["mark"]["type"] for layer in tag_layer_heatmap(df).to_dict()["layer"]]
    ['rect', 'text']
    """
    what = "tag x layer table"
    columns = ["tag", "layer", "count"] + (["relative_depth"] if relative_depth else [])
    require(df, columns, what)
    data = check_layers(df[columns], what).reset_index(drop=True)
    check_unique(data, ["tag", "layer"], what)
    check_rows(data, what)
    tag_sort = alt.EncodingSortField("count", op="sum", order="descending")
    tooltip = ["tag:N", "layer:O", "count:Q"]
    if relative_depth:
        data["depth"] = [f"{d:.2f}" for d in data["relative_depth"].astype(float)]
        order = data.drop_duplicates("layer").sort_values("layer")["depth"].tolist()
        x = alt.X("depth:O", title=DEPTH_TITLE, sort=order, axis=alt.Axis(labelAngle=0))
        tooltip.insert(2, alt.Tooltip("relative_depth:Q", format=".2f"))
    else:
        x = layer_x()
    base = alt.Chart(data).encode(x=x, y=alt.Y("tag:N", title="tag", sort=tag_sort))
    rect = base.mark_rect().encode(
        color=alt.Color("count:Q", title="neurons", scale=alt.Scale(scheme="blues")), tooltip=tooltip)
    layers = [rect]
    if labels if labels is not None else len(data) <= 300:
        threshold = float(data["count"].max()) / 2
        layers.append(base.mark_text(fontSize=10).encode(
            text="count:Q",
            color=alt.condition(alt.datum["count"] > threshold, alt.value("white"), alt.value("black"))))
    n_columns = data["layer"].nunique()
    n_tags = data["tag"].nunique()
    return alt.layer(*layers).properties(
        width=max(160, (36 if relative_depth else 28) * n_columns), height=max(80, 16 * n_tags),
        title="Neurons per tag and relative depth" if relative_depth else "Neurons per tag and layer")


def depth_heatmap(df: pd.DataFrame) -> alt.LayerChart:
    """Heat map of neurons per tag over relative depth (the tag x layer table with a depth axis).

    The columns are the layers, labelled by their relative depth (``layer / (n_layers - 1)``), so
    runs of models of different depth read on one scale. The same as
    ``tag_layer_heatmap(df, relative_depth=True)``.

    Parameters
    ----------
    df : DataFrame
        :func:`neuronbook.tag_layer_counts`: ``tag``, ``layer``, ``count``, ``relative_depth``.

    Returns
    -------
    altair.LayerChart
        The cells (and their counts), one column per layer, titled by its relative depth.

    Examples
    --------
    >>> df = pd.DataFrame({"tag": ["NN", "NN"], "layer": [0, 1], "count": [4, 1], "relative_depth": [0.0, 1.0]})
    >>> spec = depth_heatmap(df).to_dict()
    >>> spec["layer"][0]["encoding"]["x"]["title"]
    'relative depth (0 = embeddings, 1 = last layer)'
    """
    return tag_layer_heatmap(df, relative_depth=True)


def layerwise_accuracy_chart(df: pd.DataFrame, color: str | None = "task") -> alt.LayerChart:
    """Accuracy of a probe trained on one layer at a time.

    Parameters
    ----------
    df : DataFrame
        Columns ``layer``, ``accuracy`` and optionally the ``color`` column (``task``, ``model``).
    color : str or None
        Column giving one line per value. Ignored when absent and there is one row per layer.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"layer": [0, 1, 2], "accuracy": [0.7, 0.9, 0.85]})
    >>> layerwise_accuracy_chart(df).to_dict()["layer"][0]["mark"]["type"]
    'line'
    """
    what = "layer-wise accuracy"
    require(df, ["layer", "accuracy"], what)
    if color is not None and color not in df.columns:
        if df["layer"].duplicated().any():
            raise ValueError(f"{what} has several rows per layer but no column {color!r} to tell them apart; "
                             f"pass color=<column> (it has {list(df.columns)})")
        color = None
    data = check_layers(df[["layer", "accuracy"] + ([color] if color else [])], what).reset_index(drop=True)
    check_unique(data, ["layer"] + ([color] if color else []), what)
    check_rows(data, what)
    encoding = dict(x=layer_x(), y=alt.Y("accuracy:Q", title="probe accuracy", scale=alt.Scale(zero=False)),
                    tooltip=([f"{color}:N"] if color else []) + ["layer:O", alt.Tooltip("accuracy:Q", format=".3f")])
    if color:
        encoding["color"] = alt.Color(f"{color}:N", title=color)
    base = alt.Chart(data).encode(**encoding)
    line = base.mark_line() if color else base.mark_line(color=ACCENT)
    point = base.mark_point(filled=True, size=40) if color else base.mark_point(filled=True, size=40, color=ACCENT)
    return alt.layer(line, point).properties(width=360, height=220, title="Layer-wise probing accuracy")
