"""Property-based round trips of the corpus readers (hypothesis): write a random corpus, read it back equal.

What each format cannot carry, and what the reader does with it:

================  =========================================================================================
format            characters a word (or label) cannot hold
================  =========================================================================================
CoNLL-U           tab, newline and carriage return in any column (tab separates columns; files are read
                  with universal newlines, so ``\r`` ends a line too): a clear error naming file:line.
                  Anything else (spaces, ``\\r`` inside a word, other Unicode line breaks, ``#``) is kept.
PMB               tab, newline and carriage return, as for CoNLL-U. A token starting with ``#`` is a token, not
                  a comment, when its line has the file's columns and its two ``tok`` columns agree.
columns           any whitespace (``str.split``) with the default separator; with ``sep="\\t"``: tab and
                  newline. A word that is exactly ``-DOCSTART-`` is the document marker (by convention).
tagged            any whitespace; the tag cannot contain the separator (``/``), the word can (split on the
                  last one). A word with whitespace is an error when its pieces have no separator; one like
                  ``x/y z`` reads as the two items ``x/y`` and ``z`` -- the format cannot tell them apart.
parallel          any whitespace in a word or label: the counts no longer match, an error naming the label
                  file and line.
all but CoNLL-U   U+FEFF as the very first character of a file is read as a byte-order mark.
================  =========================================================================================
"""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from neuronbook.corpus.core import CorpusFormatError
from neuronbook.corpus.readers import read_columns, read_conllu, read_corpus, read_parallel, read_pmb, read_tagged

SETTINGS = settings(max_examples=25, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

SEPARATORS = "\t\n\r"  # tab separates columns; files are read with universal newlines (\r, \r\n, \n)

# Every Unicode character but surrogates (not text) and U+FEFF (a byte-order mark at a file's start).
_ANY = st.characters(exclude_categories=("Cs",), exclude_characters="\ufeff")


def _text(exclude: str = "", *, whitespace: bool = True, min_size: int = 1):
    """Non-empty strings of any characters except ``exclude`` (and all whitespace if not ``whitespace``)."""
    chars = _ANY.filter(lambda c: c not in exclude and (whitespace or not c.isspace()))
    return st.text(chars, min_size=min_size, max_size=8)


def _corpus(word, label, n_labels: int):
    """Sentences of (word, labels...) rows."""
    row = st.tuples(word, *[label] * n_labels)
    return st.lists(st.lists(row, min_size=1, max_size=5), min_size=1, max_size=4)


def _words(corpus):
    return [[r[0] for r in sent] for sent in corpus]


def _column(corpus, k):
    return [[r[k] for r in sent] for sent in corpus]


# ------------------------------------------------------------------------------------- CoNLL-U
CONLLU_LABELS = ("lemma", "upos", "xpos", "feats", "head", "deprel")  # columns 3..8 in this order


def _write_conllu(path, corpus, newline="\n", bom=False):
    lines = []
    for i, sent in enumerate(corpus):
        lines.append(f"# sent_id = s{i}")
        for k, (word, *labels) in enumerate(sent, start=1):
            lines.append("\t".join([str(k), word, *labels, "_", "_"]))
        lines.append("")
    path.write_bytes(("\ufeff" if bom else "").encode() + (newline.join(lines) + newline).encode("utf-8"))


# A CoNLL-U column holds anything but tab and newline; an empty label column is fine, a FORM is not.
@SETTINGS
@given(corpus=_corpus(_text(SEPARATORS), _text(SEPARATORS, min_size=0), len(CONLLU_LABELS)),
       newline=st.sampled_from(["\n", "\r\n"]), bom=st.booleans())
def test_conllu_round_trip(tmp_path, corpus, newline, bom):
    path = tmp_path / "x.conllu"
    _write_conllu(path, corpus, newline, bom)  # Windows line ends and a byte-order mark read the same
    got = read_corpus(path)
    assert got.sentences == _words(corpus)
    for k, col in enumerate(CONLLU_LABELS, start=1):
        assert got.labels[col] == _column(corpus, k), col
    assert got.sentence_ids == [f"s{i}" for i in range(len(corpus))]


@SETTINGS
@given(corpus=_corpus(_text(SEPARATORS), st.just("X"), len(CONLLU_LABELS)), bad=st.sampled_from(SEPARATORS),
       where=st.data())
def test_conllu_word_with_a_separator_is_an_error_naming_file_and_line(tmp_path, corpus, bad, where):
    i = where.draw(st.integers(0, len(corpus) - 1), label="sentence")
    j = where.draw(st.integers(0, len(corpus[i]) - 1), label="word")
    word = corpus[i][j][0]
    corpus[i][j] = (word[: len(word) // 2] + bad + word[len(word) // 2:], *corpus[i][j][1:])
    path = tmp_path / "bad.conllu"
    _write_conllu(path, corpus)
    line = 1 + sum(len(s) + 2 for s in corpus[:i]) + 1 + j  # comment line, then word lines, then a blank
    with pytest.raises(CorpusFormatError, match=rf"^{re.escape(str(path))}:{line}: expected 10 tab-separated"):
        read_conllu(path)


# ------------------------------------------------------------------------------------------ PMB
PMB_ORDER = ("tok", "tok", "sym", "sem", "cat", "sns", "rol")


def _write_pmb(path, corpus, header: bool):
    lines = []
    for i, sent in enumerate(corpus):
        lines.append(f"# newdoc id = p00/d{i:04d}")
        if header:
            lines.append("# tok:gold\ttok:gold\tsym:gold\tsem:gold\tcat:gold\tsns:gold\trol:gold")
        for word, *labels in sent:
            lines.append("\t".join([word, word, *labels]))
        lines.append("")
    path.write_text("\n".join(lines), encoding="utf-8")


# Labels never blank: a line of only tabs and spaces would be a sentence break.
@SETTINGS
@given(corpus=_corpus(_text(SEPARATORS), _text(SEPARATORS, whitespace=False), 5), header=st.booleans())
def test_pmb_round_trip(tmp_path, corpus, header):
    path = tmp_path / "x.conll"
    _write_pmb(path, corpus, header)
    got = read_corpus(path, format="pmb")
    assert got.sentences == _words(corpus)
    for k, col in enumerate(("lemma", "sem", "ccg", "sense", "role"), start=1):
        assert got.labels[col] == _column(corpus, k), col
    assert got.sentence_ids == [f"p00/d{i:04d}" for i in range(len(corpus))]


def test_pmb_token_starting_with_hash_is_a_token(tmp_path):
    path = tmp_path / "x.conll"
    _write_pmb(path, [[("#", "#", "NIL", "n", "O", "[]"), ("#1", "#1", "QUC", "n", "O", "[]")]], header=True)
    got = read_pmb(path)
    assert got.sentences == [["#", "#1"]] and got.labels["sem"] == [["NIL", "QUC"]]


def test_pmb_token_with_a_tab_is_an_error_naming_file_and_line(tmp_path):
    path = tmp_path / "x.conll"
    _write_pmb(path, [[("a", "a", "DIS", "n", "O", "[]"), ("b\tc", "b", "CON", "n", "O", "[]")]], header=True)
    with pytest.raises(CorpusFormatError, match=rf"^{re.escape(str(path))}:4: expected 7 tab-separated"):
        read_pmb(path)


# -------------------------------------------------------------------------------------- columns
@SETTINGS
@given(corpus=_corpus(_text(whitespace=False).filter(lambda w: w != "-DOCSTART-"),
                      _text(whitespace=False), 2),
       tab_separated=st.booleans(), docstart=st.booleans())
def test_columns_round_trip(tmp_path, corpus, tab_separated, docstart):
    sep = "\t" if tab_separated else " "
    lines = ["-DOCSTART- -X- O", ""] if docstart else []
    for sent in corpus:
        lines += [sep.join(row) for row in sent] + [""]
    path = tmp_path / "x.txt"
    path.write_text("\n".join(lines), encoding="utf-8")
    got = read_columns(path, columns=("word", "pos", "ner"), sep="\t" if tab_separated else None)
    assert got.sentences == _words(corpus)
    assert got.labels == {"pos": _column(corpus, 1), "ner": _column(corpus, 2)}


@SETTINGS
@given(corpus=_corpus(_text(SEPARATORS).filter(lambda w: w != "-DOCSTART-"),
                      _text(SEPARATORS, whitespace=False), 1))
def test_tab_separated_columns_keep_spaces_in_words(tmp_path, corpus):
    path = tmp_path / "x.tsv"
    path.write_text("\n".join("\n".join("\t".join(r) for r in s) + "\n" for s in corpus), encoding="utf-8")
    got = read_columns(path, columns=("word", "tag"), sep="\t")
    assert got.sentences == _words(corpus) and got.labels["tag"] == _column(corpus, 1)


def test_columns_word_that_only_starts_like_docstart_is_a_word(tmp_path):
    path = tmp_path / "x.txt"
    path.write_text("-DOCSTART- O\n\n-DOCSTART-x NN\nend NN\n", encoding="utf-8")
    got = read_columns(path, columns=("word", "pos"))
    assert got.sentences == [["-DOCSTART-x", "end"]] and got.labels["pos"] == [["NN", "NN"]]


def test_columns_word_with_a_space_is_an_error_naming_file_and_line(tmp_path):
    path = tmp_path / "x.txt"
    path.write_text("a NN\nNew York NNP\n", encoding="utf-8")
    with pytest.raises(CorpusFormatError, match=rf"^{re.escape(str(path))}:2: expected 2 fields"):
        read_columns(path, columns=("word", "pos"))


# --------------------------------------------------------------------------------------- tagged
@SETTINGS
@given(corpus=_corpus(_text(whitespace=False), _text("/", whitespace=False), 1))
def test_tagged_round_trip(tmp_path, corpus):
    path = tmp_path / "x.txt"
    path.write_text("\n".join(" ".join(f"{w}/{t}" for w, t in s) for s in corpus) + "\n", encoding="utf-8")
    got = read_tagged(path)
    assert got.sentences == _words(corpus) and got.labels["tag"] == _column(corpus, 1)


@SETTINGS
@given(corpus=_corpus(_text("/", whitespace=False), _text("/", whitespace=False), 1),
       space=st.sampled_from(" \t\u00a0\u2003\x1c"), where=st.data())
def test_tagged_word_with_whitespace_is_an_error_naming_file_and_line(tmp_path, corpus, space, where):
    i = where.draw(st.integers(0, len(corpus) - 1), label="sentence")
    j = where.draw(st.integers(0, len(corpus[i]) - 1), label="word")
    corpus[i][j] = (corpus[i][j][0] + space + "x", corpus[i][j][1])
    path = tmp_path / "x.txt"
    path.write_text("\n".join(" ".join(f"{w}/{t}" for w, t in s) for s in corpus) + "\n", encoding="utf-8")
    with pytest.raises(CorpusFormatError, match=rf"^{re.escape(str(path))}:{i + 1}: item .* is not of the form"):
        read_tagged(path)


def test_tagged_cannot_tell_a_word_with_a_space_from_two_items(tmp_path):
    # documented limit of the format: "x/y z/NN" is two tagged items, whatever the writer meant
    path = tmp_path / "x.txt"
    path.write_text("x/y z/NN\n", encoding="utf-8")
    got = read_tagged(path)
    assert got.sentences == [["x", "z"]] and got.labels["tag"] == [["y", "NN"]]


# ------------------------------------------------------------------------------------- parallel
@SETTINGS
@given(corpus=_corpus(_text(whitespace=False), _text(whitespace=False), 1))
def test_parallel_round_trip(tmp_path, corpus):
    text, labels = tmp_path / "t.txt", tmp_path / "l.txt"
    text.write_text("\n".join(" ".join(_words([s])[0]) for s in corpus) + "\n", encoding="utf-8")
    labels.write_text("\n".join(" ".join(_column([s], 1)[0]) for s in corpus) + "\n", encoding="utf-8")
    got = read_corpus(text, format="parallel", label_path=labels, column="pos")
    assert got.sentences == _words(corpus) and got.labels["pos"] == _column(corpus, 1)


@SETTINGS
@given(corpus=_corpus(_text(whitespace=False), _text(whitespace=False), 1),
       space=st.sampled_from(" \t\u00a0\u3000"), where=st.data())
def test_parallel_word_with_whitespace_is_an_error_naming_file_and_line(tmp_path, corpus, space, where):
    i = where.draw(st.integers(0, len(corpus) - 1), label="sentence")
    j = where.draw(st.integers(0, len(corpus[i]) - 1), label="word")
    corpus[i][j] = ("a" + space + corpus[i][j][0], corpus[i][j][1])
    text, labels = tmp_path / "t.txt", tmp_path / "l.txt"
    text.write_text("\n".join(" ".join(_words([s])[0]) for s in corpus) + "\n", encoding="utf-8")
    labels.write_text("\n".join(" ".join(_column([s], 1)[0]) for s in corpus) + "\n", encoding="utf-8")
    with pytest.raises(CorpusFormatError, match=rf"^{re.escape(str(labels))}:{i + 1}: \d+ labels for the"):
        read_parallel(text, labels)
