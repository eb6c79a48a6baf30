"""The result cache: a run_lca call, the identical call again, and the same in a new process.

Also shows the notebook path end to end: a parameters cell (literals) -> LCAConfig -> run ->
save -> load in a process that never loads the model (nor torch) -> re-rank -> a chart.

    NEURONBOOK_DATA=../shared/data HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/bench_result_cache.py \
        [--max-sentences N] [--task xpos] [--model NAME]

The activation stores are reused from the cache when present (their time is reported apart); the
result cache is a fresh folder, so the first call always fits.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import neuronbook as nb

# What a notebook's tagged parameters cell holds: literals only.
PARAMETERS_CELL = """
model = {model!r}
data = "ud:en_ewt"
task = {task!r}
max_sentences = {max_sentences!r}
output_dir = None
interactive = False
renderer = "svg"
"""

READER = r"""
import sys, time, json
t = time.perf_counter()
import neuronbook as nb
r = nb.LCAResult.load(sys.argv[1])
load_s = time.perf_counter() - t
top = r.ranking.iloc[0]
weights = r.neuron_weights(int(top["layer"]), int(top["neuron"]))
again = r.rerank(tag_percentage=0.3)
chart = nb.plots.layer_distribution_chart(r.layer_distribution)
nb.save_chart(chart, sys.argv[2])
print(json.dumps({"load_s": load_s, "torch_imported": "torch" in sys.modules,
                  "transformers_imported": "transformers" in sys.modules,
                  "top_neuron": [int(top["layer"]), int(top["neuron"])], "top_tag": weights.iloc[0]["tag"],
                  "per_tag_rows_0.5": len(r.per_tag_ranking), "per_tag_rows_0.3": len(again.per_tag_ranking)}))
"""

SECOND_CALL = r"""
import sys, time, json
t = time.perf_counter()
import neuronbook as nb
r = nb.run_lca(nb.LCAConfig.from_json(open(sys.argv[1]).read()), cache=sys.argv[2], progress=False)
print(json.dumps({"call_s": time.perf_counter() - t, "cached": "loaded_from_cache" in r.info}))
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=nb.DEFAULT_MODEL)
    ap.add_argument("--task", default="xpos")
    ap.add_argument("--max-sentences", type=int, default=None)
    args = ap.parse_args()

    namespace: dict = {}
    exec(PARAMETERS_CELL.format(model=args.model, task=args.task, max_sentences=args.max_sentences), namespace)
    config = nb.LCAConfig.from_parameters(namespace)
    work = Path(tempfile.mkdtemp(prefix="nb-cache-bench-"))
    cache = work / "results"

    nb.prepare(config, progress=False)  # stores first, so that the timed calls compare analysis with loading
    t = time.perf_counter()
    first = nb.run_lca(config, cache=cache, progress=False)
    first_s = time.perf_counter() - t
    t = time.perf_counter()
    second = nb.run_lca(config, cache=cache, progress=False)
    second_s = time.perf_counter() - t
    assert "loaded_from_cache" in second.info and "loaded_from_cache" not in first.info

    (work / "config.json").write_text(config.to_json())
    fresh = json.loads(subprocess.run([sys.executable, "-c", SECOND_CALL, str(work / "config.json"), str(cache)],
                                      check=True, capture_output=True, text=True).stdout)
    saved = first.save(work / "saved")
    reader = json.loads(subprocess.run([sys.executable, "-c", READER, str(saved), str(work / "layers.png")],
                                       check=True, capture_output=True, text=True).stdout)

    print(f"config: model={config.model} data={config.data} task={config.task} "
          f"max_sentences={config.max_sentences}")
    print("| call | wall (s) |\n|---|---:|")
    print(f"| first run_lca (stores cached, result computed) | {first_s:.2f} |")
    print(f"| identical second call, same process | {second_s:.3f} |")
    print(f"| identical call in a new process (import included) | {fresh['call_s']:.2f} |")
    print(f"| LCAResult.load in a new process (import included) | {reader['load_s']:.2f} |")
    print(f"\nreader process: torch imported={reader['torch_imported']}, "
          f"transformers imported={reader['transformers_imported']}; top neuron {reader['top_neuron']} "
          f"weighs most for {reader['top_tag']}; per-tag rows at 0.5 / re-ranked at 0.3: "
          f"{reader['per_tag_rows_0.5']} / {reader['per_tag_rows_0.3']}; chart {work / 'layers.png'}")


if __name__ == "__main__":
    main()
