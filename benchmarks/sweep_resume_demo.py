"""A sweep killed mid-run, one status.json damaged by hand, resumed: every cell ends ok (issue 21).

Runs ``neuronbook sweep 00_quickstart`` (tiny-random model, a tiny treebank written here, 3 cells over
``epochs``) in a subprocess, kills its whole process group once the first cell has finished, writes
garbage into that cell's ``status.json``, shows what ``neuronbook report`` makes of the folder, resumes
the sweep with the same command (it takes over the dead sweep's lock and runs the damaged and the
unfinished cells again) and checks that the report lists every cell, all ok. Exits non-zero otherwise.

Usage::

    .venv/bin/python benchmarks/sweep_resume_demo.py [--out FOLDER] [--keep]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
EPOCHS = [1, 2, 3]
TINY = {"model": "tiny-random", "data": "ud:xx_toy", "max_sentences": 30, "percents": [10, 50], "control": False,
        "l1": 1e-3, "l2": 1e-3, "ablation_percents": [10], "n_draws": 2, "bootstrap": 20, "interactive": False}
WORDS = [("the", "DET", "DT"), ("a", "DET", "DT"), ("big", "ADJ", "JJ"), ("cat", "NOUN", "NN"),
         ("dog", "NOUN", "NN"), ("sat", "VERB", "VBD"), ("ran", "VERB", "VBD"), ("on", "ADP", "IN"),
         ("mat", "NOUN", "NN"), (".", "PUNCT", ".")]


def write_treebank(data: Path) -> None:
    """ud/xx_toy: 40 dev and 20 test sentences "DET ADJ NOUN VERB ADP DET NOUN ." (seeded)."""
    rng = random.Random(0)
    slots = [[0, 1], [2], [3, 4, 8], [5, 6], [7], [0, 1], [3, 4, 8], [9]]
    for split, n in (("dev", 40), ("test", 20)):
        lines = []
        for s in range(n):
            lines.append(f"# sent_id = {s}")
            for i, slot in enumerate(slots, 1):
                form, upos, xpos = WORDS[rng.choice(slot)]
                lines.append(f"{i}\t{form}\t{form}\t{upos}\t{xpos}\t_\t{0 if i == 1 else 1}\t"
                             f"{'root' if i == 1 else 'dep'}\t_\t_")
            lines.append("")
        path = data / "ud" / "xx_toy" / f"xx_toy-ud-{split}.conllu"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("\n".join(lines) + "\n")


def command(out: Path, data: Path) -> list[str]:
    cmd = [sys.executable, "-m", "neuronbook.cli", "sweep", "00_quickstart", "--grid",
           "epochs=" + ",".join(map(str, EPOCHS)), "--out", str(out), "--quiet", "-p", "data_dir", str(data)]
    for name, value in TINY.items():
        cmd += ["-p", name, json.dumps(value)]
    return cmd


def states(out: Path) -> dict[str, str]:
    found = {}
    for epochs in EPOCHS:
        path = out / f"epochs={epochs}" / "status.json"
        try:
            found[path.parent.name] = json.loads(path.read_text())["status"]
        except FileNotFoundError:
            found[path.parent.name] = "no status.json"
        except ValueError:
            found[path.parent.name] = "unreadable status.json"
    return found


def show(title: str, proc: subprocess.CompletedProcess) -> None:
    print(f"\n$ {title}   (exit status {proc.returncode})")
    keep = [ln for ln in (proc.stdout + proc.stderr).splitlines()
            if ln.strip() and not ln.startswith(("[IPKernelApp]", "INFO "))]
    print("\n".join("  " + ln for ln in keep))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=None, help="work folder (default: a temporary one)")
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    args = parser.parse_args()
    work = Path(args.out or tempfile.mkdtemp(prefix="sweep-resume-")).resolve()
    data, out = work / "data", work / "sweep"
    write_treebank(data)
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "NEURONBOOK_CACHE": str(work / "cache"),
           "PYTHONPATH": os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH", "")) if p)}
    cmd = command(out, data)
    print("sweep:", " ".join(cmd[1:4] + cmd[4:7]), "... --out", out)
    t0 = time.time()

    # 1. start the sweep and kill it (the whole process group: sweep, worker, kernel) after the first cell
    proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, start_new_session=True)
    while "ok" not in states(out).values():
        if proc.poll() is not None:
            print(proc.stdout.read())
            raise SystemExit(f"the sweep ended (status {proc.returncode}) before a cell finished")
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    print(f"\n1. killed the sweep (pid {proc.pid}, SIGKILL to its process group) after {time.time() - t0:.0f}s; "
          f"cells: {states(out)}")
    lock = out / ".sweep.lock"
    print(f"   left behind: {lock.name} = {lock.read_text().strip() if lock.is_file() else '(none)'}")

    # 2. damage the finished cell's status.json
    done = next(name for name, st in states(out).items() if st == "ok")
    (out / done / "status.json").write_text("garbage \x00 not json")
    print(f"\n2. wrote garbage into {out / done / 'status.json'}; cells: {states(out)}")

    # 3. what the report says now
    show("neuronbook report (before resuming)", subprocess.run(
        [sys.executable, "-m", "neuronbook.cli", "report", str(out), "--quiet"], cwd=REPO, env=env,
        capture_output=True, text=True))

    # 4. resume with the same command
    t1 = time.time()
    resumed = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True)
    show(f"neuronbook sweep ... (the same command again, {time.time() - t1:.0f}s)", resumed)

    # 5. the report
    final = subprocess.run([sys.executable, "-m", "neuronbook.cli", "report", str(out), "--quiet"], cwd=REPO,
                           env=env, capture_output=True, text=True)
    import pandas as pd

    table = pd.read_csv(out / "report.csv")
    print(f"\n$ neuronbook report   (exit status {final.returncode}; {len(table.columns)} columns, a few shown)")
    columns = ["epochs", "cell", "status", "oracle test accuracy", "minimal set neurons"]
    print("\n".join("  " + ln for ln in table[[c for c in columns if c in table]].to_string(index=False).splitlines()))
    print("\n".join("  " + ln for ln in final.stderr.splitlines() if ln.strip() and not ln.startswith("INFO ")))
    every = sorted(table["cell"]) == sorted(f"epochs={e}" for e in EPOCHS)
    all_ok = (table["status"] == "ok").all() and set(states(out).values()) == {"ok"}
    good = resumed.returncode == 0 and final.returncode == 0 and every and all_ok and not lock.exists()
    print(f"\nreport lists every cell: {every}; every cell ok: {all_ok}; lock released: {not lock.exists()}")
    print("RESULT:", "every cell ended ok after the kill and the damaged status.json" if good else "FAILED")
    if not args.keep and args.out is None:
        shutil.rmtree(work, ignore_errors=True)
    return 0 if good else 1


if __name__ == "__main__":
    sys.exit(main())
