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

__all__ = ["RENDERERS", "CellError", "NotebookError", "notebook_setup", "notebook_errors", "run_notebook",
           "save_headline", "sweep", "report"]

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
    """
    import papermill as pm

    from .settings import progress_enabled

    path = resolve_notebook(notebook)
    parameters = dict(parameters or {})
    if "output_dir" in parameters:
        raise ValueError("give the output folder as output_dir=..., not inside parameters")
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


def _read_status(cell_dir: Path) -> dict | None:
    try:
        return json.loads((cell_dir / STATUS).read_text())
    except FileNotFoundError:
        return None


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
    so an interrupted cell is run again. Failed cells are run again by the next call.
    """
    import pandas as pd

    path = resolve_notebook(notebook)
    parameters = dict(parameters or {})
    grid = _check_grid(grid, parameters)
    if scheduler is not None and workers is not None:
        raise ValueError("workers applies to local processes; with a scheduler the cluster's workers run the cells")
    workers = 1 if workers is None else int(workers)
    if workers < 1:
        raise ValueError(f"workers must be at least 1, got {workers}")
    out = Path(out).expanduser().resolve()
    out.mkdir(parents=True, exist_ok=True)
    _record_sweep(out, path, grid, parameters)

    cells = cell_names(grid)
    todo, rows = [], {}
    for cell, name in cells:
        done = _read_status(out / name)
        if done is not None and done.get("status") == "ok":
            rows[name] = (cell, done, False)
        else:
            todo.append((cell, name))
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
                      f"retry them", NeuronbookWarning, stacklevel=2)
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
    if record.is_file():
        old = json.loads(record.read_text())
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
        (``"ok"``, ``"failed"`` or ``"missing"`` for a cell never run) and one column per headline
        metric. The chart: each metric per ok cell. Written as ``report.csv``, ``report.parquet``,
        ``report.html`` (Vega inlined, no CDN) and ``report.png``.
    """
    import pandas as pd

    from .plots import save_chart

    out = Path(out_dir).expanduser()
    record = out / SWEEP
    if not record.is_file():
        raise FileNotFoundError(f"{out} is not a sweep folder: no {SWEEP} in it")
    grid = json.loads(record.read_text())["grid"]
    rows, metrics = [], []
    for cell, name in cell_names(grid):
        st = _read_status(out / name)
        row = {**cell, "cell": name, "status": "missing" if st is None else st.get("status", "failed")}
        headline_path = out / name / HEADLINE
        if row["status"] == "ok":
            if not headline_path.is_file():
                warnings.warn(f"{name}: finished but wrote no {HEADLINE}; its metrics are empty", NeuronbookWarning,
                              stacklevel=2)
            else:
                values = _check_headline(json.loads(headline_path.read_text()), str(headline_path))
                for key in values:
                    if key in grid or key in ("cell", "status"):
                        raise ValueError(f"{headline_path}: metric {key!r} clashes with a report column")
                    if key not in metrics:
                        metrics.append(key)
                row.update(values)
        rows.append(row)
    table = pd.DataFrame(rows, columns=[*grid, "cell", "status", *metrics])
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


def _report_chart(table, keys: list[str], metrics: list[str]):
    import altair as alt
    import pandas as pd

    ok = table[table["status"] == "ok"]
    label = ok[keys].astype(str).agg(" / ".join, axis=1) if keys else ok["cell"]
    long = pd.concat([pd.DataFrame({"run": label.to_numpy(), "metric": m, "value": ok[m].to_numpy()})
                      for m in metrics], ignore_index=True) if metrics else None
    title = (f"{len(ok)} of {len(table)} cells ok"
             + (f"; failed: {', '.join(table.loc[table['status'] == 'failed', 'cell'])}"
                if (table["status"] == "failed").any() else ""))
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
