"""Linguistic Correlation Analysis end to end: probe, rank, evaluate, one result object.

Three levels:

* :func:`run_lca` -- (model, corpus, task) names in, :class:`LCAResult` out
  (loads the corpus, extracts or reuses the cached activations, labels the words);
* :func:`analyze_store` -- activation stores and per-word labels in;
* :func:`lca_from_arrays` -- plain arrays in (train / dev / test).
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from . import evaluate as ev
from .rank import neuron_ordering, neuron_scores, neuron_tags, per_tag_ranking, ranking_frame

__all__ = ["LCAResult", "DEFAULT_PROBE_PARAMS", "lca_from_arrays", "split_store_rows", "analyze_store", "run_lca"]

logger = logging.getLogger(__name__)

#: Probe settings of the pipeline (see docs/lca.md for how they were chosen).
DEFAULT_PROBE_PARAMS = {"epochs": 10, "batch_size": 256, "lr": 3e-3, "standardize": True, "solver": "proximal"}

_TABLES = ("ranking", "per_tag_ranking", "oracle", "curve", "minimal_set", "ablation", "selectivity",
           "layer_distribution", "tag_layer_distribution", "regularization")


def _empty(*cols):
    return pd.DataFrame(columns=list(cols))


@dataclass
class LCAResult:
    """All tables of one analysis (tidy DataFrames) and its configuration.

    Attributes
    ----------
    ranking : DataFrame
        Every neuron: ``rank`` (1 = most salient), ``column``, ``layer``, ``neuron``, ``tag`` (the
        class it weighs most for), ``score`` (its largest share of a class's weight mass), ``chunk``.
    per_tag_ranking : DataFrame
        ``tag``, ``rank``, ``column``, ``layer``, ``neuron``, ``score`` (top set of each tag).
    oracle : DataFrame
        ``split``, ``accuracy``, ``n_neurons`` of the probe on all neurons.
    curve : DataFrame
        Minimal-set search: ``selection``, ``method``, ``percent``, ``n_neurons``, ``split``, ``accuracy``.
    minimal_set : DataFrame
        One row: ``n_neurons``, ``percent``, ``dev_accuracy``, ``test_accuracy``, ``target``, ``reached``.
    ablation : DataFrame
        ``selection`` (top/random/bottom), ``method`` (retrain/zero-out), ``percent``, ``n_neurons``,
        ``split``, ``accuracy``.
    selectivity : DataFrame
        ``selection``, ``n_neurons``, ``task_accuracy``, ``control_accuracy``, ``selectivity``.
    layer_distribution : DataFrame
        Minimal set per layer: ``layer``, ``count``, ``share``, ``layer_size``, ``fraction``.
    tag_layer_distribution : DataFrame
        ``tag``, ``layer``, ``count``, ``share``.
    regularization : DataFrame
        The grid of :func:`neuronbook.evaluate.search_regularization` (empty when l1/l2 were given).
    config : dict
        Inputs, chosen ``l1``/``l2``, sizes, timings.

    Examples
    --------
    >>> r = LCAResult(config={"n_layers": 2})
    >>> r.n_layers
    2
    """

    ranking: pd.DataFrame = field(default_factory=lambda: _empty("rank", "column", "layer", "neuron", "tag", "score"))
    per_tag_ranking: pd.DataFrame = field(default_factory=lambda: _empty("tag", "rank", "column", "layer", "neuron",
                                                                         "score"))
    oracle: pd.DataFrame = field(default_factory=lambda: _empty("split", "accuracy", "n_neurons"))
    curve: pd.DataFrame = field(default_factory=lambda: _empty("selection", "method", "percent", "n_neurons", "split",
                                                               "accuracy"))
    minimal_set: pd.DataFrame = field(default_factory=lambda: _empty("n_neurons", "percent", "dev_accuracy",
                                                                     "test_accuracy", "target", "reached"))
    ablation: pd.DataFrame = field(default_factory=lambda: _empty("selection", "method", "percent", "n_neurons",
                                                                  "split", "accuracy"))
    selectivity: pd.DataFrame = field(default_factory=lambda: _empty("selection", "n_neurons", "task_accuracy",
                                                                     "control_accuracy", "selectivity"))
    layer_distribution: pd.DataFrame = field(default_factory=lambda: _empty("layer", "count", "share"))
    tag_layer_distribution: pd.DataFrame = field(default_factory=lambda: _empty("tag", "layer", "count", "share"))
    regularization: pd.DataFrame = field(default_factory=lambda: _empty("l1", "l2", "dev_accuracy"))
    config: dict = field(default_factory=dict)

    @property
    def n_layers(self) -> int:
        """Number of layers of the analysed activations (embeddings included)."""
        if "n_layers" in self.config:
            return int(self.config["n_layers"])
        return int(self.ranking["layer"].max()) + 1 if len(self.ranking) else 0

    @property
    def selected(self) -> pd.DataFrame:
        """The minimal neuron set: the head of ``ranking``."""
        n = int(self.minimal_set["n_neurons"].iloc[0]) if len(self.minimal_set) else 0
        return self.ranking.sort_values("rank").head(n).reset_index(drop=True)

    def tables(self) -> dict:
        """Name -> DataFrame of every table."""
        return {name: getattr(self, name) for name in _TABLES}

    def save(self, directory):
        """Write every table as ``<name>.parquet`` and the configuration as ``config.json``; returns the path."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        for name, df in self.tables().items():
            df.to_parquet(directory / f"{name}.parquet", index=False)
        (directory / "config.json").write_text(json.dumps(self.config, indent=2, default=_json_default))
        return directory

    @classmethod
    def load(cls, directory):
        """Read a result written by :meth:`save`."""
        directory = Path(directory)
        cfg_path = directory / "config.json"
        if not cfg_path.is_file():
            raise FileNotFoundError(f"{cfg_path} not found: {directory} is not an LCA result directory")
        tables = {}
        for name in _TABLES:
            path = directory / f"{name}.parquet"
            if not path.is_file():
                raise FileNotFoundError(f"{path} is missing from the LCA result directory {directory}")
            tables[name] = pd.read_parquet(path)
        return cls(**tables, config=json.loads(cfg_path.read_text()))

    def headline(self) -> pd.DataFrame:
        """The key figures as a two-column table (``metric``, ``value``)."""
        c = self.config
        rows = [("l1", c.get("l1")), ("l2", c.get("l2"))]
        for split in ("dev", "test"):
            acc = self.oracle.loc[self.oracle["split"] == split, "accuracy"]
            if len(acc):
                rows.append((f"oracle {split} accuracy", round(float(acc.iloc[0]), 4)))
        if len(self.minimal_set):
            ms = self.minimal_set.iloc[0]
            rows += [("minimal set neurons", int(ms["n_neurons"])), ("minimal set %", round(float(ms["percent"]), 2)),
                     ("minimal set test accuracy", round(float(ms["test_accuracy"]), 4))]
        test = self.ablation[self.ablation["split"] == "test"]
        for (method, pct), grp in test.groupby(["method", "percent"], sort=False):
            acc = grp.set_index("selection")["accuracy"]
            for sel in ("top", "random", "bottom"):
                if sel in acc:
                    rows.append((f"{method} {sel} {pct:g}% test accuracy", round(float(acc[sel]), 4)))
            if "top" in acc and "random" in acc:
                rows.append((f"{method} top - random at {pct:g}%", round(float(acc["top"] - acc["random"]), 4)))
        for _, s in self.selectivity.iterrows():
            rows.append((f"selectivity ({s['selection']}, {int(s['n_neurons'])} neurons)", round(float(s["selectivity"]), 4)))
        if "wall_time_s" in c:
            rows.append(("wall time (s)", round(float(c["wall_time_s"]), 1)))
        return pd.DataFrame(rows, columns=["metric", "value"])

    def summary(self) -> str:
        """A short plain-text report: configuration, headline figures, layer distribution."""
        c = self.config
        head = f"LCA  model={c.get('model', '?')}  data={c.get('data', '?')}  task={c.get('task', '?')}"
        sizes = f"{c.get('n_train', '?')} train / {c.get('n_dev', '?')} dev / {c.get('n_test', '?')} test words, " \
                f"{c.get('n_neurons_total', len(self.ranking))} neurons, {c.get('n_classes', '?')} classes"
        lines = [head, sizes]
        if c.get("approximation"):
            lines.append(f"NOTE: activations of an approximate model: {c['approximation']}")
        lines += ["", self.headline().to_string(index=False)]
        if len(self.layer_distribution):
            ld = self.layer_distribution[["layer", "count", "share"]].copy()
            ld["share"] = ld["share"].round(3)
            lines += ["", "minimal set by layer:", ld.to_string(index=False)]
        return "\n".join(lines)

    def __str__(self):
        return self.summary()

    def _repr_html_(self):
        c = self.config
        return (f"<b>LCA</b> {c.get('model', '')} / {c.get('data', '')} / {c.get('task', '')}"
                + self.headline().to_html(index=False)
                + "<p>minimal set by layer</p>" + self.layer_distribution.to_html(index=False))


def _json_default(obj):
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"cannot write {type(obj).__name__} to config.json")


def lca_from_arrays(X_train, y_train, X_dev, y_dev, X_test, y_test, neuron_index=None, *, control=None,
                    l1=None, l2=None, delta=0.01, percents=ev.PERCENT_GRID, ablation_percents=(10,),
                    search_grid=ev.DEFAULT_REGULARIZATION_GRID, search_tolerance=0.02, search_max_train=None,
                    probe_params=None, search_stride=100, tag_percentage=0.5, seed=0, progress=False, config=None):
    """Run the whole analysis on arrays.

    Parameters
    ----------
    X_train, X_dev, X_test : numpy.ndarray, (words, neurons)
        Activations; ``dev`` chooses the regularisation and the minimal set, ``test`` reports.
    y_train, y_dev, y_test : array-like
        One label per word.
    neuron_index : DataFrame, optional
        ``layer``, ``neuron`` per column (default: one layer).
    control : tuple, optional
        ``(control_train, control_test)`` labels of the control task; adds the selectivity table.
    l1, l2 : float, optional
        Penalties; both None -> :func:`neuronbook.evaluate.search_regularization`; one given ->
        the other takes the same value.
    delta : float
        Minimal set: smallest prefix reaching ``oracle dev accuracy * (1 - delta)``.
    ablation_percents : sequence of float
        Sizes (percent of all neurons) of the top/random/bottom ablations.
    probe_params : dict, optional
        Extra :class:`ElasticNetProbe` arguments (default :data:`DEFAULT_PROBE_PARAMS`).
    tag_percentage : float
        Weight-mass share that defines each tag's own top set (``per_tag_ranking``).
    config : dict, optional
        Extra entries for ``LCAResult.config`` (model, data, task, ...).

    Returns
    -------
    LCAResult

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(900, 12)).astype("float32"); y = np.where(X[:, 5] > 0, "A", "B")
    >>> r = lca_from_arrays(X[:600], y[:600], X[600:750], y[600:750], X[750:], y[750:], l1=1e-3,
    ...                     probe_params={"epochs": 20, "batch_size": 32, "lr": 1e-2}, percents=(10, 50),
    ...                     ablation_percents=(10,))
    >>> int(r.ranking.loc[0, "column"]), int(r.minimal_set.loc[0, "n_neurons"])
    (5, 1)
    """
    t0 = time.perf_counter()
    params = dict(DEFAULT_PROBE_PARAMS if probe_params is None else probe_params)
    n_total = X_train.shape[1]
    if neuron_index is None:
        neuron_index = pd.DataFrame({"layer": np.zeros(n_total, np.int64), "neuron": np.arange(n_total)})
    if len(neuron_index) != n_total:
        raise ValueError(f"neuron_index has {len(neuron_index)} rows but X has {n_total} columns")
    for name, X, y in (("train", X_train, y_train), ("dev", X_dev, y_dev), ("test", X_test, y_test)):
        if len(X) != len(y):
            raise ValueError(f"{name}: {len(X)} activation rows but {len(y)} labels")
        if X.shape[1] != n_total:
            raise ValueError(f"{name}: {X.shape[1]} columns but train has {n_total}")
    timings = {}

    t = time.perf_counter()
    if l1 is None and l2 is None:
        regularization, (l1, l2) = ev.search_regularization(
            X_train, y_train, X_dev, y_dev, grid=search_grid, tolerance=search_tolerance, probe_params=params,
            max_train=search_max_train, search_stride=search_stride, seed=seed, progress=progress)
    else:
        l1 = l2 if l1 is None else l1
        l2 = l1 if l2 is None else l2
        regularization = _empty("l1", "l2", "dev_accuracy", "top", "random", "bottom", "gap_random", "gap_bottom",
                                "gap", "eligible", "chosen")
    timings["search_s"] = time.perf_counter() - t
    common = {"l1": l1, "l2": l2, "probe_params": params, "seed": seed}

    t = time.perf_counter()
    probe, oracle = ev.oracle(X_train, y_train, X_dev, y_dev, X_test, y_test, **common)
    timings["oracle_s"] = time.perf_counter() - t
    ordering, boundaries = neuron_ordering(probe.coef_, search_stride)
    ranking = ranking_frame(ordering, neuron_index, scores=neuron_scores(probe.coef_),
                            tags=neuron_tags(probe.coef_, probe.classes_),
                            boundaries=boundaries)
    per_tag = per_tag_ranking(probe.coef_, probe.classes_.tolist(), neuron_index, percentage=tag_percentage)

    t = time.perf_counter()
    dev_acc = float(oracle.loc[oracle["split"] == "dev", "accuracy"].iloc[0])
    ms, curve = ev.minimal_set(ordering, X_train, y_train, X_dev, y_dev, X_test, y_test, oracle_accuracy=dev_acc,
                               delta=delta, percents=percents, progress=progress, **common)
    timings["minimal_set_s"] = time.perf_counter() - t

    t = time.perf_counter()
    ablation = ev.ablation(ordering, X_train, y_train, X_test, y_test, probe=probe, percents=ablation_percents,
                           X_dev=X_dev, y_dev=y_dev, progress=progress, **common)
    timings["ablation_s"] = time.perf_counter() - t

    t = time.perf_counter()
    if control is not None:
        c_train, c_test = control
        selectivity = ev.selectivity(X_train, y_train, c_train, X_test, y_test, c_test,
                                     selections={"all": None, "minimal set": ms["columns"]}, **common)
    else:
        selectivity = _empty("selection", "n_neurons", "task_accuracy", "control_accuracy", "selectivity")
    timings["selectivity_s"] = time.perf_counter() - t

    layers = ev.selection_by_layer(ms["columns"], neuron_index)
    tag_layers = ev.tag_selection_by_layer(per_tag)
    minimal = pd.DataFrame([{k: v for k, v in ms.items() if k != "columns"}])
    cfg = dict(config or {})
    cfg.update({
        "l1": float(l1), "l2": float(l2), "searched": bool(len(regularization)), "delta": delta, "seed": seed,
        "probe_params": params, "search_stride": search_stride, "tag_percentage": tag_percentage,
        "ablation_percents": list(ablation_percents), "n_train": len(X_train), "n_dev": len(X_dev),
        "n_test": len(X_test), "n_neurons_total": n_total, "n_classes": len(probe.classes_),
        "classes": probe.classes_.tolist(), "n_layers": int(pd.Series(neuron_index["layer"]).nunique()),
        "unseen_test_labels": {str(k): int(v) for k, v in probe.unseen_labels(y_test).items()},
        "timings_s": timings, "analysis_time_s": time.perf_counter() - t0,
    })
    cfg.setdefault("wall_time_s", cfg["analysis_time_s"])
    return LCAResult(ranking=ranking, per_tag_ranking=per_tag, oracle=oracle, curve=curve, minimal_set=minimal,
                     ablation=ablation, selectivity=selectivity, layer_distribution=layers,
                     tag_layer_distribution=tag_layers, regularization=regularization, config=cfg)


def _flat(labels, n_words, what):
    if len(labels) and isinstance(labels[0], (list, tuple)):
        labels = [lab for sent in labels for lab in sent]
    labels = np.asarray(labels)
    if len(labels) != n_words:
        raise ValueError(f"{what}: {len(labels)} labels for {n_words} words in the activation store")
    return labels


def split_store_rows(store, dev_fraction=0.1, seed=0):
    """Word rows of a seeded train / dev split of a store's sentences (the split of :func:`analyze_store`).

    Whole sentences go to one side, so no sentence leaks its context into the other.

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        Train rows and dev rows, each in store order.

    Examples
    --------
    >>> import tempfile
    >>> from neuronbook.store import ActivationStore
    >>> s = ActivationStore.from_array(tempfile.mkdtemp() + "/s", np.zeros((5, 1, 1), "float32"),
    ...                                [["a", "b"], ["c"], ["d", "e"]], {})
    >>> train, dev = split_store_rows(s, dev_fraction=0.34, seed=0)
    >>> sorted(train.tolist() + dev.tolist())
    [0, 1, 2, 3, 4]
    """
    if not 0 < dev_fraction < 1:
        raise ValueError(f"dev_fraction must be in (0, 1), got {dev_fraction}")
    n_sent = store.n_sentences
    perm = np.random.default_rng(seed).permutation(n_sent)
    n_dev = max(1, int(round(n_sent * dev_fraction)))
    if n_dev >= n_sent:
        raise ValueError(f"the training store has {n_sent} sentences: too few to hold out a dev part")
    return store.word_rows(np.sort(perm[n_dev:])), store.word_rows(np.sort(perm[:n_dev]))


def analyze_store(train_store, train_labels, test_store, test_labels, *, control_train=None, control_test=None,
                  dev_fraction=0.1, layers=None, seed=0, **kw):
    """Run LCA on activation stores.

    The sentences of ``train_store`` are split (seeded, by sentence) into train and a
    ``dev_fraction`` dev part; ``test_store`` is the test set.

    Parameters
    ----------
    train_store, test_store : ActivationStore
    train_labels, test_labels : list of list of str or flat array
        One label per word of the store, in store order.
    control_train, control_test : optional
        Control-task labels (same shapes); adds selectivity.
    layers : optional
        Restrict the analysis to these layers.
    **kw
        Passed to :func:`lca_from_arrays`.

    Returns
    -------
    LCAResult
    """
    y_all = _flat(train_labels, train_store.n_words, "train labels")
    y_test = _flat(test_labels, test_store.n_words, "test labels")
    rows_train, rows_dev = split_store_rows(train_store, dev_fraction, seed)
    n_dev = max(1, int(round(train_store.n_sentences * dev_fraction)))
    X_all = train_store.activations(layers=layers)
    X_test = test_store.activations(layers=layers)
    control = None
    if control_train is not None and control_test is not None:
        c_all = _flat(control_train, train_store.n_words, "control train labels")
        control = (c_all[rows_train], _flat(control_test, test_store.n_words, "control test labels"))
    cfg = dict(kw.pop("config", None) or {})
    # Where the activations come from travels with the result: a 4-bit model must say so.
    cfg.setdefault("store", {k: train_store.metadata.get(k) for k in ("key", "model", "weights", "aggregation", "dtype")})
    cfg.setdefault("approximation", train_store.metadata.get("approximation"))
    cfg.update({"dev_fraction": dev_fraction, "n_train_sentences": train_store.n_sentences - n_dev,
                "n_dev_sentences": n_dev, "n_test_sentences": test_store.n_sentences,
                "store_train": str(getattr(train_store, "path", "")), "store_test": str(getattr(test_store, "path", ""))})
    return lca_from_arrays(X_all[rows_train], y_all[rows_train], X_all[rows_dev], y_all[rows_dev], X_test, y_test,
                           train_store.neuron_index(layers=layers), control=control, seed=seed, config=cfg, **kw)


def run_lca(model=None, data="ud:en_ewt", task="xpos", train="dev", test="test", dev_fraction=0.1,
            aggregation="mean", l1=None, l2=None, delta=0.01, control=True, layers=None, seed=0, progress=True,
            data_dir=None, **kw):
    """The whole analysis for (model, corpus, task), from the activation store.

    Parameters
    ----------
    model : str or (model, tokenizer), optional
        Default :data:`neuronbook.models.DEFAULT_MODEL` (the packaged all-MiniLM-L6-v2).
    data : str
        Named corpus (``ud:en_ewt``, ``pmb:en``, ...) or a corpus file.
    task : str
        A :class:`neuronbook.corpus.Task` name (``xpos``, ``upos``, ``deprel``, ``suffix``, ...).
    train, test : str
        Splits: the probe is trained on ``train`` (minus a ``dev_fraction`` of its sentences,
        used to choose the regularisation and the minimal set) and reported on ``test``.
    aggregation : str
        Sub-word aggregation of :func:`neuronbook.extract.extract`.
    l1, l2 : float, optional
        None -> regularisation search.
    control : bool
        Also run the control task ``control:<task>`` (selectivity).
    **kw
        Passed to :func:`lca_from_arrays` (``probe_params``, ``ablation_percents``, ...).

    Returns
    -------
    LCAResult
    """
    from .corpus import Task
    from .datasets import load_corpus
    from .extract import extract
    from .models import DEFAULT_MODEL

    t0 = time.perf_counter()
    model = DEFAULT_MODEL if model is None else model
    train_corpus = load_corpus(data, split=train, data_dir=data_dir)
    test_corpus = load_corpus(data, split=test, data_dir=data_dir)
    labeler = Task(task, seed=seed).fit(train_corpus)
    y_train, y_test = labeler.transform(train_corpus), labeler.transform(test_corpus)
    c_train = c_test = None
    if control:
        ctrl = Task(f"control:{task}", seed=seed).fit(train_corpus)
        c_train, c_test = ctrl.transform(train_corpus), ctrl.transform(test_corpus)
    t = time.perf_counter()
    if isinstance(model, str):
        from .models import load_model

        model_name = model
        model = load_model(model)  # once, for both stores
    else:
        m = model[0] if isinstance(model, (tuple, list)) else model
        model_name = getattr(m, "neuronbook_id", None) or getattr(m.config, "name_or_path", None) or "model"
    train_store = extract(model, train_corpus, aggregation=aggregation, progress=progress)
    test_store = extract(model, test_corpus, aggregation=aggregation, progress=progress)
    extract_s = time.perf_counter() - t
    cfg = dict(kw.pop("config", None) or {})
    cfg.update({"model": model_name, "data": data, "task": task, "train": train, "test": test,
                "aggregation": aggregation, "extract_s": extract_s})
    result = analyze_store(train_store, y_train, test_store, y_test, control_train=c_train, control_test=c_test,
                           dev_fraction=dev_fraction, layers=layers, seed=seed, l1=l1, l2=l2, delta=delta,
                           progress=progress, config=cfg, **kw)
    result.config["wall_time_s"] = time.perf_counter() - t0
    return result
