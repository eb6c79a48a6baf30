"""Fixtures of the corpus tests: a hand-written CoNLL-U file with the corner cases of the format."""

from __future__ import annotations

import pytest

from neuronbook.corpus import read_conllu

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


@pytest.fixture
def conllu_text() -> str:
    """Two sentences: a multi-word token, an empty node, a subtyped deprel, no final blank line."""
    return CONLLU


@pytest.fixture
def ud(tmp_path):
    p = tmp_path / "toy.conllu"
    p.write_text(CONLLU)
    return read_conllu(p)
