"""Ground truth for the neuron rankers: neurons planted into real activations, and how many each ranker finds.

For each workload (a model's word activations of a UD treebank, task xpos; the training split and its
seeded dev sentences only: test is never read) and each seed and strength, ``k`` neurons spread over the
layers get a tag each and are shifted by ``strength`` of their own standard deviations on the words of that
tag (``neuronbook.groundtruth``).  LCA is fitted at every penalty of the search grid, with and without
standardisation, and the penalty each selection criterion picks on dev is reported as well; the probe-free
rankers rank the same planted training words.  Prints recall@k (mean ± sd over seeds; with k planted and k
retrieved it is also the precision) as one markdown table per workload, and writes the full table as CSV.

``--quick`` runs both corpora with the tiny-random model on 60 sentences (1 seed, 2 strengths, 3 epochs):
a smoke test of seconds, its figures mean nothing.

Usage::

    NEURONBOOK_DATA=../shared/data .venv/bin/python benchmarks/planted_recall.py [--quick] [--seeds 3]
        [--strengths 0.25,0.5,1,2] [--k 24] [--max-sentences N] [--out CSV] [--no-markdown]
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")
HERE = os.path.dirname(os.path.abspath(__file__))

WORKLOADS = (("sentence-transformers/all-MiniLM-L6-v2", "ud:en_ewt"), ("intfloat/multilingual-e5-small", "ud:de_gsd"))
TASK = "xpos"


def floats(text):
    return tuple(float(v) for v in text.split(","))


def picks(values):
    """The penalties a criterion chose over the seeds: ``1e-3`` when they agree, else ``1e-3 ×2, 1e-2``."""
    from collections import Counter

    counts = Counter(values.split(", ")) if isinstance(values, str) else Counter()
    return ", ".join(v if n == 1 else f"{v} ×{n}" for v, n in counts.most_common()) or "—"


def markdown(summary, strengths):
    """One row per ranker / criterion-or-penalty / standardize, one column per strength: recall@k, mean ± sd."""
    def cell(row):
        if row is None:
            return "—"
        sd = "" if row.n_seeds < 2 else f" ± {row.recall_at_k_sd:.2f}"
        return f"{row.recall_at_k_mean:.2f}{sd}"

    from neuronbook.evaluate import CRITERIA

    def key(r):  # LCA standardized, then raw: each penalty, then each criterion; then the probe-free rankers
        return (r.ranker != "lca", r.ranker, str(r.standardize) != "True", isinstance(r.criterion, str),
                -1.0 if r.l1 != r.l1 else r.l1, CRITERIA.index(r.criterion) if isinstance(r.criterion, str) else -1)

    groups = {}
    for r in summary.itertuples(index=False):
        groups.setdefault(key(r), {})[r.strength] = r
    lines = ["| ranker | criterion / penalty (l1 = l2) | standardize | chosen penalty (per strength) | "
             + " | ".join(f"strength {s:g}" for s in strengths) + " |",
             "|---|---|---|---|" + "---:|" * len(strengths)]
    for k in sorted(groups):
        by = groups[k]
        r = next(iter(by.values()))
        what = r.criterion if isinstance(r.criterion, str) else (f"{r.l1:g}" if r.l1 == r.l1 else "—")
        std = "—" if r.standardize != r.standardize else str(bool(r.standardize))
        chosen = " / ".join(picks(by[s].chosen_l1) if s in by else "—" for s in strengths) \
            if isinstance(r.criterion, str) else ""
        lines.append(f"| {r.ranker} | {what} | {std} | {chosen} | "
                     + " | ".join(cell(by.get(s)) for s in strengths) + " |")
    return "\n".join(lines)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="tiny-random, 60 sentences, 1 seed, 2 strengths, 3 epochs")
    p.add_argument("--seeds", type=int, default=None, help="seeds 0..N-1 (default 3; --quick: 1)")
    p.add_argument("--strengths", type=floats, default=None,
                   help="comma-separated shifts in standard deviations (default 0.25,0.5,1,2; --quick: 0.5,2)")
    p.add_argument("--k", type=int, default=24, help="neurons planted (and the cut-off of recall@k)")
    p.add_argument("--max-sentences", type=int, default=None, help="a seeded sample per split (default: all)")
    p.add_argument("--models", default=None,
                   help="comma-separated models of the workloads to run (default: both workloads)")
    p.add_argument("--criteria", default=None,
                   help="comma-separated criteria of the criterion rows (default: all; gap adds refits per penalty)")
    p.add_argument("--tolerance", type=float, default=None,
                   help="the criteria's tolerance (default: LCAConfig's search_tolerance)")
    p.add_argument("--out", default=None,
                   help="CSV of the full table (default results/planted_recall.csv; --quick: planted_recall_quick.csv)")
    p.add_argument("--markdown", action=argparse.BooleanOptionalAction, default=True,
                   help="print the markdown tables (default: on)")
    opts = p.parse_args(argv)

    import pandas as pd

    import neuronbook as nb
    from neuronbook.groundtruth import planted_recall, summarize_recall

    if opts.out is None:  # a smoke run never overwrites the recorded table
        opts.out = os.path.join(HERE, "results", "planted_recall_quick.csv" if opts.quick else "planted_recall.csv")
    seeds = range(opts.seeds if opts.seeds is not None else 1 if opts.quick else 3)
    strengths = opts.strengths or ((0.5, 2.0) if opts.quick else (0.25, 0.5, 1.0, 2.0))
    max_sentences = opts.max_sentences or (60 if opts.quick else None)
    workloads = [("tiny-random", data) for _, data in WORKLOADS] if opts.quick else WORKLOADS
    if opts.models:
        workloads = [w for w in workloads if w[0] in opts.models.split(",")]

    tables, sections = [], []
    for model, data in workloads:
        t0 = time.perf_counter()
        config = nb.LCAConfig(model=model, data=data, task=TASK, max_sentences=max_sentences)
        a = nb.prepare(config, progress=not opts.quick).arrays()  # test arrays are never read below
        estimator = config.replace(epochs=3 if opts.quick else config.epochs).make_probe(0.0, 0.0)
        table = planted_recall(a["X_train"], a["y_train"], a["X_dev"], a["y_dev"], a["neurons"], k=opts.k,
                               strengths=strengths, seeds=seeds, grid=config.search_grid, estimator=estimator,
                               search_stride=config.search_stride, progress=not opts.quick,
                               criteria=opts.criteria.split(",") if opts.criteria else None,
                               tolerance=config.search_tolerance if opts.tolerance is None else opts.tolerance)
        n_neurons = a["X_train"].shape[1]
        table.insert(0, "data", data)
        table.insert(0, "model", model)
        table["n_train"], table["n_dev"], table["n_neurons"] = len(a["y_train"]), len(a["y_dev"]), n_neurons
        tables.append(table)
        os.makedirs(os.path.dirname(os.path.abspath(opts.out)), exist_ok=True)
        pd.concat(tables, ignore_index=True).to_csv(opts.out, index=False)  # each workload kept as it ends
        sections.append(f"### {model}, {data}, {TASK}: {len(a['y_train']):,} training / {len(a['y_dev']):,} dev "
                        f"words, {n_neurons:,} neurons, k = {opts.k} planted (chance recall {opts.k / n_neurons:.3f}),"
                        f" seeds 0-{len(seeds) - 1}, {time.perf_counter() - t0:.0f} s\n\n"
                        f"recall@{opts.k}, mean ± sd over seeds\n\n"
                        + markdown(summarize_recall(table.drop(columns=["model", "data"])), strengths))

    os.makedirs(os.path.dirname(os.path.abspath(opts.out)), exist_ok=True)
    pd.concat(tables, ignore_index=True).to_csv(opts.out, index=False)
    if opts.markdown:
        print("\n\n".join(sections))
    print(f"\nfull table: {opts.out}")


if __name__ == "__main__":
    main()
