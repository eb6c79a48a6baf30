"""Altair charts for the questions LCA answers: how many neurons, where they sit, what they fire on.

Every chart of neuronbook lives here (the widgets only compose them). Every function takes a small
tidy DataFrame (the output of the analysis modules, or an LCA result), checks its columns, and
returns an :class:`altair.Chart` (or a layered / concatenated chart) without displaying it. Data
handed to Altair is pre-aggregated and kept under :data:`MAX_ROWS` rows; a bigger table raises
:class:`ValueError` instead of producing a heavy notebook.

One module per subject, everything re-exported here:

* :mod:`~neuronbook.plots.accuracy` -- how many neurons: :func:`accuracy_curve_chart`,
  :func:`marked_accuracy_curve_chart`, :func:`baseline_chart`, :func:`minimal_set_chart`;
* :mod:`~neuronbook.plots.layers` -- where they sit: :func:`add_relative_depth`,
  :func:`layer_distribution_chart`, :func:`tag_layer_heatmap`, :func:`depth_heatmap`,
  :func:`layerwise_accuracy_chart`;
* :mod:`~neuronbook.plots.ranking` -- which neurons: :func:`ranking_chart`, :func:`weights_chart`,
  :func:`agreement_charts`;
* :mod:`~neuronbook.plots.redundancy` -- how redundant: :func:`cluster_charts`,
  :func:`disjoint_sets_chart`;
* :mod:`~neuronbook.plots.comparisons` -- several analyses: :func:`finetuning_shift_chart`,
  :func:`finetuning_layers_chart`, :func:`architecture_comparison_chart`,
  :func:`language_similarity_chart`, :func:`tag_similarity_chart`;
* :mod:`~neuronbook.plots.activations` -- what a neuron fires on: :func:`activation_text_chart`,
  :func:`activation_html`, :func:`top_words`, :func:`top_words_chart`;
* :mod:`~neuronbook.plots.export` -- :func:`save_chart`.

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

Examples
--------
>>> import pandas as pd
>>> from neuronbook import plots
>>> df = pd.DataFrame({"layer": [0, 1, 2], "count": [1, 3, 6], "share": [0.1, 0.3, 0.6]})
>>> plots.layer_distribution_chart(df).to_dict()["mark"]["type"]
'bar'
"""

from __future__ import annotations

from ._base import MAX_ROWS, SELECTION_COLORS
from .accuracy import accuracy_curve_chart, baseline_chart, marked_accuracy_curve_chart, minimal_set_chart
from .activations import activation_html, activation_text_chart, peak_sentences, top_words, top_words_chart
from .comparisons import (
    note_chart,
    pair_overlap_chart,
    architecture_comparison_chart,
    finetuning_layers_chart,
    finetuning_shift_chart,
    language_similarity_chart,
    tag_similarity_chart,
)
from .export import save_chart
from .interventions import intervention_chart, intervention_draws_chart, prediction_chart
from .layers import add_relative_depth, depth_heatmap, layer_distribution_chart, layerwise_accuracy_chart, tag_layer_heatmap
from .ranking import agreement_charts, ranking_chart, weights_chart
from .redundancy import cluster_charts, disjoint_sets_chart

__all__ = [
    "MAX_ROWS",
    "intervention_chart",
    "intervention_draws_chart",
    "prediction_chart",
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
    "peak_sentences",
    "top_words",
    "top_words_chart",
    # moved here from neuronbook.widgets (charts the views draw)
    "agreement_charts",
    "cluster_charts",
    "depth_heatmap",
    "disjoint_sets_chart",
    "finetuning_layers_chart",
    "ranking_chart",
    "tag_similarity_chart",
    "weights_chart",
    # the accuracy curve with one percent marked (AccuracyCurveView)
    "marked_accuracy_curve_chart",
    # issue 20: a pair's overlap against chance, a note in place of an empty chart
    "pair_overlap_chart",
    "note_chart",
]
