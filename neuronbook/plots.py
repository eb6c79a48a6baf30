"""Altair charts for the questions LCA answers: how many neurons, where they sit, what they fire on.

Every function takes a small tidy DataFrame (the output of the analysis modules), checks its
columns, and returns an :class:`altair.Chart` (or a layered / concatenated chart) without
displaying it. Data handed to Altair is pre-aggregated and kept under :data:`MAX_ROWS` rows;
a bigger table raises :class:`ValueError` instead of producing a heavy notebook.

Shared conventions
------------------
* Selections are always coloured with :data:`SELECTION_COLORS` (top / random / bottom).
* Layers are integers on an ordinal axis titled ``"layer (0 = embeddings)"``.
* ``n_layers`` counts every layer INCLUDING the embeddings (a 6-layer BERT has ``n_layers=7``),
  as everywhere in neuronbook. Relative depth is :func:`neuronbook.neurons.relative_depth`,
  ``layer / (n_layers - 1)``: the embeddings sit at 0 and the last layer at 1, whatever the
  model's depth, so a 6-layer and a 12-layer model share one axis. Without ``n_layers``, a
  table's own ``relative_depth`` column is used (:func:`neuronbook.analysis.layer_distribution`
  writes one), else ``n_layers`` is read per model from the data (deepest layer present + 1);
  see :func:`add_relative_depth`.
* Activations use red for negative and blue for positive values, opacity by magnitude.

Use :func:`save_chart` to write ``.html``, ``.json``, ``.png``, ``.svg`` or ``.pdf``; the image
formats need ``vl-convert-python`` (``pip install neuronbook[export]``).
"""

from __future__ import annotations

import html
import importlib.util
import logging
import unicodedata
from collections.abc import Mapping, Sequence
from pathlib import Path

import altair as alt
import numpy as np
import pandas as pd

from .neurons import relative_depth as _relative_depth

__all__ = [
    "MAX_ROWS",
    "SELECTION_COLORS",
    "activation_html",
    "activation_text_chart",
    "accuracy_curve_chart",
    "add_relative_depth",
    "architecture_comparison_chart",
    "baseline_chart",
    "finetuning_shift_chart",
    "language_similarity_chart",
    "layer_distribution_chart",
    "layerwise_accuracy_chart",
    "minimal_set_chart",
    "save_chart",
    "tag_layer_heatmap",
    "top_words",
    "top_words_chart",
]

logger = logging.getLogger(__name__)

#: Largest number of data rows any chart may carry (Altair's own default limit).
MAX_ROWS = 5000

#: Colour of each neuron selection, shared by every chart.
SELECTION_COLORS = {"top": "#1b9e77", "random": "#8c8c8c", "bottom": "#d95f02"}

_MODEL_STATE_COLORS = {"pretrained": "#8c8c8c", "fine-tuned": "#7b3294"}
_METHOD_DASH = {"retrain": [1, 0], "zero-out": [6, 3]}
_NEGATIVE = (215, 48, 39)  # red
_POSITIVE = (69, 117, 180)  # blue
_LAYER_TITLE = "layer (0 = embeddings)"
_DEPTH_TITLE = "relative depth (0 = embeddings, 1 = last layer)"
_ACCENT = "#4c78a8"


# ----------------------------------------------------------------------------- checks


def _require(df: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"{what} must be a pandas DataFrame, got {type(df).__name__}")
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ValueError(f"{what} lacks column(s) {missing}; it has {list(df.columns)}")


def _check_rows(df: pd.DataFrame, what: str) -> pd.DataFrame:
    if len(df) > MAX_ROWS:
        raise ValueError(
            f"{what} has {len(df)} rows, more than the {MAX_ROWS} a chart may carry; "
            "aggregate it first (e.g. groupby and mean) or select fewer items"
        )
    if len(df) == 0:
        raise ValueError(f"{what} is empty: nothing to plot")
    return df


def _check_layers(df: pd.DataFrame, what: str) -> pd.DataFrame:
    layers = pd.to_numeric(df["layer"], errors="coerce")
    bad = layers.isna() | (layers < 0) | (layers != np.round(layers))
    if bad.any():
        raise ValueError(
            f"{what}: column 'layer' must hold integers >= 0 (0 = embeddings); "
            f"row {df.index[bad.to_numpy()][0]!r} has {df['layer'][bad].iloc[0]!r}"
        )
    out = df.copy()
    out["layer"] = layers.astype(int)
    return out


def _check_values(df: pd.DataFrame, column: str, allowed: Sequence[str], what: str) -> None:
    unknown = sorted(set(df[column].astype(str)) - set(allowed))
    if unknown:
        raise ValueError(f"{what}: column {column!r} has unknown value(s) {unknown}; expected {list(allowed)}")


def _check_unique(df: pd.DataFrame, keys: Sequence[str], what: str, hint: str = "") -> None:
    dup = df.duplicated(list(keys), keep=False)
    if dup.any():
        first = df.loc[dup, list(keys)].iloc[0].to_dict()
        raise ValueError(f"{what} has several rows for {first}; one row per {list(keys)} is expected. {hint}".strip())


def _layer_x(**kwargs) -> alt.X:
    return alt.X("layer:O", title=_LAYER_TITLE, axis=alt.Axis(labelAngle=0), **kwargs)


def _selection_color() -> alt.Color:
    return alt.Color(
        "selection:N",
        title="neurons",
        scale=alt.Scale(domain=list(SELECTION_COLORS), range=list(SELECTION_COLORS.values())),
        sort=list(SELECTION_COLORS),
    )


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
    _require(df, ["layer"] + ([by] if by else []), "table")
    out = _check_layers(df, "table")
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


# ----------------------------------------------------------------------------- curves


def accuracy_curve_chart(curve: pd.DataFrame, oracle: float | None = None, split: str = "test",
                         log_x: bool = False) -> alt.LayerChart:
    """Accuracy against the share of neurons kept, one line per selection (top / random / bottom).

    Parameters
    ----------
    curve : DataFrame
        Columns ``selection`` (``"top"``, ``"random"``, ``"bottom"``), ``n_neurons``, ``percent``,
        ``accuracy``, ``split``; optional ``method`` (``"retrain"`` / ``"zero-out"``, drawn as
        solid / dashed lines). One row per selection, percent and method: average random seeds
        before plotting.
    oracle : float, optional
        Accuracy of the probe on all neurons, drawn as a horizontal rule.
    split : str
        Which ``split`` to plot.
    log_x : bool
        Log-scale the percent axis (useful when it spans 0.1 % to 100 %).

    Examples
    --------
    >>> import pandas as pd
    >>> curve = pd.DataFrame({"selection": ["top", "top", "random", "random"],
    ...                       "n_neurons": [10, 50, 10, 50], "percent": [1.0, 5.0, 1.0, 5.0],
    ...                       "accuracy": [0.80, 0.90, 0.40, 0.60], "split": "test"})
    >>> accuracy_curve_chart(curve, oracle=0.93).to_dict()["layer"][0]["mark"]["type"]
    'line'
    """
    what = "accuracy curve"
    _require(curve, ["selection", "n_neurons", "percent", "accuracy", "split"], what)
    splits = sorted(set(curve["split"].astype(str)))
    if split not in splits:
        raise ValueError(f"{what} has no rows for split {split!r}; it has {splits}")
    has_method = "method" in curve.columns
    columns = ["selection", "n_neurons", "percent", "accuracy"] + (["method"] if has_method else [])
    data = curve.loc[curve["split"].astype(str) == split, columns].reset_index(drop=True)
    _check_values(data, "selection", list(SELECTION_COLORS), what)
    if has_method:
        _check_values(data, "method", list(_METHOD_DASH), what)
    keys = ["selection", "percent"] + (["method"] if has_method else [])
    _check_unique(data, keys, what, "Average random seeds first, e.g. "
                  f"curve.groupby({keys + ['split']!r}, as_index=False)[['n_neurons', 'accuracy']].mean().")
    _check_rows(data, what)

    tooltip = ["selection:N", "n_neurons:Q", alt.Tooltip("percent:Q", format=".2f"),
               alt.Tooltip("accuracy:Q", format=".3f")] + (["method:N"] if has_method else [])
    if log_x and (data["percent"] <= 0).any():
        raise ValueError(f"{what}: log_x needs every percent > 0")
    lo, hi = float(data["percent"].min()), float(data["percent"].max())
    encoding = dict(
        x=alt.X("percent:Q", title="neurons kept (% of all)",
                scale=alt.Scale(type="log", domain=[lo, hi], nice=False) if log_x else alt.Scale(domain=[0, hi])),
        y=alt.Y("accuracy:Q", title=f"{split} accuracy", scale=alt.Scale(zero=False)),
        color=_selection_color(),
        tooltip=tooltip,
    )
    if has_method:
        encoding["strokeDash"] = alt.StrokeDash(
            "method:N", title="method",
            legend=alt.Legend(symbolType="stroke", symbolStrokeColor="black", symbolStrokeWidth=2),
            scale=alt.Scale(domain=list(_METHOD_DASH), range=list(_METHOD_DASH.values())))
        encoding["detail"] = "method:N"
    base = alt.Chart(data).encode(**encoding)
    # Points carry no dash encoding, else their (dash-less) symbols replace the method legend's lines.
    points = base.mark_point(filled=True, size=40)
    if has_method:
        points = points.encode(strokeDash=alt.value([1, 0]))
    layers = [base.mark_line(), points]
    if oracle is not None:
        oracle_df = pd.DataFrame({"label": [f"oracle {float(oracle):.3f}"], "accuracy": [float(oracle)]})
        rule = alt.Chart(oracle_df).mark_rule(color="black", strokeDash=[2, 2]).encode(y="accuracy:Q")
        # Label at the left end, where the top curve is still well below the oracle.
        text = alt.Chart(oracle_df).mark_text(align="left", baseline="bottom", dx=4, dy=-2).encode(
            y="accuracy:Q", x=alt.value(0), text="label:N")
        layers += [rule, text]
    return alt.layer(*layers).properties(
        width=360, height=240, title=f"Accuracy with a subset of neurons ({split})")


def baseline_chart(baselines: pd.DataFrame) -> alt.FacetChart:
    """Top minus random neurons, with its interval, for each baseline, method and size.

    Parameters
    ----------
    baselines : DataFrame
        :attr:`neuronbook.LCAResult.baselines`: ``percent``, ``baseline``, ``method``, ``variant``,
        ``difference``, ``ci_low``, ``ci_high`` (and ``mean``, ``top``, ``n_draws`` for the tooltip).

    Returns
    -------
    altair.FacetChart
        One panel per size; a row per method and variant; a point per baseline (uniform random in
        grey, layer-matched random in purple) with its interval; the rule marks no difference.
        Keep-selected: top should lead (positive); remove-selected: removing the top set should
        hurt more than removing random neurons (negative).

    Examples
    --------
    >>> b = pd.DataFrame({"percent": 10.0, "baseline": ["random", "layer-matched random"],
    ...                   "method": "retrain", "variant": "keep-selected", "difference": [0.02, 0.005],
    ...                   "ci_low": [0.015, 0.001], "ci_high": [0.025, 0.009], "mean": [0.89, 0.9],
    ...                   "top": 0.906, "n_draws": 10})
    >>> type(baseline_chart(b)).__name__
    'FacetChart'
    """
    what = "baselines"
    _require(baselines, ["percent", "baseline", "method", "variant", "difference", "ci_low", "ci_high"], what)
    data = baselines.copy()
    data["set"] = data["method"].astype(str) + ", " + data["variant"].astype(str).str.replace("-selected", "")
    data["points"] = data["difference"] * 100
    data["low"] = data["ci_low"] * 100
    data["high"] = data["ci_high"] * 100
    keep = [c for c in ("percent", "baseline", "set", "points", "low", "high", "mean", "top", "n_draws")
            if c in data.columns]
    data = _check_rows(data[keep].reset_index(drop=True), what)
    color = alt.Color("baseline:N", title="against", scale=alt.Scale(
        domain=["random", "layer-matched random"], range=[SELECTION_COLORS["random"], "#7b3294"]))
    y = alt.Y("set:N", title=None)
    offset = alt.YOffset("baseline:N")
    tooltip = ["baseline:N", "set:N", alt.Tooltip("points:Q", title="top - mean (points)", format=".2f"),
               alt.Tooltip("low:Q", format=".2f"), alt.Tooltip("high:Q", format=".2f")]
    tooltip += [alt.Tooltip(c + ":Q", format=".3f") for c in ("mean", "top") if c in data.columns]
    base = alt.Chart(data)
    bars = base.mark_rule(strokeWidth=2).encode(x=alt.X("low:Q", title="top - random (accuracy points)"),
                                                x2="high:Q", y=y, yOffset=offset, color=color)
    dots = base.mark_point(filled=True, size=50).encode(x="points:Q", y=y, yOffset=offset, color=color,
                                                        tooltip=tooltip)
    zero = base.mark_rule(color="black", strokeDash=[2, 2]).encode(x=alt.datum(0))
    return alt.layer(zero, bars, dots).properties(width=260, height=alt.Step(14)).facet(
        column=alt.Column("percent:O", title="neurons in the set (% of all)"),
        title="Top neurons against random neurons of the same size (test; interval: 95 % t over draws)")


def minimal_set_chart(curve: pd.DataFrame, minimal_set: pd.DataFrame) -> alt.LayerChart:
    """Dev accuracy of the top prefixes with its bootstrap band, the target, and the minimal set's interval.

    Parameters
    ----------
    curve : DataFrame
        :attr:`neuronbook.LCAResult.curve` (``n_neurons``, ``split``, ``accuracy``; the band needs
        ``ci_low`` / ``ci_high``, written when the analysis ran a bootstrap).
    minimal_set : DataFrame
        :attr:`neuronbook.LCAResult.minimal_set` (``n_neurons``, ``target``; ``size_low`` /
        ``size_high`` for the shaded interval).

    Examples
    --------
    >>> c = pd.DataFrame({"n_neurons": [10, 20, 40], "split": "dev", "accuracy": [0.7, 0.85, 0.9],
    ...                   "ci_low": [0.68, 0.83, 0.88], "ci_high": [0.72, 0.87, 0.92]})
    >>> m = pd.DataFrame({"n_neurons": [20], "target": [0.84], "size_low": [20.0], "size_high": [40.0]})
    >>> len(minimal_set_chart(c, m).to_dict()["layer"])
    5
    """
    what = "minimal-set curve"
    _require(curve, ["n_neurons", "split", "accuracy"], what)
    _require(minimal_set, ["n_neurons", "target"], "minimal set")
    cols = ["n_neurons", "accuracy"] + [c for c in ("ci_low", "ci_high") if c in curve.columns]
    data = curve.loc[curve["split"].astype(str) == "dev", cols].sort_values("n_neurons").reset_index(drop=True)
    if data.empty:
        raise ValueError(f"{what} has no dev rows")
    data = _check_rows(data, what)
    ms = minimal_set.iloc[0]
    right = max(float(data["n_neurons"].max()), float(ms.get("size_high", 0) or 0), float(ms["n_neurons"]))
    x = alt.X("n_neurons:Q", title="top neurons kept",
              scale=alt.Scale(type="log", domain=[float(data["n_neurons"].min()), right], nice=False))
    y = alt.Y("accuracy:Q", title="dev accuracy", scale=alt.Scale(zero=False))
    layers = []
    if {"size_low", "size_high"} <= set(minimal_set.columns) and pd.notna(ms.get("size_low")):
        span = pd.DataFrame({"lo": [float(ms["size_low"])], "hi": [max(float(ms["size_high"]), float(ms["size_low"]))],
                             "label": [f"minimal set, bootstrap 95 %: {ms['size_low']:g}-{ms['size_high']:g}"]})
        layers.append(alt.Chart(span).mark_rect(color="#1b9e77", opacity=0.12).encode(
            x="lo:Q", x2="hi:Q", tooltip="label:N"))
    if "ci_low" in data.columns and data["ci_low"].notna().any():
        layers.append(alt.Chart(data).mark_area(color=_ACCENT, opacity=0.25).encode(
            x=x, y="ci_low:Q", y2="ci_high:Q"))
    layers.append(alt.Chart(data).mark_line(point=True, color=_ACCENT).encode(
        x=x, y=y, tooltip=["n_neurons:Q", alt.Tooltip("accuracy:Q", format=".4f")]))
    target = pd.DataFrame({"target": [float(ms["target"])], "label": [f"target {float(ms['target']):.3f}"]})
    layers.append(alt.Chart(target).mark_rule(color="black", strokeDash=[2, 2]).encode(y="target:Q"))
    title = "Minimal set: dev accuracy of the top prefixes (band: bootstrap 95 %)"
    if bool(ms.get("reached", True)):
        chosen = pd.DataFrame({"n": [int(ms["n_neurons"])], "label": [f"minimal set: {int(ms['n_neurons'])}"]})
        layers.append(alt.Chart(chosen).mark_rule(color="#1b9e77").encode(x="n:Q", tooltip="label:N"))
    else:  # no prefix reached the target: no size to mark
        title = "Minimal set NOT REACHED: no top prefix reached the target (dashed) on dev"
    return alt.layer(*layers).properties(width=360, height=220, title=title)


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
    _require(df, ["layer", "count", "share"] + ([facet] if facet else []), what)
    has_fraction = "fraction" in df.columns and df["fraction"].notna().any()
    columns = ["layer", "count", "share"] + (["fraction"] if has_fraction else []) + ([facet] if facet else [])
    data = _check_layers(df[columns], what)
    _check_unique(data, ["layer"] + ([facet] if facet else []), what)
    _check_rows(data, what)
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
        encoding = dict(x=alt.X("relative_depth:Q", title=_DEPTH_TITLE, scale=alt.Scale(domain=[0, 1])),
                        y=y, tooltip=tooltip + [alt.Tooltip("relative_depth:Q", format=".2f")])
        if facet:
            encoding["color"] = alt.Color(f"{facet}:N", title=facet)
        chart = alt.Chart(data).mark_line(point=True).encode(**encoding)
        return chart.properties(width=360, height=220, title="Where the neurons sit (relative depth)")
    data = data.reset_index(drop=True)
    encoding = dict(x=_layer_x(), y=y, tooltip=tooltip)
    if facet:
        encoding["facet"] = alt.Facet(f"{facet}:N", title=facet, columns=min(4, data[facet].nunique()))
    chart = alt.Chart(data).mark_bar(color=_ACCENT).encode(**encoding)
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
    _require(df, columns, what)
    data = _check_layers(df[columns], what).reset_index(drop=True)
    _check_unique(data, ["tag", "layer"], what)
    _check_rows(data, what)
    tag_sort = alt.EncodingSortField("count", op="sum", order="descending")
    tooltip = ["tag:N", "layer:O", "count:Q"]
    if relative_depth:
        data["depth"] = [f"{d:.2f}" for d in data["relative_depth"].astype(float)]
        order = data.drop_duplicates("layer").sort_values("layer")["depth"].tolist()
        x = alt.X("depth:O", title=_DEPTH_TITLE, sort=order, axis=alt.Axis(labelAngle=0))
        tooltip.insert(2, alt.Tooltip("relative_depth:Q", format=".2f"))
    else:
        x = _layer_x()
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
    _require(df, ["layer", "accuracy"], what)
    if color is not None and color not in df.columns:
        if df["layer"].duplicated().any():
            raise ValueError(f"{what} has several rows per layer but no column {color!r} to tell them apart; "
                             f"pass color=<column> (it has {list(df.columns)})")
        color = None
    data = _check_layers(df[["layer", "accuracy"] + ([color] if color else [])], what).reset_index(drop=True)
    _check_unique(data, ["layer"] + ([color] if color else []), what)
    _check_rows(data, what)
    encoding = dict(x=_layer_x(), y=alt.Y("accuracy:Q", title="probe accuracy", scale=alt.Scale(zero=False)),
                    tooltip=([f"{color}:N"] if color else []) + ["layer:O", alt.Tooltip("accuracy:Q", format=".3f")])
    if color:
        encoding["color"] = alt.Color(f"{color}:N", title=color)
    base = alt.Chart(data).encode(**encoding)
    line = base.mark_line() if color else base.mark_line(color=_ACCENT)
    point = base.mark_point(filled=True, size=40) if color else base.mark_point(filled=True, size=40, color=_ACCENT)
    return alt.layer(line, point).properties(width=360, height=220, title="Layer-wise probing accuracy")


# ----------------------------------------------------------------------------- comparisons


def finetuning_shift_chart(summary: pd.DataFrame, overlap: pd.DataFrame | None = None) -> alt.HConcatChart | alt.LayerChart:
    """How fine-tuning moves the salient neurons: mean layer before/after, and their overlap.

    Parameters
    ----------
    summary : DataFrame
        Columns ``task``, ``model`` (``"pretrained"`` / ``"fine-tuned"``), ``mean_layer``,
        ``n_neurons``, ``accuracy``; one row per task and model. Drawn as a dumbbell per task.
    overlap : DataFrame, optional
        Columns ``task``, ``jaccard``: overlap of the two neuron sets, drawn as bars beside it.

    Examples
    --------
    >>> import pandas as pd
    >>> summary = pd.DataFrame({"task": ["POS", "POS"], "model": ["pretrained", "fine-tuned"],
    ...                         "mean_layer": [2.5, 4.0], "n_neurons": [40, 30], "accuracy": [0.9, 0.92]})
    >>> overlap = pd.DataFrame({"task": ["POS"], "jaccard": [0.2]})
    >>> len(finetuning_shift_chart(summary, overlap).to_dict()["hconcat"])
    2
    """
    what = "fine-tuning summary"
    columns = ["task", "model", "mean_layer", "n_neurons", "accuracy"]
    _require(summary, columns, what)
    data = summary[columns].reset_index(drop=True)
    _check_values(data, "model", list(_MODEL_STATE_COLORS), what)
    _check_unique(data, ["task", "model"], what)
    _check_rows(data, what)
    task_y = alt.Y("task:N", title="task", sort=alt.EncodingSortField("mean_layer", op="max", order="descending"))
    base = alt.Chart(data)
    rule = base.mark_rule(color="#bbbbbb", strokeWidth=3).encode(
        y=task_y, x=alt.X("min(mean_layer):Q", title="mean layer of selected neurons"), x2="max(mean_layer)")
    points = base.mark_circle(size=120, opacity=1).encode(
        y=task_y, x="mean_layer:Q",
        color=alt.Color("model:N", title="model", legend=alt.Legend(orient="top"),
                        scale=alt.Scale(domain=list(_MODEL_STATE_COLORS), range=list(_MODEL_STATE_COLORS.values()))),
        tooltip=["task:N", "model:N", alt.Tooltip("mean_layer:Q", format=".2f"), "n_neurons:Q",
                 alt.Tooltip("accuracy:Q", format=".3f")])
    dumbbell = alt.layer(rule, points).properties(width=300, height=max(60, 26 * data["task"].nunique()),
                                                  title="Mean layer before and after fine-tuning")
    if overlap is None:
        return dumbbell
    what = "overlap table"
    _require(overlap, ["task", "jaccard"], what)
    ov = overlap[["task", "jaccard"]].reset_index(drop=True)
    _check_unique(ov, ["task"], what)
    _check_rows(ov, what)
    unknown = sorted(set(ov["task"].astype(str)) - set(data["task"].astype(str)))
    if unknown:
        raise ValueError(f"{what} has task(s) {unknown} that the summary lacks")
    bars = alt.Chart(ov).mark_bar(color=_ACCENT).encode(
        y=alt.Y("task:N", title=None, sort=list(_task_order(data))),
        x=alt.X("jaccard:Q", title="Jaccard overlap", scale=alt.Scale(domain=[0, 1])),
        tooltip=["task:N", alt.Tooltip("jaccard:Q", format=".2f")],
    ).properties(width=160, height=max(60, 26 * data["task"].nunique()), title="Same neurons?")
    return alt.hconcat(dumbbell, bars).resolve_scale(color="independent")


def _task_order(summary: pd.DataFrame) -> list[str]:
    # Same order as the dumbbell's sort (max mean layer, descending) so the two panels line up.
    return summary.groupby("task")["mean_layer"].max().sort_values(ascending=False, kind="stable").index.tolist()


def architecture_comparison_chart(df: pd.DataFrame,
                                  n_layers: int | Mapping[str, int] | None = None) -> alt.HConcatChart:
    """Compare models of different depth: where their neurons sit, and how many they need.

    Parameters
    ----------
    df : DataFrame
        Columns ``model``, ``share``, ``percent_needed`` and ``relative_depth`` or ``layer``
        (then ``relative_depth`` is computed per model; see the module notes).
        ``percent_needed`` (share of all neurons needed to reach the oracle, in %) must be
        the same on every row of a model.
    n_layers : int or mapping, optional
        Layers including the embeddings, per model, when only ``layer`` is given; see
        :func:`add_relative_depth`.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"model": ["bert"] * 3 + ["tiny"] * 2, "layer": [0, 6, 12, 0, 2],
    ...                    "share": [0.2, 0.3, 0.5, 0.4, 0.6], "percent_needed": [1.5] * 3 + [4.0] * 2})
    >>> len(architecture_comparison_chart(df).to_dict()["hconcat"])
    2
    """
    what = "architecture comparison"
    _require(df, ["model", "share", "percent_needed"], what)
    if "relative_depth" in df.columns:
        data = df[["model", "relative_depth", "share"]].copy()
        depth = pd.to_numeric(data["relative_depth"], errors="coerce")
        if depth.isna().any() or (depth < 0).any() or (depth > 1).any():
            raise ValueError(f"{what}: relative_depth must lie in [0, 1]")
    elif "layer" in df.columns:
        data = add_relative_depth(df[["model", "layer", "share"]], by="model", n_layers=n_layers)
        data = data[["model", "layer", "relative_depth", "share"]]
    else:
        raise ValueError(f"{what} needs a 'relative_depth' or a 'layer' column; it has {list(df.columns)}")
    data = data.reset_index(drop=True)
    _check_unique(data, ["model", "relative_depth"], what)
    _check_rows(data, what)
    per_model = df.groupby("model", sort=False)["percent_needed"]
    varying = per_model.nunique()
    if (varying > 1).any():
        raise ValueError(f"{what}: percent_needed differs between rows of model(s) "
                         f"{varying[varying > 1].index.tolist()}; give one value per model")
    needed = per_model.first().reset_index()
    color = alt.Color("model:N", title="model")
    tooltip = ["model:N"] + (["layer:O"] if "layer" in data.columns else []) + [
        alt.Tooltip("relative_depth:Q", format=".2f"), alt.Tooltip("share:Q", format=".1%")]
    lines = alt.Chart(data).mark_line(point=True).encode(
        x=alt.X("relative_depth:Q", title=_DEPTH_TITLE, scale=alt.Scale(domain=[0, 1])),
        y=alt.Y("share:Q", title="share of selected neurons", axis=alt.Axis(format="%")),
        color=color, tooltip=tooltip,
    ).properties(width=320, height=220, title="Where the neurons sit")
    bars = alt.Chart(needed).mark_bar().encode(
        y=alt.Y("model:N", title=None, sort="x"),
        x=alt.X("percent_needed:Q", title="% of neurons needed"),
        color=alt.Color("model:N", title="model"),
        tooltip=["model:N", alt.Tooltip("percent_needed:Q", format=".2f")],
    ).properties(width=180, height=max(60, 26 * len(needed)), title="How many neurons")
    return alt.hconcat(lines, bars)


def language_similarity_chart(df: pd.DataFrame | None = None,
                              similarity: pd.DataFrame | None = None) -> alt.Chart | alt.HConcatChart:
    """Compare languages: layer distribution per language and overlap of their neuron sets.

    Parameters
    ----------
    df : DataFrame, optional
        Columns ``language``, ``layer``, ``share`` (one line per language). A table with the
        similarity columns below is taken as ``similarity`` instead.
    similarity : DataFrame, optional
        Columns ``language_a``, ``language_b``, ``jaccard``, drawn as a matrix. Pairs given in
        one direction only are mirrored; the diagonal is left as given.

    Examples
    --------
    >>> import pandas as pd
    >>> dist = pd.DataFrame({"language": ["en", "en", "de", "de"], "layer": [0, 1, 0, 1],
    ...                      "share": [0.4, 0.6, 0.3, 0.7]})
    >>> sim = pd.DataFrame({"language_a": ["en"], "language_b": ["de"], "jaccard": [0.3]})
    >>> len(language_similarity_chart(dist, sim).to_dict()["hconcat"])
    2
    """
    sim_columns = ["language_a", "language_b", "jaccard"]
    if df is not None and similarity is None and set(sim_columns) <= set(df.columns):
        df, similarity = None, df
    if df is None and similarity is None:
        raise ValueError("language_similarity_chart needs a layer distribution, a similarity table, or both")
    panels = []
    if df is not None:
        what = "language distribution"
        _require(df, ["language", "layer", "share"], what)
        data = _check_layers(df[["language", "layer", "share"]], what).reset_index(drop=True)
        _check_unique(data, ["language", "layer"], what)
        _check_rows(data, what)
        panels.append(alt.Chart(data).mark_line(point=True).encode(
            x=_layer_x(),
            y=alt.Y("share:Q", title="share of selected neurons", axis=alt.Axis(format="%")),
            color=alt.Color("language:N", title="language"),
            tooltip=["language:N", "layer:O", alt.Tooltip("share:Q", format=".1%")],
        ).properties(width=320, height=220, title="Where the neurons sit, per language"))
    if similarity is not None:
        what = "language similarity"
        _require(similarity, sim_columns, what)
        sim = similarity[sim_columns].reset_index(drop=True)
        _check_unique(sim, ["language_a", "language_b"], what)
        mirrored = sim.rename(columns={"language_a": "language_b", "language_b": "language_a"})[sim_columns]
        have = set(zip(sim["language_a"], sim["language_b"]))
        mirrored = mirrored[[(a, b) not in have for a, b in zip(mirrored["language_a"], mirrored["language_b"])]]
        sim = pd.concat([sim, mirrored], ignore_index=True)
        _check_rows(sim, what)
        order = sorted(set(sim["language_a"]) | set(sim["language_b"]))
        base = alt.Chart(sim).encode(x=alt.X("language_a:N", title=None, sort=order, axis=alt.Axis(labelAngle=0)),
                                     y=alt.Y("language_b:N", title=None, sort=order))
        rect = base.mark_rect().encode(
            color=alt.Color("jaccard:Q", title="Jaccard", scale=alt.Scale(scheme="purples", domain=[0, 1])),
            tooltip=["language_a:N", "language_b:N", alt.Tooltip("jaccard:Q", format=".2f")])
        text = base.mark_text(fontSize=11).encode(
            text=alt.Text("jaccard:Q", format=".2f"),
            color=alt.condition(alt.datum.jaccard > 0.5, alt.value("white"), alt.value("black")))
        side = max(120, 36 * len(order))
        panels.append(alt.layer(rect, text).properties(width=side, height=side, title="Neuron overlap"))
    return panels[0] if len(panels) == 1 else alt.hconcat(*panels).resolve_scale(color="independent")


# ----------------------------------------------------------------------------- activations


def _check_sentences(words: Sequence[Sequence[str]], values: Sequence[np.ndarray]) -> list[np.ndarray]:
    if len(words) != len(values):
        raise ValueError(f"got {len(words)} sentences of words but {len(values)} arrays of values")
    arrays = []
    for i, (sentence, vals) in enumerate(zip(words, values)):
        vals = np.asarray(vals, dtype=float)
        if vals.ndim != 1 or len(vals) != len(sentence):
            raise ValueError(f"sentence {i}: {len(sentence)} words but values of shape {vals.shape}")
        if not np.isfinite(vals).all():
            raise ValueError(f"sentence {i}: values contain NaN or inf at word {int(np.flatnonzero(~np.isfinite(vals))[0])}")
        arrays.append(vals)
    return arrays


def _max_abs(arrays: list[np.ndarray], max_abs: float | None) -> float:
    if max_abs is not None:
        if not max_abs > 0:
            raise ValueError(f"max_abs must be positive, got {max_abs}")
        return float(max_abs)
    peak = max((float(np.abs(a).max()) for a in arrays if len(a)), default=0.0)
    return peak if peak > 0 else 1.0  # all-zero activations: any scale shows them as blank


def _display_width(text: str) -> int:
    # East Asian wide characters take two monospace cells.
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def activation_text_chart(words: Sequence[Sequence[str]], values: Sequence[np.ndarray], title: str | None = None,
                          max_abs: float | None = None, max_chars: int = 90) -> alt.LayerChart:
    """Sentences as text, each word on a box coloured by one neuron's activation.

    Negative values are red, positive blue, with opacity ``|value| / max_abs``. Words are laid
    out left to right in a monospace font, one line per sentence (wrapped at ``max_chars``).

    Parameters
    ----------
    words : list of list of str
        The words of each sentence.
    values : list of 1-D arrays
        The neuron's activation for each word, same lengths as ``words``.
    title : str, optional
        Chart title.
    max_abs : float, optional
        Value that gets full opacity; default the largest ``|value|`` shown. Fix it to compare charts.
    max_chars : int
        Wrap a sentence longer than this many characters (words plus one space between them);
        a single longer word gets a line of its own.

    Examples
    --------
    >>> import numpy as np
    >>> chart = activation_text_chart([["the", "cat", "sat"]], [np.array([-1.0, 0.5, 2.0])])
    >>> [layer["mark"]["type"] for layer in chart.to_dict()["layer"]]
    ['rect', 'text']
    """
    arrays = _check_sentences(words, values)
    scale = _max_abs(arrays, max_abs)
    char_w, line_h, pad, gap = 7.8, 22.0, 3.0, 6.0  # px, for a 13 px monospace font
    if max_chars < 1:
        raise ValueError(f"max_chars must be >= 1, got {max_chars}")
    rows, y = [], 0.0
    for s, (sentence, vals) in enumerate(zip(words, arrays)):
        x, used = 0.0, 0  # used: characters on the current line, counting one space between words
        for w, (word, v) in enumerate(zip(sentence, vals)):
            n_chars = _display_width(str(word))
            width = n_chars * char_w + 2 * pad
            if used and used + 1 + n_chars > max_chars:
                x, used, y = 0.0, 0, y + line_h
            used += n_chars + (1 if used else 0)
            rows.append({"sentence": s, "position": w, "word": str(word), "value": float(v),
                         "sign": "negative" if v < 0 else "positive", "alpha": min(abs(float(v)) / scale, 1.0),
                         "x": x, "x2": x + width, "y": y + 2, "y2": y + line_h - 2, "ytext": y + line_h / 2})
            x += width + char_w / 2
        y += line_h + gap
    data = _check_rows(pd.DataFrame(rows), "activation text (one row per word)")
    px = dict(scale=None, axis=None)
    tooltip = [alt.Tooltip("word:N"), alt.Tooltip("value:Q", format=".3f"), "sentence:O", "position:O"]
    base = alt.Chart(data)
    boxes = base.mark_rect(cornerRadius=2).encode(
        x=alt.X("x:Q", **px), x2="x2:Q", y=alt.Y("y:Q", **px), y2="y2:Q",
        color=alt.Color("sign:N", title=f"activation (full colour at |v| = {scale:.3g})",
                        scale=alt.Scale(domain=["negative", "positive"],
                                        range=[_rgb(_NEGATIVE), _rgb(_POSITIVE)])),
        opacity=alt.Opacity("alpha:Q", scale=None, legend=None),
        tooltip=tooltip)
    text = base.mark_text(align="left", baseline="middle", font="monospace", fontSize=13, dx=pad).encode(
        x=alt.X("x:Q", **px), y=alt.Y("ytext:Q", **px), text="word:N", tooltip=tooltip,
        color=alt.condition(alt.datum.alpha > 0.6, alt.value("white"), alt.value("black")))
    width = float(data["x2"].max()) + 4
    props = dict(width=width, height=y, view=alt.ViewBackground(strokeWidth=0))
    if title:
        props["title"] = title
    return alt.layer(boxes, text).properties(**props)


def _rgb(color: tuple[int, int, int]) -> str:
    return "#{:02x}{:02x}{:02x}".format(*color)


def activation_html(words: Sequence[Sequence[str]], values: Sequence[np.ndarray], max_abs: float | None = None,
                    baseline: float = 0.0) -> str:
    """The same coloured text as :func:`activation_text_chart`, as plain HTML with inline styles.

    Show it with ``IPython.display.HTML(activation_html(...))`` or in an ``ipywidgets.HTML``.
    Each word's activation is in its ``title`` (hover text). Colours show ``value - baseline``:
    pass the neuron's mean to colour by "above / below its mean" (what :func:`top_words`'s signed
    ``z`` means), 0 for the raw sign.

    Examples
    --------
    >>> import numpy as np
    >>> html_text = activation_html([["the", "<cat>"]], [np.array([-1.0, 2.0])])
    >>> "rgba(215, 48, 39, 0.500)" in html_text and "&lt;cat&gt;" in html_text
    True
    >>> "rgba(69, 117, 180, 0.000)" in activation_html([["a"]], [np.array([3.0])], baseline=3.0)
    True
    """
    arrays = _check_sentences(words, values)
    scale = _max_abs([a - baseline for a in arrays], max_abs)
    lines = []
    for sentence, vals in zip(words, arrays):
        spans = []
        for word, v in zip(sentence, vals):
            d = float(v) - baseline
            r, g, b = _NEGATIVE if d < 0 else _POSITIVE
            alpha = min(abs(d) / scale, 1.0)
            spans.append(f'<span title="{float(v):.4g}" style="background-color: rgba({r}, {g}, {b}, {alpha:.3f}); '
                         f'padding: 1px 3px; border-radius: 3px;">{html.escape(str(word))}</span>')
        lines.append(f'<div style="margin: 2px 0;">{" ".join(spans)}</div>')
    return '<div style="font-family: monospace; font-size: 13px; line-height: 1.9;">' + "".join(lines) + "</div>"


def top_words(words: Sequence[Sequence[str]], values, k: int = 20, min_count: int = 1) -> pd.DataFrame:
    """The word types on which a neuron fires most strongly, by mean ``|z|``.

    ``z`` is the activation standardised over all the given words; each word type gets the mean
    of ``|z|`` over its occurrences (``mean_z``) and of the signed ``z`` (``mean_signed_z``, to
    tell positive from negative firing).

    Parameters
    ----------
    words : list of list of str
        The words of each sentence.
    values : 1-D array
        The neuron's activation for every word, in the order of ``words`` flattened.
    k : int
        How many word types to keep.
    min_count : int
        Skip word types seen fewer times than this.

    Returns
    -------
    DataFrame
        Columns ``rank`` (1 = strongest), ``word``, ``count``, ``mean_z``, ``mean_signed_z``,
        sorted by ``mean_z`` descending (ties: more frequent first, then alphabetical).

    Examples
    --------
    >>> import numpy as np
    >>> top_words([["a", "b"], ["a", "c"]], np.array([1.0, -1.0, 1.0, -1.0]), k=2)["word"].tolist()
    ['a', 'b']
    """
    flat = [str(w) for sentence in words for w in sentence]
    vals = np.asarray(values, dtype=float)
    if vals.ndim != 1 or len(vals) != len(flat):
        raise ValueError(f"values must be 1-D with one entry per word: {len(flat)} words, values of shape {vals.shape}")
    if not np.isfinite(vals).all():
        raise ValueError(f"values contain NaN or inf at word {int(np.flatnonzero(~np.isfinite(vals))[0])}")
    if k < 1 or min_count < 1:
        raise ValueError(f"k and min_count must be >= 1, got k={k}, min_count={min_count}")
    std = vals.std()
    if std == 0:
        logger.warning("the neuron's activation is constant over these %d words; every z is 0", len(vals))
        z = np.zeros_like(vals)
    else:
        z = (vals - vals.mean()) / std
    table = (pd.DataFrame({"word": flat, "abs_z": np.abs(z), "z": z})
             .groupby("word", sort=False)
             .agg(count=("z", "size"), mean_z=("abs_z", "mean"), mean_signed_z=("z", "mean"))
             .reset_index())
    table = table[table["count"] >= min_count]
    table = table.sort_values(["mean_z", "count", "word"], ascending=[False, False, True], kind="stable").head(k)
    table.insert(0, "rank", np.arange(1, len(table) + 1))
    return table.reset_index(drop=True)


def top_words_chart(df: pd.DataFrame, title: str | None = None) -> alt.Chart:
    """Horizontal bars of :func:`top_words`: mean ``|z|`` per word, coloured by firing sign.

    Parameters
    ----------
    df : DataFrame
        Columns ``word``, ``count``, ``mean_z`` and optionally ``mean_signed_z``.
    title : str, optional
        Chart title (e.g. the neuron's name).

    Examples
    --------
    >>> import numpy as np
    >>> df = top_words([["a", "b"], ["a", "c"]], np.array([1.0, -1.0, 1.0, -3.0]))
    >>> top_words_chart(df).to_dict()["mark"]["type"]
    'bar'
    """
    what = "top words"
    _require(df, ["word", "count", "mean_z"], what)
    signed = "mean_signed_z" in df.columns
    data = df[["word", "count", "mean_z"] + (["mean_signed_z"] if signed else [])].reset_index(drop=True)
    _check_unique(data, ["word"], what)
    _check_rows(data, what)
    encoding = dict(
        y=alt.Y("word:N", title=None, sort=alt.EncodingSortField("mean_z", order="descending")),
        x=alt.X("mean_z:Q", title="mean |z| of activation"),
        tooltip=["word:N", "count:Q", alt.Tooltip("mean_z:Q", format=".2f")]
        + ([alt.Tooltip("mean_signed_z:Q", format=".2f")] if signed else []),
    )
    if signed:
        encoding["color"] = alt.Color(
            "direction:N", title="fires",
            scale=alt.Scale(domain=["negative", "positive"], range=[_rgb(_NEGATIVE), _rgb(_POSITIVE)]))
        chart = alt.Chart(data).transform_calculate(
            direction="datum.mean_signed_z < 0 ? 'negative' : 'positive'").mark_bar().encode(**encoding)
    else:
        chart = alt.Chart(data).mark_bar(color=_ACCENT).encode(**encoding)
    return chart.properties(width=280, height=max(60, 16 * len(data)), title=title or "Top words")


# ----------------------------------------------------------------------------- export


def _have_vl_convert() -> bool:
    return importlib.util.find_spec("vl_convert") is not None


def save_chart(chart, path: str | Path, scale: float = 2.0, inline: bool | None = None) -> Path:
    """Write a chart to ``path``, the format chosen by its suffix.

    ``.html`` and ``.json`` always work; ``.png``, ``.svg`` and ``.pdf`` need ``vl-convert-python``.

    Parameters
    ----------
    chart : altair chart
        Any chart from this module (or Altair).
    path : str or Path
        Destination; parent folders are created.
    scale : float
        Pixel density of a PNG (2 = sharp on high-DPI screens).
    inline : bool, optional
        For HTML: embed the Vega JavaScript in the file so it opens offline. Default: inline when
        vl-convert (which bundles the scripts) is installed, else load them from a CDN.

    Returns
    -------
    Path
        The file written.

    Examples
    --------
    >>> import tempfile, pandas as pd
    >>> df = pd.DataFrame({"layer": [0, 1], "count": [1, 3], "share": [0.25, 0.75]})
    >>> out = save_chart(layer_distribution_chart(df), tempfile.mkdtemp() + "/dist.html")
    >>> out.stat().st_size > 0
    True
    """
    path = Path(path)
    fmt = path.suffix.lower().lstrip(".")
    if fmt not in ("html", "json", "png", "svg", "pdf"):
        raise ValueError(f"cannot save a chart as {path.name!r}: use a .html, .json, .png, .svg or .pdf suffix")
    if fmt in ("png", "svg", "pdf") and not _have_vl_convert():
        raise ImportError(f"saving {path.name!r} as {fmt.upper()} needs vl-convert-python; install it with "
                          "`pip install vl-convert-python` (or neuronbook[export]), or save as .html")
    path.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "html":
        chart.save(str(path), format="html", inline=_have_vl_convert() if inline is None else inline)
    elif fmt == "png":
        chart.save(str(path), format="png", scale_factor=scale)
    else:
        chart.save(str(path), format=fmt)
    logger.info("saved chart to %s", path)
    return path
