"""The plots package as a whole: every chart public and documented, and no private name used outside it."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import pytest

import neuronbook
from neuronbook import plots

PACKAGE = Path(neuronbook.__file__).parent
#: Public names of plots that are not chart builders.
NOT_CHARTS = {"MAX_ROWS", "SELECTION_COLORS", "save_chart", "add_relative_depth", "top_words", "activation_html",
              "peak_sentences"}


@pytest.mark.parametrize("name", sorted(set(plots.__all__) - NOT_CHARTS))
def test_every_chart_is_documented_with_an_example(name):
    func = getattr(plots, name)
    doc = inspect.getdoc(func)
    assert func.__module__.startswith("neuronbook.plots."), func.__module__
    for section in ("Parameters\n----------", "Examples\n--------"):
        assert section in doc, f"{name} lacks {section.splitlines()[0]}"
    assert "alt." in str(inspect.signature(func).return_annotation), f"{name} returns no annotated altair chart"


def test_nothing_outside_plots_imports_a_private_name_from_it():
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        if (PACKAGE / "plots") in path.parents:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and "plots" in (node.module or "").split("."):
                if (node.module or "").split(".")[-1].startswith("_"):
                    offenders.append(f"{path.name}: from {node.module}")
                offenders += [f"{path.name}: {a.name}" for a in node.names if a.name.startswith("_")]
    assert not offenders


def test_the_widgets_draw_no_chart_of_their_own():
    # the views compose plots' charts: no mark_* call and no alt.Chart(...) in neuronbook/widgets
    for path in (PACKAGE / "widgets").glob("*.py"):
        text = path.read_text()
        assert ".mark_" not in text and "alt.Chart(" not in text, path.name


def test_the_moved_charts_are_still_found_in_widgets():
    import neuronbook.widgets as nbw

    for name in ("ranking_chart", "weights_chart", "depth_heatmap", "cluster_charts", "disjoint_sets_chart",
                 "agreement_charts", "finetuning_layers_chart", "tag_similarity_chart"):
        assert getattr(nbw, name) is getattr(plots, name) is getattr(neuronbook.plots, name)
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        nbw.nope
