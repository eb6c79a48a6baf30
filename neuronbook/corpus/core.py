"""The :class:`Corpus` container: sentences of words with aligned word-level label columns.

A corpus is built from lists (or read from a file with
:mod:`neuronbook.corpus.readers`); it can be indexed, sampled, split,
concatenated, fingerprinted and exported as a tidy one-row-per-word table.

Example
-------
>>> from neuronbook.corpus.core import Corpus
>>> c = Corpus([["The", "cats", "sat"], ["Dogs", "bark"]], {"upos": [["DET", "NOUN", "VERB"], ["NOUN", "VERB"]]})
>>> len(c), c.n_words, c.columns
(2, 5, ['upos'])
"""

from __future__ import annotations

import hashlib
import math
import numbers
from dataclasses import dataclass, field
from typing import Iterable, Sequence

import numpy as np
import pandas as pd

__all__ = ["Corpus", "CorpusFormatError", "concat"]


class CorpusFormatError(ValueError):
    """Malformed corpus file; the message names the file and line."""

    def __init__(self, path, line: int | None, message: str):
        self.path = str(path)
        self.line = line
        where = f"{self.path}:{line}" if line is not None else self.path
        super().__init__(f"{where}: {message}")


# --------------------------------------------------------------------------- corpus


@dataclass
class Corpus:
    """Sentences of words with aligned, named word-level label columns.

    Parameters
    ----------
    sentences : list of list of str
        The words of each sentence.
    labels : dict of str to list of list of str, optional
        Label columns; each has exactly one label per word of every sentence.
    name : str, optional
        A short name, used in default sentence ids and in error messages.
    sentence_ids : list of str, optional
        One id per sentence (e.g. the UD ``sent_id``). Default ``"<name>:<index>"``.
    source : str, optional
        The file the corpus was read from.

    Raises
    ------
    ValueError
        If a sentence is empty, a word is not a non-empty string, or a label
        column does not have exactly one string label per word (the message
        names the column and the sentence index and id).

    Examples
    --------
    >>> c = Corpus([["a", "b"], ["c"]], {"tag": [["X", "Y"], ["Z"]]}, name="toy")
    >>> c.sentence_ids
    ['toy:0', 'toy:1']
    >>> c[1].to_frame()[["sentence_id", "word", "tag"]].values.tolist()
    [['toy:1', 'c', 'Z']]
    """

    sentences: list[list[str]]
    labels: dict[str, list[list[str]]] = field(default_factory=dict)
    name: str = ""
    sentence_ids: list[str] | None = None
    source: str | None = None

    def __post_init__(self):
        self.sentences = [list(s) for s in self.sentences]
        self.labels = {str(k): [list(s) for s in v] for k, v in dict(self.labels).items()}
        if self.sentence_ids is None:
            self.sentence_ids = [f"{self.name}:{i}" for i in range(len(self.sentences))]
        else:
            self.sentence_ids = [str(i) for i in self.sentence_ids]
            if len(self.sentence_ids) != len(self.sentences):
                raise ValueError(
                    f"corpus {self.name!r}: {len(self.sentence_ids)} sentence ids for "
                    f"{len(self.sentences)} sentences")
        for i, sent in enumerate(self.sentences):
            if not sent:
                raise ValueError(f"corpus {self.name!r}: sentence {i} ({self.sentence_ids[i]}) has no words")
            for j, w in enumerate(sent):
                if not isinstance(w, str) or not w:
                    raise ValueError(
                        f"corpus {self.name!r}: sentence {i} ({self.sentence_ids[i]}) word {j} "
                        f"is {w!r}; words must be non-empty strings")
                if not w.isascii():
                    _check_utf8(w, f"corpus {self.name!r}: sentence {i} ({self.sentence_ids[i]}) word {j}")
        for col, rows in self.labels.items():
            if col in ("word", "sentence", "sentence_id", "position"):
                raise ValueError(f"corpus {self.name!r}: label column name {col!r} is reserved")
            if len(rows) != len(self.sentences):
                raise ValueError(
                    f"corpus {self.name!r}: label column {col!r} has {len(rows)} sentences, "
                    f"expected {len(self.sentences)}")
            for i, (sent, lab) in enumerate(zip(self.sentences, rows)):
                if len(lab) != len(sent):
                    raise ValueError(
                        f"corpus {self.name!r}: label column {col!r} has {len(lab)} labels for the "
                        f"{len(sent)} words of sentence {i} ({self.sentence_ids[i]})")
                for j, x in enumerate(lab):
                    if not isinstance(x, str):
                        raise ValueError(
                            f"corpus {self.name!r}: label column {col!r}, sentence {i} "
                            f"({self.sentence_ids[i]}) word {j}: label {x!r} is not a string")

    # ---- size and access
    def __len__(self) -> int:
        return len(self.sentences)

    @property
    def n_words(self) -> int:
        """Total number of words."""
        return sum(len(s) for s in self.sentences)

    @property
    def columns(self) -> list[str]:
        """Names of the label columns, in insertion order."""
        return list(self.labels)

    def __repr__(self) -> str:
        return (f"Corpus(name={self.name!r}, sentences={len(self)}, words={self.n_words}, "
                f"columns={self.columns})")

    def __getitem__(self, key) -> "Corpus":
        """``corpus[i]``, ``corpus[a:b]`` or ``corpus[[i, j]]``: a sub-corpus."""
        if isinstance(key, slice):
            return self.subset(range(len(self))[key])
        if isinstance(key, (int, np.integer)):
            n = len(self)
            if not -n <= key < n:
                raise IndexError(f"sentence index {key} out of range for corpus of {n} sentences")
            return self.subset([int(key) % n])
        return self.subset(key)

    def subset(self, indices: Iterable[int]) -> "Corpus":
        """The corpus restricted to the sentences at ``indices`` (in that order).

        Examples
        --------
        >>> c = Corpus([["a"], ["b"], ["c"]], name="t")
        >>> c.subset([2, 0]).sentences
        [['c'], ['a']]
        """
        n = len(self)
        arr = np.asarray(list(indices))
        if arr.dtype == bool:
            if arr.shape != (n,):
                raise IndexError(f"boolean mask of shape {arr.shape} for corpus of {n} sentences")
            arr = np.flatnonzero(arr)
        elif arr.size and not np.issubdtype(arr.dtype, np.integer):
            raise TypeError(f"sentence indices must be integers or a boolean mask, got dtype {arr.dtype}")
        idx = [int(i) for i in arr.ravel()]
        for i in idx:
            if not -n <= i < n:
                raise IndexError(f"sentence index {i} out of range for corpus of {n} sentences")
        return Corpus(
            sentences=[list(self.sentences[i]) for i in idx],
            labels={c: [list(rows[i]) for i in idx] for c, rows in self.labels.items()},
            name=self.name,
            sentence_ids=[self.sentence_ids[i] for i in idx],
            source=self.source,
        )

    def head(self, n: int = 5) -> "Corpus":
        """The first ``n`` sentences (for quick, tiny runs)."""
        return self.subset(range(min(n, len(self))))

    def sample(self, n: int, seed: int = 0) -> "Corpus":
        """A seeded random sample of at most ``n`` whole sentences, kept in corpus order.

        Used to cap a run at ``max_sentences`` so notebooks and tests stay small.

        Parameters
        ----------
        n : int
            Largest number of sentences to keep (>= 1). When ``n >= len(self)``
            the corpus itself is returned unchanged.
        seed : int
            Seed of the draw; the same seed gives the same sentences.

        Returns
        -------
        Corpus
            The sampled sentences in their original order, with their sentence
            ids, labels, name and source.

        Raises
        ------
        TypeError
            If ``n`` is not an integer.
        ValueError
            If ``n < 1``.

        Examples
        --------
        >>> c = Corpus([[str(i)] for i in range(10)], name="t")
        >>> s = c.sample(3, seed=1)
        >>> len(s), s.sentence_ids == sorted(s.sentence_ids, key=lambda i: int(i.split(":")[1]))
        (3, True)
        >>> c.sample(100) is c
        True
        """
        if isinstance(n, bool) or not isinstance(n, numbers.Integral):
            raise TypeError(f"sample size n must be an integer, got {n!r}")
        if n < 1:
            raise ValueError(f"sample size n must be >= 1 sentence, got {n} (corpus {self.name!r})")
        if n >= len(self):
            return self
        # Sorting keeps corpus order, so the sample reads like the corpus itself.
        picked = np.sort(np.random.default_rng(seed).choice(len(self), size=int(n), replace=False))
        return self.subset(picked)

    def flat_labels(self, column: str) -> list[str]:
        """All labels of ``column`` in corpus order, one per word."""
        if column not in self.labels:
            raise KeyError(f"corpus {self.name!r} has no label column {column!r}; columns: {self.columns}")
        return [x for s in self.labels[column] for x in s]

    def words(self) -> list[str]:
        """All words in corpus order."""
        return [w for s in self.sentences for w in s]

    # ---- identity
    def words_fingerprint(self) -> str:
        """Stable sha256 hex digest of the words only (sentence boundaries included).

        Activations depend only on the words, so this keys activation caches.
        Every sentence is prefixed by its word count and every word by its
        UTF-8 byte length, so the digest is unambiguous even for words that
        contain tabs, newlines or any other separator.

        Examples
        --------
        >>> Corpus([["a\\tb"]]).words_fingerprint() == Corpus([["a", "b"]]).words_fingerprint()
        False
        """
        h = hashlib.sha256(b"neuronbook-words-v1\n")
        _hash_rows(h, self.sentences)
        return h.hexdigest()

    def fingerprint(self) -> str:
        """Stable sha256 hex digest of the words and every label column.

        Name, source and sentence ids are not part of it: two corpora with the
        same words and labels have the same fingerprint.

        Examples
        --------
        >>> a = Corpus([["x", "y"]], {"t": [["A", "B"]]}, name="one")
        >>> b = Corpus([["x", "y"]], {"t": [["A", "C"]]}, name="two")
        >>> a.words_fingerprint() == b.words_fingerprint(), a.fingerprint() == b.fingerprint()
        (True, False)
        """
        h = hashlib.sha256(b"neuronbook-corpus-v2\n")
        _hash_rows(h, self.sentences)
        for col in sorted(self.labels):
            # v2: the column name is length-prefixed too, like every word and label.
            b = col.encode("utf-8")
            h.update(f"C{len(b)}:".encode() + b)
            _hash_rows(h, self.labels[col])
        return h.hexdigest()

    # ---- splitting and joining
    def split(self, fractions: Sequence[float] = (0.8, 0.1, 0.1), seed: int = 0) -> dict[str, "Corpus"]:
        """Reproducible shuffled split by sentence.

        Parameters
        ----------
        fractions : sequence of 2 or 3 floats
            Fractions for ``("train", "test")`` or ``("train", "dev", "test")``;
            non-negative and summing to 1. Sizes are rounded at the cumulative
            boundaries, so every sentence lands in exactly one part.
        seed : int
            Seed of the shuffle; the same seed gives the same split.

        Returns
        -------
        dict of str to Corpus
            Keys ``"train", "dev", "test"`` (or ``"train", "test"``); each part is
            named ``"<name>/<part>"`` and keeps the original sentence ids.

        Examples
        --------
        >>> c = Corpus([[str(i)] for i in range(10)], name="t")
        >>> {k: len(v) for k, v in c.split(seed=1).items()}
        {'train': 8, 'dev': 1, 'test': 1}
        """
        fr = [float(f) for f in fractions]
        if len(fr) == 3:
            keys = ["train", "dev", "test"]
        elif len(fr) == 2:
            keys = ["train", "test"]
        else:
            raise ValueError(f"fractions must have 2 (train, test) or 3 (train, dev, test) values, got {fractions}")
        if any(f < 0 or not math.isfinite(f) for f in fr) or abs(sum(fr) - 1.0) > 1e-6:
            raise ValueError(f"fractions must be non-negative and sum to 1, got {fractions}")
        n = len(self)
        order = np.random.default_rng(seed).permutation(n)
        bounds = [0] + [int(round(b * n)) for b in np.cumsum(fr)[:-1]] + [n]
        out = {}
        for k, f, lo, hi in zip(keys, fr, bounds[:-1], bounds[1:]):
            if f > 0 and hi <= lo:
                raise ValueError(
                    f"corpus {self.name!r} has {n} sentences: too few for split {k!r} "
                    f"with fraction {f}; use a larger corpus or other fractions")
            part = self.subset(order[lo:hi])
            part.name = f"{self.name}/{k}"
            out[k] = part
        return out

    def __add__(self, other: "Corpus") -> "Corpus":
        if not isinstance(other, Corpus):
            return NotImplemented
        return concat([self, other])

    # ---- export
    def to_frame(self) -> pd.DataFrame:
        """One row per word: ``sentence, sentence_id, position, word, <columns>``.

        Examples
        --------
        >>> Corpus([["a", "b"]], {"t": [["X", "Y"]]}, name="c").to_frame().columns.tolist()
        ['sentence', 'sentence_id', 'position', 'word', 't']
        """
        lengths = [len(s) for s in self.sentences]
        data = {
            "sentence": np.repeat(np.arange(len(self), dtype=np.int64), lengths),
            "sentence_id": np.repeat(np.asarray(self.sentence_ids, dtype=object), lengths),
            "position": np.concatenate([np.arange(k, dtype=np.int64) for k in lengths])
            if lengths else np.zeros(0, dtype=np.int64),
            "word": self.words(),
        }
        for col in self.labels:
            data[col] = self.flat_labels(col)
        return pd.DataFrame(data)


def _check_utf8(text: str, where: str) -> None:
    # A lone surrogate ("\ud800") is a Python str but no text: it cannot be hashed, written or tokenized.
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as e:
        raise ValueError(f"{where} is {text!r}: {e.reason} at character {e.start}; "
                         "words must be valid Unicode text") from None


def _hash_rows(h, rows: list[list[str]]) -> None:
    # Length-prefixed so that ["ab"] and ["a", "b"] never collide.
    for row in rows:
        h.update(f"S{len(row)}\n".encode())
        for x in row:
            b = x.encode("utf-8")
            h.update(f"{len(b)}:".encode())
            h.update(b)


def concat(corpora: Sequence[Corpus], name: str | None = None) -> Corpus:
    """Join corpora sentence-wise; all must have the same label columns.

    Examples
    --------
    >>> a = Corpus([["x"]], {"t": [["A"]]}, name="a"); b = Corpus([["y"]], {"t": [["B"]]}, name="b")
    >>> c = concat([a, b]); c.sentences, c.sentence_ids
    ([['x'], ['y']], ['a:0', 'b:0'])
    """
    corpora = list(corpora)
    if not corpora:
        raise ValueError("concat needs at least one corpus")
    cols = corpora[0].columns
    for c in corpora[1:]:
        if set(c.columns) != set(cols):
            raise ValueError(
                f"cannot concatenate corpus {corpora[0].name!r} (columns {cols}) with corpus "
                f"{c.name!r} (columns {c.columns}); select common columns first")
    sources = {c.source for c in corpora}
    return Corpus(
        sentences=[s for c in corpora for s in c.sentences],
        labels={col: [s for c in corpora for s in c.labels[col]] for col in cols},
        name=name if name is not None else "+".join(c.name for c in corpora),
        sentence_ids=[i for c in corpora for i in c.sentence_ids],
        source=sources.pop() if len(sources) == 1 else None,
    )

