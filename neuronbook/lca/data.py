"""What an analysis reads: the corpus splits of a config, their labels and activation stores.

:func:`prepare` loads the splits (:func:`load_splits`), labels the words for the task and reuses or
extracts the two activation stores; :class:`LCAData` hands them on, and :func:`split_store_rows` is the
seeded train / dev split of the training store's sentences that every analysis uses.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..config import LCAConfig

__all__ = ["LCAData", "prepare", "prepare_stores", "load_splits", "one_file_split", "split_info", "split_store_rows",
           "n_dev_sentences", "store_keys", "store_info", "store_view", "flat_labels", "resolve_config"]


def resolve_config(config, overrides) -> LCAConfig:
    if config is None:
        config = LCAConfig()
    elif isinstance(config, dict):
        config = LCAConfig.from_dict(config)
    elif not isinstance(config, LCAConfig):
        raise TypeError(f"config must be an LCAConfig, a dict of settings or None, got {type(config).__name__}")
    return config.replace(**overrides) if overrides else config


def flat_labels(labels, n_words, what):
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
    n_dev = n_dev_sentences(store, dev_fraction)
    if n_dev >= n_sent:
        raise ValueError(f"the training store has {n_sent} sentences: too few to hold out a dev part")
    return store.word_rows(np.sort(perm[n_dev:])), store.word_rows(np.sort(perm[:n_dev]))


def n_dev_sentences(store, dev_fraction: float) -> int:
    return max(1, int(round(store.n_sentences * dev_fraction)))


def store_info(store) -> dict:
    meta = store.metadata
    return {k: meta.get(k) for k in ("key", "model", "fingerprint", "aggregation", "dtype") if k in meta}


def store_view(store, layers=None):
    """The store's activations as words x columns (``layers`` only), a view of its memmap: nothing is copied
    or read until a block of it is used (:class:`~neuronbook.probe.ArrayView`)."""
    from ..probe import ArrayView

    flat = store.array.reshape(store.n_words, -1)  # words x (layers x neurons), layer-major: still the memmap
    if layers is None:
        return ArrayView(flat)
    n = store.n_neurons
    chosen = store.neurons(layers=layers).get_level_values("layer")[::n]  # checked, in the order asked
    cols = np.concatenate([np.arange(layer * n, (layer + 1) * n) for layer in chosen])
    return ArrayView(flat, columns=cols)


def one_file_split(config: LCAConfig) -> bool:
    """True when ``data`` is one corpus file to be split here (train and test are not files of their own)."""
    if not Path(config.data).expanduser().is_file():
        return False
    files = [Path(s).expanduser().is_file() for s in (config.train, config.test)]
    if any(files):
        return False
    if (config.train, config.test) not in (("dev", "test"), ("train", "test")):
        raise ValueError(f"data={config.data!r} is one corpus file: give train= and test= as corpus files, or leave "
                         f"them at their defaults for a seeded split of the file (test_fraction="
                         f"{config.test_fraction}), not train={config.train!r}, test={config.test!r}")
    return True


def split_info(config: LCAConfig) -> dict:
    if not one_file_split(config):
        return {}
    return {"split_of_file": {"file": str(Path(config.data).expanduser().resolve()),
                              "test_fraction": config.test_fraction, "seed": config.seed}}


def load_splits(config: LCAConfig):
    """The train and test corpora of a config, each sampled to ``max_sentences``.

    A named corpus gives its splits; a split may be a corpus file of its own; a ``data`` that is one
    file is split by sentence (seeded) into train and a ``test_fraction`` test part.
    """
    from ..corpus import read_corpus
    from ..datasets import load_corpus

    if one_file_split(config):
        parts = read_corpus(Path(config.data).expanduser()).split(
            (1 - config.test_fraction, config.test_fraction), seed=config.seed)
        pair = (parts["train"], parts["test"])
    else:
        pair = tuple(read_corpus(Path(split).expanduser()) if Path(split).expanduser().is_file()
                     else load_corpus(config.data, split=split, data_dir=config.data_dir)
                     for split in (config.train, config.test))
    if config.max_sentences is not None:
        pair = tuple(c.sample(config.max_sentences, seed=config.seed) for c in pair)
    return pair


def store_keys(config: LCAConfig, corpora) -> list[str]:
    """The content keys of the train and test stores of ``config`` (computed without loading the model)."""
    from ..extraction import store_key

    return [store_key(config.model, c, **config.extract_params()) for c in corpora]


@dataclass
class LCAData:
    """What an analysis reads: the two activation stores and the labels of their words.

    Returned by :func:`prepare`; the analyses beyond LCA (layer-wise probing, correlation clusters,
    other rankers) start from it. Labels are flat arrays in store order.
    """

    config: LCAConfig
    train_store: object
    test_store: object
    y_train: np.ndarray
    y_test: np.ndarray
    control_train: np.ndarray | None = None
    control_test: np.ndarray | None = None
    extract_s: float = 0.0

    def arrays(self) -> dict:
        """The train / dev / test split of :func:`analyze_store` as arrays.

        Returns
        -------
        dict
            ``X_train``, ``y_train``, ``X_dev``, ``y_dev``, ``X_test``, ``y_test`` (the config's
            ``layers`` only) and ``neurons`` (their ``(layer, neuron)`` MultiIndex).  Each ``X_*`` is
            read from the memory-mapped store straight into its own array (one copy, float32).
        """
        c = self.config
        layers = None if c.layers is None else list(c.layers)
        rows_train, rows_dev = split_store_rows(self.train_store, c.dev_fraction, c.seed)
        X_all = store_view(self.train_store, layers)
        return {"X_train": np.asarray(X_all[rows_train]), "y_train": self.y_train[rows_train],
                "X_dev": np.asarray(X_all[rows_dev]), "y_dev": self.y_train[rows_dev],
                "X_test": np.asarray(store_view(self.test_store, layers)),
                "y_test": self.y_test, "neurons": self.train_store.neurons(layers=layers)}


def prepare(config=None, *, progress="auto", corpora=None, **overrides) -> LCAData:
    """Load the corpus splits, label the words for the task, and reuse or extract the activation stores.

    Parameters
    ----------
    config : LCAConfig or dict, optional
        The settings (``model``, ``data``, ``task``, splits, ``max_sentences``, ``aggregation``,
        ``dtype``, ``control``, ``seed``); ``**overrides`` change some.
    corpora : (Corpus, Corpus), optional
        Already loaded train and test splits (as :func:`run_lca` has them).

    Returns
    -------
    LCAData

    Examples
    --------
    >>> data = prepare(model="tiny-random", data="ud:en_ewt", max_sentences=20)  # doctest: +SKIP
    >>> data.arrays()["X_train"].shape[1]  # doctest: +SKIP
    96
    """
    config = resolve_config(config, overrides)
    corpora = corpora or load_splits(config)
    return prepare_stores(config, corpora, store_keys(config, corpora), progress)


def prepare_stores(config: LCAConfig, corpora, keys, progress) -> LCAData:
    """:func:`prepare` with the corpora and their store keys already at hand."""
    from ..corpus import Task
    from ..extraction import best_device, extract, store_path

    train_corpus, test_corpus = corpora
    labeler = Task(config.task, seed=config.seed).fit(train_corpus)
    y_train = flat_labels(labeler.transform(train_corpus), train_corpus.n_words, "train labels")
    y_test = flat_labels(labeler.transform(test_corpus), test_corpus.n_words, "test labels")
    c_train = c_test = None
    if config.control:
        ctrl = Task(f"control:{config.task}", seed=config.seed).fit(train_corpus)
        c_train = flat_labels(ctrl.transform(train_corpus), train_corpus.n_words, "control train labels")
        c_test = flat_labels(ctrl.transform(test_corpus), test_corpus.n_words, "control test labels")
    t = time.perf_counter()
    model = config.model
    if not all((store_path(key) / "metadata.json").is_file() for key in keys):
        from ..models import load_model

        # once, for both stores; on the GPU when there is one (extract keeps a given model where it is)
        model = load_model(config.model, progress=progress)  # (model, tokenizer)
        model[0].to(best_device())
    train_store = extract(model, train_corpus, progress=progress, **config.extract_params())
    test_store = extract(model, test_corpus, progress=progress, **config.extract_params())
    return LCAData(config, train_store, test_store, y_train, y_test, c_train, c_test, time.perf_counter() - t)
