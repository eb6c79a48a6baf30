"""The ``neuronbook`` command: a thin layer over the public Python API.

Examples
--------
Run the default analysis (packaged all-MiniLM-L6-v2, UD English-EWT, XPOS)::

    neuronbook lca

    neuronbook lca --model sentence-transformers/all-MiniLM-L6-v2 --data ud:en_ewt --task suffix
    neuronbook extract --data ud:de_gsd --split test
    neuronbook intervene --task xpos --max-sentences 300 --k 50 --draws 10   # top neurons switched off in the model
    neuronbook models
    neuronbook corpora

Fine-tune a model as a tagger (saved in the model cache under a content key), then analyse it by name::

    neuronbook finetune --model minilm-l6 --data ud:en_ewt --task xpos --split train --epochs 3
    neuronbook lca --model finetuned:<key printed above>

Notebooks headlessly (papermill), over a grid, and the grid's report::

    neuronbook run 01_salient_neurons -p model minilm-l6 -p max_sentences 200 --out runs/one
    neuronbook sweep 01_salient_neurons --grid model=minilm-l6,e5-small --grid task=upos,xpos --out runs/grid
    neuronbook report runs/grid

``run`` and ``sweep`` refuse a parameter or grid key the notebook's ``parameters`` cell does not set
(before anything runs); ``sweep`` locks its folder (a second sweep into it stops at once); ``report``
and a resumed ``sweep`` name every unreadable ``status.json``/``headline.json`` and go on with the rest.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

__all__ = ["main", "parse_literal"]


def _add_common(p: argparse.ArgumentParser) -> None:
    from .models import DEFAULT_MODEL

    p.add_argument("--model", default=DEFAULT_MODEL, help="model id, preset alias or local directory "
                   "(default: %(default)s, shipped in a PyPI package)")
    p.add_argument("--aggregation", default="auto", choices=["auto", "mean", "first", "last"],
                   help="how sub-word pieces become one word vector (default: %(default)s)")
    p.add_argument("--quiet", action="store_true", help="no progress bars, warnings only")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="neuronbook",
        description="Find the neurons of a language model that encode a linguistic property "
                    "(Linguistic Correlation Analysis).",
    )
    parser.add_argument("--debug", action="store_true", help="on an error, print the full traceback")
    sub = parser.add_subparsers(dest="command", required=True)

    lca = sub.add_parser("lca", help="run the whole analysis for (model, corpus, task)",
                         description="Every LCAConfig setting is an option (--max-sentences 200, --layers 0,3); "
                                     "values are read as literals. Results are cached: the same call again "
                                     "loads the saved result. --data may be a corpus file: with --train and "
                                     "--test files those are read; without them the file's sentences are "
                                     "split, shuffled with --seed, into train and test (--test-fraction of "
                                     "them; dev is then held out of train as usual).")
    _add_config_options(lca)
    lca.add_argument("--config", default=None, metavar="FILE.json",
                     help="settings from a JSON file (LCAConfig.to_json); options given here override it")
    lca.add_argument("--no-cache", action="store_true", help="compute again and keep nothing in the result cache")
    lca.add_argument("--out", default=None, help="result directory (default: results/<model>-<data>-<task>)")
    lca.add_argument("--overwrite", action="store_true", help="replace a result already in --out")
    lca.add_argument("--quiet", action="store_true", help="no progress bars, warnings only")

    itv = sub.add_parser("intervene", help="switch an LCA's top neurons off inside the model, against matched "
                                           "random sets",
                         description="Runs (or loads) the LCA of the settings given (every LCAConfig setting is an "
                                     "option), sets its top --k neurons below --probe-layer to their training mean "
                                     "(or zero) inside the model, and as many uniform and layer-matched random sets "
                                     "(--draws each); prints the probe accuracies with 95%% intervals.")
    _add_config_options(itv)
    itv.add_argument("--config", default=None, metavar="FILE.json", help="settings from a JSON file")
    itv.add_argument("--k", type=int, default=50, help="neurons per set (default: %(default)s)")
    itv.add_argument("--tag", default=None, help="switch off this tag's per-tag neurons (default: the global ranking)")
    itv.add_argument("--probe-layer", type=int, default=None, help="the later layer whose probe reads the property "
                     "(default: the last)")
    itv.add_argument("--draws", type=int, default=10, help="draws of each random baseline (default: %(default)s)")
    itv.add_argument("--how", default="mean", choices=["mean", "zero"], help="what a neuron is set to")
    itv.add_argument("--out", default=None, help="folder for the tables (CSV) and info.json")
    itv.add_argument("--overwrite", action="store_true", help="replace what --out holds")
    itv.add_argument("--quiet", action="store_true", help="no progress bars, warnings only")

    ext = sub.add_parser("extract", help="extract word-level activations into the store cache")
    _add_common(ext)
    ext.add_argument("--data", default="ud:en_ewt")
    ext.add_argument("--split", default=None)
    ext.add_argument("--dtype", default="float32", choices=["float32", "float16"])

    ft = sub.add_parser("finetune", help="fine-tune a model as a word tagger; save it under a content key",
                        description="Trains MODEL with a linear head for TASK on the --split of DATA (first piece "
                                    "of each word labelled), scores it on --eval-split, and saves it in the model "
                                    "cache; prints the name (finetuned:<key>) to pass to --model. The same "
                                    "command again reuses the saved fine-tune at once; an interrupted one resumes "
                                    "at its last finished epoch.")
    ft.add_argument("--model", default=DEFAULT_MODEL_NAME, help="base model (default: %(default)s)")
    ft.add_argument("--data", default="ud:en_ewt", help="named corpus (default: %(default)s)")
    ft.add_argument("--task", default="xpos", help="task labelling the words (default: %(default)s)")
    _add_finetune_options(ft)
    ft.add_argument("--device", default=None, help="cpu, cuda, ... (default: the GPU when there is one)")
    ft.add_argument("--rebuild", action="store_true", help="train again even if the same fine-tune exists")
    ft.add_argument("--quiet", action="store_true", help="no progress bars, warnings only")

    models = sub.add_parser("models", help="list the offline model presets")
    models.add_argument("--finetuned", action="store_true", help="also list the fine-tunes in the model cache")
    sub.add_parser("corpora", help="list the named corpora and where they were found")
    _add_notebook_commands(sub)
    for command in sub.choices.values():  # `neuronbook lca ... --debug` as well as `neuronbook --debug lca`
        command.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                             help="on an error, print the full traceback")
    return parser


DEFAULT_MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"  # models.DEFAULT_MODEL, without importing pandas


def _add_finetune_options(p: argparse.ArgumentParser) -> None:
    """One option per :class:`~neuronbook.finetuning.FinetuneConfig` setting."""
    import dataclasses

    from .finetuning import FinetuneConfig

    for f in dataclasses.fields(FinetuneConfig):
        p.add_argument(f"--{f.name.replace('_', '-')}", dest=f"ft_{f.name}", default=argparse.SUPPRESS,
                       metavar="VALUE", help=f"{f.metadata['doc']} (default: {f.default})".replace("%", "%%"))


def _finetune_command(args, quiet: bool) -> int:
    from .finetuning import finetune

    settings_ = {k[3:]: parse_literal(v) for k, v in vars(args).items() if k.startswith("ft_")}
    for k in ("split", "eval_split", "loop"):  # names stay names
        if k in settings_ and settings_[k] is not None:
            settings_[k] = str(settings_[k])
    t = time.perf_counter()
    ft = finetune(args.model, args.data, args.task, device=args.device, rebuild=args.rebuild,
                  progress=False if quiet else "auto", **settings_)
    print(ft.summary())
    how = "reused (already in the model cache)" if ft.reused else "trained"
    print(f"\n{how} in {time.perf_counter() - t:.1f}s; analyse it with: neuronbook lca --model {ft.name}")
    return 0


def _add_config_options(p: argparse.ArgumentParser) -> None:
    """One option per :class:`~neuronbook.config.LCAConfig` setting, documented from the config itself."""
    from .config import LCAConfig

    for row in LCAConfig.describe().itertuples():
        default = row.default if not isinstance(row.default, list) else ",".join(map(str, row.default))
        p.add_argument(f"--{row.name.replace('_', '-')}", dest=f"cfg_{row.name}", default=argparse.SUPPRESS,
                       metavar="VALUE", help=f"{row.doc} (default: {default})".replace("%", "%%"))


def _config_from(args):
    """The LCAConfig of an ``lca`` command line: --config file, then the options given."""
    import json

    from .config import LCAConfig

    values = {}
    if args.config:
        path = Path(args.config)
        if not path.is_file():
            raise FileNotFoundError(f"--config {path}: no such file")
        try:
            values = json.loads(path.read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError) as exc:
            raise ValueError(f"--config {path} is not valid JSON: {exc}") from None
        if not isinstance(values, dict):
            raise ValueError(f"--config {path} must hold a JSON object of settings, got {type(values).__name__}")
    defaults = LCAConfig()
    for key, text in vars(args).items():
        if not key.startswith("cfg_"):
            continue
        name = key[4:]
        value = parse_literal(text)
        if isinstance(getattr(defaults, name), tuple) or name in ("layers", "seeds"):  # lists: 0,3 or [0, 3]
            if isinstance(value, (int, float)):
                value = [value]
            elif isinstance(value, str):
                value = [parse_literal(v.strip()) for v in value.split(",") if v.strip()]
        elif isinstance(value, (int, float)) and not isinstance(value, bool) and isinstance(
                getattr(defaults, name), str):
            value = text  # a name that looks like a number stays a name
        values[name] = value
    return LCAConfig.from_dict(values)


# ---------------------------------------------------------------- notebooks: run, sweep, report

def _add_notebook_commands(sub) -> None:
    param = dict(nargs=2, action="append", default=[], metavar=("NAME", "VALUE"),
                 help="set a notebook parameter; VALUE is read as a JSON/YAML literal (1, 0.5, true, null, "
                      "[1, 2]) and otherwise kept as text (repeatable)")
    run = sub.add_parser("run", help="execute a notebook headlessly (papermill) into an output folder")
    run.add_argument("notebook", help="a notebook file, or a name in notebooks/ such as 01_salient_neurons")
    run.add_argument("-p", "--parameter", dest="parameters", **param)
    run.add_argument("--out", default=None, help="output folder (default: runs/<notebook name>)")
    run.add_argument("--timeout", type=float, default=None, help="seconds allowed per cell (default: no limit)")
    run.add_argument("--quiet", action="store_true", help="no progress bar, warnings only")

    sw = sub.add_parser("sweep", help="run a notebook over a grid of parameters, one folder per cell (resumable)")
    sw.add_argument("notebook", help="a notebook file, or a name in notebooks/")
    sw.add_argument("--grid", action="append", default=[], required=True, metavar="NAME=V1,V2,...",
                    help="a grid axis: values split on commas, each read as a literal; or a JSON/YAML "
                         "list (NAME=[1, 2]) (repeatable)")
    sw.add_argument("-p", "--parameter", dest="parameters", **param)
    sw.add_argument("--out", required=True, help="sweep folder (re-run the same command to resume)")
    sw.add_argument("--scheduler", default=None, metavar="ADDRESS",
                    help="submit the cells to an existing dask.distributed scheduler (tcp://host:8786)")
    sw.add_argument("--workers", type=int, default=None, help="local worker processes (default: 1)")
    sw.add_argument("--timeout", type=float, default=None, help="seconds allowed per cell (default: no limit)")
    sw.add_argument("--quiet", action="store_true", help="warnings only")

    rep = sub.add_parser("report", help="gather a sweep's headline numbers into one table and chart")
    rep.add_argument("out", help="the sweep folder")
    rep.add_argument("--all-columns", action="store_true",
                     help="print every column (the default view: grid keys, status, error, a few metrics)")
    rep.add_argument("--quiet", action="store_true", help="warnings only")


def parse_literal(text: str):
    """A command-line value as a literal: JSON first, then YAML; plain text when neither gives more.

    YAML's 1.1 extras (``yes``/``on`` as booleans, dates) stay text.

    Examples
    --------
    >>> [parse_literal(v) for v in ["3", "1e-3", "true", "null", "[1, 2]", "ud:en_ewt", "on", "2024-01-01"]]
    [3, 0.001, True, None, [1, 2], 'ud:en_ewt', 'on', '2024-01-01']
    """
    import json

    try:
        return json.loads(text)
    except ValueError:
        pass
    import yaml

    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError:
        return text
    if isinstance(value, bool) and text.strip().lower() not in ("true", "false"):
        return text
    if isinstance(value, (int, float, list, dict)) or value is None and text.strip().lower() in ("null", "~", ""):
        return value
    return text


def _parameters(pairs) -> dict:
    params = {}
    for name, value in pairs:
        if name in params:
            raise SystemExit(f"neuronbook: error: parameter {name!r} given twice")
        params[name] = parse_literal(value)
    return params


def _grid(specs) -> dict:
    grid = {}
    for spec in specs:
        name, sep, values = spec.partition("=")
        name = name.strip()
        if not sep or not name or not values.strip():
            raise SystemExit(f"neuronbook: error: --grid wants NAME=V1,V2,..., got {spec!r}")
        if name in grid:
            raise SystemExit(f"neuronbook: error: --grid {name} given twice")
        whole = parse_literal(values) if values.lstrip().startswith("[") else None
        grid[name] = whole if isinstance(whole, list) else [parse_literal(v.strip()) for v in values.split(",")]
    return grid


def _notebook_command(args) -> int:
    from .notebooks import NotebookError, report, report_view, run_notebook, sweep

    if args.command == "run":
        try:
            executed = run_notebook(args.notebook, _parameters(args.parameters), args.out,
                                    progress=False if args.quiet else "auto", timeout=args.timeout)
        except NotebookError as exc:
            print(exc, file=sys.stderr)
            return 1
        files = sorted(p.relative_to(executed.parent) for p in executed.parent.rglob("*") if p.is_file())
        print(f"executed notebook: {executed}")
        print(f"outputs in {executed.parent}: " + ", ".join(str(f) for f in files))
        return 0
    if args.command == "sweep":
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the failures are listed below
            table = sweep(args.notebook, _grid(args.grid), args.out, parameters=_parameters(args.parameters),
                          scheduler=args.scheduler, workers=args.workers, timeout=args.timeout)
        print(table.drop(columns=["error", "output_dir"]).to_string(index=False))
        failed = table[table["status"] != "ok"]
        for row in failed.itertuples():
            print(f"\nFAILED {row.cell}:\n{row.error}", file=sys.stderr)
        print(f"\n{len(table) - len(failed)} of {len(table)} cells ok in {Path(args.out).resolve()}"
              + (f"; {len(failed)} failed: {', '.join(failed['cell'])} (run the same command again to retry)"
                 if len(failed) else "") + f"\nsummary: neuronbook report {args.out}")
        return 1 if len(failed) else 0
    import warnings

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"\d+ unreadable file")  # logged, and listed below
        table, _ = report(args.out)
    out = Path(args.out).resolve()
    print(report_view(table, all_columns=args.all_columns))
    for row in table[table["status"] == "unreadable"].itertuples():
        print(f"UNREADABLE {row.cell}: {row.unreadable}", file=sys.stderr)
    print("\nwritten: " + ", ".join(str(out / f) for f in ("report.csv", "report.parquet", "report.html",
                                                           "report.png")))
    return 0


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "-" for c in text).strip("-")


#: Errors a user can fix (a setting, a name, a path, a file's content): one line and exit status 2.
_USER_ERRORS = (ValueError, TypeError, LookupError, OSError)


def _one_line(exc: BaseException) -> str:
    text = exc.args[0] if isinstance(exc, KeyError) and len(exc.args) == 1 else str(exc)
    return " ".join(str(text).split()) or type(exc).__name__


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``neuronbook`` command; returns the exit status.

    A user error (bad setting, missing data, unknown model or task, a file that does not parse)
    is one line ``neuronbook <command>: error: ...`` on stderr and status 2; any other failure is
    one line and status 1. ``--debug`` adds the full traceback.
    """
    import traceback

    args = _parser().parse_args(argv)
    debug = getattr(args, "debug", False)
    try:
        return _run(args)
    except KeyboardInterrupt:
        if debug:
            traceback.print_exc()
        print(f"neuronbook {args.command}: interrupted", file=sys.stderr)
        return 130
    except _USER_ERRORS as exc:
        if debug:
            traceback.print_exc()
        print(f"neuronbook {args.command}: error: {_one_line(exc)}", file=sys.stderr)
        return 2
    except Exception as exc:  # a failure that is not the user's: still one line, the traceback on request
        if debug:
            traceback.print_exc()
        print(f"neuronbook {args.command}: error: {type(exc).__name__}: {_one_line(exc)}"
              + ("" if debug else " (run again with --debug for the traceback)"), file=sys.stderr)
        return 1


def _run(args) -> int:
    quiet = getattr(args, "quiet", False)
    logging.basicConfig(level=logging.WARNING if quiet else logging.INFO,
                        format="%(levelname)s %(name)s: %(message)s")
    import pandas as pd

    if args.command in ("run", "sweep", "report"):
        with pd.option_context("display.width", 160, "display.max_columns", 30):
            return _notebook_command(args)
    with pd.option_context("display.width", 120, "display.max_columns", 20):
        if args.command == "models":
            from .models import PRESETS, list_models

            print(list_models(finetuned=args.finetuned).to_string(index=False))
            notes = [(p.alias, p.approximation) for p in PRESETS.values() if p.approximation]
            if notes:  # the approximation notes in full: results from these presets carry them
                print("\napproximations:\n" + "\n".join(f"  {alias}: {note}" for alias, note in notes))
        elif args.command == "corpora":
            from .datasets import list_corpora

            print(list_corpora().to_string(index=False))
        elif args.command == "finetune":
            return _finetune_command(args, quiet)
        elif args.command == "extract":
            from .datasets import load_corpus
            from .extraction import extract

            corpus = load_corpus(args.data, split=args.split)
            t = time.perf_counter()
            store = extract(args.model, corpus, aggregation=args.aggregation, dtype=args.dtype,
                            progress=not quiet)
            print(store)
            print(f"{store.n_words:,} words in {time.perf_counter() - t:.1f}s; "
                  f"{store.nbytes_on_disk() / 2**20:.1f} MiB at {store.path}")
        elif args.command == "intervene":
            from .interventions import intervention_effects

            config = _config_from(args)
            t = time.perf_counter()
            r = intervention_effects(config, k=args.k, tag=args.tag, probe_layer=args.probe_layer,
                                     n_draws=args.draws, how=args.how, progress=False if quiet else "auto")
            if args.out:
                r.save(args.out, overwrite=args.overwrite)
            print(f"{config.model} {config.task}: {r.info['k']} neurons below layer {r.info['probe_layer']} set to "
                  f"their {args.how}; {r.info['n_draws']} draws per baseline")
            print(r.summary.round(4).to_string(index=False))
            print()
            print(r.comparison[["baseline", "measure", "top", "mean", "difference", "ci_low", "ci_high"]]
                  .round(4).to_string(index=False))
            print(f"\ncausal-LM loss: {r.info['lm']}")
            print(r.timing.to_string(index=False))
            print(f"\ndone in {time.perf_counter() - t:.1f}s" + (f", written to {args.out}" if args.out else ""))
        elif args.command == "lca":
            from .lca import run_lca

            config = _config_from(args)
            t = time.perf_counter()
            progress = False if quiet else "auto"
            result = run_lca(config, cache=not args.no_cache, progress=progress)
            out = Path(args.out or Path("results") / _slug(f"{Path(config.model).name}-{Path(config.data).name}-"
                                                            f"{config.task}"))
            result.save(out, overwrite=args.overwrite)
            print(result.summary())
            how = "loaded from the result cache" if result.from_cache else "computed"
            print(f"\nresult {how} in {time.perf_counter() - t:.1f}s, written to {out}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
