"""neuronbook.notebooks: renderer choice, the error scan (cells and widget state), papermill runs,
sweeps (local processes and a dask LocalCluster), and the report."""

from __future__ import annotations

import json
import os
import types
import warnings
from pathlib import Path

import nbformat
import pandas as pd
import pytest
from nbformat.v4 import new_code_cell, new_notebook, new_output

from notebook_checks import fake_sweep
from neuronbook import notebooks
from neuronbook.exceptions import NeuronbookWarning
from neuronbook.notebooks import (NotebookError, cell_names, notebook_errors, notebook_setup, report,
                                  run_notebook, save_headline, sweep)

HERE = Path(__file__).resolve().parent
TINY = HERE / "notebooks" / "tiny_params.ipynb"
WIDGET_ERROR = HERE / "notebooks" / "widget_error.ipynb"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


@pytest.fixture(autouse=True)
def _restore_renderer():
    import altair as alt

    name, options = alt.renderers.active, dict(alt.renderers.options)
    yield
    alt.renderers.enable(name, **options)


# ------------------------------------------------------------------------------- notebook_setup

def _fake_kernel(monkeypatch, anywidget: bool):
    """Pretend to run inside a Jupyter kernel, with or without anywidget installed."""
    import IPython

    shell = types.SimpleNamespace(kernel=object())
    monkeypatch.setattr(IPython, "get_ipython", lambda: shell)
    real = notebooks._importable
    monkeypatch.setattr(notebooks, "_importable", lambda name: anywidget if name == "anywidget" else real(name))
    monkeypatch.delenv("NEURONBOOK_HEADLESS", raising=False)


def test_setup_picks_the_offline_widget_renderer_in_a_kernel_with_anywidget(monkeypatch):
    import altair as alt

    _fake_kernel(monkeypatch, anywidget=True)
    assert notebook_setup() == "jupyter"
    assert alt.renderers.active == "jupyter"
    assert alt.renderers.options == {"offline": True, "embed_options": {"renderer": "svg"}}


def test_setup_falls_back_to_svg_without_anywidget_or_headless_or_outside_a_kernel(monkeypatch):
    import altair as alt

    _fake_kernel(monkeypatch, anywidget=False)
    assert notebook_setup("auto") == "svg" and alt.renderers.active == "svg"
    _fake_kernel(monkeypatch, anywidget=True)
    monkeypatch.setenv("NEURONBOOK_HEADLESS", "1")  # run_notebook's kernels: no multi-MB widget state
    assert notebook_setup("auto") == "svg"
    monkeypatch.undo()
    assert notebook_setup("auto") == "svg"  # plain Python: no kernel
    with pytest.raises(ImportError, match="anywidget"):
        _fake_kernel(monkeypatch, anywidget=False)
        notebook_setup("jupyter")


def test_setup_accepts_explicit_offline_renderers_and_refuses_the_cdn_ones():
    import altair as alt

    assert notebook_setup("png") == "png" and alt.renderers.active == "png"
    for bad in ("default", "html", "mimetype"):
        with pytest.raises(ValueError, match="'auto', 'jupyter', 'svg', 'png'"):
            notebook_setup(bad)
    with pytest.raises(ValueError, match="unknown renderer 'vega'"):
        notebook_setup("vega")


def test_setup_shows_each_neuronbook_warning_once_per_place():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("ignore")
        notebook_setup("svg")
        for _ in range(3):
            warnings.warn("look at this", NeuronbookWarning)
    assert [str(w.message) for w in caught] == ["look at this"]


# ------------------------------------------------------------------------------ notebook_errors

def _nb_with_widget_state(outputs):
    """Cell 0 displays a VBox whose child is an Output widget holding ``outputs``."""
    view = new_output("display_data", data={WIDGET_VIEW: {"model_id": "box1", "version_major": 2,
                                                          "version_minor": 0}, "text/plain": "VBox()"})
    nb = new_notebook(cells=[new_code_cell("display(box)", outputs=[view]), new_code_cell("button.click()")])
    nb.metadata["widgets"] = {WIDGET_STATE: {"version_major": 2, "version_minor": 0, "state": {
        "box1": {"model_name": "VBoxModel", "state": {"children": ["IPY_MODEL_btn", "IPY_MODEL_out1"]}},
        "btn": {"model_name": "ButtonModel", "state": {"description": "go"}},
        "out1": {"model_name": "OutputModel", "state": {"outputs": outputs}},
        "orphan": {"model_name": "OutputModel", "state": {"outputs": [
            {"output_type": "stream", "name": "stderr",
             "text": "Traceback (most recent call last):\n  File 'x'\nKeyError: 'tag'\n"}]}},
    }}}
    return nb


def test_errors_in_cell_outputs_are_found():
    nb = new_notebook(cells=[
        new_code_cell("x = 1", outputs=[new_output("stream", name="stdout", text="fine\n")]),
        new_code_cell("1/0", outputs=[new_output("error", ename="ZeroDivisionError", evalue="division by zero",
                                                 traceback=["..."])]),
    ])
    (err,) = notebook_errors(nb)
    assert (err.cell, err.where, err.ename, err.evalue) == (1, "output", "ZeroDivisionError", "division by zero")


def test_errors_hidden_in_widget_state_are_found_and_tied_to_the_displaying_cell():
    nb = _nb_with_widget_state([{"output_type": "error", "ename": "ValueError", "evalue": "bad percent",
                                 "traceback": []}])
    errors = sorted(notebook_errors(nb), key=lambda e: e.widget)
    assert [(e.cell, e.where, e.widget, e.ename, e.evalue) for e in errors] == [
        (None, "widget", "orphan", "KeyError", "'tag'"),  # a printed traceback, in a widget no cell shows
        (0, "widget", "out1", "ValueError", "bad percent"),  # reached through the VBox shown by cell 0
    ]
    assert "cell 0 (inside widget out1) [display(box)]: ValueError: bad percent" in str(
        NotebookError("nb.ipynb", errors))


def test_a_clean_notebook_has_no_errors(tmp_path):
    nb = _nb_with_widget_state([{"output_type": "stream", "name": "stdout", "text": "ok\n"}])
    del nb.metadata["widgets"][WIDGET_STATE]["state"]["orphan"]
    path = tmp_path / "clean.ipynb"
    nbformat.write(nb, str(path))
    assert notebook_errors(path) == []


# ----------------------------------------------------------------------------------- headlines

def test_save_headline_wants_a_flat_dict_of_numbers(tmp_path):
    import numpy as np

    path = save_headline({"acc": np.float32(0.5), "n": np.int64(3), "gap": float("nan")}, tmp_path)
    assert json.loads(path.read_text()) == {"acc": 0.5, "n": 3, "gap": None}
    with pytest.raises(ValueError, match="metric 'model' must be a number"):
        save_headline({"model": "minilm"}, tmp_path)
    with pytest.raises(ValueError, match="metric 'ok' must be a number"):
        save_headline({"ok": True}, tmp_path)
    with pytest.raises(ValueError, match="flat dict"):
        save_headline([0.5], tmp_path)


def test_cell_names_are_safe_unique_and_stable():
    named = cell_names({"model": ["org/m", "org-m"], "k": [1, 0.5]})
    names = [n for _, n in named]
    assert [c for c, _ in named] == [{"model": "org/m", "k": 1}, {"model": "org/m", "k": 0.5},
                                     {"model": "org-m", "k": 1}, {"model": "org-m", "k": 0.5}]
    assert len(set(names)) == 4 and all("/" not in n for n in names)
    assert names[2:] == ["model=org-m__k=1", "model=org-m__k=0.5"]  # exact names stay readable
    assert names[0].startswith("model=org-m__k=1__") and names == [n for _, n in cell_names(
        {"model": ["org/m", "org-m"], "k": [1, 0.5]})]


# ------------------------------------------------------------------------------ papermill runs

def test_run_notebook_injects_parameters_and_writes_outputs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("NEURONBOOK_DATA", "data")  # relative to here, not to the notebook's folder
    executed = run_notebook(TINY, {"x": 21, "mode": "z"}, tmp_path / "run")
    assert executed == tmp_path / "run" / "tiny_params.ipynb"
    assert json.loads((tmp_path / "run" / "headline.json").read_text()) == {"value": 21, "double": 42, "mode_is_a": 0}
    env = json.loads((tmp_path / "run" / "env.json").read_text())
    # headless kernel: no bars, static SVG charts; it runs next to the notebook like Lab does
    assert env == {"renderer": "svg", "progress": "0", "cwd": str(TINY.parent), "mode": "z",
                   "data": str(tmp_path / "data")}
    injected = [c for c in nbformat.read(str(executed), 4).cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert f"output_dir = \"{tmp_path / 'run'}\"" in injected[0].source


def test_run_notebook_fails_on_a_widget_callback_error_papermill_lets_through(tmp_path):
    with pytest.raises(NotebookError) as info:
        run_notebook(WIDGET_ERROR, None, tmp_path / "w")
    (err,) = info.value.errors
    assert (err.where, err.ename, err.evalue) == ("widget", "RuntimeError", "callback failed on purpose")
    assert "widget_error.ipynb" in str(info.value) and (tmp_path / "w" / "widget_error.ipynb").is_file()


def test_unknown_notebook_name_is_an_error_listing_where_it_looked(tmp_path):
    with pytest.raises(FileNotFoundError, match="no notebook '99_nothing'"):
        run_notebook("99_nothing", None, tmp_path)


# ----------------------------------------------------------------------------- sweep and report

FAST = {"renderer": None}  # the fixture notebook then skips importing altair: a faster kernel


def test_sweep_resumes_continues_past_a_failure_and_reports(tmp_path):
    out = tmp_path / "sweep"
    grid = {"x": [1, 2], "mode": ["a", "b"]}
    with pytest.warns(NeuronbookWarning, match=r"1 of 4 sweep cells failed \(x=2__mode=b: "):
        first = sweep(TINY, grid, out, parameters=FAST, workers=2)
    assert list(first.columns) == ["x", "mode", "cell", "status", "ran", "seconds", "error", "output_dir"]
    assert first[["x", "mode", "status"]].values.tolist() == [
        [1, "a", "ok"], [1, "b", "ok"], [2, "a", "ok"], [2, "b", "failed"]]
    assert first["ran"].all()
    # the error names the notebook, the cell (with its first line) and the exception
    assert "tiny_params.ipynb" in first.loc[3, "error"]
    assert "[if x == 2 and mode == \"b\":]: ValueError: x=2, mode=b fails on purpose" in first.loc[3, "error"]
    status = json.loads((out / "x=2__mode=b" / "status.json").read_text())
    assert status["status"] == "failed" and status["parameters"] == {"renderer": None, "x": 2, "mode": "b"}
    assert status["worker"] is None and status["pid"] != os.getpid()  # a local worker process

    with pytest.warns(NeuronbookWarning, match="1 of 4"):
        again = sweep(TINY, grid, out, parameters=FAST)  # finished cells skipped, the failed one retried
    assert again["ran"].tolist() == [False, False, False, True]
    assert again["status"].tolist() == first["status"].tolist()

    with pytest.raises(ValueError, match="holds another sweep: parameters"):
        sweep(TINY, grid, out, parameters={"renderer": "png"})

    table, chart = report(out)
    assert table.columns.tolist() == ["x", "mode", "cell", "status", "error", "unreadable", "value", "double", "mode_is_a"]
    assert table["unreadable"].isna().all()
    assert table[["x", "mode", "status"]].values.tolist() == first[["x", "mode", "status"]].values.tolist()
    ok = table[table.status == "ok"]
    assert ok["double"].tolist() == [2.0, 2.0, 4.0] and ok["mode_is_a"].tolist() == [1.0, 0.0, 1.0]
    assert table.loc[3, ["value", "double", "mode_is_a"]].isna().all()
    assert pd.read_parquet(out / "report.parquet").equals(table)
    assert pd.read_csv(out / "report.csv")["double"].tolist()[:3] == [2.0, 2.0, 4.0]
    html = (out / "report.html").read_text()
    assert "cdn.jsdelivr" not in html and "<script src=" not in html and "vega" in html.lower()
    assert (out / "report.png").read_bytes()[:4] == b"\x89PNG"
    spec = chart.to_dict()
    assert "failed: x=2__mode=b" in json.dumps(spec["title"])
    rows = spec["datasets"][spec["data"]["name"]]
    assert {(r["run"], r["metric"], r["value"]) for r in rows if r["metric"] == "double"} == {
        ("1 / a", "double", 2.0), ("1 / b", "double", 2.0), ("2 / a", "double", 4.0)}


def test_report_checks_headlines_and_marks_cells_never_run(tmp_path):
    fake_sweep(tmp_path / "a", {"a": {"mode": 1}})
    with pytest.raises(ValueError, match="metric 'mode' clashes"):
        report(tmp_path / "a")
    fake_sweep(tmp_path / "b", {"a": {"acc": "high"}})
    with pytest.raises(ValueError, match=r"mode=a/headline.json: metric 'acc' must be a number"):
        report(tmp_path / "b")
    fake_sweep(tmp_path / "c", {"a": {"acc": 0.5}, "b": {"acc": 0.25}})
    (tmp_path / "c" / "mode=b" / "status.json").unlink()
    table, _ = report(tmp_path / "c")
    assert table[["mode", "status", "acc"]].fillna(-1).values.tolist() == [["a", "ok", 0.5], ["b", "missing", -1]]


def test_sweep_rejects_bad_grids_and_settings(tmp_path):
    with pytest.raises(ValueError, match="both a grid key and a fixed parameter"):
        sweep(TINY, {"x": [1]}, tmp_path, parameters={"x": 2})
    with pytest.raises(ValueError, match="repeats a value"):
        sweep(TINY, {"x": [1, 1]}, tmp_path)
    with pytest.raises(ValueError, match="workers applies to local processes"):
        sweep(TINY, {"x": [1]}, tmp_path, scheduler="tcp://127.0.0.1:1", workers=2)
    with pytest.raises(FileNotFoundError, match="not a sweep folder"):
        report(tmp_path / "nothing")


def test_sweep_on_a_dask_cluster(tmp_path):
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False,
                                  dashboard_address=None) as cluster:
        table = sweep(TINY, {"x": [3, 4]}, tmp_path / "dask", parameters=FAST, scheduler=cluster.scheduler_address)
        (worker,) = cluster.scheduler.workers  # the cells ran there, not in this process's pool
    assert [json.loads((tmp_path / "dask" / f"x={x}" / "status.json").read_text())["worker"]
            for x in (3, 4)] == [worker, worker]
    assert table["status"].tolist() == ["ok", "ok"]
    assert [json.loads((tmp_path / "dask" / f"x={x}" / "headline.json").read_text())["double"]
            for x in (3, 4)] == [6, 8]


def test_outputs_writes_each_kind_under_its_folder_and_returns_what_it_got(tmp_path):
    import altair as alt
    import pandas as pd

    from neuronbook.notebooks import Outputs, slug

    out = Outputs(tmp_path / "run", parquet=True)
    frame = pd.DataFrame({"layer": [0, 1], "count": [3, 5]})
    assert out.table(frame, "layers") is frame
    chart = alt.Chart(frame).mark_bar().encode(x="layer:O", y="count:Q")
    assert out.chart(chart, "layers") is chart
    assert out.text("<b>x</b>", "words.html") == "<b>x</b>"
    headline = {"oracle": 0.5, "gap": float("nan")}
    assert out.headline(headline) is headline
    names = sorted(p.name for p in (tmp_path / "run").iterdir())
    assert names == ["headline.json", "layers.csv", "layers.html", "layers.parquet", "layers.png", "words.html"]
    assert pd.read_csv(tmp_path / "run" / "layers.csv").equals(frame)
    assert json.loads((tmp_path / "run" / "headline.json").read_text()) == {"oracle": 0.5, "gap": None}
    assert "vega" in (tmp_path / "run" / "layers.html").read_text() and bool(out)
    assert slug("feats:Number") == "feats_Number"


def test_outputs_without_a_folder_writes_nothing(tmp_path, monkeypatch):
    import pandas as pd

    from neuronbook.notebooks import Outputs

    monkeypatch.chdir(tmp_path)
    none = Outputs(None)
    frame = pd.DataFrame({"a": [1]})
    assert none.table(frame, "t") is frame and none.text("x", "x.html") == "x" and none.path("t.csv") is None
    assert not none and list(tmp_path.iterdir()) == []
