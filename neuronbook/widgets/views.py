"""Views over an analysis: run it, read its accuracy curve, browse its neurons.

Each view keeps its state in Python attributes (``chart``, ``text``, ``percent``, ``neuron`` ...),
so tests and scripts drive it without a browser (``set_percent``, ``set_neuron``, ``run``), and
its ``widget`` is the ipywidgets container a notebook shows (displaying the view shows it).
"""

from __future__ import annotations

import html
import logging

import numpy as np

from ..settings import in_kernel
from ._base import ChartBox, View, ipw, show_in
from ._data import accuracy_table, measured_percents, minimal_percent, nearest, neuron_label, oracle_accuracy
from .controls import corpus_picker, corpus_tasks, model_picker, neuron_picker, percent_slider, task_picker

__all__ = ["RunPanel", "AccuracyCurveView", "NeuronBrowser", "FreeTextView"]

logger = logging.getLogger(__name__)

#: Name of the click selection of the ranking chart (:func:`neuronbook.plots.ranking_chart`).
PICK = "neuron_pick"
_SELECTIONS = ("top", "random", "bottom")


# ------------------------------------------------------------------------------------------ run

class RunPanel(View):
    """Model, corpus and task pickers, a Run button, progress, and the headline of the last result.

    The panel builds an :class:`~neuronbook.config.LCAConfig` from its controls on top of ``config``
    (every other setting is kept) and calls :func:`neuronbook.run_lca`. The task control offers only
    the tasks the chosen corpus supports (:func:`~neuronbook.widgets.corpus_tasks`, read from its test
    split): choosing another corpus refills it, keeping the task when the new corpus has it. A corpus
    that cannot be read disables **Run** and says why in one line. A failed run shows one line (the
    error's kind and message) with the traceback behind a toggle, and is logged; :meth:`run` also
    re-raises it for a caller, a click does not (the panel shows it).

    Parameters
    ----------
    config : LCAConfig, optional
        The settings the controls start from (default :class:`LCAConfig()`).
    result : LCAResult, optional
        A result already computed (its headline is shown until the next run).
    progress : bool or "auto"
        Progress bars of :func:`run_lca`.
    cache : bool or path
        Passed to :func:`run_lca`.

    Attributes
    ----------
    config : LCAConfig
        The settings the controls describe now.
    result : LCAResult or None
        The last result.
    error : Exception or None
        The last run's error (or why the chosen corpus cannot be read).
    caveats : Caveats or None
        The warnings of the last run, shown under its headline.
    """

    def __init__(self, config=None, *, result=None, progress="auto", cache=True):
        from ..config import LCAConfig

        w = ipw()
        self.base = LCAConfig() if config is None else config
        if not isinstance(self.base, LCAConfig):
            raise TypeError(f"config must be an LCAConfig, got {type(self.base).__name__}")
        self.progress, self.cache = progress, cache
        self.model = model_picker(self.base.model)
        self.corpus = corpus_picker(self.base.data, data_dir=self.base.data_dir)
        self.task = task_picker(self.base.task, tasks=self._tasks_of(self.base.data) or [self.base.task])
        self.max_sentences = w.IntText(value=self.base.max_sentences or 0, description="max sentences (0: all)",
                                       style={"description_width": "initial"}, layout=w.Layout(width="220px"))
        self.button = w.Button(description="Run", button_style="primary", icon="play")
        self.status = w.HTML()
        self.output = w.Output()
        self.summary = w.HTML()
        self.result = result
        self.error = None
        self.caveats = None
        self._callbacks = []
        self.button.on_click(self._on_click)
        self.corpus.observe(self._on_corpus, names="value")
        self._show_result()
        self.widget = w.VBox([w.HBox([self.model, self.corpus]), w.HBox([self.task, self.max_sentences]),
                              w.HBox([self.button, self.status]), self.output, self.summary])
        if self._corpus_error is not None:
            self._refuse_corpus(self._corpus_error)

    _corpus_error = None

    def _tasks_of(self, data) -> list[str] | None:
        """The tasks ``data`` supports; None (and the reason kept) when it cannot be read."""
        try:
            tasks = corpus_tasks(data, split=self.base.test, data_dir=self.base.data_dir)
        except Exception as err:  # not found, unreadable: say so, offer nothing
            self._corpus_error = err
            return None
        self._corpus_error = None
        return tasks

    def _refuse_corpus(self, err) -> None:
        from ..pages import error_html

        self.error = err
        self.button.disabled = True
        self.status.value = error_html(err)

    def _on_corpus(self, change) -> None:
        tasks = self._tasks_of(change["new"])
        if tasks is None:
            self.task.options = []
            self._refuse_corpus(self._corpus_error)
            return
        keep = self.task.value if self.task.value in tasks else tasks[0]
        self.task.options = tasks
        self.task.value = keep
        self.error = None
        self.button.disabled = False
        self.status.value = f"<span style='color:#555'>{len(tasks)} tasks in {html.escape(str(change['new']))}</span>"

    @property
    def config(self):
        """The settings of the controls (validated: an invalid value raises here)."""
        n = int(self.max_sentences.value)
        return self.base.replace(model=self.model.value, data=self.corpus.value, task=self.task.value,
                                 max_sentences=None if n == 0 else n)

    @property
    def text(self) -> str:
        """The HTML headline shown now."""
        return self.summary.value

    def on_result(self, callback) -> None:
        """Call ``callback(result)`` after every successful run (to refresh other views)."""
        self._callbacks.append(callback)

    def run(self):
        """Run the analysis the controls describe; returns the result (an error is shown, logged and raised)."""
        from .. import lca
        from ..caveats import collect_caveats
        from ..pages import error_html

        self.error = None
        self.button.disabled = True
        self.status.value = "<i>running ...</i>"
        if in_kernel():
            self.output.clear_output()
        try:
            with self.output, collect_caveats() as caveats:  # progress bars land in the panel, warnings in the box
                try:
                    config = self.config
                    self.status.value = f"<i>running {html.escape(config.model)} / {html.escape(config.data)} / " \
                                        f"{html.escape(config.task)} ...</i>"
                    result = lca.run_lca(config, cache=self.cache, progress=self.progress)
                except Exception as err:
                    self.error = err
                    self.status.value = error_html(err)
                    logger.error("RunPanel: the analysis failed: %s: %s", type(err).__name__, err)
        finally:
            self.button.disabled = False
        if self.error is not None:
            raise self.error  # for a caller; a click shows it in the panel only (see _on_click)
        self.result = result
        self.caveats = caveats
        self.status.value = "done" + (" (loaded from the cache)" if result.from_cache else "")
        self._show_result()
        for callback in self._callbacks:
            callback(result)
        return result

    def _on_click(self, _button) -> None:
        try:
            self.run()
        except Exception:  # shown in the panel (one line + traceback toggle) and logged
            pass

    def _show_result(self) -> None:
        from ..pages import result_html

        if self.result is None:
            self.summary.value = "<i>no result yet: choose and press Run</i>"
        else:
            self.summary.value = result_html(self.result, self.caveats)


# ------------------------------------------------------------------------------------ accuracy

class AccuracyCurveView(View):
    """The accuracy curve with the oracle line, and top / random / bottom marked at a chosen percent.

    The curve is :func:`neuronbook.plots.accuracy_curve_chart` over the minimal-set search (top
    neurons) and the ablation (top / random / bottom); a vertical rule and large points mark the
    percent picked on the slider, and :attr:`text` states the accuracies there.

    Parameters
    ----------
    result : LCAResult
    percent : float, optional
        Start percent (default the minimal set's, or the nearest measured one).
    split : str
        Which split's accuracy to show.
    method : {"retrain", "zero-out"}
        Which ablation method's accuracies to show.
    chart_mode : {"auto", "jupyter", "output"}
        How the chart is drawn (see :class:`neuronbook.widgets.ChartBox`).

    Attributes
    ----------
    chart : altair.LayerChart
        The chart drawn now.
    markers : DataFrame
        The points marked at :attr:`percent` (``selection``, ``percent``, ``n_neurons``, ``accuracy``).
    text : str
        HTML sentence with the accuracies at :attr:`percent`.
    """

    def __init__(self, result, percent: float | None = None, split: str = "test", method: str = "retrain",
                 chart_mode: str = "auto"):
        w = ipw()
        self.result, self.split, self.method = result, split, method
        self.table = accuracy_table(result, split, method)
        if not len(self.table):
            raise ValueError(f"the result measured no accuracy on split {split!r} with method {method!r}")
        self.percents = measured_percents(result, split, method)
        self.oracle = oracle_accuracy(result, split)
        self.slider = percent_slider(result, percent, split, method)
        self.percent = float(self.slider.value)
        self._update_state()
        self.box = ChartBox(self.chart, chart_mode)
        self.note = w.HTML(self.text)
        self.slider.observe(lambda change: self.set_percent(change["new"]), names="value")
        self.widget = w.VBox([self.slider, self.box.widget, self.note])

    def set_percent(self, percent: float) -> float:
        """Mark ``percent`` (snapped to the nearest measured one); returns the percent marked."""
        percent = nearest(self.percents, percent)
        if percent == self.percent:
            return percent
        self.percent = percent
        self._update_state()
        if self.slider.value != percent:
            self.slider.value = percent  # its observer calls back here and finds nothing to do
        self.box.chart = self.chart
        self.note.value = self.text
        return percent

    def _update_state(self) -> None:
        from ..plots import marked_accuracy_curve_chart

        t = self.table
        self.markers = t.loc[np.isclose(t["percent"], self.percent),
                             ["selection", "percent", "n_neurons", "accuracy"]].reset_index(drop=True)
        # one method is shown: without the column the chart draws no method legend
        self.chart = marked_accuracy_curve_chart(t.drop(columns="method"), self.percent, oracle=self.oracle,
                                                 split=self.split)
        self.text = self._describe()

    def _describe(self) -> str:
        m = self.markers.set_index("selection")
        n = int(m["n_neurons"].iloc[0]) if len(m) else 0
        parts = []
        for sel in _SELECTIONS:
            parts.append(f"{sel} <b>{float(m.loc[sel, 'accuracy']):.3f}</b>" if sel in m.index
                         else f"{sel} <i>not measured here</i>")
        oracle = f"; all neurons (oracle) <b>{self.oracle:.3f}</b>" if self.oracle is not None else ""
        ms = minimal_percent(self.result)
        mark = " (the minimal set)" if ms is not None and np.isclose(ms, self.percent) else ""
        return (f"With {self.percent:.3g}% of the neurons ({n}){mark}, {self.split} accuracy: "
                + ", ".join(parts) + oracle + ".")


# ------------------------------------------------------------------------------------- neurons

class NeuronBrowser(View):
    """One neuron at a time: its weight per tag, its activation over sentences, its top words.

    Pick the neuron in the picker, or click it in the ranking chart (clickable when the
    ``jupyter`` renderer is active, see :func:`neuronbook.notebook_setup`; otherwise the picker is
    the way). Activations come from ``store`` (default: the result's test store,
    :meth:`LCAResult.open_store`); when it is not available the view says so and shows the weights.

    Parameters
    ----------
    result : LCAResult
    store : ActivationStore, False or None
        The activations (None: ``result.open_store("test")`` when it is in the cache; False: none).
    neuron : (int, int), optional
        The first neuron (default the top-ranked).
    top : int
        Neurons in the ranking chart and the picker's dropdown.
    n_sentences : int
        Sentences shown as coloured text (those where the neuron fires most strongly).
    max_sentences : int
        Sentences read from the store for the top words.
    k : int
        Top words listed.
    chart_mode : {"auto", "jupyter", "output"}
        How charts are drawn (see :class:`neuronbook.widgets.ChartBox`).

    Attributes
    ----------
    neuron : (int, int)
    weights : DataFrame
        :meth:`LCAResult.neuron_weights` of the neuron.
    chart : altair.Chart
        The weight-per-tag chart.
    text : str
        The coloured-text HTML (or the note saying why there is none).
    top_words : DataFrame or None
        :func:`neuronbook.plots.top_words` of the neuron (None without a store).
    top_words_chart : altair.Chart or None
    ranking_chart : altair.Chart
    store_note : str or None
        Why activations are not shown (None when they are).
    """

    def __init__(self, result, store=None, neuron=None, *, top: int = 20, n_sentences: int = 5,
                 max_sentences: int = 1000, k: int = 15, chart_mode: str = "auto"):
        from ..plots import ranking_chart

        w = ipw()
        self.result = result
        self.n_sentences, self.max_sentences, self.k = int(n_sentences), int(max_sentences), int(k)
        self.store, self.store_note = self._open(store)
        self._words = None
        self.picker = neuron_picker(result, top=top, value=neuron)
        self.neuron = self.picker.value
        self._update_state()
        self.ranking_chart = ranking_chart(result, top=top, selection=PICK)
        self.ranking_box = ChartBox(self.ranking_chart, chart_mode)
        self.clickable = self.ranking_box.on_select(PICK, self._on_click)
        self.weights_box = ChartBox(self.chart, chart_mode)
        self.words_box = w.Output()
        self.html = w.HTML(self.text)
        self._show_words()
        self.picker.observe(lambda value: self.set_neuron(*value))
        hint = "" if self.clickable else \
            "<i>(pick a neuron above; clicking the chart needs the 'jupyter' renderer and anywidget)</i>"
        self.widget = w.VBox([self.picker.widget, w.HTML(hint), self.ranking_box.widget,
                              w.HBox([self.weights_box.widget, self.words_box]),
                              w.HTML("<b>Activation over sentences</b> (blue above the neuron's mean, red below; "
                                     "hover a word for its value)"), self.html])

    def _open(self, store):
        if store is False:
            return None, "No activation store was given, so no activations are shown."
        if store is not None:
            return store, None
        try:
            return self.result.open_store("test"), None
        except (FileNotFoundError, ValueError, OSError) as err:
            logger.info("NeuronBrowser: no activation store: %s", err)
            return None, f"Activations are not available: {err}"

    def set_neuron(self, layer: int, neuron: int) -> tuple[int, int]:
        """Browse neuron ``(layer, neuron)``; returns it."""
        value = (int(layer), int(neuron))
        if value != self.picker.value:
            self.picker.value = value  # validates; its callback comes back here
            return self.neuron
        if value == self.neuron:
            return value
        self.neuron = value
        self._update_state()
        self.weights_box.chart = self.chart
        self.html.value = self.text
        self._show_words()
        return value

    def _on_click(self, points) -> None:
        if points:
            p = points[0]
            self.set_neuron(p["layer"], p["neuron"])

    def _update_state(self) -> None:
        from ..plots import activation_html, top_words, top_words_chart, weights_chart

        layer, neuron = self.neuron
        label = neuron_label(layer, neuron)
        self.weights = self.result.neuron_weights(layer, neuron)
        self.chart = weights_chart(self.weights, title=f"{label}: weight per tag")
        if self.store is None:
            self.top_words = self.top_words_chart = None
            self.text = f"<p><i>{html.escape(self.store_note)}</i></p>"
            return
        words, values = self._activations(layer, neuron)
        self.top_words = top_words(words, values, k=self.k)
        self.top_words_chart = top_words_chart(self.top_words, title=f"{label}: top words")
        # The sentences where the neuron departs most from its mean, strongest first.
        from ..plots import peak_sentences

        bounds = np.concatenate([[0], np.cumsum([len(s) for s in words])])
        chosen = peak_sentences(words, values, self.n_sentences)
        self.sentences = chosen
        # coloured by the departure from the neuron's mean, as the top words' signed z (hover: raw value)
        self.text = activation_html([words[i] for i in chosen], [values[bounds[i]:bounds[i + 1]] for i in chosen],
                                    baseline=float(values.mean()))

    def _activations(self, layer, neuron):
        n = min(self.store.n_sentences, self.max_sentences)
        if self._words is None:
            self._words = self.store.words[:n]
        values = self.store.activations(layers=[layer], neurons=[neuron], sentences=range(n))[:, 0]
        return self._words, values.astype(np.float64)

    def _show_words(self) -> None:
        if self.top_words_chart is not None:
            show_in(self.words_box, self.top_words_chart)


# ------------------------------------------------------------------------------------ free text

class FreeTextView(View):
    """Type a sentence: the chosen neurons' activations over its words and the probe's tag for each word.

    Each neuron's activations are coloured text (blue above the neuron's mean over the training words,
    red below; hover for the value), and a last row gives the oracle probe's predicted tag per word
    (hover: its probability). The model is loaded on the first :meth:`show` (offline presets need no
    network) and kept for the session (:meth:`neuronbook.lca.LCAResult.read_sentence`).

    Parameters
    ----------
    result : LCAResult
    neurons : int or list of (layer, neuron)
        The neurons shown first: the top-``n`` ranked (default 3), or these.
    text : str
        The sentence shown first (nothing runs until :meth:`show` or **Show**).
    model : str or (model, tokenizer), optional
        Default the result's model.
    top : int
        How many top-ranked neurons the picker lists.

    Attributes
    ----------
    table : DataFrame or None
        The last reading (:meth:`~neuronbook.lca.LCAResult.read_sentence`).
    html : ipywidgets.HTML
        What the view shows.
    """

    def __init__(self, result, neurons=3, text: str = "The cat sat on the mat .", model=None, top: int = 20):
        w = ipw()
        self.result, self.model = result, model
        head = result.ranking.sort_values("rank").head(int(top))
        options = [(f"#{int(r.rank)}  {neuron_label(r.layer, r.neuron)}" + (f"  ({r.tag})" if r.tag else ""),
                    (int(r.layer), int(r.neuron))) for r in head.itertuples(index=False)]
        if isinstance(neurons, int):
            chosen = [v for _, v in options[:neurons]]
        else:
            chosen = [(int(a), int(b)) for a, b in neurons]
            options += [(neuron_label(*v), v) for v in chosen if v not in [o for _, o in options]]
        self.sentence = w.Text(value=text, description="sentence", placeholder="type a sentence",
                               layout=w.Layout(width="60%"), style={"description_width": "initial"})
        self.neurons = w.SelectMultiple(options=options, value=tuple(chosen), rows=min(6, max(len(options), 1)),
                                        description="neurons", style={"description_width": "initial"})
        self.button = w.Button(description="Show", button_style="primary", icon="eye")
        self.html = w.HTML("<i>type a sentence and press Show</i>")
        self.table = None
        self.error = None
        self.button.on_click(lambda _b: self._safe_show())
        self.widget = w.VBox([w.HBox([self.sentence, self.button]), self.neurons, self.html])

    def show(self, text: str | None = None) -> str:
        """Read ``text`` (default the box's) and show it; returns the HTML (an error is raised after it is shown)."""
        from ..pages import error_html
        from ..plots import activation_html

        if text is not None:
            self.sentence.value = text
        self.error = None
        try:
            neurons = list(self.neurons.value)
            if not neurons:
                raise ValueError("pick at least one neuron")
            table = self.result.read_sentence(self.sentence.value, model=self.model, neurons=neurons)
        except Exception as err:
            self.error = err
            self.html.value = error_html(err)
            raise
        self.table = table
        means = self.result.neurons.set_index(["layer", "neuron"])["mean"]
        words = table["word"].tolist()
        rows = []
        for layer, neuron in neurons:
            values = table[f"{layer}:{neuron}"].to_numpy()
            coloured = activation_html([words], [values], baseline=float(means.loc[(layer, neuron)]))
            rows.append(f"<tr><td style='padding-right:10px;white-space:nowrap;vertical-align:top'>"
                        f"<b>{html.escape(neuron_label(layer, neuron))}</b></td><td>{coloured}</td></tr>")
        tags = " ".join(f"<span title='p = {p:.2f}' style='display:inline-block;margin:1px 3px;padding:0 3px;"
                        f"border:1px solid #ccc;border-radius:3px'>{html.escape(w_)}<sub style='color:#555'>"
                        f"{html.escape(t)}</sub></span>"
                        for w_, t, p in zip(words, table["predicted"], table["probability"]))
        rows.append(f"<tr><td style='padding-right:10px;vertical-align:top'><b>probe's tag</b></td><td>{tags}</td></tr>")
        self.html.value = f"<table class='nb-freetext'>{''.join(rows)}</table>"
        return self.html.value

    def _safe_show(self) -> None:
        try:
            self.show()
        except Exception:  # shown in the view (one line + traceback toggle)
            logger.warning("FreeTextView: %s", self.error)
