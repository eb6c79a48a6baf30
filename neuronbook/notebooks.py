"""Notebooks as the product: set-up, headless runs, sweeps over a grid, and one report.

* :func:`notebook_setup` -- the first call of every notebook: an Altair renderer that draws offline
  (JupyterLab 4, VS Code, a headless run), and neuronbook's warnings shown once per place.
* :func:`run_notebook` -- execute one notebook with papermill into an output folder, then fail on an
  error in any cell **or inside a widget's saved state** (papermill exits cleanly when a widget
  callback raises: the traceback lands in ``metadata.widgets``). :func:`notebook_errors` is that scan.
* :func:`sweep` -- the cartesian product of a grid of parameters, one output folder per cell,
  resumable, on local processes or an existing ``dask.distributed`` cluster.
* :func:`report` -- every cell's headline numbers, the grid keys and a status column in one table and
  one chart.

The contract a notebook follows to take part
--------------------------------------------
* One cell tagged ``parameters`` holding literals, among them ``output_dir`` (``None`` when used
  interactively: write nothing), ``interactive`` (show the widgets) and ``renderer`` (``"auto"``,
  passed to :func:`notebook_setup`). :func:`run_notebook` always injects an absolute ``output_dir``.
* Everything a run computes is written under ``output_dir``; the headline numbers go to
  ``headline.json`` through :func:`save_headline`: a flat JSON object of metric name -> number
  (``null`` for a number that does not exist, e.g. NaN), such as
  ``{"oracle_accuracy": 0.91, "top_accuracy": 0.88, "minimal_set_size": 42}``.

Examples
--------
>>> import json, tempfile
>>> path = save_headline({"accuracy": 0.9, "n_neurons": 12}, tempfile.mkdtemp())
>>> json.loads(path.read_text())
{'accuracy': 0.9, 'n_neurons': 12}
"""

from __future__ import annotations

import itertools
import json
import logging
import math
import os
import re
import time
import traceback
import uuid
import warnings
from dataclasses import dataclass
from pathlib import Path

from .exceptions import NeuronbookWarning
from .settings import in_kernel

__all__ = ["RENDERERS", "CellError", "NotebookError", "Outputs", "SweepLocked", "UnreadableFile", "notebook_setup",
           "notebook_errors", "notebook_parameters", "check_parameter_names", "run_notebook", "save_headline",
           "slug", "run_row", "sweep", "report", "report_view", "error_summary"]

log = logging.getLogger(__name__)

#: Renderers :func:`notebook_setup` accepts. ``jupyter`` is Altair's anywidget-based JupyterChart with
#: the Vega scripts inlined (offline); ``svg``/``png`` are drawn in the kernel by vl-convert. Altair's
#: ``default``/``html`` load Vega from a CDN (blank offline) and ``mimetype`` relies on the front end's
#: own Vega-Lite (JupyterLab 4 bundles v5, Altair 6 emits v6): neither is offered.
RENDERERS = ("auto", "jupyter", "svg", "png")
_REFUSED = {
    "default": "it loads Vega from a CDN and draws nothing offline",
    "html": "it loads Vega from a CDN and draws nothing offline",
    "mimetype": "JupyterLab 4 bundles Vega-Lite 5 while Altair 6 emits Vega-Lite 6",
    "jupyterlab": "JupyterLab 4 bundles Vega-Lite 5 while Altair 6 emits Vega-Lite 6",
}

#: Environment variables :func:`run_notebook` sets in the kernel: no progress bars, and
#: ``renderer="auto"`` draws static SVG (no widget state of several MB in the saved notebook).
HEADLESS_ENV = {"NEURONBOOK_PROGRESS": "0", "NEURONBOOK_HEADLESS": "1"}

HEADLINE = "headline.json"
STATUS = "status.json"
SWEEP = "sweep.json"
_WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
_WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
_MODEL_REF = re.compile(r"IPY_MODEL_([0-9a-zA-Z_-]+)")


# --------------------------------------------------------------------------------------- set-up

def _importable(name: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(name) is not None


def _headless() -> bool:
    return os.environ.get("NEURONBOOK_HEADLESS", "").strip().lower() in ("1", "true", "yes", "on")


def notebook_setup(renderer: str = "auto") -> str:
    """Prepare a notebook: an Altair renderer that draws offline, and visible neuronbook warnings.

    Parameters
    ----------
    renderer : {"auto", "jupyter", "svg", "png"}
        ``"auto"`` picks ``"jupyter"`` (interactive charts, Vega inlined) in a live kernel where
        ``anywidget`` is installed, unless the kernel was started headless by :func:`run_notebook`;
        otherwise ``"svg"``. The ``jupyter`` renderer draws SVG (not canvas) in the page. Every choice works without internet; all need ``vl-convert-python``
        (it carries the Vega scripts the ``jupyter`` renderer inlines).

    Returns
    -------
    str
        The renderer enabled.

    Examples
    --------
    >>> notebook_setup("svg")
    'svg'
    >>> notebook_setup("html")
    Traceback (most recent call last):
    ...
    ValueError: renderer 'html' is not offered: it loads Vega from a CDN and draws nothing offline; choose one of 'auto', 'jupyter', 'svg', 'png'
    """
    valid = ", ".join(repr(r) for r in RENDERERS)
    if renderer in _REFUSED:
        raise ValueError(f"renderer {renderer!r} is not offered: {_REFUSED[renderer]}; choose one of {valid}")
    if renderer not in RENDERERS:
        raise ValueError(f"unknown renderer {renderer!r}; choose one of {valid}")
    if not _importable("vl_convert"):
        raise ImportError("neuronbook's notebooks draw charts offline with vl-convert-python; install it with "
                          "`pip install vl-convert-python` (or neuronbook[export])")
    if renderer == "auto":
        renderer = "jupyter" if in_kernel() and not _headless() and _importable("anywidget") else "svg"
    if renderer == "jupyter" and not _importable("anywidget"):
        raise ImportError("the 'jupyter' renderer needs anywidget: `pip install anywidget`, or use 'svg'")

    import altair as alt

    if renderer == "jupyter":
        # SVG rather than vega-embed's default canvas: crisp, searchable, and its marks are testable.
        alt.renderers.enable("jupyter", offline=True, embed_options={"renderer": "svg"})
    else:
        alt.renderers.enable(renderer)
    # Each warning once per code location, also where the front end's defaults would hide it.
    warnings.simplefilter("default", NeuronbookWarning)
    return renderer


# --------------------------------------------------------------------------------- error scan

@dataclass(frozen=True)
class CellError:
    """One error found in an executed notebook.

    ``cell`` is the 0-based cell index (None when a widget's error cannot be tied to a displayed
    cell), ``where`` is ``"output"`` (a cell's own output) or ``"widget"`` (a widget's saved state;
    ``widget`` is then its model id).
    """

    cell: int | None
    where: str
    ename: str
    evalue: str
    widget: str | None = None
    source: str = ""

    def __str__(self) -> str:
        place = "a widget not shown in any cell" if self.cell is None else f"cell {self.cell}"
        if self.where == "widget":
            place += f" (inside widget {self.widget})"
        first = self.source.strip().splitlines()[0][:80] if self.source.strip() else ""
        return f"{place}{f' [{first}]' if first else ''}: {self.ename}: {self.evalue}"


class NotebookError(RuntimeError):
    """An executed notebook holds errors; ``errors`` lists them (:class:`CellError`)."""

    def __init__(self, notebook, errors: list[CellError], output=None):
        self.notebook = str(notebook)
        self.errors = list(errors)
        self.output = None if output is None else str(output)
        lines = [f"{self.notebook}: {len(self.errors)} error(s)"
                 + (f"; executed notebook saved as {self.output}" if self.output else "")]
        lines += [f"  {e}" for e in self.errors]
        super().__init__("\n".join(lines))


def _error_of(output) -> tuple[str, str] | None:
    """(ename, evalue) when a notebook output records an error (an error output or a printed traceback)."""
    kind = output.get("output_type")
    if kind == "error":
        return str(output.get("ename", "Error")), str(output.get("evalue", ""))
    if kind == "stream" and output.get("name") == "stderr":
        text = output.get("text", "")
        text = "".join(text) if isinstance(text, list) else str(text)
        if "Traceback (most recent call last)" in text:
            last = [ln for ln in text.strip().splitlines() if ln.strip()][-1]
            ename, _, evalue = last.partition(":")
            return ename.strip(), evalue.strip()
    return None


def _refs(value) -> set[str]:
    """Widget model ids referenced (as ``IPY_MODEL_<id>``) anywhere inside a widget state value."""
    if isinstance(value, str):
        return set(_MODEL_REF.findall(value))
    if isinstance(value, dict):
        return set().union(*(_refs(v) for v in value.values())) if value else set()
    if isinstance(value, list):
        return set().union(*(_refs(v) for v in value)) if value else set()
    return set()


def notebook_errors(nb) -> list[CellError]:
    """Every error an executed notebook holds: in cell outputs and in saved widget state.

    Parameters
    ----------
    nb : str, Path, dict or nbformat.NotebookNode
        An executed notebook or its path.

    Returns
    -------
    list of CellError
        Empty when the notebook is clean. A widget's error is tied to the cell that displays the
        widget (or a container holding it).

    Examples
    --------
    >>> import nbformat
    >>> nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1/0", outputs=[
    ...     nbformat.v4.new_output("error", ename="ZeroDivisionError", evalue="division by zero",
    ...                            traceback=[])])])
    >>> [str(e) for e in notebook_errors(nb)]
    ['cell 0 [1/0]: ZeroDivisionError: division by zero']
    """
    if isinstance(nb, (str, Path)):
        import nbformat

        nb = nbformat.read(str(nb), as_version=4)
    cells = nb.get("cells", [])
    errors: list[CellError] = []
    shown: dict[str, int] = {}  # widget model id -> first cell displaying it
    for i, cell in enumerate(cells):
        for out in cell.get("outputs", []) or []:
            found = _error_of(out)
            if found:
                errors.append(CellError(i, "output", *found, source=_source(cell)))
            view = (out.get("data") or {}).get(_WIDGET_VIEW)
            if isinstance(view, dict) and view.get("model_id"):
                shown.setdefault(view["model_id"], i)

    state = ((nb.get("metadata") or {}).get("widgets") or {}).get(_WIDGET_STATE) or {}
    models = state.get("state") or {}
    children = {mid: _refs((m or {}).get("state", {})) for mid, m in models.items()}
    # The cell of a widget: the cell displaying it or any container above it.
    owner: dict[str, int] = {}
    frontier = list(shown.items())
    while frontier:
        mid, cell_index = frontier.pop()
        if mid in owner:
            continue
        owner[mid] = cell_index
        frontier.extend((child, cell_index) for child in children.get(mid, ()))
    for mid, model in models.items():
        for out in ((model or {}).get("state") or {}).get("outputs", []) or []:
            found = _error_of(out)
            if found:
                cell_index = owner.get(mid)
                source = _source(cells[cell_index]) if cell_index is not None else ""
                errors.append(CellError(cell_index, "widget", *found, widget=mid, source=source))
    return errors


def _source(cell) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else str(src)


# ----------------------------------------------------------------------------------- one run

def _notebook_dirs() -> list[Path]:
    here = Path(__file__).resolve().parent
    dirs = [Path.cwd() / "notebooks", here.parent / "notebooks", here / "notebooks"]
    seen: list[Path] = []
    for d in dirs:
        if d.resolve() not in [s.resolve() for s in seen]:
            seen.append(d)
    return seen


def resolve_notebook(notebook) -> Path:
    """A notebook path from a path or a name such as ``01_salient_neurons`` (looked up in notebooks/)."""
    path = Path(notebook).expanduser()
    candidates = [path, path.with_name(path.name + ".ipynb")] if path.suffix != ".ipynb" else [path]
    if len(path.parts) == 1:
        for d in _notebook_dirs():
            candidates += [d / path.name, d / f"{path.name}.ipynb"]
    for c in candidates:
        if c.is_file():
            return c.resolve()
    known = sorted({p.stem for d in _notebook_dirs() if d.is_dir() for p in d.glob("*.ipynb")})
    where = ", ".join(str(d) for d in _notebook_dirs())
    raise FileNotFoundError(f"no notebook {str(notebook)!r}: not a file, and not in {where}"
                            + (f"; known notebooks: {', '.join(known)}" if known else ""))


def notebook_parameters(notebook) -> list[str]:
    """The names the notebook's ``parameters`` cell assigns, in order (read by papermill, nothing runs).

    Empty when the notebook has no cell tagged ``parameters``.

    >>> notebook_parameters("00_quickstart")[:3]
    ['model', 'data', 'task']
    """
    from papermill import inspect_notebook

    papermill_log = logging.getLogger("papermill")
    level = papermill_log.level
    papermill_log.setLevel(max(logging.WARNING, level))  # no "Input Notebook: ..." line for a look
    try:
        return list(inspect_notebook(str(resolve_notebook(notebook))))
    finally:
        papermill_log.setLevel(level)


def check_parameter_names(notebook, names, what: str = "parameter", *, valid: list[str] | None = None) -> None:
    """Refuse names the notebook's ``parameters`` cell does not assign, before anything runs.

    ``what`` names them in the message (``"parameter"``, ``"grid key"``); ``valid`` is the notebook's
    :func:`notebook_parameters` when already read. ``output_dir`` is never accepted here: the run
    chooses it.

    Raises
    ------
    ValueError
        One line: the unknown names, a close match for each (difflib) and the valid names.

    Examples
    --------
    >>> check_parameter_names("00_quickstart", ["model", "max_sentencs"])
    Traceback (most recent call last):
    ...
    ValueError: unknown parameter 'max_sentencs' (did you mean 'max_sentences'?) for 00_quickstart.ipynb; its parameters cell sets: model, data, task, train, test, max_sentences, data_dir, l1, l2, epochs, percents, ablation_percents, n_draws, bootstrap, seeds, control, result_dir, interactive, renderer
    """
    import difflib

    names = list(names)
    if not names:
        return
    path = resolve_notebook(notebook)
    valid = [n for n in (notebook_parameters(path) if valid is None else valid) if n != "output_dir"]
    unknown = [n for n in names if n not in valid]
    if not unknown:
        return
    if not valid:
        raise ValueError(f"{path.name} has no cell tagged 'parameters', so it takes no {what}s; "
                         f"got {', '.join(map(repr, unknown))}")
    parts = []
    for name in unknown:
        close = difflib.get_close_matches(str(name), valid, n=1)
        parts.append(f"{name!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
    plural = "s" if len(unknown) > 1 else ""
    raise ValueError(f"unknown {what}{plural} {', '.join(parts)} for {path.name}; its parameters cell sets: "
                     + ", ".join(valid))


def _kernel_manager_with(env: dict[str, str]):
    """A kernel-manager class whose kernels get ``env`` added to this process's environment.

    Passed to papermill (which hands it to nbclient), so concurrent runs in threads never touch
    ``os.environ``.
    """
    from jupyter_client.manager import AsyncKernelManager

    class _EnvKernelManager(AsyncKernelManager):
        async def _async_pre_start_kernel(self, **kw):
            kw["env"] = {**(kw.get("env") or os.environ), **env}
            return await super()._async_pre_start_kernel(**kw)

    return _EnvKernelManager


def _absolute_path_settings() -> dict[str, str]:
    """``NEURONBOOK_DATA=../shared/data`` means relative to where the command ran, not to notebooks/
    (the kernel starts in the notebook's folder): :func:`neuronbook.settings.absolute_path_settings`."""
    from .settings import absolute_path_settings

    return absolute_path_settings()


def run_notebook(notebook, parameters: dict | None = None, output_dir=None, *, kernel_name: str | None = None,
                 progress=False, timeout: float | None = None) -> Path:
    """Execute a notebook headlessly (papermill) into ``output_dir`` and fail on any error in it.

    Parameters
    ----------
    notebook : str or Path
        A notebook file, or the name of one in the repository's ``notebooks/`` (``"01_salient_neurons"``).
    parameters : dict, optional
        Values for the notebook's ``parameters`` cell (literals).
    output_dir : str or Path, optional
        Where the executed notebook and everything it writes go; injected as the ``output_dir``
        parameter (absolute). Default ``runs/<notebook name>`` under the current folder.
    kernel_name : str, optional
        Jupyter kernel; default the notebook's own (``python3``).
    progress : bool or "auto"
        Papermill's cell-by-cell bar. Bars inside the notebook are always off (``NEURONBOOK_PROGRESS=0``).
    timeout : float, optional
        Seconds allowed per cell (default: no limit).

    Returns
    -------
    Path
        The executed notebook (``output_dir/<name>.ipynb``).

    Raises
    ------
    NotebookError
        A cell raised, or an error sits in a widget's saved output (the executed notebook is still
        written, for inspection).
    ValueError
        A parameter the notebook's ``parameters`` cell does not set (nothing runs, no folder is made).
    """
    import papermill as pm

    from .settings import progress_enabled

    path = resolve_notebook(notebook)
    parameters = dict(parameters or {})
    if "output_dir" in parameters:
        raise ValueError("give the output folder as output_dir=..., not inside parameters")
    check_parameter_names(path, parameters)
    out = Path(output_dir if output_dir is not None else Path("runs") / path.stem).expanduser().resolve()
    out.mkdir(parents=True, exist_ok=True)
    executed = out / path.name
    parameters["output_dir"] = str(out)
    if isinstance(parameters.get("data_dir"), str):  # relative to here, not to the kernel's folder (notebooks/)
        parameters["data_dir"] = str(Path(parameters["data_dir"]).expanduser().resolve())
    log.info("running %s -> %s", path, executed)
    try:
        pm.execute_notebook(
            str(path), str(executed), parameters=parameters, kernel_name=kernel_name,
            progress_bar=progress_enabled(progress), execution_timeout=timeout, cwd=str(path.parent),
            kernel_manager_class=_kernel_manager_with({**HEADLESS_ENV, **_absolute_path_settings()}),
        )
    except pm.PapermillExecutionError as exc:
        errors = notebook_errors(executed) if executed.is_file() else []
        if not errors:
            errors = [CellError(exc.exec_count, "output", exc.ename, exc.evalue)]
        raise NotebookError(path, errors, executed) from None
    errors = notebook_errors(executed)
    if errors:
        raise NotebookError(path, errors, executed)
    return executed


def save_headline(headline: dict, output_dir) -> Path:
    """Write a run's headline numbers as ``output_dir/headline.json`` (the file :func:`report` gathers).

    ``headline`` is a flat dict of metric name (str) -> number; NaN or None is written as ``null``.
    """
    clean = _check_headline(headline, "headline")
    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    return _write_json_atomic(out / HEADLINE, clean)


def slug(text) -> str:
    """A file-name-safe form of a task, tag or model name: anything but letters, digits, ``-_.`` becomes ``_``.

    >>> slug("feats:Number"), slug("sentence-transformers/all-MiniLM-L6-v2")
    ('feats_Number', 'sentence-transformers_all-MiniLM-L6-v2')
    """
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in str(text))


def run_row(result, label: str | None = None, **keys) -> dict:
    """One line of a notebook's runs table: what was run, the penalty it used, its headline figures.

    ``keys`` come first (e.g. ``task="xpos"``), then ``model`` (``label``, default the config's model),
    the model's size, the penalty (``searched``: whether this run chose it), the oracle and the minimal
    set (NaN with ``minimal set reached`` False when no prefix reached the target), the approximation a
    preset describes, the wall time and whether the result came from the cache.

    Examples
    --------
    >>> from neuronbook.lca.result import toy_result
    >>> row = run_row(toy_result(), "toy", task="upos")
    >>> row["task"], row["model"], row["neurons"], row["minimal set reached"]
    ('upos', 'toy', 2, False)
    """
    h = result.headline_dict()
    info = result.info
    return {**keys, "model": result.config.model if label is None else label, "n_layers": result.n_layers,
            "neurons": len(result.neurons), "l1": info.get("l1"), "l2": info.get("l2"),
            "searched": bool(info.get("searched", False)),
            "oracle test accuracy": h.get("oracle test accuracy"),
            "minimal set reached": result.minimal_set_reached,
            "minimal set neurons": h.get("minimal set neurons"), "minimal set %": h.get("minimal set %"),
            "minimal set test accuracy": h.get("minimal set test accuracy"),
            "approximation": info.get("approximation"),
            "wall time (s)": round(float(info.get("wall_time_s", 0.0)), 1),
            "from cache": bool(info.get("loaded_from_cache"))}


class Outputs:
    """Where a notebook's charts, tables, texts, result and headline go: one folder, or nowhere.

    Every method writes under ``output_dir`` (created on first write) and returns what it was given, so
    a cell can save and display in one expression; without a folder (``output_dir=None``, the
    interactive default of every notebook) each one only returns its argument.

    Parameters
    ----------
    output_dir : str or Path, optional
        The folder; None writes nothing.
    parquet : bool
        Write each table as parquet beside its CSV (typed columns for a later reader).

    Examples
    --------
    >>> import tempfile, pandas as pd
    >>> out = Outputs(tempfile.mkdtemp())
    >>> out.table(pd.DataFrame({"layer": [0, 1], "count": [3, 5]}), "layers").shape
    (2, 2)
    >>> sorted(p.name for p in out.dir.iterdir())
    ['layers.csv']
    >>> Outputs(None).table(pd.DataFrame({"a": [1]}), "ignored").shape  # no folder: nothing written
    (1, 1)
    """

    def __init__(self, output_dir=None, *, parquet: bool = False):
        self.dir = Path(output_dir) if output_dir not in (None, "") else None
        self.parquet = parquet

    def __bool__(self) -> bool:
        return self.dir is not None

    def __repr__(self) -> str:
        return f"Outputs({str(self.dir)!r})" if self.dir is not None else "Outputs(None)"

    def path(self, name: str) -> Path | None:
        """``output_dir / name`` (its folder created), or None without a folder."""
        if self.dir is None:
            return None
        path = self.dir / name
        path.parent.mkdir(parents=True, exist_ok=True)
        return path

    def chart(self, chart, name: str):
        """Write ``name.html`` (self-contained, no CDN) and ``name.png``; return the chart for display."""
        if self.dir is not None:
            from .plots import save_chart

            save_chart(chart, self.path(f"{name}.html"), inline=True)
            save_chart(chart, self.path(f"{name}.png"))
        return chart

    def table(self, frame, name: str):
        """Write ``name.csv`` (and ``name.parquet`` when ``parquet``); return the frame for display."""
        if self.dir is not None:
            frame.to_csv(self.path(f"{name}.csv"), index=False)
            if self.parquet:
                frame.to_parquet(self.path(f"{name}.parquet"), index=False)
        return frame

    def tables(self, owner, names) -> None:
        """Write each attribute of ``owner`` named in ``names`` (a result's tables) with :meth:`table`."""
        for name in names:
            self.table(getattr(owner, name), name)

    def text(self, text: str, name: str) -> str:
        """Write ``text`` to the file ``name`` (suffix included, e.g. ``"top_neuron.html"``); return it."""
        if self.dir is not None:
            self.path(name).write_text(text)
        return text

    def result(self, result, name: str = "result"):
        """Save an :class:`~neuronbook.lca.LCAResult` (or anything with ``save(path, overwrite=)``) as ``name``."""
        if self.dir is not None:
            result.save(self.path(name), overwrite=True)
        return result

    def headline(self, headline: dict) -> dict:
        """Write ``headline.json`` (see :func:`save_headline`, the file :func:`report` gathers); return it."""
        if self.dir is not None:
            save_headline(headline, self.dir)
        return headline


def _check_headline(headline, where: str) -> dict:
    import numbers

    if not isinstance(headline, dict):
        raise ValueError(f"{where}: the headline must be a flat dict of metric -> number, got "
                         f"{type(headline).__name__}")
    clean = {}
    for key, value in headline.items():
        if not isinstance(key, str):
            raise ValueError(f"{where}: metric names must be strings, got {key!r}")
        if value is None or (isinstance(value, float) and math.isnan(value)):
            clean[key] = None
        elif isinstance(value, numbers.Real) and not isinstance(value, bool):
            clean[key] = value.item() if hasattr(value, "item") else value
            if isinstance(clean[key], float) and math.isnan(clean[key]):
                clean[key] = None
        else:
            raise ValueError(f"{where}: metric {key!r} must be a number (or null), got {value!r}")
    return clean


def _write_json_atomic(path: Path, obj) -> Path:
    tmp = path.with_name(f".{path.name}.tmp-{uuid.uuid4().hex[:8]}")
    tmp.write_text(json.dumps(obj, indent=2, default=str) + "\n")
    os.replace(tmp, path)  # atomic: a reader sees the old file or the whole new one
    return path


# ------------------------------------------------------------------------------------- sweep

def _slug_value(value) -> str:
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-.") or "x"


def cell_names(grid: dict[str, list]) -> list[tuple[dict, str]]:
    """The cells of a grid (cartesian product, in order) with a filesystem-safe, unique folder name each.

    Names that sanitising changed carry a hash of the exact values (so ``a/b`` and ``a-b`` stay apart):

    >>> [name for _, name in cell_names({"model": ["a/b", "c"], "k": [1]})]
    ['model=a-b__k=1__fdb4e408', 'model=c__k=1']
    """
    import hashlib

    keys = list(grid)
    out = []
    for values in itertools.product(*(grid[k] for k in keys)):
        cell = dict(zip(keys, values))
        name = "__".join(f"{_slug_value(k)}={_slug_value(v)}" for k, v in cell.items())
        if name != "__".join(f"{k}={v}" for k, v in cell.items()) or len(name) > 120:
            # Sanitising changed the name: a hash of the exact values keeps it apart from others. The
            # name depends on the cell alone, so adding grid values later never renames a finished cell.
            digest = hashlib.sha1(json.dumps(cell, sort_keys=True, default=str).encode()).hexdigest()[:8]
            name = f"{name[:110]}__{digest}"
        out.append((cell, name))
    if len({name for _, name in out}) != len(out):
        raise ValueError(f"grid values give clashing folder names: {[name for _, name in out]}")
    return out


def _run_cell(notebook: str, parameters: dict, cell_dir: str, kernel_name, timeout) -> dict:
    """Run one sweep cell in a thread of its own (see below); returns the status written."""
    import threading

    # A fresh thread starts with an empty context: nbclient's event loop (kept in a context
    # variable) cannot collide with a loop the worker already runs (dask workers do).
    import socket
    import sys

    where = {"host": socket.gethostname(), "pid": os.getpid(), "worker": None}
    if "distributed" in sys.modules:  # provenance: which dask worker ran the cell
        from distributed import get_worker

        try:
            where["worker"] = get_worker().address
        except ValueError:  # not inside a dask worker
            pass
    result: dict = {}
    thread = threading.Thread(target=lambda: result.update(_run_cell_here(notebook, parameters, cell_dir,
                                                                          kernel_name, timeout, where)))
    thread.start()
    thread.join()
    if not result:
        raise RuntimeError(f"the runner of {cell_dir} stopped without writing a status (see the log)")
    return result


def _run_cell_here(notebook: str, parameters: dict, cell_dir: str, kernel_name, timeout, where: dict) -> dict:
    """Run one sweep cell and record its status last (atomically). Never raises."""
    cell_dir = Path(cell_dir)
    cell_dir.mkdir(parents=True, exist_ok=True)
    started = time.time()
    status = {"status": "ok", "parameters": parameters, "error": None, **where}
    try:
        run_notebook(notebook, parameters, cell_dir, kernel_name=kernel_name, progress=False, timeout=timeout)
    except Exception as exc:  # a failed cell is recorded, and the sweep goes on
        status["status"] = "failed"
        status["error"] = str(exc) if isinstance(exc, NotebookError) else "".join(
            traceback.format_exception_only(type(exc), exc)).strip()
    status["seconds"] = round(time.time() - started, 3)
    status["finished"] = time.strftime("%Y-%m-%dT%H:%M:%S")
    _write_json_atomic(cell_dir / STATUS, status)
    return status


class UnreadableFile(ValueError):
    """A sweep file (``status.json``, ``headline.json``, ``sweep.json``) that exists but cannot be read
    as a JSON object; ``path`` names it, ``reason`` says why."""

    def __init__(self, path, reason: str):
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{self.path} is unreadable: {reason}")


def _read_json_object(path: Path) -> dict | None:
    """A JSON object from ``path``; None when there is no such file; :class:`UnreadableFile` otherwise."""
    try:
        text = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:  # a folder in its place, no permission, an I/O error
        raise UnreadableFile(path, f"{type(exc).__name__}: {exc.strerror or exc}") from None
    try:
        value = json.loads(text.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise UnreadableFile(path, f"not JSON ({' '.join(str(exc).split())})") from None
    if not isinstance(value, dict):
        raise UnreadableFile(path, f"not a JSON object (a {type(value).__name__})")
    return value


def _read_status(cell_dir: Path) -> dict | None:
    """A cell's status; None when it has none; ``{"status": "unreadable", "unreadable": path, ...}`` when
    its ``status.json`` (or, for a finished cell, its ``headline.json``) cannot be read."""
    try:
        status = _read_json_object(cell_dir / STATUS)
        if status is not None and status.get("status") == "ok":
            _read_json_object(cell_dir / HEADLINE)  # a finished cell's numbers must be readable too
    except UnreadableFile as exc:
        return {"status": "unreadable", "unreadable": exc.path, "error": str(exc), "seconds": None}
    return status


def _warn_unreadable(rows, stacklevel: int = 3) -> None:
    bad = [st for st in rows if st and st.get("status") == "unreadable"]
    if bad:
        warnings.warn(f"{len(bad)} unreadable file(s): " + "; ".join(st["error"] for st in bad),
                      NeuronbookWarning, stacklevel=stacklevel)


# ---------------------------------------------------------------------------------- the lock

LOCK = ".sweep.lock"


class SweepLocked(OSError):
    """Another sweep holds the sweep folder's lock; ``path`` is the lock file, ``holder`` its content
    (``pid``, ``host``, ``started``; None when it cannot be read)."""

    def __init__(self, path, holder: dict | None, hint: str = ""):
        self.path = str(path)
        self.holder = holder
        who = ("an unknown holder (the lock file is empty or unreadable)" if not holder else
               f"pid {holder.get('pid')} on {holder.get('host')} since {holder.get('started')}")
        super().__init__(f"another sweep is running in {Path(path).parent}: its lock {self.path} is held by {who}"
                         + (f"; {hint}" if hint else ""))


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, another user's
        return True
    return True


def _acquire_lock(out: Path) -> dict:
    """Take ``out/.sweep.lock`` (created exclusively, holding pid, host and start time) or raise
    :class:`SweepLocked`. A lock left by a dead process of this host is taken over (logged)."""
    import socket

    path = out / LOCK
    me = {"pid": os.getpid(), "host": socket.gethostname(), "started": time.strftime("%Y-%m-%dT%H:%M:%S")}
    for _ in range(3):
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            try:
                holder = _read_json_object(path)
            except UnreadableFile:
                holder = None
            if holder is None:
                if not path.exists():
                    continue  # released in between: try again
                raise SweepLocked(path, None, "if no sweep runs there, remove the lock file") from None
            pid, host = holder.get("pid"), holder.get("host")
            if host == me["host"] and isinstance(pid, int) and not _pid_alive(pid):
                log.warning("taking over the stale sweep lock %s: its holder, pid %s on %s (since %s), is gone",
                            path, pid, host, holder.get("started"))
                try:
                    if _read_json_object(path) == holder:  # still the dead holder's lock
                        path.unlink()
                except (FileNotFoundError, UnreadableFile):
                    pass
                continue
            hint = ("wait for it to finish, or use another --out folder" if host == me["host"] else
                    f"if no sweep runs on {host}, remove the lock file")
            raise SweepLocked(path, holder, hint) from None
        with os.fdopen(fd, "w") as f:
            f.write(json.dumps(me) + "\n")
        return me
    raise SweepLocked(path, None, "the lock kept changing hands; try again")


def _release_lock(out: Path, me: dict) -> None:
    path = out / LOCK
    try:
        if _read_json_object(path) == me:
            path.unlink()
    except (FileNotFoundError, UnreadableFile):
        pass


def sweep(notebook, grid: dict[str, list], out, *, parameters: dict | None = None, scheduler: str | None = None,
          workers: int | None = None, kernel_name: str | None = None, timeout: float | None = None):
    """Run a notebook over the cartesian product of ``grid``: one output folder per cell, resumable.

    Parameters
    ----------
    notebook : str or Path
        As for :func:`run_notebook`.
    grid : dict of str -> list
        Parameter name -> the values to try, e.g. ``{"model": ["minilm-l6", "e5-small"], "task": ["upos", "xpos"]}``.
    out : str or Path
        The sweep folder: ``out/<cell>/`` per cell (``model=minilm-l6__task=upos``), ``out/sweep.json``.
    parameters : dict, optional
        Values fixed for every cell. A second call on the same ``out`` must use the same notebook,
        fixed parameters and grid keys (new grid values may be added).
    scheduler : str, optional
        Address of an existing ``dask.distributed`` scheduler (``tcp://host:8786``): each cell is
        submitted there. Workers need neuronbook installed and ``out`` on a shared filesystem.
    workers : int, optional
        Local worker processes (default 1); not used with ``scheduler``.
    kernel_name, timeout
        As for :func:`run_notebook`.

    Returns
    -------
    pandas.DataFrame
        One row per cell: the grid keys, ``cell`` (folder name), ``status`` (``"ok"``/``"failed"``),
        ``ran`` (False when an earlier call had finished it), ``seconds``, ``error``, ``output_dir``.
        Failed cells are also reported by a :class:`~neuronbook.exceptions.NeuronbookWarning`.

    Notes
    -----
    A cell is finished when its ``status.json`` says ``"ok"``; that file is written last, atomically,
    so an interrupted cell is run again. Failed cells are run again by the next call, and so are cells
    whose ``status.json`` (or, when it says ``"ok"``, whose ``headline.json``) cannot be read: each such
    file is named in a :class:`~neuronbook.exceptions.NeuronbookWarning` and in the log.

    Before anything runs, every grid key and fixed parameter is checked against the notebook's
    ``parameters`` cell (:func:`check_parameter_names`): an unknown name is a ``ValueError`` listing the
    valid names, with a close match where there is one.

    The sweep folder is locked while the sweep runs (``out/.sweep.lock``, created exclusively, holding
    the pid, host and start time; removed at the end, also on an error): a second sweep into the same
    folder stops at once with :class:`SweepLocked`. A lock whose holder is a dead process of this host
    is taken over (logged as a warning). An unreadable ``sweep.json`` is an :class:`UnreadableFile`
    error naming it; it is not rebuilt silently (it keeps other sweeps out of the folder and holds the
    grid values of earlier calls): move it away to rebuild it from this call's arguments.
    """
    path = resolve_notebook(notebook)
    parameters = dict(parameters or {})
    grid = _check_grid(grid, parameters)
    if "output_dir" in parameters:
        raise ValueError("output_dir is chosen per cell by the sweep; it cannot be a fixed parameter")
    valid = notebook_parameters(path)
    check_parameter_names(path, grid, "grid key", valid=valid)
    check_parameter_names(path, parameters, valid=valid)
    if scheduler is not None and workers is not None:
        raise ValueError("workers applies to local processes; with a scheduler the cluster's workers run the cells")
    workers = 1 if workers is None else int(workers)
    if workers < 1:
        raise ValueError(f"workers must be at least 1, got {workers}")
    out = Path(out).expanduser().resolve()
    out.mkdir(parents=True, exist_ok=True)
    me = _acquire_lock(out)
    try:
        return _sweep_locked(path, grid, out, parameters, scheduler, workers, kernel_name, timeout)
    finally:
        _release_lock(out, me)


def _sweep_locked(path: Path, grid: dict, out: Path, parameters: dict, scheduler, workers, kernel_name, timeout):
    import pandas as pd

    _record_sweep(out, path, grid, parameters)

    cells = cell_names(grid)
    todo, rows = [], {}
    unreadable = []
    for cell, name in cells:
        done = _read_status(out / name)
        if done is not None and done.get("status") == "ok":
            rows[name] = (cell, done, False)
        else:
            if done is not None and done.get("status") == "unreadable":
                unreadable.append(done)  # not finished: run again
            todo.append((cell, name))
    _warn_unreadable(unreadable, stacklevel=4)
    for st in unreadable:
        log.warning("%s; its cell is run again", st["error"])
    log.info("sweep %s: %d cells, %d already finished", path.name, len(cells), len(cells) - len(todo))

    def args(cell, name):
        return (str(path), {**parameters, **cell}, str(out / name), kernel_name, timeout)

    if todo and scheduler is not None:
        from distributed import Client, as_completed

        with Client(scheduler) as client:
            futures = {client.submit(_run_cell, *args(cell, name), pure=False, key=f"neuronbook-{name}-{uuid.uuid4().hex[:6]}"):
                       (cell, name) for cell, name in todo}
            for future in as_completed(futures):
                cell, name = futures[future]
                rows[name] = (cell, _collect(future.result, out / name), True)
    elif todo:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor, as_completed

        # spawn: forking a process that holds threads (a Jupyter kernel, zmq) is unsafe.
        with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn")) as pool:
            futures = {pool.submit(_run_cell, *args(cell, name)): (cell, name) for cell, name in todo}
            for future in as_completed(futures):
                cell, name = futures[future]
                rows[name] = (cell, _collect(future.result, out / name), True)

    table = pd.DataFrame([
        {**cell, "cell": name, "status": st.get("status"), "ran": ran, "seconds": st.get("seconds"),
         "error": st.get("error"), "output_dir": str(out / name)}
        for cell, name in cells for (cell, st, ran) in [rows[name]]
    ])
    failed = table[table["status"] != "ok"]
    if len(failed):
        listing = "; ".join(f"{r.cell}: {str(r.error).splitlines()[-1] if r.error else 'no status'}"
                            for r in failed.itertuples())
        warnings.warn(f"{len(failed)} of {len(table)} sweep cells failed ({listing}); run the sweep again to "
                      f"retry them", NeuronbookWarning, stacklevel=3)
    return table


def _collect(result, cell_dir: Path) -> dict:
    """A cell's status from its worker; a worker that died before writing one is a failure too."""
    try:
        return result()
    except Exception as exc:  # the worker process itself failed (killed, out of memory, lost)
        status = {"status": "failed", "error": f"worker failed: {type(exc).__name__}: {exc}", "seconds": None}
        if cell_dir.is_dir():
            _write_json_atomic(cell_dir / STATUS, status)
        return status


def _check_grid(grid, parameters) -> dict[str, list]:
    if not isinstance(grid, dict) or not grid:
        raise ValueError("grid must be a non-empty dict of parameter name -> list of values")
    clean = {}
    for key, values in grid.items():
        if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
            raise ValueError(f"grid[{key!r}] must be a list of values, got {values!r}")
        values = list(values)
        if not values:
            raise ValueError(f"grid[{key!r}] is empty")
        if len({json.dumps(v, sort_keys=True, default=str) for v in values}) != len(values):
            raise ValueError(f"grid[{key!r}] repeats a value: {values!r}")
        if key in parameters:
            raise ValueError(f"{key!r} is both a grid key and a fixed parameter")
        if key == "output_dir":
            raise ValueError("output_dir is chosen per cell by the sweep; it cannot be a grid key")
        clean[key] = values
    return clean


def _record_sweep(out: Path, path: Path, grid: dict, parameters: dict) -> None:
    """Write ``sweep.json``; refuse to mix two different sweeps in one folder."""
    record = out / SWEEP
    old = _read_sweep_record(out, rebuild_hint=True)
    if old is not None:
        mismatch = []
        if old.get("notebook") != str(path):
            mismatch.append(f"notebook {old.get('notebook')} (now {path})")
        if old.get("parameters") != json.loads(json.dumps(parameters, default=str)):
            mismatch.append(f"parameters {old.get('parameters')} (now {parameters})")
        if list(old.get("grid", {})) != list(grid):
            mismatch.append(f"grid keys {list(old.get('grid', {}))} (now {list(grid)})")
        if mismatch:
            raise ValueError(f"{out} holds another sweep: " + "; ".join(mismatch) + "; choose another folder")
        merged = {k: old["grid"][k] + [v for v in grid[k] if v not in old["grid"][k]] for k in grid}
    else:
        merged = grid
    _write_json_atomic(record, {"notebook": str(path), "parameters": parameters, "grid": merged})


def _read_sweep_record(out: Path, rebuild_hint: bool = False) -> dict | None:
    """``out/sweep.json`` (None when absent); an unreadable one is an :class:`UnreadableFile` error naming it.

    It is not rebuilt silently: it is what keeps two different sweeps out of one folder, and it holds
    the grid values of every earlier call (the report's rows).
    """
    record = out / SWEEP
    fix = ("move it away and run the sweep again to rebuild it from this call's notebook, parameters and grid "
           "(grid values only earlier calls gave are then left out of the report)" if rebuild_hint else
           "run the sweep again with its notebook, parameters and grid after moving the file away, to rebuild it")
    try:
        value = _read_json_object(record)
    except UnreadableFile as exc:
        raise UnreadableFile(record, f"{exc.reason}; {fix}") from None
    if value is not None and (not isinstance(value.get("grid"), dict) or not all(
            isinstance(v, list) for v in value["grid"].values())):
        raise UnreadableFile(record, f"no grid of name -> list of values in it; {fix}")
    return value


# ------------------------------------------------------------------------------------ report

def report(out_dir):
    """Gather a sweep's headline numbers into one table and one chart, and write them next to it.

    Parameters
    ----------
    out_dir : str or Path
        A folder written by :func:`sweep`.

    Returns
    -------
    (pandas.DataFrame, altair.Chart)
        The table: one row per cell of the recorded grid, with the grid keys, ``cell``, ``status``
        (``"ok"``, ``"failed"``, ``"missing"`` for a cell never run, ``"unreadable"`` for a cell whose
        ``status.json`` or ``headline.json`` cannot be read), ``error`` (why a cell failed: its
        ``status.json``'s error, the whole text; :func:`error_summary` gives its last line),
        ``unreadable`` (that file's path, else empty) and one column per headline metric. Every unreadable file is named in a
        :class:`~neuronbook.exceptions.NeuronbookWarning` (and the log); the other cells are reported
        as usual. An unreadable ``sweep.json`` is an :class:`UnreadableFile` error naming it. The chart: each metric per ok cell. Written as ``report.csv``, ``report.parquet``,
        ``report.html`` (Vega inlined, no CDN) and ``report.png``.
    """
    import pandas as pd

    from .plots import save_chart

    out = Path(out_dir).expanduser()
    record = _read_sweep_record(out)
    if record is None:
        raise FileNotFoundError(f"{out} is not a sweep folder: no {SWEEP} in it")
    grid = record["grid"]
    rows, metrics, unreadable = [], [], []
    for cell, name in cell_names(grid):
        st = _read_status(out / name)
        row = {**cell, "cell": name, "status": "missing" if st is None else str(st.get("status", "failed")),
               "error": None, "unreadable": None}
        if st is not None and st.get("status") != "ok" and st.get("error"):
            row["error"] = str(st["error"])
        headline_path = out / name / HEADLINE
        if row["status"] == "unreadable":
            row["unreadable"] = st["unreadable"]
            unreadable.append(st)
        elif row["status"] == "ok":
            headline = _read_json_object(headline_path)  # readable: _read_status checked it
            if headline is None:
                warnings.warn(f"{name}: finished but wrote no {HEADLINE}; its metrics are empty", NeuronbookWarning,
                              stacklevel=2)
            else:
                values = _check_headline(headline, str(headline_path))
                for key in values:
                    if key in grid or key in ("cell", "status", "error", "unreadable"):
                        raise ValueError(f"{headline_path}: metric {key!r} clashes with a report column")
                    if key not in metrics:
                        metrics.append(key)
                row.update(values)
        rows.append(row)
    _warn_unreadable(unreadable)
    for st in unreadable:
        log.warning("%s; its cell is reported as unreadable", st["error"])
    table = pd.DataFrame(rows, columns=[*grid, "cell", "status", "error", "unreadable", *metrics])
    table["unreadable"] = table["unreadable"].astype(object)
    table["error"] = table["error"].astype("str")  # text or NaN: the dtype report.parquet reads back
    for key in grid:  # parquet needs one type per column
        if table[key].map(type).nunique() > 1 or table[key].map(lambda v: isinstance(v, (list, dict))).any():
            table[key] = table[key].map(lambda v: v if isinstance(v, str) else json.dumps(v))
    for m in metrics:
        table[m] = pd.to_numeric(table[m], errors="raise").astype(float)
    table.to_csv(out / "report.csv", index=False)
    table.to_parquet(out / "report.parquet", index=False)

    chart = _report_chart(table, list(grid), metrics)
    save_chart(chart, out / "report.html", inline=True)
    save_chart(chart, out / "report.png")
    return table, chart


def error_summary(error, width: int = 70) -> str:
    """The line of a failure that says why (the last non-empty one: ``ValueError: ...``), cut to ``width``.

    >>> error_summary("nb.ipynb: 1 error(s)\\n  cell 4 [result = nb.run_lca(config)]: ValueError: no column 'xpos'", 40)
    "cell 4: ValueError: no column 'xpos'"
    >>> error_summary("Traceback ...\\nKeyError: 'a long message that goes on'", 20)
    "KeyError: 'a long..."
    """
    if error is None or (isinstance(error, float) and math.isnan(error)) or not str(error).strip():
        return ""
    line = [ln.strip() for ln in str(error).splitlines() if ln.strip()][-1]
    line = re.sub(r"^(cell \d+) \[.*?\]: ", r"\1: ", line)  # the cell's first source line: in report.csv only
    return line if len(line) <= width else line[: max(width - 3, 1)] + "..."


#: The headline metrics the narrow report view shows when a sweep has them (others: ``--all-columns``), with
#: the short header each gets there.
REPORT_METRICS = {"oracle test accuracy": "oracle", "minimal set neurons": "min set", "minimal set %": "min set %",
                  "retrain top - random at 10%": "retrain top-random 10%",
                  "zero-out top - random at 10%": "zero-out top-random 10%"}


def report_view(table, all_columns: bool = False, n_metrics: int = 4, error_width: int = 45) -> str:
    """A report table (:func:`report`) as terminal text: narrow by default, every column on request.

    The narrow view: the grid keys, ``status``, ``error`` (its last line, see :func:`error_summary`) and
    up to ``n_metrics`` headline metrics (those of :data:`REPORT_METRICS` the sweep has, else its first
    ones), numbers to 4 significant digits, and a last line naming the columns left out.

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"task": ["upos", "xpos"], "cell": ["task=upos", "task=xpos"], "status": ["ok", "failed"],
    ...                   "error": [None, "nb: 1 error(s)\\n  cell 4: KeyError: 'xpos'"], "unreadable": [None, None],
    ...                   "oracle test accuracy": [0.91234, None], "wall time (s)": [3.0, None]})
    >>> print(report_view(t, n_metrics=1))
    task  status  error                     oracle
    upos  ok                                0.9123
    xpos  failed  cell 4: KeyError: 'xpos'       -
    <BLANKLINE>
    1 of 2 cells ok; 1 more column: wall time (s) (--all-columns, or report.csv)
    """
    import pandas as pd

    fixed = ["cell", "status", "error", "unreadable"]
    start = list(table.columns).index("cell")
    keys = list(table.columns[:start])
    metrics = [c for c in table.columns[start:] if c not in fixed]
    if all_columns:
        shown_metrics = metrics
    else:
        preferred = [m for m in REPORT_METRICS if m in metrics]
        shown_metrics = (preferred or [m for m in metrics if "CI" not in m])[:n_metrics]
    view = table[keys + ["status"]].copy()
    if all_columns:
        view.insert(0, "cell", table["cell"])
    view["error"] = [error_summary(e, error_width) if not all_columns else
                     ("" if e is None or pd.isna(e) else str(e).replace("\n", " | ")) for e in table["error"]]
    if (table["status"] == "unreadable").any():
        view["error"] = [f"unreadable: {u}" if s == "unreadable" else e
                         for e, s, u in zip(view["error"], table["status"], table["unreadable"])]
    for m in shown_metrics:
        view[m] = [("-" if pd.isna(v) else f"{v:.4g}") for v in table[m]]
    numeric = set(shown_metrics)
    if not all_columns:  # short headers; report.csv keeps the full names
        view = view.rename(columns={m: REPORT_METRICS.get(m, m) for m in shown_metrics})
        numeric = {REPORT_METRICS.get(m, m) for m in shown_metrics}
    widths = {c: max([len(str(c))] + [len(str(v)) for v in view[c]]) for c in view.columns}

    def line(values):
        return "  ".join((str(v).rjust(widths[c]) if c in numeric else str(v).ljust(widths[c]))
                         for c, v in zip(view.columns, values)).rstrip()

    text = "\n".join([line(view.columns)] + [line(row) for row in view.itertuples(index=False)])
    ok = int((table["status"] == "ok").sum())
    left = [m for m in metrics if m not in shown_metrics]
    foot = f"{ok} of {len(table)} cells ok"
    if left:
        plural = "s" if len(left) > 1 else ""
        names = ", ".join(left[:3]) + (f", ... ({len(left) - 3} more)" if len(left) > 3 else "")
        foot += f"; {len(left)} more column{plural}: {names} (--all-columns, or report.csv)"
    return f"{text}\n\n{foot}"


def _report_chart(table, keys: list[str], metrics: list[str]):
    import altair as alt
    import pandas as pd

    ok = table[table["status"] == "ok"]
    label = ok[keys].astype(str).agg(" / ".join, axis=1) if keys else ok["cell"]
    long = pd.concat([pd.DataFrame({"run": label.to_numpy(), "metric": m, "value": ok[m].to_numpy()})
                      for m in metrics], ignore_index=True) if metrics else None
    title = (f"{len(ok)} of {len(table)} cells ok"
             + "".join(f"; {kind}: {', '.join(table.loc[table['status'] == kind, 'cell'])}"
                       for kind in ("failed", "unreadable") if (table["status"] == kind).any()))
    if not metrics:
        return alt.Chart(table.assign(n=1)).mark_bar().encode(
            x=alt.X("sum(n):Q", title="cells"), y=alt.Y("status:N")).properties(title=title)
    base = alt.Chart(long).mark_bar().encode(
        x=alt.X("value:Q", title=None),
        y=alt.Y("run:N", title=" / ".join(keys) if keys else "cell", sort=None),
        tooltip=["run:N", "metric:N", alt.Tooltip("value:Q", format=".4g")],
    ).properties(width=220, height=alt.Step(18))
    return base.facet(facet=alt.Facet("metric:N", title=None), columns=3).resolve_scale(x="independent").properties(
        title=title)
