"""Switch neurons off and read a sentence: the probe's tags with and without the intervention.

:class:`InterventionView` wraps an :class:`~neuronbook.interventions.InterventionExplorer` (the model, the
probe of the later layer, the clean training store for the means): pick a neuron set (the top of the
ranking, a tag's neurons, or a random set of the same size), type a sentence, press *Run*; the table and
chart show each word's tag clean and intervened, changed tags in colour (and, with a causal LM, each word's
next-token loss both ways).

Examples
--------
>>> class Fake:
...     probe_layer = 2
...     def neuron_set(self, kind, k, tag=None, seed=0):
...         return [(0, i) for i in range(k)]
...     def predict(self, words, neurons):
...         return pd.DataFrame({"word": words.split(), "clean": "A", "intervened": "B", "changed": True})
>>> view = InterventionView(Fake(), tags=["A"], sentence="the cat")
>>> view.run().table["changed"].tolist(), len(view.neurons)
([True, True], 20)
"""

from __future__ import annotations

import html
import logging

import pandas as pd

from ._base import ChartBox, View, ipw

__all__ = ["InterventionView"]

logger = logging.getLogger(__name__)

_STYLE = {"description_width": "initial"}


class InterventionView(View):
    """Pick a neuron set, type a sentence, see the predictions with and without the intervention.

    Parameters
    ----------
    explorer : InterventionExplorer
        ``result.explorer`` of :func:`neuronbook.intervention_effects` (or one built by hand).
    tags : list of str, optional
        The tags offered for "a tag's neurons".
    k : int
        Start set size.
    sentence : str
        Start sentence (words separated by spaces).
    chart_mode : {"auto", "jupyter", "output"}
    """

    KINDS = (("top of the ranking", "top"), ("a tag's neurons", "tag"), ("random (same size)", "random"))

    def __init__(self, explorer, tags=None, *, k: int = 20, sentence: str = "The cat sat on the mat .",
                 chart_mode: str = "auto"):
        w = ipw()
        self.explorer = explorer
        tags = [str(t) for t in (tags or [])]
        self.kind = w.Dropdown(options=self.KINDS, value="top", description="neurons", style=_STYLE)
        self.tag = w.Dropdown(options=tags or ["-"], description="tag", style=_STYLE, disabled=True)
        self.k = w.IntSlider(value=int(k), min=1, max=max(200, int(k)), description="how many", style=_STYLE)
        self.seed = w.IntText(value=0, description="random seed", style=_STYLE, layout=w.Layout(width="160px"))
        self.sentence = w.Text(value=sentence, description="sentence", style=_STYLE, layout=w.Layout(width="520px"))
        self.button = w.Button(description="Run", button_style="primary")
        self.status = w.HTML()
        self.output = w.HTML()
        self.table = pd.DataFrame(columns=["word", "clean", "intervened", "changed"])
        self.neurons: list = []
        from ..plots.interventions import prediction_chart

        self._chart = ChartBox(prediction_chart(self.table), chart_mode)  # no rows yet: a placeholder
        self.kind.observe(lambda change: setattr(self.tag, "disabled", change["new"] != "tag"), names="value")
        self.button.on_click(lambda _: self.run())
        self.widget = w.VBox([w.HBox([self.kind, self.tag, self.k, self.seed]), w.HBox([self.sentence, self.button]),
                              self.status, self.output, self._chart.widget])

    @property
    def chart(self):
        return self._chart.chart

    def run(self) -> "InterventionView":
        """Predict the sentence with the chosen set switched off; ``table`` and the chart follow."""
        from ..plots.interventions import prediction_chart

        kind = self.kind.value
        try:
            self.neurons = self.explorer.neuron_set(kind, self.k.value, tag=self.tag.value, seed=self.seed.value)
            self.table = self.explorer.predict(self.sentence.value, self.neurons)
        except (ValueError, IndexError) as e:
            self.status.value = f"<span style='color:#b00'>{html.escape(str(e))}</span>"
            return self
        layers = sorted({layer for layer, _ in self.neurons})
        n_changed = int(self.table["changed"].sum())
        self.status.value = (f"{len(self.neurons)} neurons switched off (layers {', '.join(map(str, layers))}; "
                             f"probe of layer {self.explorer.probe_layer}): <b>{n_changed} of {len(self.table)}</b> "
                             "tags changed")
        self.output.value = self.table.to_html(index=False, float_format=lambda v: f"{v:.3f}")
        self._chart.chart = prediction_chart(self.table)
        return self
