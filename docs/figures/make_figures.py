"""Real runs of the research-question analyses with all-MiniLM-L6-v2 on ud:en_ewt (train on dev, test on test).

Writes small CSV tables and PNG charts next to this file; docs/analyses.md quotes them.
Activation stores and LCA results are cached by neuronbook ($NEURONBOOK_CACHE, default
~/.cache/neuronbook; ``run_lca`` keys a result by its LCAConfig and stores), so re-running never
extracts or searches twice.

    NEURONBOOK_DATA=/work/shared/data HF_HUB_OFFLINE=1 python docs/figures/make_figures.py [step ...]

Steps: lca layerwise localization redundancy clusters finetuning rankers languages architectures
(default: all). ``architectures minilm-l3 e5-small`` names the models compared with MiniLM-L6;
``--max-sets`` bounds the redundancy step.

``--smoke`` runs every step on the ``tiny-random`` model with 40 sentences per split, into a
temporary folder (or ``--out``) with its own cache: it checks the script, not the findings.
"""

from __future__ import annotations

import argparse
import functools
import json
import logging
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from neuronbook import analysis as an
from neuronbook import plots
from neuronbook.config import LCAConfig
from neuronbook.lca import prepare, run_lca
from neuronbook.rank import RANKERS, get_ranker

OUT = Path(__file__).resolve().parent
MODELS = {"pretrained": "sentence-transformers/all-MiniLM-L6-v2", "fine-tuned": "sre-embedding-model"}
TASKS = ["suffix", "xpos", "deprel"]
LANG_MODEL = "e5-small"  # intfloat/multilingual-e5-small, a 4-bit approximation of its weights
LANGUAGES = ["en", "de", "it", "nl"]  # the first (largest dev set) chooses the regularisation for all
ARCHS = {"minilm-l6": MODELS["pretrained"], "minilm-l3": "minilm-l3", "e5-small": LANG_MODEL}
# The fine-tuned model's tokenizer says 256 but its position table has 512 like the original; one
# en_ewt test word has 335 pieces, so every en_ewt run reads windows of 512.
BASE = LCAConfig(data="ud:en_ewt", train="dev", test="test", dev_fraction=0.1, seed=0, max_length=512)
# Sizes of the samples that keep the cluster and AP steps to seconds (smaller stores: all words).
CLUSTER_WORDS = 10_000
AP_WORDS = 5_000
log = logging.getLogger("make_figures")


def use_smoke():
    """Switch every step to the tiny-random model and 40 sentences per split."""
    global MODELS, LANG_MODEL, ARCHS, BASE
    MODELS = {"pretrained": "tiny-random", "fine-tuned": "tiny-random"}
    LANG_MODEL = "tiny-random"
    ARCHS = {key: "tiny-random" for key in ARCHS}
    BASE = BASE.replace(max_sentences=40)


def model_id(model_key):
    return MODELS[model_key] if model_key in MODELS else ARCHS[model_key]


def config(model_key, task) -> LCAConfig:
    return BASE.replace(model=model_id(model_key), task=task)


@functools.lru_cache(maxsize=None)
def lca(model_key, task):
    """LCA result of (model, task); run_lca keeps it in the result cache."""
    cfg = config(model_key, task)
    if model_key != "pretrained":
        # The other models reuse the pretrained model's penalties for the task: a controlled
        # comparison, and one search less per task. Only the minimal set and accuracies are
        # compared, so no control task; zero-out is the cheapest ablation a config allows.
        pre = lca("pretrained", task)
        cfg = cfg.replace(l1=pre.best_params["l1"], l2=pre.best_params["l2"], control=False, ablation_methods=["zero-out"])
    t = time.perf_counter()
    res = run_lca(cfg, progress=False)
    log.info("LCA %s %s: %.0f s", model_key, task, time.perf_counter() - t)
    return res


@functools.lru_cache(maxsize=None)
def data(model_key, task):
    """Stores, labels and the train/dev/test arrays of (model, task): the split of run_lca."""
    d = prepare(config(model_key, task).replace(control=False), progress=False)
    return d, d.arrays()


def save(df, name):
    df.to_csv(OUT / f"{name}.csv", index=False, float_format="%.4f")


def step_lca():
    rows = []
    for model_key in MODELS:
        for task in TASKS:
            r = lca(model_key, task)
            ms = r.minimal_set.iloc[0]
            oracle = r.oracle.set_index("split")["accuracy"]
            abl = r.ablation[(r.ablation.method == "retrain") & (r.ablation.split == "test")].set_index("selection")
            abl = abl["accuracy"].reindex(["top", "random", "bottom"])
            rows.append({"model": model_key, "task": task, "n_classes": len(r.classes),
                         "l1": r.best_params["l1"], "oracle_test": oracle["test"], "n_neurons": int(ms["n_neurons"]),
                         "percent": ms["percent"], "minimal_test": ms["test_accuracy"],
                         "top10": abl["top"], "random10": abl["random"], "bottom10": abl["bottom"],
                         "wall_s": r.info.get("analysis_time_s")})
    save(pd.DataFrame(rows), "lca_summary")


def step_layerwise():
    frames = []
    for model_key in MODELS:
        for task in TASKS:
            r = lca(model_key, task)
            _, a = data(model_key, task)
            # LCA's penalties with bigger batches and a higher rate: 42 fits in minutes, not half an hour
            probe = r.config.replace(batch_size=1024, lr=1e-2).make_probe(**r.best_params)
            lw = an.layerwise_probing(a["X_train"], a["y_train"], a["X_test"], a["y_test"], a["neurons"],
                                      X_dev=a["X_dev"], y_dev=a["y_dev"], estimator=probe, progress=False)
            frames.append(lw.assign(model=model_key, task=task))
    lw = pd.concat(frames, ignore_index=True)
    save(lw, "layerwise")
    pre = lw[lw.model == "pretrained"]
    plots.save_chart(plots.layerwise_accuracy_chart(pre, color="task"), OUT / "layerwise_accuracy.png")


def step_localization():
    res = {task: lca("pretrained", task) for task in TASKS}
    sel = pd.concat([r.selected.assign(task=task) for task, r in res.items()], ignore_index=True)
    n_layers = res["xpos"].n_layers
    save(an.localization(sel, n_layers, by="task"), "localization")
    dist = an.layer_distribution(sel, n_layers, by="task")
    save(dist, "layer_distribution")
    plots.save_chart(plots.layer_distribution_chart(dist, facet="task"), OUT / "layer_distribution.png")
    r = res["xpos"]
    # the tag frequencies of the training corpus (train + dev part), as Task.counts_ has them
    counts = dict(zip(r.classes["tag"], r.classes["n_train"] + r.classes["n_dev"]))
    save(an.neurons_per_tag(r.per_tag_ranking, n_layers, tag_counts=counts), "xpos_neurons_per_tag")
    cells = an.tag_layer_counts(r.per_tag_ranking, n_layers)
    plots.save_chart(plots.tag_layer_heatmap(cells), OUT / "xpos_tag_layer_heatmap.png")


def step_redundancy(max_sets=10):
    r = lca("pretrained", "xpos")
    _, a = data("pretrained", "xpos")
    t = time.perf_counter()
    res = an.disjoint_minimal_sets(a["X_train"], a["y_train"], a["X_dev"], a["y_dev"], a["X_test"], a["y_test"],
                                   neurons=a["neurons"], estimator=r.estimator(), delta=r.config.delta,
                                   seed=r.config.seed, max_sets=max_sets, progress=False)
    log.info("disjoint sets: %.0f s", time.perf_counter() - t)
    save(res.summary, "xpos_disjoint_sets")
    dist = an.layer_distribution(res.sets.assign(set=res.sets["set"].map(lambda i: f"set {i}")), r.n_layers,
                                 by="set")
    save(dist, "xpos_disjoint_sets_layers")
    if res.n_sets:
        plots.save_chart(plots.layer_distribution_chart(dist, facet="set"), OUT / "xpos_disjoint_sets_layers.png")
    else:
        log.warning("no disjoint set reached the target: no xpos_disjoint_sets_layers chart")


def step_clusters():
    d, _ = data("pretrained", "xpos")
    store = d.train_store  # every word of en_ewt dev
    n = min(CLUSTER_WORDS, store.n_words)
    rows = np.sort(np.random.default_rng(BASE.seed).choice(store.n_words, n, replace=False))
    X = store.activations()[rows]
    neurons = store.neurons()
    out = []
    for threshold in (0.1, 0.2, 0.3, 0.5):
        cl = an.correlation_clusters(X, threshold=threshold, neurons=neurons)
        out.append(an.clustering_summary(cl).assign(threshold=threshold, layer="all"))
        out.append(an.clustering_summary(cl, by="layer").assign(threshold=threshold))
    save(pd.concat(out, ignore_index=True), "correlation_clusters")


def step_finetuning():
    lw = pd.read_csv(OUT / "layerwise.csv") if (OUT / "layerwise.csv").is_file() else None
    pre, ft = {}, {}
    for task in TASKS:
        for key, target in (("pretrained", pre), ("fine-tuned", ft)):
            sel = an.as_selection(lca(key, task))
            if lw is not None:
                sel.layerwise = lw[(lw.model == key) & (lw.task == task)][["layer", "accuracy"]]
            target[task] = sel
    res = an.finetuning_comparison(pre, ft)
    save(res.summary, "finetuning_summary")
    save(res.overlap, "finetuning_overlap")
    save(res.layers, "finetuning_layers")
    plots.save_chart(plots.finetuning_shift_chart(res.summary, res.overlap), OUT / "finetuning_shift.png")
    if len(res.layerwise):
        both = res.layerwise.assign(series=res.layerwise["task"] + " / " + res.layerwise["model"])
        plots.save_chart(plots.layerwise_accuracy_chart(both, color="series"), OUT / "finetuning_layerwise.png")


def step_rankers():
    r = lca("pretrained", "xpos")
    _, a = data("pretrained", "xpos")
    X, y, neurons = a["X_train"], a["y_train"], a["neurons"]
    rankings = {"lca": r.ranking}
    times = {}
    for name in RANKERS:
        if name == "lca":  # the result's own ranking
            continue
        t = time.perf_counter()
        # AP sorts every neuron's activations: a 5,000-word sample keeps it to seconds
        sub = (np.random.default_rng(BASE.seed).choice(len(X), AP_WORDS, replace=False)
               if name == "ap" and len(X) > AP_WORDS else slice(None))
        rankings[name] = get_ranker(name).rank(X[sub], y[sub], neurons)
        times[name] = time.perf_counter() - t
    n_min = int(r.minimal_set["n_neurons"].iloc[0])
    agree = an.ranker_agreement(rankings, k=[n_min, round(0.1 * len(r.neurons))])  # the minimal set and 10 %
    save(agree, "xpos_ranker_agreement")
    (OUT / "xpos_ranker_times.json").write_text(json.dumps(times, indent=1))


def step_languages():
    # Only the minimal sets are compared: no control task, the cheapest ablation; windows of the
    # model's own length.
    base = BASE.replace(model=LANG_MODEL, task="sem", max_length=None, control=False,
                        ablation_methods=["zero-out"])
    first = LANGUAGES[0]
    ref = run_lca(base.replace(data=f"pmb:{first}"), progress=False)
    reg = ref.best_params
    res = {first: ref}
    for lang in LANGUAGES[1:]:
        res[lang] = run_lca(base.replace(data=f"pmb:{lang}", **reg), progress=False)
    cmp = an.language_comparison({lang: an.NeuronSelection.from_lca(r) for lang, r in res.items()})
    info = {"l1": [r.info["l1"] for r in res.values()], "n_classes": [len(r.classes) for r in res.values()]}
    info.update({k: [r.info[k] for r in res.values()] for k in ("n_train", "n_test", "wall_time_s")})
    save(cmp.summary.assign(**info), "languages_summary")
    save(cmp.layers, "languages_layers")
    save(cmp.similarity, "languages_similarity")
    save(cmp.tag_similarity, "languages_tag_similarity")
    save(cmp.shared, "languages_shared")
    plots.save_chart(plots.language_similarity_chart(cmp.layers, cmp.similarity), OUT / "languages_similarity.png")


def step_architectures(archs=()):
    # minilm-l6 is the pretrained xpos run (searched penalties); the others reuse its penalties (see lca)
    res = {"minilm-l6": lca("pretrained", "xpos")}
    for key in [a for a in archs if a != "minilm-l6"] or ["minilm-l3"]:
        res[key] = lca(key, "xpos")
    cmp = an.architecture_comparison({k: an.NeuronSelection.from_lca(r) for k, r in res.items()})
    save(cmp.summary, "architectures_summary")
    save(cmp.layers, "architectures_layers")
    plots.save_chart(plots.architecture_comparison_chart(cmp.layers), OUT / "architectures.png")


STEPS = {"lca": step_lca, "layerwise": step_layerwise, "localization": step_localization,
         "redundancy": step_redundancy, "clusters": step_clusters, "finetuning": step_finetuning,
         "rankers": step_rankers, "languages": step_languages, "architectures": step_architectures}


def main(argv=None):
    global OUT
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("names", nargs="*", metavar="step", help=f"steps {list(STEPS)} and architectures {list(ARCHS)}")
    p.add_argument("--max-sets", type=int, default=10, help="redundancy: stop after this many disjoint sets")
    p.add_argument("--smoke", action="store_true", help="tiny-random model, 40 sentences, temporary output")
    p.add_argument("--out", type=Path, help="output folder (default: next to this file; with --smoke a temp folder)")
    args = p.parse_args(argv)
    unknown = [a for a in args.names if a not in STEPS and a not in ARCHS]
    if unknown:
        p.error(f"unknown step(s) {unknown}; steps: {list(STEPS)}; architectures: {list(ARCHS)}")
    if args.smoke:
        OUT = args.out or Path(tempfile.mkdtemp(prefix="nb-figures-smoke-"))
        os.environ["NEURONBOOK_CACHE"] = str(OUT / "cache")  # stores and results of the smoke run stay there
        use_smoke()
    elif args.out:
        OUT = args.out
    OUT.mkdir(parents=True, exist_ok=True)
    log.info("writing to %s", OUT)
    params = {"redundancy": {"max_sets": args.max_sets},
              "architectures": {"archs": [a for a in args.names if a in ARCHS]}}
    for name in [a for a in args.names if a in STEPS] or list(STEPS):
        t0 = time.perf_counter()
        STEPS[name](**params.get(name, {}))
        log.info("step %s: %.0f s", name, time.perf_counter() - t0)
    return OUT


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    main()
