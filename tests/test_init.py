import importlib
import subprocess
import sys

import pytest

import neuronbook as nb


def test_flat_names_are_their_modules_public_names():
    for module, names in nb._EXPORTS.items():
        mod = importlib.import_module(f"neuronbook.{module}")
        assert set(names) <= set(mod.__all__), module
        for name in names:
            assert getattr(nb, name) is getattr(mod, name)


def test_the_flat_surface_is_what_a_notebook_uses():
    """About 40 names at the top; the rest by submodule (nb.evaluate.minimal_set, nb.plots.baseline_chart)."""
    assert 30 <= len(nb.__all__) <= 50  # what a notebook reaches for; the rest by submodule
    assert {"run_lca", "LCAConfig", "LCAResult", "prepare", "extract", "get_ranker", "notebook_setup"} <= set(nb.__all__)
    assert nb.evaluate.minimal_set is importlib.import_module("neuronbook.evaluate").minimal_set
    assert nb.plots.baseline_chart.__module__.startswith("neuronbook.plots")
    assert callable(nb.extract) and nb.extraction.extract is nb.extract  # the function, not its module
    assert set(nb.SUBMODULES) <= set(dir(nb))


def test_internals_are_not_flat():
    for name in ("split_store_rows", "content_key", "remove_stale_temporaries", "best_device", "fit_probes"):
        assert name not in nb.__all__
        with pytest.raises(AttributeError):
            getattr(nb, name)


def test_no_name_exported_twice():
    names = [n for names in nb._EXPORTS.values() for n in names]
    assert len(names) == len(set(names))


def test_import_neuronbook_stays_light():
    code = ("import sys, neuronbook as nb; nb.LCAConfig; "
            "print(sorted(m for m in ('pandas', 'torch', 'transformers', 'yaml', 'neuronbook.extraction', "
            "'neuronbook.store', 'neuronbook.models') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_unknown_name():
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        nb.nope
