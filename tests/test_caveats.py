"""neuronbook.caveats: warnings gathered once per kind and message, counted, tied to the caller's line."""

from __future__ import annotations

import warnings

import pytest

from neuronbook.caveats import Caveats, collect_caveats
from neuronbook.exceptions import ApproximationWarning, RareTagsWarning


def _library_call():
    """Stands in for neuronbook code: its own warn is attributed to the test line that called it."""
    from neuronbook.lca.pipeline import _warn_language
    from neuronbook.config import LCAConfig

    _warn_language(LCAConfig(model="minilm-l6", data="ud:ru_gsd"))


def test_repeats_are_counted_once_per_kind_and_message():
    with collect_caveats() as caveats:
        for _ in range(8):
            warnings.warn("4-bit weights", ApproximationWarning)
        warnings.warn("4-bit   weights", RareTagsWarning)  # another kind: its own line
        warnings.warn("3 tags have fewer than 5 words", RareTagsWarning)
    assert caveats.frame()[["kind", "message", "count"]].values.tolist() == [
        ["ApproximationWarning", "4-bit weights", 8], ["RareTagsWarning", "4-bit weights", 1],
        ["RareTagsWarning", "3 tags have fewer than 5 words", 1]]
    assert caveats.records[0]["where"] == 'warnings.warn("4-bit weights", ApproximationWarning)'
    html = caveats._repr_html_()
    assert html.count("<li>") == 3 and "&times;8" in html
    assert caveats.text().splitlines()[1].startswith("  ApproximationWarning (x8): 4-bit weights")


def test_a_warning_from_inside_the_package_points_at_the_callers_line():
    with collect_caveats() as caveats:
        _library_call()
    (record,) = caveats.records
    assert record["kind"] == "LanguageMismatchWarning"
    assert record["where"] == '_warn_language(LCAConfig(model="minilm-l6", data="ud:ru_gsd"))'
    assert "minilm-l6 was trained on en text only" in record["message"] and "'ru'" in record["message"]


def test_other_categories_pass_through_and_collections_merge():
    with pytest.warns(DeprecationWarning, match="old"):
        with collect_caveats(categories=(ApproximationWarning,)) as caveats:
            warnings.warn("old", DeprecationWarning)
            warnings.warn("approx", ApproximationWarning)
    assert len(caveats) == 1
    more = Caveats()
    more.add("approx", ApproximationWarning)
    more.add("rare", RareTagsWarning)
    caveats.extend(more)
    assert caveats.frame()[["message", "count"]].values.tolist() == [["approx", 2], ["rare", 1]]
    assert "none" in Caveats()._repr_html_()
