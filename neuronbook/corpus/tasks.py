"""Probing tasks: a registry of task kinds, and :class:`Task`, which turns a corpus into labels.

A task name is either a plain kind (``"upos"``, ``"deprel"``, ``"suffix"``),
a parametrised kind followed by its argument (``"feats:Number"``,
``"control:upos"``, ``"raw:deprel"``), or the name of any other label column
of the corpus (taken as is). The kinds live in :data:`TASKS`;
:func:`register_task` adds one and :func:`list_tasks` describes them all in a
table a widget can show.

Example
-------
>>> from neuronbook.corpus.core import Corpus
>>> c = Corpus([["Dogs", "barked"]], {"upos": [["NOUN", "VERB"]]})
>>> _ = register_task("is_title", lambda corpus, task: [[str(w.istitle()) for w in s] for s in corpus.sentences],
...                   description="Whether the word is title-cased", needs="word")
>>> task_labels(c, "is_title")
[['True', 'False']]
>>> unregister_task("is_title")
"""

from __future__ import annotations

import hashlib
import logging
from bisect import bisect_right
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Callable, Iterator

import numpy as np
import pandas as pd

from .core import Corpus

__all__ = [
    "TASKS",
    "Task",
    "TaskKind",
    "available_tasks",
    "list_tasks",
    "register_task",
    "task_labels",
    "unregister_task",
]

logger = logging.getLogger(__name__)

# A labeler: (corpus, task) -> one string label per word, aligned with corpus.sentences.
Labeler = Callable[[Corpus, "Task"], "list[list[str]]"]

# `needs` value of tasks that read the words themselves rather than a label column.
WORDS = "word"


@dataclass(frozen=True)
class TaskKind:
    """One entry of the task registry :data:`TASKS` (made by :func:`register_task`).

    Attributes
    ----------
    name : str
        The registry key: the whole task name, or the prefix before ``":"`` of a
        parametrised task.
    labels : callable or None
        ``labels(corpus, task) -> list of list of str``, one label per word,
        before rare-label folding; ``task.argument`` holds the parameter of a
        parametrised task. None: the ``needs`` column as is.
    description : str
        One line for humans (shown by :func:`list_tasks`).
    needs : str or None
        The corpus column it reads (``"word"`` for the words themselves), checked
        before ``labels`` runs; None when that depends on the argument.
    parametrised : bool
        Whether the task is written ``"<name>:<argument>"``.
    param : str
        What the argument is, shown as ``"<name>:<param>"``.
    choices : callable or None
        For a parametrised task, ``choices(corpus) -> list of str``: the
        arguments that ``corpus`` supports, listed by :func:`available_tasks`.
    default_min_count : int
        The ``min_count`` a :class:`Task` of this kind uses when given None.
    builtin : bool
        Whether neuronbook defines it.
    """

    name: str
    labels: Labeler | None
    description: str
    needs: str | None = None
    parametrised: bool = False
    param: str = "arg"
    choices: Callable[[Corpus], list[str]] | None = None
    default_min_count: int = 1
    builtin: bool = False

    @property
    def display(self) -> str:
        """The name as a user writes it: ``"upos"`` or ``"feats:<Feature>"``."""
        return f"{self.name}:<{self.param}>" if self.parametrised else self.name


class TaskRegistry(Mapping):
    """Read-only mapping of task kind name -> :class:`TaskKind`; change it with :func:`register_task`.

    Examples
    --------
    >>> TASKS["feats"].display, "upos" in TASKS
    ('feats:<Feature>', True)
    """

    def __init__(self):
        self._kinds: dict[str, TaskKind] = {}

    def __getitem__(self, name: str) -> TaskKind:
        try:
            return self._kinds[name]
        except KeyError:
            raise KeyError(f"unknown task kind {name!r}; registered: {', '.join(self.names())}") from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._kinds)

    def __len__(self) -> int:
        return len(self._kinds)

    def __repr__(self) -> str:
        return f"TaskRegistry({', '.join(self.names())})"

    def names(self) -> list[str]:
        """Display names in registration order (``"feats:<Feature>"`` for parametrised kinds)."""
        return [k.display for k in self._kinds.values()]


TASKS = TaskRegistry()
"""The task registry: kind name -> :class:`TaskKind`."""

# The control task wraps another task inside Task itself; it cannot be replaced.
_STRUCTURAL = ("control",)


def register_task(name: str, labels: Labeler | None = None, *, description: str, needs: str | None = None,
                  parametrised: bool = False, param: str = "arg",
                  choices: Callable[[Corpus], list[str]] | None = None, default_min_count: int = 1,
                  replace: bool = False, _builtin: bool = False) -> TaskKind:
    """Add a task kind to :data:`TASKS`, so that ``Task(name)`` (or ``Task("name:arg")``) works.

    Parameters
    ----------
    name : str
        Task name (or prefix of a parametrised task); non-empty, without ``":"``.
    labels : callable, optional
        ``labels(corpus, task) -> list of list of str``: one string label per
        word of every sentence, before rare-label folding (the result is
        checked). ``task.argument`` is the part after ``":"`` of a parametrised
        task; the other :class:`Task` options (``none_label``...) are there too.
        None: the task is the ``needs`` label column as is.
    description : str
        One line saying what the labels are.
    needs : str, optional
        The corpus column the task reads (``"word"`` for the words). When given,
        ``Task.fit`` checks the corpus has it and names the valid tasks if not.
    parametrised : bool
        The task is written ``"<name>:<argument>"``.
    param : str
        What the argument is (``"Feature"``), for display.
    choices : callable, optional
        ``choices(corpus) -> list of str``: arguments of a parametrised task that
        ``corpus`` supports, listed by :func:`available_tasks`.
    default_min_count : int
        ``min_count`` used when a Task leaves it None (rare labels fold below it).
    replace : bool
        Allow replacing an existing kind of that name.

    Returns
    -------
    TaskKind
        The registered entry.

    Raises
    ------
    ValueError
        On a bad name, a name already registered (without ``replace=True``), a
        missing ``needs`` for a column task, or a bad ``default_min_count``.

    Examples
    --------
    >>> from neuronbook.corpus.core import Corpus
    >>> c = Corpus([["a", "b"]], {"ner": [["B-PER", "O"]]})
    >>> kind = register_task("ner_type", lambda corpus, task: [[x.partition("-")[2] or x for x in s]
    ...                      for s in corpus.labels["ner"]], description="Entity type without BIO prefix",
    ...                      needs="ner")
    >>> Task("ner_type").fit_transform(c)
    [['PER', 'O']]
    >>> unregister_task("ner_type")
    """
    if not isinstance(name, str) or not name or ":" in name or name != name.strip():
        raise ValueError(f"task name must be a non-empty string without ':' or surrounding spaces, got {name!r}")
    if name in _STRUCTURAL and name in TASKS._kinds:
        raise ValueError(f"task {name!r} is built into Task and cannot be replaced")
    if name in TASKS._kinds and not replace:
        raise ValueError(f"task {name!r} is already registered ({TASKS._kinds[name].description}); "
                         f"pass replace=True to replace it")
    if labels is None and name not in _STRUCTURAL and (needs is None or needs == WORDS or parametrised):
        raise ValueError(f"task {name!r}: give labels=<function>, or needs=<label column> for a column task")
    if labels is not None and not callable(labels):
        raise TypeError(f"task {name!r}: labels must be callable (corpus, task) -> labels, got {labels!r}")
    if needs is not None and (not isinstance(needs, str) or not needs):
        raise ValueError(f"task {name!r}: needs must be a column name or None, got {needs!r}")
    if not isinstance(param, str) or not param:
        raise ValueError(f"task {name!r}: param must be a non-empty string, got {param!r}")
    if choices is not None and not parametrised:
        raise ValueError(f"task {name!r}: choices= only applies to a parametrised task")
    if isinstance(default_min_count, bool) or not isinstance(default_min_count, int) or default_min_count < 1:
        raise ValueError(f"task {name!r}: default_min_count must be an integer >= 1, got {default_min_count!r}")
    if not isinstance(description, str) or not description.strip():
        raise ValueError(f"task {name!r}: description must be a non-empty string")
    kind = TaskKind(name=name, labels=labels, description=description.strip(), needs=needs,
                    parametrised=bool(parametrised), param=param, choices=choices,
                    default_min_count=default_min_count, builtin=_builtin)
    TASKS._kinds[name] = kind
    return kind


def unregister_task(name: str) -> None:
    """Remove a task kind added with :func:`register_task`; built-in kinds stay.

    Examples
    --------
    >>> unregister_task("upos")
    Traceback (most recent call last):
    ...
    ValueError: task 'upos' is built in and cannot be removed; register_task(..., replace=True) overrides it
    """
    kind = TASKS[name]
    if kind.builtin:
        raise ValueError(f"task {name!r} is built in and cannot be removed; "
                         f"register_task(..., replace=True) overrides it")
    del TASKS._kinds[name]


def list_tasks() -> pd.DataFrame:
    """The registered task kinds, one row each, in registration order.

    Returns
    -------
    pandas.DataFrame
        Columns ``task`` (as written, ``"feats:<Feature>"`` for a parametrised
        kind), ``description``, ``needs`` (the corpus column it reads; None
        when that depends on the argument) and ``parametrised`` (bool). Any
        other label column of a corpus is a task too (taken as is).

    Examples
    --------
    >>> list_tasks().query("task == 'suffix'")[["needs", "parametrised"]].values.tolist()
    [['word', False]]
    """
    kinds = list(TASKS.values())
    # Object columns so that a missing `needs` stays None (pandas' string dtype would make it NaN).
    return pd.DataFrame({
        "task": pd.Series([k.display for k in kinds], dtype=object),
        "description": pd.Series([k.description for k in kinds], dtype=object),
        "needs": pd.Series([k.needs for k in kinds], dtype=object),
        "parametrised": pd.Series([k.parametrised for k in kinds], dtype=bool),
    })


# --------------------------------------------------------------------------- built-in kinds


def _suffix_labels(corpus: Corpus, task: "Task") -> list[list[str]]:
    k = int(task.suffix_length)
    if k < 1:
        raise ValueError(f"suffix_length must be >= 1, got {task.suffix_length}")
    return [[w.lower()[-k:] if len(w) > k else task.short_label for w in s] for s in corpus.sentences]


def _deprel_labels(corpus: Corpus, task: "Task") -> list[list[str]]:
    return [[x.split(":", 1)[0] for x in s] for s in corpus.labels["deprel"]]


def _feats_labels(corpus: Corpus, task: "Task") -> list[list[str]]:
    feature = task.argument
    out = []
    for i, s in enumerate(corpus.labels["feats"]):
        out_s = []
        for j, x in enumerate(s):
            value = task.none_label
            if x not in ("_", ""):
                for item in x.split("|"):
                    key, eq, val = item.partition("=")
                    if not eq:
                        raise ValueError(
                            f"corpus {corpus.name!r}, sentence {i} ({corpus.sentence_ids[i]}) "
                            f"word {j} {corpus.sentences[i][j]!r}: malformed feats {x!r}")
                    if key == feature:
                        value = val
            out_s.append(value)
        out.append(out_s)
    return out


def _feats_choices(corpus: Corpus) -> list[str]:
    return sorted({item.partition("=")[0] for x in corpus.flat_labels("feats") if x not in ("_", "")
                   for item in x.split("|")})


def _raw_labels(corpus: Corpus, task: "Task") -> list[list[str]]:
    return task._column(corpus, task.argument)


register_task("upos", description="Universal part-of-speech tag (UD UPOS column)", needs="upos", _builtin=True)
register_task("xpos", description="Language-specific part-of-speech tag (UD XPOS column, e.g. Penn Treebank)",
              needs="xpos", _builtin=True)
register_task("deprel", _deprel_labels, needs="deprel", _builtin=True,
              description="Universal dependency relation without subtype (nmod:poss -> nmod)")
register_task("suffix", _suffix_labels, needs=WORDS, default_min_count=10, _builtin=True,
              description="Last suffix_length characters of the lower-cased word; short_label for shorter words")
register_task("sem", description="Semantic tag (Parallel Meaning Bank sem layer)", needs="sem", _builtin=True)
register_task("ccg", description="CCG supertag (Parallel Meaning Bank cat layer)", needs="ccg", _builtin=True)
register_task("feats", _feats_labels, needs="feats", parametrised=True, param="Feature", choices=_feats_choices,
              _builtin=True, description="Value of one UD morphological feature (feats:Number -> Sing/Plur); "
                                         "none_label where the word lacks it")
register_task("control", needs=None, parametrised=True, param="task", _builtin=True,
              description="Control task (Hewitt & Liang 2019): each word type gets a label drawn from "
                          "the base task's training distribution")
register_task("raw", _raw_labels, needs=None, parametrised=True, param="column", _builtin=True,
              description="A label column as is, even where a task has the same name (raw:deprel)")


# --------------------------------------------------------------------------- Task


def _stable_unit(seed: int, word: str) -> float:
    """A uniform number in [0, 1) from (seed, word), the same in every process."""
    d = hashlib.sha256(f"neuronbook-control\x00{int(seed)}\x00{word}".encode("utf-8")).digest()
    return int.from_bytes(d[:8], "big") / 2.0 ** 64


# A label column that is not a registered task: taken as is.
_COLUMN = TaskKind(name="<column>", labels=_raw_labels, description="A label column as is")


class Task:
    """A probing task: turns a corpus into one label per word.

    Parameters
    ----------
    name : str
        A task of the registry :data:`TASKS` (see :func:`list_tasks`), or any
        label column name (that column as is). Built in: ``"upos"``, ``"xpos"``,
        ``"sem"``, ``"ccg"``: that column as is. ``"raw:<column>"``: a column as
        is, even where a task has the same name. ``"deprel"``: the universal
        relation without subtype (``nmod:poss`` -> ``nmod``; use
        ``"raw:deprel"`` for the full label). ``"feats:<Feature>"``: the value
        of one UD feature (``feats:Number`` -> ``Sing``/``Plur``),
        ``none_label`` where the word has no such feature. ``"suffix"``: the last
        ``suffix_length`` characters of the lower-cased word; words of
        ``suffix_length`` characters or fewer have no proper suffix and get
        ``short_label``. ``"control:<task>"``: the control task of Hewitt &
        Liang (2019) for ``<task>``: every word type gets one label drawn from
        the base task's label distribution on the training corpus, derived from
        a stable hash of ``(seed, word)``, so train and test share the
        assignment and every run gives the same labels.
    suffix_length : int
        Characters in a suffix.
    min_count : int, optional
        Labels seen fewer than ``min_count`` times in the fitted corpus fold into
        ``other_label``. Default (None): the task kind's ``default_min_count``:
        10 for ``suffix`` (thousands of rare suffixes otherwise), 1 (no folding)
        for every other built-in task.
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
    kind_ : TaskKind
        The registry entry the task was fitted with.

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

    # ---- resolving the name
    def _resolve(self) -> tuple[TaskKind, str | None]:
        """(registry entry, argument) of the name; a plain label column gets ``_COLUMN``."""
        n = self.name
        if not isinstance(n, str) or not n:
            raise ValueError(f"task name must be a non-empty string, got {n!r}")
        prefix, colon, arg = n.partition(":")
        if colon:
            kind = TASKS._kinds.get(prefix)
            if kind is not None and kind.parametrised:
                if not arg:
                    raise ValueError(f"task {n!r} needs a name after {prefix + ':'!r}")
                return kind, arg
        else:
            kind = TASKS._kinds.get(n)
            if kind is not None and not kind.parametrised:
                return kind, None
        return _COLUMN, n

    @property
    def kind(self) -> str:
        """The registry key of the task (``"feats"`` for ``"feats:Number"``), or ``"<column>"``."""
        return self._resolve()[0].name

    @property
    def argument(self) -> str | None:
        """The parameter of a parametrised task (``"Number"`` for ``"feats:Number"``), else None.

        For a plain label column task, the column name.
        """
        return self._resolve()[1]

    # ---- raw labels (before folding)
    def _raw(self, corpus: Corpus, kind: TaskKind) -> list[list[str]]:
        if kind.needs is not None and kind.needs != WORDS:
            self._column(corpus, kind.needs)
        rows = kind.labels(corpus, self) if kind.labels is not None else corpus.labels[kind.needs]
        if kind.builtin or kind is _COLUMN:
            return rows
        return self._checked(corpus, rows)

    def _checked(self, corpus: Corpus, rows) -> list[list[str]]:
        # A user's labeler may return anything; name the first sentence that is wrong.
        rows = [list(r) for r in rows]
        if len(rows) != len(corpus):
            raise ValueError(f"task {self.name!r} returned {len(rows)} label rows for the {len(corpus)} "
                             f"sentences of corpus {corpus.name!r}")
        for i, (sent, lab) in enumerate(zip(corpus.sentences, rows)):
            if len(lab) != len(sent):
                raise ValueError(f"task {self.name!r} returned {len(lab)} labels for the {len(sent)} words of "
                                 f"sentence {i} ({corpus.sentence_ids[i]}) of corpus {corpus.name!r}")
            for j, x in enumerate(lab):
                if not isinstance(x, str):
                    raise ValueError(f"task {self.name!r}: label {x!r} of word {j} {sent[j]!r} in sentence {i} "
                                     f"({corpus.sentence_ids[i]}) of corpus {corpus.name!r} is not a string")
        return rows

    def _column(self, corpus: Corpus, col: str) -> list[list[str]]:
        if col not in corpus.labels:
            supported = [n for n in available_tasks(corpus) if not n.startswith("control:")]
            raise ValueError(
                f"unknown task {self.name!r} for corpus {corpus.name!r}: it needs label column {col!r}, which this "
                f"corpus does not have. Tasks it supports: {', '.join(supported)} (and control:<task> of each); "
                f"corpus columns: {corpus.columns}")
        return corpus.labels[col]

    # ---- estimator API
    def fit(self, corpus: Corpus) -> "Task":
        """Learn the classes (and the folding of rare labels) from ``corpus``."""
        kind, arg = self._resolve()
        if self.handle_unknown not in ("other", "error"):
            raise ValueError(f"handle_unknown must be 'other' or 'error', got {self.handle_unknown!r}")
        self.kind_ = kind
        if kind.name == "control" and kind.builtin:
            if arg.partition(":")[0] == "control":
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
        self.min_count_ = kind.default_min_count if self.min_count is None else int(self.min_count)
        raw = Counter(x for s in self._raw(corpus, kind) for x in s)
        self._check_argument(corpus, kind, arg)  # after the labels, which name a malformed entry first
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

    def _check_argument(self, corpus: Corpus, kind: TaskKind, arg: str | None) -> None:
        # feats:Nonexistent would label every word none_label: one class that looks like a result
        if not kind.parametrised or kind.choices is None:
            return
        present = list(kind.choices(corpus))
        if arg not in present:
            raise ValueError(f"task {self.name!r}: corpus {corpus.name!r} has no {kind.param or 'argument'} "
                             f"{arg!r}; present: {', '.join(present) if present else 'none'}")

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
        raw = self._raw(corpus, self.kind_)
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


def _supported(kind: TaskKind, corpus: Corpus) -> bool:
    return kind.needs is None or kind.needs == WORDS or kind.needs in corpus.labels


def available_tasks(corpus: Corpus) -> list[str]:
    """Task names that ``corpus`` supports, each followed later by its ``control:`` task.

    Order: registered tasks that read the words (``suffix``), the label
    columns in corpus order (a column read by a parametrised task with
    choices, like ``feats``, is listed through that task instead), other
    registered tasks whose column is present, the arguments of parametrised
    tasks (``feats:*`` per feature found), then ``control:`` of each.

    Examples
    --------
    >>> available_tasks(Corpus([["a"]], {"upos": [["DET"]], "feats": [["Definite=Ind"]]}))
    ['suffix', 'upos', 'feats:Definite', 'control:suffix', 'control:upos', 'control:feats:Definite']
    """
    kinds = list(TASKS.values())
    names: list[str] = []

    def add(name):
        if name not in names:
            names.append(name)

    for k in kinds:
        if not k.parametrised and k.needs in (None, WORDS):
            add(k.name)
    expanded = {k.needs for k in kinds if k.parametrised and k.choices is not None}
    for col in corpus.columns:
        k = TASKS._kinds.get(col)
        if col in expanded or (k is not None and not k.parametrised and not _supported(k, corpus)):
            continue
        add(col)
    for k in kinds:
        if not k.parametrised and _supported(k, corpus):
            add(k.name)
    for k in kinds:
        if k.parametrised and k.choices is not None and _supported(k, corpus):
            for arg in k.choices(corpus):
                add(f"{k.name}:{arg}")
    return names + [f"control:{n}" for n in names]
