"""Fixtures for the real-browser tests: a JupyterLab server and a Playwright page on Debian's chromium.

Playwright's own browser download cannot work here; Debian's ``chromium`` (installed by ``.ci/run``)
is launched through ``executable_path``. Screenshots go to ``$NEURONBOOK_ARTIFACTS`` (default
``tests/browser/artifacts/``).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from labdriver import CHROMIUM, CHROMIUM_ARGS, LabServer, copy_notebooks  # this folder is on sys.path (pytest)

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]


def pytest_collection_modifyitems(config, items):
    reason = None
    if not CHROMIUM.is_file():
        reason = (f"no chromium at {CHROMIUM}: `apt-get install -y --no-install-recommends chromium "
                  "fonts-dejavu-core` (.ci/run does) or set NEURONBOOK_CHROMIUM")
    else:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:
            reason = "playwright (python) is not installed: pip install -e '.[test]'"
    if reason:
        for item in items:
            if HERE in Path(str(item.fspath)).parents:
                item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture(scope="session")
def lab(tmp_path_factory):
    """A JupyterLab server serving a temporary copy of tests/browser/*.ipynb and notebooks/*.ipynb."""
    work = tmp_path_factory.mktemp("lab")
    root = copy_notebooks([HERE, REPO / "notebooks"], work / "root")
    server = LabServer.start(root, work, env={"HF_HUB_OFFLINE": "1", "NEURONBOOK_OFFLINE": "1"})
    yield server
    server.stop()


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(30_000)
    yield page
    context.close()
