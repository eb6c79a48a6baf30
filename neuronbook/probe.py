"""Elastic-net linear probe over neuron activations.

The probe is a multinomial logistic regression trained in torch with the loss of
the LCA reference implementation (Durrani et al.; NeuroX)::

    loss = mean cross-entropy + l1 * sum(|W|) + l2 * ||W||_F

where ``||W||_F`` is the Frobenius norm (not squared) and the bias is not
penalised.  Its weights ``coef_`` are what :mod:`neuronbook.rank` sorts neurons by.
"""

from __future__ import annotations

import contextlib
import copy
import logging
import mmap
import warnings

import numpy as np
import pandas as pd
import torch
from tqdm.auto import tqdm

from .exceptions import UnseenLabelsWarning, not_fitted

__all__ = ["ArrayView", "ElasticNetProbe", "clone", "column_means", "encode_labels", "fit_copies", "fit_probes",
           "masked_accuracies", "predict_many"]

logger = logging.getLogger(__name__)


def encode_labels(y, classes):
    """Map labels to indices into the sorted array ``classes``; unseen labels map to -1.

    Parameters
    ----------
    y : array-like of labels
    classes : numpy.ndarray
        Sorted unique labels (as in ``ElasticNetProbe.classes_``).

    Returns
    -------
    numpy.ndarray of int64
        Index of each label in ``classes``, or -1 when the label is not in it.

    Examples
    --------
    >>> encode_labels(["b", "z", "a"], np.array(["a", "b"])).tolist()
    [1, -1, 0]
    """
    y = np.asarray(y)
    classes = np.asarray(classes)
    if len(classes) == 0:
        return np.full(len(y), -1, dtype=np.int64)
    try:
        pos = np.searchsorted(classes, y)
    except TypeError as err:  # e.g. ints vs strings
        raise TypeError(f"labels of type {y.dtype} cannot be compared with classes of type {classes.dtype}") from err
    pos = np.clip(pos, 0, len(classes) - 1)
    found = classes[pos] == y
    return np.where(found, pos, -1).astype(np.int64)


#: Activations read at a time, in bytes of float32, by every pass that is not a mini-batch (the
#: standardisation statistics, validation, scoring): it bounds the memory of a pass whatever X's size.
BLOCK_BYTES = 8 * 2**20

#: A training selection (``rows``/``columns`` of X, or a non-float32 X) of at most this many blocks is gathered
#: once into a compact float32 array: mini-batches of a few neurons are then read without touching whole
#: rows of the store.  Larger selections are read batch by batch, so memory stays flat in the corpus size.
COMPACT_BLOCKS = 8


def _as_matrix(X, name="X"):
    # np.asarray keeps a memmap's pages on disk: it views, never copies, an ndarray (subclass)
    X = X if isinstance(X, np.ndarray) else np.asarray(X)
    if X.ndim != 2:
        raise ValueError(f"{name} must be a 2-D array (words x neurons), got shape {X.shape}")
    if not np.issubdtype(X.dtype, np.number):
        raise TypeError(f"{name} must be numeric, got dtype {X.dtype}")
    return X


def _positions(idx, size, what):
    """``idx`` as validated int64 positions into an axis of ``size``, or None."""
    if idx is None:
        return None
    arr = np.asarray(idx)
    if arr.ndim != 1 or not (np.issubdtype(arr.dtype, np.integer) or arr.size == 0):
        raise TypeError(f"{what} must be a 1-D array of integer positions (a boolean mask: np.flatnonzero(mask)), "
                        f"got dtype {arr.dtype} and shape {arr.shape}")
    arr = arr.astype(np.int64, copy=False)
    if arr.size:
        bad = arr[(arr < 0) | (arr >= size)]
        if len(bad):
            raise IndexError(f"{what} holds position {int(bad[0])}, outside 0..{size - 1}")
    return arr


def _widen(block, out=None):
    """``block`` as float32 (into ``out`` when given).  float16 goes through torch: numpy's own
    conversion is more than ten times slower, and every value is exact either way."""
    if block.dtype == np.float32 and out is None:
        return block
    if out is None:
        out = np.empty(block.shape, np.float32)
    if block.dtype == np.float16:
        with warnings.catch_warnings():  # a read-only memmap view: torch only reads it
            warnings.simplefilter("ignore", UserWarning)
            torch.from_numpy(out).copy_(torch.from_numpy(np.ascontiguousarray(block)))
    else:
        out[...] = block
    return out


class ArrayView:
    """Rows and columns of a 2-D array, selected without copying: a lazy ``X[rows][:, columns]``.

    Indexing a view gives another view (``view[:, cols]``, ``view[rows]``, ``view[a:b]``), so code
    written for arrays selects neurons and words of a memory-mapped store without reading it; the
    probe and the analyses read a view a block of rows at a time.  ``numpy.asarray(view)`` copies
    the selection out.

    Parameters
    ----------
    X : numpy.ndarray or numpy.memmap or ArrayView, shape (n_words, n_features)
    rows, columns : array-like of int, optional
        Positions into ``X``'s rows and columns (``None``: all).

    Examples
    --------
    >>> X = np.arange(12, dtype=np.float32).reshape(4, 3)
    >>> v = ArrayView(X, rows=[3, 1])[:, [2, 0]]
    >>> v.shape, np.asarray(v).tolist()
    ((2, 2), [[11.0, 9.0], [5.0, 3.0]])
    >>> np.asarray(v[1:]).tolist()
    [[5.0, 3.0]]
    """

    ndim = 2

    def __init__(self, X, rows=None, columns=None):
        self._stats = None
        if isinstance(X, ArrayView):  # compose: positions into the view are positions into its selection
            if X._stats is not None and rows is None:  # the same words: the column statistics still hold
                cols = None if columns is None else _positions(columns, X.shape[1], "columns")
                self._stats = X._stats if cols is None else tuple(v[cols] for v in X._stats)
            base_rows, base_cols, X = X.rows, X.columns, X.X
            rows = base_rows if rows is None else (rows if base_rows is None else base_rows[_positions(
                rows, len(base_rows), "rows")])
            columns = base_cols if columns is None else (columns if base_cols is None else base_cols[_positions(
                columns, len(base_cols), "columns")])
        self.X = _as_matrix(X)
        self.rows = _positions(rows, self.X.shape[0], "rows")
        self.columns = _positions(columns, self.X.shape[1], "columns")

    @property
    def shape(self):
        return (self.X.shape[0] if self.rows is None else len(self.rows),
                self.X.shape[1] if self.columns is None else len(self.columns))

    @property
    def dtype(self):
        return self.X.dtype

    def __len__(self):
        return self.shape[0]

    @staticmethod
    def _index(key, size):
        if isinstance(key, slice):
            return None if key == slice(None) else np.arange(size)[key]
        arr = np.asarray(key)
        if arr.dtype == bool:
            if arr.shape != (size,):
                raise IndexError(f"boolean index of shape {arr.shape} for an axis of {size}")
            return np.flatnonzero(arr)
        if arr.ndim != 1:
            raise IndexError("an ArrayView takes 1-D integer positions, a boolean mask or a slice per axis")
        arr = arr.astype(np.int64)
        return np.where(arr < 0, arr + size, arr)

    def __getitem__(self, key):
        rows, cols = (key if isinstance(key, tuple) else (key, slice(None)))
        n, d = self.shape
        return ArrayView(self, self._index(rows, n), self._index(cols, d))

    def with_column_stats(self):
        """The same view, with every column's mean and standard deviation computed once (one pass).

        A probe fitted on this view, or on a selection of its columns (``view[:, cols]``), uses them
        instead of a pass of its own: they are exactly what it would compute.  Selecting rows drops them.

        Examples
        --------
        >>> v = ArrayView(np.array([[1.0, 5.0], [3.0, 5.0]], np.float32)).with_column_stats()
        >>> [s.tolist() for s in v[:, [1]].column_stats]
        [[5.0], [0.0]]
        """
        out = ArrayView(self)
        out._stats = _column_stats(_Selection(self))
        return out

    @property
    def column_stats(self):
        """``(mean, std)`` of every column (float64) when computed by :meth:`with_column_stats`, else None."""
        return self._stats

    def __array__(self, dtype=None, copy=None):
        out = _Selection(self).compact().X
        return out if dtype is None else out.astype(dtype, copy=False)

    def __repr__(self):
        return f"ArrayView(shape={self.shape}, dtype={self.dtype}, of {type(self.X).__name__} {self.X.shape})"


class _Selection:
    """Some rows and columns of a 2-D array, read a few rows at a time (``compact`` copies a small one out)."""

    def __init__(self, X, rows=None, columns=None, name="X"):
        self.stats = None  # (mean, std) in float64 when known in advance (ArrayView.with_column_stats)
        if isinstance(X, ArrayView):
            view = ArrayView(X, rows, columns)
            X, rows, columns, self.stats = view.X, view.rows, view.columns, view._stats
        self.X = _as_matrix(X, name)
        self.name = name
        self.rows = _positions(rows, self.X.shape[0], f"{name} rows")
        self.columns = _positions(columns, self.X.shape[1], f"{name} columns")
        self.n = self.X.shape[0] if self.rows is None else len(self.rows)
        self.d = self.X.shape[1] if self.columns is None else len(self.columns)

    def take(self, positions):
        """Raw values (X's dtype) of the selected rows at ``positions``, in that order."""
        block = np.take(self.X, positions if self.rows is None else self.rows[positions], axis=0)
        return block if self.columns is None else np.take(block, self.columns, axis=1)

    def take_into(self, positions, out):
        """The selected rows at ``positions`` as float32, written into the first rows of ``out``."""
        dest = out[:len(positions)]
        if self.columns is None and self.X.dtype == np.float32:
            np.take(self.X, positions if self.rows is None else self.rows[positions], axis=0, out=dest)
        else:
            _widen(self.take(positions), dest)  # float16 (or other) values are widened here
        return dest

    def compact(self):
        """The whole selection as one C-contiguous float32 array (the caller checks its size)."""
        out = np.empty((self.n, self.d), np.float32)
        for start, block in self.blocks():
            _widen(block, out[start:start + len(block)])
        return _Selection(out, name=self.name)

    def blocks(self):
        """``(start, raw block)`` over the selected rows in order, about :data:`BLOCK_BYTES` (as float32) each."""
        step = max(1, BLOCK_BYTES // (4 * max(self.d, 1)))
        for start in range(0, self.n, step):
            stop = min(start + step, self.n)
            if self.rows is None:
                block = self.X[start:stop]  # a view: a memmap reads these pages only
                yield start, (block if self.columns is None else block[:, self.columns])
            else:
                yield start, self.take(np.arange(start, stop))

    def where(self, i, j):
        """Row and column of X holding element ``(i, j)`` of the selection (for error messages)."""
        return (int(i if self.rows is None else self.rows[i]), int(j if self.columns is None else self.columns[j]))

    def not_finite(self, block, start, first=True):
        """A ValueError naming the first non-finite value of ``block`` (rows from ``start``), or None."""
        bad = ~np.isfinite(block)
        if not bad.any():
            return None
        i, j = np.argwhere(bad)[0]
        row, col = self.where(start + i, j)
        return ValueError(f"{self.name} contains a non-finite value ({'first ' if first else ''}at row {row}, "
                          f"column {col})")


def _column_stats(data):
    """Mean and standard deviation of every selected column, block by block.

    The sums run row after row in float64, continued from block to block, which is the order of
    numpy's ``X.mean(axis=0, dtype=float64)`` and ``X.std(...)``: the results are the same bits as
    those of a copy of the whole selection, without the copy (nor numpy's float64 temporary of
    X's size).  The first non-finite value is an error.
    """
    total = np.zeros(data.d)
    for start, block in data.blocks():
        b = np.array(_widen(block), dtype=np.float64)  # float16 -> float32 -> float64: exact
        err = data.not_finite(b, start)
        if err is not None:
            raise err
        b[0] += total  # continue the running sum of the previous blocks
        total = b.sum(axis=0)
    mean = total / data.n
    squares = np.zeros(data.d)
    for _, block in data.blocks():
        b = np.asarray(_widen(block), dtype=np.float64) - mean
        b *= b
        b[0] += squares
        squares = b.sum(axis=0)
    return mean, np.sqrt(squares / data.n)


def _float_vector(v, d, what):
    v = np.asarray(v, dtype=np.float32)
    if v.shape != (d,):
        raise ValueError(f"{what} must have one value per feature, shape ({d},), got {v.shape}")
    if not np.all(np.isfinite(v)):
        raise ValueError(f"{what} contains a non-finite value")
    return v


class ElasticNetProbe:
    """Multinomial logistic-regression probe with the LCA elastic-net penalty.

    The probe reads its training data a mini-batch at a time: ``X`` may be a memory-mapped
    activation store (with ``rows=`` and ``columns=`` selecting words and neurons, or an
    :class:`ArrayView`) and is never copied whole (a selection of at most 64 MiB is gathered once),
    so memory stays flat in the corpus size.  The standardisation is folded into the weights and the
    gradient is written out by hand; :func:`fit_probes` trains several probes on the same batches.

    Parameters
    ----------
    l1, l2 : float
        Penalty weights of ``sum|W|`` and of the (unsquared) Frobenius norm ``||W||_F``.
        The bias is not penalised.
    epochs : int
        Passes over the training data (the best epoch on ``X_val`` is kept when given).
    batch_size : int
        Mini-batch size; ``None`` or a size >= the number of words trains full-batch (which
        holds all the training rows in memory at once).
    lr : float
        Adam learning rate.
    standardize : bool
        Centre and scale every neuron by its training mean and standard deviation
        before the probe sees it.  ``coef_`` is then in standardized units, which
        puts neurons on a common scale so that ranking by ``|W|`` is meaningful
        (BERT-like models have outlier dimensions with much larger activations).
    seed : int
        Seeds the shuffling (and nothing else is random: weights start at zero unless
        warm-started), so the same seed and data give the same weights on the same device.
    device : str or torch.device, optional
        ``None`` uses CUDA when available, else the CPU.
    patience : int, optional
        With ``X_val``: stop after this many epochs without a better validation accuracy.
    solver : {"proximal", "adam"}
        ``"proximal"``: Adam steps on the smooth part and an exact proximal step for the l1
        term (weights switched off are exactly zero); ``"adam"``: Adam on the whole loss.
    progress : bool
        Show a tqdm bar over epochs.
    warm_start : bool
        Start a new ``fit`` from the weights of the previous one (scikit-learn's convention), as
        along a path of decreasing penalties (change ``l1``/``l2`` with :meth:`set_params`); the
        classes and the number of features must be the same.  Adam's moments start afresh.

    Attributes
    ----------
    classes_ : numpy.ndarray
        Sorted unique training labels (``numpy.unique`` order); row ``i`` of ``coef_``
        and column ``i`` of ``predict_proba`` belong to ``classes_[i]``.
    coef_ : numpy.ndarray, shape (n_classes, n_features)
        Weights, in standardized units when ``standardize=True``.
    intercept_ : numpy.ndarray, shape (n_classes,)
    mean_, scale_ : numpy.ndarray, shape (n_features,)
        Standardization (zeros and ones when ``standardize=False``).
    n_features_in_ : int
    history_ : pandas.DataFrame
        One row per epoch: ``epoch``, ``loss`` (mean training loss), ``val_accuracy``.
    best_epoch_ : int
        The epoch whose weights were kept (the last one without ``X_val``).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(200, 5)).astype("float32")
    >>> y = np.where(X[:, 2] > 0, "pos", "neg")
    >>> probe = ElasticNetProbe(l1=1e-4, l2=1e-4, epochs=30, batch_size=50, lr=1e-2).fit(X, y)
    >>> probe.classes_.tolist()
    ['neg', 'pos']
    >>> int(np.abs(probe.coef_[1]).argmax())
    2
    >>> probe.score(X, y) > 0.95
    True
    """

    def __init__(self, l1=1e-3, l2=1e-3, epochs=10, batch_size=256, lr=1e-3, standardize=True, seed=0,
                 device=None, patience=None, solver="proximal", progress=False, warm_start=False):
        self.l1 = l1
        self.l2 = l2
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.standardize = standardize
        self.seed = seed
        self.device = device
        self.patience = patience
        self.solver = solver
        self.progress = progress
        self.warm_start = warm_start

    # -- helpers -------------------------------------------------------------------------------
    def _device(self):
        if self.device is not None:
            return torch.device(self.device)
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")

    def _raw(self, block, device):
        """Raw rows -> a float32 tensor on ``device`` (the standardisation is folded into the weights)."""
        block = np.ascontiguousarray(_widen(block))
        if not block.flags.writeable:  # a read-only memmap's pages: torch wants memory it may write
            block = block.copy()
        return torch.as_tensor(block, device=device)

    def _raw_weights(self, device=None):
        """``(W, b)`` tensors that act on raw activations as ``coef_`` and ``intercept_`` act on standardised
        ones.

        ``((x - mean) / scale) @ W.T + b == x @ (W / scale).T + (b - (W / scale) @ mean)``: one pass
        over the weights instead of two over every block of activations.
        """
        W = torch.as_tensor(self.coef_, device=device)
        b = torch.as_tensor(self.intercept_, device=device)
        if not (np.any(self.mean_ != 0) or np.any(self.scale_ != 1)):
            return W, b
        inv = torch.as_tensor(1.0 / self.scale_.astype(np.float64), dtype=torch.float32, device=device)
        Wr = W * inv
        return Wr, torch.addmv(b, Wr, torch.as_tensor(self.mean_, device=device), alpha=-1)

    #: The constructor's arguments, in its order (what get_params reports and set_params takes).
    _PARAMS = ("l1", "l2", "epochs", "batch_size", "lr", "standardize", "seed", "device", "patience", "solver",
               "progress", "warm_start")

    #: What ``fit`` sets (scikit-learn's convention: a trailing underscore); before it, reading one is a
    #: :class:`~neuronbook.exceptions.NotFittedError`.
    _FITTED = ("classes_", "coef_", "intercept_", "mean_", "scale_", "n_features_in_", "history_", "best_epoch_")

    #: scikit-learn before 1.6 reads the estimator type here (later versions: ``__sklearn_tags__``).
    _estimator_type = "classifier"

    def get_params(self, deep=True):
        """The constructor arguments, as a dict (scikit-learn convention).

        ``deep`` is scikit-learn's: with True, the parameters of parameters that are estimators are
        included too (as ``name__param``); no argument of the probe is an estimator, so both give the
        same dict.
        """
        params = {k: getattr(self, k) for k in self._PARAMS}
        if deep:
            for k, v in list(params.items()):
                if hasattr(v, "get_params") and not isinstance(v, type):
                    params.update((f"{k}__{sub}", val) for sub, val in v.get_params(deep=True).items())
        return params

    def set_params(self, **params):
        """Set constructor arguments; returns self.  An unknown name is a ValueError naming the valid ones."""
        for k in params:
            if k not in self._PARAMS:
                raise ValueError(f"unknown parameter {k!r} for ElasticNetProbe; valid parameters: "
                                 f"{sorted(self._PARAMS)}")
        for k, v in params.items():
            setattr(self, k, v)
        return self

    def __getattr__(self, name):
        # only called when ordinary lookup fails: a fitted attribute read before fit
        if name in type(self)._FITTED:
            raise not_fitted(f"this ElasticNetProbe is not fitted yet ({name} is set by fit); call fit(X, y) first")
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __sklearn_tags__(self):
        """scikit-learn's estimator tags (1.6 and later): a classifier of 2-D numeric input, labels required."""
        from sklearn.utils import ClassifierTags, InputTags, Tags, TargetTags

        return Tags(estimator_type="classifier", target_tags=TargetTags(required=True),
                    classifier_tags=ClassifierTags(), input_tags=InputTags(two_d_array=True))

    def _check_params(self):
        for name in ("l1", "l2", "lr"):  # a NaN penalty would train to garbage without a word
            v = getattr(self, name)
            if not isinstance(v, (int, float, np.number)) or not np.isfinite(v) or v < 0 or (name == "lr" and v == 0):
                raise ValueError(f"ElasticNetProbe.{name}={v!r}: must be a finite number >= 0"
                                 + (" and > 0" if name == "lr" else ""))
        if self.solver not in ("proximal", "adam"):
            raise ValueError(f"solver must be 'proximal' or 'adam', got {self.solver!r}")

    # -- fitting -------------------------------------------------------------------------------
    def fit(self, X, y, X_val=None, y_val=None, *, rows=None, columns=None, val_rows=None, stats=None,
            coef_init=None, intercept_init=None):
        """Train the probe.

        Parameters
        ----------
        X : array-like, shape (n_words, n_features)
            Any 2-D numeric array or :class:`ArrayView`, a read-only ``numpy.memmap`` included (a
            float16 one is widened as it is read).  A selection (``rows``/``columns``) of at most
            ``COMPACT_BLOCKS * BLOCK_BYTES`` (64 MiB) as float32 is gathered once into a compact copy;
            a larger one is read a mini-batch at a time, so memory stays flat in the corpus size.
        y : array-like, shape (n_selected_words,)
            Labels (strings or integers), one per row of ``X`` -- per entry of ``rows`` when given.
        X_val, y_val : optional
            Validation data: the epoch with the best validation accuracy is kept
            (and training stops early after ``patience`` epochs without improvement).
        rows : array-like of int, optional
            The rows of ``X`` to train on, in this order (e.g. the training sentences' words of a
            store); ``None``: all.
        columns : array-like of int, optional
            The columns of ``X`` (and of ``X_val``) the probe sees, e.g. a prefix of a ranking;
            ``None``: all.
        val_rows : array-like of int, optional
            The rows of ``X_val`` to validate on (``X_val`` may be the same array as ``X``).
        stats : (mean, scale), optional
            Standardisation to use instead of computing it, one value per feature the probe sees
            (after ``columns``): e.g. ``(p.mean_[cols], p.scale_[cols])`` of a fit ``p`` on the same
            rows, which is exactly what this fit would compute, saving a pass over the data.
            Only with ``standardize=True``.
        coef_init, intercept_init : array-like, optional
            Starting weights, shape (n_classes, n_features) and (n_classes,), rows in ``classes_``
            order (``numpy.unique(y)``), e.g. a previous fit's ``coef_[:, cols]`` when retraining on
            a prefix of its ranking.  They take precedence over ``warm_start``.  Default: zeros.

        Returns
        -------
        self

        Examples
        --------
        Train on rows and columns of a memory-mapped array, reuse the statistics, then warm-start
        a smaller penalty from the weights found:

        >>> import tempfile, os
        >>> rng = np.random.default_rng(0)
        >>> path = os.path.join(tempfile.mkdtemp(), "X.npy")
        >>> np.save(path, rng.normal(size=(300, 6)).astype("float32"))
        >>> X = np.load(path, mmap_mode="r")
        >>> y = np.where(X[:, 4] > 0, "A", "B")
        >>> train = np.arange(0, 300, 2)
        >>> p = ElasticNetProbe(l1=1e-2, l2=0, epochs=20, batch_size=30, lr=1e-2)
        >>> p = p.fit(X, y[train], rows=train, columns=[1, 4])
        >>> p.coef_.shape, bool(abs(p.coef_[0, 1]) > abs(p.coef_[0, 0]))
        ((2, 2), True)
        >>> q = ElasticNetProbe(l1=1e-3, l2=0, epochs=5, batch_size=30, lr=1e-2).fit(
        ...     X, y[train], rows=train, columns=[1, 4], stats=(p.mean_, p.scale_), coef_init=p.coef_,
        ...     intercept_init=p.intercept_)
        >>> bool(np.array_equal(q.mean_, p.mean_)), q.score(X, y[1::2], rows=np.arange(1, 300, 2),
        ...                                                columns=[1, 4]) > 0.9
        (True, True)
        """
        self._check_params()
        data = _Selection(X, rows, columns, "X")
        y = np.asarray(y)
        if y.ndim != 1 or len(y) != data.n:
            of = "of X" if rows is None else "selected by rows"
            raise ValueError(f"y must be 1-D with one label per row {of}: X has {data.n} rows"
                             f"{'' if rows is None else ' selected'}, y has shape {y.shape}")
        if data.n == 0:
            raise ValueError("cannot fit a probe on 0 words")
        if (X_val is None) != (y_val is None):
            raise ValueError("give both X_val and y_val, or neither")
        val = None
        if X_val is not None:
            val = _Selection(X_val, val_rows, columns, "X_val")
            if val.d != data.d:
                raise ValueError(f"X_val has {val.d} features but X has {data.d}")
            y_val = np.asarray(y_val)
            if y_val.ndim != 1 or len(y_val) != val.n:
                raise ValueError(f"y_val must be 1-D with one label per row of X_val: {val.n} rows, y_val has "
                                 f"shape {y_val.shape}")
        elif val_rows is not None:
            raise ValueError("val_rows selects rows of X_val: give X_val and y_val too")
        if stats is not None and not self.standardize:
            raise ValueError("stats are standardisation statistics: they need standardize=True")
        with _training(data.X):
            return self._fit(data, y, val, y_val, self._device(), stats, coef_init, intercept_init)

    def _start(self, classes, d, coef_init, intercept_init):
        """The starting weights: given, the previous fit's (warm_start), or zeros."""
        k = len(classes)
        if coef_init is None and intercept_init is None and self.warm_start and hasattr(self, "coef_"):
            if not np.array_equal(self.classes_, classes) or self.coef_.shape != (k, d):
                raise ValueError(f"warm_start: the previous fit had {len(self.classes_)} classes x "
                                 f"{self.coef_.shape[1]} features, this one has {k} x {d} (or other classes); "
                                 f"pass coef_init or set warm_start=False")
            coef_init, intercept_init = self.coef_, self.intercept_
        W = np.zeros((k, d), np.float32)
        if coef_init is not None:
            W = np.asarray(coef_init, dtype=np.float32)
            if W.shape != (k, d):
                raise ValueError(f"coef_init must have shape (n_classes, n_features) = ({k}, {d}), got {W.shape}")
            if not np.all(np.isfinite(W)):
                raise ValueError("coef_init contains a non-finite value")
        b = np.zeros(k, np.float32) if intercept_init is None else _float_vector(intercept_init, k, "intercept_init")
        return W, b

    def _fit(self, data, y, val, y_val, device, stats, coef_init, intercept_init):
        classes = np.unique(y)
        W0, b0 = self._start(classes, data.d, coef_init, intercept_init)
        checked = False  # has every training value been checked finite?
        if stats is not None:
            mean, scale = stats
            mean = _float_vector(mean, data.d, "stats mean")
            scale = _float_vector(scale, data.d, "stats scale")
            if np.any(scale <= 0):
                raise ValueError("stats scale must be > 0 for every feature")
        else:
            mean, scale, checked = _standardization(data, self.standardize)
        _train_group([self], data, y, classes, None, val, y_val, device, [(W0, b0)], (mean, scale), checked)
        return self

    # -- inference -----------------------------------------------------------------------------
    def _check_fitted(self):
        if "coef_" not in vars(self):
            raise not_fitted("this ElasticNetProbe is not fitted yet; call fit(X, y) first")

    def _selection(self, X, rows, columns):
        data = _Selection(X, rows, columns, "X")
        if data.d != self.n_features_in_:
            raise ValueError(f"X has {data.d} features but the probe was fitted on {self.n_features_in_}")
        return data

    def decision_function(self, X, *, rows=None, columns=None):
        """Logits, shape (n_words, n_classes).

        ``rows`` and ``columns`` select part of ``X`` as in :meth:`fit`; ``X`` is read a block of
        rows at a time.
        """
        self._check_fitted()
        data = self._selection(X, rows, columns)
        device = self._device()
        W, b = self._raw_weights(device=device)
        out = np.empty((data.n, len(self.classes_)), np.float32)
        with torch.no_grad():
            for start, block in data.blocks():
                out[start:start + len(block)] = torch.addmm(b, self._raw(block, device), W.t()).cpu().numpy()
        return out

    def predict_proba(self, X, *, rows=None, columns=None):
        """Class probabilities, shape (n_words, n_classes), columns in ``classes_`` order."""
        logits = self.decision_function(X, rows=rows, columns=columns)
        logits = logits - logits.max(axis=1, keepdims=True)
        p = np.exp(logits)
        return p / p.sum(axis=1, keepdims=True)

    def predict(self, X, *, rows=None, columns=None):
        """Predicted labels (elements of ``classes_``)."""
        self._check_fitted()
        return self.classes_[self.decision_function(X, rows=rows, columns=columns).argmax(axis=1)]

    def unseen_labels(self, y):
        """Counts of the labels in ``y`` that were not seen in training (a Series, label -> count)."""
        self._check_fitted()
        y = np.asarray(y)
        mask = encode_labels(y, self.classes_) < 0
        if not mask.any():
            return pd.Series(dtype="int64", name="count")
        labels, counts = np.unique(y[mask], return_counts=True)
        return pd.Series(counts, index=pd.Index(labels, name="label"), name="count").sort_values(ascending=False)

    def score(self, X, y, *, rows=None, columns=None):
        """Accuracy on ``(X, y)`` (``y``: one label per row of ``X``, or per entry of ``rows``).

        Labels not seen in training cannot be predicted; they count as errors and a
        warning reports how many there were.
        """
        self._check_fitted()
        y = np.asarray(y)
        n = len(X) if rows is None else len(rows)
        if len(y) != n:
            raise ValueError(f"X has {n} rows{'' if rows is None else ' selected'} but y has {len(y)} labels")
        if len(y) == 0:
            raise ValueError("cannot score on 0 words")
        unseen = self.unseen_labels(y)
        if len(unseen):
            warnings.warn(f"{int(unseen.sum())} of {len(y)} words ({100 * unseen.sum() / len(y):.2f}%) have labels "
                          f"unseen in training and count as errors: "
                          + ", ".join(f"{k}={v}" for k, v in unseen.head(10).items()), UnseenLabelsWarning,
                          stacklevel=2)
        return float(np.mean(self.predict(X, rows=rows, columns=columns) == y))

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"ElasticNetProbe({args})"

    def __sklearn_clone__(self):
        """What ``sklearn.base.clone`` returns: a new, unfitted probe with a deep copy of the parameters."""
        return type(self)(**copy.deepcopy(self.get_params(deep=False)))


def _memory_available():
    """Bytes this process may still fill: the system's MemAvailable, or less under a memory cgroup limit
    (v1 or v2); None where neither can be read."""
    found = []
    try:
        with open("/proc/meminfo") as f:
            found += [int(ln.split()[1]) * 1024 for ln in f if ln.startswith("MemAvailable:")]
        with open("/proc/self/cgroup") as f:
            lines = [ln.strip().split(":", 2) for ln in f]
    except OSError:
        return min(found) if found else None
    for _, controllers, rel in lines:
        v1 = "memory" in controllers.split(",")
        if not v1 and controllers != "":
            continue
        base = "/sys/fs/cgroup/memory" if v1 else "/sys/fs/cgroup"
        files = ("memory.limit_in_bytes", "memory.usage_in_bytes") if v1 else ("memory.max", "memory.current")
        try:
            with open(f"{base}{rel}/{files[0]}") as f:
                limit = f.read().strip()
            with open(f"{base}{rel}/{files[1]}") as f:
                usage = int(f.read().strip())
        except (OSError, ValueError):
            continue
        if limit.isdigit() and int(limit) < 2**60:
            found.append(max(0, int(limit) - usage))
    return min(found) if found else None


class _RandomAccess:
    """Within this block, the pages of a memory-mapped ``X`` too large for memory are read without read-ahead.

    Mini-batches read scattered rows.  When the store does not fit in the memory left (a Binder pod's
    cgroup, say), the kernel's read-ahead would load neighbouring pages the batch does not use, evicting
    pages it will need: each batch then reads many times what it needs (an x4 store under a cap of half
    its size: minutes instead of seconds).  ``madvise(MADV_RANDOM)`` stops that.  It is not used when
    the store fits: read-ahead costs nothing then, and the kernel stops ageing advised pages, which a
    machine that reclaims idle memory proactively may evict mid-fit.  The advice is set back afterwards.
    """

    def __init__(self, X):
        m = getattr(X, "_mmap", None)
        self.mm = m if m is not None and hasattr(m, "madvise") and hasattr(mmap, "MADV_RANDOM") else None
        if self.mm is not None:
            available = _memory_available()
            if available is None or len(self.mm) <= available // 2:
                self.mm = None

    def _advise(self, advice):
        if self.mm is not None:
            try:
                self.mm.madvise(advice)
            except (OSError, ValueError):  # a closed map or a platform without it: only an optimisation
                self.mm = None

    def __enter__(self):
        self._advise(getattr(mmap, "MADV_RANDOM", 0))
        return self

    def __exit__(self, *exc):
        self._advise(getattr(mmap, "MADV_NORMAL", 0))


@contextlib.contextmanager
def _training(X):
    """What every fit runs under: no autograd graph (the gradients are written out by hand), denormal
    floats flushed, and random-access advice for a memory-mapped ``X`` larger than memory."""
    # denormal floats (tiny softmax tails, Adam moments of switched-off weights) slow CPU math by orders
    # of magnitude; flush them during the fit and restore torch's default afterwards
    flushed = torch.set_flush_denormal(True)
    try:
        with torch.no_grad(), _RandomAccess(X):
            yield
    finally:
        if flushed:
            torch.set_flush_denormal(False)


def _standardization(data, standardize):
    """``(mean, scale, checked)`` of a selection: float32 statistics, and whether its values were checked finite."""
    if not standardize:
        return np.zeros(data.d, np.float32), np.ones(data.d, np.float32), False
    mean, std = data.stats if data.stats is not None else _column_stats(data)
    # constant neurons carry no information; keep them at zero instead of dividing by 0
    return mean.astype(np.float32), np.where(std > 1e-12, std, 1.0).astype(np.float32), True


def _column_layout(col_sets, d):
    """How a group of fits sees the columns of a ``d``-column selection.

    Returns ``(mode, columns, positions)``: ``"shared"`` when every set is a prefix of the longest
    one (all columns when every set is None): ``columns`` are the longest set and fit ``i`` uses its
    first ``len(set_i)``; ``"gather"`` when the sets differ but have one size: ``columns`` is their
    sorted union and ``positions`` (fits x size) index into it.  None when the sets are neither.
    """
    if all(c is None for c in col_sets):
        return "shared", None, None
    sets = [np.arange(d) if c is None else np.asarray(c, dtype=np.int64) for c in col_sets]
    longest = max(sets, key=len)
    if all(np.array_equal(s, longest[:len(s)]) for s in sets):
        return "shared", longest, None
    if len({len(s) for s in sets}) == 1:
        union = np.unique(np.concatenate(sets))
        return "gather", union, np.stack([np.searchsorted(union, s) for s in sets])
    return None


class _Group:
    """How a group of fits reads its data: the shared or gathered columns, the standardisation folded into
    the weights, and the mask of shorter prefixes (see :func:`_column_layout`)."""

    def __init__(self, data, val, col_sets, stats, K, device, checked):
        col_sets = [None] * K if col_sets is None else list(col_sets)
        self.mode, cols, pos = _column_layout(col_sets, data.d)
        mean_all, scale_all = stats
        if cols is not None:  # train on the union of the sets' columns only
            data = _Selection(data.X, data.rows, cols if data.columns is None else data.columns[cols], data.name)
            if val is not None:
                val = _Selection(val.X, val.rows, cols if val.columns is None else val.columns[cols], val.name)
            mean_all, scale_all = mean_all[cols], scale_all[cols]
        u = data.d
        self.sizes = [u if c is None else len(c) for c in col_sets]
        self.K, self.u, self.pos = K, u, pos
        self.k = k = u if self.mode == "shared" else pos.shape[1]
        # a small selection is gathered once: batches of a few neurons then skip reading whole rows
        if (data.rows is not None or data.columns is not None or data.X.dtype != np.float32
                or not data.X.flags.c_contiguous) and data.n * u * 4 <= COMPACT_BLOCKS * BLOCK_BYTES:
            if not checked:
                for start, block in data.blocks():
                    err = data.not_finite(block, start)
                    if err is not None:
                        raise err
                checked = True
            data = data.compact()
        self.data, self.val, self.checked = data, val, checked
        self.mean_all, self.scale_all = mean_all, scale_all
        standardized = bool(np.any(mean_all != 0) or np.any(scale_all != 1))
        inv_all = (1.0 / scale_all.astype(np.float64)).astype(np.float32)
        if self.mode == "shared":  # one (1, 1, u) row of statistics for every fit
            self.mean_t = torch.as_tensor(mean_all, device=device).reshape(1, 1, u)
            self.inv_t = torch.as_tensor(inv_all, device=device).reshape(1, 1, u) if standardized else None
            self.pos_t = None
        else:
            self.mean_t = torch.as_tensor(mean_all[pos], device=device).reshape(K, 1, k)
            self.inv_t = torch.as_tensor(inv_all[pos], device=device).reshape(K, 1, k) if standardized else None
            self.pos_t = torch.as_tensor(pos, device=device)
        self.mask = None
        if any(s < k for s in self.sizes):  # shorter prefixes: their extra columns hold zero weights, masked
            self.mask = torch.zeros(K, 1, k, device=device)
            for i, s in enumerate(self.sizes):
                self.mask[i, 0, :s] = 1

    def inputs(self, Xb):
        """A block of rows -> what the products read: (m, u) shared, (K, m, k) gathered."""
        K, k = self.K, self.k
        return Xb if self.pos_t is None else torch.index_select(Xb, 1, self.pos_t.flatten()).view(-1, K, k).transpose(0, 1)

    def logits(self, W, b, Xin):
        """(K, m, C) logits of standardised inputs, from raw ones: the standardisation is folded into W."""
        K, C, k = W.shape
        inv_t, mean_t = self.inv_t, self.mean_t
        Wr = W if inv_t is None else W * inv_t
        if inv_t is None:
            br = b
        elif self.pos_t is None:  # one mean row for every fit: a matrix-vector product
            br = torch.addmv(b.reshape(-1), Wr.reshape(K * C, k), mean_t.reshape(k), alpha=-1).reshape(K, C)
        else:
            br = b - torch.bmm(Wr, mean_t.transpose(1, 2)).squeeze(2)
        if self.pos_t is None:
            return torch.addmm(br.reshape(1, K * C), Xin, Wr.reshape(K * C, k).t()).reshape(-1, K, C).transpose(0, 1)
        return torch.baddbmm(br.unsqueeze(1), Xin, Wr.transpose(1, 2))

    def cross_entropy(self, W, b, Xin, yb, minus_one):
        """Mean cross-entropy of every fit on a batch and its gradient in standardised units, by hand
        (softmax minus one-hot: no autograd graph)."""
        K, C, k = W.shape
        m = len(yb)
        logp = torch.log_softmax(self.logits(W, b, Xin), dim=2)
        idx = yb.reshape(1, m, 1).expand(K, m, 1)
        loss = -logp.gather(2, idx).mean(dim=(1, 2)).double()
        G = logp.exp_()
        G.scatter_add_(2, idx, minus_one[:, :m])
        gb = G.sum(1)
        if self.pos_t is None:
            gW = torch.mm(G.transpose(1, 2).reshape(K * C, m), Xin).reshape(K, C, k)
        else:
            gW = torch.bmm(G.transpose(1, 2), Xin)
        mask, inv_t, mean_t = self.mask, self.inv_t, self.mean_t
        if inv_t is not None:  # back to standardised units: d/dW of x @ (W / scale).T - (W / scale) @ mean
            if self.pos_t is None:
                gW.view(K * C, k).addr_(gb.reshape(-1), mean_t.reshape(k), alpha=-1)
            else:
                gW.baddbmm_(gb.unsqueeze(2), mean_t, alpha=-1)
            gW.mul_(inv_t * (1.0 / m) if mask is None else inv_t * mask * (1.0 / m))
        else:
            gW.mul_(1.0 / m if mask is None else mask * (1.0 / m))
        gb.mul_(1.0 / m)
        return loss, gW, gb

    def finish(self, probes, classes, weights, best_epoch, history):
        """Write every probe's fitted attributes: its own columns of the group's weights."""
        for i, p in enumerate(probes):
            Wi, bi = weights[i]
            s = self.sizes[i]
            p.classes_ = classes
            p.n_features_in_ = s
            p.coef_ = Wi[:, :s].cpu().numpy().copy()
            p.intercept_ = bi.cpu().numpy().copy()
            if self.mode == "shared":
                p.mean_, p.scale_ = self.mean_all[:s].copy(), self.scale_all[:s].copy()
            else:
                p.mean_, p.scale_ = self.mean_all[self.pos[i]].copy(), self.scale_all[self.pos[i]].copy()
            p.best_epoch_ = best_epoch[i]
            p.history_ = pd.DataFrame(history[i], columns=["epoch", "loss", "val_accuracy"])


def _add_penalties(W, gW, loss, l1, l2, proximal):
    """The elastic net's smooth part (and, without the proximal step, L1's subgradient) added to a batch's
    loss and gradient: ``l2 * ||W||_F`` and ``l1 * sum|W|`` per fit."""
    if bool(l2.any()):
        norm = torch.linalg.vector_norm(W, dim=(1, 2), keepdim=True)
        loss += (l2 * norm).flatten().double()
        gW.addcmul_(W, l2 / norm.clamp_min(1e-30))  # d||W||/dW = W / ||W||; zero at W = 0 (no NaN)
    if bool(l1.any()) and not proximal:
        loss += (l1.flatten() * W.abs().sum(dim=(1, 2))).double()
        gW.addcmul_(torch.sign(W), l1)
    return loss


class _Adam:
    """Adam on the group's ``(W, b)``, with the denominator kept for the proximal L1 step.

    Written out rather than ``torch.optim.Adam``, for a measured reason: the proximal step needs Adam's
    per-weight denominator, which ``torch.optim`` does not keep (it is recomputed from the second moment
    each step), and in ``benchmarks/adam_optimizer.py`` the whole fit took 17.3 s with ``torch.optim.Adam``
    against 13.5 s with this one (2 CPU threads, same weights to 5e-7 relative; docs/benchmarks.md).
    """

    def __init__(self, W, b, lr, betas=(0.9, 0.999), eps=1e-8):
        self.params = (W, b)
        self.lr, (self.beta1, self.beta2), self.eps = float(lr), betas, eps
        # the moments and scratch space, allocated once (the loop runs thousands of times)
        self.state = [tuple(torch.zeros_like(p) for _ in range(3)) for p in self.params]
        self.scratch = torch.zeros_like(W)
        self.steps = 0

    def step(self, grads):
        self.steps += 1
        c1, c2 = 1 - self.beta1 ** self.steps, 1 - self.beta2 ** self.steps
        for p, g, (mo, v, den) in zip(self.params, grads, self.state):
            mo.mul_(self.beta1).add_(g, alpha=1 - self.beta1)
            v.mul_(self.beta2).addcmul_(g, g, value=1 - self.beta2)
            torch.mul(v, 1.0 / c2, out=den).sqrt_().add_(self.eps)
            p.addcdiv_(mo, den, value=-self.lr / c1)

    def soft_threshold(self, l1):
        """The proximal step of ``l1 * sum|W|`` in Adam's metric: soft-thresholding gives exact zeros."""
        W, den = self.params[0], self.state[0][2]
        thr = torch.reciprocal(den, out=den).mul_(self.lr).mul_(l1)
        W.sub_(torch.clamp(W, min=torch.neg(thr, out=self.scratch), max=thr))


def _train_group(probes, data, y, classes, col_sets, val, y_val, device, starts, stats, checked):
    """Train several probes in one loop over the same mini-batches (see :func:`fit_probes`).

    ``data``/``val``: selections of the rows (and the columns of ``col_sets``, positions into them,
    ``None``: all); ``starts``: each fit's ``(W0, b0)`` over its own columns; ``stats``: ``(mean,
    scale)`` float32 over ``data``'s columns.  The probes share every setting but ``l1``/``l2``.
    """
    first = probes[0]
    K, C = len(probes), len(classes)
    group = _Group(data, val, col_sets, stats, K, device, checked)
    data, val, checked, k = group.data, group.val, group.checked, group.k
    n = data.n
    W = torch.zeros(K, C, k, device=device)
    b = torch.zeros(K, C, device=device)
    for i, (W0, b0) in enumerate(starts):
        W[i, :, :group.sizes[i]] = torch.as_tensor(W0)
        b[i] = torch.as_tensor(b0)
    l1 = torch.tensor([float(p.l1) for p in probes], device=device).reshape(K, 1, 1)
    l2 = torch.tensor([float(p.l2) for p in probes], device=device).reshape(K, 1, 1)
    proximal = first.solver == "proximal"
    prox = proximal and bool(l1.any())
    adam = _Adam(W, b, first.lr)

    yt = torch.as_tensor(encode_labels(y, classes), device=device)
    val_blocks = yv = None
    if val is not None:
        yv = torch.as_tensor(encode_labels(y_val, classes), device=device)
        if val.n * group.u * 4 <= BLOCK_BYTES:  # read again every epoch, unless the rows fit in one block
            val_blocks = [(s, group.inputs(first._raw(blk, device))) for s, blk in val.blocks()]

    gen = torch.Generator(device="cpu").manual_seed(int(first.seed))
    bs = n if not first.batch_size or first.batch_size >= n else int(first.batch_size)
    buf = np.empty((bs, group.u), np.float32)
    minus_one = torch.full((K, bs, 1), -1.0, device=device)  # the one-hot, subtracted from the softmax
    history = [[] for _ in range(K)]
    best_acc = np.full(K, -1.0)
    best = [None] * K
    best_epoch = [0] * K
    stale = np.zeros(K, int)
    for epoch in tqdm(range(1, first.epochs + 1), disable=not first.progress, desc="probe", leave=False):
        perm = torch.randperm(n, generator=gen)
        perm_np = perm.numpy()
        perm = perm.to(device)
        total = torch.zeros(K, dtype=torch.float64, device=device)
        for start in range(0, n, bs):
            p_np = perm_np[start:start + bs]
            raw = data.take_into(p_np, buf)
            if not checked and not np.isfinite(raw).all():  # values seen for the first time: checked here
                i, j = np.argwhere(~np.isfinite(raw))[0]
                row, col = data.where(p_np[i], j)
                raise ValueError(f"X contains a non-finite value (at row {row}, column {col})")
            Xin = group.inputs(torch.from_numpy(raw).to(device))
            loss, gW, gb = group.cross_entropy(W, b, Xin, yt[perm[start:start + bs]], minus_one)
            loss = _add_penalties(W, gW, loss, l1, l2, proximal)
            adam.step((gW, gb))
            if prox:
                adam.soft_threshold(l1)
                loss += (l1.flatten() * W.abs().sum(dim=(1, 2))).double()
            total += loss * len(p_np)
        checked = True
        total = total.cpu()
        for i, p in enumerate(probes):
            if not np.isfinite(float(total[i])):
                raise FloatingPointError(f"the probe's training loss became {float(total[i]) / n} in epoch {epoch} "
                                         f"(l1={p.l1}, l2={p.l2}, lr={adam.lr}): lower lr, or check the activations' "
                                         f"scale")
        accs = np.full(K, np.nan)
        if val is not None:
            hits = torch.zeros(K, dtype=torch.float64, device=device)
            blocks = val_blocks if val_blocks is not None else (
                (s, group.inputs(first._raw(blk, device))) for s, blk in val.blocks())
            for s, Xv in blocks:
                hits += (group.logits(W, b, Xv).argmax(2) == yv[s:s + Xv.shape[-2]]).sum(1).double()
            accs = (hits / val.n).cpu().numpy()
            for i in range(K):
                if accs[i] > best_acc[i]:
                    best_acc[i], best[i], best_epoch[i], stale[i] = accs[i], (W[i].clone(), b[i].clone()), epoch, 0
                else:
                    stale[i] += 1
        for i in range(K):
            history[i].append({"epoch": epoch, "loss": float(total[i]) / n, "val_accuracy": float(accs[i])})
        if first.patience is not None and val is not None and np.all(stale >= first.patience):
            break
    weights = [best[i] if best[i] is not None else (W[i], b[i]) for i in range(K)]
    epochs = [best_epoch[i] if best[i] is not None else len(history[i]) for i in range(K)]
    group.finish(probes, classes, weights, epochs, history)


def fit_probes(probes, X, y, columns=None, *, rows=None):
    """Fit several probes on the same words together: one pass over each mini-batch for all of them.

    Every probe sees the same mini-batches (its settings must be equal but for ``l1`` and ``l2``),
    so one batch of rows serves them all and their products run as one large matrix product
    instead of many small ones.  Each probe ends up as it would from its own
    :meth:`ElasticNetProbe.fit` on ``X[:, columns[i]]`` (up to float rounding): its weights never
    mix with the others'.

    Parameters
    ----------
    probes : list of ElasticNetProbe
        Unfitted (or to be refitted from zeros; ``warm_start`` is not used).
    X : array-like or ArrayView, shape (n_words, n_features)
    y : array-like, shape (n_selected_words,)
    columns : list, optional
        One entry per probe: the columns it sees (``None``: all).  Either every set is a prefix
        of the longest one (e.g. prefixes of a ranking: they share the product, the shorter ones'
        extra weights held at zero) or all have one size (e.g. random draws).
    rows : array-like of int, optional
        The training rows of ``X``, as in :meth:`ElasticNetProbe.fit`.

    Returns
    -------
    list of ElasticNetProbe
        ``probes``, fitted.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(400, 6)).astype("float32"); y = np.where(X[:, 0] > 0, "A", "B")
    >>> ps = fit_probes([ElasticNetProbe(l1=0, l2=0, epochs=5, batch_size=40, lr=1e-2) for _ in range(3)],
    ...                 X, y, columns=[[0], [0, 1, 2], [0, 1, 2, 3, 4, 5]])
    >>> [p.coef_.shape for p in ps], all(p.score(X[:, :p.n_features_in_], y) > 0.9 for p in ps)
    ([(2, 1), (2, 3), (2, 6)], True)
    """
    probes = list(probes)
    if not probes:
        return probes
    shared = {k: v for k, v in probes[0].get_params().items() if k not in ("l1", "l2", "warm_start")}
    for p in probes:
        p._check_params()
        other = {k: v for k, v in p.get_params().items() if k not in ("l1", "l2", "warm_start")}
        if other != shared:
            diff = sorted(k for k in shared if other[k] != shared[k])
            raise ValueError(f"probes fitted together must share every setting but l1 and l2; these differ: {diff}")
    columns = [None] * len(probes) if columns is None else list(columns)
    if len(columns) != len(probes):
        raise ValueError(f"columns has {len(columns)} entries for {len(probes)} probes")
    base = _Selection(X, rows, None, "X")
    y = np.asarray(y)
    if y.ndim != 1 or len(y) != base.n:
        raise ValueError(f"y must be 1-D with one label per selected row of X: {base.n} rows, y has shape {y.shape}")
    if base.n == 0:
        raise ValueError("cannot fit a probe on 0 words")
    columns = [None if c is None else _positions(c, base.d, "columns") for c in columns]
    layout = _column_layout(columns, base.d)
    if layout is None:
        raise ValueError("fits trained together need nested column sets (prefixes of one ordering) or sets of one size")
    mode, cols, pos = layout
    data = base if cols is None else _Selection(X, rows, cols, "X")
    if cols is None:
        sets = None
    elif mode == "shared":
        sets = [np.arange(base.d if c is None else len(c)) for c in columns]
    else:
        sets = list(pos)
    mean, scale, checked = _standardization(data, probes[0].standardize)
    classes = np.unique(y)
    starts = [(np.zeros((len(classes), data.d if s is None else len(s)), np.float32),
               np.zeros(len(classes), np.float32)) for s in (sets or [None] * len(probes))]
    with _training(data.X):
        _train_group(probes, data, y, classes, sets, None, None, probes[0]._device(), starts, (mean, scale), checked)
    return probes


def clone(estimator=None, **changes):
    """An unfitted copy of ``estimator`` with ``changes`` to its parameters (``None``: ``ElasticNetProbe()``).

    Like scikit-learn's ``clone``: the copy has the same ``get_params()`` and no fitted state, so a
    template estimator (``LCAConfig.make_probe()``) can be fitted many times without being changed.

    Examples
    --------
    >>> template = ElasticNetProbe(l1=1e-3, l2=1e-3, epochs=3)
    >>> copy = clone(template, l1=0.0)
    >>> copy.l1, copy.l2, copy.epochs, copy is template
    (0.0, 0.001, 3, False)
    """
    estimator = ElasticNetProbe() if estimator is None else estimator
    params = dict(estimator.get_params())
    unknown = sorted(set(changes) - set(params))
    if unknown:
        raise ValueError(f"{type(estimator).__name__} has no parameter(s) {unknown}; valid: {sorted(params)}")
    params.update(changes)
    return type(estimator)(**params)


# -- many probes at once: fits on column sets, one pass over the rows to score them --------------------------------

def fit_copies(estimator, X, y, column_sets, penalties=None):
    """Copies of ``estimator`` fitted on column sets of ``X`` (``None``: all columns), together where they can be.

    Sets that are prefixes of one ordering, or that have one size, share each mini-batch
    (:func:`fit_probes`); other sets are grouped by size.  ``penalties`` gives each set its own
    ``(l1, l2)``.  An estimator that is not an :class:`ElasticNetProbe` is fitted set by set.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(200, 4)).astype("float32"); y = (X[:, 1] > 0).astype(int)
    >>> fits = fit_copies(ElasticNetProbe(epochs=3), X, y, [[1], [1, 0], None])
    >>> [p.coef_.shape[1] for p in fits]
    [1, 2, 4]
    """
    sets = list(column_sets)
    if penalties is None:
        make = [lambda: clone(estimator)] * len(sets)
    else:
        make = [lambda a=a, b=b: clone(estimator, l1=a, l2=b) for a, b in penalties]
    if not (estimator is None or isinstance(estimator, ElasticNetProbe)):
        return [m().fit(X if c is None else X[:, c], y) for m, c in zip(make, sets)]
    if _column_layout(sets, X.shape[1]) is not None:  # nested prefixes, or sets of one size
        return fit_probes([m() for m in make], X, y, sets)
    out = [None] * len(sets)
    by_size = {}
    for i, c in enumerate(sets):
        by_size.setdefault(X.shape[1] if c is None else len(c), []).append(i)
    for idx in by_size.values():
        for i, p in zip(idx, fit_probes([make[i]() for i in idx], X, y, [sets[i] for i in idx])):
            out[i] = p
    return out


def _float_blocks(data):
    """``(start, stop, float32 tensor)`` over the rows of a selection, one reused buffer of about
    :data:`BLOCK_BYTES`: the one loop every many-probe scorer below reads the rows with."""
    step = max(1, BLOCK_BYTES // (4 * max(data.d, 1)))
    buf = np.empty((min(step, data.n), data.d), np.float32)
    for start in range(0, data.n, step):
        stop = min(start + step, data.n)
        yield start, stop, torch.from_numpy(data.take_into(np.arange(start, stop), buf))


def predict_many(models, X):
    """Predicted class positions (into each probe's ``classes_``) of many fitted probes, one pass over ``X``.

    ``models``: ``(probe, columns)`` pairs, ``columns`` the columns of ``X`` the probe was fitted on
    (``None``: all).  Each block of rows is read once for all the probes instead of once per probe.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(200, 3)).astype("float32"); y = np.where(X[:, 2] > 0, "a", "b")
    >>> p = ElasticNetProbe(l1=0, l2=0, epochs=20, lr=1e-2, batch_size=32).fit(X[:, [2]], y)
    >>> pred = predict_many([(p, [2])], X)[0]
    >>> bool(np.mean(p.classes_[pred] == y) > 0.95)
    True
    """
    data = _Selection(X)
    folded = []
    for probe, cols in models:
        W, b = probe._raw_weights()
        folded.append((None if cols is None else torch.from_numpy(np.array(cols, dtype=np.int64)),
                       W.t().contiguous(), b))
    out = [np.empty(data.n, np.int64) for _ in models]
    with torch.no_grad():
        for start, stop, Xt in _float_blocks(data):
            for i, (cols, Wt, b) in enumerate(folded):
                Xc = Xt if cols is None else torch.index_select(Xt, 1, cols)
                out[i][start:stop] = torch.addmm(b, Xc, Wt).argmax(1).numpy()
    return out


def column_means(X):
    """Float64 mean of every column of ``X``, block by block (no copy of ``X``).

    Examples
    --------
    >>> column_means(np.array([[1.0, 2.0], [3.0, 6.0]], np.float32)).tolist()
    [2.0, 4.0]
    """
    return _column_stats(_Selection(X))[0]


def masked_accuracies(probe, X, y, jobs):
    """Accuracy of the trained ``probe`` on ``(X, y)`` with neurons missing, for many neuron sets in one pass.

    ``jobs``: ``(columns, keep, fill)`` triples; ``keep=True``: only ``columns`` are seen, else they are
    the missing ones; ``fill``: one value per neuron that a missing neuron takes (raw units), or
    ``None`` for the probe's own mean (zeroed weights: with standardisation the neuron sits at its
    training mean, without it at 0).  Logits are linear in the neurons, so a job costs its own
    neurons' share of the full product: with ``W' = coef / scale``,
    ``logits = b + sum_j W'_j (x_j - mean_j)`` and a missing neuron's ``x_j`` is replaced by its fill.
    Labels unseen in training count as errors, as in :meth:`ElasticNetProbe.score`.  Torch does the
    products: its gathers and matrix products use every core (numpy's gather uses one).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(300, 4)).astype("float32"); y = np.where(X[:, 0] > 0, "a", "b")
    >>> p = ElasticNetProbe(l1=0, l2=0, epochs=20, lr=1e-2, batch_size=32).fit(X, y)
    >>> keep0, drop0 = masked_accuracies(p, X, y, [([0], True, None), ([0], False, None)])
    >>> bool(keep0 > 0.95 and drop0 < 0.7)
    True
    """
    data = _Selection(X)
    y_idx = encode_labels(np.asarray(y), probe.classes_)
    if len(y_idx) != data.n:
        raise ValueError(f"X has {data.n} rows but y has {len(y_idx)} labels")
    mean = np.asarray(probe.mean_, np.float64)
    Wr = (np.asarray(probe.coef_, np.float64) / np.asarray(probe.scale_, np.float64))  # C x d
    base = np.asarray(probe.intercept_, np.float64) - Wr @ mean  # logits of x = 0
    everything = np.ones(data.d, bool)
    need_full, parts, by_key = False, {}, {}
    for i, (cols, keep, fill) in enumerate(jobs):
        cols = np.asarray(cols, dtype=np.int64)
        f = mean if fill is None else np.asarray(fill, np.float64)
        if keep:  # the seen neurons' product, plus every other neuron at its fill
            others = everything.copy()
            others[cols] = False
            const = base + Wr[:, others] @ f[others]
        else:  # the full product, minus the missing neurons' share, plus their fill
            const = Wr[:, cols] @ f[cols]
            need_full = True
        key = cols.tobytes()  # keep and remove of one set share its product
        if key not in parts:  # np.array copies: a reversed (negative-stride) selection is not a valid tensor
            parts[key] = (torch.from_numpy(np.array(cols)), torch.from_numpy(np.array(Wr[:, cols].T, np.float32)))
        by_key.setdefault(key, []).append((i, torch.from_numpy(const.astype(np.float32)), keep))
    Wr32 = torch.from_numpy(np.array(Wr.T, np.float32))
    base32 = torch.from_numpy(base.astype(np.float32))
    hits = np.zeros(len(jobs), np.int64)
    with torch.no_grad():
        for start, stop, Xb in _float_blocks(data):
            yb = torch.as_tensor(y_idx[start:stop])
            full = torch.addmm(base32, Xb, Wr32) if need_full else None
            for key, (cols, Wc) in parts.items():
                part = torch.index_select(Xb, 1, cols) @ Wc
                for i, const, keep in by_key[key]:
                    logits = (part + const) if keep else (full - part + const)
                    hits[i] += int((logits.argmax(1) == yb).sum())
    return (hits / max(data.n, 1)).tolist()
