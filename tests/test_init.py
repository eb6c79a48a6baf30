import importlib

import neuronbook as nb


def test_flat_api_matches_module_all():
    for module, names in nb._EXPORTS.items():
        mod = importlib.import_module(f"neuronbook.{module}")
        assert sorted(names) == sorted(mod.__all__), module
        for name in names:
            assert getattr(nb, name) is getattr(mod, name)


def test_no_name_exported_twice():
    names = [n for names in nb._EXPORTS.values() for n in names]
    assert len(names) == len(set(names))


def test_unknown_name():
    import pytest

    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        nb.nope
