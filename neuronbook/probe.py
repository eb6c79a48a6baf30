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


def _as_matrix(X, name="X"):
    X = np.asarray(X)
    if X.ndim != 2:
        raise ValueError(f"{name} must be a 2-D array (words x neurons), got shape {X.shape}")
    if not np.issubdtype(X.dtype, np.number):
        raise TypeError(f"{name} must be numeric, got dtype {X.dtype}")
    return X


class ElasticNetProbe:
    """Multinomial logistic-regression probe with the LCA elastic-net penalty.

    Parameters
    ----------
    l1, l2 : float
        Penalty weights of ``sum|W|`` and of the (unsquared) Frobenius norm ``||W||_F``.
        The bias is not penalised.
    epochs : int
        Passes over the training data (the best epoch on ``X_val`` is kept when given).
    batch_size : int
        Mini-batch size; ``None`` or a size >= the number of words trains full-batch.
    lr : float
        Adam learning rate.
    standardize : bool
        Centre and scale every neuron by its training mean and standard deviation
        before the probe sees it.  ``coef_`` is then in standardized units, which
        puts neurons on a common scale so that ranking by ``|W|`` is meaningful
        (BERT-like models have outlier dimensions with much larger activations).
    seed : int
        Seeds the shuffling (and nothing else is random: weights start at zero),
        so the same seed and data give the same weights on the same device.
    device : str or torch.device, optional
        ``None`` uses CUDA when available, else the CPU.
    patience : int, optional
        With ``X_val``: stop after this many epochs without a better validation accuracy.
    progress : bool
        Show a tqdm bar over epochs.

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
                 device=None, patience=None, solver="proximal", progress=False):
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

    # -- helpers -------------------------------------------------------------------------------
    def _device(self):
        if self.device is not None:
            return torch.device(self.device)
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")

    def _to_tensor(self, X, device):
        X = _as_matrix(X)
        if X.shape[1] != self.n_features_in_:
            raise ValueError(f"X has {X.shape[1]} features but the probe was fitted on {self.n_features_in_}")
        t = torch.as_tensor(np.ascontiguousarray(X, dtype=np.float32), device=device)
        if self.standardize:
            t = (t - torch.as_tensor(self.mean_, device=device)) / torch.as_tensor(self.scale_, device=device)
        return t

    def get_params(self):
        """The constructor arguments, as a dict (scikit-learn convention)."""
        return {k: getattr(self, k) for k in ("l1", "l2", "epochs", "batch_size", "lr", "standardize", "seed",
                                              "device", "patience", "solver", "progress")}

    def set_params(self, **params):
        """Set constructor arguments; returns self."""
        valid = self.get_params()
        for k, v in params.items():
            if k not in valid:
                raise ValueError(f"unknown parameter {k!r}; valid: {sorted(valid)}")
            setattr(self, k, v)
        return self

    # -- fitting -------------------------------------------------------------------------------
    def fit(self, X, y, X_val=None, y_val=None):
        """Train the probe.

        Parameters
        ----------
        X : array-like, shape (n_words, n_features)
        y : array-like, shape (n_words,)
            Labels (strings or integers).
        X_val, y_val : optional
            Validation data: the epoch with the best validation accuracy is kept
            (and training stops early after ``patience`` epochs without improvement).

        Returns
        -------
        self
        """
        X = _as_matrix(X)
        y = np.asarray(y)
        if y.ndim != 1 or len(y) != len(X):
            raise ValueError(f"y must be 1-D with one label per row of X: X has {len(X)} rows, y has shape {y.shape}")
        if len(X) == 0:
            raise ValueError("cannot fit a probe on 0 words")
        if (X_val is None) != (y_val is None):
            raise ValueError("give both X_val and y_val, or neither")
        if not np.all(np.isfinite(X)):
            bad = np.argwhere(~np.isfinite(X))[0]
            raise ValueError(f"X contains a non-finite value (first at row {bad[0]}, column {bad[1]})")
        device = self._device()
        # denormal floats (tiny softmax tails, Adam moments of switched-off weights) slow CPU math
        # by orders of magnitude; flush them during the fit and restore torch's default afterwards
        flushed = torch.set_flush_denormal(True)
        try:
            return self._fit(X, y, X_val, y_val, device)
        finally:
            if flushed:
                torch.set_flush_denormal(False)

    def _fit(self, X, y, X_val, y_val, device):
        self.classes_ = np.unique(y)
        self.n_features_in_ = X.shape[1]
        if self.standardize:
            self.mean_ = X.mean(axis=0, dtype=np.float64).astype(np.float32)
            std = X.std(axis=0, dtype=np.float64)
            # constant neurons carry no information; keep them at zero instead of dividing by 0
            self.scale_ = np.where(std > 1e-12, std, 1.0).astype(np.float32)
        else:
            self.mean_ = np.zeros(X.shape[1], np.float32)
            self.scale_ = np.ones(X.shape[1], np.float32)
        Xt = self._to_tensor(X, device)
        yt = torch.as_tensor(encode_labels(y, self.classes_), device=device)
        Xv = yv = None
        if X_val is not None:
            Xv = self._to_tensor(X_val, device)
            yv = torch.as_tensor(encode_labels(np.asarray(y_val), self.classes_), device=device)

        n, d = Xt.shape
        k = len(self.classes_)
        for name in ("l1", "l2", "lr"):  # a NaN penalty would train to garbage without a word
            v = getattr(self, name)
            if not isinstance(v, (int, float, np.number)) or not np.isfinite(v) or v < 0 or (name == "lr" and v == 0):
                raise ValueError(f"ElasticNetProbe.{name}={v!r}: must be a finite number >= 0"
                                 + (" and > 0" if name == "lr" else ""))
        if self.solver not in ("proximal", "adam"):
            raise ValueError(f"solver must be 'proximal' or 'adam', got {self.solver!r}")
        # zero start: the problem is convex, and it makes the fit depend only on the shuffling seed
        W = torch.zeros(k, d, device=device, requires_grad=True)
        b = torch.zeros(k, device=device, requires_grad=True)
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
            perm = torch.randperm(n, generator=gen).to(device)
            total = 0.0
            for start in range(0, n, bs):
                idx = perm[start:start + bs]
                logits = torch.addmm(b, Xt[idx], W.t())
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
            if not np.isfinite(total):
                raise FloatingPointError(f"the probe's training loss became {total / n} in epoch {epoch} (l1={l1}, "
                                         f"l2={l2}, lr={lr}): lower lr, or check the activations' scale")
            row = {"epoch": epoch, "loss": total / n, "val_accuracy": np.nan}
            if Xv is not None:
                with torch.no_grad():
                    acc = float(((Xv @ W.t() + b).argmax(1) == yv).float().mean())
                row["val_accuracy"] = acc
                if acc > best[0]:
                    best = (acc, (W.detach().clone(), b.detach().clone()), epoch)
                    stale = 0
                else:
                    stale += 1
            history.append(row)
            if self.patience is not None and Xv is not None and stale >= self.patience:
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

    def decision_function(self, X, coef=None):
        """Logits, shape (n_words, n_classes); ``coef`` overrides ``coef_`` (e.g. with neurons zeroed)."""
        self._check_fitted()
        device = self._device()
        W = torch.as_tensor(self.coef_ if coef is None else np.asarray(coef, np.float32), device=device)
        b = torch.as_tensor(self.intercept_, device=device)
        out = []
        X = _as_matrix(X)
        with torch.no_grad():
            for start in range(0, len(X), 65536):  # bounded memory on big stores
                out.append(torch.addmm(b, self._to_tensor(X[start:start + 65536], device), W.t()).cpu().numpy())
        return np.concatenate(out) if out else np.zeros((0, len(self.classes_)), np.float32)

    def predict_proba(self, X):
        """Class probabilities, shape (n_words, n_classes), columns in ``classes_`` order."""
        logits = self.decision_function(X)
        logits = logits - logits.max(axis=1, keepdims=True)
        p = np.exp(logits)
        return p / p.sum(axis=1, keepdims=True)

    def predict(self, X, coef=None):
        """Predicted labels (elements of ``classes_``)."""
        self._check_fitted()
        return self.classes_[self.decision_function(X, coef=coef).argmax(axis=1)]

    def unseen_labels(self, y):
        """Counts of the labels in ``y`` that were not seen in training (a Series, label -> count)."""
        self._check_fitted()
        y = np.asarray(y)
        mask = encode_labels(y, self.classes_) < 0
        if not mask.any():
            return pd.Series(dtype="int64", name="count")
        labels, counts = np.unique(y[mask], return_counts=True)
        return pd.Series(counts, index=pd.Index(labels, name="label"), name="count").sort_values(ascending=False)

    def score(self, X, y, coef=None):
        """Accuracy on ``(X, y)``.

        Labels not seen in training cannot be predicted; they count as errors and a
        warning reports how many there were.
        """
        y = np.asarray(y)
        if len(y) != len(X):
            raise ValueError(f"X has {len(X)} rows but y has {len(y)} labels")
        if len(y) == 0:
            raise ValueError("cannot score on 0 words")
        unseen = self.unseen_labels(y)
        if len(unseen):
            warnings.warn(f"{int(unseen.sum())} of {len(y)} words ({100 * unseen.sum() / len(y):.2f}%) have labels "
                          f"unseen in training and count as errors: "
                          + ", ".join(f"{k}={v}" for k, v in unseen.head(10).items()), UnseenLabelsWarning,
                          stacklevel=2)
        return float(np.mean(self.predict(X, coef=coef) == y))

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"ElasticNetProbe({args})"

    def __sklearn_clone__(self):  # pragma: no cover - convenience for sklearn users
        return type(self)(**copy.deepcopy(self.get_params()))
