"""benchmarks/run_all.py --quick --no-before: the harness runs end to end and prints its one table (figures not checked)."""

import importlib.util
import os
import re
import subprocess
import sys

import pytest
from conftest import REPO


def _run_all():
    """benchmarks/run_all.py as a module (its inputs, e.g. the recorded NeuroX figures)."""
    spec = importlib.util.spec_from_file_location("run_all", REPO / "benchmarks" / "run_all.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_run_all_quick_prints_the_table(shared_data, tmp_cache, tmp_path):
    env = dict(os.environ, NEURONBOOK_CACHE=str(tmp_cache), HF_HUB_OFFLINE="1")
    proc = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "run_all.py"), "--quick", "--no-before", "--threads", "1",
         "--neurox-python", str(tmp_path / "no-such-python"), "--workdir", str(tmp_path / "work")],
        capture_output=True, text=True, env=env, timeout=300, cwd=REPO)
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = proc.stdout
    header = ("| stage | before (s) | after (s) | floor or peer (s) | after / floor or peer | peak MB before | "
              "peak MB after | peak MB peer | notes |")
    assert header in out
    rows = [line for line in out.splitlines() if line.startswith("| ") and not line.startswith("| stage")]
    assert len(rows) == 7  # 5 stages, then the command line inside a memory cgroup (warm, cold)
    # every row has a measured time and peak memory after this work; before is the package at BEFORE_COMMIT
    # (measured too when the checkout holds that commit); the NeuroX row falls back to the figures
    for r in rows:
        cells = [c.strip() for c in r.strip("|").split("|")]
        if cells[2] == "—":  # a capped row where this machine cannot make a memory cgroup
            assert "no memory cgroup could be made here" in cells[8], r
            continue
        assert re.fullmatch(r"\d+\.\d\d", cells[2]), r
        assert re.fullmatch(r"[\d,]+( \[[\d,]+\])?", cells[6]), r
        assert cells[1] == "—" and cells[5] == "—", r  # --no-before: this checkout only
        assert "error" not in cells[2] + cells[8].replace("is not in this checkout", ""), r
    # without a NeuroX interpreter the peer columns are the recorded figures, and the ratio is
    # this run's time over them
    (neurox,) = [r for r in rows if "NeuroX workload (issue 12) / " in r]
    cells = [c.strip() for c in neurox.strip("|").split("|")]
    recorded = _run_all().NEUROX_RECORDED
    assert cells[0].endswith("figures recorded in issue 12 (not run)"), neurox
    assert cells[3] == f"{recorded['seconds']:.2f}" and cells[7] == f"{recorded['peak_rss'] / 1e6:,.0f}", neurox
    assert float(cells[4]) == pytest.approx(float(cells[2]) / recorded["seconds"], abs=0.006), neurox
    assert "lca stages, after (s): search" in out
