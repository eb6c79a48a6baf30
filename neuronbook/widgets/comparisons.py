"""Views over comparisons of several analyses: fine-tuning, architectures, languages.

Each view takes the LCA results (or :class:`~neuronbook.analysis.compare.NeuronSelection` objects)
of one comparison, computes the comparison with :mod:`neuronbook.analysis.compare`, and shows one
part of it chosen with a control:

* :class:`FineTuningView` -- a task picker -> that task's layer distribution before and after
  fine-tuning, beside the mean-layer shift of every task;
* :class:`ArchitectureView` -- a multi-select of models and a relative-depth toggle -> where each
  model's neurons sit (layer or relative depth) and how many it needs;
* :class:`LanguagePairView` -- two language pickers -> the pair's layer distributions, the overlap
  of their neuron sets, and the overlap per tag.

As in :mod:`neuronbook.widgets.views`, state lives in attributes (``chart``, ``table``, ``text``)
and setters (``set_task``, ``set_models``, ``set_relative``, ``set_pair``) drive a view from Python;
``view.widget`` is the ipywidgets container a notebook shows. ipywidgets is imported when a view is
built, never at import time. The charts are :mod:`neuronbook.plots`' (among them
:func:`~neuronbook.plots.finetuning_layers_chart` and :func:`~neuronbook.plots.tag_similarity_chart`).

Examples
--------
>>> import pandas as pd
>>> from neuronbook.analysis.compare import NeuronSelection
>>> def sel(layers, n_layers):
...     return NeuronSelection(pd.DataFrame({"layer": layers, "neuron": range(len(layers))}), n_layers, 40)
>>> view = ArchitectureView({"deep": sel([4, 4, 3], 5), "shallow": sel([0, 2], 3)}, chart_mode="output")
>>> view.table[["model", "n_neurons", "mean_relative_depth"]].values.tolist()
[['deep', 3, 0.9166666666666666], ['shallow', 2, 0.5]]
>>> view.set_models(["shallow"]).table["model"].tolist()
['shallow']
"""

from __future__ import annotations

import html
import logging
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from ._base import ChartBox, View, ipw, show_in

__all__ = ["FineTuningView", "ArchitectureView", "LanguagePairView"]

logger = logging.getLogger(__name__)

_STYLE = {"description_width": "initial"}


def _fmt(value, spec: str = ".3f") -> str:
    return "n/a" if value is None or (isinstance(value, float) and np.isnan(value)) else format(value, spec)


# ------------------------------------------------------------------------------ fine-tuning

class FineTuningView(View):
    """Pick a task -> its layer distribution before and after fine-tuning, its overlap and shift.

    Parameters
    ----------
    pretrained, finetuned : mapping
        Task -> LCA result (or :class:`~neuronbook.analysis.compare.NeuronSelection`), the same
        tasks in both (as :func:`neuronbook.finetuning_comparison` takes them).
    task : str, optional
        The task shown first (default the first).
    chart_mode : {"auto", "jupyter", "output"}
        How the charts are drawn (see :class:`neuronbook.widgets.ChartBox`).

    Attributes
    ----------
    comparison : FineTuningComparison
    task : str
        The task shown.
    chart : altair chart
        That task's layer distribution, pretrained and fine-tuned side by side.
    shift_chart : altair chart
        The mean-layer shift and overlap of every task (does not change).
    table : DataFrame
        The task's summary rows (``model``, ``n_neurons``, ``percent``, ``accuracy``, ...).
    text : str
        HTML sentence with the task's sizes, shift and overlap.
    """

    def __init__(self, pretrained: Mapping, finetuned: Mapping, task: str | None = None, chart_mode: str = "auto"):
        from ..analysis.compare import finetuning_comparison
        from ..plots import finetuning_shift_chart, note_chart

        w = ipw()
        self.comparison = finetuning_comparison(pretrained, finetuned)
        self.tasks = list(dict.fromkeys(self.comparison.summary["task"].tolist()))
        if not self.tasks:
            raise ValueError("FineTuningView needs at least one task")
        self.task = self._check(task if task is not None else self.tasks[0])
        if self.comparison.overlap["reached"].astype(bool).any():
            self.shift_chart = finetuning_shift_chart(self.comparison.summary, self.comparison.overlap)
        else:  # no task has both sets: a chart of NaN would draw nothing (and break vega in the page)
            self.shift_chart = note_chart("no task reached a minimal set in both models: no shift to draw")
        self._update_state()
        self.picker = w.Dropdown(options=self.tasks, value=self.task, description="task", style=_STYLE)
        self.shift_box = ChartBox(self.shift_chart, chart_mode)
        self.box = ChartBox(self.chart, chart_mode)
        self.note = w.HTML(self.text)
        self.table_out = w.Output()
        show_in(self.table_out, self.table)
        self.picker.observe(lambda change: self.set_task(change["new"]), names="value")
        self.widget = w.VBox([self.shift_box.widget, self.picker, self.box.widget, self.note, self.table_out])

    def _check(self, task: str) -> str:
        if task not in self.tasks:
            raise ValueError(f"unknown task {task!r}; the comparison has {self.tasks}")
        return task

    def set_task(self, task: str) -> "FineTuningView":
        """Show ``task``; returns the view."""
        task = self._check(task)
        if task != self.task:
            self.task = task
            self._update_state()
            if self.picker.value != task:
                self.picker.value = task  # its observer calls back here and finds nothing to do
            self.box.chart = self.chart
            self.note.value = self.text
            show_in(self.table_out, self.table)
        return self

    def _update_state(self) -> None:
        from ..plots import finetuning_layers_chart, note_chart

        c, task = self.comparison, self.task
        self.chart = finetuning_layers_chart(c.layers[c.layers["task"] == task])
        self.table = c.summary[c.summary["task"] == task].drop(columns="task").reset_index(drop=True)
        ov = c.overlap.set_index("task").loc[task]
        rows = self.table.set_index("model")
        pre, ft = rows.loc["pretrained"], rows.loc["fine-tuned"]
        if pd.isna(pre["n_neurons"]) or pd.isna(ft["n_neurons"]):  # a minimal set not reached: nothing to compare
            missing = [m for m, r in (("pretrained", pre), ("fine-tuned", ft)) if pd.isna(r["n_neurons"])]
            self.chart = note_chart(f"{task}: no minimal set in the {' and the '.join(missing)} model")
            self.text = (f"<b>{html.escape(str(task))}</b>: <span style='color:#888'>skipped: the minimal set of the "
                         f"{' and the '.join(missing)} model was not reached, so there is no shift or overlap to "
                         f"show (more sentences or a larger <code>percents</code> may reach it)</span>")
            return
        self.text = (f"<b>{html.escape(str(task))}</b>: pretrained {int(pre['n_neurons'])} neurons "
                     f"(mean layer {_fmt(pre['mean_layer'], '.2f')}, accuracy {_fmt(pre['accuracy'])}), "
                     f"fine-tuned {int(ft['n_neurons'])} (mean layer {_fmt(ft['mean_layer'], '.2f')}, "
                     f"accuracy {_fmt(ft['accuracy'])}); mean layer shift {float(ov['mean_layer_shift']):+.2f}; "
                     f"{int(ov['intersection'])} neurons in both sets (Jaccard {float(ov['jaccard']):.2f}).")


# ---------------------------------------------------------------------------- architectures

class ArchitectureView(View):
    """Pick models (multi-select) and the depth axis -> where their neurons sit and how many they need.

    Parameters
    ----------
    results : mapping
        Model label -> LCA result (or ``NeuronSelection``) on the same task and data.
    models : list of str, optional
        The models shown first (default all).
    relative : bool
        Put the layers on relative depth (0 = embeddings, 1 = last layer), so models of different
        depth share one axis; False: absolute layer numbers.
    chart_mode : {"auto", "jupyter", "output"}

    Attributes
    ----------
    models : tuple of str
        The models shown.
    relative : bool
    comparison : ArchitectureComparison
        :func:`neuronbook.architecture_comparison` of the models shown.
    table : DataFrame
        Its ``summary``: ``model``, ``n_layers``, ``n_neurons``, ``percent_needed``, ``accuracy`` ...
    chart : altair.HConcatChart
        Share of selected neurons per layer (or relative depth), and % of neurons needed.
    """

    def __init__(self, results: Mapping, models: Sequence[str] | None = None, relative: bool = True,
                 chart_mode: str = "auto"):
        w = ipw()
        self.results = dict(results)
        if not self.results:
            raise ValueError("ArchitectureView needs at least one model's result")
        self.available = list(self.results)
        self.models = self._check(self.available if models is None else models)
        self.relative = bool(relative)
        self._update_state()
        self.selector = w.SelectMultiple(options=self.available, value=self.models, description="models",
                                         rows=min(6, len(self.available)), style=_STYLE)
        self.toggle = w.Checkbox(value=self.relative, description="relative depth", indent=False)
        self.box = ChartBox(self.chart, chart_mode)
        self.status = w.HTML()
        self.table_out = w.Output()
        show_in(self.table_out, self.table)
        self.selector.observe(self._on_select, names="value")
        self.toggle.observe(lambda change: self.set_relative(change["new"]), names="value")
        self.widget = w.VBox([w.HBox([self.selector, self.toggle]), self.status, self.box.widget, self.table_out])

    def _check(self, models) -> tuple:
        if isinstance(models, str):
            raise TypeError(f"models must be a list of model labels, got the string {models!r}")
        models = tuple(dict.fromkeys(models))
        if not models:
            raise ValueError("pick at least one model")
        unknown = [m for m in models if m not in self.results]
        if unknown:
            raise ValueError(f"unknown model(s) {unknown}; the results are for {self.available}")
        return models

    def set_models(self, models: Sequence[str]) -> "ArchitectureView":
        """Show these models (in the order given); returns the view."""
        models = self._check(models)
        if models != self.models:
            self.models = models
            self._refresh()
        return self

    def set_relative(self, relative: bool) -> "ArchitectureView":
        """Relative depth (True) or absolute layers (False) on the x axis; returns the view."""
        relative = bool(relative)
        if relative != self.relative:
            self.relative = relative
            self._refresh()
        return self

    def _on_select(self, change) -> None:
        if not change["new"]:  # an empty pick in the browser: keep the last chart and say why
            self.status.value = "<i>pick at least one model</i>"
            return
        self.status.value = ""
        self.set_models(list(change["new"]))

    def _refresh(self) -> None:
        self._update_state()
        if tuple(self.selector.value) != self.models:
            self.selector.value = self.models
        if self.toggle.value != self.relative:
            self.toggle.value = self.relative
        self.box.chart = self.chart
        show_in(self.table_out, self.table)

    def _update_state(self) -> None:
        from ..analysis.compare import architecture_comparison
        from ..plots import architecture_comparison_chart

        self.comparison = architecture_comparison({m: self.results[m] for m in self.models})
        self.table = self.comparison.summary
        self.chart = architecture_comparison_chart(self.comparison.layers, relative_depth=self.relative)


# -------------------------------------------------------------------------------- languages

class LanguagePairView(View):
    """Pick two languages -> their layer distributions, the overlap of their neurons, overall and per tag.

    Parameters
    ----------
    results : mapping
        Language -> LCA result (or ``NeuronSelection``) of one multilingual model on one tag set
        (at least two languages).
    pair : (str, str), optional
        The pair shown first (default the first two languages).
    chart_mode : {"auto", "jupyter", "output"}

    Attributes
    ----------
    comparison : LanguageComparison
        :func:`neuronbook.language_comparison` of all the languages.
    pair : (str, str)
    similarity : dict
        The pair's row of ``comparison.similarity``: ``jaccard``, ``intersection``, ``layer_correlation``.
    table : DataFrame
        Per-tag overlap of the pair: ``tag``, ``jaccard``, ``intersection`` (largest Jaccard first;
        empty when the results carry no per-tag sets).
    chart : altair chart
        The two layer distributions (and the per-tag overlap).
    text : str
        HTML sentence with the pair's overlap.
    """

    def __init__(self, results: Mapping, pair: Sequence[str] | None = None, chart_mode: str = "auto"):
        from ..analysis.compare import as_selection, language_comparison

        w = ipw()
        self.comparison = language_comparison(results)
        self.languages = list(results)
        selections = {lang: as_selection(r) for lang, r in results.items()}
        self._sizes = {lang: sel.n_selected for lang, sel in selections.items()}
        self._total = next(iter(selections.values())).n_neurons_total if selections else 0
        first = next(iter(results.values()), None)
        self._task = getattr(getattr(first, "config", None), "task", None)
        self.pair = self._check(*(self.languages[:2] if pair is None else pair))
        self._update_state()
        self.picker_a = w.Dropdown(options=self.languages, value=self.pair[0], description="language", style=_STYLE)
        self.picker_b = w.Dropdown(options=self.languages, value=self.pair[1], description="vs", style=_STYLE)
        self.box = ChartBox(self.chart, chart_mode)
        self.note = w.HTML(self.text)
        self.table_out = w.Output()
        show_in(self.table_out, self.table)
        self.picker_a.observe(lambda change: self._picked(change["new"], self.pair[1], change["old"]), names="value")
        self.picker_b.observe(lambda change: self._picked(self.pair[0], change["new"], change["old"]), names="value")
        self.widget = w.VBox([w.HBox([self.picker_a, self.picker_b]), self.box.widget, self.note, self.table_out])

    def _check(self, a: str, b: str) -> tuple:
        unknown = [x for x in (a, b) if x not in self.languages]
        if unknown:
            raise ValueError(f"unknown language(s) {unknown}; the comparison has {self.languages}")
        if a == b:
            raise ValueError(f"pick two different languages, got {a!r} twice")
        return a, b

    def _picked(self, a: str, b: str, old: str) -> None:
        # Picking the language the other picker shows swaps the two (never an invalid pair).
        if a == b:
            a, b = (a, old) if self.pair[1] == a else (old, b)
        self.set_pair(a, b)

    def set_pair(self, a: str, b: str) -> "LanguagePairView":
        """Show languages ``a`` and ``b``; returns the view."""
        pair = self._check(a, b)
        if pair != self.pair:
            self.pair = pair
            self._update_state()
            for picker, value in ((self.picker_a, a), (self.picker_b, b)):
                if picker.value != value:
                    picker.value = value  # its observer calls back here and finds nothing to do
            self.box.chart = self.chart
            self.note.value = self.text
            show_in(self.table_out, self.table)
        return self

    def _update_state(self) -> None:
        import altair as alt

        from ..plots import language_similarity_chart, pair_overlap_chart, tag_similarity_chart

        c, (a, b) = self.comparison, self.pair
        sim = c.similarity
        row = sim[((sim["language_a"] == a) & (sim["language_b"] == b))
                  | ((sim["language_a"] == b) & (sim["language_b"] == a))].iloc[0]
        self.similarity = {k: row[k] for k in ("jaccard", "intersection", "layer_correlation")}
        ts = c.tag_similarity
        mine = ts[((ts["language_a"] == a) & (ts["language_b"] == b)) | ((ts["language_a"] == b) & (ts["language_b"] == a))]
        self.table = (mine[["tag", "jaccard", "intersection"]].sort_values(["jaccard", "tag"], ascending=[False, True],
                                                                          kind="stable").reset_index(drop=True))
        from ..corpus.glossary import explain

        size_a, size_b = self._sizes[a], self._sizes[b]
        # two random sets of these sizes out of N neurons share about a*b/N (the chance level 06 reports)
        shared = size_a * size_b / self._total if self._total else float("nan")
        union = size_a + size_b - shared
        self.chance = {"intersection": shared, "jaccard": shared / union if union > 0 else float("nan")}
        if len(self.table) and self._task:
            self.table = self.table.assign(meaning=[explain(t, self._task) for t in self.table["tag"]])
        layers = language_similarity_chart(c.layers[c.layers["language"].isin([a, b])])
        overlap = pair_overlap_chart(float(row["jaccard"]), self.chance["jaccard"], float(row["intersection"]), shared,
                                     title=f"{a} vs {b}: overlap and chance")
        top = alt.hconcat(layers, overlap).resolve_scale(color="independent")
        if len(self.table):
            tags = tag_similarity_chart(self.table, title=f"Same neurons per tag? ({a} vs {b})")
            self.chart = alt.vconcat(top, tags).resolve_scale(color="independent")
        else:
            self.chart = top
        s = self.similarity
        per_tag = (f"; per tag, mean Jaccard {self.table['jaccard'].mean():.3f} over {len(self.table)} shared tags"
                   if len(self.table) else "")
        self.text = (f"<b>{html.escape(str(a))}</b> vs <b>{html.escape(str(b))}</b>: {int(s['intersection'])} neurons "
                     f"in both minimal sets ({size_a} and {size_b} neurons; Jaccard {float(s['jaccard']):.3f}; "
                     f"chance: {shared:.1f} neurons, Jaccard {self.chance['jaccard']:.3f}); correlation of the layer "
                     f"distributions {_fmt(float(s['layer_correlation']), '.2f')}{per_tag}.")
