"""Comparisons across models and languages (paper, questions iv and v, and the multilingual study).

Every comparison takes *selections*: the outcome of one LCA run (a model on a task, or on a
language), reduced to what comparisons need, the :class:`NeuronSelection`. Pass
:class:`neuronbook.lca.LCAResult` objects directly (they are converted with
:meth:`NeuronSelection.from_lca`) or build selections by hand from any ranking.

* :func:`finetuning_comparison`: a pretrained and a fine-tuned model of the same
  architecture, per task: minimal-set size, accuracy, layer distribution, shift of the mean
  layer, Jaccard overlap of the neuron sets;
* :func:`architecture_comparison`: models of different depth side by side: neurons needed
  (% of all), layer distribution on relative depth;
* :func:`language_comparison`: one multilingual model, one tag set, several languages:
  per-language layer distributions, Jaccard of neuron sets (overall and per tag), correlation
  of layer distributions, and the neurons every language shares for a tag.

Every output feeds the matching chart of :mod:`neuronbook.plots` as is.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..neurons import relative_depth
from .layers import layer_distribution, localization

__all__ = [
    "ArchitectureComparison",
    "FineTuningComparison",
    "LanguageComparison",
    "NeuronSelection",
    "architecture_comparison",
    "as_selection",
    "finetuning_comparison",
    "jaccard",
    "language_comparison",
]

logger = logging.getLogger(__name__)


def jaccard(a, b) -> float:
    """Jaccard index of two collections (1.0 when both are empty).

    Examples
    --------
    >>> jaccard([(0, 1), (2, 3)], [(2, 3), (4, 5)])
    0.3333333333333333
    """
    a, b = set(a), set(b)
    union = a | b
    return len(a & b) / len(union) if union else 1.0


def _pairs(df: pd.DataFrame) -> set:
    return set(zip(df["layer"].astype(int), df["neuron"].astype(int)))


@dataclass
class NeuronSelection:
    """What comparisons need from one LCA run.

    Parameters
    ----------
    selected : DataFrame
        The selected neurons (e.g. the minimal set), columns ``layer`` and ``neuron``.
    n_layers : int
        Layers of the model including the embeddings.
    n_neurons_total : int
        Neurons the selection was drawn from (all layers).
    accuracy : float, optional
        Test accuracy of the probe on the selected neurons.
    oracle_accuracy : float, optional
        Test accuracy of the probe on all neurons.
    per_tag : DataFrame, optional
        Columns ``tag``, ``layer``, ``neuron``: the neurons of each tag.
    layerwise : DataFrame, optional
        Columns ``layer``, ``accuracy``: layer-wise probing (:func:`neuronbook.analysis.layerwise_probing`).
    reached : bool
        False when the run's minimal-set target was never reached: then there is no set
        (``selected`` is empty) and the comparisons report NaN for it (size, depth, overlap, shift).

    Examples
    --------
    >>> sel = NeuronSelection(pd.DataFrame({"layer": [1, 2], "neuron": [5, 7]}), n_layers=3, n_neurons_total=30)
    >>> sel.percent
    6.666666666666667
    """

    selected: pd.DataFrame
    n_layers: int
    n_neurons_total: int
    accuracy: float = np.nan
    oracle_accuracy: float = np.nan
    per_tag: pd.DataFrame | None = None
    layerwise: pd.DataFrame | None = field(default=None, repr=False)
    reached: bool = True

    def __post_init__(self):
        for name, df, cols in (("selected", self.selected, ["layer", "neuron"]),
                               ("per_tag", self.per_tag, ["tag", "layer", "neuron"]),
                               ("layerwise", self.layerwise, ["layer", "accuracy"])):
            if df is None:
                continue
            if not isinstance(df, pd.DataFrame):
                raise TypeError(f"NeuronSelection.{name} must be a DataFrame, got {type(df).__name__}")
            missing = [c for c in cols if c not in df.columns]
            if missing:
                raise ValueError(f"NeuronSelection.{name} lacks column(s) {missing}; it has {list(df.columns)}")
        if int(self.n_neurons_total) < len(self.selected):
            raise ValueError(f"n_neurons_total={self.n_neurons_total} is smaller than the {len(self.selected)} "
                             "selected neurons")

    @property
    def n_selected(self) -> int:
        """Number of selected neurons (NaN when the target was not reached)."""
        return len(self.selected) if self.reached else np.nan

    @property
    def percent(self) -> float:
        """Selected neurons as a percentage of all neurons (NaN when the target was not reached)."""
        return 100.0 * self.n_selected / self.n_neurons_total

    @classmethod
    def from_lca(cls, result) -> "NeuronSelection":
        """The minimal set, per-tag sets and accuracies of a :class:`neuronbook.lca.LCAResult`."""
        return _from_lca(cls, result)


def _from_lca(cls, result):
    # Kept in one place so a change of LCAResult's tables touches only this function.
    missing = [a for a in ("ranking", "minimal_set", "n_layers") if not hasattr(result, a)]
    if missing:
        raise TypeError(f"expected an LCAResult or NeuronSelection, got {type(result).__name__} "
                        f"(it lacks {missing})")
    ms = result.minimal_set
    ranking = result.ranking
    n_sel = int(ms["n_neurons"].iloc[0]) if isinstance(ms, pd.DataFrame) else int(ms)
    reached = bool(ms["reached"].iloc[0]) if isinstance(ms, pd.DataFrame) and "reached" in ms else True
    # a target that was never reached leaves no set: compare nothing rather than all the neurons
    selected = ranking.sort_values("rank").head(n_sel if reached else 0)[["layer", "neuron"]].reset_index(drop=True)
    acc = float(ms["test_accuracy"].iloc[0]) if "test_accuracy" in ms and reached else np.nan
    oracle = getattr(result, "oracle", None)
    oracle_acc = np.nan
    if isinstance(oracle, pd.DataFrame) and "accuracy" in oracle:
        test_rows = oracle[oracle["split"] == "test"] if "split" in oracle else oracle
        oracle_acc = float(test_rows["accuracy"].iloc[0])
    per_tag = getattr(result, "per_tag_ranking", None)
    return cls(selected=selected, n_layers=int(result.n_layers), n_neurons_total=len(ranking), accuracy=acc,
               oracle_accuracy=oracle_acc, per_tag=per_tag, layerwise=getattr(result, "layerwise", None),
               reached=reached)


def as_selection(obj) -> NeuronSelection:
    """``obj`` itself when it is a :class:`NeuronSelection`, else :meth:`NeuronSelection.from_lca` of it.

    Examples
    --------
    >>> sel = NeuronSelection(pd.DataFrame({"layer": [0], "neuron": [1]}), n_layers=2, n_neurons_total=4)
    >>> as_selection(sel) is sel
    True
    """
    return obj if isinstance(obj, NeuronSelection) else NeuronSelection.from_lca(obj)


def _check_keys(a: Mapping, b: Mapping, what_a: str, what_b: str):
    only_a, only_b = sorted(set(a) - set(b)), sorted(set(b) - set(a))
    if only_a or only_b:
        raise ValueError(f"{what_a} and {what_b} must cover the same tasks: only in {what_a}: {only_a}, "
                         f"only in {what_b}: {only_b}")


# ----------------------------------------------------------------------------- fine-tuning


@dataclass
class FineTuningComparison:
    """Tables of :func:`finetuning_comparison`.

    Attributes
    ----------
    summary : DataFrame
        ``task``, ``model`` (``"pretrained"``/``"fine-tuned"``), ``n_neurons``, ``percent``,
        ``accuracy``, ``oracle_accuracy``, ``mean_layer``, ``mean_relative_depth``, ``entropy``
        (input of :func:`neuronbook.plots.finetuning_shift_chart`).
    overlap : DataFrame
        ``task``, ``jaccard``, ``intersection``, ``n_pretrained``, ``n_finetuned``,
        ``mean_layer_shift`` (fine-tuned minus pretrained).
    layers : DataFrame
        ``task``, ``model`` and the :func:`neuronbook.analysis.layer_distribution` columns
        (``layer``, ``count``, ``share``, ``fraction``, ``relative_depth``).
    layerwise : DataFrame
        ``task``, ``model``, ``layer``, ``accuracy`` (empty when no selection carries it).
    """

    summary: pd.DataFrame
    overlap: pd.DataFrame
    layers: pd.DataFrame
    layerwise: pd.DataFrame


def _summary_rows(sel: NeuronSelection, keys: dict) -> dict:
    loc = localization(sel.selected, sel.n_layers).iloc[0]
    nan = not sel.reached  # no set: no depth or spread to report
    return {**keys, "n_neurons": sel.n_selected, "percent": sel.percent, "accuracy": sel.accuracy,
            "oracle_accuracy": sel.oracle_accuracy, "reached": sel.reached,
            "mean_layer": np.nan if nan else loc["mean_layer"],
            "mean_relative_depth": np.nan if nan else loc["mean_relative_depth"],
            "entropy": np.nan if nan else loc["entropy"]}


def _layers_rows(sel: NeuronSelection, keys: dict) -> pd.DataFrame:
    dist = layer_distribution(sel.selected, sel.n_layers)
    for k, v in reversed(list(keys.items())):
        dist.insert(0, k, v)
    return dist


def _layerwise_rows(sel: NeuronSelection, keys: dict) -> pd.DataFrame | None:
    if sel.layerwise is None:
        return None
    lw = sel.layerwise[["layer", "accuracy"]].copy()
    for k, v in reversed(list(keys.items())):
        lw.insert(0, k, v)
    return lw


def _concat(frames, columns) -> pd.DataFrame:
    frames = [f for f in frames if f is not None]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=columns)


def finetuning_comparison(pretrained: Mapping[str, object], finetuned: Mapping[str, object]) -> FineTuningComparison:
    """Compare the neurons of a pretrained model and its fine-tuned version, task by task.

    Parameters
    ----------
    pretrained, finetuned : mapping
        Task name -> :class:`NeuronSelection` or LCA result, the same tasks in both. The two
        models must have the same architecture (same layers and neurons), so neuron
        ``(layer, neuron)`` is the same unit in both.

    Returns
    -------
    FineTuningComparison

    Examples
    --------
    >>> pre = NeuronSelection(pd.DataFrame({"layer": [1, 1], "neuron": [0, 1]}), 3, 30, accuracy=0.9)
    >>> ft = NeuronSelection(pd.DataFrame({"layer": [1, 2], "neuron": [0, 4]}), 3, 30, accuracy=0.8)
    >>> res = finetuning_comparison({"pos": pre}, {"pos": ft})
    >>> res.overlap[["task", "jaccard", "mean_layer_shift"]].values.tolist()
    [['pos', 0.3333333333333333, 0.5]]
    """
    _check_keys(pretrained, finetuned, "pretrained", "finetuned")
    summary, layers, layerwise, overlap = [], [], [], []
    for task in pretrained:
        pre, ft = as_selection(pretrained[task]), as_selection(finetuned[task])
        if (pre.n_layers, pre.n_neurons_total) != (ft.n_layers, ft.n_neurons_total):
            raise ValueError(f"task {task!r}: the models differ in shape (pretrained {pre.n_layers} layers, "
                             f"{pre.n_neurons_total} neurons; fine-tuned {ft.n_layers} layers, {ft.n_neurons_total} "
                             "neurons); use architecture_comparison for different architectures")
        rows = []
        for name, sel in (("pretrained", pre), ("fine-tuned", ft)):
            keys = {"task": task, "model": name}
            rows.append(_summary_rows(sel, keys))
            layers.append(_layers_rows(sel, keys))
            layerwise.append(_layerwise_rows(sel, keys))
        summary += rows
        a, b = _pairs(pre.selected), _pairs(ft.selected)
        both = pre.reached and ft.reached
        overlap.append({"task": task, "jaccard": jaccard(a, b) if both else np.nan,
                        "intersection": len(a & b) if both else np.nan, "n_pretrained": pre.n_selected,
                        "n_finetuned": ft.n_selected, "reached": both,
                        "mean_layer_shift": rows[1]["mean_layer"] - rows[0]["mean_layer"] if both else np.nan})
    return FineTuningComparison(
        summary=pd.DataFrame(summary), overlap=pd.DataFrame(overlap), layers=_concat(layers, []),
        layerwise=_concat(layerwise, ["task", "model", "layer", "accuracy"]))


# ----------------------------------------------------------------------------- architectures


@dataclass
class ArchitectureComparison:
    """Tables of :func:`architecture_comparison`.

    Attributes
    ----------
    summary : DataFrame
        ``model``, ``n_layers``, ``n_neurons_total``, ``n_neurons``, ``percent_needed``,
        ``accuracy``, ``oracle_accuracy``, ``mean_layer``, ``mean_relative_depth``, ``entropy``.
    layers : DataFrame
        ``model``, ``layer``, ``relative_depth``, ``count``, ``share``, ``percent_needed``
        (input of :func:`neuronbook.plots.architecture_comparison_chart`).
    layerwise : DataFrame
        ``model``, ``layer``, ``relative_depth``, ``accuracy`` (empty when no selection carries it).
    """

    summary: pd.DataFrame
    layers: pd.DataFrame
    layerwise: pd.DataFrame


def architecture_comparison(results: Mapping[str, object]) -> ArchitectureComparison:
    """Compare models of different architectures on one task.

    Parameters
    ----------
    results : mapping
        Model name -> :class:`NeuronSelection` or LCA result for the same task and data.

    Returns
    -------
    ArchitectureComparison

    Examples
    --------
    >>> six = NeuronSelection(pd.DataFrame({"layer": [6, 6], "neuron": [0, 1]}), 7, 100)
    >>> three = NeuronSelection(pd.DataFrame({"layer": [0], "neuron": [3]}), 4, 50)
    >>> res = architecture_comparison({"L6": six, "L3": three})
    >>> res.summary[["model", "percent_needed", "mean_relative_depth"]].values.tolist()
    [['L6', 2.0, 1.0], ['L3', 2.0, 0.0]]
    """
    if not results:
        raise ValueError("architecture_comparison needs at least one model")
    summary, layers, layerwise = [], [], []
    for model, obj in results.items():
        sel = as_selection(obj)
        row = _summary_rows(sel, {"model": model})
        row["percent_needed"] = row.pop("percent")
        summary.append({"model": model, "n_layers": sel.n_layers, "n_neurons_total": sel.n_neurons_total,
                        **{k: v for k, v in row.items() if k != "model"}})
        dist = _layers_rows(sel, {"model": model})
        dist["percent_needed"] = sel.percent
        layers.append(dist)
        lw = _layerwise_rows(sel, {"model": model})
        if lw is not None:
            lw["relative_depth"] = relative_depth(lw["layer"].to_numpy(), sel.n_layers)
            layerwise.append(lw)
    order = ["model", "n_layers", "n_neurons_total", "n_neurons", "percent_needed", "accuracy", "oracle_accuracy",
             "reached", "mean_layer", "mean_relative_depth", "entropy"]
    layers_df = _concat(layers, [])
    return ArchitectureComparison(
        summary=pd.DataFrame(summary)[order],
        layers=layers_df[["model", "layer", "relative_depth", "count", "share", "percent_needed"]],
        layerwise=_concat(layerwise, ["model", "layer", "accuracy", "relative_depth"]))


# ----------------------------------------------------------------------------- languages


@dataclass
class LanguageComparison:
    """Tables of :func:`language_comparison`.

    Attributes
    ----------
    summary : DataFrame
        ``language``, ``n_neurons``, ``percent``, ``accuracy``, ``oracle_accuracy``, ``mean_layer``, ...
    layers : DataFrame
        ``language``, ``layer``, ``count``, ``share``, ``fraction``, ``relative_depth``
        (input of :func:`neuronbook.plots.language_similarity_chart`).
    similarity : DataFrame
        ``language_a``, ``language_b``, ``jaccard`` (of the selected sets), ``intersection``,
        ``layer_correlation`` (Pearson correlation of the two per-layer share vectors).
    tag_similarity : DataFrame
        ``tag``, ``language_a``, ``language_b``, ``jaccard``, ``intersection``, for the tags
        every language has (empty without per-tag sets).
    shared : DataFrame
        ``tag``, ``layer``, ``neuron``: neurons in the tag's set for every language.
    """

    summary: pd.DataFrame
    layers: pd.DataFrame
    similarity: pd.DataFrame
    tag_similarity: pd.DataFrame
    shared: pd.DataFrame


def _corr(a: np.ndarray, b: np.ndarray) -> float:
    if a.std() == 0 or b.std() == 0:
        return np.nan
    return float(np.corrcoef(a, b)[0, 1])


def language_comparison(results: Mapping[str, object]) -> LanguageComparison:
    """Compare the neurons one multilingual model uses for one tag set in several languages.

    Parameters
    ----------
    results : mapping
        Language -> :class:`NeuronSelection` or LCA result (same model, same tag set).

    Returns
    -------
    LanguageComparison

    Examples
    --------
    >>> def sel(layers, neurons, tags):
    ...     df = pd.DataFrame({"layer": layers, "neuron": neurons})
    ...     return NeuronSelection(df, 3, 30, per_tag=df.assign(tag=tags))
    >>> res = language_comparison({"en": sel([1, 2], [0, 5], ["N", "V"]), "de": sel([1, 1], [0, 6], ["N", "V"])})
    >>> res.similarity[["language_a", "language_b", "jaccard"]].values.tolist()
    [['en', 'de', 0.3333333333333333]]
    >>> res.shared.values.tolist()
    [['N', 1, 0]]
    """
    if len(results) < 2:
        raise ValueError(f"language_comparison needs at least two languages, got {list(results)}")
    sels = {lang: as_selection(obj) for lang, obj in results.items()}
    shapes = {lang: (s.n_layers, s.n_neurons_total) for lang, s in sels.items()}
    if len(set(shapes.values())) != 1:
        raise ValueError(f"the languages must come from one model (same layers and neurons); got {shapes}")
    summary = [_summary_rows(s, {"language": lang}) for lang, s in sels.items()]
    layers = pd.concat([_layers_rows(s, {"language": lang}) for lang, s in sels.items()], ignore_index=True)
    shares = {lang: g.sort_values("layer")["share"].to_numpy() for lang, g in layers.groupby("language", sort=False)}
    sim = []
    for (la, a), (lb, b) in itertools.combinations(sels.items(), 2):
        pa, pb = _pairs(a.selected), _pairs(b.selected)
        both = a.reached and b.reached  # an unreached target has no set to compare
        sim.append({"language_a": la, "language_b": lb, "jaccard": jaccard(pa, pb) if both else np.nan,
                    "intersection": len(pa & pb) if both else np.nan,
                    "layer_correlation": _corr(shares[la], shares[lb]) if both else np.nan})
    tag_sim, shared = [], []
    if all(s.per_tag is not None for s in sels.values()):
        per_tag = {lang: {t: _pairs(g) for t, g in s.per_tag.groupby("tag")} for lang, s in sels.items()}
        common = sorted(set.intersection(*(set(p) for p in per_tag.values())))
        if not common:
            logger.warning("the languages share no tag; no per-tag similarity")
        for tag in common:
            for la, lb in itertools.combinations(per_tag, 2):
                a, b = per_tag[la][tag], per_tag[lb][tag]
                tag_sim.append({"tag": tag, "language_a": la, "language_b": lb, "jaccard": jaccard(a, b),
                                "intersection": len(a & b)})
            for layer, neuron in sorted(set.intersection(*(p[tag] for p in per_tag.values()))):
                shared.append({"tag": tag, "layer": layer, "neuron": neuron})
    return LanguageComparison(
        summary=pd.DataFrame(summary), layers=layers, similarity=pd.DataFrame(sim),
        tag_similarity=pd.DataFrame(tag_sim, columns=["tag", "language_a", "language_b", "jaccard", "intersection"]),
        shared=pd.DataFrame(shared, columns=["tag", "layer", "neuron"]))
