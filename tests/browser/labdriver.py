"""Drive JupyterLab in a real browser (Playwright, Debian's chromium): reusable helpers.

The fixtures in ``conftest.py`` give a running :class:`LabServer` (``lab``) and a Playwright ``page``;
a test then does::

    nb = lab.open(page, "01_salient_neurons.ipynb")
    nb.run_all()                          # Run > Run All Cells, then wait until the kernel is idle
    nb.screenshot("before")               # -> artifacts/<test name>-before.png
    nb.output_with_text("percent")        # locate an output area

Everything waits on what the page shows (kernel status, cell prompts), never on fixed sleeps.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

CHROMIUM = Path(os.environ.get("NEURONBOOK_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic", "--disable-dev-shm-usage"]
ARTIFACTS = Path(os.environ.get("NEURONBOOK_ARTIFACTS") or Path(__file__).resolve().parent / "artifacts")

# Lab user settings for a quiet test run: no news or update pop-up over the notebook.
LAB_SETTINGS = {
    "@jupyterlab/apputils-extension/notification": {"checkForUpdates": False, "fetchNews": "false"},
    "@jupyterlab/extensionmanager-extension/plugin": {"enabled": False},
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class LabServer:
    """A JupyterLab server on 127.0.0.1 serving ``root`` (a temporary copy of the notebooks)."""

    url: str
    token: str
    root: Path
    process: subprocess.Popen
    log: Path

    @classmethod
    def start(cls, root: Path, workdir: Path, timeout: float = 60.0, env: dict | None = None) -> "LabServer":
        port, token = free_port(), f"nbtest{os.getpid()}{int(time.time())}"
        settings = workdir / "lab-settings"
        for plugin, values in LAB_SETTINGS.items():
            file = settings / f"{plugin}.jupyterlab-settings"
            file.parent.mkdir(parents=True, exist_ok=True)
            file.write_text(json.dumps(values))
        full_env = {**os.environ, **(env or {}),
                    "JUPYTERLAB_SETTINGS_DIR": str(settings),
                    "JUPYTERLAB_WORKSPACES_DIR": str(workdir / "lab-workspaces"),
                    "JUPYTER_RUNTIME_DIR": str(workdir / "runtime"),
                    "JUPYTER_CONFIG_DIR": str(workdir / "config")}  # no user config leaks in
        log = workdir / "jupyterlab.log"
        cmd = [sys.executable, "-m", "jupyterlab", "--no-browser", f"--port={port}", "--ServerApp.port_retries=0",
               "--ServerApp.ip=127.0.0.1", f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
               "--LabApp.news_url=None", "--ServerApp.terminals_enabled=False"]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            cmd.append("--allow-root")  # CI runs as root
        with open(log, "wb") as fh:
            process = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT, env=full_env, cwd=root)
        server = cls(f"http://127.0.0.1:{port}", token, root, process, log)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"JupyterLab exited ({process.returncode}):\n{log.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(f"{server.url}/api/status?token={token}", timeout=2) as r:
                    if r.status == 200:
                        return server
            except OSError:
                time.sleep(0.3)
        server.stop()
        raise TimeoutError(f"JupyterLab did not answer within {timeout:.0f}s:\n{log.read_text()[-3000:]}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()  # the server shuts its kernels down
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)

    def open(self, page, notebook: str, artifacts_prefix: str = "", timeout: float = 60.0) -> "LabNotebook":
        """Open ``notebook`` (a path under ``root``) in Lab and wait until its kernel is idle."""
        page.goto(f"{self.url}/lab/tree/{notebook}?token={self.token}")
        nb = LabNotebook(page, artifacts_prefix or Path(notebook).stem)
        page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook").first.wait_for(timeout=timeout * 1000)
        nb.wait_idle(timeout)
        return nb


def copy_notebooks(sources: list[Path], dest: Path) -> Path:
    """Copy notebooks (files, or every *.ipynb of folders) into ``dest``: Lab may write checkpoints there."""
    dest.mkdir(parents=True, exist_ok=True)
    for src in sources:
        for f in ([src] if src.is_file() else sorted(src.glob("*.ipynb"))):
            shutil.copy2(f, dest / f.name)
    return dest


class LabNotebook:
    """The notebook open in the page: run cells, wait for the kernel, take screenshots."""

    def __init__(self, page, prefix: str):
        self.page, self.prefix = page, prefix
        self.panel = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden)").first

    def menu(self, *path: str) -> None:
        """Click a menu path such as ``menu("Run", "Run All Cells")``."""
        self.page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(f"^{re.escape(path[0])}$")).click()
        for item in path[1:]:
            self.page.locator(".lm-Menu-itemLabel", has_text=re.compile(f"^{re.escape(item)}$")).first.click()

    def kernel_status(self) -> str:
        return self.panel.locator(".jp-Notebook-ExecutionIndicator").first.get_attribute("data-status") or ""

    def wait_idle(self, timeout: float = 60.0) -> None:
        """Until the kernel is idle and no cell waits to run (no ``[*]`` prompt)."""
        deadline = time.monotonic() + timeout
        steady = 0
        while time.monotonic() < deadline:
            busy = self.panel.locator(".jp-InputPrompt", has_text="*").count()
            status = self.kernel_status()
            steady = steady + 1 if status == "idle" and busy == 0 else 0
            if steady >= 3:  # idle on three looks in a row: not a gap between two cells
                return
            self.page.wait_for_timeout(200)
        raise TimeoutError(f"kernel not idle after {timeout:.0f}s (status {self.kernel_status()!r})")

    def run_all(self, timeout: float = 90.0) -> None:
        """Run > Run All Cells, then wait until every cell has run; fail on an error output."""
        self.menu("Run", "Run All Cells")
        self.page.wait_for_timeout(300)
        self.wait_idle(timeout)
        errors = self.panel.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']",
                                    has_text="Traceback")
        if errors.count():
            raise AssertionError(f"a cell raised:\n{errors.first.inner_text()[:2000]}")

    def cell_output(self, index: int):
        """The output area of code cell ``index`` (0-based, among all cells)."""
        return self.panel.locator(".jp-Cell").nth(index).locator(".jp-OutputArea")

    def output_with_text(self, text: str):
        return self.panel.locator(".jp-OutputArea-output", has_text=text).first

    def screenshot(self, name: str) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{self.prefix}-{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path
