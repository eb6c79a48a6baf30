"""Elastic-net linear probe over neuron activations.

The probe is a multinomial logistic regression trained in torch with the loss of
the LCA reference implementation (Durrani et al.; NeuroX)::

    loss = mean cross-entropy + l1 * sum(|W|) + l2 * ||W||_F

where ``||W||_F`` is the Frobenius norm (not squared) and the bias is not
penalised.  Its weights ``coef_`` are what :mod:`neuronbook.rank` sorts neurons by.
"""

from __future__ import annotations

import copy
import logging
import warnings

import numpy as np
import pandas as pd
import torch
from tqdm.auto import tqdm

from .exceptions import UnseenLabelsWarning

__all__ = ["ElasticNetProbe", "encode_labels"]

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


class _Selection:
    """Some rows and columns of a 2-D array, read a few rows at a time (the selection is never copied whole)."""

    def __init__(self, X, rows=None, columns=None, name="X"):
        self.X = _as_matrix(X, name)
        self.name = name
        self.rows = _positions(rows, self.X.shape[0], f"{name} rows")
        self.columns = _positions(columns, self.X.shape[1], f"{name} columns")
        self.n = self.X.shape[0] if self.rows is None else len(self.rows)
        self.d = self.X.shape[1] if self.columns is None else len(self.columns)

    def take(self, positions):
        """Raw values (X's dtype) of the selected rows at ``positions``, in that order."""
        block = self.X[positions if self.rows is None else self.rows[positions]]
        return block if self.columns is None else block[:, self.columns]

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
        b = np.array(block, dtype=np.float64)
        err = data.not_finite(b, start)
        if err is not None:
            raise err
        b[0] += total  # continue the running sum of the previous blocks
        total = b.sum(axis=0)
    mean = total / data.n
    squares = np.zeros(data.d)
    for _, block in data.blocks():
        b = np.asarray(block, dtype=np.float64) - mean
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
    activation store (with ``rows=`` and ``columns=`` selecting words and neurons) and is never
    copied whole, so memory stays flat in the corpus size.

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

    def __init__(self, l1=1e-5, l2=1e-5, epochs=10, batch_size=256, lr=1e-3, standardize=True, seed=0,
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

    def _input(self, block, device, mean=None, scale=None):
        """Raw rows -> the probe's float32 input on ``device`` (standardized when asked)."""
        block = np.ascontiguousarray(block, dtype=np.float32)
        if not block.flags.writeable:  # a read-only memmap's pages: torch wants memory it may write
            block = block.copy()
        t = torch.as_tensor(block, device=device)
        if self.standardize:
            # elementwise float32, so a row comes out the same whatever the block it is read in
            mean = torch.as_tensor(self.mean_, device=device) if mean is None else mean
            scale = torch.as_tensor(self.scale_, device=device) if scale is None else scale
            t = (t - mean) / scale
        return t

    def get_params(self):
        """The constructor arguments, as a dict (scikit-learn convention)."""
        return {k: getattr(self, k) for k in ("l1", "l2", "epochs", "batch_size", "lr", "standardize", "seed",
                                              "device", "patience", "solver", "progress", "warm_start")}

    def set_params(self, **params):
        """Set constructor arguments; returns self."""
        valid = self.get_params()
        for k, v in params.items():
            if k not in valid:
                raise ValueError(f"unknown parameter {k!r}; valid: {sorted(valid)}")
            setattr(self, k, v)
        return self

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
            Any 2-D numeric array, a read-only ``numpy.memmap`` included (a float16 one is widened
            batch by batch).  Only mini-batches of it are copied, never the whole selection.
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
        device = self._device()
        # denormal floats (tiny softmax tails, Adam moments of switched-off weights) slow CPU math
        # by orders of magnitude; flush them during the fit and restore torch's default afterwards
        flushed = torch.set_flush_denormal(True)
        try:
            return self._fit(data, y, val, y_val, device, stats, coef_init, intercept_init)
        finally:
            if flushed:
                torch.set_flush_denormal(False)

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
        n, d = data.n, data.d
        W0, b0 = self._start(classes, d, coef_init, intercept_init)
        self.classes_ = classes
        self.n_features_in_ = d
        checked = False  # has every training value been checked finite?
        if stats is not None:
            mean, scale = stats
            self.mean_ = _float_vector(mean, d, "stats mean")
            self.scale_ = _float_vector(scale, d, "stats scale")
            if np.any(self.scale_ <= 0):
                raise ValueError("stats scale must be > 0 for every feature")
        elif self.standardize:
            mean, std = _column_stats(data)
            checked = True
            self.mean_ = mean.astype(np.float32)
            # constant neurons carry no information; keep them at zero instead of dividing by 0
            self.scale_ = np.where(std > 1e-12, std, 1.0).astype(np.float32)
        else:
            self.mean_ = np.zeros(d, np.float32)
            self.scale_ = np.ones(d, np.float32)
        mean_t = torch.as_tensor(self.mean_, device=device)
        scale_t = torch.as_tensor(self.scale_, device=device)
        yt = torch.as_tensor(encode_labels(y, self.classes_), device=device)
        # the validation rows are read again every epoch, unless they fit in one block
        val_blocks = yv = None
        if val is not None:
            yv = torch.as_tensor(encode_labels(y_val, self.classes_), device=device)
            val_blocks = list(val.blocks()) if val.n * d * 4 <= BLOCK_BYTES else None
            if val_blocks is not None:
                val_blocks = [(s, self._input(blk, device, mean_t, scale_t)) for s, blk in val_blocks]

        W = torch.tensor(W0, device=device, requires_grad=True)
        b = torch.tensor(b0, device=device, requires_grad=True)
        gen = torch.Generator(device="cpu").manual_seed(int(self.seed))
        bs = n if not self.batch_size or self.batch_size >= n else int(self.batch_size)
        l1, l2 = float(self.l1), float(self.l2)
        proximal = self.solver == "proximal"
        if proximal:
            beta1, beta2, eps = 0.9, 0.999, 1e-8
            state = [(torch.zeros_like(W), torch.zeros_like(W)), (torch.zeros_like(b), torch.zeros_like(b))]
        else:
            opt = torch.optim.Adam([W, b], lr=self.lr)
        lr = float(self.lr)
        step = 0

        history = []
        best = (-1.0, None, 0)
        stale = 0
        for epoch in tqdm(range(1, self.epochs + 1), disable=not self.progress, desc="probe", leave=False):
            perm = torch.randperm(n, generator=gen)
            perm_np = perm.numpy()
            perm = perm.to(device)
            total = 0.0
            for start in range(0, n, bs):
                idx = perm[start:start + bs]
                raw = data.take(perm_np[start:start + bs])
                if not checked:  # values seen for the first time: check them on the way
                    bad = ~np.isfinite(raw)
                    if bad.any():
                        i, j = np.argwhere(bad)[0]
                        row, col = data.where(perm_np[start + i], j)
                        raise ValueError(f"X contains a non-finite value (at row {row}, column {col})")
                logits = torch.addmm(b, self._input(raw, device, mean_t, scale_t), W.t())
                loss = torch.nn.functional.cross_entropy(logits, yt[idx])
                if l2:
                    # torch gives the norm a zero (not NaN) gradient at W = 0
                    loss = loss + l2 * torch.linalg.vector_norm(W)
                if proximal:
                    W.grad = b.grad = None
                    loss.backward()
                    step += 1
                    with torch.no_grad():
                        c1, c2 = 1 - beta1 ** step, 1 - beta2 ** step
                        for (m, v), p in zip(state, (W, b)):
                            m.mul_(beta1).add_(p.grad, alpha=1 - beta1)
                            v.mul_(beta2).addcmul_(p.grad, p.grad, value=1 - beta2)
                            denom = (v / c2).sqrt_().add_(eps)
                            p.addcdiv_(m, denom, value=-lr / c1)
                            if p is W and l1:
                                # proximal step for l1 * sum|W| in Adam's metric: exact zeros, same objective
                                p.copy_(torch.sign(p) * torch.clamp(p.abs() - lr * l1 / denom, min=0))
                        if l1:
                            loss = loss + l1 * W.abs().sum()
                else:
                    if l1:
                        loss = loss + l1 * W.abs().sum()
                    opt.zero_grad(set_to_none=True)
                    loss.backward()
                    opt.step()
                total += float(loss.detach()) * len(idx)
            checked = True
            if not np.isfinite(total):
                raise FloatingPointError(f"the probe's training loss became {total / n} in epoch {epoch} (l1={l1}, "
                                         f"l2={l2}, lr={lr}): lower lr, or check the activations' scale")
            row = {"epoch": epoch, "loss": total / n, "val_accuracy": np.nan}
            if val is not None:
                with torch.no_grad():
                    hits = torch.empty(val.n, dtype=torch.bool, device=device)
                    blocks = val_blocks if val_blocks is not None else (
                        (s, self._input(blk, device, mean_t, scale_t)) for s, blk in val.blocks())
                    for s, Xv in blocks:
                        hits[s:s + len(Xv)] = (Xv @ W.t() + b).argmax(1) == yv[s:s + len(Xv)]
                    acc = float(hits.float().mean())
                row["val_accuracy"] = acc
                if acc > best[0]:
                    best = (acc, (W.detach().clone(), b.detach().clone()), epoch)
                    stale = 0
                else:
                    stale += 1
            history.append(row)
            if self.patience is not None and val is not None and stale >= self.patience:
                break
        if best[1] is not None:
            W_fin, b_fin = best[1]
            self.best_epoch_ = best[2]
        else:
            W_fin, b_fin = W.detach(), b.detach()
            self.best_epoch_ = len(history)
        self.coef_ = W_fin.cpu().numpy().copy()
        self.intercept_ = b_fin.cpu().numpy().copy()
        self.history_ = pd.DataFrame(history, columns=["epoch", "loss", "val_accuracy"])
        return self

    # -- inference -----------------------------------------------------------------------------
    def _check_fitted(self):
        if not hasattr(self, "coef_"):
            raise RuntimeError("this ElasticNetProbe is not fitted yet; call fit(X, y) first")

    def _selection(self, X, rows, columns):
        data = _Selection(X, rows, columns, "X")
        if data.d != self.n_features_in_:
            raise ValueError(f"X has {data.d} features but the probe was fitted on {self.n_features_in_}")
        return data

    def decision_function(self, X, coef=None, *, rows=None, columns=None):
        """Logits, shape (n_words, n_classes); ``coef`` overrides ``coef_`` (e.g. with neurons zeroed).

        ``rows`` and ``columns`` select part of ``X`` as in :meth:`fit`; ``X`` is read a block of
        rows at a time.
        """
        self._check_fitted()
        data = self._selection(X, rows, columns)
        device = self._device()
        W = torch.as_tensor(self.coef_ if coef is None else np.asarray(coef, np.float32), device=device)
        b = torch.as_tensor(self.intercept_, device=device)
        mean = torch.as_tensor(self.mean_, device=device)
        scale = torch.as_tensor(self.scale_, device=device)
        out = np.empty((data.n, len(self.classes_)), np.float32)
        with torch.no_grad():
            for start, block in data.blocks():
                out[start:start + len(block)] = torch.addmm(b, self._input(block, device, mean, scale),
                                                            W.t()).cpu().numpy()
        return out

    def predict_proba(self, X, *, rows=None, columns=None):
        """Class probabilities, shape (n_words, n_classes), columns in ``classes_`` order."""
        logits = self.decision_function(X, rows=rows, columns=columns)
        logits = logits - logits.max(axis=1, keepdims=True)
        p = np.exp(logits)
        return p / p.sum(axis=1, keepdims=True)

    def predict(self, X, coef=None, *, rows=None, columns=None):
        """Predicted labels (elements of ``classes_``)."""
        self._check_fitted()
        return self.classes_[self.decision_function(X, coef=coef, rows=rows, columns=columns).argmax(axis=1)]

    def unseen_labels(self, y):
        """Counts of the labels in ``y`` that were not seen in training (a Series, label -> count)."""
        self._check_fitted()
        y = np.asarray(y)
        mask = encode_labels(y, self.classes_) < 0
        if not mask.any():
            return pd.Series(dtype="int64", name="count")
        labels, counts = np.unique(y[mask], return_counts=True)
        return pd.Series(counts, index=pd.Index(labels, name="label"), name="count").sort_values(ascending=False)

    def score(self, X, y, coef=None, *, rows=None, columns=None):
        """Accuracy on ``(X, y)`` (``y``: one label per row of ``X``, or per entry of ``rows``).

        Labels not seen in training cannot be predicted; they count as errors and a
        warning reports how many there were.
        """
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
        return float(np.mean(self.predict(X, coef=coef, rows=rows, columns=columns) == y))

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"ElasticNetProbe({args})"

    def __sklearn_clone__(self):  # pragma: no cover - convenience for sklearn users
        return type(self)(**copy.deepcopy(self.get_params()))
