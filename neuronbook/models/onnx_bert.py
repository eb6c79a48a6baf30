"""Turn the initialisers of a BERT ONNX export back into BertModel weights.

PyTorch's ONNX exporter keeps the names of biases, embeddings and layer norms
(``...embeddings.word_embeddings.weight``) but stores every ``nn.Linear``
weight as an anonymous, transposed initialiser (``onnx::MatMul_470``) feeding
a node named after the module (``/.../encoder/layer.0/attention/self/query/MatMul``).
The node name therefore tells which parameter an anonymous initialiser is.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import numpy as np

__all__ = ["onnx_bert_state_dict", "bert_config_from_state_dict", "onnx_to_bert", "run_onnx"]

logger = logging.getLogger(__name__)

# The module path starts at the first of these components (anything before,
# like "model.0.auto_model." from sentence-transformers, is a wrapper prefix).
_ROOTS = ("embeddings", "encoder", "pooler")
_NAMED = re.compile(r"(?:^|\.)((?:%s)\..+)$" % "|".join(_ROOTS))
_NODE = re.compile(r"/((?:%s)/.+)/(?:MatMul|Gemm)(?:_\d+)?$" % "|".join(_ROOTS))


def _load(model_or_path):
    import onnx

    if isinstance(model_or_path, (str, Path)):
        return onnx.load(str(model_or_path)), str(model_or_path)
    return model_or_path, "<onnx model>"


def onnx_bert_state_dict(model_or_path) -> dict[str, np.ndarray]:
    """Collect BertModel parameters from an ONNX graph's initialisers.

    Parameters
    ----------
    model_or_path : onnx.ModelProto or path
        A BERT encoder exported by ``torch.onnx.export``.

    Returns
    -------
    dict of str to numpy.ndarray
        BertModel ``state_dict`` names (``encoder.layer.0.attention.self.query.weight``...)
        to float32 arrays, Linear weights already transposed to ``(out, in)``.

    Examples
    --------
    >>> sd = onnx_bert_state_dict("paraphrase-MiniLM-L3-v2.onnx")   # doctest: +SKIP
    >>> sd["encoder.layer.0.intermediate.dense.weight"].shape        # doctest: +SKIP
    (1536, 384)
    """
    from onnx import numpy_helper

    model, where = _load(model_or_path)
    inits = {t.name: t for t in model.graph.initializer}
    sd: dict[str, np.ndarray] = {}
    for name, t in inits.items():
        m = _NAMED.search(name)
        if m:
            sd[m.group(1)] = numpy_helper.to_array(t).astype(np.float32)
    for node in model.graph.node:
        if node.op_type not in ("MatMul", "Gemm"):
            continue
        weight = next((i for i in node.input[1:2] if i in inits), None)
        if weight is None:
            continue  # activation x activation (attention scores)
        m = _NODE.search(node.name)
        if not m:
            raise ValueError(f"{where}: {node.op_type} node {node.name!r} uses initialiser {weight!r} "
                             "but its name does not say which BERT module it belongs to")
        key = m.group(1).replace("/", ".") + ".weight"
        w = numpy_helper.to_array(inits[weight]).astype(np.float32)
        trans_b = any(a.name == "transB" and a.i for a in node.attribute)
        # MatMul computes x @ W with W (in, out); nn.Linear stores (out, in).
        sd[key] = w if (node.op_type == "Gemm" and trans_b) else w.T.copy()
        if node.op_type == "Gemm" and len(node.input) > 2 and node.input[2] in inits:
            sd.setdefault(key[:-len("weight")] + "bias", numpy_helper.to_array(inits[node.input[2]]))
    if "embeddings.word_embeddings.weight" not in sd:
        raise ValueError(f"{where}: no embeddings.word_embeddings.weight initialiser; is this a BERT export?")
    return sd


def _layer_norm_eps(model) -> float | None:
    for node in model.graph.node:
        if node.op_type == "LayerNormalization":
            for a in node.attribute:
                if a.name == "epsilon":
                    return float(a.f)
    return None


def bert_config_from_state_dict(sd: dict, *, num_attention_heads: int, layer_norm_eps: float = 1e-12,
                                hidden_act: str = "gelu", **extra):
    """Infer a ``BertConfig`` from parameter shapes (heads cannot be inferred).

    Examples
    --------
    >>> import numpy as np
    >>> sd = {"embeddings.word_embeddings.weight": np.zeros((10, 8)),
    ...       "embeddings.position_embeddings.weight": np.zeros((16, 8)),
    ...       "embeddings.token_type_embeddings.weight": np.zeros((2, 8)),
    ...       "encoder.layer.0.intermediate.dense.weight": np.zeros((32, 8))}
    >>> c = bert_config_from_state_dict(sd, num_attention_heads=2)
    >>> c.vocab_size, c.hidden_size, c.num_hidden_layers, c.intermediate_size
    (10, 8, 1, 32)
    """
    from transformers import BertConfig

    vocab, hidden = sd["embeddings.word_embeddings.weight"].shape
    layers = {int(m.group(1)) for k in sd if (m := re.match(r"encoder\.layer\.(\d+)\.", k))}
    if not layers or sorted(layers) != list(range(len(layers))):
        raise ValueError(f"encoder layers are missing or not numbered 0..n-1: {sorted(layers)}")
    if hidden % num_attention_heads:
        raise ValueError(f"hidden size {hidden} is not divisible by {num_attention_heads} heads")
    config = BertConfig(
        vocab_size=vocab, hidden_size=hidden, num_hidden_layers=len(layers),
        num_attention_heads=num_attention_heads,
        intermediate_size=sd["encoder.layer.0.intermediate.dense.weight"].shape[0],
        max_position_embeddings=sd["embeddings.position_embeddings.weight"].shape[0],
        type_vocab_size=sd["embeddings.token_type_embeddings.weight"].shape[0],
        layer_norm_eps=layer_norm_eps, hidden_act=hidden_act, **extra,
    )
    config.architectures = ["BertModel"]
    return config


def onnx_to_bert(model_or_path, *, num_attention_heads: int):
    """Convert a BERT ONNX export into ``(BertConfig, state_dict)`` for a BertModel.

    Every parameter of BertModel must be found except the pooler, which ONNX
    exports of sentence encoders drop; it is then written as zeros so loading
    stays deterministic.

    Examples
    --------
    >>> config, sd = onnx_to_bert("model.onnx", num_attention_heads=12)   # doctest: +SKIP
    >>> BertModel(config).load_state_dict(sd)                            # doctest: +SKIP
    """
    import torch
    from transformers import BertModel

    model, where = _load(model_or_path)
    sd = onnx_bert_state_dict(model)
    eps = _layer_norm_eps(model) or 1e-12
    config = bert_config_from_state_dict(sd, num_attention_heads=num_attention_heads, layer_norm_eps=eps)
    hidden = config.hidden_size
    if "pooler.dense.weight" not in sd:
        sd["pooler.dense.weight"] = np.zeros((hidden, hidden), np.float32)
        sd["pooler.dense.bias"] = np.zeros((hidden,), np.float32)
    with torch.device("meta"):
        expected = {k: tuple(v.shape) for k, v in BertModel(config).state_dict().items()}
    expected.pop("embeddings.position_ids", None)
    missing = sorted(set(expected) - set(sd))
    if missing:
        raise ValueError(f"{where}: BertModel parameters not found in the ONNX graph: {missing[:5]}"
                         + (f" (+{len(missing) - 5} more)" if len(missing) > 5 else ""))
    for k, shape in expected.items():
        if tuple(sd[k].shape) != shape:
            raise ValueError(f"{where}: {k} has shape {tuple(sd[k].shape)}, BertModel expects {shape}")
    unused = sorted(set(sd) - set(expected))
    if unused:
        logger.warning("%s: ignoring initialisers that are not BertModel parameters: %s", where, unused)
    return config, {k: torch.from_numpy(np.ascontiguousarray(sd[k], dtype=np.float32)) for k in expected}


def run_onnx(model_or_path, feeds: dict, output: str | None = None) -> tuple[np.ndarray, str]:
    """Run an ONNX graph with onnxruntime, or ONNX's reference evaluator without it.

    Returns the requested output (default: the first 3-D one, i.e. the token
    states) and the name of the engine used.
    """
    model, _ = _load(model_or_path)
    names = [o.name for o in model.graph.output]
    try:
        import onnxruntime as ort

        sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
        wanted = {i.name for i in sess.get_inputs()}
        outs = sess.run(None, {k: v for k, v in feeds.items() if k in wanted})
        engine = f"onnxruntime {ort.__version__}"
    except ImportError:
        from onnx.reference import ReferenceEvaluator

        ref = ReferenceEvaluator(model)
        wanted = set(ref.input_names)
        outs = ref.run(None, {k: v for k, v in feeds.items() if k in wanted})
        engine = "onnx.reference"
    if output is not None:
        return outs[names.index(output)], engine
    for o in outs:
        if np.ndim(o) == 3:
            return o, engine
    raise ValueError("the ONNX graph has no 3-D (token states) output; name one with output=")
