"""neuronbook.corpus.glossary: every code the shipped corpora use has a meaning."""

from __future__ import annotations

import pandas as pd

from neuronbook.corpus.glossary import GLOSSARIES, explain, glossary, with_meaning


def test_every_tag_of_the_shared_corpora_is_explained(shared_data):
    from neuronbook.datasets import load_corpus

    sem = {t for lang in ("en", "de", "it", "nl") for s in load_corpus(f"pmb:{lang}", split="dev").labels["sem"]
           for t in s}
    ud = load_corpus("ud:en_ewt", split="dev")
    upos = {t for s in ud.labels["upos"] for t in s}
    deprel = {t for s in ud.labels["deprel"] for t in s}
    assert len(sem) > 50 and not [t for t in sorted(sem) if not explain(t, "sem")]
    assert not [t for t in sorted(upos) if not explain(t, "upos")]
    assert not [t for t in sorted(deprel) if not explain(t, "deprel")]  # subtypes by their main relation


def test_explain_glossary_and_with_meaning():
    assert explain("EPS", "sem") == "event, past simple (went)"
    assert explain("obl:tmod", "deprel") == "oblique nominal (in the park) (subtype tmod)"
    assert explain("EPS", "control:sem") == "event, past simple (went)"
    assert explain("NN", "xpos") == "" and explain("EPS", "upos") == ""
    assert len(glossary("upos")) == 17 and glossary("xpos").columns.tolist() == ["tag", "meaning"]
    framed = with_meaning(pd.DataFrame({"tag": ["QUC", "ZZZ"]}), "sem")
    assert framed["meaning"].tolist() == ["concrete quantity (two, 5 kg)", ""]
    assert set(GLOSSARIES) == {"sem", "upos", "deprel"}
