"""How many neurons: accuracy with a subset of them, against random baselines, and the minimal set.

Selections are coloured with :data:`neuronbook.plots.SELECTION_COLORS` (top / random / bottom).
"""

from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd

from ._base import (
    ACCENT,
    METHOD_DASH,
    SELECTION_COLORS,
    check_rows,
    check_unique,
    check_values,
    require,
    selection_color,
)

__all__ = ["accuracy_curve_chart", "marked_accuracy_curve_chart", "baseline_chart", "minimal_set_chart"]


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
    require(curve, ["selection", "n_neurons", "percent", "accuracy", "split"], what)
    splits = sorted(set(curve["split"].astype(str)))
    if split not in splits:
        raise ValueError(f"{what} has no rows for split {split!r}; it has {splits}")
    has_method = "method" in curve.columns
    columns = ["selection", "n_neurons", "percent", "accuracy"] + (["method"] if has_method else [])
    data = curve.loc[curve["split"].astype(str) == split, columns].reset_index(drop=True)
    check_values(data, "selection", list(SELECTION_COLORS), what)
    if has_method:
        check_values(data, "method", list(METHOD_DASH), what)
    keys = ["selection", "percent"] + (["method"] if has_method else [])
    check_unique(data, keys, what, "Average random seeds first, e.g. "
                  f"curve.groupby({keys + ['split']!r}, as_index=False)[['n_neurons', 'accuracy']].mean().")
    check_rows(data, what)

    tooltip = ["selection:N", "n_neurons:Q", alt.Tooltip("percent:Q", format=".2f"),
               alt.Tooltip("accuracy:Q", format=".3f")] + (["method:N"] if has_method else [])
    if log_x and (data["percent"] <= 0).any():
        raise ValueError(f"{what}: log_x needs every percent > 0")
    lo, hi = float(data["percent"].min()), float(data["percent"].max())
    encoding = dict(
        x=alt.X("percent:Q", title="neurons kept (% of all)",
                scale=alt.Scale(type="log", domain=[lo, hi], nice=False) if log_x else alt.Scale(domain=[0, hi])),
        y=alt.Y("accuracy:Q", title=f"{split} accuracy", scale=alt.Scale(zero=False)),
        color=selection_color(),
        tooltip=tooltip,
    )
    if has_method:
        encoding["strokeDash"] = alt.StrokeDash(
            "method:N", title="method",
            legend=alt.Legend(symbolType="stroke", symbolStrokeColor="black", symbolStrokeWidth=2),
            scale=alt.Scale(domain=list(METHOD_DASH), range=list(METHOD_DASH.values())))
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


def marked_accuracy_curve_chart(curve: pd.DataFrame, percent: float, oracle: float | None = None,
                                split: str = "test") -> alt.LayerChart:
    """:func:`accuracy_curve_chart` with one percent marked: a vertical rule and a large point per selection.

    What :class:`neuronbook.widgets.AccuracyCurveView` draws for the percent picked on its slider.

    Parameters
    ----------
    curve : DataFrame
        As for :func:`accuracy_curve_chart` (``selection``, ``n_neurons``, ``percent``, ``accuracy``,
        ``split``; optional ``method``).
    percent : float
        The percent to mark; the selections measured there (``numpy.isclose``) get a large point.
    oracle : float, optional
        Accuracy on all neurons, drawn as a horizontal rule.
    split : str
        Which ``split`` to plot.

    Returns
    -------
    altair.LayerChart
        Three layers: the accuracy curve (itself a layer chart), the rule at ``percent`` and the points.

    Examples
    --------
    >>> curve = pd.DataFrame({"selection": ["top", "top", "random", "random"],
    ...                       "n_neurons": [10, 50, 10, 50], "percent": [1.0, 5.0, 1.0, 5.0],
    ...                       "accuracy": [0.80, 0.90, 0.40, 0.60], "split": "test"})
    >>> spec = marked_accuracy_curve_chart(curve, 5.0, oracle=0.93).to_dict()
    >>> [layer.get("mark", {}).get("type") for layer in spec["layer"]]
    [None, 'rule', 'point']
    """
    base = accuracy_curve_chart(curve, oracle=oracle, split=split)
    rows = curve.loc[curve["split"].astype(str) == split]
    markers = rows.loc[np.isclose(rows["percent"].astype(float), float(percent)),
                       ["selection", "percent", "n_neurons", "accuracy"]].reset_index(drop=True)
    rule = alt.Chart(pd.DataFrame({"percent": [float(percent)]})).mark_rule(color="#555").encode(x="percent:Q")
    points = alt.Chart(markers).mark_point(size=160, filled=True, stroke="black", strokeWidth=1).encode(
        x="percent:Q", y="accuracy:Q",
        color=alt.Color("selection:N", scale=alt.Scale(domain=list(SELECTION_COLORS),
                                                       range=list(SELECTION_COLORS.values())), legend=None),
        tooltip=["selection:N", "n_neurons:Q", alt.Tooltip("accuracy:Q", format=".3f")])
    return alt.layer(base, rule, points)


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
    require(baselines, ["percent", "baseline", "method", "variant", "difference", "ci_low", "ci_high"], what)
    data = baselines.copy()
    data["set"] = data["method"].astype(str) + ", " + data["variant"].astype(str).str.replace("-selected", "")
    data["points"] = data["difference"] * 100
    data["low"] = data["ci_low"] * 100
    data["high"] = data["ci_high"] * 100
    keep = [c for c in ("percent", "baseline", "set", "points", "low", "high", "mean", "top", "n_draws")
            if c in data.columns]
    data = check_rows(data[keep].reset_index(drop=True), what)
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
    require(curve, ["n_neurons", "split", "accuracy"], what)
    require(minimal_set, ["n_neurons", "target"], "minimal set")
    cols = ["n_neurons", "accuracy"] + [c for c in ("ci_low", "ci_high") if c in curve.columns]
    data = curve.loc[curve["split"].astype(str) == "dev", cols].sort_values("n_neurons").reset_index(drop=True)
    if data.empty:
        raise ValueError(f"{what} has no dev rows")
    data = check_rows(data, what)
    ms = minimal_set.iloc[0]
    right = max(float(data["n_neurons"].max()), float(ms.get("size_high", 0) or 0), float(ms["n_neurons"]))
    x = alt.X("n_neurons:Q", title="top neurons kept",
              scale=alt.Scale(type="log", domain=[float(data["n_neurons"].min()), right], nice=False))
    y = alt.Y("accuracy:Q", title="dev accuracy", scale=alt.Scale(zero=False))
    layers = []
    reached = bool(ms.get("reached", True))
    # an unreached target has no size, so no interval of one to shade
    if reached and {"size_low", "size_high"} <= set(minimal_set.columns) and pd.notna(ms.get("size_low")):
        span = pd.DataFrame({"lo": [float(ms["size_low"])], "hi": [max(float(ms["size_high"]), float(ms["size_low"]))],
                             "label": [f"minimal set, bootstrap 95 %: {ms['size_low']:g}-{ms['size_high']:g}"]})
        layers.append(alt.Chart(span).mark_rect(color="#1b9e77", opacity=0.12).encode(
            x="lo:Q", x2="hi:Q", tooltip="label:N"))
    if "ci_low" in data.columns and data["ci_low"].notna().any():
        layers.append(alt.Chart(data).mark_area(color=ACCENT, opacity=0.25).encode(
            x=x, y="ci_low:Q", y2="ci_high:Q"))
    layers.append(alt.Chart(data).mark_line(point=True, color=ACCENT).encode(
        x=x, y=y, tooltip=["n_neurons:Q", alt.Tooltip("accuracy:Q", format=".4f")]))
    target = pd.DataFrame({"target": [float(ms["target"])], "label": [f"target {float(ms['target']):.3f}"]})
    layers.append(alt.Chart(target).mark_rule(color="black", strokeDash=[2, 2]).encode(y="target:Q"))
    title = "Minimal set: dev accuracy of the top prefixes (band: bootstrap 95 %)"
    if reached:
        chosen = pd.DataFrame({"n": [int(ms["n_neurons"])], "label": [f"minimal set: {int(ms['n_neurons'])}"]})
        layers.append(alt.Chart(chosen).mark_rule(color="#1b9e77").encode(x="n:Q", tooltip="label:N"))
    else:  # no prefix reached the target: no size to mark
        title = "Minimal set NOT REACHED: no top prefix reached the target (dashed) on dev"
    return alt.layer(*layers).properties(width=360, height=220, title=title)
