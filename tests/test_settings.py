"""neuronbook.settings: path settings (a relative NEURONBOOK_DATA / NEURONBOOK_CACHE means the folder the
command ran in, in this process after a chdir and in child processes started in other folders), and the one
check of "are we in a Jupyter kernel" with what progress="auto" makes of it."""

import ast
import os
import subprocess
import sys
import types
from pathlib import Path

import pytest

import neuronbook
from conftest import REPO
from neuronbook import settings
from neuronbook.datasets import data_dirs, load_corpus

TOY = "# sent_id = 1\n# text = Hi there\n1\tHi\thi\tINTJ\tUH\t_\t0\troot\t_\t_\n2\tthere\tthere\tADV\tRB\t_\t1\tadvmod\t_\t_\n\n"


def _child(code, cwd, env=None):
    """A fresh interpreter in ``cwd`` importing this checkout's neuronbook; its stripped stdout."""
    env = dict(os.environ if env is None else env)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    proc = subprocess.run([sys.executable, "-c", code], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout.strip()


@pytest.fixture
def layout(tmp_path):
    """``tmp/launch`` (where the command runs), ``tmp/data`` (the corpora, as ``../data`` from there), ``tmp/elsewhere``."""
    for name in ("launch", "elsewhere"):
        (tmp_path / name).mkdir()
    tb = tmp_path / "data" / "ud" / "xx_toy"
    tb.mkdir(parents=True)
    (tb / "xx_toy-ud-dev.conllu").write_text(TOY)
    return tmp_path.resolve()


def test_relative_data_dir_is_resolved_against_the_folder_it_was_read_in(layout, monkeypatch):
    monkeypatch.chdir(layout / "launch")
    monkeypatch.setenv("NEURONBOOK_DATA", os.pathsep.join(["../data", "", "/srv/corpora"]))
    assert data_dirs()[:2] == [layout / "data", settings.Path("/srv/corpora")]
    # written back, absolute: a later chdir and every child process see the same folders
    assert os.environ["NEURONBOOK_DATA"] == os.pathsep.join([str(layout / "data"), "/srv/corpora"])
    monkeypatch.chdir(layout / "elsewhere")
    assert data_dirs()[0] == layout / "data"
    assert load_corpus("ud:xx_toy", "dev").sentences == [["Hi", "there"]]
    # a child started in another folder, whether it imports neuronbook or only reads the variable
    assert _child("from neuronbook.datasets import data_dirs; print(data_dirs()[0])", layout / "elsewhere") == \
        str(layout / "data")
    assert _child("import os; print(os.environ['NEURONBOOK_DATA'].split(os.pathsep)[0])", "/") == str(layout / "data")


def test_import_pins_the_settings_before_a_child_runs_elsewhere(layout):
    """The benchmark's case: a process launched with ``NEURONBOOK_DATA=../data`` imports neuronbook and
    starts a command in another folder without reading the setting itself."""
    env = dict(os.environ, NEURONBOOK_DATA="../data", NEURONBOOK_CACHE="cache")
    code = ("import os, subprocess, sys, neuronbook\n"
            "print(subprocess.run([sys.executable, '-c', 'import neuronbook as nb; print(nb.datasets.data_dirs()[0]); "
            "print(nb.cache_dir())'], cwd=os.path.join(os.pardir, 'elsewhere'), capture_output=True, text=True,"
            " check=True).stdout)")
    assert _child(code, layout / "launch", env).split() == [str(layout / "data"), str(layout / "launch" / "cache")]


def test_relative_cache_and_unknown_setting(layout, monkeypatch):
    monkeypatch.chdir(layout / "launch")
    monkeypatch.setenv("NEURONBOOK_CACHE", "cache")
    assert settings.cache_dir("stores") == layout / "launch" / "cache" / "stores"
    assert settings.absolute_path_settings()["NEURONBOOK_CACHE"] == str(layout / "launch" / "cache")
    monkeypatch.delenv("NEURONBOOK_DATA", raising=False)
    assert settings.path_setting("NEURONBOOK_DATA") == [] and "NEURONBOOK_DATA" not in settings.absolute_path_settings()
    with pytest.raises(ValueError, match="not a path setting"):
        settings.path_setting("HOME")


def test_run_notebook_gets_absolute_paths(layout, monkeypatch):
    from neuronbook import notebooks

    monkeypatch.chdir(layout / "launch")
    monkeypatch.setenv("NEURONBOOK_DATA", "../data")
    assert notebooks._absolute_path_settings()["NEURONBOOK_DATA"] == str(layout / "data")


PACKAGE = Path(neuronbook.__file__).parent


def _shell(monkeypatch, shell):
    import IPython

    monkeypatch.setattr(IPython, "get_ipython", lambda: shell)


def test_plain_python_is_not_a_kernel():
    assert settings.in_kernel() is False


def test_a_terminal_ipython_is_not_a_kernel_a_jupyter_shell_is(monkeypatch):
    _shell(monkeypatch, types.SimpleNamespace())  # a terminal IPython: a shell, no kernel
    assert settings.in_kernel() is False
    _shell(monkeypatch, types.SimpleNamespace(kernel=None))
    assert settings.in_kernel() is False
    _shell(monkeypatch, types.SimpleNamespace(kernel=object()))
    assert settings.in_kernel() is True


def test_progress_auto_is_on_in_a_kernel_unless_switched_off(monkeypatch):
    monkeypatch.delenv("NEURONBOOK_PROGRESS", raising=False)
    monkeypatch.setattr("sys.stderr", types.SimpleNamespace(isatty=lambda: False))
    assert settings.progress_enabled("auto") is False
    _shell(monkeypatch, types.SimpleNamespace(kernel=object()))
    assert settings.progress_enabled("auto") is True
    monkeypatch.setenv("NEURONBOOK_PROGRESS", "0")  # what a headless run sets
    assert settings.progress_enabled("auto") is False
    with pytest.raises(ValueError, match="progress must be"):
        settings.progress_enabled("sometimes")


def test_the_kernel_check_lives_in_settings_only():
    # notebooks.notebook_setup, the widgets and progress_enabled all ask settings.in_kernel
    asking = sorted(str(p.relative_to(PACKAGE)) for p in PACKAGE.rglob("*.py") if "get_ipython" in p.read_text())
    assert asking == ["settings.py"]
    for path in PACKAGE.rglob("*.py"):
        tree = ast.parse(path.read_text())
        defined = {n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)}
        if path.name != "settings.py":
            assert not defined & {"in_kernel", "_live_kernel", "_in_kernel"}, path
