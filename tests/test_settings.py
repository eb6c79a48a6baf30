"""Path settings: a relative NEURONBOOK_DATA / NEURONBOOK_CACHE means the folder the command ran in,
in this process after a chdir and in child processes started in other folders."""

import os
import subprocess
import sys

import pytest

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
            "print(subprocess.run([sys.executable, '-c', 'import neuronbook as nb; print(nb.data_dirs()[0]); "
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
