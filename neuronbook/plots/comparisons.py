"""Comparisons of several analyses: fine-tuning, architectures of different depth, languages."""

from __future__ import annotations

from collections.abc import Mapping

import altair as alt
import pandas as pd

from ._base import (
    ACCENT,
    DEPTH_TITLE,
    LAYER_TITLE,
    MODEL_STATE_COLORS,
    check_layers,
    check_rows,
    check_unique,
    check_values,
    layer_x,
    require,
)
from .layers import add_relative_depth

__all__ = ["finetuning_shift_chart", "finetuning_layers_chart", "architecture_comparison_chart",
           "language_similarity_chart", "tag_similarity_chart", "pair_overlap_chart", "note_chart"]


# ----------------------------------------------------------------------------- fine-tuning


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
    require(summary, columns, what)
    data = summary[columns].reset_index(drop=True)
    check_values(data, "model", list(MODEL_STATE_COLORS), what)
    check_unique(data, ["task", "model"], what)
    check_rows(data, what)
    task_y = alt.Y("task:N", title="task", sort=alt.EncodingSortField("mean_layer", op="max", order="descending"))
    base = alt.Chart(data)
    rule = base.mark_rule(color="#bbbbbb", strokeWidth=3).encode(
        y=task_y, x=alt.X("min(mean_layer):Q", title="mean layer of selected neurons"), x2="max(mean_layer)")
    points = base.mark_circle(size=120, opacity=1).encode(
        y=task_y, x="mean_layer:Q",
        color=alt.Color("model:N", title="model", legend=alt.Legend(orient="top"),
                        scale=alt.Scale(domain=list(MODEL_STATE_COLORS), range=list(MODEL_STATE_COLORS.values()))),
        tooltip=["task:N", "model:N", alt.Tooltip("mean_layer:Q", format=".2f"), "n_neurons:Q",
                 alt.Tooltip("accuracy:Q", format=".3f")])
    dumbbell = alt.layer(rule, points).properties(width=300, height=max(60, 26 * data["task"].nunique()),
                                                  title="Mean layer before and after fine-tuning")
    if overlap is None:
        return dumbbell
    what = "overlap table"
    require(overlap, ["task", "jaccard"], what)
    ov = overlap[["task", "jaccard"]].reset_index(drop=True)
    check_unique(ov, ["task"], what)
    check_rows(ov, what)
    unknown = sorted(set(ov["task"].astype(str)) - set(data["task"].astype(str)))
    if unknown:
        raise ValueError(f"{what} has task(s) {unknown} that the summary lacks")
    bars = alt.Chart(ov).mark_bar(color=ACCENT).encode(
        y=alt.Y("task:N", title=None, sort=list(_task_order(data))),
        x=alt.X("jaccard:Q", title="Jaccard overlap", scale=alt.Scale(domain=[0, 1])),
        tooltip=["task:N", alt.Tooltip("jaccard:Q", format=".2f")],
    ).properties(width=160, height=max(60, 26 * data["task"].nunique()), title="Same neurons?")
    return alt.hconcat(dumbbell, bars).resolve_scale(color="independent")


def _task_order(summary: pd.DataFrame) -> list[str]:
    # Same order as the dumbbell's sort (max mean layer, descending) so the two panels line up.
    return summary.groupby("task")["mean_layer"].max().sort_values(ascending=False, kind="stable").index.tolist()


def finetuning_layers_chart(layers: pd.DataFrame) -> alt.Chart:
    """Share of the selected neurons per layer, pretrained and fine-tuned side by side, one panel per task.

    Parameters
    ----------
    layers : DataFrame
        ``FineTuningComparison.layers``: columns ``task``, ``model`` (``"pretrained"`` /
        ``"fine-tuned"``), ``layer``, ``share`` (and optionally ``count``).

    Returns
    -------
    altair.Chart
        Grouped bars (``xOffset`` by model, coloured as in :func:`finetuning_shift_chart`), faceted
        by task in the order the tasks first appear.

    Examples
    --------
    >>> df = pd.DataFrame({"task": ["pos"] * 4, "model": ["pretrained"] * 2 + ["fine-tuned"] * 2,
    ...                    "layer": [0, 1, 0, 1], "count": [1, 3, 2, 2], "share": [0.25, 0.75, 0.5, 0.5]})
    >>> spec = finetuning_layers_chart(df).to_dict()
    >>> spec["mark"]["type"], spec["encoding"]["xOffset"]["field"]
    ('bar', 'model')
    """
    states = MODEL_STATE_COLORS
    require(layers, ["task", "model", "layer", "share"], "fine-tuning layer table")
    unknown = sorted(set(layers["model"].astype(str)) - set(states))
    if unknown:
        raise ValueError(f"fine-tuning layer table: model must be 'pretrained' or 'fine-tuned', got {unknown}")
    cols = ["task", "model", "layer", "share"] + (["count"] if "count" in layers.columns else [])
    data = layers[cols].reset_index(drop=True).copy()
    data["layer"] = data["layer"].astype(int)
    data["share"] = data["share"].astype(float)
    n_tasks = data["task"].nunique()
    tooltip = ["task:N", "model:N", "layer:O"] + (["count:Q"] if "count" in cols else []) + [
        alt.Tooltip("share:Q", format=".1%")]
    return alt.Chart(data).mark_bar().encode(
        x=alt.X("layer:O", title=LAYER_TITLE, axis=alt.Axis(labelAngle=0)),
        xOffset=alt.XOffset("model:N", sort=list(states)),
        y=alt.Y("share:Q", title="share of selected neurons", axis=alt.Axis(format="%")),
        color=alt.Color("model:N", title="model", sort=list(states),
                        scale=alt.Scale(domain=list(states), range=list(states.values())),
                        legend=alt.Legend(orient="top")),
        facet=alt.Facet("task:N", title="task", columns=min(3, max(1, n_tasks)),
                        sort=list(dict.fromkeys(data["task"].astype(str)))),  # the tasks in the order given
        tooltip=tooltip,
    ).properties(width=240, height=160, title="Where the neurons sit, before and after fine-tuning")


# ----------------------------------------------------------------------------- architectures


def architecture_comparison_chart(df: pd.DataFrame, n_layers: int | Mapping[str, int] | None = None,
                                  relative_depth: bool = True) -> alt.HConcatChart:
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
    relative_depth : bool
        Draw the left panel on relative depth (default), so models of different depth share one
        axis; False: on absolute layer numbers (``df`` then needs a ``layer`` column).

    Returns
    -------
    altair.HConcatChart
        Share of the selected neurons per relative depth (or layer), one line per model, and the
        % of neurons each model needs.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"model": ["bert"] * 3 + ["tiny"] * 2, "layer": [0, 6, 12, 0, 2],
    ...                    "share": [0.2, 0.3, 0.5, 0.4, 0.6], "percent_needed": [1.5] * 3 + [4.0] * 2})
    >>> len(architecture_comparison_chart(df).to_dict()["hconcat"])
    2
    >>> architecture_comparison_chart(df, relative_depth=False).to_dict()["hconcat"][0]["encoding"]["x"]["field"]
    'layer'
    """
    what = "architecture comparison"
    require(df, ["model", "share", "percent_needed"], what)
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
    check_unique(data, ["model", "relative_depth"], what)
    check_rows(data, what)
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
        x=alt.X("relative_depth:Q", title=DEPTH_TITLE, scale=alt.Scale(domain=[0, 1])),
        y=alt.Y("share:Q", title="share of selected neurons", axis=alt.Axis(format="%")),
        color=color, tooltip=tooltip,
    ).properties(width=320, height=220, title="Where the neurons sit")
    bars = alt.Chart(needed).mark_bar().encode(
        y=alt.Y("model:N", title=None, sort="x"),
        x=alt.X("percent_needed:Q", title="% of neurons needed"),
        color=alt.Color("model:N", title="model"),
        tooltip=["model:N", alt.Tooltip("percent_needed:Q", format=".2f")],
    ).properties(width=180, height=max(60, 26 * len(needed)), title="How many neurons")
    if not relative_depth:  # the same two panels, the left one on absolute layer numbers
        require(df, ["layer"], what)
        layers = df[["model", "layer", "share"]].reset_index(drop=True)
        lines = alt.Chart(layers).mark_line(point=True).encode(
            x=alt.X("layer:Q", title=LAYER_TITLE, axis=alt.Axis(tickMinStep=1, format="d")),
            y=alt.Y("share:Q", title="share of selected neurons", axis=alt.Axis(format="%")),
            color=alt.Color("model:N", title="model"),
            tooltip=["model:N", "layer:O", alt.Tooltip("share:Q", format=".1%")],
        ).properties(width=320, height=220, title="Where the neurons sit (layer)")
    return alt.hconcat(lines, bars)


# ----------------------------------------------------------------------------- languages


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
        require(df, ["language", "layer", "share"], what)
        data = check_layers(df[["language", "layer", "share"]], what).reset_index(drop=True)
        check_unique(data, ["language", "layer"], what)
        check_rows(data, what)
        panels.append(alt.Chart(data).mark_line(point=True).encode(
            x=layer_x(),
            y=alt.Y("share:Q", title="share of selected neurons", axis=alt.Axis(format="%")),
            color=alt.Color("language:N", title="language"),
            tooltip=["language:N", "layer:O", alt.Tooltip("share:Q", format=".1%")],
        ).properties(width=320, height=220, title="Where the neurons sit, per language"))
    if similarity is not None:
        what = "language similarity"
        require(similarity, sim_columns, what)
        sim = similarity[sim_columns].reset_index(drop=True)
        check_unique(sim, ["language_a", "language_b"], what)
        mirrored = sim.rename(columns={"language_a": "language_b", "language_b": "language_a"})[sim_columns]
        have = set(zip(sim["language_a"], sim["language_b"]))
        mirrored = mirrored[[(a, b) not in have for a, b in zip(mirrored["language_a"], mirrored["language_b"])]]
        sim = pd.concat([sim, mirrored], ignore_index=True)
        check_rows(sim, what)
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


def tag_similarity_chart(table: pd.DataFrame, title: str | None = None) -> alt.Chart:
    """Jaccard overlap of two languages' neuron sets for each tag, largest first.

    Parameters
    ----------
    table : DataFrame
        Columns ``tag``, ``jaccard`` (and optionally ``intersection``): one row per tag, e.g. the
        rows of ``LanguageComparison.tag_similarity`` for one pair of languages.
    title : str, optional
        Chart title (default ``"Same neurons per tag?"``).

    Returns
    -------
    altair.Chart
        Horizontal bars, one per tag, sorted by overlap; the x axis is scaled to the data.

    Examples
    --------
    >>> df = pd.DataFrame({"tag": ["PER", "DEF"], "jaccard": [0.2, 0.05], "intersection": [12, 1]})
    >>> tag_similarity_chart(df).to_dict()["encoding"]["y"]["sort"]
    '-x'
    """
    require(table, ["tag", "jaccard"], "tag similarity table")
    cols = ["tag", "jaccard"] + [c for c in ("intersection", "chance", "meaning") if c in table.columns]
    data = table[cols].reset_index(drop=True).copy()
    data["tag"] = data["tag"].astype(str)
    if data["tag"].duplicated().any():
        raise ValueError("tag similarity table: one row per tag expected (filter it to one pair of languages)")
    tooltip = (["tag:N"] + (["meaning:N"] if "meaning" in cols else []) + [alt.Tooltip("jaccard:Q", format=".3f")]
               + (["intersection:Q"] if "intersection" in cols else [])
               + ([alt.Tooltip("chance:Q", format=".3f", title="chance Jaccard")] if "chance" in cols else []))
    bars = alt.Chart(data).mark_bar(color="#7b3294").encode(
        y=alt.Y("tag:N", sort="-x", title=None),
        x=alt.X("jaccard:Q", title="Jaccard overlap of the tag's neurons"),  # scaled to the data: overlaps are small
        tooltip=tooltip,
    )
    if "chance" in cols:  # what two random sets of the same sizes would share: a tick per tag
        bars = alt.layer(bars, alt.Chart(data).mark_tick(color="#222", thickness=2, size=11).encode(
            y=alt.Y("tag:N", sort=alt.EncodingSortField("jaccard", order="descending"), title=None),
            x="chance:Q", tooltip=tooltip))
    return bars.properties(width=220, height=max(60, 13 * len(data)),
                           title=title or ("Same neurons per tag? (ticks: chance)" if "chance" in cols
                                           else "Same neurons per tag?"))


def pair_overlap_chart(jaccard: float, chance: float, shared: float | None = None, chance_shared: float | None = None,
                       title: str | None = None) -> alt.Chart:
    """Two bars: the Jaccard overlap of two minimal sets, and what two random sets of the same sizes would share.

    Parameters
    ----------
    jaccard, chance : float
        The observed overlap and its chance level (for sets of sizes *a*, *b* out of *N*: *a·b/N*
        neurons shared, Jaccard ``(a·b/N) / (a + b - a·b/N)``).
    shared, chance_shared : float, optional
        The neurons both sets hold, observed and by chance (tooltips).
    title : str, optional

    Returns
    -------
    altair.Chart

    Examples
    --------
    >>> pair_overlap_chart(1 / 3, 1 / 23, 1, 1 / 6).data["jaccard"].round(3).tolist()
    [0.333, 0.043]
    """
    data = pd.DataFrame({"what": ["both minimal sets", "chance (random sets)"], "jaccard": [float(jaccard), float(chance)],
                         "neurons": [shared, chance_shared]})
    return alt.Chart(data).mark_bar().encode(
        y=alt.Y("what:N", title=None, sort=None),
        x=alt.X("jaccard:Q", title="Jaccard overlap"),
        color=alt.Color("what:N", scale=alt.Scale(range=["#7b3294", "#bbbbbb"]), legend=None),
        tooltip=["what:N", alt.Tooltip("jaccard:Q", format=".3f"), alt.Tooltip("neurons:Q", format=".1f")],
    ).properties(width=220, height=50, title=title or "Overlap and chance")


def note_chart(text: str) -> alt.Chart:
    """One grey line of text, in place of a chart that has nothing to draw (e.g. no minimal set).

    Parameters
    ----------
    text : str

    Returns
    -------
    altair.Chart

    Examples
    --------
    >>> note_chart("no minimal set").to_dict()["mark"]["type"]
    'text'
    """
    return alt.Chart(pd.DataFrame({"note": [str(text)]})).mark_text(color="#888", fontSize=12, align="left").encode(
        text="note:N", x=alt.value(0), y=alt.value(10)).properties(width=420, height=24)
