"""Widgets for the notebooks: small controls and views over an analysis (ipywidgets, imported lazily).

Nothing in the core imports this package, and importing it does not import ipywidgets: that
happens when a control or view is built. Each piece works alone in any notebook:

* controls -- :func:`model_picker`, :func:`corpus_picker`, :func:`task_picker`,
  :func:`percent_slider`, :func:`neuron_picker`, :func:`ranker_picker`, :func:`threshold_slider`;
* views -- :class:`RunPanel` (pickers, Run, progress, summary), :class:`AccuracyCurveView`
  (percent slider -> accuracy curve with oracle and top / random / bottom), :class:`NeuronBrowser`
  (pick or click a neuron -> weight per tag, coloured activation text, top words),
  :class:`LocalizationView` (tag x layer, relative depth), :class:`ClusterView` (correlation
  threshold -> clusters), :class:`RankerAgreementView` (k -> overlap of rankers),
  :class:`FineTuningView`, :class:`ArchitectureView`, :class:`LanguagePairView` (comparisons),
  :class:`InterventionView` (a neuron set switched off inside the model -> a sentence's tags both ways).

Views keep their state in attributes (``chart``, ``text`` ...) and are driven from Python with
``set_percent`` / ``set_neuron`` / ``run``; ``view.widget`` is the container a notebook shows.

The charts the views draw are :mod:`neuronbook.plots`' (``nb.plots.cluster_charts``, ``nb.plots.weights_chart``
...); the views only compose them. The chart functions that used to live here are still reachable
as ``neuronbook.widgets.<name>`` (the same functions, from :mod:`neuronbook.plots`).

Examples
--------
>>> import neuronbook.widgets as nbw
>>> nbw.ranker_picker().value
'lca'
"""

from __future__ import annotations

from ._base import ChartBox, jupyter_chart_available
from .controls import (
    NeuronPicker,
    corpus_picker,
    corpus_tasks,
    model_picker,
    neuron_picker,
    percent_slider,
    ranker_picker,
    task_picker,
    threshold_slider,
)
from .comparisons import ArchitectureView, FineTuningView, LanguagePairView
from .interventions import InterventionView
from .localization import LocalizationView
from .rankers import RankerAgreementView, k_grid
from .redundancy import ClusterView, cluster_sweep
from .views import AccuracyCurveView, FreeTextView, NeuronBrowser, RunPanel

__all__ = ["model_picker", "corpus_picker", "task_picker", "corpus_tasks", "percent_slider", "neuron_picker", "NeuronPicker",
           "ranker_picker", "threshold_slider", "RunPanel", "AccuracyCurveView", "NeuronBrowser", "FreeTextView", "ChartBox",
           "jupyter_chart_available",
           # 02 localization, 03 redundancy, 07 rankers
           "LocalizationView", "ClusterView", "cluster_sweep", "RankerAgreementView", "k_grid",
           # 04 fine-tuning, 05 architectures, 06 languages
           "FineTuningView", "ArchitectureView", "LanguagePairView",
           # 08 interventions
           "InterventionView"]

#: Charts that lived in this package before they moved to :mod:`neuronbook.plots`: still found here
#: (imported on first use, so ``import neuronbook.widgets`` does not import altair).
_MOVED_TO_PLOTS = ("ranking_chart", "weights_chart", "depth_heatmap", "cluster_charts", "disjoint_sets_chart",
                   "agreement_charts", "finetuning_layers_chart", "tag_similarity_chart")


def __getattr__(name: str):
    if name in _MOVED_TO_PLOTS:
        from .. import plots

        value = getattr(plots, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'neuronbook.widgets' has no attribute {name!r}")
