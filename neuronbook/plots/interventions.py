"""Charts of interventions in the forward pass (:func:`neuronbook.intervention_effects`).

* :func:`intervention_chart` -- each set kind's accuracy (or loss change) with its interval over draws,
  the clean value as a rule, one panel per measure;
* :func:`intervention_draws_chart` -- every draw as a dot, the top set as a diamond;
* :func:`prediction_chart` -- a sentence's tags with and without an intervention (what the widget shows).
"""

from __future__ import annotations

import altair as alt
import pandas as pd

from ._base import SELECTION_COLORS, check_rows, require

__all__ = ["intervention_chart", "intervention_draws_chart", "prediction_chart", "INTERVENTION_COLORS"]

#: none (clean) / top / random / layer-matched random
INTERVENTION_COLORS = {"none": "#4c78a8", "top": SELECTION_COLORS["top"], "random": SELECTION_COLORS["random"],
                       "layer-matched random": "#bababa"}
_ORDER = list(INTERVENTION_COLORS)


def _color():
    return alt.Color("selection:N", title="neurons switched off", sort=_ORDER,
                     scale=alt.Scale(domain=_ORDER, range=list(INTERVENTION_COLORS.values())))


def intervention_chart(summary: pd.DataFrame, measures=None, *, width: int = 220) -> alt.Chart:
    """Mean and 95 % interval of each set kind, per measure; the clean value is the dashed rule.

    Parameters
    ----------
    summary : DataFrame
        :attr:`~neuronbook.interventions.InterventionResult.summary` (``selection``, ``measure``, ``mean``,
        ``ci_low``, ``ci_high``).
    measures : list of str, optional
        The panels, in order (default: every measure of the table).

    Examples
    --------
    >>> s = pd.DataFrame({"selection": ["none", "top", "random"], "measure": "fixed accuracy",
    ...                   "mean": [0.9, 0.6, 0.8], "ci_low": [None, None, 0.75], "ci_high": [None, None, 0.85]})
    >>> intervention_chart(s).to_dict()["facet"]["column"]["field"]
    'measure'
    """
    require(summary, ["selection", "measure", "mean", "ci_low", "ci_high"], "intervention_chart")
    data = check_rows(summary, "intervention_chart")
    measures = list(dict.fromkeys(data["measure"])) if measures is None else list(measures)
    data = data[data["measure"].isin(measures)]
    effects = data[data["selection"] != "none"]
    y = alt.Y("selection:N", title=None, sort=_ORDER[1:])
    points = alt.Chart().mark_point(filled=True, size=80).encode(
        x=alt.X("mean:Q", title="value", scale=alt.Scale(zero=False)), y=y, color=_color(),
        tooltip=["selection:N", "measure:N", alt.Tooltip("mean:Q", format=".4f"),
                 alt.Tooltip("ci_low:Q", format=".4f"), alt.Tooltip("ci_high:Q", format=".4f"), "n_draws:Q"])
    bars = alt.Chart().mark_rule(strokeWidth=2).encode(x="ci_low:Q", x2="ci_high:Q", y=y, color=_color())
    clean = alt.Chart().transform_filter(alt.datum.selection == "none").mark_rule(strokeDash=[4, 3]).encode(
        x="mean:Q", color=_color())
    layered = alt.layer(bars, points, clean, data=pd.concat([effects, data[data["selection"] == "none"]]))
    return layered.properties(width=width, height=90).facet(
        column=alt.Column("measure:N", title=None, sort=measures)).resolve_scale(x="independent").properties(
        title="Neurons switched off inside the model: top set against matched random sets (95 % intervals)")


def intervention_draws_chart(effects: pd.DataFrame, measure: str = "fixed accuracy") -> alt.Chart:
    """One dot per draw of ``measure`` (the top set a diamond); the clean value as a dashed rule.

    Parameters
    ----------
    effects : DataFrame
        :attr:`~neuronbook.interventions.InterventionResult.effects` (``selection``, ``draw``, ``measure``,
        ``value``).
    measure : str
        The measure drawn.

    Examples
    --------
    >>> e = pd.DataFrame({"selection": ["none", "top", "random", "random"], "draw": [0, 0, 0, 1],
    ...                   "measure": "fixed accuracy", "value": [0.9, 0.6, 0.8, 0.82]})
    >>> intervention_draws_chart(e).to_dict()["layer"][0]["mark"]["type"]
    'point'
    """
    require(effects, ["selection", "draw", "measure", "value"], "intervention_draws_chart")
    data = check_rows(effects[effects["measure"] == measure], "intervention_draws_chart")
    if not len(data):
        raise ValueError(f"no {measure!r} rows; measures: {sorted(effects['measure'].unique())}")
    y = alt.Y("selection:N", title=None, sort=_ORDER[1:])
    dots = alt.Chart(data[data["selection"] != "none"]).mark_point(filled=True, size=60, opacity=0.8).encode(
        x=alt.X("value:Q", title=measure, scale=alt.Scale(zero=False)), y=y, color=_color(),
        shape=alt.condition(alt.datum.selection == "top", alt.value("diamond"), alt.value("circle")),
        tooltip=["selection:N", "draw:Q", alt.Tooltip("value:Q", format=".4f")])
    clean = alt.Chart(data[data["selection"] == "none"]).mark_rule(strokeDash=[4, 3]).encode(x="value:Q")
    return alt.layer(dots, clean).properties(width=360, height=100, title=f"{measure}: every draw")


def prediction_chart(predictions: pd.DataFrame) -> alt.Chart:
    """A sentence's words with the probe's tag clean (top row) and intervened (bottom row); changes in colour.

    Parameters
    ----------
    predictions : DataFrame
        :meth:`~neuronbook.interventions.InterventionExplorer.predict` (``word``, ``clean``, ``intervened``,
        ``changed``); with no rows, a "press Run" placeholder.

    Examples
    --------
    >>> p = pd.DataFrame({"word": ["the", "cat"], "clean": ["DT", "NN"], "intervened": ["DT", "VB"],
    ...                   "changed": [False, True]})
    >>> prediction_chart(p).to_dict()["mark"]["type"]
    'text'
    """
    require(predictions, ["word", "clean", "intervened", "changed"], "prediction_chart")
    if not len(predictions):  # nothing predicted yet (a view before its first run)
        return alt.Chart(pd.DataFrame({"text": ["press Run"]})).mark_text(color="#8c8c8c").encode(
            text="text:N").properties(width=200, height=30)
    rows = []
    for i, r in enumerate(predictions.itertuples(index=False)):
        rows.append({"position": i, "row": "word", "text": r.word, "changed": False})
        rows.append({"position": i, "row": "clean", "text": r.clean, "changed": False})
        rows.append({"position": i, "row": "intervened", "text": r.intervened, "changed": bool(r.changed)})
    data = check_rows(pd.DataFrame(rows), "prediction_chart")
    return alt.Chart(data).mark_text(fontSize=13).encode(
        x=alt.X("position:O", axis=None), y=alt.Y("row:N", title=None, sort=["word", "clean", "intervened"]),
        text="text:N", color=alt.condition(alt.datum.changed, alt.value("#d95f02"), alt.value("#333333")),
    ).properties(width=max(200, 60 * len(predictions)), height=75, title="probe tags, clean and intervened")
