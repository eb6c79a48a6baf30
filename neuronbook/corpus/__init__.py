"""Annotated corpora: words with aligned word-level labels, readers, and tasks.

A :class:`Corpus` (:mod:`neuronbook.corpus.core`) holds sentences (lists of
words) and any number of named label columns, one label per word. Readers
(:mod:`neuronbook.corpus.readers`) turn the common annotation formats into a
corpus (Universal Dependencies CoNLL-U, NeuroX-style parallel files,
``word/TAG`` lines, CoNLL-2000/2003 column files, Parallel Meaning Bank layer
files). A :class:`Task` (:mod:`neuronbook.corpus.tasks`) then turns a corpus
into the labels a probe learns, e.g. ``"upos"``, ``"feats:Number"``,
``"suffix"`` or the control task ``"control:upos"``; the task kinds live in the
registry :data:`TASKS`, which :func:`register_task` extends and
:func:`list_tasks` describes.

Example
-------
>>> from neuronbook.corpus import Corpus, Task
>>> c = Corpus([["The", "cats", "sat"]], {"upos": [["DET", "NOUN", "VERB"]]}, name="toy")
>>> len(c), c.n_words, c.columns
(1, 3, ['upos'])
>>> Task("suffix", suffix_length=2, min_count=1).fit_transform(c)
[['he', 'ts', 'at']]
"""

from . import glossary  # noqa: F401  (nb.corpus.glossary: what tag codes mean)
from .core import Corpus, CorpusFormatError, concat
from .readers import read_columns, read_conllu, read_corpus, read_parallel, read_pmb, read_tagged
from .tasks import (
    TASKS, Task, TaskKind, available_tasks, list_tasks, register_task, task_labels, unregister_task,
)

__all__ = [
    "Corpus",
    "CorpusFormatError",
    "TASKS",
    "Task",
    "TaskKind",
    "available_tasks",
    "concat",
    "list_tasks",
    "read_columns",
    "read_conllu",
    "read_corpus",
    "read_parallel",
    "read_pmb",
    "read_tagged",
    "register_task",
    "task_labels",
    "unregister_task",
]
