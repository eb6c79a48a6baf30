"""The interventions finding: do an LCA's top neurons, switched off inside the model, hurt the property more
than matched random sets?

For each (model, task): the default LCA (penalties searched on the dev part of the training split; train =
UD/PMB dev, test = test; 120 sentences per split, seed 0) ranks the neurons; the top ``K`` neurons below the
last layer, 10 uniform random sets of ``K`` and 10 layer-matched random sets are set to their training mean
inside the model; the last layer's probe is scored fixed (trained on clean activations) and retrained (on
intervened ones). K, the draws, the sentences and the probe layer are fixed here before any run, never chosen
from test figures.

Writes ``docs/figures/interventions_comparison.csv`` (top - random, t intervals over draws),
``docs/figures/interventions_summary.csv`` (each set kind's accuracy with its interval),
``docs/figures/interventions_timing.csv`` (a clean extraction of the test corpus against an intervened one), a chart
per run (``interventions_<model>_<task>.png``) and one folder per run under ``--out``.

    NEURONBOOK_DATA=... nice python scripts/interventions.py --out runs/interventions
"""

from __future__ import annotations

import argparse
import time
import warnings
from pathlib import Path

import pandas as pd

import neuronbook as nb

MODELS = ("sentence-transformers/all-MiniLM-L6-v2", "intfloat/multilingual-e5-small")
TASKS = (("xpos", "ud:en_ewt"), ("sem", "pmb:en"))
K = 50  # neurons switched off (the same count for both models: 2.2 % of MiniLM's, 1.1 % of e5's upstream)
N_DRAWS = 10
MAX_SENTENCES = 120  # per split: 21 sets x 2 splits of forward passes per (model, task), on a 2-core CPU shared by 4


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="runs/interventions")
    parser.add_argument("--figures", default="docs/figures")
    parser.add_argument("--models", nargs="*", default=list(MODELS))
    parser.add_argument("--tasks", nargs="*", default=[t for t, _ in TASKS])
    parser.add_argument("--max-sentences", type=int, default=MAX_SENTENCES,
                        help="sentences per split (the regime check: more sentences, a stronger probe)")
    parser.add_argument("--merge", action="store_true",
                        help="only gather the run folders under --out into the figures (runs made one by one)")
    args = parser.parse_args(argv)
    if args.merge:
        return merge(Path(args.out), Path(args.figures))
    data_of = dict(TASKS)
    out, figures = Path(args.out), Path(args.figures)
    comparison, summary, timing = [], [], []
    for model in args.models:
        for task in args.tasks:
            t = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", nb.NeuronbookWarning)
                r = nb.intervention_effects(model=model, data=data_of[task], task=task, max_sentences=args.max_sentences,
                                            k=K, n_draws=N_DRAWS, progress=False)
            seconds = time.perf_counter() - t
            r.info["total_seconds"] = round(seconds, 1)
            r.save(out / f"{nb.models.get_preset(model).alias}_{task}", overwrite=True)
            print(f"{model} {task}: {seconds:.0f} s", flush=True)
            print(r.comparison[["baseline", "measure", "top", "mean", "difference", "ci_low", "ci_high"]]
                  .round(4).to_string(index=False), flush=True)
    return merge(out, figures)


def merge(out: Path, figures: Path) -> int:
    """One CSV per table over every run folder under ``out``, into ``figures``."""
    import json

    frames = {"comparison": [], "summary": [], "timing": []}
    for run in sorted(p for p in out.iterdir() if (p / "info.json").is_file()):
        info = json.loads((run / "info.json").read_text())
        tag = {"model": nb.models.get_preset(info["model"]).alias, "task": info["task"], "k": info["k"],
               "probe_layer": info["probe_layer"], "n_test_words": info["n_test_words"]}
        for name in frames:
            frames[name].append(pd.read_csv(run / f"{name}.csv").assign(**tag))
        frames["timing"][-1]["total_seconds"] = info.get("total_seconds")
        chart = nb.plots.intervention_chart(frames["summary"][-1], width=170).properties(
            title=f"{tag['model']} {tag['task']}: {tag['k']} neurons below layer {tag['probe_layer']} set to their mean")
        figures.mkdir(parents=True, exist_ok=True)
        nb.save_chart(chart, figures / f"interventions_{tag['model']}_{tag['task']}.png")
    figures.mkdir(parents=True, exist_ok=True)
    first = ["model", "task", "k", "probe_layer", "n_test_words"]
    for name, parts in frames.items():
        table = pd.concat(parts, ignore_index=True)
        table = table[first + [c for c in table.columns if c not in first]]
        table.to_csv(figures / f"interventions_{name}.csv", index=False, float_format="%.4f")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
