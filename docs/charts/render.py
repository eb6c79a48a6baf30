"""Render every chart of neuronbook.plots with synthetic data into docs/charts/*.png.

Run from the repository root: ``python docs/charts/render.py``. The numbers are made up
(shaped like typical LCA results), only to show how each chart reads.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from neuronbook import plots
from neuronbook.analysis.layers import layer_distribution as layer_table

OUT = Path(__file__).resolve().parent
rng = np.random.default_rng(0)


def accuracy_curve():
    rows = []
    for method in ("retrain", "zero-out"):
        for pct in (0.5, 1, 2, 5, 10, 20, 50, 100):
            n = int(round(pct / 100 * 2688))
            t = 1 - np.exp(-pct / 3)
            acc = {"top": 0.55 + 0.38 * t, "random": 0.30 + 0.62 * (1 - np.exp(-pct / 20)),
                   "bottom": 0.15 + 0.77 * (1 - np.exp(-pct / 40))}
            for sel, a in acc.items():
                a = a - (0.04 if method == "zero-out" and pct < 100 else 0)
                rows.append(dict(selection=sel, n_neurons=n, percent=pct, accuracy=round(a, 3),
                                 split="test", method=method))
    return plots.accuracy_curve_chart(pd.DataFrame(rows), oracle=0.93, log_x=True)


def layer_distribution(facet=True, relative=False):
    # a 6-layer model: n_layers = 7 counts the embeddings (layer 0)
    n_layers, selected = 7, []
    for task, peak in (("POS", 2), ("SEM", 4), ("Chunking", 3), ("CCG", 5)):
        w = np.exp(-0.5 * ((np.arange(n_layers) - peak) / 1.5) ** 2)
        counts = np.round(w / w.sum() * 120).astype(int)
        selected += [dict(task=task, layer=layer) for layer, c in enumerate(counts) for _ in range(c)]
    table = layer_table(pd.DataFrame(selected), n_layers, by="task", layer_size=384)
    return plots.layer_distribution_chart(table, facet="task", relative_depth=relative)


def heatmap():
    tags = ["NN", "NNS", "VB", "VBD", "VBZ", "JJ", "RB", "DT", "IN", "PRP", "CD", "CC"]
    rows = []
    for i, tag in enumerate(tags):
        peak = i % 7
        for layer in range(7):
            rows.append(dict(tag=tag, layer=layer, count=int(rng.poisson(12 * np.exp(-abs(layer - peak)) + 1))))
    return plots.tag_layer_heatmap(pd.DataFrame(rows))


def layerwise():
    rows = []
    for task, peak, top in (("POS", 3, 0.96), ("SEM", 4, 0.91), ("Chunking", 3, 0.93), ("CCG", 5, 0.90)):
        for layer in range(7):
            rows.append(dict(task=task, layer=layer, accuracy=round(top - 0.012 * (layer - peak) ** 2, 3)))
    return plots.layerwise_accuracy_chart(pd.DataFrame(rows))


def finetuning():
    rows, ov = [], []
    for task, pre, post in (("POS", 2.4, 2.1), ("SEM", 3.3, 2.6), ("Chunking", 2.9, 2.3), ("CCG", 3.8, 2.9)):
        rows.append(dict(task=task, model="pretrained", mean_layer=pre, n_neurons=120, accuracy=0.92))
        rows.append(dict(task=task, model="fine-tuned", mean_layer=post, n_neurons=95, accuracy=0.90))
        ov.append(dict(task=task, jaccard=round(rng.uniform(0.1, 0.4), 2)))
    return plots.finetuning_shift_chart(pd.DataFrame(rows), pd.DataFrame(ov))


def architecture():
    rows = []
    n_layers = {}  # layers including the embeddings: a 12-layer BERT has 13
    for model, depth, peak, needed in (("BERT-base", 12, 0.3, 1.2), ("MiniLM-L6", 6, 0.4, 2.5),
                                        ("XLNet", 12, 0.2, 0.8), ("BERT-large", 24, 0.35, 0.6)):
        n_layers[model] = depth + 1
        d = np.arange(depth + 1) / depth
        w = np.exp(-0.5 * ((d - peak) / 0.25) ** 2)
        for layer, s in enumerate(w / w.sum()):
            rows.append(dict(model=model, layer=layer, share=s, percent_needed=needed))
    return plots.architecture_comparison_chart(pd.DataFrame(rows), n_layers=n_layers)


def languages():
    langs = ["en", "de", "fr", "es", "ru", "zh"]
    dist = []
    for i, lang in enumerate(langs):
        w = np.exp(-0.5 * ((np.arange(7) - 2 - i * 0.3) / 1.5) ** 2)
        for layer, s in enumerate(w / w.sum()):
            dist.append(dict(language=lang, layer=layer, share=s))
    sim = []
    for i, a in enumerate(langs):
        for b in langs[i:]:
            sim.append(dict(language_a=a, language_b=b, jaccard=1.0 if a == b else round(rng.uniform(0.05, 0.5), 2)))
    return plots.language_similarity_chart(pd.DataFrame(dist), pd.DataFrame(sim))


SENTENCES = [
    "The cat sat on the mat .".split(),
    "She quickly walked to the big red house and talked to them .".split(),
    "They were running in the park , unbelievably fast .".split(),
    "Dogs chase cats ; cats chase mice .".split(),
]


VALUES = [np.round(rng.normal(0, 1, len(s)) * 1.5, 2) for s in SENTENCES]


def top_words_table():
    words = SENTENCES * 30
    values = np.concatenate([v + rng.normal(0, 0.3, len(v)) for v in VALUES * 30])
    return plots.top_words(words, values, k=15, min_count=2)


def main():
    charts = {
        "accuracy_curve": accuracy_curve(),
        "layer_distribution": layer_distribution(),
        "layer_distribution_relative": layer_distribution(relative=True),
        "tag_layer_heatmap": heatmap(),
        "layerwise_accuracy": layerwise(),
        "finetuning_shift": finetuning(),
        "architecture_comparison": architecture(),
        "language_similarity": languages(),
        "activation_text": plots.activation_text_chart(SENTENCES, VALUES, title="neuron 4:117"),
        "top_words": plots.top_words_chart(top_words_table(), title="neuron 4:117"),
    }
    for name, chart in charts.items():
        plots.save_chart(chart, OUT / f"{name}.png")
    (OUT / "activation_text.html").write_text(plots.activation_html(SENTENCES, VALUES))


if __name__ == "__main__":
    main()
