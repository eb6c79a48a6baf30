"""A screenshot of 08_interventions' widget in JupyterLab (chromium): not a CI test, a script.

Runs the notebook on ``tiny-random`` with toy corpora (seconds), types a sentence into the widget, picks a
neuron set, presses Run, and saves ``<artifacts>/08_interventions-widget.png`` (``$NEURONBOOK_ARTIFACTS``,
default ``tests/browser/artifacts/``)::

    PYTHONPATH=. python tests/browser/screenshot_interventions.py [--model tiny-random]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from labdriver import CHROMIUM, CHROMIUM_ARGS, LabServer  # noqa: E402
from test_salient_neurons_browser import with_parameters, write_corpus  # noqa: E402

NOTEBOOK = "08_interventions.ipynb"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="tiny-random")
    parser.add_argument("--sentence", default="the big dog ran on the mat .")
    args = parser.parse_args(argv)
    from playwright.sync_api import sync_playwright

    work = Path(tempfile.mkdtemp(prefix="nb-08-shot-"))
    env = {"NEURONBOOK_CACHE": os.environ.get("NEURONBOOK_CACHE", str(work / "cache")), "HF_HUB_OFFLINE": "1",
           "NEURONBOOK_OFFLINE": "1", "NEURONBOOK_HEADLESS": "0", "PYTHONPATH": str(HERE.parents[1])}
    train, test = write_corpus(work / "train.conllu", 60, 0), write_corpus(work / "test.conllu", 30, 1)
    root = work / "root"
    root.mkdir()
    with_parameters(HERE.parents[1] / "notebooks" / NOTEBOOK, root / NOTEBOOK, model=args.model, data="toy",
                    train=str(train), test=str(test), task="upos", l1=1e-3, l2=1e-3, epochs=5, percents=[10, 50],
                    max_sentences=None, k=8, n_draws=3, sentence="the cat sat .", interactive=True)
    server = LabServer.start(root, work, env=env)
    # every cell in the page (no windowed rendering), so the widget's output can be found wherever it is
    tracker = work / "lab-settings" / "@jupyterlab" / "notebook-extension" / "tracker.jupyterlab-settings"
    tracker.parent.mkdir(parents=True, exist_ok=True)
    tracker.write_text('{"windowingMode": "none"}')
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
            page = browser.new_context(viewport={"width": 1280, "height": 1000}).new_page()
            page.set_default_timeout(120_000)
            nb = server.open(page, NOTEBOOK, timeout=120)
            try:
                path = _drive(nb, page, args.sentence)
            except BaseException:
                print("failure screenshot:", nb.screenshot("failure"))
                raise
            print(path)
            browser.close()
    finally:
        server.stop()
    return 0


def _drive(nb, page, sentence: str) -> Path:
    """Run every cell, type ``sentence`` into the widget, press Run, wait for its table; save the screenshots."""
    page.wait_for_timeout(2000)
    choose = page.locator(".jp-Dialog button", has_text="Select")
    if choose.count():  # Lab may ask which kernel to start for a notebook it has not opened before
        choose.first.click()
        nb.wait_idle(120)
    nb.run_all(timeout=600)
    view = nb.panel.locator(".widget-vbox", has=page.locator("button", has_text="Run")).first
    view.scroll_into_view_if_needed()
    view.locator("input[type='text']").first.fill(sentence)
    view.locator("button", has_text="Run").first.click()
    word = sentence.split()[-2]  # a word of the typed sentence: the table shows it once the kernel answers
    page.wait_for_function("([el, word]) => [...el.querySelectorAll('td')].some(td => td.innerText === word)",
                           arg=[view.element_handle(), word])
    page.wait_for_timeout(1500)  # Vega redraws the chart after the kernel answers
    path = nb.screenshot("widget")
    view.screenshot(path=str(path.with_name("08_interventions-widget-only.png")))
    return path


if __name__ == "__main__":
    raise SystemExit(main())
