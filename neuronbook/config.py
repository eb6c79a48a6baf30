"""Every setting of an analysis, as one object of literals.

:class:`LCAConfig` is what a notebook's ``parameters`` cell, a widget form, a sweep's grid and the
command line map onto, one field to one name. It holds only literals (str, int, float, bool,
None and lists of them), round-trips through JSON, and rejects an unknown or invalid setting with
an error that names the valid ones.

Examples
--------
>>> cfg = LCAConfig(task="upos", max_sentences=200)
>>> cfg.task, cfg.l1
('upos', None)
>>> LCAConfig.from_dict(cfg.to_dict()) == cfg
True
>>> cfg.replace(tsak="upos")
Traceback (most recent call last):
...
TypeError: unknown LCAConfig setting 'tsak' (did you mean 'task'?); valid settings: model, data, ...
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import math
import numbers
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd


__all__ = ["LCAConfig", "DEFAULT_PERCENTS", "DEFAULT_SEARCH_GRID"]

#: Sub-word aggregations of :func:`neuronbook.extract` (kept here so the config needs no torch import).
AGGREGATIONS = ("first", "last", "mean")

#: Percentages of all neurons tried by the minimal-set search, smallest first.
DEFAULT_PERCENTS = tuple(
    [round(0.1 * i, 1) for i in range(1, 11)] + list(range(2, 11)) + list(range(15, 51, 5)) + list(range(60, 91, 10))
)

#: Penalties tried by the regularisation search (``l1 = l2 = value``, as in the reference setup).
DEFAULT_SEARCH_GRID = (0.0, 1e-5, 1e-4, 3e-4, 1e-3, 3e-3, 1e-2)

_SOLVERS = ("proximal", "adam")
_ABLATION_METHODS = ("retrain", "zero-out")
_DTYPES = ("float32", "float16")
_CRITERIA = ("tolerance", "one_se", "gap")  # neuronbook.evaluate.CRITERIA (no torch import here)


def _doc(text: str, **kw) -> Any:
    return field(metadata={"doc": text}, **kw)


@dataclass(frozen=True)
class LCAConfig:
    """Settings of one Linguistic Correlation Analysis (literals only).

    Every field is documented in :meth:`describe` (a table a widget form can be built from); the
    main ones:

    Parameters
    ----------
    model : str
        A model name or folder for :func:`neuronbook.load_model` (``"tiny-random"`` runs in seconds).
    data : str
        A named corpus (``"ud:en_ewt"``, ``"pmb:de"``) or a corpus file.
    task : str
        A task of the task registry (``"xpos"``, ``"upos"``, ``"suffix"``, ``"feats:Number"`` ...).
    train, test : str
        Splits: the probe trains on ``train`` minus a ``dev_fraction`` of its sentences (which
        choose the regularisation and the minimal set) and is reported on ``test``; either may be a
        corpus file of its own (then ``data`` only names the corpus).
    max_sentences : int or None
        A seeded sample of at most this many sentences per split (notebooks, tests, Binder).
    l1, l2 : float or None
        Elastic-net penalties; both None -> searched over ``search_grid`` on dev.

    Examples
    --------
    >>> LCAConfig().to_dict()["model"]
    'sentence-transformers/all-MiniLM-L6-v2'
    """

    # -- what is analysed --------------------------------------------------------------------------
    model: str = _doc("model name or folder for load_model ('tiny-random': a small random BERT built in code)",
                      default="sentence-transformers/all-MiniLM-L6-v2")
    data: str = _doc("named corpus ('ud:en_ewt', 'pmb:de', ...) or a corpus file", default="ud:en_ewt")
    task: str = _doc("task of the registry: xpos, upos, deprel, suffix, sem, ccg, feats:<Feature> ...",
                     default="xpos")
    train: str = _doc("split the probe is trained on (a dev part of it is held out), or a corpus file",
                      default="dev")
    test: str = _doc("split the reported figures come from, or a corpus file", default="test")
    dev_fraction: float = _doc("share of the training sentences held out as dev (seeded, whole sentences)",
                               default=0.1)
    test_fraction: float = _doc("when data is one corpus file and train/test are not files: the seeded share "
                                "of its sentences that becomes the test split", default=0.2)
    max_sentences: int | None = _doc("seeded sample of at most this many sentences per split (None: all)",
                                     default=None)
    layers: tuple | None = _doc("layers analysed, 0 = embeddings (None: all)", default=None)
    aggregation: str = _doc("how the pieces of a word become one vector: first, last, mean, or auto (last for a "
                            "causal decoder, mean for an encoder)", default="auto")
    dtype: str = _doc("activation store dtype: float32 or float16", default="float32")
    max_length: int | None = _doc("pieces per window, special tokens included (None: the model's own limit); "
                                  "longer sentences are read in overlapping windows", default=None)
    data_dir: str | None = _doc("folder holding ud/ and pmb/ (None: $NEURONBOOK_DATA, then the cache)",
                                default=None)
    # -- the probe ---------------------------------------------------------------------------------
    l1: float | None = _doc("L1 penalty (None with l2 None: searched; one given: the other takes its value)",
                            default=None)
    l2: float | None = _doc("L2 penalty (see l1)", default=None)
    search_grid: tuple = _doc("penalties tried by the search (l1 = l2 = value)", default=DEFAULT_SEARCH_GRID)
    search_criterion: str = _doc("search: tolerance (the largest penalty whose dev accuracy is within search_tolerance "
                                 "of the best: the sparse probe whose weights single neurons out), one_se (the same "
                                 "within one standard error of the best) or gap (the largest top - max(random, bottom) "
                                 "dev gap at 10 %, NeuroX-style; it chooses by the contrast that is then reported)",
                                 default="tolerance")
    search_tolerance: float = _doc("search: the dev accuracy a penalty may lose against the best penalty (criterion "
                                   "tolerance) or against the unpenalised probe (criterion gap), absolute",
                                   default=0.02)
    search_max_train: int | None = _doc("search: subsample of training words per fit (None: all)", default=None)
    epochs: int = _doc("probe training epochs", default=10)
    batch_size: int = _doc("probe mini-batch size", default=256)
    lr: float = _doc("probe learning rate", default=3e-3)
    standardize: bool = _doc("standardise every neuron by its training mean and sd before the probe", default=True)
    solver: str = _doc("probe solver: proximal (exact zeros) or adam", default="proximal")
    # -- ranking and evaluation --------------------------------------------------------------------
    search_stride: int = _doc("LCA ranking: number of weight-mass steps (NeuroX's search_stride)", default=100)
    tag_percentage: float = _doc("share of a tag's weight mass that defines its own top neurons", default=0.5)
    min_tag_count: int = _doc("LCA ranking: tags with fewer training words take no part in the ranking's sweep "
                              "(listed in info['rare_tags']; the per-tag tables keep them, marked 'rare'); 1: all "
                              "tags", default=25)
    delta: float = _doc("minimal set: smallest prefix within this relative loss of the oracle dev accuracy",
                        default=0.01)
    percents: tuple = _doc("minimal set: prefix sizes tried, in percent of all neurons", default=DEFAULT_PERCENTS)
    ablation_percents: tuple = _doc("ablation: sizes of the top / random / bottom sets, in percent (empty: none)",
                                    default=(10.0, 15.0, 20.0))
    ablation_methods: tuple = _doc("ablation: retrain and/or zero-out", default=_ABLATION_METHODS)
    n_draws: int = _doc("random baselines: fresh draws of uniform and of layer-matched random neurons (refitted "
                        "at the first ablation size, zero-out at every size; 0: none)", default=10)
    bootstrap: int = _doc("minimal set: bootstrap resamples of the dev sentences for its size's interval (0: none)",
                          default=200)
    control: bool = _doc("also run the control task control:<task> (selectivity)", default=True)
    seed: int = _doc("seed of every random choice (sampling, splits, shuffles, random neurons)", default=0)
    seeds: tuple | None = _doc("run the analysis once per seed and report mean, sd and the overlap of the selected "
                               "neurons (None: once, with seed)", default=None)

    # -- validation --------------------------------------------------------------------------------
    def __post_init__(self):
        set_ = object.__setattr__
        for name in ("layers", "search_grid", "percents", "ablation_percents", "ablation_methods", "seeds"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, tuple):
                if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
                    raise TypeError(f"LCAConfig.{name} must be a list, got {value!r}")
                set_(self, name, tuple(value))
        for f in dataclasses.fields(self):  # numpy integers and floats (a sweep's np.arange) as plain literals
            set_(self, f.name, _plain(getattr(self, f.name)))
        self._check()

    def _check(self):
        def fail(name, why):
            raise ValueError(f"LCAConfig.{name}={getattr(self, name)!r}: {why}")

        for name in ("model", "data", "task", "train", "test"):
            if not isinstance(getattr(self, name), str) or not getattr(self, name):
                fail(name, "must be a non-empty string")
        if self.aggregation not in AGGREGATIONS and self.aggregation != "auto":
            fail("aggregation", f"must be 'auto' or one of {list(AGGREGATIONS)}")
        if self.dtype not in _DTYPES:
            fail("dtype", f"must be one of {list(_DTYPES)}")
        if self.solver not in _SOLVERS:
            fail("solver", f"must be one of {list(_SOLVERS)}")
        for name in ("dev_fraction", "test_fraction"):
            if not _real(getattr(self, name)) or not 0 < getattr(self, name) < 1:
                fail(name, "must be a number in (0, 1)")
        for name in ("max_sentences", "search_max_train", "max_length"):
            v = getattr(self, name)
            if v is not None and (not _int(v) or v < 1):
                fail(name, "must be a positive integer or None")
        for name in ("epochs", "batch_size", "search_stride", "min_tag_count"):
            if not _int(getattr(self, name)) or getattr(self, name) < 1:
                fail(name, "must be a positive integer")
        if not _int(self.seed) or self.seed < 0:
            fail("seed", "must be a non-negative integer")
        if self.seeds is not None and (not self.seeds or any(not _int(v) or v < 0 for v in self.seeds)
                                       or len(set(self.seeds)) != len(self.seeds)):
            fail("seeds", "must be a non-empty list of distinct non-negative integers, or None")
        for name in ("n_draws", "bootstrap"):
            if not _int(getattr(self, name)) or getattr(self, name) < 0:
                fail(name, "must be an integer >= 0")
        if self.n_draws == 1:
            fail("n_draws", "must be 0 (no baselines) or at least 2 (an interval needs two draws)")
        if self.search_criterion not in _CRITERIA:
            fail("search_criterion", f"must be one of {list(_CRITERIA)}")
        if not _real(self.lr) or self.lr <= 0:
            fail("lr", "must be a positive finite number")
        for name in ("l1", "l2"):
            v = getattr(self, name)
            if v is not None and (not _real(v) or v < 0):
                fail(name, "must be a finite number >= 0, or None")
        if not self.search_grid or any(not _real(v) or v < 0 for v in self.search_grid):
            fail("search_grid", "must be a non-empty list of finite numbers >= 0")
        if not _real(self.search_tolerance) or not 0 <= self.search_tolerance < 1:
            fail("search_tolerance", "must be a number in [0, 1)")
        if not _real(self.delta) or not 0 < self.delta < 1:
            fail("delta", "must be a number in (0, 1): the allowed relative loss against the oracle")
        if not _real(self.tag_percentage) or not 0 < self.tag_percentage <= 1:
            fail("tag_percentage", "must be a number in (0, 1]")
        if not self.percents or any(not _real(p) or not 0 < p <= 100 for p in self.percents):
            fail("percents", "must be a non-empty list of numbers in (0, 100]")
        if any(not _real(p) or not 0 < p <= 100 for p in self.ablation_percents):
            fail("ablation_percents", "must be a list of numbers in (0, 100] (empty: no ablation)")
        if not self.ablation_methods or set(self.ablation_methods) - set(_ABLATION_METHODS):
            fail("ablation_methods", f"must be a non-empty list drawn from {list(_ABLATION_METHODS)}")
        if self.layers is not None and (not self.layers or any(not _int(x) for x in self.layers)):
            fail("layers", "must be a non-empty list of integers (0 = embeddings) or None")
        if self.layers is not None and any(x < 0 for x in self.layers):
            fail("layers", "must be layer numbers >= 0 (0 = embeddings, 1 = the first transformer layer); "
                           "negative positions from the end are not accepted")
        if self.layers is not None and len(set(self.layers)) != len(self.layers):
            twice = sorted({x for x in self.layers if self.layers.count(x) > 1})
            fail("layers", f"must not repeat a layer (given more than once: {twice})")
        for name in ("standardize", "control"):
            if not isinstance(getattr(self, name), bool):
                fail(name, "must be true or false")
        if self.data_dir is not None and not isinstance(self.data_dir, str):
            fail("data_dir", "must be a path string or None")

    # -- conversions -------------------------------------------------------------------------------
    @classmethod
    def fields(cls) -> list[str]:
        """Names of every setting, in declaration order."""
        return [f.name for f in dataclasses.fields(cls)]

    @classmethod
    def _unknown(cls, keys) -> None:
        valid = cls.fields()
        bad = [k for k in keys if k not in valid]
        if bad:
            hint = difflib.get_close_matches(bad[0], valid, n=1)
            did = f" (did you mean {hint[0]!r}?)" if hint else ""
            raise TypeError(f"unknown LCAConfig setting {bad[0]!r}{did}; valid settings: {', '.join(valid)}")

    @classmethod
    def from_dict(cls, values: dict) -> "LCAConfig":
        """Build from a mapping of literals (e.g. ``json.load`` of :meth:`to_dict`); unknown keys are an error."""
        cls._unknown(values)
        return cls(**values)

    @classmethod
    def from_parameters(cls, namespace: dict) -> "LCAConfig":
        """Pick the settings out of a namespace (a notebook's ``globals()`` after its parameters cell).

        Names that are not settings are ignored (``output_dir``, ``interactive``, imports ...), so a
        parameters cell maps onto the config one name to one field.

        Examples
        --------
        >>> task, max_sentences, output_dir = "upos", 50, "out"
        >>> LCAConfig.from_parameters(globals()).max_sentences
        50
        """
        return cls(**{k: namespace[k] for k in cls.fields() if k in namespace})

    def to_dict(self) -> dict:
        """The settings as JSON-ready literals (tuples become lists)."""
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in dataclasses.asdict(self).items()}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    @classmethod
    def from_json(cls, text: str) -> "LCAConfig":
        return cls.from_dict(json.loads(text))

    def replace(self, **changes) -> "LCAConfig":
        """A copy with some settings changed (validated; unknown names are an error)."""
        self._unknown(changes)
        return dataclasses.replace(self, **changes)

    def probe_params(self) -> dict:
        """The :class:`neuronbook.ElasticNetProbe` arguments besides the penalties."""
        return {"epochs": self.epochs, "batch_size": self.batch_size, "lr": self.lr,
                "standardize": self.standardize, "solver": self.solver}

    def make_probe(self, l1: float | None = None, l2: float | None = None):
        """The unfitted :class:`neuronbook.ElasticNetProbe` these settings describe.

        The one carrier of probe settings: every evaluation verb takes it as ``estimator=`` and copies it
        for each fit.  ``l1``/``l2`` default to the config's; when both are ``None`` there (searched), pass
        them, or use ``LCAResult.estimator()``, which carries the penalties the search chose.

        Examples
        --------
        >>> p = LCAConfig(l1=1e-3, epochs=3).make_probe()
        >>> p.l1, p.l2, p.epochs
        (0.001, 0.001, 3)
        >>> LCAConfig().make_probe(l1=0.0, l2=0.0).l1
        0.0
        """
        from .probe import ElasticNetProbe

        if l1 is None and l2 is None:
            l1, l2 = self.l1, self.l2
        if l1 is None and l2 is None:
            raise ValueError("the penalties are searched (l1 = l2 = None): pass l1 and l2, or use the "
                             "estimator() of the LCAResult, which carries the chosen pair")
        l1 = l2 if l1 is None else l1  # one given: the other takes its value, as in the config
        l2 = l1 if l2 is None else l2
        return ElasticNetProbe(l1=float(l1), l2=float(l2), seed=self.seed, **self.probe_params())

    def extract_params(self) -> dict:
        """The :func:`neuronbook.extract` arguments that shape the activation stores."""
        return {"aggregation": self.aggregation, "dtype": self.dtype, "max_length": self.max_length}

    @classmethod
    def describe(cls) -> "pd.DataFrame":
        """One row per setting: ``name``, ``default``, ``type``, ``doc`` (for forms and docs).

        Examples
        --------
        >>> LCAConfig.describe().set_index("name").loc["delta", "default"]
        0.01
        """
        rows = []
        for f in dataclasses.fields(cls):
            default = f.default
            rows.append({"name": f.name, "default": list(default) if isinstance(default, tuple) else default,
                         "type": str(f.type), "doc": f.metadata.get("doc", "")})
        import pandas as pd  # only here: the config is read at import time by modules that need no pandas

        return pd.DataFrame(rows)


def _int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _real(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _plain(v):
    """``v`` with numpy (or other ``numbers``) integers and reals made plain int and float; tuples element-wise.

    Booleans (Python's and numpy's) are left as they are: they are no integers here.

    Examples
    --------
    >>> import numpy as np
    >>> _plain(np.int64(3)), _plain((np.int32(1), np.float32(0.5))), _plain(True)
    (3, (1, 0.5), True)
    """
    if isinstance(v, tuple):
        return tuple(_plain(x) for x in v)
    if isinstance(v, bool) or type(v) in (int, float):
        return v
    if isinstance(v, numbers.Integral):
        return int(v)
    if isinstance(v, numbers.Real):  # numpy.bool_ is neither Integral nor Real: refused below as before
        return float(v)
    return v


def _checked_init(init):
    import functools

    @functools.wraps(init)
    def __init__(self, *args, **kwargs):
        LCAConfig._unknown(kwargs)  # "did you mean" instead of the dataclass's bare TypeError
        init(self, *args, **kwargs)

    return __init__


LCAConfig.__init__ = _checked_init(LCAConfig.__init__)
