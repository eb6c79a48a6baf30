"""Neuron labels: every neuron is ``(layer, neuron)``, layer 0 being the embeddings.

Activations travel as a plain ``words x columns`` matrix for speed; its columns are named by a
:class:`pandas.MultiIndex` with levels ``layer`` and ``neuron`` (what
:meth:`neuronbook.ActivationStore.neurons` returns and what labels the columns of
:meth:`neuronbook.ActivationStore.frame`). A column position only means something next to that
index; tables that leave the package name neurons by ``layer`` and ``neuron`` and never by column.

Examples
--------
>>> idx = neuron_index([0, 2], 3)
>>> tuple(map(int, idx[4]))
(2, 1)
>>> positions(idx, pd.DataFrame({"layer": [2, 0], "neuron": [1, 0]})).tolist()
[4, 0]
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

__all__ = ["neuron_index", "as_neuron_index", "labelled_matrix", "positions", "neuron_table", "relative_depth"]

NAMES = ("layer", "neuron")


def neuron_index(layers: Sequence[int], n_neurons: int | Sequence[int]) -> pd.MultiIndex:
    """Layer-major ``(layer, neuron)`` labels of the columns of a flat activation matrix.

    Parameters
    ----------
    layers : sequence of int
        The layers, in column order.
    n_neurons : int or sequence of int
        Neurons per layer (all of ``range(n)``), or the neuron numbers kept in every layer.
    """
    neurons = np.arange(n_neurons) if np.isscalar(n_neurons) else np.asarray(n_neurons, dtype=np.int64)
    layers = np.asarray(list(layers), dtype=np.int64)
    return pd.MultiIndex.from_arrays([np.repeat(layers, len(neurons)), np.tile(neurons, len(layers))], names=NAMES)


def as_neuron_index(obj, n: int | None = None) -> pd.MultiIndex:
    """A ``(layer, neuron)`` MultiIndex from a MultiIndex, a table with ``layer``/``neuron`` columns,
    a labelled DataFrame (its columns), or None (``n`` neurons of one layer 0).

    Examples
    --------
    >>> as_neuron_index(None, 2).tolist()
    [(0, 0), (0, 1)]
    """
    if obj is None:
        if n is None:
            raise ValueError("no neuron labels and no neuron count given")
        return neuron_index([0], n)
    if isinstance(obj, pd.MultiIndex):
        idx = obj
    elif isinstance(obj, pd.DataFrame) and isinstance(obj.columns, pd.MultiIndex):
        idx = obj.columns
    elif isinstance(obj, pd.DataFrame):
        missing = set(NAMES) - set(obj.columns)
        if missing:
            raise ValueError(f"a neuron table needs columns 'layer' and 'neuron'; it lacks {sorted(missing)}")
        idx = pd.MultiIndex.from_arrays([obj["layer"].to_numpy(np.int64), obj["neuron"].to_numpy(np.int64)],
                                        names=NAMES)
    else:
        raise TypeError(f"cannot read neuron labels from {type(obj).__name__}")
    if list(idx.names) != list(NAMES):
        idx = idx.set_names(list(NAMES))
    if n is not None and len(idx) != n:
        raise ValueError(f"{len(idx)} neuron labels for {n} columns")
    if not idx.is_unique:
        raise ValueError("neuron labels repeat a (layer, neuron) pair")
    return idx


def positions(index: pd.MultiIndex, neurons) -> np.ndarray:
    """Column positions in ``index`` of the neurons of a table (``layer``, ``neuron``), in its order.

    Raises a ValueError naming the first neuron that ``index`` does not hold.
    """
    wanted = as_neuron_index(neurons) if not isinstance(neurons, pd.MultiIndex) else neurons
    pos = index.get_indexer(wanted)
    if (pos < 0).any():
        missing = wanted[int(np.flatnonzero(pos < 0)[0])]
        raise ValueError(f"neuron (layer={missing[0]}, neuron={missing[1]}) is not among the analysed neurons "
                         f"(layers {sorted(set(index.get_level_values('layer')))})")
    return pos.astype(np.int64)


def neuron_table(index: pd.MultiIndex, columns: Sequence[int] | None = None) -> pd.DataFrame:
    """``layer`` and ``neuron`` of the given column positions (all by default), as a DataFrame."""
    sel = index if columns is None else index[np.asarray(columns, dtype=np.int64)]
    return pd.DataFrame({"layer": sel.get_level_values("layer").to_numpy(np.int64),
                         "neuron": sel.get_level_values("neuron").to_numpy(np.int64)})


def relative_depth(layer, n_layers: int):
    """Depth of a layer in [0, 1]: ``layer / (n_layers - 1)``.

    ``n_layers`` counts every layer *including the embeddings* (a 6-layer BERT has ``n_layers=7``:
    the embeddings are depth 0 and the last layer depth 1). This is the one definition used by the
    analyses and the charts.

    Examples
    --------
    >>> relative_depth([0, 3, 6], 7).tolist()
    [0.0, 0.5, 1.0]
    """
    n_layers = int(n_layers)
    if n_layers < 1:
        raise ValueError(f"n_layers counts the layers including the embeddings and must be >= 1, got {n_layers}")
    layer = np.asarray(layer, dtype=np.float64)
    if n_layers == 1:
        return np.zeros_like(layer)
    if (layer < 0).any() or (layer > n_layers - 1).any():
        raise ValueError(f"layers must lie in 0..{n_layers - 1} for n_layers={n_layers}")
    return layer / (n_layers - 1)


def labelled_matrix(X, neurons=None):
    """``(matrix, neuron labels)`` of an ndarray with ``neurons`` or of a labelled DataFrame.

    What every ranker and analysis accepts as ``X``: a words x neurons array with ``neurons`` (a
    ``(layer, neuron)`` index or table; default one layer 0), or a DataFrame whose columns are that index
    (:meth:`ActivationStore.frame`).

    Examples
    --------
    >>> X, idx = labelled_matrix(np.zeros((2, 3)), neuron_index([0], 3))
    >>> X.shape, idx.tolist()
    ((2, 3), [(0, 0), (0, 1), (0, 2)])
    """
    if isinstance(X, pd.DataFrame):
        if isinstance(X.columns, pd.MultiIndex):
            idx = as_neuron_index(X)
            if neurons is not None and not as_neuron_index(neurons, X.shape[1]).equals(idx):
                raise ValueError("X is a labelled DataFrame and `neurons` names other neurons; drop `neurons`")
            return X.to_numpy(), idx
        if neurons is None:
            raise ValueError("X is a DataFrame whose columns are not a (layer, neuron) MultiIndex; label them "
                             "(ActivationStore.frame does) or pass neurons=")
        X = X.to_numpy()
    X = np.asarray(X)
    if X.ndim != 2:
        raise ValueError(f"X must be 2-D (words x neurons), got shape {X.shape}")
    return X, as_neuron_index(neurons, X.shape[1])
