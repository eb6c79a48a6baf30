"""neuronbook.settings: the one check of "are we in a Jupyter kernel", and what progress="auto" makes of it."""

from __future__ import annotations

import ast
import types
from pathlib import Path

import pytest

import neuronbook
from neuronbook import settings

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
