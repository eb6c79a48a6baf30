"""Where linguistic knowledge sits: layer-wise probing and the localization of selected neurons.

Two views of the same question (paper, question ii):

* :func:`layerwise_probing` trains one probe per layer on that layer alone, the classic
  layer-level baseline that neuron-level results are contrasted with;
* :func:`layer_distribution`, :func:`localization` and :func:`neurons_per_tag` describe a
  *set* of selected neurons (e.g. LCA's minimal set): how it spreads over layers, its mean
  layer, its spread (entropy) and, per tag, how many neurons each tag needs.

Layers are integers, 0 = the embedding output, ``n_layers - 1`` = the last transformer layer:
``n_layers`` COUNTS THE EMBEDDINGS (a 6-layer BERT has ``n_layers=7``). Relative depth is
:func:`neuronbook.neurons.relative_depth`, ``layer / (n_layers - 1)``, the one definition the
charts of :mod:`neuronbook.plots` use too, so a 6-layer and a 12-layer model share one axis from
0 (embeddings) to 1 (last layer).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from ..neurons import relative_depth
from ..settings import progress_enabled

__all__ = [
    "CLOSED_CLASS_TAGS",
    "layer_distribution",
    "layerwise_probing",
    "localization",
    "neurons_per_tag",
    "tag_layer_counts",
]

logger = logging.getLogger(__name__)

#: Closed-class tags of UPOS and of the Penn Treebank (``xpos`` of the English UD treebanks):
#: function words and punctuation, a small, fixed vocabulary each.
CLOSED_CLASS_TAGS = frozenset({
    # UPOS
    "ADP", "AUX", "CCONJ", "DET", "NUM", "PART", "PRON", "SCONJ", "PUNCT",
    # Penn Treebank
    "CC", "CD", "DT", "EX", "IN", "MD", "PDT", "POS", "PRP", "PRP$", "RP", "TO", "WDT", "WP", "WP$",
    "WRB", ",", ".", ":", "``", "''", "-LRB-", "-RRB-", "HYPH", "NFP", "$", "#",
})


# ----------------------------------------------------------------------------- helpers


def _check_n_layers(n_layers) -> int:
    if n_layers is None or isinstance(n_layers, bool) or int(n_layers) != n_layers or int(n_layers) < 1:
        raise ValueError(f"n_layers (layers incl. the embeddings: a 6-layer BERT has 7) must be an integer >= 1, "
                         f"got {n_layers!r}")
    return int(n_layers)


def _layers_of(selected, what: str) -> pd.DataFrame:
    """A frame with an integer ``layer`` column from a frame or a sequence of layers."""
    if isinstance(selected, pd.DataFrame):
        if "layer" not in selected.columns:
            raise ValueError(f"{what} needs a 'layer' column; it has {list(selected.columns)}")
        df = selected
    else:
        df = pd.DataFrame({"layer": np.asarray(list(selected))})
    layers = pd.to_numeric(df["layer"], errors="coerce")
    bad = layers.isna() | (layers < 0) | (layers != np.round(layers))
    if bad.any():
        row = df.index[bad.to_numpy()][0]
        value = df["layer"][row]
        value = value.item() if hasattr(value, "item") else value
        raise ValueError(f"{what}: row {row!r} has layer {value!r}; layers are integers >= 0")
    out = df.copy()
    out["layer"] = layers.astype(np.int64)
    return out


def _as_list(by) -> list[str]:
    if by is None:
        return []
    return [by] if isinstance(by, str) else list(by)


# ----------------------------------------------------------------------------- layer-wise probing


def layerwise_probing(X_train, y_train, X_test, y_test, neurons=None, *, X_dev=None, y_dev=None, estimator=None,
                      layers: Sequence[int] | None = None, progress="auto") -> pd.DataFrame:
    """Accuracy of a probe trained on each layer alone.

    Parameters
    ----------
    X_train, X_test : ndarray or DataFrame, shape (n_words, n_columns)
        Activations: matrices whose columns ``neurons`` labels (:meth:`ActivationStore.activations`),
        or DataFrames whose columns are the ``(layer, neuron)`` MultiIndex (:meth:`ActivationStore.frame`).
    y_train, y_test : array-like
        One label per word.
    neurons : MultiIndex or DataFrame, optional
        ``(layer, neuron)`` of each column (:meth:`ActivationStore.neurons`); not needed for
        labelled DataFrames.
    X_dev, y_dev : optional
        Validation words: the probe keeps its best epoch on them, and ``dev_accuracy`` is reported.
    estimator : ElasticNetProbe, optional
        The unfitted probe every per-layer fit copies (``LCAResult.estimator()``: the analysis's own;
        default ``ElasticNetProbe()``).
    layers : sequence of int, optional
        Layers to probe (default: every layer among the neurons).
    progress : bool or "auto"
        Show a progress bar over layers (:func:`neuronbook.settings.progress_enabled`).

    Returns
    -------
    DataFrame
        One row per layer: ``layer``, ``n_neurons``, ``accuracy`` (on the test words),
        ``train_accuracy`` and, with dev data, ``dev_accuracy``. Feeds
        :func:`neuronbook.plots.layerwise_accuracy_chart`.

    Examples
    --------
    >>> from neuronbook.neurons import neuron_index
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(300, 4)).astype("float32")
    >>> y = np.where(X[:, 3] > 0, "a", "b")            # the signal is in layer 1
    >>> from neuronbook.probe import ElasticNetProbe
    >>> probe = ElasticNetProbe(epochs=30, lr=0.05, batch_size=None)
    >>> res = layerwise_probing(X[:200], y[:200], X[200:], y[200:], neuron_index([0, 1], 2), estimator=probe,
    ...                         progress=False)
    >>> res["layer"].tolist(), bool(res["accuracy"].iloc[1] > 0.9 > res["accuracy"].iloc[0])
    ([0, 1], True)
    """
    from ..probe import clone
    from ..neurons import labelled_matrix

    X_train, idx = labelled_matrix(X_train, neurons)
    X_test, _ = labelled_matrix(X_test, idx)
    if X_train.shape[1] != X_test.shape[1]:
        raise ValueError(f"X_train {X_train.shape} and X_test {X_test.shape} must have the same columns")
    if (X_dev is None) != (y_dev is None):
        raise ValueError("give both X_dev and y_dev, or neither")
    if X_dev is not None:
        X_dev, _ = labelled_matrix(X_dev, idx)
    layer_of = idx.get_level_values("layer").to_numpy()
    all_layers = sorted(np.unique(layer_of).tolist())
    if layers is None:
        layers = all_layers
    unknown = sorted(set(layers) - set(all_layers))
    if unknown:
        raise ValueError(f"layer(s) {unknown} are not among the neurons (they cover layers {all_layers})")
    rows = []
    for layer in tqdm(list(layers), desc="layer-wise probes", disable=not progress_enabled(progress)):
        cols = np.flatnonzero(layer_of == layer)
        p = clone(estimator)
        if X_dev is not None:
            p.fit(X_train[:, cols], y_train, X_dev[:, cols], y_dev)
        else:
            p.fit(X_train[:, cols], y_train)
        row = {"layer": int(layer), "n_neurons": len(cols), "accuracy": p.score(X_test[:, cols], y_test),
               "train_accuracy": p.score(X_train[:, cols], y_train)}
        if X_dev is not None:
            row["dev_accuracy"] = p.score(X_dev[:, cols], y_dev)
        logger.info("layer %d: test accuracy %.4f", layer, row["accuracy"])
        rows.append(row)
    return pd.DataFrame(rows)


# ----------------------------------------------------------------------------- localization


def _layer_sizes(layer_size, n_layers: int) -> np.ndarray:
    """Neurons per layer 0..n_layers-1 as floats (NaN where unknown)."""
    if layer_size is None:
        return np.full(n_layers, np.nan)
    if isinstance(layer_size, pd.MultiIndex) or isinstance(layer_size, pd.DataFrame):
        from ..neurons import as_neuron_index

        layers = as_neuron_index(layer_size).get_level_values("layer").to_numpy()
        if (layers >= n_layers).any() or (layers < 0).any():
            raise ValueError(f"layer_size: the neurons cover layer {int(layers.max())}, but n_layers={n_layers}")
        return np.bincount(layers, minlength=n_layers).astype(np.float64)
    if isinstance(layer_size, Mapping):
        bad = sorted(k for k in layer_size if not 0 <= int(k) < n_layers)
        if bad:
            raise ValueError(f"layer_size names layer(s) {bad} outside 0..{n_layers - 1}")
        return np.array([layer_size.get(layer, np.nan) for layer in range(n_layers)], dtype=np.float64)
    if np.isscalar(layer_size):
        return np.full(n_layers, float(layer_size))
    sizes = np.asarray(layer_size, dtype=np.float64)
    if sizes.shape != (n_layers,):
        raise ValueError(f"layer_size gives {sizes.size} sizes for n_layers={n_layers}")
    return sizes


def layer_distribution(selected, n_layers: int, by: str | Sequence[str] | None = None,
                       layer_size=None) -> pd.DataFrame:
    """Count and share of selected neurons per layer, zero-count layers included.

    Parameters
    ----------
    selected : DataFrame or sequence of int
        One row per selected neuron with a ``layer`` column (e.g. the head of a ranking, or a
        per-tag ranking), or just their layers.
    n_layers : int
        Layers INCLUDING the embeddings (a 6-layer BERT: 7); every layer ``0 .. n_layers - 1``
        gets a row.
    by : str or list of str, optional
        Group columns (``tag``, ``task``, ``model``, ``language``): one distribution per group.
    layer_size : int, mapping, sequence, MultiIndex or DataFrame, optional
        Neurons per layer, for ``fraction``: one size for every layer, ``{layer: size}``, one size
        per layer ``0 .. n_layers - 1``, or the analysed neurons themselves
        (:meth:`ActivationStore.neurons`, a ``layer``/``neuron`` table), counted per layer.

    Returns
    -------
    DataFrame
        ``[by...]``, ``layer``, ``count``, ``share`` (count / selected in the group; 0 for an empty
        group), ``fraction`` (count / layer size; NaN when the size is unknown or 0),
        ``relative_depth`` (:func:`neuronbook.neurons.relative_depth`). Feeds
        :func:`neuronbook.plots.layer_distribution_chart`.

    Examples
    --------
    >>> layer_distribution([0, 2, 2, 2], n_layers=3, layer_size=6).values.tolist()
    [[0.0, 1.0, 0.25, 0.16666666666666666, 0.0], [1.0, 0.0, 0.0, 0.0, 0.5], [2.0, 3.0, 0.75, 0.5, 1.0]]
    """
    n_layers = _check_n_layers(n_layers)
    by = _as_list(by)
    df = _layers_of(selected, "selected neurons")
    missing = [c for c in by if c not in df.columns]
    if missing:
        raise ValueError(f"selected neurons lack the group column(s) {missing}; they have {list(df.columns)}")
    too_deep = df["layer"] >= n_layers
    if too_deep.any():
        raise ValueError(f"selected neurons include layer {int(df['layer'][too_deep].iloc[0])}, "
                         f"but n_layers={n_layers} (layers 0..{n_layers - 1}, embeddings included)")
    sizes = _layer_sizes(layer_size, n_layers)
    layers = pd.Index(np.arange(n_layers), name="layer")
    if by:
        groups = df[by].drop_duplicates().sort_values(by).itertuples(index=False, name=None)
        counts = df.groupby(by + ["layer"]).size()
        full = pd.MultiIndex.from_tuples([(*g, layer) for g in groups for layer in layers], names=by + ["layer"])
        out = counts.reindex(full, fill_value=0).rename("count").reset_index()
        total = out.groupby(by)["count"].transform("sum")
    else:
        out = df.groupby("layer").size().reindex(layers, fill_value=0).rename("count").reset_index()
        total = pd.Series(out["count"].sum(), index=out.index)
    out["count"] = out["count"].astype(np.int64)
    out["share"] = np.where(total > 0, out["count"] / total.where(total > 0, 1), 0.0)
    size = sizes[out["layer"].to_numpy()]
    over = out["count"].to_numpy() > np.nan_to_num(size, nan=np.inf)
    if over.any():
        row = out[over].iloc[0]
        raise ValueError(f"layer {int(row['layer'])} has {int(row['count'])} selected neurons but layer_size says "
                         f"it holds {size[over][0]:g}")
    with np.errstate(invalid="ignore", divide="ignore"):
        out["fraction"] = np.where(size > 0, out["count"] / np.where(size > 0, size, 1.0), np.nan)
    out["relative_depth"] = relative_depth(out["layer"].to_numpy(), n_layers)
    return out


def _entropy_bits(p: np.ndarray) -> float:
    p = p[p > 0]
    return float(-(p * np.log2(p)).sum()) + 0.0 if p.size else 0.0  # + 0.0 turns -0.0 into 0.0


def localization(selected, n_layers: int, by: str | Sequence[str] | None = None) -> pd.DataFrame:
    """Summary of where a set of neurons sits: mean layer, spread, entropy, relative depth.

    Parameters
    ----------
    selected : DataFrame or sequence of int
        Selected neurons with a ``layer`` column (or their layers).
    n_layers : int
        Layers including the embeddings.
    by : str or list of str, optional
        One summary per group (e.g. ``task``, ``tag``).

    Returns
    -------
    DataFrame
        ``[by...]``, ``n_neurons``, ``mean_layer``, ``std_layer``, ``median_layer``,
        ``peak_layer`` (the layer with most neurons, lowest on ties), ``peak_share``,
        ``mean_relative_depth``, ``entropy`` (bits, of the per-layer shares) and
        ``normalized_entropy`` (entropy / log2(n_layers): 0 = all in one layer, 1 = uniform;
        0 for a one-layer model).
        A group with no neuron gets NaN statistics.

    Examples
    --------
    >>> loc = localization([1, 1, 3, 3], n_layers=4)
    >>> loc[["n_neurons", "mean_layer", "entropy", "normalized_entropy"]].values.tolist()
    [[4.0, 2.0, 1.0, 0.5]]
    """
    n_layers = _check_n_layers(n_layers)
    by = _as_list(by)
    dist = layer_distribution(selected, n_layers, by)
    rows = []
    grouped = dist.groupby(by, sort=True) if by else [((), dist)]
    for key, g in grouped:
        key = key if isinstance(key, tuple) else (key,)
        counts = g["count"].to_numpy(np.float64)
        layers = g["layer"].to_numpy(np.float64)
        n = counts.sum()
        row = dict(zip(by, key))
        if n == 0:
            row.update(n_neurons=0, mean_layer=np.nan, std_layer=np.nan, median_layer=np.nan, peak_layer=np.nan,
                       peak_share=np.nan, mean_relative_depth=np.nan, entropy=np.nan, normalized_entropy=np.nan)
        else:
            p = counts / n
            mean = float((p * layers).sum())
            cum = np.cumsum(counts)
            entropy = _entropy_bits(p)
            row.update(
                n_neurons=int(n), mean_layer=mean, std_layer=float(np.sqrt((p * (layers - mean) ** 2).sum())),
                median_layer=float(layers[np.searchsorted(cum, n / 2)]), peak_layer=int(layers[np.argmax(counts)]),
                peak_share=float(p.max()), mean_relative_depth=float(relative_depth(mean, n_layers)),
                entropy=entropy, normalized_entropy=entropy / np.log2(n_layers) if n_layers > 1 else 0.0)
        rows.append(row)
    return pd.DataFrame(rows)


def tag_layer_counts(per_tag: pd.DataFrame, n_layers: int) -> pd.DataFrame:
    """Neurons of each tag per layer, zero cells included (input of :func:`neuronbook.plots.tag_layer_heatmap`).

    Parameters
    ----------
    per_tag : DataFrame
        One row per (tag, neuron) with columns ``tag`` and ``layer``
        (e.g. :func:`neuronbook.rank.per_tag_ranking`).
    n_layers : int
        Layers including the embeddings.

    Returns
    -------
    DataFrame
        ``tag``, ``layer``, ``count``, ``share`` (of the tag's neurons), ``relative_depth``;
        one row per tag and layer ``0 .. n_layers - 1``.

    Examples
    --------
    >>> df = pd.DataFrame({"tag": ["DT", "NN", "NN"], "layer": [0, 1, 1]})
    >>> tag_layer_counts(df, n_layers=2)[["tag", "layer", "count"]].values.tolist()
    [['DT', 0, 1], ['DT', 1, 0], ['NN', 0, 0], ['NN', 1, 2]]
    """
    if not isinstance(per_tag, pd.DataFrame) or "tag" not in per_tag.columns:
        raise ValueError("per_tag must be a DataFrame with columns 'tag' and 'layer'")
    dist = layer_distribution(per_tag, n_layers, by="tag")
    return dist[["tag", "layer", "count", "share", "relative_depth"]]


def neurons_per_tag(per_tag: pd.DataFrame, n_layers: int, tag_counts: Mapping[str, int] | None = None,
                    closed_class: Sequence[str] | None = None) -> pd.DataFrame:
    """How many neurons each tag needs, and where they sit.

    Parameters
    ----------
    per_tag : DataFrame
        One row per (tag, neuron), columns ``tag`` and ``layer`` (:func:`neuronbook.rank.per_tag_ranking`).
    n_layers : int
        Layers including the embeddings.
    tag_counts : mapping, optional
        Training frequency of each tag (e.g. ``Task.counts_``); adds a ``frequency`` column.
    closed_class : sequence of str, optional
        Tags to flag as closed-class (default :data:`CLOSED_CLASS_TAGS`).

    Returns
    -------
    DataFrame
        The :func:`localization` columns per ``tag``, plus ``closed_class`` (bool) and
        ``frequency``; sorted by ``n_neurons`` ascending.

    Examples
    --------
    >>> df = pd.DataFrame({"tag": ["DT", "NN", "NN", "NN"], "layer": [0, 1, 2, 2]})
    >>> res = neurons_per_tag(df, n_layers=3)
    >>> res[["tag", "n_neurons", "closed_class"]].values.tolist()
    [['DT', 1, True], ['NN', 3, False]]
    """
    if not isinstance(per_tag, pd.DataFrame) or "tag" not in per_tag.columns:
        raise ValueError("per_tag must be a DataFrame with columns 'tag' and 'layer'")
    out = localization(per_tag, n_layers, by="tag")
    closed = CLOSED_CLASS_TAGS if closed_class is None else frozenset(closed_class)
    out["closed_class"] = out["tag"].astype(str).isin(closed)
    if tag_counts is not None:
        missing = sorted(set(out["tag"].astype(str)) - {str(k) for k in tag_counts})
        if missing:
            raise ValueError(f"tag_counts has no entry for tag(s) {missing}")
        out["frequency"] = out["tag"].astype(str).map({str(k): int(v) for k, v in tag_counts.items()})
    return out.sort_values(["n_neurons", "tag"], kind="stable").reset_index(drop=True)
