"""Interventions in the forward pass: switch neurons off inside the model and measure what changes downstream.

A probe shows that a property can be *read* from a few neurons; whether the model *uses* them is asked by
changing them while the model runs. :class:`Intervention` names ``(layer, neuron)`` units and what they are
set to (their training mean, or zero); :func:`intervention_hooks` installs it as forward hooks on the
modules whose outputs are the model's hidden states (found once per model by matching module outputs
against ``hidden_states``, so layer ``l`` here is ``hidden_states[l]`` of a store, 0 = the embeddings, and
any transformers architecture works); :func:`intervene` runs the ordinary extraction with those hooks, so
batching, alignment, windows and aggregation are the clean store's, and the intervention is part of the
store's content key.

:func:`intervention_effects` measures the effect of a neuron set against matched controls (uniform random
sets of the same size, and layer-matched random sets with the same count per layer, many draws):

* on the property: the probe of a later layer (``probe_layer``, the last by default; the sets are drawn
  from the layers below it), trained on clean activations and scored *fixed* on the intervened ones, and
  *retrained* on intervened training activations;
* on the model's own output, when it has a causal-LM head: the change in next-token loss
  (:func:`word_losses`) on words of the affected tags against other words. An encoder without such a
  head has no output to compare: the result says so (``info["lm"]``) and its LM tables are empty.

The unit is set at every position of the sequence (special tokens and padding included), in the output of
the layer module, so the layers above compute from the changed vector.

Examples
--------
>>> import numpy as np
>>> spec = Intervention([(1, 3), (0, 2)], how="zero")
>>> spec.neurons, spec.values
(((0, 2), (1, 3)), (0.0, 0.0))
>>> Intervention([(2, 5)], values=[0.25]).key_fields()["values"]
[0.25]
"""

from __future__ import annotations

import contextlib
import logging
import time
import weakref
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

__all__ = ["Intervention", "as_intervention", "intervention_hooks", "hidden_state_modules", "neuron_means",
           "intervene", "neuron_sets", "word_losses", "causal_lm", "intervention_effects", "InterventionResult",
           "InterventionExplorer", "HOWS", "SELECTIONS"]

logger = logging.getLogger(__name__)

HOWS = ("mean", "zero")
#: The neuron sets :func:`intervention_effects` compares, in table order.
SELECTIONS = ("none", "top", "random", "layer-matched random")


# ----------------------------------------------------------------------------------------- the spec
@dataclass(frozen=True)
class Intervention:
    """``(layer, neuron)`` units set to fixed values while the model runs.

    Parameters
    ----------
    neurons : sequence of (layer, neuron), or a DataFrame with ``layer`` and ``neuron`` columns
        The units; layer 0 is the embeddings output (``hidden_states[0]``). Sorted, no duplicates.
    how : {"mean", "zero"}
        ``"zero"`` sets every unit to 0; ``"mean"`` to ``values`` (each unit's mean over the training
        split's clean activations: :func:`neuron_means`).
    values : sequence of float, optional
        One value per unit, in the order given (needed for ``"mean"``; must be all zeros or absent for
        ``"zero"``).

    Examples
    --------
    >>> Intervention(pd.DataFrame({"layer": [1], "neuron": [4]}), values=[0.5]).neurons
    ((1, 4),)
    """

    neurons: tuple = ()
    how: str = "mean"
    values: tuple | None = None

    def __post_init__(self):
        pairs = _pairs(self.neurons)
        if self.how not in HOWS:
            raise ValueError(f"how must be one of {HOWS}, got {self.how!r}")
        if self.how == "zero":
            if self.values is not None and any(float(v) != 0.0 for v in self.values):
                raise ValueError("how='zero' takes no values (every unit is set to 0); use how='mean' with values")
            values = [0.0] * len(pairs)
        else:
            if self.values is None:
                raise ValueError("how='mean' needs values= (each neuron's training mean: nb.interventions."
                                 "neuron_means(train_store, neurons)), or pass reference= to nb.intervene")
            values = [float(v) for v in self.values]
            if len(values) != len(pairs):
                raise ValueError(f"{len(values)} values for {len(pairs)} neurons")
            if not np.all(np.isfinite(values)):
                raise ValueError("values must be finite numbers")
        order = sorted(range(len(pairs)), key=lambda i: pairs[i])
        pairs, values = [pairs[i] for i in order], [values[i] for i in order]
        dup = [p for a, p in zip(pairs, pairs[1:]) if a == p]
        if dup:
            raise ValueError(f"neuron {dup[0]} is given twice")
        object.__setattr__(self, "neurons", tuple(pairs))
        object.__setattr__(self, "values", tuple(values))

    def __len__(self) -> int:
        return len(self.neurons)

    @property
    def layers(self) -> list[int]:
        """The layers touched, ascending."""
        return sorted({layer for layer, _ in self.neurons})

    def key_fields(self) -> dict:
        """The intervention as JSON literals: what it adds to a store's content key."""
        return {"how": self.how, "neurons": [list(p) for p in self.neurons], "values": list(self.values)}

    def table(self) -> pd.DataFrame:
        """``layer``, ``neuron``, ``value``: one row per unit."""
        return pd.DataFrame({"layer": [p[0] for p in self.neurons], "neuron": [p[1] for p in self.neurons],
                             "value": list(self.values)}).astype({"layer": "int64", "neuron": "int64"})


def _pairs(neurons) -> list[tuple[int, int]]:
    if isinstance(neurons, pd.DataFrame):
        missing = {"layer", "neuron"} - set(neurons.columns)
        if missing:
            raise ValueError(f"a neuron table needs the columns layer and neuron (missing {sorted(missing)})")
        neurons = list(zip(neurons["layer"], neurons["neuron"]))
    elif isinstance(neurons, pd.MultiIndex):
        neurons = list(neurons)
    out = []
    for item in neurons:
        try:
            layer, neuron = item
        except (TypeError, ValueError):
            raise ValueError(f"each neuron is a (layer, neuron) pair, got {item!r}") from None
        if int(layer) != layer or int(neuron) != neuron or layer < 0 or neuron < 0:
            raise ValueError(f"(layer, neuron) must be non-negative integers, got {item!r}")
        out.append((int(layer), int(neuron)))
    if not out:
        raise ValueError("an intervention needs at least one (layer, neuron)")
    return out


def as_intervention(obj) -> Intervention:
    """An :class:`Intervention` from itself or from its :meth:`~Intervention.key_fields` dict."""
    if isinstance(obj, Intervention):
        return obj
    if isinstance(obj, dict):
        unknown = set(obj) - {"how", "neurons", "values"}
        if unknown:
            raise ValueError(f"unknown intervention settings {sorted(unknown)}; use how, neurons, values")
        return Intervention(tuple(map(tuple, obj.get("neurons", ()))), obj.get("how", "mean"), obj.get("values"))
    raise TypeError(f"intervention must be an Intervention or its key_fields() dict, got {type(obj).__name__}")


def neuron_means(store, neurons, rows=None) -> np.ndarray:
    """Each ``(layer, neuron)``'s mean over a clean store's words (``rows`` only, e.g. the training part).

    Examples
    --------
    >>> import tempfile
    >>> from neuronbook.store import ActivationStore
    >>> acts = np.arange(12, dtype=np.float32).reshape(3, 2, 2)   # 3 words, 2 layers, 2 neurons
    >>> s = ActivationStore.from_array(tempfile.mkdtemp() + "/s", acts, [["a", "b", "c"]], {})
    >>> neuron_means(s, [(1, 0), (0, 1)]).tolist(), neuron_means(s, [(1, 0)], rows=[0, 1]).tolist()
    ([6.0, 5.0], [4.0])
    """
    pairs = _pairs(neurons)
    for layer, neuron in pairs:
        if layer >= store.n_layers or neuron >= store.n_neurons:
            raise IndexError(f"neuron ({layer}, {neuron}) is not in the store ({store.n_layers} layers x "
                             f"{store.n_neurons} neurons)")
    data = store.array
    rows = np.arange(store.n_words) if rows is None else np.asarray(rows, dtype=np.int64)
    out = np.empty(len(pairs), np.float64)
    for layer in sorted({p[0] for p in pairs}):
        idx = [i for i, p in enumerate(pairs) if p[0] == layer]
        block = np.asarray(data[:, layer, :][rows][:, [pairs[i][1] for i in idx]], dtype=np.float64)
        out[idx] = block.mean(axis=0)
    return out


# ------------------------------------------------------------------------------------------ hooks
_MODULES: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def _first_tensor(output):
    import torch

    if isinstance(output, torch.Tensor):
        return output
    if type(output) is tuple and output and isinstance(output[0], torch.Tensor):
        return output[0]
    return None


def hidden_state_modules(model) -> list:
    """The module whose output is ``hidden_states[l]``, for every layer ``l`` (0 = the embeddings).

    Found once per model object (and remembered): one short forward pass with temporary hooks on every
    sub-module; for each hidden state, the module whose output equals it and that finishes last (the
    outermost: a BERT layer rather than its final LayerNorm; a decoder's final norm for its last
    hidden state). A model whose hidden states no module's output matches is an error.

    Examples
    --------
    >>> import torch
    >>> from transformers import BertConfig, BertModel
    >>> m = BertModel(BertConfig(vocab_size=10, hidden_size=8, num_hidden_layers=2, num_attention_heads=2,
    ...                          intermediate_size=8)).eval()
    >>> [type(x).__name__ for x in hidden_state_modules(m)]
    ['BertEmbeddings', 'BertLayer', 'BertLayer']
    """
    cached = _MODULES.get(model)
    if cached is not None:
        return cached
    import torch

    fired = []  # (module, output tensor), in the order the forwards finished
    handles = []

    def record(module, args, output):
        t = _first_tensor(output)
        if t is not None:
            fired.append((module, t.detach()))

    for module in model.modules():
        if module is not model:
            handles.append(module.register_forward_hook(record, prepend=True))
    vocab = int(getattr(model.config, "vocab_size", 8) or 8)
    device = next(model.parameters()).device
    ids = (torch.arange(5, dtype=torch.long).unsqueeze(0) % vocab).to(device)
    try:
        with torch.inference_mode():
            hidden = model(input_ids=ids, attention_mask=torch.ones_like(ids), output_hidden_states=True).hidden_states
    finally:
        for h in handles:
            h.remove()
    if hidden is None:
        raise ValueError(f"{type(model).__name__} returns no hidden_states: it cannot be intervened on")
    out = []
    for layer, h in enumerate(hidden):
        match = [m for m, t in fired if t.shape == h.shape and torch.equal(t, h)]
        if not match:
            raise ValueError(f"no module of {type(model).__name__} outputs hidden_states[{layer}] as it is: "
                             "this architecture cannot be intervened on by output hooks")
        out.append(match[-1])
    _MODULES[model] = out
    return out


@contextlib.contextmanager
def intervention_hooks(model, intervention):
    """Install ``intervention`` on ``model`` for the duration of a ``with`` block.

    Each touched layer's module gets a forward hook, registered before any other (``prepend=True``, so
    transformers' own hidden-state recorders see the changed output), that returns a copy of the output
    with the units set to their values at every position. The hooks are removed on leaving the block.

    Examples
    --------
    >>> import torch
    >>> from transformers import BertConfig, BertModel
    >>> m = BertModel(BertConfig(vocab_size=10, hidden_size=8, num_hidden_layers=2, num_attention_heads=2,
    ...                          intermediate_size=8)).eval()
    >>> ids = torch.tensor([[1, 2, 3]])
    >>> with intervention_hooks(m, Intervention([(1, 0)], values=[7.0])):
    ...     h = m(input_ids=ids, output_hidden_states=True).hidden_states
    >>> h[1][0, :, 0].tolist(), bool((h[2][0, :, 0] == 7).all())
    ([7.0, 7.0, 7.0], False)
    """
    import torch

    spec = as_intervention(intervention)
    modules = hidden_state_modules(model)
    hidden = int(model.config.hidden_size)
    handles = []
    try:
        for layer in spec.layers:
            if layer >= len(modules):
                raise IndexError(f"layer {layer} out of range: {type(model).__name__} has layers 0..{len(modules) - 1}")
            idx = [n for (lay, n) in spec.neurons if lay == layer]
            if max(idx) >= hidden:
                raise IndexError(f"neuron {max(idx)} out of range: layers have neurons 0..{hidden - 1}")
            vals = [v for (lay, _), v in zip(spec.neurons, spec.values) if lay == layer]
            handles.append(modules[layer].register_forward_hook(
                _setter(torch.tensor(idx, dtype=torch.long), torch.tensor(vals, dtype=torch.float32)), prepend=True))
        yield spec
    finally:
        for h in handles:
            h.remove()


def _setter(index, values):
    def hook(module, args, output):
        t = _first_tensor(output)
        changed = t.clone()
        changed[..., index.to(t.device)] = values.to(device=t.device, dtype=t.dtype)
        return changed if t is output else (changed, *output[1:])

    return hook


# --------------------------------------------------------------------------------------- intervene
def intervene(model, corpus, neurons, how: str = "mean", *, reference=None, reference_rows=None, values=None,
              tokenizer=None, **extract_options):
    """Activations of every layer while ``neurons`` are set to their training mean (or to zero).

    The clean extraction (:func:`neuronbook.extract`) with :func:`intervention_hooks` installed: the same
    batching, alignment, windows and aggregation, and a store whose content key includes the
    intervention, so it is never confused with the clean store of the same corpus.

    Parameters
    ----------
    model, corpus, tokenizer
        As for :func:`neuronbook.extract`.
    neurons : sequence of (layer, neuron), DataFrame with ``layer``/``neuron``, or an :class:`Intervention`
        The units to set (e.g. ``result.ranking.head(20)``).
    how : {"mean", "zero"}
    reference : ActivationStore, optional
        The clean store whose words give each unit's mean (``"mean"``; e.g. the training store).
    reference_rows : array-like of int, optional
        Rows of ``reference`` to average over (default: all; an LCA uses its train part).
    values : sequence of float, optional
        The units' values, instead of ``reference``.
    **extract_options
        Any other :func:`neuronbook.extract` argument (``cache``, ``progress``, ``aggregation``, ...).

    Returns
    -------
    ActivationStore
        Its ``metadata["intervention"]`` records the units and values.

    Examples
    --------
    >>> import neuronbook as nb
    >>> clean = nb.extract("tiny-random", [["the", "cat", "sat"]], cache=False, progress=False)
    >>> off = nb.intervene("tiny-random", [["the", "cat", "sat"]], [(1, 0)], how="zero", cache=False,
    ...                    progress=False)
    >>> off.activations(layers=[1], neurons=[0]).ravel().tolist(), off.metadata["key"] != clean.metadata["key"]
    ([0.0, 0.0, 0.0], True)
    """
    from .extraction import extract

    if isinstance(neurons, Intervention):
        spec = neurons
    else:
        if how == "mean" and values is None:
            if reference is None:
                raise ValueError("how='mean' needs reference= (the clean training store) or values=")
            values = neuron_means(reference, neurons, reference_rows)
        spec = Intervention(neurons, how, None if how == "zero" else values)
    return extract(model, corpus, tokenizer=tokenizer, intervention=spec, **extract_options)


# ------------------------------------------------------------------------------------- neuron sets
def _upstream(table: pd.DataFrame, probe_layer: int) -> pd.DataFrame:
    return table[table["layer"] < probe_layer].sort_values("rank").reset_index(drop=True)


def neuron_sets(result, k: int, *, probe_layer: int, tag=None, n_draws: int = 10, seed: int = 0) -> pd.DataFrame:
    """The top set and its matched controls, as one tidy table.

    The top set is the first ``k`` neurons of ``result.ranking`` (or of ``tag``'s per-tag ranking) below
    ``probe_layer``; ``random`` draws ``k`` neurons uniformly from every neuron below it, and
    ``layer-matched random`` keeps the top set's count per layer (:func:`neuronbook.evaluate.layer_matched_neurons`).
    Draw ``d`` of both uses :func:`neuronbook.evaluate.baseline_seeds` ``(seed, n_draws)[d]``.

    Returns
    -------
    DataFrame
        ``selection``, ``draw``, ``seed``, ``layer``, ``neuron``: one row per neuron of each set.

    Examples
    --------
    >>> from neuronbook.lca import LCAResult
    >>> neurons = pd.DataFrame({"layer": [0, 0, 1, 1, 2, 2], "neuron": [0, 1, 0, 1, 0, 1]})
    >>> ranking = neurons.assign(rank=[5, 3, 1, 4, 2, 6], tag="A", score=0.5)
    >>> s = neuron_sets(LCAResult(ranking=ranking, neurons=neurons), 2, probe_layer=2, n_draws=3)
    >>> s[s.selection == "top"][["layer", "neuron"]].values.tolist()   # ranks 1 and 3, layer 2 left out
    [[1, 0], [0, 1]]
    >>> s.groupby("selection", sort=False).size().to_dict()
    {'top': 2, 'random': 6, 'layer-matched random': 6}
    >>> sorted(s[s.selection == "layer-matched random"].layer.tolist())
    [0, 0, 0, 1, 1, 1]
    """
    from .evaluate import baseline_seeds, layer_matched_neurons
    from .rank import random_neurons

    if tag is None:
        ranked = result.ranking
    else:
        ranked = result.per_tag_ranking[result.per_tag_ranking["tag"].astype(str) == str(tag)]
        if not len(ranked):
            raise ValueError(f"tag {tag!r} has no per-tag ranking; tags: {sorted(map(str, result.tags))}")
    top = _upstream(ranked, probe_layer)
    pool = result.neurons[result.neurons["layer"] < probe_layer][["layer", "neuron"]].reset_index(drop=True)
    if not len(pool):
        raise ValueError(f"no neuron lies below probe_layer={probe_layer}")
    k = int(k)
    if not 1 <= k <= len(top):
        raise ValueError(f"k must be between 1 and the {len(top)} ranked neurons below layer {probe_layer}, got {k}")
    top = top.head(k)[["layer", "neuron"]]
    pos = {(int(a), int(b)): i for i, (a, b) in enumerate(zip(pool["layer"], pool["neuron"]))}
    top_cols = np.asarray([pos[(int(a), int(b))] for a, b in zip(top["layer"], top["neuron"])])
    layers = pool["layer"].to_numpy(np.int64)
    frames = [top.assign(selection="top", draw=0, seed=-1)]
    for d, s in enumerate(baseline_seeds(seed, n_draws)):
        frames.append(pool.iloc[np.sort(random_neurons(len(pool), k, s))].assign(selection="random", draw=d, seed=s))
        frames.append(pool.iloc[layer_matched_neurons(top_cols, layers, s)]
                      .assign(selection="layer-matched random", draw=d, seed=s))
    out = pd.concat(frames, ignore_index=True)[["selection", "draw", "seed", "layer", "neuron"]]
    order = out["selection"].map({s: i for i, s in enumerate(SELECTIONS)})
    return out.iloc[np.lexsort((out["draw"], order))].reset_index(drop=True).astype(
        {"draw": "int64", "seed": "int64", "layer": "int64", "neuron": "int64"})


# -------------------------------------------------------------------------------- causal-LM output
def causal_lm(model):
    """``model`` itself when it has a causal-LM head, a head loaded from its folder, or None (an encoder).

    A model given by folder or name is loaded with ``AutoModelForCausalLM`` only when its
    ``config.json`` names a causal-LM architecture; a loaded model counts when it has output
    embeddings and ``can_generate()``.
    """
    if not isinstance(model, str):
        has_head = getattr(model, "get_output_embeddings", lambda: None)() is not None
        return model if has_head and getattr(model, "can_generate", lambda: False)() else None
    import json
    from pathlib import Path

    config_file = Path(model).expanduser() / "config.json"
    if not config_file.is_file():
        return None
    archs = json.loads(config_file.read_text()).get("architectures") or []
    if not any(a.endswith(("ForCausalLM", "LMHeadModel")) for a in archs):
        return None
    from transformers import AutoModelForCausalLM

    return AutoModelForCausalLM.from_pretrained(str(config_file.parent)).eval()


def word_losses(model, tokenizer, sentences, intervention=None, *, token_budget: int = 4096, max_length=None,
                progress=False) -> np.ndarray:
    """Next-token loss of every word (mean over its pieces of ``-log p(piece | what precedes)``), in nats.

    The words are planned exactly as :func:`neuronbook.extract` plans them (alignment from ``word_ids()``,
    windows for long sentences, each word scored in the window that owns it); the tokenizer's own prefix
    (a BOS token, say) comes first. A piece at the very start of a sequence has nothing to be predicted
    from and is left out; a word made only of such a piece gets NaN (the first word of a sentence when the
    tokenizer adds no prefix).

    Parameters
    ----------
    model : a transformers causal LM (``AutoModelForCausalLM``)
    tokenizer : its fast tokenizer
    sentences : Corpus or list of list of str
    intervention : Intervention, optional
        Installed with :func:`intervention_hooks` while scoring.

    Returns
    -------
    numpy.ndarray of float64, one value per word in corpus order
    """
    import torch
    from tqdm.auto import tqdm

    from .extraction import _batches, _plan, _sentences_of, _special_tokens, _window_sizes

    sents = _sentences_of(sentences)
    limit = max_length or getattr(model.config, "max_position_embeddings", None) or getattr(model.config, "n_positions")
    prefix, suffix, max_pieces, overlap = _window_sizes(tokenizer, {"max_length": int(limit)}, max_length, None)
    plan = _plan(tokenizer, sents, max_pieces, overlap, causal=True)  # word prefix of a byte-level BPE, as extract feeds it
    n_words = sum(map(len, sents))
    total = np.zeros(n_words)
    count = np.zeros(n_words)
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    device = next(model.parameters()).device
    hooks = intervention_hooks(model, intervention) if intervention is not None else contextlib.nullcontext()
    with hooks, torch.inference_mode():
        for batch in tqdm(list(_batches(plan.segments, token_budget, len(prefix) + len(suffix))),
                          disable=not progress, desc="word losses", leave=False):
            segs = [plan.segments[k] for k in batch]
            width = max(len(s.piece_ids) for s in segs) + len(prefix)
            ids = np.full((len(segs), width), pad, dtype=np.int64)
            mask = np.zeros_like(ids)
            for b, s in enumerate(segs):
                ids[b, :len(prefix) + len(s.piece_ids)] = prefix + s.piece_ids
                mask[b, :len(prefix) + len(s.piece_ids)] = 1
            logits = model(input_ids=torch.from_numpy(ids).to(device),
                           attention_mask=torch.from_numpy(mask).to(device)).logits.float()
            logp = torch.log_softmax(logits[:, :-1], dim=-1)
            nll = -logp.gather(-1, torch.from_numpy(ids[:, 1:]).to(device).unsqueeze(-1)).squeeze(-1).cpu().numpy()
            for b, s in enumerate(segs):
                pos = len(prefix) + np.arange(len(s.piece_ids))  # position of each piece in the sequence
                ok = pos >= 1
                rows = s.word_rows[np.asarray(s.piece_word, dtype=np.int64)]
                keep = ok & (rows >= 0)
                np.add.at(total, rows[keep], nll[b, pos[keep] - 1])
                np.add.at(count, rows[keep], 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / np.maximum(count, 1), np.nan)


# --------------------------------------------------------------------------------------- the result
def _ci(values, confidence=0.95):
    from scipy import stats

    v = np.asarray(values, np.float64)
    v = v[np.isfinite(v)]
    n = len(v)
    mean = float(v.mean()) if n else np.nan
    if n < 2:
        return n, mean, np.nan, np.nan, np.nan
    sd = float(v.std(ddof=1))
    half = float(stats.t.ppf((1 + confidence) / 2, n - 1)) * sd / np.sqrt(n)
    return n, mean, sd, mean - half, mean + half


@dataclass
class InterventionResult:
    """What switching a neuron set off inside the model did, against matched random sets.

    Attributes
    ----------
    sets : DataFrame
        ``selection``, ``draw``, ``seed``, ``layer``, ``neuron`` of every set (:func:`neuron_sets`).
    effects : DataFrame
        One row per (set, measure): ``selection`` (none = clean, top, random, layer-matched random),
        ``draw``, ``seed``, ``n_neurons``, ``measure``, ``value``. Measures: ``fixed accuracy`` (the
        clean-trained probe of ``probe_layer`` on intervened test activations), ``retrained accuracy``
        (a probe trained and tested on intervened activations), with a tag their ``tag accuracy`` twins
        (words of that tag only); ``perturbation`` (how far the intervention moves a training word's vector
        where it is made: root mean square distance of the units from their values) and ``probe-layer
        change`` (mean distance between intervened and clean test vectors of the probe layer, over the mean
        clean norm); with a causal LM ``loss change affected`` / ``loss change other`` (mean
        change in next-token loss, nats, on words of the affected tags / the others) and ``loss change
        contrast`` (their difference).
    summary : DataFrame
        Per ``selection`` and ``measure``: ``n_draws``, ``mean``, ``sd``, ``ci_low``, ``ci_high`` (a t
        interval over draws; a single set has none) and ``drop`` (clean accuracy - mean, for accuracies).
    comparison : DataFrame
        Top against each random baseline (:func:`neuronbook.evaluate.baseline_summary`): ``baseline``,
        ``measure``, ``n_draws``, ``mean``, ``sd``, ``top``, ``difference`` (top - mean), ``se``,
        ``ci_low``, ``ci_high``, ``confidence``.
    lm : DataFrame
        Per set and tag: ``selection``, ``draw``, ``tag``, ``n_words``, ``clean_loss``, ``loss``,
        ``loss_change`` (empty without a causal-LM head).
    timing : DataFrame
        ``step``, ``seconds`` (the clean extraction of the test corpus against one intervened one).
    info : dict
        Settings and what was found: ``probe_layer``, ``k``, ``how``, ``tag``, ``affected_tags``, ``lm``
        (how the LM part applied, or why it does not).
    """

    sets: pd.DataFrame = field(default_factory=pd.DataFrame)
    effects: pd.DataFrame = field(default_factory=pd.DataFrame)
    summary: pd.DataFrame = field(default_factory=pd.DataFrame)
    comparison: pd.DataFrame = field(default_factory=pd.DataFrame)
    lm: pd.DataFrame = field(default_factory=pd.DataFrame)
    timing: pd.DataFrame = field(default_factory=pd.DataFrame)
    info: dict = field(default_factory=dict)
    explorer: object = field(default=None, repr=False, compare=False)

    TABLES = ("sets", "effects", "summary", "comparison", "lm", "timing")

    def headline_dict(self) -> dict:
        """The headline figures: clean accuracy, top, the random means and the differences with intervals."""
        out = {"probe layer": self.info.get("probe_layer"), "neurons switched off": self.info.get("k")}
        for r in self.summary.itertuples(index=False):
            if r.selection in ("none", "top") or r.measure.startswith("loss"):
                out[f"{r.measure} ({r.selection})"] = round(float(r.mean), 4)
        for r in self.comparison.itertuples(index=False):
            out[f"{r.measure}: top - {r.baseline}"] = round(float(r.difference), 4)
            out[f"{r.measure}: top - {r.baseline} 95% low"] = round(float(r.ci_low), 4)
            out[f"{r.measure}: top - {r.baseline} 95% high"] = round(float(r.ci_high), 4)
        return out

    def headline(self) -> pd.DataFrame:
        return pd.Series(self.headline_dict(), name="value").to_frame()

    def save(self, directory, overwrite: bool = False):
        """Every table as CSV and ``info.json`` into ``directory``."""
        import json
        from pathlib import Path

        d = Path(directory)
        if d.exists() and any(d.iterdir()) and not overwrite:
            raise FileExistsError(f"{d} is not empty; pass overwrite=True")
        d.mkdir(parents=True, exist_ok=True)
        for name in self.TABLES:
            getattr(self, name).to_csv(d / f"{name}.csv", index=False)
        (d / "info.json").write_text(json.dumps(self.info, indent=2, default=str))
        return d

    def __repr__(self) -> str:
        return f"InterventionResult({self.info.get('model')}, {self.info.get('task')}, k={self.info.get('k')}, " \
               f"probe_layer={self.info.get('probe_layer')}, {self.info.get('n_draws')} draws)"


def _summaries(effects: pd.DataFrame):
    from .evaluate import baseline_summary

    rows = []
    clean = effects[effects["selection"] == "none"].set_index("measure")["value"]
    for (sel, measure), grp in effects.groupby(["selection", "measure"], sort=False):
        n, mean, sd, lo, hi = _ci(grp["value"])
        drop = float(clean[measure] - mean) if measure in clean.index and "accuracy" in measure else np.nan
        rows.append({"selection": sel, "measure": measure, "n_draws": n, "mean": mean, "sd": sd, "ci_low": lo,
                     "ci_high": hi, "drop": drop})
    summary = pd.DataFrame(rows)
    top = effects[effects["selection"] == "top"].set_index("measure")["value"].to_dict()
    draws = effects[effects["selection"].isin(["random", "layer-matched random"])]
    draws = draws[draws["measure"].isin(list(top))].rename(columns={"selection": "baseline", "measure": "method",
                                                                    "value": "accuracy"})
    comparison = baseline_summary(top, draws).rename(columns={"method": "measure"}) if len(draws) else pd.DataFrame()
    return summary, comparison


def intervention_effects(config=None, *, result=None, k: int = 20, tag=None, probe_layer: int | None = None,
                         n_draws: int = 10, how: str = "mean", lm: bool | str = "auto", time_clean: bool = True,
                         progress="auto", **overrides) -> InterventionResult:
    """Switch the top neurons of an LCA off inside the model, and matched random sets, and measure the damage.

    Parameters
    ----------
    config : LCAConfig or dict, optional
        The analysis (model, corpus, task, splits, ``max_sentences``, ``seed``); ``**overrides`` change it.
        Its :func:`neuronbook.run_lca` result (cached) gives the ranking and the probe's penalties.
    result : LCAResult, optional
        That result, when already at hand (its config is used).
    k : int
        Neurons per set.
    tag : str, optional
        Use this tag's per-tag ranking (and report accuracy on its words) instead of the global ranking.
    probe_layer : int, optional
        The layer whose probe reads the property downstream (default: the last); sets are drawn below it.
    n_draws : int
        Draws of each random baseline (each costs a forward pass over both splits).
    how : {"mean", "zero"}
        What the neurons are set to (mean: over the train part of the training store).
    lm : bool or "auto"
        Measure the causal-LM loss change ("auto": when the model has a causal-LM head; True: an error if not).
    time_clean : bool
        Also time a fresh clean extraction of the test corpus, next to the intervened ones.

    Returns
    -------
    InterventionResult

    Examples
    --------
    >>> r = intervention_effects(model="tiny-random", data="ud:en_ewt", max_sentences=20, k=5,
    ...                          n_draws=2, progress=False)  # doctest: +SKIP
    >>> r.comparison[["baseline", "measure", "difference"]]  # doctest: +SKIP
    """
    from .extraction import extract
    from .lca.data import load_splits, prepare, resolve_config, split_store_rows
    from .models import load_model
    from .probe import clone
    from .settings import progress_enabled

    if how not in HOWS:
        raise ValueError(f"how must be one of {HOWS}, got {how!r}")
    if lm not in (True, False, "auto"):
        raise ValueError(f"lm must be True, False or 'auto', got {lm!r}")
    progress = progress_enabled(progress)
    if result is None:
        from .lca import run_lca

        config = resolve_config(config, overrides)
        result = run_lca(config, progress=progress)
    elif config is not None or overrides:
        raise ValueError("give either config (and overrides) or result=, not both")
    config = result.config
    corpora = load_splits(config)
    data = prepare(config, corpora=corpora, progress=progress)
    train_store = data.train_store
    n_layers = train_store.n_layers
    probe_layer = n_layers - 1 if probe_layer is None else int(probe_layer)
    if not 1 <= probe_layer < n_layers:
        raise ValueError(f"probe_layer must be in 1..{n_layers - 1} (it reads layers below it), got {probe_layer}")
    sets = neuron_sets(result, k, probe_layer=probe_layer, tag=tag, n_draws=n_draws, seed=config.seed)
    rows_train, _ = split_store_rows(train_store, config.dev_fraction, config.seed)  # train part only
    X_train = train_store.activations(layers=[probe_layer])[rows_train]
    y_train = data.y_train[rows_train]
    y_test = data.y_test
    estimator = result.estimator()

    model_obj, tok = load_model(config.model, progress=progress)
    lm_model = causal_lm(model_obj) if lm is not False else None
    if lm_model is None and lm is not False:
        lm_model = causal_lm(str(config.model))
        if lm_model is not None:
            model_obj = lm_model  # the same weights with the head: hidden states are the same
    if lm is True and lm_model is None:
        raise ValueError(f"{config.model} has no causal-LM head (lm=True): use lm='auto' or a decoder")
    lm_note = ("next-token loss of each word, mean over its pieces (nats)" if lm_model is not None else
               f"does not apply: {type(model_obj).__name__} is an encoder without a causal-LM head, so the model "
               "has no output of its own to compare; only the probe measures apply")
    pair = (model_obj, tok)

    if tag is not None:
        affected = [str(tag)]
    else:
        top_pairs = set(map(tuple, sets.loc[sets["selection"] == "top", ["layer", "neuron"]].to_numpy().tolist()))
        tags_of = result.ranking.set_index(["layer", "neuron"])["tag"]
        affected = sorted({str(tags_of[p]) for p in top_pairs})
    test_tags = np.asarray(y_test).astype(str)
    is_affected = np.isin(test_tags, affected)

    def probe_scores(X_tr, X_te, fixed):
        scores = {"fixed accuracy": float(fixed.score(X_te, y_test))}
        retrained = clone(estimator).fit(X_tr, y_train)
        scores["retrained accuracy"] = float(retrained.score(X_te, y_test))
        if tag is not None:
            words = test_tags == str(tag)
            scores["fixed tag accuracy"] = float(fixed.score(X_te[words], y_test[words]))
            scores["retrained tag accuracy"] = float(retrained.score(X_te[words], y_test[words]))
        return scores

    extract_opts = dict(config.extract_params(), progress=False)
    timing = []
    X_test_clean = data.test_store.activations(layers=[probe_layer])
    fixed_probe = clone(estimator).fit(X_train, y_train)
    effect_rows = []

    def add(sel, draw, seed, n, scores):
        for m, v in scores.items():
            effect_rows.append({"selection": sel, "draw": draw, "seed": seed, "n_neurons": n, "measure": m,
                                "value": v})

    clean_loss = None
    lm_rows = []
    if lm_model is not None:
        clean_loss = word_losses(lm_model, tok, corpora[1], progress=False)
    clean_norm = float(np.linalg.norm(X_test_clean, axis=1).mean())
    add("none", 0, -1, 0, {**probe_scores(X_train, X_test_clean, fixed_probe), "perturbation": 0.0,
                           "probe-layer change": 0.0})
    if time_clean:
        t = time.perf_counter()
        extract(pair, corpora[1], **dict(extract_opts, cache=False)).close()
        timing.append({"step": "clean extraction (test)", "seconds": round(time.perf_counter() - t, 3)})
    groups = list(sets.groupby(["selection", "draw"], sort=False))
    from tqdm.auto import tqdm

    for (sel, draw), grp in tqdm(groups, disable=not progress, desc="interventions"):
        pairs = list(zip(grp["layer"], grp["neuron"]))
        values = None if how == "zero" else neuron_means(train_store, pairs, rows_train)
        spec = Intervention(pairs, how, values)
        t = time.perf_counter()
        with extract(pair, corpora[1], intervention=spec, **dict(extract_opts, cache=False)) as s:
            X_te = s.activations(layers=[probe_layer])
        if not any(r["step"].startswith("intervened") for r in timing):
            timing.append({"step": "intervened extraction (test)", "seconds": round(time.perf_counter() - t, 3)})
        with extract(pair, corpora[0], intervention=spec, **dict(extract_opts, cache=False)) as s:
            X_tr = s.activations(layers=[probe_layer])[rows_train]
        scores = probe_scores(X_tr, X_te, fixed_probe)
        scores["perturbation"] = _perturbation(train_store, spec, rows_train)
        scores["probe-layer change"] = float(np.linalg.norm(X_te - X_test_clean, axis=1).mean()) / clean_norm
        if lm_model is not None:
            loss = word_losses(lm_model, tok, corpora[1], spec)
            change = loss - clean_loss
            ok = np.isfinite(change)
            a, o = float(np.mean(change[ok & is_affected])), float(np.mean(change[ok & ~is_affected]))
            scores.update({"loss change affected": a, "loss change other": o, "loss change contrast": a - o})
            frame = pd.DataFrame({"tag": test_tags[ok], "clean": clean_loss[ok], "loss": loss[ok]})
            for t_, g in frame.groupby("tag"):
                lm_rows.append({"selection": sel, "draw": int(draw), "tag": t_, "n_words": len(g),
                                "clean_loss": float(g["clean"].mean()), "loss": float(g["loss"].mean()),
                                "loss_change": float((g["loss"] - g["clean"]).mean())})
        add(sel, int(draw), int(grp["seed"].iloc[0]), len(pairs), scores)
    effects = pd.DataFrame(effect_rows)
    summary, comparison = _summaries(effects)
    info = {"model": config.model, "data": config.data, "task": config.task, "train": config.train,
            "test": config.test, "max_sentences": config.max_sentences, "seed": config.seed,
            "probe_layer": probe_layer, "k": int(k), "how": how, "tag": tag, "n_draws": int(n_draws),
            "affected_tags": affected, "lm": lm_note, "n_layers": n_layers, "n_test_words": int(len(y_test)),
            "n_train_words": int(len(y_train)), "penalties": result.best_params}
    explorer = InterventionExplorer(pair, fixed_probe, probe_layer, train_store, rows_train, how=how,
                                    result=result, lm_model=lm_model)
    lm_cols = ["selection", "draw", "tag", "n_words", "clean_loss", "loss", "loss_change"]
    return InterventionResult(sets=sets, effects=effects, summary=summary, comparison=comparison,
                              lm=pd.DataFrame(lm_rows, columns=lm_cols), timing=pd.DataFrame(timing), info=info,
                              explorer=explorer)


def _perturbation(store, spec: Intervention, rows) -> float:
    """How far the intervention moves a word's vector where it is made: the root mean square over the store's
    ``rows`` of the distance between the units' clean activations and their values (all touched layers)."""
    total = 0.0
    values = dict(zip(spec.neurons, spec.values))
    for layer in spec.layers:
        units = [n for (lay, n) in spec.neurons if lay == layer]
        block = np.asarray(store.array[:, layer, :][rows][:, units], dtype=np.float64)
        target = np.asarray([values[(layer, n)] for n in units])
        total += float(((block - target) ** 2).sum(axis=1).mean())
    return float(np.sqrt(total))


# ----------------------------------------------------------------------------------------- explorer
class InterventionExplorer:
    """A sentence in, the probe's tags per word with and without an intervention out (what the widget shows).

    Parameters
    ----------
    model : (model, tokenizer) or a model name
    probe : fitted probe on ``probe_layer``'s activations
    probe_layer : int
    reference : ActivationStore
        The clean training store (means for ``how="mean"``).
    reference_rows : rows of it to average over
    how : {"mean", "zero"}
    result : LCAResult, optional
        Source of the "top" and "tag" neuron sets.
    lm_model : causal LM, optional
        Adds the next-token loss of each word, clean and intervened.
    """

    def __init__(self, model, probe, probe_layer, reference, reference_rows=None, *, how="mean", result=None,
                 lm_model=None):
        self.model = model
        self.probe = probe
        self.probe_layer = int(probe_layer)
        self.reference = reference
        self.reference_rows = reference_rows
        self.how = how
        self.result = result
        self.lm_model = lm_model

    def neuron_set(self, kind: str = "top", k: int = 20, *, tag=None, seed: int = 0) -> list[tuple[int, int]]:
        """``kind`` "top" (the ranking's head below the probe layer), "tag" (``tag``'s neurons) or "random"."""
        if kind not in ("top", "tag", "random"):
            raise ValueError(f"kind must be 'top', 'tag' or 'random', got {kind!r}")
        if kind == "random":
            from .rank import random_neurons

            pool = self.result.neurons[self.result.neurons["layer"] < self.probe_layer]
            pick = np.sort(random_neurons(len(pool), int(k), seed))
            return list(zip(pool["layer"].iloc[pick].astype(int), pool["neuron"].iloc[pick].astype(int)))
        table = self.result.ranking if kind == "top" else \
            self.result.per_tag_ranking[self.result.per_tag_ranking["tag"].astype(str) == str(tag)]
        top = _upstream(table, self.probe_layer).head(int(k))
        return list(zip(top["layer"].astype(int), top["neuron"].astype(int)))

    def predict(self, words, neurons) -> pd.DataFrame:
        """``word``, ``clean``, ``intervened``, ``changed`` (and ``clean_loss``/``loss`` with a causal LM)."""
        from .extraction import extract

        words = list(words.split()) if isinstance(words, str) else list(words)
        if not words:
            raise ValueError("type a sentence (words separated by spaces)")
        values = None if self.how == "zero" else neuron_means(self.reference, neurons, self.reference_rows)
        spec = Intervention(neurons, self.how, values)
        with extract(self.model, [words], cache=False, progress=False) as s:
            clean = self.probe.predict(s.activations(layers=[self.probe_layer]))
        with extract(self.model, [words], cache=False, progress=False, intervention=spec) as s:
            off = self.probe.predict(s.activations(layers=[self.probe_layer]))
        out = pd.DataFrame({"word": words, "clean": clean.astype(str), "intervened": off.astype(str)})
        out["changed"] = out["clean"] != out["intervened"]
        if self.lm_model is not None:
            tok = self.model[1]
            out["clean_loss"] = word_losses(self.lm_model, tok, [words])
            out["loss"] = word_losses(self.lm_model, tok, [words], spec)
        return out
