"""Which penalty serves the ranking? A dev-only study of the search criterion (issue 22).

For every model, workload, seed and ``standardize`` setting, one probe per penalty of the search grid is
fitted on the training part and each ranking is checked on the *dev* part only (the test split is never
read): retrain on the top / bottom 10 % and on 3 uniform random draws of 10 %, and zero-out keeping the
same sets (the probe itself, the other neurons at their training mean).  Then every candidate criterion
(the largest penalty within a tolerance of the best dev accuracy, the one-SE rule, the gap rule) is
applied to the same dev accuracies, and the contrasts at the penalty it picks are reported, mean ± sd
over seeds.  At the two sparse penalties the ranking is also redone with ``min_tag_count`` values, so the
rare-tag default rests on the same dev evidence.

Usage::

    NEURONBOOK_DATA=../shared/data .venv/bin/python benchmarks/penalty_study.py            # the study
    NEURONBOOK_DATA=../shared/data .venv/bin/python benchmarks/penalty_study.py --quick    # seconds
    NEURONBOOK_DATA=../shared/data .venv/bin/python benchmarks/penalty_study.py --report   # tables from the CSV
"""

from __future__ import annotations

import argparse
import os
import time
import warnings
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

MINILM, E5 = "sentence-transformers/all-MiniLM-L6-v2", "intfloat/multilingual-e5-small"
#: (name, settings): the workloads; sem trains on the PMB's own train split (a 2,000-sentence sample).
WORKLOADS = {
    "xpos": {"data": "ud:en_ewt", "task": "xpos"},
    "suffix": {"data": "ud:en_ewt", "task": "suffix"},
    "sem": {"data": "pmb:en", "task": "sem", "train": "train", "max_sentences": 2000},
}
#: Candidate criteria: (label, criterion, tolerance).
CANDIDATES = [("tolerance 0.5 pt", "tolerance", 0.005), ("tolerance 1 pt", "tolerance", 0.01),
              ("tolerance 2 pt", "tolerance", 0.02), ("one_se", "one_se", None),
              ("gap (tolerance 2 pt; chooses by the contrast it is judged on)", "gap", 0.02)]
TAG_COUNTS = (1, 5, 10, 25, 50)
DEFAULT_OUT = Path("benchmarks/results/penalty_study.csv")


def study_one(nb, ev, arrays, *, seed, standardize, grid, estimator, sparse, n_draws=3):
    """Rows for one (workload, seed, standardize): one per penalty, plus min_tag_count variants.

    Every refit of the study (top, bottom and ``n_draws`` random sets of 10 %, for every penalty and
    variant) has the same size, so they all train together in one :func:`neuronbook.probe.fit_probes` call.
    """
    from neuronbook.lca import rare_tags
    from neuronbook.probe import clone, fit_probes
    from neuronbook.rank import neuron_ordering, random_neurons

    Xtr, ytr, Xdv, ydv = (arrays[k] for k in ("X_train", "y_train", "X_dev", "y_dev"))
    estimator = clone(estimator, standardize=standardize, seed=seed)
    search = ev.search_regularization(Xtr, ytr, Xdv, ydv, estimator=estimator, grid=[(v, v) for v in grid],
                                      criterion="tolerance", seed=seed)
    table, fitted = search.table, search.probes
    labels, counts = np.unique(np.asarray(ytr), return_counts=True)
    n_train = dict(zip(labels.tolist(), counts.tolist()))
    n_total = Xtr.shape[1]
    k = ev.n_for_percent(n_total, 10)
    # fresh draws, never the run's own seed (as the reported baselines)
    draws = [random_neurons(n_total, k, s) for s in ev.baseline_seeds(seed, n_draws)]
    train_mean = Xtr.mean(axis=0, dtype=np.float64)
    variants, jobs = [], []
    for v in grid:
        probe = fitted[(v, v)]
        for mtc in (TAG_COUNTS if v in sparse else (1,)):
            rare = rare_tags(probe.classes_, [n_train[c] for c in probe.classes_], mtc)
            keep = np.asarray([str(c) not in rare for c in probe.classes_])
            order = neuron_ordering(probe.coef_[keep], 100)[0]
            sets = {"top": order[:k], "bottom": order[n_total - k:], **{f"random{i}": d for i, d in enumerate(draws)}}
            lead = [str(probe.classes_[keep][np.argmax(np.abs(probe.coef_[keep][:, j]))]) for j in order[:5]]
            variants.append((v, mtc, probe, sets, lead))
            jobs += [(len(variants) - 1, name, cols) for name, cols in sets.items()]
    probes = fit_probes([clone(estimator, l1=variants[i][0], l2=variants[i][0]) for i, _, _ in jobs], Xtr, ytr, columns=[cols for _, _, cols in jobs])
    acc = {}
    for (i, name, cols), p in zip(jobs, probes):
        acc[(i, "retrain", name)] = p.score(Xdv[:, cols], ydv)
        zero = np.array(Xdv, dtype=np.float32)  # zero-out: the oracle sees only the set, the rest at the mean
        others = np.setdiff1d(np.arange(n_total), cols)
        zero[:, others] = train_mean[others]
        acc[(i, "zero", name)] = variants[i][2].score(zero, ydv)
    rows = []
    for i, (v, mtc, _, sets, lead) in enumerate(variants):
        base = table[table.l1 == v].iloc[0]
        rnd = [n for n in sets if n.startswith("random")]
        rows.append({"seed": seed, "standardize": standardize, "l1": v, "min_tag_count": mtc,
                     "dev_accuracy": base.dev_accuracy, "nonzero": base.nonzero, "n_dev": len(ydv),
                     **{f"{m}_{s}": acc[(i, m, s)] for m in ("retrain", "zero") for s in ("top", "bottom")},
                     **{f"{m}_random": float(np.mean([acc[(i, m, n)] for n in rnd])) for m in ("retrain", "zero")},
                     "top5_tags": " ".join(f"{t}({n_train[t]})" for t in lead)})
    return rows


def run(opts):
    import neuronbook as nb
    from neuronbook import evaluate as ev

    out = Path(opts.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    done = pd.read_csv(out) if out.is_file() and not opts.quick else pd.DataFrame()
    models = ["tiny-random"] if opts.quick else opts.models
    grid = (0.0, 1e-4, 1e-3) if opts.quick else nb.LCAConfig().search_grid
    sparse = (1e-3,) if opts.quick else (3e-4, 1e-3)
    for model in models:
        for name in opts.workloads:
            for standardize in opts.standardize:
                if model != MINILM and not standardize and not opts.quick:
                    continue  # the standardisation question is asked on the first model only (time)
                for seed in opts.seeds:
                    key = (model, name, seed, standardize)
                    if len(done) and ((done.model == model) & (done.workload == name) & (done.seed == seed)
                                      & (done.standardize == standardize)).any():
                        continue
                    t = time.perf_counter()
                    settings = dict(WORKLOADS[name], model=model, seed=seed)
                    if opts.quick:
                        settings.update(max_sentences=60, epochs=3, data="ud:en_ewt", train="dev")
                    cfg = nb.LCAConfig(**settings)
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        arrays = nb.prepare(cfg, progress=False).arrays()
                        rows = study_one(nb, ev, arrays, seed=seed, standardize=standardize, grid=grid,
                                         estimator=cfg.make_probe(0.0, 0.0), sparse=sparse)
                    frame = pd.DataFrame(rows).assign(model=model, workload=name)
                    done = pd.concat([done, frame], ignore_index=True)
                    done.to_csv(out, index=False)
                    print(f"{key}: {time.perf_counter() - t:.0f} s", flush=True)
    return done


def _pm(values, digits=1, scale=100.0):
    v = np.asarray(values, dtype=float) * scale
    return f"{v.mean():.{digits}f} ± {v.std(ddof=1):.{digits}f}" if len(v) > 1 else f"{v[0]:.{digits}f}"


def picks(g: pd.DataFrame) -> pd.DataFrame:
    """Each candidate criterion's pick per seed in one (model, workload, standardize) group, with its contrasts."""
    from neuronbook.evaluate import choose_penalty

    rows = []
    for label, crit, tol in CANDIDATES:
        for s in sorted(g.seed.unique()):
            t = g[g.seed == s].sort_values("l1").assign(l2=lambda d: d.l1)
            cols = ["l1", "l2", "dev_accuracy"]
            if crit == "gap":  # the gap rule on the same dev contrasts (optimistic by construction)
                t = t.assign(top=t.retrain_top, random=t.retrain_random, bottom=t.retrain_bottom)
                cols += ["top", "random", "bottom"]
            _, (l1, _) = choose_penalty(t[cols], crit, tolerance=tol or 0.0, n_dev=int(t.n_dev.iloc[0]))
            row = t[t.l1 == l1].iloc[0]
            rows.append({"criterion": label, "seed": s, "l1": l1, "lost": t.dev_accuracy.max() - row.dev_accuracy,
                         "rg": row.retrain_gap, "zg": row.zero_gap, "ok": bool(row.order_ok)})
    return pd.DataFrame(rows)


def _with_gaps(done: pd.DataFrame) -> pd.DataFrame:
    base = done[done.min_tag_count == 1].copy()
    base["retrain_gap"] = base.retrain_top - base.retrain_random
    base["zero_gap"] = base.zero_top - base.zero_random
    base["order_ok"] = (base.retrain_top > base.retrain_random) & (base.retrain_random > base.retrain_bottom)
    return base


def combined(done: pd.DataFrame) -> str:
    """Markdown: every workload's candidates in one table (the docs' decision table)."""
    out = ["| model | workload | standardize | criterion | chosen per seed | dev points lost vs best | "
           "retrain top - random | zero-out top - random | top > random > bottom (retrain) |",
           "|---|---|---|---|---|---|---|---|---|"]
    for (model, wl, std), g in _with_gaps(done).groupby(["model", "workload", "standardize"], sort=False):
        for label, p in picks(g).groupby("criterion", sort=False):
            out.append(f"| {model.split('/')[-1]} | {wl} | {std} | {label.split(' (')[0]} | "
                       f"{', '.join(f'{x:g}' for x in p.l1)} | {_pm(p.lost, 2)} | {_pm(p.rg, 2)} | {_pm(p.zg, 2)} | "
                       f"{int(p.ok.sum())} of {len(p)} seeds |")
    return "\n".join(out)


def report(done: pd.DataFrame) -> str:
    """Markdown: the per-penalty table and the candidates' picks, mean ± sd over seeds."""
    base = _with_gaps(done)
    out = []
    for (model, wl, std), g in base.groupby(["model", "workload", "standardize"], sort=False):
        seeds = sorted(int(x) for x in g.seed.unique())
        out.append(f"\n#### {model}, {wl}, standardize={std} (dev only, seeds {seeds})\n")
        out.append("| l1 = l2 | dev accuracy | non-zero weights | retrain top / random / bottom | retrain top - random "
                   "| zero-out top / random / bottom | zero-out top - random |")
        out.append("|---|---|---|---|---|---|---|")
        for v, h in g.groupby("l1"):
            out.append(f"| {v:g} | {_pm(h.dev_accuracy)} | {_pm(h.nonzero, 0)} % | {_pm(h.retrain_top)} / "
                       f"{_pm(h.retrain_random)} / {_pm(h.retrain_bottom)} | {_pm(h.retrain_gap)} | "
                       f"{_pm(h.zero_top)} / {_pm(h.zero_random)} / {_pm(h.zero_bottom)} | {_pm(h.zero_gap)} |")
        out.append("\n| criterion | chosen per seed | dev accuracy lost vs best | retrain top - random | "
                   "zero-out top - random | top > random > bottom (retrain), seeds |")
        out.append("|---|---|---|---|---|---|")
        for label, p in picks(g).groupby("criterion", sort=False):
            out.append(f"| {label} | {', '.join(f'{x:g}' for x in p.l1)} | {_pm(p.lost, 2)} | {_pm(p.rg, 2)} | "
                       f"{_pm(p.zg, 2)} | {int(p.ok.sum())} of {len(p)} |")
    mtc = done[done.l1.isin(done[done.min_tag_count > 1].l1.unique())].copy()
    if len(mtc):
        mtc["retrain_gap"] = mtc.retrain_top - mtc.retrain_random
        mtc["zero_gap"] = mtc.zero_top - mtc.zero_random
        out.append("\n#### min_tag_count (standardize=True, dev only): top - random at 10 %, points\n")
        out.append("| model | workload | l1 = l2 | min_tag_count | retrain top - random | zero-out top - random "
                   "| top-5 neurons' tags (training words), seed 0 |")
        out.append("|---|---|---|---|---|---|---|")
        for (model, wl, v, m), h in mtc[mtc.standardize].groupby(["model", "workload", "l1", "min_tag_count"],
                                                                   sort=False):
            s0 = h[h.seed == h.seed.min()].top5_tags.iloc[0]
            out.append(f"| {model.split('/')[-1]} | {wl} | {v:g} | {m} | {_pm(h.retrain_gap, 2)} | "
                       f"{_pm(h.zero_gap, 2)} | {s0} |")
    return "\n".join(out)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="tiny random model, 60 sentences: a smoke run")
    p.add_argument("--report", nargs="*", default=None, metavar="CSV",
                   help="only print the tables of saved CSVs (default: --out), with the combined decision table")
    p.add_argument("--models", nargs="+", default=[MINILM, E5])
    p.add_argument("--workloads", nargs="+", default=list(WORKLOADS), choices=list(WORKLOADS))
    p.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    p.add_argument("--standardize", nargs="+", type=lambda s: s.lower() in ("1", "true", "yes"),
                   default=[True, False])
    p.add_argument("--out", default=str(DEFAULT_OUT), help="CSV of every row (resumed when it exists)")
    opts = p.parse_args(argv)
    if opts.quick:
        opts.out = str(Path(opts.out).with_name("penalty_study_quick.csv"))
        opts.seeds, opts.workloads = opts.seeds[:2], ["xpos"]
    if opts.report is not None:
        done = pd.concat([pd.read_csv(f) for f in (opts.report or [opts.out])], ignore_index=True)
        print(combined(done) + "\n" + report(done))
    else:
        print(report(run(opts)))


if __name__ == "__main__":
    main()
