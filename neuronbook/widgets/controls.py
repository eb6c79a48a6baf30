"""Small controls, each usable alone: pickers for a model, corpus, task, ranker, neuron, percent, threshold.

Each function returns a plain ipywidgets control (``NeuronPicker`` is a small composite) whose
``value`` is exactly what an :class:`~neuronbook.config.LCAConfig` field or a view expects, so
``config.replace(model=model_picker().value)`` works.

Examples
--------
>>> from neuronbook.widgets import task_picker
>>> task_picker("upos").value
'upos'
"""

from __future__ import annotations

import logging

from ._base import View, ipw
from ._data import measured_percents, minimal_percent, nearest, neuron_label

__all__ = ["model_picker", "corpus_picker", "task_picker", "corpus_tasks", "percent_slider", "neuron_picker", "NeuronPicker",
           "ranker_picker", "threshold_slider"]

logger = logging.getLogger(__name__)

_STYLE = {"description_width": "initial"}


def _with_value(options: list[tuple[str, str]], value) -> list[tuple[str, str]]:
    """Options with ``value`` added on top when it is not one of them (a folder, a file, a custom name)."""
    if value is not None and value not in [v for _, v in options]:
        return [(str(value), value)] + options
    return options


def model_picker(value: str | None = None, description: str = "model"):
    """A dropdown of the model presets (:func:`neuronbook.list_models`), installed ones first.

    The value is the preset's alias (what :func:`neuronbook.load_model` takes); a ``value`` that is
    not an alias (a preset's full id, a folder) is kept as its own first option, so a config
    round-trips unchanged.

    Examples
    --------
    >>> model_picker("tiny-random").value
    'tiny-random'
    >>> model_picker("/my/model").options[0]
    ('/my/model', '/my/model')
    """
    from ..models import list_models

    from ..config import LCAConfig

    models = list_models().sort_values("installed", ascending=False, kind="stable")
    options = []
    for row in models.itertuples(index=False):
        state = "installed" if row.installed else "not installed"
        label = f"{row.alias} ({state})"
        # A config naming the preset by its full id keeps the id as the value.
        options.append((f"{row.id} ({row.alias}, {state})", row.id) if value == row.id else (label, row.alias))
    value = LCAConfig().model if value is None else value
    options = _with_value(options, value)
    return ipw().Dropdown(options=options, value=value, description=description, style=_STYLE)


def corpus_picker(value: str | None = None, data_dir=None, description: str = "corpus"):
    """A dropdown of the named corpora (:func:`neuronbook.list_corpora`), those found on disk first.

    Examples
    --------
    >>> corpus_picker("ud:en_ewt", data_dir="/nonexistent").value
    'ud:en_ewt'
    """
    from ..datasets import list_corpora

    table = list_corpora(data_dir=data_dir)
    found = table.groupby("name", sort=False)["found"].any()
    names = sorted(found.index, key=lambda n: (not found[n], n))
    options = [(f"{n} ({'found' if found[n] else 'not found'})", n) for n in names]
    value = "ud:en_ewt" if value is None else value
    return ipw().Dropdown(options=_with_value(options, value), value=value, description=description, style=_STYLE)


def task_picker(value: str = "xpos", description: str = "task", tasks=None):
    """A task control: a dropdown of ``tasks`` (what a corpus supports), else a combo box of the registry.

    Parameters
    ----------
    value : str
        The task shown first; with ``tasks`` it must be one of them (else the first is shown).
    tasks : list of str, optional
        The valid task names (:func:`corpus_tasks` of the chosen corpus): the control then offers
        exactly these and nothing else. None: a combo box over :func:`neuronbook.corpus.list_tasks`
        with free text (for ``feats:<Feature>``).

    Examples
    --------
    >>> w = task_picker()
    >>> w.value, "suffix" in w.options
    ('xpos', True)
    >>> task_picker("xpos", tasks=["suffix", "sem"]).value  # not offered by that corpus: its first task
    'suffix'
    """
    if tasks is not None:
        tasks = list(tasks)
        if not tasks:
            raise ValueError("no task to offer: the corpus has no label column a task reads")
        return ipw().Dropdown(options=tasks, value=value if value in tasks else tasks[0], description=description,
                              style=_STYLE)
    from ..corpus import list_tasks

    tasks = list_tasks()["task"].tolist()
    return ipw().Combobox(options=tasks, value=value, placeholder="task, e.g. upos or feats:Number",
                          ensure_option=False, description=description, style=_STYLE)


def corpus_tasks(data: str, split: str = "test", data_dir=None) -> list[str]:
    """The tasks a named corpus (or corpus file) supports: its label columns, ``suffix``, ``feats:*`` per feature.

    Read from the corpus's ``split`` (loaded once, then kept for the session); ``control:`` tasks are
    left out (the control task is the ``control`` setting). Raises what :func:`neuronbook.load_corpus`
    raises for a corpus that cannot be found.
    """
    key = (str(data), str(split), None if data_dir is None else str(data_dir))
    if key not in _CORPUS_TASKS:
        from ..corpus import available_tasks
        from ..datasets import load_corpus

        from pathlib import Path

        named = str(data).partition(":")[0] in ("ud", "pmb") and ":" in str(data)
        if named:  # a named corpus: a split name (a file given as the split belongs to another corpus)
            corpus = load_corpus(data, split=split if split in ("train", "dev", "test") else "test",
                                 data_dir=data_dir)
        elif Path(str(split)).expanduser().is_file():  # the split given as a file (a corpus given as files)
            corpus = load_corpus(str(split))
        else:  # a corpus file is one split
            corpus = load_corpus(str(data))
        names = available_tasks(corpus)
        _CORPUS_TASKS[key] = [n for n in names if not n.startswith("control:")]
    return list(_CORPUS_TASKS[key])


_CORPUS_TASKS: dict[tuple, list[str]] = {}


def percent_slider(result, value: float | None = None, split: str = "test", method: str = "retrain",
                   description: str = "neurons kept"):
    """A slider over the percents of neurons at which ``result`` measured accuracy.

    The default is the minimal set's percent (or the nearest measured one).

    Examples
    --------
    >>> from neuronbook.lca.result import toy_result
    >>> import pandas as pd
    >>> r = toy_result()
    >>> r.curve = pd.DataFrame({"selection": ["top", "top"], "method": "retrain", "percent": [5.0, 10.0],
    ...                         "n_neurons": [1, 2], "split": "test", "accuracy": [0.5, 0.9]})
    >>> percent_slider(r, 9).value
    10.0
    """
    percents = measured_percents(result, split, method)
    if not percents:
        raise ValueError(f"the result measured no accuracy on split {split!r} with method {method!r}")
    start = value if value is not None else minimal_percent(result)
    start = nearest(percents, percents[0] if start is None else start)
    return ipw().SelectionSlider(options=[(f"{p:.3g}%", p) for p in percents], value=start,
                                 description=description, continuous_update=False, style=_STYLE)


def ranker_picker(value: str = "lca", description: str = "ranker"):
    """A dropdown over the ranker registry (:data:`neuronbook.rank.RANKERS`).

    Examples
    --------
    >>> "probeless" in ranker_picker().options
    True
    """
    from ..rank import RANKERS

    names = list(RANKERS)
    if value not in names:
        raise ValueError(f"unknown ranker {value!r}; choose one of {names}")
    return ipw().Dropdown(options=names, value=value, description=description, style=_STYLE)


def threshold_slider(value: float = 0.5, min: float = 0.0, max: float = 1.0, step: float = 0.05,
                     description: str = "threshold"):
    """A float slider for a threshold (e.g. the correlation above which neurons cluster).

    Examples
    --------
    >>> threshold_slider(0.7).value
    0.7
    """
    if not min <= value <= max:
        raise ValueError(f"threshold {value} outside [{min}, {max}]")
    return ipw().FloatSlider(value=value, min=min, max=max, step=step, description=description,
                             continuous_update=False, readout_format=".2f", style=_STYLE)


class NeuronPicker(View):
    """Choose a neuron of a result: from its top-ranked neurons, or by layer and neuron number.

    ``value`` is ``(layer, neuron)``; :meth:`observe` calls back with it on every change.

    Parameters
    ----------
    result : LCAResult
    top : int
        How many of the top-ranked neurons the dropdown lists.
    value : (int, int), optional
        The first neuron (default the top-ranked one).
    """

    def __init__(self, result, top: int = 20, value=None):
        w = ipw()
        self.result = result
        neurons = result.neurons[["layer", "neuron"]].astype(int)
        if not len(neurons):
            raise ValueError("the result has no neurons to pick from")
        self._by_layer = {int(layer): sorted(grp["neuron"].tolist()) for layer, grp in neurons.groupby("layer")}
        head = result.ranking.sort_values("rank").head(int(top))
        self._top = [(f"#{int(r.rank)}  {neuron_label(r.layer, r.neuron)}" + (f"  ({r.tag})" if r.tag else ""),
                      (int(r.layer), int(r.neuron))) for r in head.itertuples(index=False)]
        if value is None:
            value = self._top[0][1] if self._top else (int(neurons["layer"].iloc[0]), int(neurons["neuron"].iloc[0]))
        value = self._check(*value)
        self.top = w.Dropdown(options=[("(other)", None)] + self._top, value=None, description="top neurons",
                              style=_STYLE)
        self.layer = w.Dropdown(options=sorted(self._by_layer), value=value[0], description="layer",
                                layout=w.Layout(width="140px"))
        self.neuron = w.BoundedIntText(value=value[1], min=0, max=max(self._by_layer[value[0]]),
                                       description="neuron", layout=w.Layout(width="160px"))
        self._value = value
        self._callbacks = []
        self._syncing = False
        self._sync_top()
        self.top.observe(self._on_top, names="value")
        self.layer.observe(self._on_layer_neuron, names="value")
        self.neuron.observe(self._on_layer_neuron, names="value")
        self.widget = w.HBox([self.top, self.layer, self.neuron])

    def _check(self, layer, neuron) -> tuple[int, int]:
        layer, neuron = int(layer), int(neuron)
        if layer not in self._by_layer:
            raise ValueError(f"layer {layer} was not analysed; layers: {sorted(self._by_layer)}")
        if neuron not in self._by_layer[layer]:
            raise ValueError(f"neuron {neuron} of layer {layer} was not analysed "
                             f"(layer {layer} has neurons {self._by_layer[layer][0]}..{self._by_layer[layer][-1]})")
        return layer, neuron

    @property
    def value(self) -> tuple[int, int]:
        """The neuron chosen, ``(layer, neuron)``."""
        return self._value

    @value.setter
    def value(self, value) -> None:
        self._set(self._check(*value))

    def observe(self, callback) -> None:
        """Call ``callback((layer, neuron))`` whenever the neuron changes."""
        self._callbacks.append(callback)

    def _set(self, value: tuple[int, int]) -> None:
        changed = value != self._value
        self._value = value
        self._syncing = True
        try:
            self.layer.value = value[0]
            self.neuron.max = max(self._by_layer[value[0]])
            self.neuron.value = value[1]
            self._sync_top()
        finally:
            self._syncing = False
        if changed:
            for callback in self._callbacks:
                callback(value)

    def _sync_top(self) -> None:
        self.top.value = self._value if self._value in [v for _, v in self._top] else None

    def _on_top(self, change) -> None:
        if not self._syncing and change["new"] is not None:
            self._set(change["new"])

    def _on_layer_neuron(self, change) -> None:
        if self._syncing:
            return
        layer = int(self.layer.value)
        self.neuron.max = max(self._by_layer[layer])
        try:
            value = self._check(layer, self.neuron.value)
        except ValueError as err:  # a neuron outside the analysed set: say so, keep the last valid one
            logger.warning("%s", err)
            return
        self._set(value)


def neuron_picker(result, top: int = 20, value=None) -> NeuronPicker:
    """A :class:`NeuronPicker` over ``result``'s neurons (top-ranked dropdown, or layer + neuron).

    Examples
    --------
    >>> from neuronbook.lca.result import toy_result
    >>> neuron_picker(toy_result(), value=(0, 1)).value
    (0, 1)
    """
    return NeuronPicker(result, top=top, value=value)
