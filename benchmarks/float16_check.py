"""float16 against float32 activation stores: the default xpos analysis over seeds, paired (issue 12).

For every seed the whole ``run_lca`` analysis runs on the float32 store and on the float16 store of the
same corpus (result cache off), with the penalty fixed (``--l1``, default 1e-5: the float16 rounding
alone) or searched (``--search``: the rounding as it travels through the penalty search).  Prints one
row per figure: mean ± sd over seeds for each dtype, the paired difference with a 95 % t interval,
and the overlap of the two top-10 % sets.

Usage::

    NEURONBOOK_DATA=../shared/data .venv/bin/python benchmarks/float16_check.py [--seeds 5] [--search]
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")

FIGURES = {"oracle test": "oracle_test", "minimal set test": "minimal_test", "retrain top 10 %": "top10",
           "retrain random 10 % (mean of draws)": "random10", "retrain bottom 10 %": "bottom10",
           "zero-out top 10 %": "top10_zero", "selectivity, all neurons": "selectivity"}


def figures(r):
    o = r.oracle.set_index("split")["accuracy"]
    ab = r.ablation[(r.ablation.split == "test") & (r.ablation.percent == 10.0)].set_index(["selection", "method"])
    bl = r.baselines
    k = len(r.ranking) // 10 + (1 if len(r.ranking) % 10 >= 5 else 0)
    return {"l1": r.best_params["l1"], "minimal_n": int(r.minimal_set["n_neurons"].iloc[0]), "oracle_test": o["test"],
            "minimal_test": float(r.minimal_set["test_accuracy"].iloc[0]),
            "top10": ab.loc[("top", "retrain"), "accuracy"], "bottom10": ab.loc[("bottom", "retrain"), "accuracy"],
            "random10": bl[(bl.baseline == "random") & (bl.method == "retrain") & (bl.percent == 10.0)]["mean"].iloc[0],
            "top10_zero": ab.loc[("top", "zero-out"), "accuracy"],
            "selectivity": float(r.selectivity["selectivity"].iloc[0]) if len(r.selectivity) else float("nan"),
            "top_set": set(map(tuple, r.ranking.sort_values("rank").head(k)[["layer", "neuron"]].values.tolist()))}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, default=5)
    p.add_argument("--task", default="xpos")
    p.add_argument("--l1", type=float, default=1e-5, help="fixed l1 = l2 (ignored with --search)")
    p.add_argument("--search", action="store_true", help="search the penalty as the default analysis does")
    p.add_argument("--max-sentences", type=int, default=None, help="a smaller sample (a smoke test)")
    p.add_argument("--model", default=None)
    opts = p.parse_args(argv)

    import numpy as np
    from scipy import stats

    import neuronbook as nb

    base = {"task": opts.task, "cache": False, "progress": False}
    if not opts.search:
        base.update(l1=opts.l1, l2=opts.l1)
    if opts.max_sentences:
        base["max_sentences"] = opts.max_sentences
    if opts.model:
        base["model"] = opts.model
    runs = {"float32": [], "float16": []}
    for seed in range(opts.seeds):
        for dtype in runs:
            t = time.perf_counter()
            runs[dtype].append(figures(nb.run_lca(seed=seed, dtype=dtype, **base)))
            runs[dtype][-1]["wall_s"] = time.perf_counter() - t
    a, b = runs["float32"], runs["float16"]
    how = "penalty searched (one-SE rule)" if opts.search else f"l1 = l2 = {opts.l1:g} fixed"
    print(f"\nfloat16 against float32 stores, {opts.task}, {how}, seeds 0-{opts.seeds - 1}; test accuracy (%)\n")
    print("| figure | float32 | float16 | float16 - float32 (points), mean [95 % t interval] | per seed |")
    print("|---|---:|---:|---:|---|")
    for label, key in FIGURES.items():
        x, y = 100 * np.array([r[key] for r in a]), 100 * np.array([r[key] for r in b])
        d = y - x
        half = stats.t.ppf(0.975, len(d) - 1) * d.std(ddof=1) / np.sqrt(len(d)) if len(d) > 1 else float("nan")
        print(f"| {label} | {x.mean():.2f} ± {x.std(ddof=1) if len(x) > 1 else 0:.2f} | {y.mean():.2f} ± "
              f"{y.std(ddof=1) if len(y) > 1 else 0:.2f} | {d.mean():+.2f} [{d.mean() - half:+.2f}, "
              f"{d.mean() + half:+.2f}] | {', '.join(f'{v:+.2f}' for v in d)} |")
    k = len(a[0]["top_set"])
    same = [len(r["top_set"] & s["top_set"]) / k for r, s in zip(a, b)]
    seeds = [len(a[i]["top_set"] & a[i + 1]["top_set"]) / k for i in range(len(a) - 1)]
    print(f"\ntop 10 % neurons shared, float32 vs float16 of one seed: {', '.join(f'{100 * v:.0f} %' for v in same)}")
    if seeds:
        print(f"top 10 % neurons shared, float32 seed s vs s+1: {', '.join(f'{100 * v:.0f} %' for v in seeds)}")
    print(f"penalty chosen (l1 = l2), float32: {[r['l1'] for r in a]}; float16: {[r['l1'] for r in b]}")
    print(f"minimal set (neurons), float32: {[r['minimal_n'] for r in a]}; float16: {[r['minimal_n'] for r in b]}")


if __name__ == "__main__":
    main()
