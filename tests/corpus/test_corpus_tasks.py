"""Tests of neuronbook.corpus.tasks: built-in tasks, control tasks, and the task registry."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter

import pytest

from neuronbook.corpus import (
    TASKS, Corpus, Task, available_tasks, list_tasks, register_task, task_labels, unregister_task,
)


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
    with pytest.raises(ValueError, match=r"unknown task 'sem'.*Tasks it supports: suffix, upos, xpos, lemma, "
                                         r"deprel.*corpus columns: \['upos'"):
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


# ---------------------------------------------------------------- registry


@pytest.fixture
def registered():
    """Names registered by a test; removed afterwards so the registry is left as found."""
    names = []
    yield names
    for n in names:
        if n in TASKS:
            unregister_task(n)


def _word_length(corpus, task):
    return [[str(len(w)) for w in s] for s in corpus.sentences]


def test_builtin_registry_entries():
    assert list(TASKS) == ["upos", "xpos", "deprel", "suffix", "sem", "ccg", "feats", "control", "raw"]
    assert TASKS["suffix"].default_min_count == 10 and TASKS["upos"].default_min_count == 1
    assert TASKS["feats"].display == "feats:<Feature>" and TASKS["deprel"].display == "deprel"
    assert all(k.builtin for k in TASKS.values())
    with pytest.raises(KeyError, match="unknown task kind 'nope'; registered: upos, xpos"):
        TASKS["nope"]
    with pytest.raises(TypeError):
        TASKS["x"] = TASKS["upos"]  # read-only: register_task is the way in


def test_list_tasks_is_tidy():
    df = list_tasks()
    assert df.columns.tolist() == ["task", "description", "needs", "parametrised"]
    assert df["task"].tolist() == ["upos", "xpos", "deprel", "suffix", "sem", "ccg", "feats:<Feature>",
                                   "control:<task>", "raw:<column>"]
    assert df["parametrised"].dtype == bool
    assert df["parametrised"].tolist() == [False] * 6 + [True] * 3
    assert df.set_index("task")["needs"].to_dict() == {
        "upos": "upos", "xpos": "xpos", "deprel": "deprel", "suffix": "word", "sem": "sem", "ccg": "ccg",
        "feats:<Feature>": "feats", "control:<task>": None, "raw:<column>": None}
    assert df["description"].str.len().min() > 10
    assert "nmod:poss -> nmod" in df.set_index("task").loc["deprel", "description"]


def test_register_custom_task_and_use_it(ud, registered):
    kind = register_task("length", _word_length, description="Number of characters of the word", needs="word")
    registered.append("length")
    assert TASKS["length"] is kind and not kind.builtin
    assert task_labels(ud, "length")[1] == ["4", "4", "2", "4"]  # Dogs bark at cats
    t = Task("length", min_count=2).fit(ud)
    # I do n't like it . / Dogs bark at cats: length 3 ("n't") is the one label seen once.
    assert t.classes_ == ["1", "2", "4", "_other"]
    assert t.counts_ == {"1": 2, "2": 3, "4": 4, "_other": 1}
    assert t.kind == "length" and t.argument is None and t.kind_ is kind
    # Listed everywhere, with its control task, and the control task works on it.
    row = list_tasks().set_index("task").loc["length"]
    assert (row["description"], row["needs"], row["parametrised"]) == (
        "Number of characters of the word", "word", False)
    names = available_tasks(ud)
    assert names[:2] == ["suffix", "length"] and "control:length" in names
    ctrl = Task("control:length").fit(ud)
    assert ctrl.classes_ == ["1", "2", "3", "4"]
    # Gone once unregistered: the name is then an (absent) label column.
    unregister_task("length")
    with pytest.raises(ValueError, match="unknown task 'length'"):
        Task("length").fit(ud)


def test_register_column_alias_and_parametrised_task(registered):
    c = Corpus([["EU", "rejects", "Peter"]], {"ner": [["B-ORG", "O", "B-PER"]]}, name="n")
    register_task("ner", description="Named-entity tag (CoNLL-2003 BIO)", needs="ner")
    registered.append("ner")
    assert task_labels(c, "ner") == [["B-ORG", "O", "B-PER"]]

    def is_entity(corpus, task):
        return [["yes" if x.endswith("-" + task.argument) else "no" for x in s] for s in corpus.labels["ner"]]

    register_task("entity", is_entity, description="Whether the word is in an entity of one type",
                  needs="ner", parametrised=True, param="type",
                  choices=lambda corpus: sorted({x[2:] for x in corpus.flat_labels("ner") if x != "O"}))
    registered.append("entity")
    assert task_labels(c, "entity:PER") == [["no", "no", "yes"]]
    assert Task("entity:ORG").argument == "ORG" and Task("entity:ORG").kind == "entity"
    assert available_tasks(c) == ["suffix", "ner", "entity:ORG", "entity:PER",
                                  "control:suffix", "control:ner", "control:entity:ORG", "control:entity:PER"]
    assert list_tasks()["task"].tolist()[-2:] == ["ner", "entity:<type>"]
    with pytest.raises(ValueError, match=r"needs a name after 'entity:'"):
        Task("entity:").fit(c)


def test_unknown_task_names_the_valid_ones_including_registered(ud, registered):
    register_task("length", _word_length, description="Number of characters", needs="word")
    registered.append("length")
    with pytest.raises(ValueError) as err:
        Task("chunk").fit(ud)
    msg = str(err.value)
    assert msg.startswith("unknown task 'chunk' for corpus 'toy': it needs label column 'chunk', which this corpus "
                          "does not have. Tasks it supports: ")
    # only what this corpus can label: never the name just refused, never a task whose column it lacks
    supported = msg.split("Tasks it supports: ")[1].split(" (and control:")[0].split(", ")
    assert "chunk" not in supported and "sem" not in supported and {"upos", "xpos", "length"} <= set(supported)
    assert msg.endswith("corpus columns: ['upos', 'xpos', 'lemma', 'feats', 'deprel', 'head']")
    # A registered task whose column is missing says so the same way.
    register_task("ner", description="Named-entity tag", needs="ner")
    registered.append("ner")
    with pytest.raises(ValueError, match=r"unknown task 'ner' .* needs label column 'ner'"):
        Task("ner").fit(ud)
    assert "ner" not in available_tasks(ud)


def test_register_task_rejects_bad_definitions(registered):
    ok = dict(description="d")
    with pytest.raises(ValueError, match="already registered .*replace=True"):
        register_task("upos", _word_length, **ok)
    with pytest.raises(ValueError, match="without ':'"):
        register_task("a:b", _word_length, **ok)
    with pytest.raises(ValueError, match="without ':'"):
        register_task("", _word_length, **ok)
    with pytest.raises(ValueError, match="needs=<label column>"):
        register_task("nothing", **ok)
    with pytest.raises(TypeError, match="must be callable"):
        register_task("notfn", "upos", **ok)
    with pytest.raises(ValueError, match="cannot be replaced"):
        register_task("control", _word_length, replace=True, **ok)
    with pytest.raises(ValueError, match="default_min_count must be an integer >= 1"):
        register_task("zero", _word_length, default_min_count=0, **ok)
    with pytest.raises(ValueError, match="description"):
        register_task("nodesc", _word_length, description=" ")
    with pytest.raises(ValueError, match="needs must be a column name or None"):
        register_task("badneeds", _word_length, needs=3, **ok)
    with pytest.raises(ValueError, match="only applies to a parametrised task"):
        register_task("plain", _word_length, choices=lambda c: [], **ok)
    with pytest.raises(ValueError, match="built in and cannot be removed"):
        unregister_task("suffix")
    with pytest.raises(KeyError, match="unknown task kind 'never'"):
        unregister_task("never")
    assert not {"a:b", "nothing", "notfn", "zero", "nodesc", "plain", "badneeds"} & set(TASKS)


def test_replace_builtin_then_restore(ud, registered):
    original = TASKS["deprel"]
    try:
        register_task("deprel", lambda corpus, task: [[x.upper() for x in s] for s in corpus.labels["deprel"]],
                      description="Upper-cased relation", needs="deprel", replace=True)
        assert task_labels(ud, "deprel")[1] == ["NSUBJ", "ROOT", "CASE", "OBL:AT"]
    finally:
        TASKS._kinds["deprel"] = original
    assert task_labels(ud, "deprel")[1] == ["nsubj", "root", "case", "obl"]


def test_custom_labeler_output_is_checked(ud, registered):
    register_task("short", lambda corpus, task: [s[:-1] for s in corpus.sentences], description="bad",
                  needs="word")
    register_task("few", lambda corpus, task: corpus.sentences[:1], description="bad", needs="word")
    register_task("ints", lambda corpus, task: [[len(w) for w in s] for s in corpus.sentences],
                  description="bad", needs="word")
    registered.extend(["short", "few", "ints"])
    with pytest.raises(ValueError, match=r"task 'short' returned 5 labels for the 6 words of sentence 0 \(s1\)"):
        Task("short").fit(ud)
    with pytest.raises(ValueError, match="task 'few' returned 1 label rows for the 2 sentences"):
        Task("few").fit(ud)
    with pytest.raises(ValueError, match=r"task 'ints': label 1 of word 0 'I' in sentence 0 \(s1\).*not a string"):
        Task("ints").fit(ud)


def test_task_kind_and_argument_properties():
    assert (Task("upos").kind, Task("upos").argument) == ("upos", None)
    assert (Task("feats:Case").kind, Task("feats:Case").argument) == ("feats", "Case")
    assert (Task("control:feats:Case").kind, Task("control:feats:Case").argument) == ("control", "feats:Case")
    assert (Task("lemma").kind, Task("lemma").argument) == ("<column>", "lemma")
    assert (Task("feats").kind, Task("feats").argument) == ("<column>", "feats")  # the raw column
    assert Task("tok:gold").kind == "<column>"  # an unregistered prefix is part of a column name
    with pytest.raises(ValueError, match="non-empty string"):
        Task("").kind


def test_a_feature_missing_from_the_corpus_is_an_error_listing_the_present_ones(ud):
    present = "Case, Mood, Number, Person, Tense, VerbForm"
    with pytest.raises(ValueError, match=rf"task 'feats:Nonexistent': corpus 'toy' has no Feature 'Nonexistent'; "
                                         rf"present: {present}$"):
        Task("feats:Nonexistent").fit(ud)
    with pytest.raises(ValueError, match="has no Feature 'number'"):  # features are case-sensitive
        task_labels(ud, "feats:number")
    with pytest.raises(ValueError, match=rf"present: {present}"):
        Task("control:feats:Nonexistent").fit(ud)
    no_feats = Corpus([["a", "b"]], {"feats": [["_", "_"]]}, name="bare")
    with pytest.raises(ValueError, match="has no Feature 'Number'; present: none"):
        Task("feats:Number").fit(no_feats)
    # a feature that is present still fits, and a test corpus without it is labelled, not refused
    t = Task("feats:Tense").fit(ud)
    assert t.classes_ == ["Pres", "_none"]
    assert t.transform(no_feats) == [["_none", "_none"]]
