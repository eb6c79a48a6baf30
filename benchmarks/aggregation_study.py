"""Which sub-word aggregation suits which architecture: probe accuracy on held-out training sentences.

For each model and each aggregation (``first``, ``last``, ``mean``) the activations of a seeded sample of
UD English-EWT ``dev`` sentences (the split LCA trains on; ``test``, which LCA reports, is never read)
are extracted once; then, for each seed, the sentences are split 80/20 into probe-train and
probe-dev, an elastic-net probe (all neurons, fixed penalty ``l1 = l2 = 1e-5``, otherwise the LCA
defaults) is fitted on the first part and scored on the second. The table gives, per model and
aggregation, the mean dev accuracy over the seeds with a 95 % t-interval, and the paired difference
of ``last`` and ``mean`` (same sentences, same seed). Test figures are never computed.

Usage::

    NEURONBOOK_DATA=../shared/data python benchmarks/aggregation_study.py \
        --models smollm2-135m,distilbert-grammar --sentences 400 --seeds 0,1,2,3,4

The figures in docs/models.md ("Decoders: which piece stands for a word") come from it.
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from scipy import stats  # noqa: E402

import neuronbook as nb  # noqa: E402
from neuronbook.extraction import extract  # noqa: E402

AGGREGATIONS = ("first", "last", "mean")


def interval(values) -> tuple[float, float, float]:
    """Mean and 95 % t-interval half-width (nan with one value)."""
    v = np.asarray(values, dtype=float)
    if len(v) < 2:
        return float(v.mean()), float("nan"), float("nan")
    half = stats.t.ppf(0.975, len(v) - 1) * v.std(ddof=1) / np.sqrt(len(v))
    return float(v.mean()), float(v.std(ddof=1)), float(half)


def study(model_name, corpus, task, seeds, *, l1=1e-5):
    y_all = np.asarray(corpus.flat_labels(task), dtype=object)
    lengths = np.array([len(s) for s in corpus.sentences])
    model, tok = nb.load_model(model_name, progress=False)
    rows = []
    for agg in AGGREGATIONS:
        t = time.perf_counter()
        store = extract(model, corpus, tokenizer=tok, aggregation=agg, cache=False, progress=False)
        X = np.asarray(store.array, dtype=np.float32).reshape(store.shape[0], -1)
        seconds = time.perf_counter() - t
        for seed in seeds:
            order = np.random.default_rng(seed).permutation(len(lengths))
            dev_sent = np.zeros(len(lengths), bool)
            dev_sent[order[: len(lengths) // 5]] = True
            word_dev = np.repeat(dev_sent, lengths)
            probe = nb.ElasticNetProbe(l1=l1, l2=l1, seed=seed)
            probe.fit(X[~word_dev], y_all[~word_dev])
            rows.append({"model": model_name, "aggregation": agg, "seed": seed,
                         "dev_accuracy": probe.score(X[word_dev], y_all[word_dev]),
                         "extract_s": round(seconds, 1)})
        store.close()
    return rows


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--models", default="smollm2-135m,distilbert-grammar")
    p.add_argument("--data", default="ud:en_ewt")
    p.add_argument("--split", default="dev")
    p.add_argument("--task", default="upos")
    p.add_argument("--sentences", type=int, default=400)
    p.add_argument("--seeds", default="0,1,2,3,4")
    args = p.parse_args(argv)
    seeds = [int(s) for s in args.seeds.split(",")]
    corpus = nb.load_corpus(args.data, split=args.split).sample(args.sentences, seed=0)
    n_words = sum(map(len, corpus.sentences))
    rows = []
    for m in args.models.split(","):
        rows += study(m, corpus, args.task, seeds)
    df = pd.DataFrame(rows)
    print(f"\n{args.data} {args.split}: {len(corpus)} sentences ({n_words:,} words), task {args.task}, "
          f"seeds {seeds}, probe l1 = l2 = 1e-5 on all neurons, 80/20 sentence split per seed\n")
    print("| model | aggregation | dev accuracy: mean | sd | 95 % interval | extraction (s) |\n|---|---|---:|---:|---:|---:|")
    for (m, agg), g in df.groupby(["model", "aggregation"], sort=False):
        mean, sd, half = interval(g["dev_accuracy"])
        print(f"| {m} | {agg} | {mean:.4f} | {sd:.4f} | {mean - half:.4f} .. {mean + half:.4f} | "
              f"{g['extract_s'].iloc[0]} |")
    print("\n| model | last - mean (paired): mean | 95 % interval | last - first: mean | 95 % interval |\n"
          "|---|---:|---:|---:|---:|")
    for m, g in df.groupby("model", sort=False):
        acc = g.pivot(index="seed", columns="aggregation", values="dev_accuracy")
        d1, _, h1 = interval(acc["last"] - acc["mean"])
        d2, _, h2 = interval(acc["last"] - acc["first"])
        print(f"| {m} | {d1:+.4f} | {d1 - h1:+.4f} .. {d1 + h1:+.4f} | {d2:+.4f} | {d2 - h2:+.4f} .. {d2 + h2:+.4f} |")


if __name__ == "__main__":
    main()
