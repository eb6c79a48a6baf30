"""Tests of neuronbook.corpus: Corpus, readers and tasks, on hand-written inputs."""

from __future__ import annotations

import re
import subprocess
import sys
from collections import Counter

import pytest

from neuronbook.corpus import (
    Corpus, CorpusFormatError, Task, available_tasks, concat, read_columns, read_conllu, read_corpus,
    read_parallel, read_pmb, read_tagged, task_labels,
)

CONLLU = """\
# newdoc id = doc1
# sent_id = s1
# text = I don't like it.
1\tI\tI\tPRON\tPRP\tCase=Nom|Number=Sing|Person=1\t4\tnsubj\t_\t_
2-3\tdon't\t_\t_\t_\t_\t_\t_\t_\t_
2\tdo\tdo\tAUX\tVBP\tMood=Ind|Tense=Pres\t4\taux\t_\t_
3\tn't\tnot\tPART\tRB\t_\t4\tadvmod\t_\t_
4\tlike\tlike\tVERB\tVB\tVerbForm=Inf\t0\troot\t_\t_
4.1\tlikes\tlike\tVERB\tVBZ\t_\t_\t_\t4:conj\t_
5\tit\tit\tPRON\tPRP\tNumber=Sing\t4\tobj\t_\t_
6\t.\t.\tPUNCT\t.\t_\t4\tpunct\t_\t_

# sent_id = s2
1\tDogs\tdog\tNOUN\tNNS\tNumber=Plur\t2\tnsubj\t_\t_
2\tbark\tbark\tVERB\tVBP\t_\t0\troot\t_\t_
3\tat\tat\tADP\tIN\t_\t4\tcase\t_\t_
4\tcats\tcat\tNOUN\tNNS\tNumber=Plur\t2\tobl:at\t_\t_
"""  # no blank line at the end: the last sentence must still be read


def toy() -> Corpus:
    return Corpus(
        [["The", "cats", "sat"], ["A", "dog", "ran", "fast"], ["Cats", "sat"]],
        {"upos": [["DET", "NOUN", "VERB"], ["DET", "NOUN", "VERB", "ADV"], ["NOUN", "VERB"]]},
        name="toy",
    )


# ---------------------------------------------------------------- Corpus


def test_corpus_basics_and_default_ids():
    c = toy()
    assert len(c) == 3 and c.n_words == 9 and c.columns == ["upos"]
    assert c.sentence_ids == ["toy:0", "toy:1", "toy:2"]
    assert c.words()[:4] == ["The", "cats", "sat", "A"]
    assert c.flat_labels("upos").count("NOUN") == 3


def test_corpus_validation_names_column_and_sentence():
    with pytest.raises(ValueError, match=r"column 'upos' has 1 labels for the 2 words of sentence 1 \(b\)"):
        Corpus([["x"], ["y", "z"]], {"upos": [["X"], ["Y"]]}, sentence_ids=["a", "b"])
    with pytest.raises(ValueError, match="column 'upos' has 1 sentences, expected 2"):
        Corpus([["x"], ["y"]], {"upos": [["X"]]})
    with pytest.raises(ValueError, match=r"sentence 0 \(t:0\) has no words"):
        Corpus([[]], name="t")
    with pytest.raises(ValueError, match="non-empty strings"):
        Corpus([["x", ""]])
    with pytest.raises(ValueError, match="not a string"):
        Corpus([["x"]], {"t": [[3]]})
    with pytest.raises(ValueError, match="2 sentence ids for 1 sentences"):
        Corpus([["x"]], sentence_ids=["a", "b"])


def test_getitem_subset_head():
    c = toy()
    assert c[1].sentences == [["A", "dog", "ran", "fast"]]
    assert c[-1].sentence_ids == ["toy:2"]
    assert c[1:].sentence_ids == ["toy:1", "toy:2"]
    sub = c.subset([2, 0])
    assert sub.sentences == [["Cats", "sat"], ["The", "cats", "sat"]]
    assert sub.labels["upos"] == [["NOUN", "VERB"], ["DET", "NOUN", "VERB"]]
    assert c.head(2).n_words == 7
    assert c[[True, False, True]].sentence_ids == ["toy:0", "toy:2"]
    assert c.subset([1]).n_words == 4
    with pytest.raises(IndexError, match="boolean mask"):
        c[[True, False]]
    with pytest.raises(TypeError, match="integers or a boolean mask"):
        c.subset([0.5])
    with pytest.raises(IndexError, match="out of range"):
        c[3]
    # Sub-corpora are copies: editing one leaves the parent alone.
    sub.sentences[0][0] = "Dogs"
    assert c.sentences[2][0] == "Cats"


def test_to_frame_is_tidy():
    df = toy().to_frame()
    assert df.columns.tolist() == ["sentence", "sentence_id", "position", "word", "upos"]
    assert len(df) == 9
    assert df.loc[3].to_dict() == {"sentence": 1, "sentence_id": "toy:1", "position": 0, "word": "A",
                                   "upos": "DET"}
    assert df.groupby("sentence")["position"].max().tolist() == [2, 3, 1]


def test_fingerprint_stable_and_sensitive():
    a, b = toy(), toy()
    b.name = "other"
    assert a.fingerprint() == b.fingerprint()  # name is not content
    assert re.fullmatch(r"[0-9a-f]{64}", a.fingerprint())
    relabelled = toy()
    relabelled.labels["upos"][0][0] = "PRON"
    assert relabelled.words_fingerprint() == a.words_fingerprint()
    assert relabelled.fingerprint() != a.fingerprint()
    reworded = toy()
    reworded.sentences[0][0] = "the"
    assert reworded.words_fingerprint() != a.words_fingerprint()
    # Sentence boundaries and word boundaries both count.
    assert Corpus([["a", "b"]]).words_fingerprint() != Corpus([["a"], ["b"]]).words_fingerprint()
    assert Corpus([["ab"]]).words_fingerprint() != Corpus([["a", "b"]]).words_fingerprint()


def test_fingerprint_is_the_same_in_another_process():
    code = ("from neuronbook.corpus import Corpus; "
            "print(Corpus([['The','cats','sat']], {'upos': [['DET','NOUN','VERB']]}).fingerprint())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == Corpus([["The", "cats", "sat"]], {"upos": [["DET", "NOUN", "VERB"]]}).fingerprint()


def test_split_reproducible_disjoint_complete():
    c = Corpus([[f"w{i}"] for i in range(50)], {"t": [["X"]] * 50}, name="c")
    s1, s2 = c.split(seed=7), c.split(seed=7)
    assert {k: len(v) for k, v in s1.items()} == {"train": 40, "dev": 5, "test": 5}
    assert all(s1[k].sentence_ids == s2[k].sentence_ids for k in s1)
    ids = [set(s1[k].sentence_ids) for k in ("train", "dev", "test")]
    assert not (ids[0] & ids[1]) and not (ids[0] & ids[2]) and not (ids[1] & ids[2])
    assert set().union(*ids) == set(c.sentence_ids)
    assert s1["train"].name == "c/train"
    assert c.split(seed=8)["test"].sentence_ids != s1["test"].sentence_ids
    two = c.split((0.5, 0.5))
    assert list(two) == ["train", "test"] and len(two["train"]) == 25
    with pytest.raises(ValueError, match="sum to 1"):
        c.split((0.5, 0.4, 0.4))
    with pytest.raises(ValueError, match="too few for split 'dev'"):
        c.head(3).split((0.9, 0.05, 0.05))


def test_concat_and_add():
    a, b = toy(), toy().head(1)
    c = a + b
    assert len(c) == 4 and c.sentence_ids[-1] == "toy:0" and c.labels["upos"][-1] == ["DET", "NOUN", "VERB"]
    with pytest.raises(ValueError, match="columns"):
        concat([a, Corpus([["x"]], {"other": [["Y"]]})])


# ---------------------------------------------------------------- readers


def test_read_conllu_skips_multiword_and_empty_nodes(tmp_path):
    p = tmp_path / "toy.conllu"
    p.write_text(CONLLU)
    c = read_conllu(p)
    assert c.sentences == [["I", "do", "n't", "like", "it", "."], ["Dogs", "bark", "at", "cats"]]
    assert c.sentence_ids == ["s1", "s2"]
    assert c.columns == ["upos", "xpos", "lemma", "feats", "deprel", "head"]
    assert c.labels["upos"][0] == ["PRON", "AUX", "PART", "VERB", "PRON", "PUNCT"]
    assert c.labels["lemma"][0][2] == "not"
    assert c.labels["deprel"][1][3] == "obl:at"  # raw, subtype kept
    assert c.labels["head"][1] == ["2", "0", "4", "2"]
    assert c.name == "toy" and c.source == str(p)
    assert read_corpus(p).fingerprint() == c.fingerprint()


@pytest.mark.parametrize("bad, line, msg", [
    ("1\tA\ta\tDET\tDT\t_\t0\troot\t_\n", 2, "expected 10 tab-separated fields, found 9"),
    ("x\tA\ta\tDET\tDT\t_\t0\troot\t_\t_\n", 2, "bad token ID 'x'"),
    ("3\tA\ta\tDET\tDT\t_\t0\troot\t_\t_\n", 2, "token ID 3 out of order"),
    ("1-x\tA\t_\t_\t_\t_\t_\t_\t_\t_\n", 2, "bad token ID"),
])
def test_read_conllu_errors_name_file_and_line(tmp_path, bad, line, msg):
    p = tmp_path / "bad.conllu"
    p.write_text("# sent_id = a\n" + bad + "\n")
    with pytest.raises(CorpusFormatError, match=re.escape(f"bad.conllu:{line}: {msg}")):
        read_conllu(p)


def test_read_conllu_comment_only_block_is_an_error(tmp_path):
    p = tmp_path / "c.conllu"
    p.write_text("1\ta\ta\tX\tX\t_\t0\troot\t_\t_\n\n# sent_id = orphan\n\n")
    with pytest.raises(CorpusFormatError, match=r"c\.conllu:3: sentence block has no word lines"):
        read_conllu(p)


def test_read_conllu_bad_utf8_names_line(tmp_path):
    p = tmp_path / "enc.conllu"
    p.write_bytes(b"1\ta\ta\tX\tX\t_\t0\troot\t_\t_\n\n1\t\xff\ta\tX\tX\t_\t0\troot\t_\t_\n")
    with pytest.raises(CorpusFormatError, match=r"enc\.conllu:3: not valid UTF-8"):
        read_conllu(p)


def test_read_parallel(tmp_path):
    t, lab = tmp_path / "s.txt", tmp_path / "s.labels"
    t.write_text("the cat  sat\nit ran\n")
    lab.write_text("DT NN VBD\nPRP VBD\n")
    c = read_parallel(t, lab, column="pos")
    assert c.sentences == [["the", "cat", "sat"], ["it", "ran"]]
    assert c.labels == {"pos": [["DT", "NN", "VBD"], ["PRP", "VBD"]]}
    assert read_corpus(t, format="parallel", label_path=lab, column="pos").fingerprint() == c.fingerprint()


def test_read_parallel_mismatches_name_the_line(tmp_path):
    t, lab = tmp_path / "s.txt", tmp_path / "s.labels"
    t.write_text("a b\nc d e\n")
    lab.write_text("X Y\nZ Z\n")
    with pytest.raises(CorpusFormatError, match=r"s\.labels:2: 2 labels for the 3 words of line 2"):
        read_parallel(t, lab)
    lab.write_text("X Y\n")
    with pytest.raises(CorpusFormatError, match=r"s\.txt:2: 2 sentence lines .* but 1 label lines"):
        read_parallel(t, lab)
    t.write_text("a b\n\nc\n")
    lab.write_text("X Y\n\nZ\n")
    with pytest.raises(CorpusFormatError, match=r"s\.txt:2: empty sentence line"):
        read_parallel(t, lab)


def test_read_tagged_splits_on_last_separator(tmp_path):
    p = tmp_path / "t.txt"
    p.write_text("I/PRP ate/VBD 1/2/CD of/IN it/PRP\n\nAnd/CC ok/UH\n")
    c = read_tagged(p)
    assert c.sentences == [["I", "ate", "1/2", "of", "it"], ["And", "ok"]]
    assert c.labels["tag"][0] == ["PRP", "VBD", "CD", "IN", "PRP"]
    p.write_text("good/JJ bad\n")
    with pytest.raises(CorpusFormatError, match=r"t\.txt:1: item 'bad' is not of the form word/TAG"):
        read_tagged(p)
    p.write_text("a_X b_Y\n")
    assert read_tagged(p, sep="_", column="pos").labels == {"pos": [["X", "Y"]]}


def test_read_columns_conll2003_and_2000(tmp_path):
    p = tmp_path / "ner.txt"
    p.write_text("-DOCSTART- -X- -X- O\n\nEU NNP B-NP B-ORG\nrejects VBZ B-VP O\n\n\nPeter NNP B-NP B-PER\n")
    c = read_columns(p)
    assert c.sentences == [["EU", "rejects"], ["Peter"]]
    assert c.columns == ["pos", "chunk", "ner"]
    assert c.labels["ner"] == [["B-ORG", "O"], ["B-PER"]]
    q = tmp_path / "chunk.txt"
    q.write_text("He PRP B-NP\nsaw VBD B-VP\n")
    with pytest.raises(CorpusFormatError, match=r"chunk\.txt:1: expected 4 fields .* found 3"):
        read_columns(q)
    c2 = read_columns(q, columns=("word", "pos", "chunk"))
    assert c2.labels == {"pos": [["PRP", "VBD"]], "chunk": [["B-NP", "B-VP"]]}
    with pytest.raises(ValueError, match="word_column 'w'"):
        read_columns(q, word_column="w")


PMB = """\
### Generated by a script
# newdoc id = p00/d0001
# layer:statuses =
# tok:gold\ttok:gold\tsym:gold\tsem:gold\tcat:gold\tsns:gold\trol:gold
# raw sent = A dog barks
A\tA\ta\tDIS\tnp/n\tO\t[]
dog\tdog\tdog\tCON\tn\tdog.n.01\t[]
barks\tbarks\tbark\tENS\ts:dcl\\np\tbark.v.01\t[Agent]

# raw sent = New York sleeps
New~York\tNew~York\tnew~york\tGPE\tn\tcity.n.01\t[]
sleeps\tsleeps\tsleep\tENS\ts:dcl\\np\tsleep.v.01\t[Agent]

# newdoc id = p00/d0002
# tok:gold\ttok:gold\tsym:gold\tsem:gold\tcat:gold\tsns:gold\trol:gold
Hi\tHi\thi\tGRE\ts:intj\tO\t[]
"""


def test_read_pmb(tmp_path):
    p = tmp_path / "dev.conll"
    p.write_text(PMB)
    c = read_pmb(p)
    assert c.sentences == [["A", "dog", "barks"], ["New~York", "sleeps"], ["Hi"]]
    assert c.sentence_ids == ["p00/d0001", "p00/d0001#2", "p00/d0002"]
    assert c.labels["sem"] == [["DIS", "CON", "ENS"], ["GPE", "ENS"], ["GRE"]]
    assert c.labels["ccg"][0] == ["np/n", "n", "s:dcl\\np"]
    assert c.labels["lemma"][1] == ["new~york", "sleep"]
    assert c.labels["role"][0][2] == "[Agent]"
    assert read_pmb(p, tilde_as_space=True).sentences[1] == ["New York", "sleeps"]
    assert read_corpus(p).fingerprint() == c.fingerprint()  # .conll sniffed as PMB


def test_read_pmb_bad_line(tmp_path):
    p = tmp_path / "x.conll"
    p.write_text(PMB.replace("dog\tdog\tdog\tCON\tn\tdog.n.01\t[]", "dog\tdog\tCON"))
    with pytest.raises(CorpusFormatError, match=r"x\.conll:7: expected 7 tab-separated fields"):
        read_pmb(p)


def test_read_corpus_dispatch(tmp_path):
    u = tmp_path / "ud.conll"
    u.write_text(CONLLU)
    assert read_corpus(u).sentence_ids == ["s1", "s2"]
    col = tmp_path / "ner.conll"
    col.write_text("EU NNP B-NP B-ORG\n")
    assert read_corpus(col).columns == ["pos", "chunk", "ner"]
    other = tmp_path / "x.txt"
    other.write_text("a/X\n")
    with pytest.raises(ValueError, match="pass format="):
        read_corpus(other)
    with pytest.raises(ValueError, match="unknown corpus format 'nope'"):
        read_corpus(other, format="nope")
    with pytest.raises(FileNotFoundError, match="missing.conllu"):
        read_corpus(tmp_path / "missing.conllu")


# ---------------------------------------------------------------- tasks


@pytest.fixture
def ud(tmp_path):
    p = tmp_path / "toy.conllu"
    p.write_text(CONLLU)
    return read_conllu(p)


def test_column_tasks_and_deprel(ud):
    assert task_labels(ud, "upos")[1] == ["NOUN", "VERB", "ADP", "NOUN"]
    assert task_labels(ud, "deprel")[1] == ["nsubj", "root", "case", "obl"]
    assert task_labels(ud, "raw:deprel")[1] == ["nsubj", "root", "case", "obl:at"]
    assert Task("upos").fit(ud).classes_ == ["ADP", "AUX", "NOUN", "PART", "PRON", "PUNCT", "VERB"]
    assert Task("upos").fit(ud).counts_["NOUN"] == 2


def test_feats_task(ud):
    assert task_labels(ud, "feats:Number") == [
        ["Sing", "_none", "_none", "_none", "Sing", "_none"], ["Plur", "_none", "_none", "Plur"]]
    assert Task("feats:Number").fit(ud).classes_ == ["Plur", "Sing", "_none"]
    bad = Corpus([["x"]], {"feats": [["Numbersing"]]}, name="b")
    with pytest.raises(ValueError, match=r"sentence 0 \(b:0\) word 0 'x': malformed feats"):
        task_labels(bad, "feats:Number")


def test_suffix_task_folding_and_short_words():
    c = Corpus([["Walking", "talking", "going", "walked", "is", "cat", "Cats", "sing"]])
    t = Task("suffix", suffix_length=3, min_count=2).fit(c)
    # ing x4 ("sing" has 4 characters), _short x2 ("is"; "cat" has exactly 3), ked and ats x1 -> _other.
    assert t.transform(c) == [["ing", "ing", "ing", "_other", "_short", "_short", "_other", "ing"]]
    assert t.classes_ == ["_other", "_short", "ing"]
    assert t.counts_ == {"_other": 2, "_short": 2, "ing": 4}
    assert t.min_count_ == 2
    assert Task("suffix").fit(c).min_count_ == 10
    # A suffix first seen at transform folds too.
    assert t.transform(Corpus([["jumps", "doing"]])) == [["_other", "ing"]]
    assert Task("suffix", suffix_length=1, min_count=1).fit_transform(Corpus([["aB", "b"]])) == [["b", "_short"]]


def test_unknown_labels_at_transform(ud, caplog):
    train = ud.head(1)
    t = Task("upos").fit(train)
    with caplog.at_level("WARNING", logger="neuronbook.corpus"):
        out = t.transform(ud)
    assert out[1] == ["_other", "VERB", "_other", "_other"]  # NOUN and ADP are not in sentence s1
    assert "not seen in fit" in caplog.text and "ADP" in caplog.text
    with pytest.raises(ValueError, match=r"label 'NOUN' of word 'Dogs' in sentence 0 \(s2\)"):
        Task("upos", handle_unknown="error").fit(train).transform(ud[1])


def test_unknown_task_lists_valid_names_and_columns(ud):
    with pytest.raises(ValueError, match=r"unknown task 'sem'.*upos, xpos, deprel.*corpus columns: \['upos'"):
        Task("sem").fit(ud)
    with pytest.raises(RuntimeError, match="not fitted"):
        Task("upos").transform(ud)
    with pytest.raises(ValueError, match="needs a name after"):
        Task("feats:").fit(ud)


def test_control_task_deterministic_and_shared_between_corpora():
    train = Corpus([[f"w{i}" for i in range(300)]] * 2,
                   {"t": [["A"] * 200 + ["B"] * 100] * 2}, name="train")
    t = Task("control:t", seed=5).fit(train)
    assert t.classes_ == ["A", "B"] and t.counts_ == {"A": 400, "B": 200}
    lab = t.transform(train)
    # One label per word type: both copies of each word agree.
    assert lab[0] == lab[1]
    # Test corpus: the same types in another order keep their labels; a new process agrees.
    test = Corpus([["w7", "w3", "w299", "w7"]], {"t": [["B", "B", "B", "A"]]}, name="test")
    expect = {w: x for w, x in zip(train.sentences[0], lab[0])}
    assert t.transform(test) == [[expect["w7"], expect["w3"], expect["w299"], expect["w7"]]]
    code = ("from neuronbook.corpus import Corpus, Task; "
            "c = Corpus([['w%d' % i for i in range(300)]], {'t': [['A'] * 200 + ['B'] * 100]}); "
            "print(' '.join(Task('control:t', seed=5).fit(c).transform(c)[0]))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == lab[0]
    # Another seed gives another assignment.
    assert Task("control:t", seed=6).fit(train).transform(train)[0] != lab[0]
    # Labels are not the gold labels copied over.
    assert lab[0] != train.labels["t"][0]


def test_control_task_roughly_preserves_distribution():
    n = 4000
    gold = ["A"] * (n // 2) + ["B"] * (n * 3 // 10) + ["C"] * (n // 5)
    c = Corpus([[f"type{i}" for i in range(n)]], {"t": [gold]})
    counts = Counter(Task("control:t").fit(c).transform(c)[0])
    assert abs(counts["A"] / n - 0.5) < 0.03
    assert abs(counts["B"] / n - 0.3) < 0.03
    assert abs(counts["C"] / n - 0.2) < 0.03


def test_control_of_suffix_uses_folded_classes():
    c = Corpus([["walking", "talking", "cat", "jumped"]])
    t = Task("control:suffix", min_count=2).fit(c)
    assert t.classes_ == ["_other", "ing"]  # "cat" (_short) and "jumped" (ped) are seen once
    assert set(x for r in t.transform(c) for x in r) <= set(t.classes_)
    with pytest.raises(ValueError, match="control task of a control task"):
        Task("control:control:suffix").fit(c)


def test_available_tasks(ud):
    names = available_tasks(ud)
    assert {"suffix", "upos", "deprel", "feats:Number", "feats:Case", "control:upos"} <= set(names)
    for name in names:  # every advertised task actually works on the corpus
        assert len(Task(name).fit_transform(ud)) == len(ud)
