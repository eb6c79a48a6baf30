"""Tests of neuronbook.corpus.core: the Corpus container, on hand-written corpora."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from neuronbook.corpus import Corpus, concat


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




def test_words_fingerprint_is_unambiguous_for_tabs_and_newlines():
    # A naive "\t".join(words) / "\n".join(sentences) makes each pair below the same string.
    tab_in_word, two_words = Corpus([["a\tb"]]), Corpus([["a", "b"]])
    newline_in_word, two_sentences = Corpus([["a\nb"]]), Corpus([["a"], ["b"]])
    assert "\t".join(tab_in_word.sentences[0]) == "\t".join(two_words.sentences[0])
    assert ("\n".join("\t".join(s) for s in newline_in_word.sentences)
            == "\n".join("\t".join(s) for s in two_sentences.sentences))
    digests = {c.words_fingerprint() for c in (tab_in_word, two_words, newline_in_word, two_sentences)}
    assert len(digests) == 4
    # Length prefixes must also beat a word that spells out a prefix of the encoding.
    assert Corpus([["1:a"]]).words_fingerprint() != Corpus([["a"]]).words_fingerprint()
    assert Corpus([["a", "S1\n1:b"]]).words_fingerprint() != Corpus([["a"], ["b"]]).words_fingerprint()


def test_fingerprints_golden_values():
    # Activation caches are keyed by words_fingerprint: it must not drift between versions.
    c = Corpus([["The", "cats", "sat"], ["Dogs", "bark"]])
    assert c.words_fingerprint() == "09788bf2463369e108b3630d27bdaff17acb42f3fda7e8dcb4cecc447d2831b0"
    labelled = Corpus([["The", "cats", "sat"]], {"upos": [["DET", "NOUN", "VERB"]]})
    assert labelled.fingerprint() == "f8ccd66937cadf4ef07aab74919c1c89e3d22d0b42c43ab73598bc79d595d9bb"


def test_fingerprint_column_names_are_length_prefixed():
    # Without a length prefix, one column named "a<newline><marker>b" hashed like columns "a" and "b".
    a = Corpus([], {"a": [], "b": []})
    b = Corpus([], {"a\n\x01column\x01b": []})
    assert a.fingerprint() != b.fingerprint()
    assert Corpus([["x"]], {"t": [["A"]]}).fingerprint() != Corpus([["x"]], {"u": [["A"]]}).fingerprint()


def test_sample_is_seeded_ordered_and_whole_sentences():
    c = Corpus([[f"w{i}", "x"] for i in range(20)], {"t": [[str(i), "X"] for i in range(20)]}, name="c")
    s = c.sample(5, seed=3)
    assert len(s) == 5 and s.n_words == 10
    order = [int(i.split(":")[1]) for i in s.sentence_ids]
    assert order == sorted(order) and len(set(order)) == 5  # corpus order, no repeats
    # Whole sentences: words and labels travel together.
    assert all(sent == [f"w{k}", "x"] and lab == [str(k), "X"]
               for k, sent, lab in zip(order, s.sentences, s.labels["t"]))
    assert s.name == "c"
    assert c.sample(5, seed=3).sentence_ids == s.sentence_ids  # deterministic
    assert c.sample(5, seed=4).sentence_ids != s.sentence_ids
    assert len(c.sample(19)) == 19
    # Golden draw: a numpy change that alters samples must be noticed.
    small = Corpus([[f"w{i}"] for i in range(10)], name="t")
    assert small.sample(4, seed=0).sentence_ids == ["t:2", "t:4", "t:5", "t:7"]


def test_sample_at_least_the_corpus_returns_it_and_bad_n_is_an_error():
    c = toy()
    assert c.sample(3) is c and c.sample(1000, seed=9) is c
    with pytest.raises(ValueError, match=r"n must be >= 1 sentence, got 0 \(corpus 'toy'\)"):
        c.sample(0)
    with pytest.raises(ValueError, match="got -2"):
        c.sample(-2)
    with pytest.raises(TypeError, match="must be an integer, got 2.5"):
        c.sample(2.5)
    with pytest.raises(TypeError, match="must be an integer"):
        c.sample(True)
    assert len(c.sample(2)) == 2
