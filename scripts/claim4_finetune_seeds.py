"""Claim 4, robustness: three POS fine-tunes (seeds 0, 1, 2), fine-tune seed s against LCA seed s.

The findings' claim 4 uses one fine-tune (seed 0) against LCA seeds 0-2; here the fine-tune's own seed varies
too, so the intervals cover both. Each fine-tune samples its 800 dev sentences with its seed, as the LCA does, so
fine-tune seed s trained on exactly the sentences LCA seed s trains on (none of the test split).

    NEURONBOOK_DATA=../shared/data .venv/bin/python scripts/claim4_finetune_seeds.py

Fine-tunes and LCA results already in the caches are reused (each fine-tune takes 5-12 min on 2 CPU cores).
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import findings as F  # noqa: E402

import neuronbook as nb  # noqa: E402


def main() -> int:
    warnings.simplefilter("ignore", nb.NeuronbookWarning)
    plan, seeds = F.REAL, [0, 1, 2]
    spec = plan["pos_finetune"]
    base = nb.LCAConfig(model=plan["model"], data=plan["data"], **plan["base"])
    light = base.replace(task="xpos", seed=seeds[0], seeds=seeds, **plan["light"])
    pre = F.per_seed(light)
    fts = [nb.finetune(plan["model"], spec["data"], spec["task"], progress=False, **dict(spec["settings"], seed=s))
           for s in seeds]
    post = [F.run(light.replace(model=f.name, seed=s, seeds=None)) for s, f in zip(seeds, fts)]
    acc = [f.accuracy for f in fts]
    jac = [nb.analysis.jaccard(F.pairs(a, "top"), F.pairs(b, "top")) for a, b in zip(pre, post)]
    depth = [F.mean_depth(b, "top") - F.mean_depth(a, "top") for a, b in zip(pre, post)]
    shift, _ = F.layer_shift(pre, post)
    print("fine-tunes:", ", ".join(f.name for f in fts))
    print("tagger test accuracy: " + ", ".join(f"{a:.4f}" for a in acc)
          + " (mean %.4f, 95 %% t interval %.4f to %.4f)" % F.t_interval(acc))
    print("Jaccard of the top 10 %, pretrained vs fine-tuned: " + ", ".join(f"{j:.3f}" for j in jac))
    print("top set's mean relative depth, fine-tuned minus pretrained: %+.3f (95 %% t interval %+.3f to %+.3f)"
          % F.t_interval(depth))
    print("minimal set's mean layer, fine-tuned minus pretrained:", shift)
    print("minimal set neurons: pretrained", [int(r.minimal_set.loc[0, "n_neurons"]) for r in pre],
          "fine-tuned", [int(r.minimal_set.loc[0, "n_neurons"]) for r in post])
    print("oracle test accuracy: pretrained", [round(F.oracle_test(r), 4) for r in pre],
          "fine-tuned", [round(F.oracle_test(r), 4) for r in post])
    return 0


if __name__ == "__main__":
    sys.exit(main())
