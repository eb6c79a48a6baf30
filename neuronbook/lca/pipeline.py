"""The analysis itself: probe, rank, evaluate, from arrays, from activation stores, or from a config.

* :func:`run_lca` -- a config (model, corpus, task names) in, :class:`~neuronbook.lca.LCAResult` out,
  through the result cache (:mod:`neuronbook.lca.cache`);
* :func:`analyze_store` -- activation stores and per-word labels in;
* :func:`lca_from_arrays` -- plain arrays in (train / dev / test).
"""

from __future__ import annotations

import dataclasses
import logging
import time
import warnings

import numpy as np
import pandas as pd

from ..config import LCAConfig
from ..exceptions import ApproximationWarning, RareTagsWarning, UnseenLabelsWarning
from ..neurons import as_neuron_index, neuron_table, positions
from .cache import load_cached, remember_request, request_key, result_key, results_root, save_cached
from .data import flat_labels, load_splits, n_dev_sentences, prepare_stores, resolve_config, split_info, \
    split_store_rows, store_info, store_keys, store_view
from ..tables import COLUMNS, empty
from .result import LCAResult, combine_seeds

__all__ = ["lca_from_arrays", "analyze_store", "run_lca", "rare_tags", "rank_tables"]

logger = logging.getLogger(__name__)


def rare_tags(tags, n_train, min_tag_count: int) -> dict:
    """The tags with fewer than ``min_tag_count`` training words, with their counts (tag order kept).

    Examples
    --------
    >>> rare_tags(["$", "NN", "GW"], [1, 900, 3], 10)
    {'$': 1, 'GW': 3}
    """
    return {str(t): int(n) for t, n in zip(tags, n_train) if n < min_tag_count}


def rank_tables(coef, tags, index: pd.MultiIndex, config: LCAConfig, n_layers: int, n_train):
    """Ranking, per-tag ranking and per-tag layer counts of ``coef``; rare tags stay out of the ranking.

    A tag seen on a handful of training words gets large weights on whatever separates those words,
    and the sweep gives every tag's head the same standing: such tags would lead the ranking. They
    keep their per-tag rows (``rare`` True) but take no part in the global ordering.
    """
    from ..analysis.layers import tag_layer_counts
    from ..rank import neuron_ordering, neuron_scores, neuron_tags, per_tag_ranking, ranking_frame

    tags = np.asarray(tags)
    rare = rare_tags(tags, n_train, config.min_tag_count)
    keep = np.asarray([str(t) not in rare for t in tags])
    if not keep.any():
        raise ValueError(f"every tag has fewer than min_tag_count={config.min_tag_count} training words (the most "
                         f"frequent has {int(np.max(n_train))}): lower LCAConfig.min_tag_count or use more data")
    W = np.asarray(coef)[keep]
    ordering, boundaries = neuron_ordering(W, config.search_stride)
    ranking = ranking_frame(ordering, index, scores=neuron_scores(W), tags=neuron_tags(W, tags[keep]),
                            boundaries=boundaries)
    per_tag = per_tag_ranking(coef, list(tags), index, percentage=config.tag_percentage)
    per_tag["rare"] = per_tag["tag"].astype(str).isin(list(rare))
    return ranking, per_tag, tag_layer_counts(per_tag, n_layers)


def _class_counts(classes, **splits) -> pd.DataFrame:
    out = pd.DataFrame({"tag": np.asarray(classes)})
    for name, y in splits.items():
        labels, counts = np.unique(np.asarray(y), return_counts=True)
        out[f"n_{name}"] = pd.Series(counts, index=labels).reindex(out["tag"], fill_value=0).to_numpy(np.int64)
    return out


def lca_from_arrays(X_train, y_train, X_dev, y_dev, X_test, y_test, neurons=None, *, config=None, control=None,
                    n_layers: int | None = None, dev_groups=None, info: dict | None = None, progress="auto",
                    **overrides):
    """Run the whole analysis on arrays.

    Parameters
    ----------
    X_train, X_dev, X_test : numpy.ndarray, (words, neurons)
        Activations; ``dev`` chooses the regularisation and the minimal set, ``test`` reports.
    y_train, y_dev, y_test : array-like
        One label per word.
    neurons : pandas.MultiIndex or DataFrame, optional
        ``(layer, neuron)`` of each column (default: neurons 0..n-1 of layer 0).
    config : LCAConfig or dict, optional
        Settings (ranking, evaluation and probe fields are used here); ``**overrides`` change some.
    control : tuple, optional
        ``(control_train, control_test)`` labels of the control task; adds the selectivity table.
    n_layers : int, optional
        Layers of the model, embeddings included (default: the largest layer + 1).
    dev_groups : array-like, optional
        The sentence of every dev word: the minimal set's bootstrap resamples whole sentences
        (default: single words).
    info : dict, optional
        Extra entries for :attr:`LCAResult.info` (provenance).

    Returns
    -------
    LCAResult

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(900, 12)).astype("float32"); y = np.where(X[:, 5] > 0, "A", "B")
    >>> r = lca_from_arrays(X[:600], y[:600], X[600:750], y[600:750], X[750:], y[750:], l1=1e-3, epochs=20,
    ...                     batch_size=32, lr=1e-2, percents=[10, 50], n_draws=0, control=False, progress=False)
    >>> r.ranking.loc[0, ["layer", "neuron"]].tolist(), int(r.minimal_set.loc[0, "n_neurons"])
    ([0, 5], 1)
    """
    from .. import evaluate as ev  # torch loads here, not when a saved result is read
    from ..rank import zero_mass_classes
    from ..settings import progress_enabled

    if "control" in overrides:  # a bool in the config, labels here
        raise TypeError("lca_from_arrays takes control=(control_train, control_test) labels, not a setting")
    config = resolve_config(config, overrides)
    progress = progress_enabled(progress)
    t0 = time.perf_counter()
    index = _check_arrays(X_train, y_train, X_dev, y_dev, X_test, y_test, neurons)
    if control is not None and control is not False:
        _check_label_kinds(**{"control train": control[0], "control test": control[1]})
    if config.standardize:  # every fit below standardises with these: one pass instead of one per fit
        from ..probe import ArrayView

        X_train = ArrayView(X_train).with_column_stats()
    n_layers = int(index.get_level_values("layer").max()) + 1 if n_layers is None else int(n_layers)
    timings = {}
    with warnings.catch_warnings():
        # every refit scores dev and test again: one summary below instead of a warning per fit
        warnings.simplefilter("ignore", UnseenLabelsWarning)
        t = time.perf_counter()
        search = _penalties(X_train, y_train, X_dev, y_dev, config, progress)
        regularization, (l1, l2) = search.table, search.best
        timings["search_s"] = time.perf_counter() - t
        estimator = config.make_probe(l1, l2)  # every fit below copies it

        t = time.perf_counter()
        # the search's fit of the chosen penalty on all training words is the oracle: not fitted twice
        reuse = search.probes.get((l1, l2)) if len(regularization) and int(regularization["n_train"].iloc[0]) == len(
            X_train) else None
        del search  # the other penalties' fits are not needed past here
        probe, oracle = ev.oracle(X_train, y_train, X_dev, y_dev, X_test, y_test, probe=reuse,
                                  estimator=estimator)
        timings["oracle_s"] = time.perf_counter() - t
        tags = probe.classes_.tolist()
        zero_mass = zero_mass_classes(probe.coef_, tags)
        if zero_mass:
            logger.info("%d tag(s) have no weight at all (%s): they select no neurons", len(zero_mass),
                        ", ".join(map(str, zero_mass)))
        n_train = _class_counts(probe.classes_, train=y_train)["n_train"].to_numpy()
        ranking, per_tag, tag_layers = rank_tables(probe.coef_, tags, index, config, n_layers, n_train)
        rare = rare_tags(tags, n_train, config.min_tag_count)
        if rare:
            logger.info("%d tag(s) with fewer than %d training words take no part in the ranking: %s", len(rare),
                        config.min_tag_count, ", ".join(f"{t}={n}" for t, n in rare.items()))
        ordering = positions(index, ranking.sort_values("rank"))

        t = time.perf_counter()
        dev_acc = float(oracle.loc[oracle["split"] == "dev", "accuracy"].iloc[0])
        ms = ev.minimal_set(ordering, X_train, y_train, X_dev, y_dev, X_test, y_test,
                                   oracle_accuracy=dev_acc, delta=config.delta, percents=config.percents,
                                   bootstrap=config.bootstrap, groups=dev_groups,
                                   oracle_correct=probe.predict(X_dev) == np.asarray(y_dev), progress=progress,
                                   estimator=estimator, seed=config.seed)
        timings["minimal_set_s"] = time.perf_counter() - t
        if not ms.reached:  # the whole ranking is the oracle: report its accuracies, not NaN
            ms = dataclasses.replace(ms, dev_accuracy=dev_acc,
                                     test_accuracy=float(oracle.set_index("split")["accuracy"].get("test", np.nan)))

        t = time.perf_counter()
        prefix_probes = ms.probes  # the top sets' refits, where the minimal set already fitted them
        ablation = ev.ablation(ordering, X_train, y_train, X_test, y_test, probe=probe,
                               percents=config.ablation_percents, methods=config.ablation_methods, X_dev=X_dev,
                               y_dev=y_dev, progress=progress, top_probes=prefix_probes, estimator=estimator,
                               seed=config.seed)
        variants = ev.ablation_variants(ordering, X_train, y_train, X_test, y_test, probe=probe,
                                        percents=config.ablation_percents, seed=config.seed, progress=progress)
        timings["ablation_s"] = time.perf_counter() - t

        t = time.perf_counter()
        draws, baselines = _baselines(ordering, X_train, y_train, X_test, y_test, index, probe, ablation, variants,
                                      config, estimator, progress)
        timings["baselines_s"] = time.perf_counter() - t

        t = time.perf_counter()
        # an unreached target leaves no minimal set: its selectivity row would repeat "all"
        selectivity = _selectivity(X_train, y_train, X_test, y_test, control,
                                   ms.columns if ms.reached else None, estimator, probe,
                                   prefix_probes.get(len(ms.columns)) if ms.reached else None)
        del prefix_probes
        ms = dataclasses.replace(ms, probes={})  # the prefixes' refits are not kept past this point (memory)
        timings["selectivity_s"] = time.perf_counter() - t

    _warn_unseen(probe, dev=y_dev, test=y_test)
    out_info = dict(info or {})
    out_info.update({
        "l1": float(l1), "l2": float(l2), "searched": bool(len(regularization)),
        "search_criterion": config.search_criterion if len(regularization) else None,
        "zero_mass_tags": [str(z) for z in zero_mass], "rare_tags": rare,
        "n_train": len(X_train), "n_dev": len(X_dev), "n_test": len(X_test), "n_layers": n_layers,
        "unseen_test_labels": {str(k): int(v) for k, v in probe.unseen_labels(y_test).items()},
        "timings_s": timings, "analysis_time_s": time.perf_counter() - t0,
    })
    out_info.setdefault("wall_time_s", out_info["analysis_time_s"])
    return LCAResult(ranking=ranking, per_tag_ranking=per_tag, oracle=oracle, curve=ms.curve,
                     minimal_set=ms.table(),
                     ablation=ablation, ablation_variants=variants, baseline_draws=draws, baselines=baselines,
                     selectivity=selectivity,
                     layer_distribution=_layer_table(index, ms.columns if ms.reached else [], n_layers),
                     tag_layer_distribution=tag_layers, regularization=regularization,
                     neurons=neuron_table(index).assign(mean=np.asarray(probe.mean_, np.float64),
                                                        scale=np.asarray(probe.scale_, np.float64)),
                     classes=_class_counts(probe.classes_, train=y_train, dev=y_dev, test=y_test).assign(
                         intercept=np.asarray(probe.intercept_, np.float64)),
                     coef=np.asarray(probe.coef_, np.float32), config=config, info=out_info)


def _baselines(ordering, X_train, y_train, X_test, y_test, index, probe, ablation, variants, config, estimator,
               progress):
    """Random and layer-matched random draws at every ablation size, and top against them."""
    from .. import evaluate as ev

    empty = LCAResult()
    if not config.n_draws or not config.ablation_percents:
        return empty.baseline_draws, empty.baselines
    n_total = len(ordering)
    test_top = ablation[(ablation["split"] == "test") & (ablation["selection"] == "top")]
    var_top = variants[(variants["split"] == "test") & (variants["selection"] == "top")
                       & (variants["fill"] == "mean")]
    draws, summaries = [], []
    for i, pct in enumerate(config.ablation_percents):
        top = {(m, "keep-selected"): a for m, a in
               test_top.loc[test_top["percent"] == float(pct), ["method", "accuracy"]].itertuples(index=False)}
        # refitting costs n_draws x 2 fits per size: done at the first size; zero-out (no fit) at every size
        methods = [m for m in config.ablation_methods if m == "zero-out" or i == 0]
        if not methods:
            continue
        variant_list = ["keep-selected"]
        if "zero-out" in methods:  # removing the selection from the trained probe costs no refit
            variant_list.append("remove-selected")
            removed = var_top[(var_top["percent"] == float(pct)) & (var_top["variant"] == "remove-selected")]
            top[("zero-out", "remove-selected")] = float(removed["accuracy"].iloc[0])
        d = pd.concat([
            # the same seeds, so the same draws, for every method; a retrain on all but a draw would cost
            # a full fit each: only keep-selected is refitted
            ev.random_baselines(ordering, X_train, y_train, X_test, y_test, neurons=index,
                                k=ev.n_for_percent(n_total, pct), n_draws=config.n_draws, methods=[m],
                                probe=probe, exclude_seeds=config.seeds or (),
                                variants=variant_list if m == "zero-out" else ["keep-selected"],
                                progress=progress, estimator=estimator, seed=config.seed)
            for m in methods], ignore_index=True)
        draws.append(d.assign(percent=float(pct)))
        summaries.append(ev.baseline_summary(top, d).assign(percent=float(pct)))
    if not draws:
        return empty.baseline_draws, empty.baselines
    draws = pd.concat(draws, ignore_index=True)
    summary = pd.concat(summaries, ignore_index=True)
    return draws[list(COLUMNS["baseline_draws"])], summary[list(COLUMNS["baselines"])]


def _warn_unseen(probe, **splits) -> None:
    """One UnseenLabelsWarning for all the words whose tag the probe never saw in training."""
    parts = []
    for name, y in splits.items():
        unseen = probe.unseen_labels(y)
        if len(unseen):
            parts.append(f"{name}: {int(unseen.sum())} of {len(y)} words ("
                         + ", ".join(f"{k}={v}" for k, v in unseen.head(8).items()) + ")")
    if parts:
        warnings.warn("tags unseen in training count as errors in every accuracy: " + "; ".join(parts),
                      UnseenLabelsWarning, stacklevel=3)


#: A tag with fewer training words than this is kept but reported: its weights rest on a handful of words.
FEW_TRAIN_WORDS = 5


def _check_arrays(X_train, y_train, X_dev, y_dev, X_test, y_test, neurons) -> pd.MultiIndex:
    """The neurons of the columns, after checking shapes, finite activations and the training classes."""
    for name, X, y in (("train", X_train, y_train), ("dev", X_dev, y_dev), ("test", X_test, y_test)):
        shape = tuple(getattr(X, "shape", None) or np.shape(X))
        if len(shape) != 2:
            raise ValueError(f"{name} activations must be 2-D (words x neurons), got shape {shape}"
                             + ("; a single neuron is X[:, [j]], not X[:, j]" if len(shape) == 1 else ""))
        if np.ndim(y) != 1:
            raise ValueError(f"{name} labels must be 1-D (one label per word), got shape {np.shape(y)}")
    n_total = X_train.shape[1]
    for name, X, y in (("train", X_train, y_train), ("dev", X_dev, y_dev), ("test", X_test, y_test)):
        if len(X) != len(y):
            raise ValueError(f"{name}: {len(X)} activation rows but {len(y)} labels")
        if X.shape[1] != n_total:
            raise ValueError(f"{name}: {X.shape[1]} columns but train has {n_total}")
    index = as_neuron_index(neurons, n_total)
    for name, X in (("train", X_train), ("dev", X_dev), ("test", X_test)):
        _check_finite(name, X, index)
    _check_classes(y_train)
    _check_label_kinds(train=y_train, dev=y_dev, test=y_test)
    return index


def _label_kind(y) -> str | None:
    """``"number"``, ``"string"``, or None (empty, or of mixed or other types): what a label can equal."""
    arr = np.asarray(y)
    if arr.size == 0:
        return None
    if arr.dtype.kind in "biuf":
        return "number"
    if arr.dtype.kind in "US":
        return "string"
    if arr.dtype.kind == "O":
        values = arr.ravel().tolist()
        if all(isinstance(v, str) for v in values):
            return "string"
        if all(isinstance(v, (int, float, np.number, bool, np.bool_)) for v in values):
            return "number"
    return None


def _check_label_kinds(**splits) -> None:
    """Numbers never equal strings: train labels of one kind against dev/test labels of the other score 0."""
    (first, y0), *rest = splits.items()
    kind0 = _label_kind(y0)
    for name, y in rest:
        kind = _label_kind(y)
        if kind0 and kind and kind != kind0:
            ex0 = ", ".join(repr(v) for v in pd.unique(np.asarray(y0).ravel())[:3].tolist())
            ex = ", ".join(repr(v) for v in pd.unique(np.asarray(y).ravel())[:3].tolist())
            raise ValueError(f"{first} labels are {kind0}s ({ex0}, ...) but {name} labels are {kind}s ({ex}, ...): "
                             f"no {name} label can equal a {first} label, so every {name} accuracy would be 0; "
                             f"give every split labels of one type (e.g. all strings)")


def _check_finite(name: str, X, index: pd.MultiIndex, rows_per_block: int = 4096) -> None:
    # in blocks of rows: a mask of the whole matrix would cost a byte per activation
    for start in range(0, len(X), rows_per_block):
        block = np.asarray(X[start:start + rows_per_block])
        if np.issubdtype(block.dtype, np.floating) and not np.isfinite(block).all():
            row, col = np.argwhere(~np.isfinite(block))[0]
            layer, neuron = index[col]
            raise ValueError(f"{name} activations: non-finite value {block[row, col]} at row {start + row}, "
                             f"column {col} (layer={layer}, neuron={neuron}); every split must be finite")


def _check_classes(y_train) -> None:
    """A probe needs two tags with words to learn from: fail before any fit, warn about rare tags."""
    labels, counts = np.unique(np.asarray(y_train), return_counts=True)
    shown = ", ".join(f"{lab!r}: {n}" for lab, n in list(zip(labels.tolist(), counts.tolist()))[:10])
    if len(labels) < 2:
        raise ValueError(f"the training words carry {len(labels)} tag(s) ({shown or 'none'}): a probe needs at "
                         f"least two; check the task and the corpus (a task's min_count may fold every label "
                         f"into one)")
    learnable = int((counts >= 2).sum())
    if learnable < 2:
        raise ValueError(f"{len(labels)} tags on {int(counts.sum())} training words but only {learnable} with more "
                         f"than one word: nothing to probe (a task that gives every word its own tag?)")
    rare = counts < FEW_TRAIN_WORDS
    if rare.any():
        few = ", ".join(f"{lab}={n}" for lab, n in zip(labels[rare].tolist()[:10], counts[rare].tolist()[:10]))
        more = f" and {int(rare.sum()) - 10} more" if rare.sum() > 10 else ""
        warnings.warn(f"{int(rare.sum())} of {len(labels)} tags have fewer than {FEW_TRAIN_WORDS} training words "
                      f"({few}{more}): their weights and rankings rest on those few words",
                      RareTagsWarning, stacklevel=4)


def _penalties(X_train, y_train, X_dev, y_dev, config: LCAConfig, progress: bool):
    """The :class:`~neuronbook.evaluate.PenaltySearch`: searched when neither penalty is set, else as given."""
    from .. import evaluate as ev

    l1, l2 = config.l1, config.l2
    if l1 is None and l2 is None:
        return ev.search_regularization(
            X_train, y_train, X_dev, y_dev, estimator=config.make_probe(0.0, 0.0),
            grid=[(v, v) for v in config.search_grid], tolerance=config.search_tolerance,
            max_train=config.search_max_train, search_stride=config.search_stride, seed=config.seed,
            criterion=config.search_criterion, progress=progress)
    l1 = l2 if l1 is None else l1
    l2 = l1 if l2 is None else l2
    return ev.PenaltySearch(empty("regularization"), (l1, l2))


def _selectivity(X_train, y_train, X_test, y_test, control, minimal_columns, estimator, oracle,
                 minimal_probe=None) -> pd.DataFrame:
    from .. import evaluate as ev

    if control is None or control is False:
        return empty("selectivity")
    c_train, c_test = control
    fitted = {"all": oracle} if minimal_probe is None else {"all": oracle, "minimal set": minimal_probe}
    selections = {"all": None} if minimal_columns is None else {"all": None, "minimal set": minimal_columns}
    return ev.selectivity(X_train, y_train, c_train, X_test, y_test, c_test, selections=selections, probes=fitted,
                          estimator=estimator)


def _layer_table(index: pd.MultiIndex, columns, n_layers: int) -> pd.DataFrame:
    from ..analysis.layers import layer_distribution

    sizes = pd.Series(index.get_level_values("layer")).value_counts().to_dict()
    return layer_distribution(neuron_table(index, columns), n_layers, layer_size=sizes)


def analyze_store(train_store, train_labels, test_store, test_labels, *, config=None, control_train=None,
                  control_test=None, info: dict | None = None, progress="auto", **overrides):
    """Run LCA on activation stores.

    The sentences of ``train_store`` are split (seeded, by sentence) into train and a
    ``dev_fraction`` dev part; ``test_store`` is the test set.

    Parameters
    ----------
    train_store, test_store : ActivationStore
    train_labels, test_labels : list of list of str or flat array
        One label per word of the store, in store order.
    config : LCAConfig or dict, optional
        Settings (``layers``, ``dev_fraction``, ``seed`` and the probe/evaluation fields are used);
        ``**overrides`` change some.
    control_train, control_test : optional
        Control-task labels (same shapes); adds selectivity.

    Returns
    -------
    LCAResult
    """
    config = resolve_config(config, overrides)
    y_all = flat_labels(train_labels, train_store.n_words, "train labels")
    y_test = flat_labels(test_labels, test_store.n_words, "test labels")
    rows_train, rows_dev = split_store_rows(train_store, config.dev_fraction, config.seed)
    layers = None if config.layers is None else list(config.layers)
    X_all = store_view(train_store, layers)
    X_test = store_view(test_store, layers)
    control = None
    if control_train is not None and control_test is not None:
        c_all = flat_labels(control_train, train_store.n_words, "control train labels")
        control = (c_all[rows_train], flat_labels(control_test, test_store.n_words, "control test labels"))
    approximation = train_store.metadata.get("approximation")
    out_info = dict(info or {})
    out_info.update({
        "store_train": store_info(train_store), "store_test": store_info(test_store),
        "approximation": approximation,
        "n_train_sentences": train_store.n_sentences - n_dev_sentences(train_store, config.dev_fraction),
        "n_dev_sentences": n_dev_sentences(train_store, config.dev_fraction),
        "n_test_sentences": test_store.n_sentences,
    })
    if approximation:
        warnings.warn(f"the activations come from an approximation of {config.model}: {approximation}",
                      ApproximationWarning, stacklevel=2)
    dev_groups = np.searchsorted(np.asarray(train_store.offsets), rows_dev, side="right") - 1  # sentence of each word
    return lca_from_arrays(X_all[rows_train], y_all[rows_train], X_all[rows_dev], y_all[rows_dev], X_test, y_test,
                           train_store.neurons(layers=layers), config=config, control=control,
                           n_layers=train_store.n_layers, dev_groups=dev_groups, info=out_info, progress=progress)


def run_lca(config=None, *, cache: bool | str = True, progress="auto", **overrides) -> LCAResult:
    """The whole analysis for (model, corpus, task) named in a config.

    Parameters
    ----------
    config : LCAConfig or dict, optional
        Every setting (see :meth:`LCAConfig.describe`); the defaults run XPOS on UD English-EWT with
        the packaged all-MiniLM-L6-v2, offline.
    cache : bool or path
        True (default): results are kept under the neuronbook cache keyed by the settings and the
        activation stores' keys, and an identical call loads the saved result instead of refitting;
        a path: that folder; False: always compute, store nothing.
    progress : bool or "auto"
        Progress bars (``"auto"``: in a terminal or a live notebook, not under headless papermill).
    **overrides
        Settings that replace the config's (``task="upos"``); an unknown name is an error that lists
        the valid ones.

    Returns
    -------
    LCAResult
        With ``seeds``: the first seed's result plus the tables over seeds (:func:`combine_seeds`).

    Examples
    --------
    >>> r = run_lca(model="tiny-random", max_sentences=40, l1=1e-3, control=False)  # doctest: +SKIP
    >>> r.ranking.columns.tolist()  # doctest: +SKIP
    ['rank', 'layer', 'neuron', 'tag', 'score', 'chunk']
    """
    config = resolve_config(config, overrides)
    _warn_language(config)
    if config.seeds:
        # one full analysis per seed, each cached as the single-seed run it is (run_lca(seed=s) finds it),
        # then the spread over seeds
        return combine_seeds([_run_one(config.replace(seed=s, seeds=None), cache, progress) for s in config.seeds])
    return _run_one(config, cache, progress)


def _warn_language(config: LCAConfig, stacklevel: int = 3) -> None:
    """A :class:`LanguageMismatchWarning` when the model's preset names its languages and the corpus's is not one."""
    from ..datasets import corpus_language
    from ..exceptions import LanguageMismatchWarning
    from ..models import get_preset

    preset = get_preset(str(config.model))
    language = corpus_language(config.data)
    known = getattr(preset, "languages", None) if preset is not None else None
    if known and language and language not in known:
        warnings.warn(f"{preset.alias} was trained on {', '.join(known)} text only, and {config.data} is "
                      f"'{language}': its neurons may encode little of this language (a multilingual model such as "
                      f"e5-small reads it)", LanguageMismatchWarning, stacklevel=stacklevel)


def _run_one(config: LCAConfig, cache, progress) -> LCAResult:
    t0 = time.perf_counter()
    root = None if cache is False else results_root(cache)
    quick = request_key(config) if root is not None else None
    if quick is not None:  # the same request on unchanged files: no corpus to parse, no key to compute
        known = root / "requests" / quick
        if known.is_file():
            result = load_cached(root / known.read_text().strip(), config)
            if result is not None:
                return result
    corpora = load_splits(config)
    keys = store_keys(config, corpora)
    folder = None
    if root is not None:
        folder = root / result_key(config, keys, corpora)
        result = load_cached(folder, config)
        if result is not None:
            remember_request(root, quick, folder.name)
            return result

    data = prepare_stores(config, corpora, keys, progress)
    result = analyze_store(data.train_store, data.y_train, data.test_store, data.y_test, config=config,
                           control_train=data.control_train, control_test=data.control_test,
                           info={"extract_s": data.extract_s, "n_sentences_train_split": len(corpora[0]),
                                 "n_sentences_test_split": len(corpora[1]), **split_info(config)},
                           progress=progress)
    result.info["wall_time_s"] = time.perf_counter() - t0
    if folder is not None and save_cached(result, folder):
        try:
            remember_request(root, quick, folder.name)
        except OSError as err:  # only the shortcut is lost: the full key finds the result
            logger.warning("could not record the request key of %s (%s)", folder, err)
    return result
