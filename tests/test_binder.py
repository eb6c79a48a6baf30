"""binder/: what can be checked without building the image on mybinder.

The resolution test asks PyPI (pip --dry-run --report, ignoring this machine's pip configuration).
torch comes from PyTorch's CPU index; where that index is unreachable (this CI machine reaches PyPI
only) the same pinned wheel is taken from a local wheel folder in pip's find-links when it holds it;
otherwise the test is skipped and says why.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
BINDER = REPO / "binder"
CPU_INDEX = "https://download.pytorch.org/whl/cpu"
CUDA_PACKAGES = re.compile(r"^(nvidia-|cuda-|triton$)", re.I)


def _requirements() -> list[str]:
    lines = [ln.split("#")[0].strip() for ln in (BINDER / "requirements.txt").read_text().splitlines()]
    return [ln for ln in lines if ln]


def _torch_pin() -> str:
    (line,) = [ln for ln in _requirements() if re.match(r"torch\b", ln)]
    return line


def test_runtime_is_python_3_11():
    assert (BINDER / "runtime.txt").read_text().strip() == "python-3.11"


def test_torch_is_pinned_to_a_cpu_build_from_the_cpu_index():
    assert re.fullmatch(r"torch==\d+\.\d+\.\d+\+cpu", _torch_pin()), _torch_pin()
    assert f"--extra-index-url {CPU_INDEX}" in _requirements()
    assert any(ln.startswith("anywidget") for ln in _requirements())
    assert any(ln.startswith("vl-convert-python") for ln in _requirements())


def test_requirements_pin_every_dependency_of_the_package():
    """postBuild installs neuronbook with --no-deps: requirements.txt must name all of pyproject's dependencies."""
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+

    def name(requirement):
        return re.match(r"[A-Za-z0-9_.\-]+", requirement).group(0).lower().replace("_", "-")

    declared = {name(r) for r in tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]}
    pinned = {name(ln) for ln in _requirements() if not ln.startswith("-")}
    assert "pyyaml" in declared  # neuronbook.cli reads --set values as YAML
    assert declared <= pinned, sorted(declared - pinned)


def test_postbuild_installs_the_package_the_default_model_and_the_data():
    from neuronbook.models import DEFAULT_MODEL, get_preset

    script = (BINDER / "postBuild").read_text()
    assert os.access(BINDER / "postBuild", os.X_OK)
    assert script.startswith("#!/usr/bin/env bash") and "set -euo pipefail" in script
    assert "pip install --no-cache-dir --no-deps -e ." in script
    assert "load_corpus('ud:en_ewt', 'dev')" in script and "load_corpus('ud:en_ewt', 'test')" in script
    subprocess.run(["bash", "-n", str(BINDER / "postBuild")], check=True)
    # the preset packages come from the registry: the default model's are among them
    match = re.search(r'packages=\$\(python -c "(.*?)"\)', script, re.S)
    listed = subprocess.run([sys.executable, "-c", match.group(1)], capture_output=True, text=True, check=True)
    assert set(get_preset(DEFAULT_MODEL).packages) <= set(listed.stdout.split())


def _reachable(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=5):
            return True
    except OSError:
        return False


def _local_wheel(version: str) -> Path | None:
    """A folder of pip's find-links holding the pinned CPU wheel for this Python (same file as the index's)."""
    tag = f"cp{sys.version_info.major}{sys.version_info.minor}"
    folders = os.environ.get("PIP_FIND_LINKS", "").split() + ["/opt/wheels"]
    for folder in folders:
        if Path(folder).is_dir() and any(Path(folder).glob(f"torch-{version}-{tag}-*.whl")):
            return Path(folder)
    return None


def test_requirements_resolve_with_a_cpu_torch_and_no_cuda_package(tmp_path):
    if not _reachable("https://pypi.org/simple/pip/"):
        pytest.skip("PyPI is unreachable: the dry-run resolution needs the package registry")
    version = _torch_pin().split("==")[1]
    requirements = _requirements()
    source = CPU_INDEX
    if not _reachable(f"{CPU_INDEX}/torch/"):
        folder = _local_wheel(version)
        if folder is None:
            pytest.skip(f"{CPU_INDEX} is unreachable and no local copy of torch {version} is in pip's find-links")
        # The same pinned CPU wheel, from disk; everything else still comes from PyPI.
        requirements = [ln for ln in requirements if not ln.startswith("--extra-index-url")]
        requirements.insert(0, f"--find-links {folder}")
        source = str(folder)
    req_file = tmp_path / "requirements.txt"
    req_file.write_text("\n".join(requirements) + "\n")
    report = tmp_path / "report.json"
    # --isolated: this machine's pip configuration (local mirrors, constraints) must not take part.
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "--isolated", "install", "--dry-run", "--ignore-installed", "--quiet",
         "--index-url", "https://pypi.org/simple", "--python-version", "3.11", "--only-binary=:all:",
         "--report", str(report), "-r", str(req_file)],
        capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    installed = {i["metadata"]["name"].lower(): i["metadata"]["version"]
                 for i in json.loads(report.read_text())["install"]}
    assert installed["torch"] == version, f"torch {installed['torch']} from {source}"
    assert not sorted(n for n in installed if CUDA_PACKAGES.match(n)), sorted(installed)
    for line in requirements:
        if not line.startswith("-"):
            name, pinned = re.split(r"==", line)
            assert installed[name.lower()] == pinned, (name, installed.get(name.lower()))


SHIPPED = REPO / "binder" / "results" / "minilm-l6-en_ewt-xpos"


def _parameters(notebook: str) -> dict:
    import ast

    import nbformat

    book = nbformat.read(REPO / "notebooks" / f"{notebook}.ipynb", as_version=4)
    (cell,) = [c for c in book.cells if "parameters" in c.metadata.get("tags", [])]
    return {node.targets[0].id: ast.literal_eval(node.value) for node in ast.parse(cell.source).body}


def test_shipped_result_answers_the_quickstart_defaults():
    from neuronbook import LCAConfig, LCAResult

    shipped = LCAResult.load(SHIPPED)
    for notebook in ("00_quickstart", "01_salient_neurons"):
        config = LCAConfig.from_parameters(_parameters(notebook))
        # aggregation "auto" is "mean" for an encoder (MiniLM): the same store and result keys as the shipped "mean"
        config = config.replace(aggregation="mean") if config.aggregation == "auto" else config
        assert config == shipped.config, (
            f"{notebook}'s default parameters changed: regenerate {SHIPPED} (neuronbook run 00_quickstart, "
            "then copy its result/ folder)")
    assert "binder/results/minilm-l6-en_ewt-xpos" in (REPO / "binder" / "postBuild").read_text()


@pytest.mark.real
def test_shipped_result_seeds_the_cache_here(shared_data, tmp_cache):
    from neuronbook import LCAResult, run_lca
    from neuronbook.lca import cache_result

    shipped = LCAResult.load(SHIPPED)
    cache_result(shipped)  # the store keys recomputed here equal the shipped ones
    again = run_lca(shipped.config, progress=False)
    assert "loaded_from_cache" in again.info and again.headline_dict() == shipped.headline_dict()
