"""benchmarks/run_all.py --quick: the harness runs end to end and prints its one table (figures not checked)."""

import os
import re
import subprocess
import sys

from conftest import REPO


def test_run_all_quick_prints_the_table(shared_data, tmp_cache, tmp_path):
    env = dict(os.environ, NEURONBOOK_CACHE=str(tmp_cache), HF_HUB_OFFLINE="1")
    proc = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "run_all.py"), "--quick", "--threads", "1",
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
        assert re.fullmatch(r"\d+\.\d\d|error|—", cells[1]), r
        assert "error" not in cells[2] + cells[8].replace("is not in this checkout", ""), r
    assert "figures recorded in issue 12 (not run) | " in out and "| 112.00 |" in out
    assert "lca stages, after (s): search" in out
