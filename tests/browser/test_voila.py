"""00_quickstart as a Voila dashboard (chromium): the run panel offers exactly the tasks of the chosen corpus.

Voila runs the notebook (a small saved result, ``result_dir``) and shows only its outputs
and widgets. The test picks corpora in the panel's dropdown and reads the task dropdown's options
from the page: a PMB corpus offers its own columns (``sem``, ``ccg`` ...) and no ``xpos``; a UD
treebank offers ``xpos`` again; nothing is refused that the corpus has. Needs the shared corpora.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from labdriver import ARTIFACTS, free_port
from test_salient_neurons_browser import with_parameters

REPO = Path(__file__).resolve().parents[2]
NOTEBOOK = "00_quickstart.ipynb"


@pytest.fixture(scope="module")
def voila(tmp_path_factory):
    """A Voila server rendering 00_quickstart on a small saved result; yields (url, result)."""
    data = Path(os.environ.get("NEURONBOOK_DATA", ""))
    if not (data / "ud").is_dir() or not (data / "pmb").is_dir():
        if os.environ.get("CI"):
            pytest.fail("NEURONBOOK_DATA must hold ud/ and pmb/ in CI")
        pytest.skip("NEURONBOOK_DATA does not hold ud/ and pmb/")
    work = tmp_path_factory.mktemp("voila")
    env = {"NEURONBOOK_CACHE": str(work / "cache"), "HF_HUB_OFFLINE": "1", "NEURONBOOK_OFFLINE": "1",
           "NEURONBOOK_HEADLESS": "0", "NEURONBOOK_DATA": str(data)}
    from tiny import small_result

    result = small_result()  # six neurons, fitted on arrays in a second: the page needs a result, not a model
    result.save(work / "result")
    root = work / "root"
    root.mkdir()
    with_parameters(REPO / "notebooks" / NOTEBOOK, root / NOTEBOOK, result_dir=str(work / "result"),
                    interactive=True, output_dir=None, renderer="svg")
    port = free_port()
    log = work / "voila.log"
    cmd = [sys.executable, "-m", "voila", str(root / NOTEBOOK), "--no-browser", f"--port={port}",
           "--Voila.ip=127.0.0.1", "--show_tracebacks=True"]
    full_env = {**os.environ, **env, "JUPYTER_CONFIG_DIR": str(work / "config"),
                "JUPYTER_RUNTIME_DIR": str(work / "runtime")}
    with open(log, "wb") as fh:
        process = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT, env=full_env, cwd=root)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 60
    try:
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"voila exited ({process.returncode}):\n{log.read_text()[-3000:]}")
            try:  # any answer means the server is up (a GET of / would already start the notebook's kernel)
                with urllib.request.urlopen(f"{url}voila/files/ping", timeout=2):
                    break
            except urllib.error.HTTPError:
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"voila did not answer:\n{log.read_text()[-3000:]}") from None
                time.sleep(0.3)
        yield url, result
    finally:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
        print(f"voila log: {log}")


def _options(select) -> list[str]:
    return select.evaluate("s => [...s.options].map(o => o.textContent)")


def test_run_panel_in_voila_offers_only_the_corpus_tasks(voila, page):
    from playwright.sync_api import expect

    from neuronbook.widgets import corpus_tasks

    url, result = voila
    page.set_viewport_size({"width": 1280, "height": 1400})
    page.goto(url, timeout=120_000)
    corpus = page.locator(".widget-dropdown", has_text="corpus").locator("select")
    task = page.locator(".widget-dropdown", has_text="task").locator("select")
    corpus.wait_for(timeout=120_000)  # Voila shows the page once every cell has run
    # the headline card of the saved result, with its key figures, before the panel
    expect(page.locator(".nb-result").first).to_contain_text("oracle test accuracy")
    assert _options(task) == corpus_tasks(result.config.data, split=result.config.test)  # the toy corpus's tasks
    ARTIFACTS.mkdir(parents=True, exist_ok=True)

    corpus.select_option(label="pmb:en (found)")  # a PMB corpus: its own columns, no xpos
    pmb = corpus_tasks("pmb:en")
    expect(page.locator(".widget-html", has_text="tasks in pmb:en")).to_have_count(1, timeout=30_000)  # answered
    expect(task.locator("option")).to_have_text(pmb)
    assert "xpos" not in pmb and {"sem", "ccg"} <= set(pmb)
    task.scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / "voila-pmb.png"))  # the panel in view

    corpus.select_option(label="ud:en_ewt (found)")  # back to a treebank: xpos is offered again, and accepted
    ud = corpus_tasks("ud:en_ewt")
    expect(page.locator(".widget-html", has_text="tasks in ud:en_ewt")).to_have_count(1, timeout=30_000)
    expect(task.locator("option")).to_have_text(ud)
    assert {"upos", "xpos", "deprel", "feats:Number"} <= set(_options(task))
    task.select_option(label="xpos")
    expect(task).to_have_value("xpos")
    assert page.locator(".nb-error").count() == 0  # nothing refused
