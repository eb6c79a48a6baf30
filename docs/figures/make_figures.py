"""Real runs of the research-question analyses with all-MiniLM-L6-v2 on ud:en_ewt (train on dev, test on test).

Writes small CSV tables and PNG charts next to this file; docs/analyses.md quotes them.
Activation stores and LCA results are cached ($NEURONBOOK_CACHE, default ~/.cache/neuronbook), so
re-running never extracts or searches twice.

    NEURONBOOK_DATA=/work/shared/data HF_HUB_OFFLINE=1 python docs/figures/make_figures.py [step ...]

Steps: lca layerwise localization redundancy clusters finetuning rankers languages architectures
(default: all). ``architectures minilm-l3 e5-small`` names the models compared with MiniLM-L6.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from neuronbook import analysis as an
from neuronbook import plots
from neuronbook.corpus import Task
from neuronbook.datasets import load_corpus
from neuronbook.extract import extract
from neuronbook.lca import DEFAULT_PROBE_PARAMS, LCAResult, analyze_store, run_lca, split_store_rows
from neuronbook.probe import ElasticNetProbe
from neuronbook.store import cache_dir

OUT = Path(__file__).resolve().parent
MODELS = {"pretrained": "sentence-transformers/all-MiniLM-L6-v2", "fine-tuned": "sre-embedding-model"}
TASKS = ["suffix", "xpos", "deprel"]
DATA = "ud:en_ewt"
SEED = 0
DEV_FRACTION = 0.1
# The fine-tuned model's tokenizer says 256 but its position table has 512 like the original; one
# en_ewt test word has 335 pieces, so both models read windows of 512.
MAX_LENGTH = 512
log = logging.getLogger("make_figures")


def model_id(model_key):
    return MODELS[model_key] if model_key in MODELS else ARCHS[model_key]


def stores(model_key):
    out = {}
    for split in ("dev", "test"):
        corpus = load_corpus(DATA, split=split)
        out[split] = (corpus, extract(model_id(model_key), corpus, max_length=MAX_LENGTH, progress=False))
    return out


def labels(task, dev_corpus, test_corpus):
    t = Task(task, seed=SEED).fit(dev_corpus)
    return np.concatenate(t.transform(dev_corpus)), np.concatenate(t.transform(test_corpus)), t


def split_rows(store):
    """The train/dev sentence split of :func:`neuronbook.lca.analyze_store` (same seed, same fraction)."""
    return split_store_rows(store, DEV_FRACTION, SEED)


def cached(name, compute):
    """The LCA result ``compute()``, cached as the result directory cache_dir()/analysis/<name>."""
    path = cache_dir() / "analysis" / name
    if (path / "config.json").is_file():
        return LCAResult.load(path)
    t = time.perf_counter()
    res = compute()
    log.info("LCA %s: %.0f s", name, time.perf_counter() - t)
    res.save(path)
    return res


def lca(model_key, task):
    """LCA result of (model, task), cached as a result directory."""
    return cached(f"{model_key}-{task}", lambda: _lca(model_key, task))


def _lca(model_key, task):
    s = stores(model_key)
    (dev_c, dev_s), (test_c, test_s) = s["dev"], s["test"]
    y_dev, y_test, _ = labels(task, dev_c, test_c)
    c_dev, c_test, _ = labels(f"control:{task}", dev_c, test_c)
    # The fine-tuned model reuses the pretrained model's regularisation for the task: a controlled
    # comparison, and one search less per task.
    # Only the minimal set and accuracies are compared, so it skips ablation and selectivity.
    reg = {}
    if model_key != "pretrained":
        pre = lca("pretrained", task)
        reg = {"l1": pre.config["l1"], "l2": pre.config["l2"], "ablation_percents": ()}
        c_dev = c_test = None
    return analyze_store(dev_s, y_dev, test_s, y_test, control_train=c_dev, control_test=c_test,
                         dev_fraction=DEV_FRACTION, seed=SEED, progress=False, **reg,
                         config={"model": model_id(model_key), "data": DATA, "task": task})


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
            rows.append({"model": model_key, "task": task, "n_classes": r.config["n_classes"],
                         "l1": r.config["l1"], "oracle_test": oracle["test"], "n_neurons": int(ms["n_neurons"]),
                         "percent": ms["percent"], "minimal_test": ms["test_accuracy"],
                         "top10": abl["top"], "random10": abl["random"], "bottom10": abl["bottom"], "wall_s": r.config.get("analysis_time_s")})
    save(pd.DataFrame(rows), "lca_summary")


def step_layerwise():
    frames = []
    for model_key in MODELS:
        s = stores(model_key)
        (dev_c, dev_s), (test_c, test_s) = s["dev"], s["test"]
        train_rows, dev_rows = split_rows(dev_s)
        X_all, X_test = dev_s.activations(), test_s.activations()
        for task in TASKS:
            r = lca(model_key, task)
            y_all, y_test, _ = labels(task, dev_c, test_c)
            # LCA's penalties with bigger batches and a higher rate: 42 fits in minutes, not half an hour
            params = {**DEFAULT_PROBE_PARAMS, "batch_size": 1024, "lr": 1e-2}
            probe = ElasticNetProbe(l1=r.config["l1"], l2=r.config["l2"], seed=SEED, **params)
            lw = an.layerwise_probing(X_all[train_rows], y_all[train_rows], X_test, y_test, dev_s.neuron_index(),
                                      X_dev=X_all[dev_rows], y_dev=y_all[dev_rows], probe=probe, progress=False)
            frames.append(lw.assign(model=model_key, task=task))
    lw = pd.concat(frames, ignore_index=True)
    save(lw, "layerwise")
    pre = lw[lw.model == "pretrained"]
    plots.save_chart(plots.layerwise_accuracy_chart(pre, color="task"), OUT / "layerwise_accuracy.png")


def step_localization():
    sel = []
    per_tag = {}
    for task in TASKS:
        r = lca("pretrained", task)
        sel.append(r.selected.assign(task=task))
        per_tag[task] = r
    sel = pd.concat(sel, ignore_index=True)
    n_layers = per_tag["xpos"].n_layers
    loc = an.localization(sel, n_layers, by="task")
    save(loc, "localization")
    dist = an.layer_distribution(sel, n_layers, by="task")
    save(dist, "layer_distribution")
    plots.save_chart(plots.layer_distribution_chart(dist, facet="task"), OUT / "layer_distribution.png")
    r = per_tag["xpos"]
    dev_c = load_corpus(DATA, split="dev")
    task = Task("xpos", seed=SEED).fit(dev_c)
    npt = an.neurons_per_tag(r.per_tag_ranking, n_layers, tag_counts=task.counts_)
    save(npt, "xpos_neurons_per_tag")
    cells = an.tag_layer_counts(r.per_tag_ranking, n_layers)
    plots.save_chart(plots.tag_layer_heatmap(cells), OUT / "xpos_tag_layer_heatmap.png")


def step_redundancy():
    r = lca("pretrained", "xpos")
    s = stores("pretrained")
    (dev_c, dev_s), (test_c, test_s) = s["dev"], s["test"]
    y_all, y_test, _ = labels("xpos", dev_c, test_c)
    train_rows, dev_rows = split_rows(dev_s)
    X_all = dev_s.activations()
    t = time.perf_counter()
    res = an.disjoint_minimal_sets(X_all[train_rows], y_all[train_rows], X_all[dev_rows], y_all[dev_rows],
                                   test_s.activations(), y_test, neuron_index=dev_s.neuron_index(),
                                   l1=r.config["l1"], l2=r.config["l2"], probe_params=DEFAULT_PROBE_PARAMS,
                                   seed=SEED, max_sets=int(sys.argv[-1]) if sys.argv[-1].isdigit() else 10,
                                   progress=False)
    log.info("disjoint sets: %.0f s", time.perf_counter() - t)
    save(res.summary, "xpos_disjoint_sets")
    dist = an.layer_distribution(res.sets.assign(set=res.sets["set"].map(lambda i: f"set {i}")), r.n_layers,
                                 by="set")
    save(dist, "xpos_disjoint_sets_layers")
    plots.save_chart(plots.layer_distribution_chart(dist, facet="set"), OUT / "xpos_disjoint_sets_layers.png")


def step_clusters():
    s = stores("pretrained")
    dev_s = s["dev"][1]
    rows = np.random.default_rng(SEED).choice(dev_s.n_words, 10000, replace=False)
    X = dev_s.activations()[np.sort(rows)]
    idx = dev_s.neuron_index()
    out = []
    for threshold in (0.1, 0.2, 0.3, 0.5):
        cl = an.correlation_clusters(X, threshold=threshold, neuron_index=idx)
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
    s = stores("pretrained")
    (dev_c, dev_s), (test_c, test_s) = s["dev"], s["test"]
    y_all, _, _ = labels("xpos", dev_c, test_c)
    train_rows, _ = split_rows(dev_s)
    X = dev_s.activations()[train_rows]
    y = y_all[train_rows]
    idx = dev_s.neuron_index()
    rankings = {"lca": r.ranking}
    times = {}
    for method in an.RANKERS:
        t = time.perf_counter()
        # AP sorts every neuron's activations: a 5,000-word sample keeps it to seconds
        sub = np.random.default_rng(SEED).choice(len(X), 5000, replace=False) if method == "ap" else slice(None)
        rankings[method] = an.rank_neurons(X[sub], y[sub], method=method, neuron_index=idx)
        times[method] = time.perf_counter() - t
    n_min = int(r.minimal_set["n_neurons"].iloc[0])
    agree = an.ranker_agreement(rankings, k=[n_min, 269])
    save(agree, "xpos_ranker_agreement")
    (OUT / "xpos_ranker_times.json").write_text(json.dumps(times, indent=1))


LANG_MODEL = "e5-small"  # intfloat/multilingual-e5-small, a 4-bit approximation of its weights
LANGUAGES = ["en", "de", "it", "nl"]  # the first (largest dev set) chooses the regularisation for all
ARCHS = {"minilm-l6": MODELS["pretrained"], "minilm-l3": "minilm-l3", "e5-small": LANG_MODEL}


def step_languages():
    # Only the minimal sets are compared: no control task, no ablation.
    opts = {"task": "sem", "train": "dev", "test": "test", "seed": SEED, "progress": False, "control": False,
            "ablation_percents": ()}
    first = LANGUAGES[0]
    ref = cached(f"e5-small-sem-{first}", lambda: run_lca(LANG_MODEL, data=f"pmb:{first}", **opts))
    reg = {"l1": ref.config["l1"], "l2": ref.config["l2"]}
    res = {first: ref}
    for lang in LANGUAGES[1:]:
        res[lang] = cached(f"e5-small-sem-{lang}-l1={reg['l1']:g}",
                           lambda lang=lang: run_lca(LANG_MODEL, data=f"pmb:{lang}", **opts, **reg))
    cmp = an.language_comparison({lang: an.NeuronSelection.from_lca(r) for lang, r in res.items()})
    save(cmp.summary.assign(**{k: [r.config[k] for r in res.values()]
                               for k in ("l1", "n_classes", "n_train", "n_test", "wall_time_s")}),
         "languages_summary")
    save(cmp.layers, "languages_layers")
    save(cmp.similarity, "languages_similarity")
    save(cmp.tag_similarity, "languages_tag_similarity")
    save(cmp.shared, "languages_shared")
    plots.save_chart(plots.language_similarity_chart(cmp.layers, cmp.similarity), OUT / "languages_similarity.png")


def step_architectures():
    # minilm-l6 is the pretrained xpos run (searched penalties); the others reuse its penalties (see _lca)
    res = {"minilm-l6": lca("pretrained", "xpos")}
    for key in [a for a in sys.argv[1:] if a in ARCHS and a != "minilm-l6"] or ["minilm-l3"]:
        res[key] = lca(key, "xpos")
    cmp = an.architecture_comparison({k: an.NeuronSelection.from_lca(r) for k, r in res.items()})
    save(cmp.summary, "architectures_summary")
    save(cmp.layers, "architectures_layers")
    plots.save_chart(plots.architecture_comparison_chart(cmp.layers), OUT / "architectures.png")


STEPS = {"lca": step_lca, "layerwise": step_layerwise, "localization": step_localization,
         "redundancy": step_redundancy, "clusters": step_clusters, "finetuning": step_finetuning,
         "rankers": step_rankers, "languages": step_languages, "architectures": step_architectures}

if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    unknown = [a for a in sys.argv[1:] if not a.isdigit() and a not in STEPS and a not in ARCHS]
    if unknown:
        sys.exit(f"unknown step(s) {unknown}; steps: {list(STEPS)}; architectures: {list(ARCHS)}")
    wanted = [a for a in sys.argv[1:] if a in STEPS] or list(STEPS)
    for name in wanted:
        t0 = time.perf_counter()
        STEPS[name]()
        log.info("step %s: %.0f s", name, time.perf_counter() - t0)
