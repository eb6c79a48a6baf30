"""What the tag codes mean: PMB semantic tags, UD part-of-speech tags and UD dependency relations.

Short explanations, written for this package from the meaning the Parallel Meaning Bank's and
Universal Dependencies' documentation give each code; charts put them in tooltips and captions so
a code such as ``YOC`` or ``QUC`` is never left unexplained.

Examples
--------
>>> explain("YOC", "sem")
'year of century (1984)'
>>> explain("nsubj", "deprel"), explain("nmod:poss", "deprel")
('nominal subject', 'nominal modifier (of the city) (subtype poss)')
>>> explain("XYZ", "sem")
''
>>> glossary("upos").query("tag == 'PROPN'")["meaning"].item()
'proper noun'
"""

from __future__ import annotations

__all__ = ["GLOSSARIES", "explain", "glossary", "with_meaning"]

SEM = {
    # anaphoric
    "PRO": "anaphoric or deictic pronoun (he, this)", "DEF": "definite article or marker (the)",
    "HAS": "possessive (his, my, 's)", "REF": "reflexive or reciprocal pronoun (herself, each other)",
    "EMP": "emphasising pronoun (he himself)",
    # speech acts
    "GRE": "greeting or parting (hello, bye)", "ITJ": "interjection or exclamation (oh, wow)",
    "QUE": "question word or marker (who, whether)",
    # attributes
    "QUC": "concrete quantity (two, 5 kg)", "QUV": "vague quantity (some, many)",
    "COL": "colour (red, blue)", "IST": "intersective modifier: the thing is also X (a red car is red)",
    "SST": "subsective modifier: X relative to its class (a big mouse)",
    "PRI": "privative modifier: not really X (fake, former)", "DEG": "degree (tall in '2 m tall')",
    "INT": "intensifier (very, extremely)", "REL": "relation, mostly a preposition (in, of)",
    "SCO": "score or rate (3-0, 20 %)", "UOM": "unit of measurement (metre, dollar)",
    # comparison
    "EQU": "equal comparison (as tall as)", "MOR": "comparative, more (taller)", "LES": "comparative, less (less tall)",
    "TOP": "superlative, most (tallest)", "BOT": "superlative, least (least tall)", "ORD": "ordinal (first, 3rd)",
    # demonstratives
    "PRX": "proximal demonstrative (this, here)", "MED": "medial demonstrative", "DST": "distal demonstrative (that, there)",
    # discourse
    "SUB": "subordinating relation (because, if)", "COO": "coordinating relation (and between clauses)",
    "APP": "apposition", "BUT": "contrast (but, yet)",
    # entities
    "CON": "concept: a common noun (dog, idea)", "ROL": "role a person plays (teacher, brother)",
    "GPE": "geo-political entity (France, Paris)", "PER": "person's name", "GEO": "geographical place (Alps, Nile)",
    "ORG": "organisation (UN, Google)", "ART": "artefact name (iPhone, Titanic)", "HAP": "named happening (World War II)",
    "GPO": "geo-political origin (French, Parisian)", "NAT": "natural object or phenomenon",
    "CTC": "contact information (an e-mail address, a phone number)",
    "LIT": "literal use of a name or word (the word 'dog')", "NTH": "other kind of name",
    "GRP": "group or collection (crowd, team)",
    # events and tense
    "EXS": "event, untensed (to go)", "ENS": "event, present simple (goes)", "EPS": "event, past simple (went)",
    "EFS": "event, future simple (will go)", "EXG": "event, untensed progressive (going)",
    "EXT": "event, untensed perfect (gone)", "NOW": "present tense marker", "PST": "past tense marker",
    "FUT": "future tense marker (will)", "PRG": "progressive aspect marker (is in 'is going')",
    "PFT": "perfect aspect marker (has in 'has gone')",
    # logic and modality
    "ALT": "alternative or repetition (another, again)", "XCL": "exclusive (only, just)",
    "NIL": "no semantic contribution (punctuation, expletive it)", "DIS": "disjunction (or)",
    "IMP": "implication (if ... then)", "AND": "conjunction (and)", "APX": "approximation (about, roughly)",
    "NOT": "negation (not, no)", "NEC": "necessity (must, have to)", "POS": "possibility (may, can)",
    # time
    "DAT": "full date (1 May 2010)", "DOM": "day of the month (the 5th)", "YOC": "year of century (1984)",
    "DOW": "day of the week (Monday)", "MOY": "month of the year (May)", "DEC": "decade (the sixties)",
    "CLO": "clock time (10 am)",
}

UPOS = {
    "ADJ": "adjective", "ADP": "adposition (preposition or postposition)", "ADV": "adverb", "AUX": "auxiliary verb",
    "CCONJ": "coordinating conjunction", "DET": "determiner", "INTJ": "interjection", "NOUN": "noun",
    "NUM": "numeral", "PART": "particle (not, 's, to)", "PRON": "pronoun", "PROPN": "proper noun",
    "PUNCT": "punctuation", "SCONJ": "subordinating conjunction", "SYM": "symbol", "VERB": "verb",
    "X": "other (foreign words, typos)",
}

DEPREL = {
    "acl": "clause modifying a noun (a man who left)", "advcl": "adverbial clause (left because ...)",
    "advmod": "adverb modifier", "amod": "adjective modifier", "appos": "apposition (Sam, my brother)",
    "aux": "auxiliary (has in 'has gone')", "case": "case marker, mostly a preposition",
    "cc": "coordinating conjunction", "ccomp": "clausal complement (said that ...)", "clf": "classifier",
    "compound": "compound (phone in 'phone book')", "conj": "conjunct (the second of 'A and B')",
    "cop": "copula (is in 'is happy')", "csubj": "clausal subject", "dep": "unspecified dependency",
    "det": "determiner", "discourse": "discourse element (well, um)", "dislocated": "dislocated element",
    "expl": "expletive (it in 'it rains')", "fixed": "fixed multi-word expression (as well as)",
    "flat": "flat name or date (New York)", "goeswith": "part of a word split in two", "iobj": "indirect object",
    "list": "list item", "mark": "subordinating marker (that, if)", "nmod": "nominal modifier (of the city)",
    "nsubj": "nominal subject", "nummod": "numeric modifier", "obj": "object", "obl": "oblique nominal (in the park)",
    "orphan": "dependent of an elided head", "parataxis": "side-by-side clause", "punct": "punctuation",
    "reparandum": "overridden disfluency", "root": "root of the sentence", "vocative": "person addressed (John, come)",
    "xcomp": "open clausal complement (wants to go)",
}

#: task -> {tag: meaning}; ``xpos`` has no universal glossary (its tags differ per treebank).
GLOSSARIES = {"sem": SEM, "upos": UPOS, "deprel": DEPREL}


def explain(tag, task: str) -> str:
    """The meaning of ``tag`` in ``task`` (``"sem"``, ``"upos"``, ``"deprel"``); ``""`` when unknown.

    A UD relation with a subtype (``nmod:poss``) is explained by its main relation.
    """
    table = GLOSSARIES.get(str(task).split(":")[-1] if str(task).startswith("control:") else str(task), {})
    tag = str(tag)
    if tag in table:
        return table[tag]
    base, _, sub = tag.partition(":")
    if sub and base in table:
        return f"{table[base]} (subtype {sub})"
    return ""


def glossary(task: str):
    """The glossary of ``task`` as a table (``tag``, ``meaning``); empty for a task without one."""
    import pandas as pd

    table = GLOSSARIES.get(str(task), {})
    return pd.DataFrame({"tag": list(table), "meaning": list(table.values())}, columns=["tag", "meaning"])


def with_meaning(frame, task: str, column: str = "tag"):
    """``frame`` with a ``meaning`` column explaining ``column`` (a copy; ``""`` where unknown)."""
    return frame.assign(meaning=[explain(t, task) for t in frame[column]])
