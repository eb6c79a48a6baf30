"""neuronbook.pages and LCAResult.key_figures: the headline a notebook opens on, on the shipped Binder result."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from neuronbook.lca import LCAResult
from neuronbook.pages import error_html, format_figure, headline_card, result_html, skipped, unreached

SHIPPED = Path(__file__).resolve().parents[1] / "binder" / "results" / "minilm-l6-en_ewt-xpos"


@pytest.fixture(scope="module")
def shipped():
    return LCAResult.load(SHIPPED)


@pytest.fixture
def unreached_result(shipped):
    import copy

    r = copy.copy(shipped)
    r.minimal_set = shipped.minimal_set.assign(reached=False)
    return r


def test_key_figures_of_the_shipped_result(shipped):
    k = shipped.key_figures().set_index("figure")
    assert list(k.index) == ["oracle test accuracy", "minimal set neurons", "minimal set share (%)",
                             "retrain top - random at 10 %", "zero-out top - random at 10 %",
                             "selectivity (minimal set)"]
    # golden values: the shipped result's tables (minimal_set, baselines, selectivity)
    assert k.loc["oracle test accuracy", "value"] == pytest.approx(0.922417, abs=1e-6)
    assert math.isnan(k.loc["oracle test accuracy", "low"])  # one seed: no interval, and the note says so
    assert "one fit" in k.loc["oracle test accuracy", "note"]
    assert k.loc["minimal set neurons", ["value", "low", "high"]].tolist() == [430, 403, 806]
    assert k.loc["minimal set share (%)", ["value", "low", "high"]].tolist() == pytest.approx(
        [16.0, 100 * 403 / 2688, 100 * 806 / 2688])
    assert k.loc["retrain top - random at 10 %", ["value", "low", "high"]].tolist() == pytest.approx(
        [0.017393, 0.014674, 0.020113], abs=1e-6)
    assert k.loc["zero-out top - random at 10 %", "interval"] == "95 % t interval over 10 draws"
    assert k.loc["selectivity (minimal set)", "value"] == pytest.approx(0.327752, abs=1e-6)


def test_an_unreached_minimal_set_is_said_as_such(unreached_result):
    k = unreached_result.key_figures().set_index("figure")
    for figure in ("minimal set neurons", "minimal set share (%)"):
        assert math.isnan(k.loc[figure, "value"]) and math.isnan(k.loc[figure, "low"])
        assert k.loc[figure, "note"] == ("not reached: no prefix up to 50 % of the neurons came within delta of the "
                                         "oracle on dev (target 0.9139)")
    page = result_html(unreached_result)
    head = page.partition("<details>")[0]  # the key figures: no set size shown
    assert head.count("not reached</i>") == 2 and "430" not in head and "minimal set by layer" not in page
    text = str(headline_card(unreached_result))
    assert "minimal set neurons" in text and "not reached" in text and " 430 " not in text
    card = unreached({"xpos": unreached_result})
    assert str(card) == "minimal set not reached: xpos" and "target 0.9139" in card._repr_html_()
    assert str(skipped("layer distribution", "no minimal set")) == "skipped: layer distribution (no minimal set)"


def test_result_html_is_small_with_the_full_table_behind_a_disclosure(shipped):
    from neuronbook.caveats import Caveats

    caveats = Caveats()
    caveats.add("4-bit weights", UserWarning)
    page = result_html(shipped, caveats)
    head, _, rest = page.partition("<details>")
    assert head.count("<tr>") == 6  # the key figures, nothing more, before the disclosure
    assert "<b>430</b>" in head and "[403, 806]" in head and "[+0.015, +0.020]" in head
    assert f"all {len(shipped.headline())} figures" in rest and "minimal set by layer" in rest
    assert "nb-caveats" in rest and "4-bit weights" in rest
    assert shipped._repr_html_() == result_html(shipped)
    assert unreached({"xpos": shipped})._repr_html_() == "<span></span>"  # nothing to say: nothing shown


def test_format_figure():
    assert [format_figure("minimal set neurons", 1234.0), format_figure("minimal set share (%)", 16.04),
            format_figure("zero-out top - random at 10 %", -0.0089), format_figure("oracle test accuracy", 0.92241),
            format_figure("oracle test accuracy", float("nan"))] == ["1,234", "16.0", "-0.009", "0.9224", "–"]


def test_error_html_is_one_line_with_the_traceback_behind_a_toggle():
    try:
        {}["xpos"]
    except KeyError as err:
        page = error_html(err)
    line, _, rest = page.partition("</div>")
    assert line.endswith("<b>failed:</b> KeyError: &#x27;xpos&#x27;")
    assert rest.startswith('<details class="nb-traceback"><summary>traceback</summary>')
    assert "Traceback (most recent call last)" in rest and "test_pages.py" in rest
