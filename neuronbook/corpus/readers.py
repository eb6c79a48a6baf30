"""Readers that turn annotated corpus files into a :class:`~neuronbook.corpus.core.Corpus`.

Formats: Universal Dependencies CoNLL-U (:func:`read_conllu`), NeuroX-style
parallel text/label files (:func:`read_parallel`), ``word/TAG`` lines
(:func:`read_tagged`), CoNLL-2000/2003 column files (:func:`read_columns`) and
Parallel Meaning Bank layer files (:func:`read_pmb`); :func:`read_corpus`
picks one by ``format=`` or by sniffing the file. Every format error is a
:class:`~neuronbook.corpus.core.CorpusFormatError` naming the file and line.

Example
-------
>>> import tempfile, os
>>> p = os.path.join(tempfile.mkdtemp(), "x.txt")
>>> _ = open(p, "w").write("the/DT cat/NN\\n")
>>> read_corpus(p, format="tagged").sentences
[['the', 'cat']]
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Sequence

from .core import Corpus, CorpusFormatError

__all__ = ["read_columns", "read_conllu", "read_corpus", "read_parallel", "read_pmb", "read_tagged"]

logger = logging.getLogger(__name__)


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
        # the marker is the first whitespace-separated item, exactly: "-DOCSTART-x" is a word
        if line.split(None, 1)[0] == "-DOCSTART-":
            flush()
            continue
        fields = line.split(sep) if sep is not None else line.split()
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
        if line.startswith("#") and not _pmb_token_line(line, order):
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


def _pmb_token_line(line: str, order: list[str]) -> bool:
    """A line starting with ``#`` that is a token (``#``, ``#1``...), not a comment: it has exactly the
    columns of the file, its two ``tok`` columns agree, and it is not the column header."""
    fields = line.split("\t")
    if len(fields) != len(order) or fields[0].lstrip("#").strip().startswith("tok:"):
        return False
    toks = [f for f, key in zip(fields, order) if key == "tok"]
    return len(toks) >= 2 and len(set(toks)) == 1


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

