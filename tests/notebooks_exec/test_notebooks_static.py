"""Every notebook, read without running it: committed clean, literal parameters, public names only."""

from __future__ import annotations

import ast

import nbformat
import pytest

import neuronbook
import neuronbook.widgets
from neuronbook.config import LCAConfig
from notebook_checks import NAMES, NOTEBOOKS

#: The parameters every notebook has that are not LCAConfig settings.
COMMON = {"output_dir", "interactive", "renderer"}
#: Per notebook, its other parameters that are not LCAConfig settings.
OWN = {
    "00_quickstart": {"result_dir"},
    "01_salient_neurons": {"result_dir", "n_top", "n_sentences"},
    "02_localization": {"tasks"},
    "03_redundancy": {"thresholds", "threshold", "max_sets"},
    "04_finetuning": {"pretrained", "finetuned", "tasks"},
    "05_architectures": {"models"},
    "06_languages": {"corpora"},
    "07_rankers": {"rankers", "ks", "k"},
    "08_interventions": {"k", "tag", "probe_layer", "n_draws", "how", "sentence"},
}
#: How a notebook may import the package: the flat API and the widgets, nothing below them.
IMPORTS = {("neuronbook", "nb"), ("neuronbook.widgets", "nbw")}


def test_every_notebook_is_listed():
    assert sorted(p.stem for p in NOTEBOOKS.glob("*.ipynb")) == NAMES == sorted(OWN)


def _parameters(book) -> tuple[int, dict]:
    tagged = [i for i, c in enumerate(book.cells) if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1, f"{len(tagged)} cells tagged parameters"
    cell = book.cells[tagged[0]]
    assert cell.cell_type == "code"
    values = {}
    for stmt in ast.parse(cell.source).body:
        assert isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name), \
            f"not a plain assignment in the parameters cell: {ast.unparse(stmt)}"
        try:
            values[stmt.targets[0].id] = ast.literal_eval(stmt.value)
        except ValueError:
            pytest.fail(f"{stmt.targets[0].id} is not a literal: {ast.unparse(stmt.value)}")
    return tagged[0], values


@pytest.mark.parametrize("name", NAMES)
def test_notebook_is_clean_and_public(name):
    book = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
    code = [c for c in book.cells if c.cell_type == "code"]
    assert all(not c.get("outputs") and c.get("execution_count") is None for c in code), f"{name} holds outputs"

    # the parameters: literals only, each a setting of LCAConfig or a name this notebook documents
    where, params = _parameters(book)
    assert COMMON <= set(params), COMMON - set(params)
    extra = set(params) - set(LCAConfig.fields()) - COMMON - OWN[name]
    assert not extra, f"{name} sets {sorted(extra)}: neither LCAConfig settings nor in its allow-list"
    assert OWN[name] <= set(params), f"allow-list names {sorted(OWN[name] - set(params))} are gone from {name}"
    LCAConfig.from_parameters(params)  # the settings are valid (an invalid value raises)
    assert params["interactive"] is True and params["output_dir"] is None and params["renderer"] == "auto"
    first = params.get("model") or params.get("pretrained") or params["models"][0]
    if name != "06_languages":  # every notebook but 06 (multilingual) starts from the package's default model
        assert first == LCAConfig().model, first

    # the first code cell after the parameters sets the notebook up
    after = next(c for c in book.cells[where + 1:] if c.cell_type == "code")
    assert "nb.notebook_setup(renderer)" in after.source, f"{name}: the cell after the parameters does not set up"

    # the code: the flat API as nb, the widgets as nbw, and only their exported names
    tree = ast.parse("\n".join(c.source for c in code))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "neuronbook":
                    assert (alias.name, alias.asname) in IMPORTS, f"{name}: import {alias.name} as {alias.asname}"
        elif isinstance(node, ast.ImportFrom):
            assert (node.module or "").split(".")[0] != "neuronbook", f"{name}: from {node.module} import ..."
    used = {"nb": set(), "nbw": set()}
    deep = set()  # nb.<submodule>.<name>: a public name of that submodule
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in used:
            used[node.value.id].add(node.attr)
        if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Attribute)
                and isinstance(node.value.value, ast.Name) and node.value.value.id == "nb"
                and node.value.attr in neuronbook.SUBMODULES):
            deep.add((node.value.attr, node.attr))
    assert used["nb"], f"{name} calls nothing of neuronbook"
    flat = used["nb"] - set(neuronbook.SUBMODULES)
    assert flat <= set(neuronbook.__all__), f"{name}: nb.{sorted(flat - set(neuronbook.__all__))}"
    for module, attr in deep:
        assert attr in getattr(neuronbook, module).__all__, \
            f"{name}: nb.{module}.{attr} is not a public name of neuronbook.{module}"
    assert used["nbw"] <= set(neuronbook.widgets.__all__), \
        f"{name}: nbw.{sorted(used['nbw'] - set(neuronbook.widgets.__all__))}"
