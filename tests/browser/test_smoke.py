"""JupyterLab in chromium: run a notebook, move a slider with the keyboard, see the label and the chart."""

from __future__ import annotations


def test_slider_moves_label_and_offline_chart_draws(lab, page):
    nb = lab.open(page, "smoke.ipynb")
    nb.run_all()
    assert "renderer: jupyter" in nb.output_with_text("renderer:").inner_text()

    label = nb.panel.locator(".widget-label", has_text="value:").first
    assert label.inner_text() == "value: 3"
    # the chart: the jupyter renderer with Vega inlined, drawn as SVG; one rect per bar
    bars = nb.panel.locator(".vega-embed svg .mark-rect path")
    bars.first.wait_for()
    assert bars.count() == 4
    heights = [b.bounding_box()["height"] for b in bars.all()]
    assert heights[2] > heights[0] > heights[1] and abs(heights[1] - heights[3]) < 0.5  # counts 3, 1, 4, 1
    nb.screenshot("before")

    handle = nb.panel.locator(".widget-slider .noUi-handle").first
    handle.focus()
    handle.press("ArrowRight")
    handle.press("ArrowRight")
    page.wait_for_function("() => [...document.querySelectorAll('.widget-label')]"
                           ".some(e => e.textContent === 'value: 5')", timeout=10_000)
    assert label.inner_text() == "value: 5"
    assert nb.panel.locator(".widget-readout").first.inner_text().strip() == "5"
    nb.screenshot("after")
