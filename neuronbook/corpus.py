"""Annotated corpora: words with aligned word-level labels, readers, and tasks.

A :class:`Corpus` holds sentences (lists of words) and any number of named
label columns, one label per word. Readers turn the common annotation formats
into a corpus (Universal Dependencies CoNLL-U, NeuroX-style parallel files,
``word/TAG`` lines, CoNLL-2000/2003 column files, Parallel Meaning Bank layer
files). A :class:`Task` then turns a corpus into the labels a probe learns,
e.g. ``"upos"``, ``"feats:Number"``, ``"suffix"`` or the control task
``"control:upos"``.

Example
-------
>>> from neuronbook.corpus import Corpus, Task
>>> c = Corpus([["The", "cats", "sat"]], {"upos": [["DET", "NOUN", "VERB"]]}, name="toy")
>>> len(c), c.n_words, c.columns
(1, 3, ['upos'])
>>> Task("suffix", suffix_length=2, min_count=1).fit_transform(c)
[['he', 'ts', 'at']]
"""

from __future__ import annotations

import hashlib
import logging
import math
from bisect import bisect_right
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np
import pandas as pd

__all__ = [
    "Corpus",
    "CorpusFormatError",
    "Task",
    "available_tasks",
    "concat",
    "read_columns",
    "read_conllu",
    "read_corpus",
    "read_parallel",
    "read_pmb",
    "read_tagged",
    "task_labels",
]

logger = logging.getLogger(__name__)


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
        h = hashlib.sha256(b"neuronbook-corpus-v1\n")
        _hash_rows(h, self.sentences)
        for col in sorted(self.labels):
            h.update(b"\x01column\x01" + col.encode("utf-8") + b"\n")
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


# --------------------------------------------------------------------------- readers


def _lines(path):
    """Numbered lines without line terminators; decoding errors name the file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as e:
        line = path.read_bytes()[: e.start].count(b"\n") + 1
        raise CorpusFormatError(path, line, f"not valid UTF-8 ({e.reason})") from None
    for no, line in enumerate(text.split("\n"), start=1):
        yield no, line.rstrip("\r")


def _default_name(path) -> str:
    p = Path(path)
    return p.name[: -len("".join(p.suffixes))] if p.suffixes else p.name


CONLLU_COLUMNS = ("upos", "xpos", "lemma", "feats", "deprel", "head")
_CONLLU_INDEX = {"lemma": 2, "upos": 3, "xpos": 4, "feats": 5, "head": 6, "deprel": 7}


def read_conllu(path, name: str | None = None) -> Corpus:
    """Read a Universal Dependencies CoNLL-U file.

    Syntactic words are kept; multi-word token range lines (``3-4``) and empty
    nodes (``8.1``) are skipped. The word is the FORM column; label columns are
    ``upos, xpos, lemma, feats, deprel, head`` with their raw values (``deprel``
    keeps its subtype, e.g. ``nmod:poss``). Sentence ids come from
    ``# sent_id = ...`` comments where present.

    Raises
    ------
    CorpusFormatError
        On a line without 10 tab-separated fields, a bad or out-of-order ID, or
        a sentence without words; the message gives ``file:line``.

    Examples
    --------
    >>> import tempfile, os
    >>> p = os.path.join(tempfile.mkdtemp(), "x.conllu")
    >>> _ = open(p, "w").write("# sent_id = s1\\n1-2\\tdon't\\t_\\t_\\t_\\t_\\t_\\t_\\t_\\t_\\n"
    ...     "1\\tdo\\tdo\\tAUX\\tVBP\\t_\\t0\\troot\\t_\\t_\\n2\\tn't\\tnot\\tPART\\tRB\\t_\\t1\\tadvmod\\t_\\t_\\n\\n")
    >>> c = read_conllu(p); c.sentences, c.labels["upos"], c.sentence_ids
    ([['do', "n't"]], [['AUX', 'PART']], ['s1'])
    """
    name = _default_name(path) if name is None else name
    sents, ids = [], []
    labels = {c: [] for c in CONLLU_COLUMNS}
    words: list[str] = []
    cur = {c: [] for c in CONLLU_COLUMNS}
    sent_id = None
    start = None  # line where the current sentence block began

    def flush(line_no):
        nonlocal words, cur, sent_id, start
        if start is None:
            return
        if not words:
            raise CorpusFormatError(path, start, "sentence block has no word lines")
        sents.append(words)
        ids.append(sent_id if sent_id is not None else f"{name}:{len(sents) - 1}")
        for c in CONLLU_COLUMNS:
            labels[c].append(cur[c])
        words, cur, sent_id, start = [], {c: [] for c in CONLLU_COLUMNS}, None, None

    for no, line in _lines(path):
        if not line.strip():
            flush(no)
            continue
        if start is None:
            start = no
        if line.startswith("#"):
            body = line[1:].strip()
            if body.startswith("sent_id") and "=" in body:
                sent_id = body.split("=", 1)[1].strip()
            continue
        fields = line.split("\t")
        if len(fields) != 10:
            raise CorpusFormatError(path, no, f"expected 10 tab-separated fields, found {len(fields)}")
        tid = fields[0]
        if "-" in tid or "." in tid:
            lo = tid.replace("-", ".").split(".")
            if len(lo) != 2 or not all(p.isdigit() for p in lo):
                raise CorpusFormatError(path, no, f"bad token ID {tid!r}")
            continue  # multi-word token range or empty node
        if not tid.isdigit():
            raise CorpusFormatError(path, no, f"bad token ID {tid!r}")
        if int(tid) != len(words) + 1:
            raise CorpusFormatError(path, no, f"token ID {tid} out of order (expected {len(words) + 1})")
        if not fields[1]:
            raise CorpusFormatError(path, no, "empty FORM")
        words.append(fields[1])
        for c, k in _CONLLU_INDEX.items():
            cur[c].append(fields[k])
    flush(None)
    logger.debug("read %d sentences from %s", len(sents), path)
    return Corpus(sents, labels, name=name, sentence_ids=ids, source=str(path))


def read_parallel(text_path, label_path, column: str = "label", name: str | None = None) -> Corpus:
    """Read NeuroX-style parallel files: one sentence per line, one label line per sentence.

    Words and labels are separated by whitespace. Line ``k`` of ``label_path``
    labels the words of line ``k`` of ``text_path``.

    Raises
    ------
    CorpusFormatError
        If the files have different numbers of lines, a line is empty, or a
        label line has a different number of items than its sentence.

    Examples
    --------
    >>> import tempfile, os
    >>> d = tempfile.mkdtemp(); t, l = os.path.join(d, "t.txt"), os.path.join(d, "l.txt")
    >>> _ = open(t, "w").write("the cat\\nsat\\n"); _ = open(l, "w").write("DT NN\\nVBD\\n")
    >>> read_parallel(t, l, column="pos").labels["pos"]
    [['DT', 'NN'], ['VBD']]
    """
    name = _default_name(text_path) if name is None else name
    text = _strip_trailing_blank(list(_lines(text_path)))
    labs = _strip_trailing_blank(list(_lines(label_path)))
    sents, rows = [], []
    for (no, tl), (_, ll) in zip(text, labs):
        ws, ls = tl.split(), ll.split()
        if not ws:
            raise CorpusFormatError(text_path, no, "empty sentence line")
        if len(ws) != len(ls):
            raise CorpusFormatError(
                label_path, no,
                f"{len(ls)} labels for the {len(ws)} words of line {no} of {text_path}")
        sents.append(ws)
        rows.append(ls)
    if len(text) != len(labs):
        short, long_ = (text_path, label_path) if len(text) < len(labs) else (label_path, text_path)
        raise CorpusFormatError(
            long_, min(len(text), len(labs)) + 1,
            f"{len(text)} sentence lines in {text_path} but {len(labs)} label lines in {label_path}; "
            f"{short} ends before this line")
    return Corpus(sents, {column: rows}, name=name, source=str(text_path))


def _strip_trailing_blank(lines):
    while lines and not lines[-1][1].strip():
        lines.pop()
    return lines


def read_tagged(path, sep: str = "/", column: str = "tag", name: str | None = None) -> Corpus:
    """Read ``word/TAG word/TAG`` lines, one sentence per line.

    Each item is split on the *last* ``sep``, so words that contain the
    separator (``1/2/CD``) work. Blank lines are skipped.

    Examples
    --------
    >>> import tempfile, os
    >>> p = os.path.join(tempfile.mkdtemp(), "x.txt")
    >>> _ = open(p, "w").write("I/PRP ate/VBD 1/2/CD\\n")
    >>> c = read_tagged(p); c.sentences, c.labels["tag"]
    ([['I', 'ate', '1/2']], [['PRP', 'VBD', 'CD']])
    """
    if not sep:
        raise ValueError("sep must be a non-empty string")
    name = _default_name(path) if name is None else name
    sents, rows, ids = [], [], []
    for no, line in _lines(path):
        items = line.split()
        if not items:
            continue
        ws, ts = [], []
        for it in items:
            w, s, t = it.rpartition(sep)
            if not s or not w or not t:
                raise CorpusFormatError(path, no, f"item {it!r} is not of the form word{sep}TAG")
            ws.append(w)
            ts.append(t)
        sents.append(ws)
        rows.append(ts)
        ids.append(f"{name}:{len(sents) - 1}")
    return Corpus(sents, {column: rows}, name=name, sentence_ids=ids, source=str(path))


def read_columns(path, columns: Sequence[str] = ("word", "pos", "chunk", "ner"), word_column: str = "word",
                 sep: str | None = None, name: str | None = None) -> Corpus:
    """Read a CoNLL-2000 / CoNLL-2003 style column file.

    One word per line, fields separated by ``sep`` (default: any whitespace),
    blank lines between sentences; ``-DOCSTART-`` lines are skipped. Every
    column except ``word_column`` becomes a label column.

    Examples
    --------
    >>> import tempfile, os
    >>> p = os.path.join(tempfile.mkdtemp(), "x.txt")
    >>> _ = open(p, "w").write("-DOCSTART- -X- O O\\n\\nEU NNP B-NP B-ORG\\nrejects VBZ B-VP O\\n")
    >>> c = read_columns(p); c.sentences, c.labels["ner"]
    ([['EU', 'rejects']], [['B-ORG', 'O']])
    """
    columns = list(columns)
    if word_column not in columns:
        raise ValueError(f"word_column {word_column!r} is not one of columns {columns}")
    if len(set(columns)) != len(columns):
        raise ValueError(f"duplicate column names in {columns}")
    name = _default_name(path) if name is None else name
    wi = columns.index(word_column)
    label_cols = [c for c in columns if c != word_column]
    sents, labels = [], {c: [] for c in label_cols}
    words, cur = [], {c: [] for c in label_cols}

    def flush():
        nonlocal words, cur
        if words:
            sents.append(words)
            for c in label_cols:
                labels[c].append(cur[c])
        words, cur = [], {c: [] for c in label_cols}

    for no, line in _lines(path):
        if not line.strip():
            flush()
            continue
        fields = line.split(sep) if sep is not None else line.split()
        if fields[0].startswith("-DOCSTART-"):
            flush()
            continue
        if len(fields) != len(columns):
            raise CorpusFormatError(
                path, no, f"expected {len(columns)} fields {columns}, found {len(fields)}; "
                          f"pass columns=... to match the file")
        words.append(fields[wi])
        for c in label_cols:
            cur[c].append(fields[columns.index(c)])
    flush()
    return Corpus(sents, labels, name=name, source=str(path))


PMB_COLUMNS = {"sym": "lemma", "sem": "sem", "cat": "ccg", "sns": "sense", "rol": "role"}


def read_pmb(path, name: str | None = None, tilde_as_space: bool = False) -> Corpus:
    """Read a Parallel Meaning Bank gold layer file (``.conll``).

    Comment lines start with ``#``; the ``# tok:gold\\tsym:gold...`` header
    comment, when present, gives the column order (default ``tok tok sym sem
    cat sns rol``). The word is the first ``tok`` column; label columns are
    ``sem`` (semantic tag), ``ccg`` (the ``cat`` CCG supertag), ``lemma``
    (``sym``), plus ``sense`` (``sns``) and ``role`` (``rol``). Sentence ids
    are the ``# newdoc id`` (``p00/d0004``); the k-th sentence (k >= 2) of a
    document with several sentences is ``p00/d0004#k``.

    Parameters
    ----------
    tilde_as_space : bool
        PMB joins multi-word expressions with ``~`` (``New~York``); True turns
        ``~`` into a space so the model sees natural text. Default False keeps
        the raw token so that words never contain whitespace.

    Examples
    --------
    >>> import tempfile, os
    >>> p = os.path.join(tempfile.mkdtemp(), "x.conll")
    >>> _ = open(p, "w").write("# newdoc id = p00/d01\\nA\\tA\\ta\\tDIS\\tnp/n\\tO\\t[]\\n"
    ...                        "dog\\tdog\\tdog\\tCON\\tn\\tdog.n.01\\t[]\\n\\n")
    >>> c = read_pmb(p); c.sentences, c.labels["sem"], c.labels["ccg"], c.sentence_ids
    ([['A', 'dog']], [['DIS', 'CON']], [['np/n', 'n']], ['p00/d01'])
    """
    name = _default_name(path) if name is None else name
    order = ["tok", "tok", "sym", "sem", "cat", "sns", "rol"]
    sents, ids = [], []
    labels = {c: [] for c in PMB_COLUMNS.values()}
    words, cur, doc = [], {c: [] for c in PMB_COLUMNS.values()}, None

    def index_of(key):
        return order.index(key)  # first occurrence: the two tok columns are identical

    in_doc = 0  # sentences of the current document so far

    def flush():
        nonlocal words, cur, in_doc
        if words:
            sents.append(words)
            in_doc += 1
            if doc is None:
                ids.append(f"{name}:{len(sents) - 1}")
            else:
                ids.append(doc if in_doc == 1 else f"{doc}#{in_doc}")
            for c in labels:
                labels[c].append(cur[c])
        words, cur = [], {c: [] for c in PMB_COLUMNS.values()}

    for no, line in _lines(path):
        if not line.strip():
            flush()
            continue
        if line.startswith("#"):
            body = line.lstrip("#").strip()
            if body.startswith("newdoc id") and "=" in body:
                flush()
                doc, in_doc = body.split("=", 1)[1].strip(), 0
            elif "\t" in body and ":" in body and body.split("\t")[0].split(":")[0] == "tok":
                hdr = [f.split(":")[0].strip() for f in body.split("\t")]
                missing = [k for k in ("tok", *PMB_COLUMNS) if k not in hdr]
                if missing:
                    raise CorpusFormatError(path, no, f"header lacks column(s) {missing}")
                order = hdr
            continue
        fields = line.split("\t")
        if len(fields) != len(order):
            raise CorpusFormatError(path, no, f"expected {len(order)} tab-separated fields {order}, "
                                              f"found {len(fields)}")
        w = fields[index_of("tok")]
        if not w:
            raise CorpusFormatError(path, no, "empty token")
        words.append(w.replace("~", " ") if tilde_as_space else w)
        for key, col in PMB_COLUMNS.items():
            cur[col].append(fields[index_of(key)])
    flush()
    return Corpus(sents, labels, name=name, sentence_ids=ids, source=str(path))


FORMATS = ("conllu", "pmb", "columns", "tagged", "parallel")


def read_corpus(path, format: str | None = None, **kw) -> Corpus:
    """Read a corpus file, choosing the reader by ``format`` or by the file.

    ``.conllu`` -> :func:`read_conllu`; ``.conll`` -> :func:`read_pmb` when a
    PMB header (``# tok:gold ...``) is found, :func:`read_conllu` when lines have
    10 tab-separated fields with an integer ID, else :func:`read_columns`. Other
    suffixes need ``format`` (one of ``conllu, pmb, columns, tagged,
    parallel``; ``parallel`` needs ``label_path=``). Extra keywords go to the reader.

    Examples
    --------
    >>> import tempfile, os
    >>> p = os.path.join(tempfile.mkdtemp(), "x.txt")
    >>> _ = open(p, "w").write("a/X b/Y\\n")
    >>> read_corpus(p, format="tagged").labels
    {'tag': [['X', 'Y']]}
    """
    path = Path(path)
    if format is None:
        format = _sniff(path)
    readers = {"conllu": read_conllu, "pmb": read_pmb, "columns": read_columns, "tagged": read_tagged}
    if format == "parallel":
        if "label_path" not in kw:
            raise ValueError("format='parallel' needs label_path=<file with one label line per sentence>")
        return read_parallel(path, **kw)
    if format not in readers:
        raise ValueError(f"unknown corpus format {format!r}; valid: {list(FORMATS)}")
    return readers[format](path, **kw)


def _sniff(path: Path) -> str:
    if not path.is_file():
        raise FileNotFoundError(f"corpus file not found: {path}")
    suffix = path.suffix.lower()
    if suffix == ".conllu":
        return "conllu"
    if suffix == ".conll":
        for _, line in _lines(path):
            if line.startswith("#"):
                body = line.lstrip("#").strip()
                if body.split("\t")[0].startswith("tok:"):
                    return "pmb"
                continue
            if not line.strip():
                continue
            f = line.split("\t")
            return "conllu" if len(f) == 10 and f[0].split("-")[0].split(".")[0].isdigit() else "columns"
        return "columns"
    raise ValueError(f"cannot tell the format of {path} from its suffix {suffix!r}; "
                     f"pass format= one of {list(FORMATS)}")


# --------------------------------------------------------------------------- tasks

_BUILTIN_TASKS = ("upos", "xpos", "deprel", "suffix", "sem", "ccg", "feats:<Feature>", "control:<task>",
                  "raw:<column>")


def _stable_unit(seed: int, word: str) -> float:
    """A uniform number in [0, 1) from (seed, word), the same in every process."""
    d = hashlib.sha256(f"neuronbook-control\x00{int(seed)}\x00{word}".encode("utf-8")).digest()
    return int.from_bytes(d[:8], "big") / 2.0 ** 64


class Task:
    """A probing task: turns a corpus into one label per word.

    Parameters
    ----------
    name : str
        ``"upos"``, ``"xpos"``, ``"sem"``, ``"ccg"`` or any label column name:
        that column as is. ``"raw:<column>"``: a column as is, even where a
        built-in task has the same name. ``"deprel"``: the universal relation
        without subtype (``nmod:poss`` -> ``nmod``; use ``"raw:deprel"`` for the
        full label). ``"feats:<Feature>"``: the value of one UD feature
        (``feats:Number`` -> ``Sing``/``Plur``), ``none_label`` where the word has
        no such feature. ``"suffix"``: the last ``suffix_length`` characters of
        the lower-cased word; words of ``suffix_length`` characters or fewer have
        no proper suffix and get ``short_label``. ``"control:<task>"``: the
        control task of Hewitt & Liang (2019) for ``<task>``: every word type
        gets one label drawn from the base task's label distribution on the
        training corpus, derived from a stable hash of ``(seed, word)``, so
        train and test share the assignment and every run gives the same labels.
    suffix_length : int
        Characters in a suffix.
    min_count : int, optional
        Labels seen fewer than ``min_count`` times in the fitted corpus fold into
        ``other_label``. Default (None): 10 for ``suffix`` (thousands of rare
        suffixes otherwise), 1 (no folding) for every other task.
    seed : int
        Seed of the control task.
    handle_unknown : {"other", "error"}
        What ``transform`` does with a label not among the fitted classes:
        map it to ``other_label`` (logged as a warning) or raise.
    none_label, other_label, short_label : str
        The explicit labels described above.

    Attributes
    ----------
    classes_ : list of str
        Sorted labels after fitting (after folding; for a control task the
        labels of the base distribution).
    counts_ : dict of str to int
        Count of each class in the fitted corpus (for a control task, of the base task).
    min_count_ : int
        The resolved ``min_count``.
    base_ : Task or None
        The fitted base task of a control task.

    Examples
    --------
    >>> c = Corpus([["walking", "talked", "is"]], {"upos": [["VERB", "VERB", "AUX"]]})
    >>> Task("suffix").fit_transform(c)   # default min_count=10 folds every suffix here
    [['_other', '_other', '_other']]
    >>> Task("suffix", min_count=1).fit(c).classes_
    ['_short', 'ing', 'ked']
    >>> t = Task("control:upos", seed=3).fit(c)
    >>> test = Corpus([["is", "walking", "is"]], {"upos": [["AUX", "VERB", "AUX"]]})
    >>> t.transform(test)[0][1] == t.transform(c)[0][0]   # same word type, same label
    True
    """

    def __init__(self, name: str, suffix_length: int = 3, min_count: int | None = None, seed: int = 0,
                 handle_unknown: str = "other", none_label: str = "_none", other_label: str = "_other",
                 short_label: str = "_short"):
        self.name = name
        self.suffix_length = suffix_length
        self.min_count = min_count
        self.seed = seed
        self.handle_unknown = handle_unknown
        self.none_label = none_label
        self.other_label = other_label
        self.short_label = short_label

    def __repr__(self) -> str:
        return f"Task({self.name!r})"

    def get_params(self) -> dict:
        """The constructor arguments (for logging and cache keys)."""
        keys = ("name", "suffix_length", "min_count", "seed", "handle_unknown", "none_label",
                "other_label", "short_label")
        return {k: getattr(self, k) for k in keys}

    # ---- raw labels (before folding)
    def _kind(self) -> tuple[str, str]:
        n = self.name
        if not isinstance(n, str) or not n:
            raise ValueError(f"task name must be a non-empty string, got {n!r}")
        for prefix in ("control:", "feats:", "raw:"):
            if n.startswith(prefix):
                arg = n[len(prefix):]
                if not arg:
                    raise ValueError(f"task {n!r} needs a name after {prefix!r}")
                return prefix[:-1], arg
        if n in ("suffix", "deprel"):
            return n, ""
        return "column", n

    def _raw(self, corpus: Corpus) -> list[list[str]]:
        kind, arg = self._kind()
        if kind == "suffix":
            k = int(self.suffix_length)
            if k < 1:
                raise ValueError(f"suffix_length must be >= 1, got {self.suffix_length}")
            return [[w.lower()[-k:] if len(w) > k else self.short_label for w in s] for s in corpus.sentences]
        if kind == "deprel":
            return [[x.split(":", 1)[0] for x in s] for s in self._column(corpus, "deprel")]
        if kind == "feats":
            rows = self._column(corpus, "feats")
            out = []
            for i, s in enumerate(rows):
                out_s = []
                for j, x in enumerate(s):
                    value = self.none_label
                    if x not in ("_", ""):
                        for item in x.split("|"):
                            key, eq, val = item.partition("=")
                            if not eq:
                                raise ValueError(
                                    f"corpus {corpus.name!r}, sentence {i} ({corpus.sentence_ids[i]}) "
                                    f"word {j} {corpus.sentences[i][j]!r}: malformed feats {x!r}")
                            if key == arg:
                                value = val
                    out_s.append(value)
                out.append(out_s)
            return out
        if kind in ("raw", "column"):
            return self._column(corpus, arg)
        raise AssertionError(kind)

    def _column(self, corpus: Corpus, col: str) -> list[list[str]]:
        if col not in corpus.labels:
            raise ValueError(
                f"unknown task {self.name!r} for corpus {corpus.name!r}: it needs label column {col!r}. "
                f"Valid task names: {', '.join(_BUILTIN_TASKS)}; corpus columns: {corpus.columns}")
        return corpus.labels[col]

    # ---- estimator API
    def fit(self, corpus: Corpus) -> "Task":
        """Learn the classes (and the folding of rare labels) from ``corpus``."""
        kind, arg = self._kind()
        if self.handle_unknown not in ("other", "error"):
            raise ValueError(f"handle_unknown must be 'other' or 'error', got {self.handle_unknown!r}")
        if kind == "control":
            if arg.startswith("control:"):
                raise ValueError(f"task {self.name!r}: a control task of a control task is not supported")
            params = self.get_params()
            params["name"] = arg
            self.base_ = Task(**params).fit(corpus)
            self.min_count_ = self.base_.min_count_
            self.counts_ = dict(self.base_.counts_)
            self.classes_ = list(self.base_.classes_)
            total = sum(self.counts_.values())
            self._cdf = np.cumsum([self.counts_[c] / total for c in self.classes_]).tolist()
            return self
        self.base_ = None
        self.min_count_ = (10 if kind == "suffix" else 1) if self.min_count is None else int(self.min_count)
        raw = Counter(x for s in self._raw(corpus) for x in s)
        folded = Counter()
        for lab, n in raw.items():
            folded[lab if n >= self.min_count_ else self.other_label] += n
        n_rare = sum(1 for n in raw.values() if n < self.min_count_)
        if n_rare:
            logger.info("task %s: %d labels seen fewer than %d times folded into %r",
                        self.name, n_rare, self.min_count_, self.other_label)
        self._seen = set(raw)
        self._known = {lab for lab, n in raw.items() if n >= self.min_count_}
        self.counts_ = dict(sorted(folded.items()))
        self.classes_ = sorted(folded)
        return self

    def transform(self, corpus: Corpus) -> list[list[str]]:
        """Labels of ``corpus``, one per word, aligned with ``corpus.sentences``."""
        if not hasattr(self, "classes_"):
            raise RuntimeError(f"{self!r} is not fitted; call fit(train_corpus) first")
        if self.base_ is not None:
            cdf, classes, seed = self._cdf, self.classes_, self.seed
            memo: dict[str, str] = {}
            out = []
            for s in corpus.sentences:
                row = []
                for w in s:
                    lab = memo.get(w)
                    if lab is None:
                        # min() guards against cdf[-1] rounding to just below 1.
                        lab = classes[min(bisect_right(cdf, _stable_unit(seed, w)), len(classes) - 1)]
                        memo[w] = lab
                    row.append(lab)
                out.append(row)
            return out
        raw = self._raw(corpus)
        known, other = self._known, self.other_label
        unseen = Counter()
        out = []
        for i, s in enumerate(raw):
            row = []
            for j, x in enumerate(s):
                if x in known:
                    row.append(x)
                    continue
                if x != other and x not in self._seen:
                    unseen[x] += 1
                    if self.handle_unknown == "error":
                        raise ValueError(
                            f"task {self.name!r}: label {x!r} of word {corpus.sentences[i][j]!r} in sentence "
                            f"{i} ({corpus.sentence_ids[i]}) of corpus {corpus.name!r} was not seen in fit")
                row.append(other)
            out.append(row)
        if unseen:
            # Expected when rare labels fold anyway; a surprise otherwise.
            log = logger.warning if self.min_count_ <= 1 else logger.info
            log("task %s on corpus %r: %d words with %d labels not seen in fit mapped to %r: %s",
                           self.name, corpus.name, sum(unseen.values()), len(unseen), other,
                           ", ".join(sorted(unseen)[:10]))
        return out

    def fit_transform(self, corpus: Corpus) -> list[list[str]]:
        """``fit(corpus).transform(corpus)``."""
        return self.fit(corpus).transform(corpus)


def task_labels(corpus: Corpus, task: str | Task, **kw) -> list[list[str]]:
    """Labels of one task fitted and applied on the same corpus.

    Examples
    --------
    >>> c = Corpus([["in", "houses"]], {"deprel": [["case", "nmod:poss"]]})
    >>> task_labels(c, "deprel")
    [['case', 'nmod']]
    """
    t = task if isinstance(task, Task) else Task(task, **kw)
    return t.fit_transform(corpus)


def available_tasks(corpus: Corpus) -> list[str]:
    """Task names that ``corpus`` supports (``feats:*`` listed per feature found).

    Examples
    --------
    >>> available_tasks(Corpus([["a"]], {"upos": [["DET"]], "feats": [["Definite=Ind"]]}))
    ['suffix', 'upos', 'feats:Definite', 'control:suffix', 'control:upos', 'control:feats:Definite']
    """
    names = ["suffix"]
    for col in corpus.columns:
        if col == "feats":
            continue
        names.append(col)
    if "feats" in corpus.labels:
        feats = sorted({item.partition("=")[0] for x in corpus.flat_labels("feats") if x not in ("_", "")
                        for item in x.split("|")})
        names += [f"feats:{f}" for f in feats]
    return names + [f"control:{n}" for n in names]

