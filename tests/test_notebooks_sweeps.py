"""neuronbook.notebooks, the sweep's guards (issue 21): unknown parameter names refused before anything
runs, unreadable sweep files named (and their cells run again or reported as such), and the sweep
folder's lock."""

from __future__ import annotations

import json
import logging
import os
import shutil
import socket
import subprocess
import sys
import time
import warnings
from pathlib import Path

import pytest

from notebook_checks import fake_sweep
from neuronbook import notebooks
from neuronbook.cli import main
from neuronbook.exceptions import NeuronbookWarning
from neuronbook.notebooks import (SweepLocked, UnreadableFile, check_parameter_names, notebook_parameters, report,
                                  run_notebook, sweep)

HERE = Path(__file__).resolve().parent
TINY = HERE / "notebooks" / "tiny_params.ipynb"
NO_PARAMETERS = HERE / "notebooks" / "widget_error.ipynb"  # no cell tagged parameters
FAST = {"renderer": None}  # the fixture notebook then skips importing altair: a faster kernel
REPO = HERE.parent


@pytest.fixture
def runs(monkeypatch):
    """Count papermill executions in this process and the sweep's runs of its cells."""
    import papermill

    calls = []

    def execute(source, executed, **kw):  # "runs" the notebook: writes it unchanged
        calls.append(("papermill", (source, executed), kw))
        shutil.copy(source, executed)

    monkeypatch.setattr(papermill, "execute_notebook", execute)
    real = notebooks._sweep_locked
    monkeypatch.setattr(notebooks, "_sweep_locked", lambda *a, **k: calls.append(("sweep", a)) or real(*a, **k))
    return calls


# ------------------------------------------------------------------------- unknown parameter names

def test_the_parameters_cell_is_read_without_running_anything():
    assert notebook_parameters(TINY) == ["output_dir", "x", "mode", "interactive", "renderer"]
    assert notebook_parameters("00_quickstart")[:6] == ["model", "data", "task", "train", "test", "max_sentences"]
    assert notebook_parameters(NO_PARAMETERS) == []


def test_run_refuses_an_unknown_parameter_before_running(tmp_path, runs):
    with pytest.raises(ValueError) as info:
        run_notebook(TINY, {"x": 1, "mdoe": "a"}, tmp_path / "run")
    message = str(info.value)
    assert "unknown parameter 'mdoe' (did you mean 'mode'?) for tiny_params.ipynb" in message
    assert message.endswith("its parameters cell sets: x, mode, interactive, renderer")  # output_dir is the run's
    assert "\n" not in message
    assert runs == [] and not (tmp_path / "run").exists()  # nothing ran, no folder made
    with pytest.raises(ValueError, match=r"unknown parameter 'zzz' for"):  # no close match: no suggestion
        run_notebook(TINY, {"zzz": 1}, tmp_path / "run")
    with pytest.raises(ValueError, match="has no cell tagged 'parameters'"):
        run_notebook(NO_PARAMETERS, {"x": 1}, tmp_path / "run")
    assert runs == [] and not (tmp_path / "run").exists()
    run_notebook(TINY, {"x": 1, "mode": "b"}, tmp_path / "run")  # known names go through to papermill
    assert [c[0] for c in runs] == ["papermill"] and runs[0][2]["parameters"]["mode"] == "b"


def test_sweep_refuses_unknown_grid_keys_and_parameters_before_running(tmp_path, runs):
    out = tmp_path / "sweep"
    with pytest.raises(ValueError, match=r"unknown grid key 'max_sentencs' \(did you mean 'max_sentences'\?\) "
                                         r"for 00_quickstart.ipynb; its parameters cell sets: model, data,"):
        sweep("00_quickstart", {"max_sentencs": [5, 10]}, out)
    with pytest.raises(ValueError, match=r"unknown grid keys 'y', 'mod' \(did you mean 'mode'\?\)"):
        sweep(TINY, {"x": [1], "y": [1], "mod": ["a"]}, out)
    with pytest.raises(ValueError, match=r"unknown parameter 'rendrer' \(did you mean 'renderer'\?\)"):
        sweep(TINY, {"x": [1, 2]}, out, parameters={"rendrer": None})
    with pytest.raises(ValueError, match="output_dir is chosen per cell"):
        sweep(TINY, {"x": [1]}, out, parameters={"output_dir": "elsewhere"})
    assert runs == [] and not out.exists()


def test_unknown_names_on_the_command_line_are_one_line_and_status_2(tmp_path, capsys, runs):
    out = tmp_path / "grid"
    assert main(["sweep", "00_quickstart", "--grid", "max_sentencs=5,10", "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [err[-1]] and err[0].startswith(
        "neuronbook sweep: error: unknown grid key 'max_sentencs' (did you mean 'max_sentences'?)")
    assert main(["run", "00_quickstart", "-p", "max_sentencs", "5", "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(
        "neuronbook run: error: unknown parameter 'max_sentencs' (did you mean 'max_sentences'?)")
    assert runs == [] and not out.exists()


def test_check_parameter_names_accepts_the_known_ones():
    check_parameter_names(TINY, ["x", "mode", "renderer", "interactive"])
    check_parameter_names(NO_PARAMETERS, [])  # nothing given: nothing to refuse


# ------------------------------------------------------------------------------ unreadable files

def test_report_names_every_unreadable_file_and_reports_the_rest(tmp_path, caplog):
    out = tmp_path / "s"
    fake_sweep(out, {m: {"acc": i / 10} for i, m in enumerate("abcde")})
    (out / "mode=b" / "status.json").write_text('{"status": "o')  # cut short
    (out / "mode=c" / "headline.json").write_bytes(b"\xff\xfe garbage")
    (out / "mode=d" / "status.json").write_text("[1, 2]")  # JSON, but not an object
    (out / "mode=e" / "status.json").unlink()
    (out / "mode=e" / "status.json").mkdir()  # a folder in its place
    with pytest.warns(NeuronbookWarning, match="4 unreadable file") as caught, caplog.at_level(logging.WARNING):
        table, chart = report(out)
    bad = {m: str(out / f"mode={m}" / f) for m, f in
           [("b", "status.json"), ("c", "headline.json"), ("d", "status.json"), ("e", "status.json")]}
    message = str(caught[0].message)
    assert all(path in message for path in bad.values())
    assert all(path in caplog.text for path in bad.values())
    assert "not JSON" in message and "not a JSON object (a list)" in message and "IsADirectoryError" in message
    assert table["status"].tolist() == ["ok", "unreadable", "unreadable", "unreadable", "unreadable"]
    assert table["unreadable"].fillna("").tolist() == ["", bad["b"], bad["c"], bad["d"], bad["e"]]
    assert table["acc"].fillna(-1).tolist() == [0.0, -1, -1, -1, -1]
    assert "unreadable: mode=b, mode=c, mode=d, mode=e" in json.dumps(chart.to_dict()["title"])
    assert (out / "report.parquet").is_file() and (out / "report.html").is_file()


def test_report_on_an_unreadable_sweep_json_is_an_error_naming_it(tmp_path, capsys):
    out = tmp_path / "s"
    fake_sweep(out, {"a": {"acc": 0.5}})
    (out / "sweep.json").write_text("{garbage")
    with pytest.raises(UnreadableFile, match=f"{out / 'sweep.json'} is unreadable: not JSON"):
        report(out)
    (out / "sweep.json").write_text('{"notebook": "nb.ipynb"}')  # no grid in it
    with pytest.raises(UnreadableFile, match="no grid of name -> list of values"):
        report(out)
    assert main(["report", str(out)]) == 2
    err = capsys.readouterr().err
    assert f"neuronbook report: error: {out / 'sweep.json'} is unreadable" in err


def test_report_command_lists_unreadable_cells(tmp_path, capsys):
    out = tmp_path / "s"
    fake_sweep(out, {"a": {"acc": 0.5}, "b": {"acc": 0.25}})
    (out / "mode=b" / "status.json").write_text("garbage")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the command lists them itself: no warning printed as well
        assert main(["report", str(out), "--quiet"]) == 0
    captured = capsys.readouterr()
    assert f"UNREADABLE mode=b: {out / 'mode=b' / 'status.json'}" in captured.err
    # the narrow view: grid key, status, and for the unreadable cell the file in the error column
    assert [ln.split()[:3] for ln in captured.out.splitlines() if ln.split()[:1] in (["a"], ["b"])] == [
        ["a", "ok", "0.5"], ["b", "unreadable", "unreadable:"]]


def test_a_resumed_sweep_runs_unreadable_cells_again(tmp_path, caplog):
    out = tmp_path / "sweep"
    grid = {"x": [1, 2, 3]}
    first = sweep(TINY, grid, out, parameters=FAST)
    assert first["status"].tolist() == ["ok"] * 3
    (out / "x=1" / "status.json").write_text("garbage")  # unreadable status: not finished
    (out / "x=2" / "headline.json").write_text("{")  # finished, but its numbers cannot be read
    with pytest.warns(NeuronbookWarning, match="2 unreadable file") as caught, caplog.at_level(logging.WARNING):
        again = sweep(TINY, grid, out, parameters=FAST)
    message = " ".join(str(w.message) for w in caught)
    assert str(out / "x=1" / "status.json") in message and str(out / "x=2" / "headline.json") in message
    assert "its cell is run again" in caplog.text
    assert again["ran"].tolist() == [True, True, False] and again["status"].tolist() == ["ok"] * 3
    table, _ = report(out)
    assert table["status"].tolist() == ["ok"] * 3 and table["double"].tolist() == [2.0, 4.0, 6.0]


def test_a_sweep_into_a_folder_with_an_unreadable_sweep_json_stops_naming_it(tmp_path, runs):
    out = tmp_path / "sweep"
    out.mkdir()
    (out / "sweep.json").write_text("\x00\x01")
    with pytest.raises(UnreadableFile, match=f"{out / 'sweep.json'} is unreadable: .*move it away and run the "
                                             "sweep again to rebuild it"):
        sweep(TINY, {"x": [1]}, out, parameters=FAST)
    assert sorted(p.name for p in out.iterdir()) == ["sweep.json"]  # no cell run, the lock released


# ------------------------------------------------------------------------------------- the lock

def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_a_held_lock_stops_a_second_sweep_at_once(tmp_path, runs):
    out = tmp_path / "sweep"
    out.mkdir()
    holder = {"pid": os.getpid(), "host": socket.gethostname(), "started": "2026-01-01T00:00:00"}
    (out / ".sweep.lock").write_text(json.dumps(holder))
    with pytest.raises(SweepLocked) as info:
        sweep(TINY, {"x": [1]}, out, parameters=FAST)
    message = str(info.value)
    assert f"another sweep is running in {out}" in message
    assert f"pid {os.getpid()} on {socket.gethostname()}" in message and "use another --out folder" in message
    assert info.value.holder == holder
    assert runs == [] and sorted(p.name for p in out.iterdir()) == [".sweep.lock"]  # untouched, nothing written

    # a holder on another host cannot be checked: refused, with what to do if it is gone
    (out / ".sweep.lock").write_text(json.dumps({**holder, "host": "elsewhere", "pid": _dead_pid()}))
    with pytest.raises(SweepLocked, match="on elsewhere .*if no sweep runs on elsewhere, remove the lock file"):
        sweep(TINY, {"x": [1]}, out, parameters=FAST)
    (out / ".sweep.lock").write_text("")  # being written, or damaged: refused too
    with pytest.raises(SweepLocked, match="unknown holder"):
        sweep(TINY, {"x": [1]}, out, parameters=FAST)
    assert runs == []


def test_a_stale_lock_of_a_dead_process_is_taken_over(tmp_path, caplog, monkeypatch):
    out = tmp_path / "sweep"
    out.mkdir()
    dead = _dead_pid()
    (out / ".sweep.lock").write_text(json.dumps({"pid": dead, "host": socket.gethostname(), "started": "x"}))
    seen = []
    real = notebooks._sweep_locked
    monkeypatch.setattr(notebooks, "_sweep_locked", lambda *a: seen.append(
        json.loads((out / ".sweep.lock").read_text())) or real(*a))
    with caplog.at_level(logging.WARNING, logger="neuronbook.notebooks"):
        table = sweep(TINY, {"x": [1]}, out, parameters=FAST)
    assert table["status"].tolist() == ["ok"]
    assert f"taking over the stale sweep lock {out / '.sweep.lock'}: its holder, pid {dead}" in caplog.text
    assert seen[0]["pid"] == os.getpid() and seen[0]["host"] == socket.gethostname()  # held while running
    assert not (out / ".sweep.lock").exists()  # released at the end


def test_the_lock_is_released_on_an_error(tmp_path, monkeypatch):
    out = tmp_path / "sweep"

    def boom(*a):
        assert (out / ".sweep.lock").is_file()
        raise RuntimeError("failed inside the sweep")

    monkeypatch.setattr(notebooks, "_sweep_locked", boom)
    with pytest.raises(RuntimeError, match="failed inside"):
        sweep(TINY, {"x": [1]}, out, parameters=FAST)
    assert not (out / ".sweep.lock").exists()
    with pytest.raises(ValueError, match="holds another sweep"):  # the real code path, on an error
        monkeypatch.undo()
        (out / "sweep.json").write_text(json.dumps({"notebook": "other.ipynb", "parameters": {}, "grid": {"x": [1]}}))
        sweep(TINY, {"x": [1]}, out, parameters=FAST)
    assert not (out / ".sweep.lock").exists()


def test_two_sweep_commands_into_one_folder(tmp_path, capsys):
    """A real second `neuronbook sweep` while the first runs: status 2, one line naming the folder and holder."""
    out = tmp_path / "grid"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    first = subprocess.Popen([sys.executable, "-m", "neuronbook.cli", "sweep", str(TINY), "--grid", "x=1,3",
                              "-p", "renderer", "null", "--out", str(out), "--quiet"], env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.time() + 60
        while not (out / ".sweep.lock").is_file() and time.time() < deadline:
            time.sleep(0.05)
        holder = json.loads((out / ".sweep.lock").read_text())
        assert holder["pid"] == first.pid
        assert main(["sweep", str(TINY), "--grid", "x=1,3", "-p", "renderer", "null", "--out", str(out)]) == 2
        err = [ln for ln in capsys.readouterr().err.splitlines() if ln.startswith("neuronbook")]
        assert err == [f"neuronbook sweep: error: another sweep is running in {out}: its lock "
                       f"{out / '.sweep.lock'} is held by pid {first.pid} on {socket.gethostname()} since "
                       f"{holder['started']}; wait for it to finish, or use another --out folder"]
    finally:
        stdout, stderr = first.communicate(timeout=120)
    assert first.returncode == 0, stderr
    assert "2 of 2 cells ok" in stdout and not (out / ".sweep.lock").exists()
