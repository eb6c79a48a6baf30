"""Where the time of one analysis stage goes: torch operators and Python functions (issue 12).

Runs one stage of the default ``neuronbook lca`` analysis (all-MiniLM-L6-v2, ``ud:en_ewt`` xpos,
stores cached) under ``torch.profiler`` (operators) and ``cProfile`` (Python functions), and
prints both tables.  The default stage is the regularisation search, the hottest one.

Usage::

    NEURONBOOK_DATA=../shared/data .venv/bin/python benchmarks/profile_stage.py [--stage search|minimal_set]
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--stage", choices=["search", "minimal_set", "baselines"], default="search")
    p.add_argument("--model", default=None, help="model (default: the package default)")
    p.add_argument("--max-sentences", type=int, default=None, help="a smaller sample (a smoke test)")
    p.add_argument("--rows", type=int, default=18, help="rows of each table")
    opts = p.parse_args(argv)

    import torch
    from torch.profiler import ProfilerActivity, profile

    import neuronbook as nb
    from neuronbook import evaluate as ev
    from neuronbook.lca.data import split_store_rows, store_view

    overrides = {"task": "xpos", "progress": False}
    if opts.model:
        overrides["model"] = opts.model
    if opts.max_sentences:
        overrides["max_sentences"] = opts.max_sentences
    data = nb.prepare(**overrides)
    c = data.config
    train, dev = split_store_rows(data.train_store, c.dev_fraction, c.seed)
    view = store_view(data.train_store)
    X_train, X_dev = view[train].with_column_stats(), view[dev]
    y_train, y_dev = data.y_train[train], data.y_train[dev]
    grid = [(v, v) for v in c.search_grid]

    def run():
        if opts.stage == "search":
            return ev.search_regularization(X_train, y_train, X_dev, y_dev, estimator=c.make_probe(0.0, 0.0), grid=grid,
                                            seed=c.seed, criterion=c.search_criterion)
        estimator = c.make_probe(1e-5, 1e-5)
        probe = nb.clone(estimator).fit(X_train, y_train)
        ordering = nb.rank.neuron_ordering(probe.coef_)[0]
        if opts.stage == "minimal_set":
            return ev.minimal_set(ordering, X_train, y_train, X_dev, y_dev, oracle_accuracy=probe.score(X_dev, y_dev),
                                  estimator=estimator, seed=c.seed)
        k = ev.n_for_percent(X_train.shape[1], 10)
        return ev.random_baselines(ordering, X_train, y_train, X_dev, y_dev, neurons=data.train_store.neurons(), k=k,
                                   n_draws=c.n_draws, methods=("retrain",), estimator=estimator,
                                   seed=c.seed)

    t = time.perf_counter()
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        run()
    seconds = time.perf_counter() - t
    print(f"stage {opts.stage}: {seconds:.2f} s under torch.profiler ({torch.get_num_threads()} torch threads, "
          f"{len(train):,} training words x {X_train.shape[1]:,} neurons)\n")
    print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=opts.rows))
    prof_py = cProfile.Profile()
    t = time.perf_counter()
    prof_py.runcall(run)
    out = io.StringIO()
    pstats.Stats(prof_py, stream=out).sort_stats("tottime").print_stats(opts.rows)
    print(f"\nstage {opts.stage}: {time.perf_counter() - t:.2f} s under cProfile; Python functions by own time\n")
    print("\n".join(out.getvalue().splitlines()[4:]))


if __name__ == "__main__":
    main()
