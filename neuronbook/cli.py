"""The ``neuronbook`` command: a thin layer over the public Python API.

Examples
--------
Run the default analysis (packaged all-MiniLM-L6-v2, UD English-EWT, XPOS)::

    neuronbook lca

    neuronbook lca --model sentence-transformers/all-MiniLM-L6-v2 --data ud:en_ewt --task suffix
    neuronbook extract --data ud:de_gsd --split test
    neuronbook models
    neuronbook corpora
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

__all__ = ["main"]


def _add_common(p: argparse.ArgumentParser) -> None:
    from .models import DEFAULT_MODEL

    p.add_argument("--model", default=DEFAULT_MODEL, help="model id, preset alias or local directory "
                   "(default: %(default)s, shipped in a PyPI package)")
    p.add_argument("--aggregation", default="mean", choices=["mean", "first", "last"],
                   help="how sub-word pieces become one word vector (default: %(default)s)")
    p.add_argument("--quiet", action="store_true", help="no progress bars, warnings only")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="neuronbook",
        description="Find the neurons of a language model that encode a linguistic property "
                    "(Linguistic Correlation Analysis).",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    lca = sub.add_parser("lca", help="run the whole analysis for (model, corpus, task)")
    _add_common(lca)
    lca.add_argument("--data", default="ud:en_ewt", help="named corpus or file (default: %(default)s)")
    lca.add_argument("--task", default="xpos", help="xpos, upos, deprel, suffix, feats:Number, sem, ccg, ... "
                     "(default: %(default)s)")
    lca.add_argument("--train", default="dev", help="split to train on (default: %(default)s)")
    lca.add_argument("--test", default="test", help="split to test on (default: %(default)s)")
    lca.add_argument("--l1", type=float, default=None, help="L1 strength (default: chosen by search)")
    lca.add_argument("--l2", type=float, default=None, help="L2 strength (default: chosen by search)")
    lca.add_argument("--delta", type=float, default=0.01,
                     help="minimal set: reach oracle x (1 - delta) on dev (default: %(default)s)")
    lca.add_argument("--seed", type=int, default=0)
    lca.add_argument("--out", default=None, help="result directory (default: results/<model>-<data>-<task>)")

    ext = sub.add_parser("extract", help="extract word-level activations into the store cache")
    _add_common(ext)
    ext.add_argument("--data", default="ud:en_ewt")
    ext.add_argument("--split", default=None)
    ext.add_argument("--dtype", default="float32", choices=["float32", "float16"])

    sub.add_parser("models", help="list the offline model presets")
    sub.add_parser("corpora", help="list the named corpora and where they were found")
    return parser


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "-" for c in text).strip("-")


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``neuronbook`` command; returns the exit status."""
    args = _parser().parse_args(argv)
    quiet = getattr(args, "quiet", False)
    logging.basicConfig(level=logging.WARNING if quiet else logging.INFO,
                        format="%(levelname)s %(name)s: %(message)s")
    import pandas as pd

    with pd.option_context("display.width", 120, "display.max_columns", 20):
        if args.command == "models":
            from .models import list_models

            print(list_models().to_string(index=False))
        elif args.command == "corpora":
            from .datasets import list_corpora

            print(list_corpora().to_string(index=False))
        elif args.command == "extract":
            from .datasets import load_corpus
            from .extract import extract

            corpus = load_corpus(args.data, split=args.split)
            t = time.perf_counter()
            store = extract(args.model, corpus, aggregation=args.aggregation, dtype=args.dtype,
                            progress=not quiet)
            print(store)
            print(f"{store.n_words:,} words in {time.perf_counter() - t:.1f}s; "
                  f"{store.nbytes_on_disk() / 2**20:.1f} MiB at {store.path}")
        elif args.command == "lca":
            from .lca import run_lca

            result = run_lca(
                model=args.model, data=args.data, task=args.task, train=args.train, test=args.test,
                aggregation=args.aggregation, l1=args.l1, l2=args.l2, delta=args.delta, seed=args.seed,
                progress=not quiet,
            )
            out = Path(args.out or Path("results") / _slug(f"{args.model.split('/')[-1]}-{args.data}-{args.task}"))
            result.save(out)
            print(result.summary())
            print(f"\nresult written to {out}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
