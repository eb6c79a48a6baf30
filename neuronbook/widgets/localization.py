"""Where in the network: a view over the tag x layer tables of one or several LCA runs.

:class:`LocalizationView` reads tables already computed (:func:`neuronbook.tag_layer_counts` per
task, optionally :func:`neuronbook.layer_distribution` of each task's minimal set) and lets a reader
pick a task and a tag and switch the layer axis to relative depth; nothing is refitted.

Examples
--------
>>> import pandas as pd
>>> from neuronbook.analysis import tag_layer_counts
>>> per_tag = pd.DataFrame({"tag": ["DT", "NN", "NN", "NN"], "layer": [0, 1, 2, 2]})
>>> view = LocalizationView(tag_layer_counts(per_tag, n_layers=3).assign(task="upos"))
>>> view.set_tag("NN").table[["layer", "count"]].values.tolist()
[[0, 0], [1, 1], [2, 2]]
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from ._base import ChartBox, View, ipw, require_columns

__all__ = ["LocalizationView"]

logger = logging.getLogger(__name__)

#: The tag selector's entry for "every tag of the task" (the heat map).
ALL_TAGS = "(all tags)"
_STYLE = {"description_width": "initial"}


class LocalizationView(View):
    """Task and tag selectors, a relative-depth toggle, and the heat map of neurons per tag and layer.

    With every tag selected the view draws the task's tag x layer heat map (each tag's top neurons,
    :attr:`LCAResult.tag_layer_distribution`); with one tag, that tag's share of neurons per layer.
    When ``distribution`` (each task's minimal set per layer) is given, an overview chart compares
    the tasks; in relative-depth mode it overlays them as lines.

    Parameters
    ----------
    tag_layers : DataFrame
        :func:`neuronbook.tag_layer_counts` (``tag``, ``layer``, ``count``, ``share``,
        ``relative_depth``), with a ``task`` column when it covers several tasks.
    distribution : DataFrame, optional
        :func:`neuronbook.layer_distribution` of the minimal sets ``by="task"``.
    task, tag : str, optional
        Start selection (default: the first task, every tag).
    relative_depth : bool
        Start with the relative-depth axis.
    chart_mode : {"auto", "jupyter", "output"}
        How charts are drawn (:class:`neuronbook.widgets.ChartBox`).

    Attributes
    ----------
    task, tag : str or None
        The selection (``tag`` None: every tag).
    relative_depth : bool
    table : DataFrame
        The rows the detail chart draws.
    chart : altair chart
        The detail chart: the heat map, or the selected tag's distribution.
    overview : altair chart or None
        The minimal sets of every task per layer (None without ``distribution``).
    text : str
        One sentence on the selection.
    """

    def __init__(self, tag_layers: pd.DataFrame, distribution: pd.DataFrame | None = None, *, task=None, tag=None,
                 relative_depth: bool = False, chart_mode: str = "auto"):
        require_columns(tag_layers, ["tag", "layer", "count", "share", "relative_depth"], "tag_layers")
        if distribution is not None:
            require_columns(distribution, ["task", "layer", "count", "share", "relative_depth"], "distribution")
        w = ipw()
        self.tag_layers = tag_layers.copy()
        if "task" not in self.tag_layers.columns:
            self.tag_layers["task"] = "task"
        self.tag_layers["tag"] = self.tag_layers["tag"].astype(str)
        self.distribution = distribution
        self.tasks = list(dict.fromkeys(self.tag_layers["task"].astype(str)))
        if not self.tasks:
            raise ValueError("tag_layers is empty: nothing to show")
        self.task = self._check_task(self.tasks[0] if task is None else task)
        self.relative_depth = bool(relative_depth)
        self.tag = self._check_tag(tag)
        self._update_state()
        self.task_picker = w.Dropdown(options=self.tasks, value=self.task, description="task", style=_STYLE)
        self.tag_picker = w.Dropdown(options=self._tag_options(), value=self.tag or ALL_TAGS, description="tag",
                                     style=_STYLE)
        self.depth_toggle = w.Checkbox(value=self.relative_depth, description="relative depth", indent=False)
        self.box = ChartBox(self.chart, chart_mode)
        self.overview_box = ChartBox(self.overview, chart_mode) if self.overview is not None else None
        self.note = w.HTML(self.text)
        self._syncing = False
        self.task_picker.observe(lambda c: self._from_control(self.set_task, c["new"]), names="value")
        self.tag_picker.observe(lambda c: self._from_control(self.set_tag, None if c["new"] == ALL_TAGS else c["new"]),
                                names="value")
        self.depth_toggle.observe(lambda c: self._from_control(self.set_relative_depth, c["new"]), names="value")
        parts = [w.HBox([self.task_picker, self.tag_picker, self.depth_toggle])]
        if self.overview_box is not None:
            parts.append(self.overview_box.widget)
        self.widget = w.VBox(parts + [self.note, self.box.widget])

    # -- selection -----------------------------------------------------------------------------
    @property
    def tags(self) -> list[str]:
        """The tags of the selected task, most neurons first."""
        rows = self.tag_layers[self.tag_layers["task"].astype(str) == self.task]
        return rows.groupby("tag", sort=True)["count"].sum().sort_values(ascending=False, kind="stable").index.tolist()

    def _tag_options(self) -> list[str]:
        return [ALL_TAGS] + self.tags

    def _check_task(self, task) -> str:
        if str(task) not in self.tasks:
            raise ValueError(f"unknown task {task!r}; the tables cover {self.tasks}")
        return str(task)

    def _check_tag(self, tag):
        if tag is None or tag == ALL_TAGS:
            return None
        if str(tag) not in self.tags:
            raise ValueError(f"task {self.task!r} has no tag {tag!r}; its tags: {self.tags}")
        return str(tag)

    def set_task(self, task: str) -> "LocalizationView":
        """Show ``task`` (its tag selection resets to every tag unless the tag exists there too)."""
        task = self._check_task(task)
        if task == self.task:
            return self
        self.task = task
        if self.tag is not None and self.tag not in self.tags:
            self.tag = None
        self._refresh(options=True)
        return self

    def set_tag(self, tag) -> "LocalizationView":
        """Show one tag's distribution over layers, or the heat map of every tag (``None``)."""
        tag = self._check_tag(tag)
        if tag == self.tag:
            return self
        self.tag = tag
        self._refresh()
        return self

    def set_relative_depth(self, on: bool) -> "LocalizationView":
        """Switch the layer axis to relative depth (``layer / (n_layers - 1)``) and back."""
        on = bool(on)
        if on == self.relative_depth:
            return self
        self.relative_depth = on
        self._refresh()
        return self

    # -- drawing -------------------------------------------------------------------------------
    def _from_control(self, setter, value) -> None:
        if not self._syncing:  # a control moved by the view itself is not a new choice
            setter(value)

    def _refresh(self, options: bool = False) -> None:
        self._update_state()
        self._syncing = True
        try:  # the controls follow the state
            if options:
                self.tag_picker.options = self._tag_options()
            self.task_picker.value = self.task
            self.tag_picker.value = self.tag or ALL_TAGS
            self.depth_toggle.value = self.relative_depth
        finally:
            self._syncing = False
        self.box.chart = self.chart
        if self.overview_box is not None:
            self.overview_box.chart = self.overview
        self.note.value = self.text

    def _update_state(self) -> None:
        from ..plots import depth_heatmap, layer_distribution_chart, tag_layer_heatmap

        rows = self.tag_layers[self.tag_layers["task"].astype(str) == self.task]
        if self.tag is None:
            self.table = rows[["tag", "layer", "count", "share", "relative_depth"]].reset_index(drop=True)
            self.chart = (depth_heatmap(self.table) if self.relative_depth
                          else tag_layer_heatmap(self.table)).properties(
                title=f"{self.task}: top neurons of each tag per {'relative depth' if self.relative_depth else 'layer'}")
        else:
            one = rows[rows["tag"] == self.tag]
            self.table = one[["layer", "count", "share", "relative_depth"]].sort_values("layer").reset_index(drop=True)
            self.chart = layer_distribution_chart(self.table, relative_depth=self.relative_depth).properties(
                title=f"{self.task} / {self.tag}: where its top neurons sit")
        self.overview = None
        if self.distribution is not None:
            self.overview = layer_distribution_chart(self.distribution, facet="task",
                                                     relative_depth=self.relative_depth).properties(
                title="Minimal set of each task per " + ("relative depth" if self.relative_depth else "layer"))
        self.text = self._describe()

    def _describe(self) -> str:
        t = self.table
        counts = t.groupby("layer")["count"].sum() if len(t) else pd.Series(dtype=float)
        n = int(counts.sum())
        what = f"<b>{self.task}</b>" + (f" / <b>{self.tag}</b>" if self.tag else f", {t['tag'].nunique()} tags")
        if n == 0:
            return f"{what}: no neurons selected."
        peak = int(counts.idxmax())
        depth = t.drop_duplicates("layer").set_index("layer")["relative_depth"].astype(float)
        mean_depth = float(np.average(depth.loc[counts.index].to_numpy(), weights=counts.to_numpy()))
        note = "" if self.tag else " (a neuron serving several tags counts once per tag)"
        return (f"{what}: {n} neurons{note}; most in layer {peak} ({counts[peak] / n:.0%}); "
                f"mean relative depth {mean_depth:.2f}.")
