"""Turn an int8 QDQ ONNX export of a DistilBERT token tagger back into DistilBertModel weights.

A QDQ graph (onnxruntime's static quantisation) stores each weight as an int8 initialiser
``<name>_quantized`` with ``<name>_scale`` and ``<name>_zero_point``, read through a
``DequantizeLinear`` node: the float weight is ``(q - zero_point) * scale``. Embeddings keep their
module names (``distilbert.embeddings.word_embeddings.weight_quantized``); every ``nn.Linear``
weight is an anonymous, transposed initialiser (``onnx::MatMul_753``) feeding a ``MatMul`` node
named after the module (``/distilbert/transformer/layer.0/attention/q_lin/MatMul``), which is how
it is identified. Biases and layer norms stay float. The graph also quantises the activations
between layers; the converted model computes in float32 throughout, so it differs from the ONNX
graph by that rounding (:func:`hidden_states_onnx` measures it).
"""

from __future__ import annotations

import logging
import re
import numpy as np

__all__ = ["dequantize_initialisers", "onnx_qdq_distilbert", "hidden_states_onnx", "tokenizer_from_json"]

logger = logging.getLogger(__name__)

_PREFIX = "distilbert."
_NODE = re.compile(r"^/distilbert/(transformer/layer\.\d+/.+)/MatMul$")


def dequantize_initialisers(model) -> dict[str, np.ndarray]:
    """The float value of every ``DequantizeLinear`` over initialisers, keyed by the node's output.

    Examples
    --------
    >>> import numpy as np
    >>> from onnx import helper, numpy_helper
    >>> inits = [numpy_helper.from_array(np.array([[-3, 5]], np.int8), "w_quantized"),
    ...          numpy_helper.from_array(np.array(0.5, np.float32), "w_scale"),
    ...          numpy_helper.from_array(np.array(1, np.int8), "w_zero_point")]
    >>> node = helper.make_node("DequantizeLinear", ["w_quantized", "w_scale", "w_zero_point"], ["w_dq"])
    >>> g = helper.make_graph([node], "g", [], [helper.make_tensor_value_info("w_dq", 1, None)], inits)
    >>> dequantize_initialisers(helper.make_model(g))["w_dq"].tolist()
    [[-2.0, 2.0]]
    """
    from onnx import numpy_helper

    inits = {t.name: t for t in model.graph.initializer}
    out = {}
    for node in model.graph.node:
        if node.op_type != "DequantizeLinear" or node.input[0] not in inits:
            continue
        q = numpy_helper.to_array(inits[node.input[0]]).astype(np.float32)
        scale = numpy_helper.to_array(inits[node.input[1]]).astype(np.float32)
        zp = (numpy_helper.to_array(inits[node.input[2]]).astype(np.float32) if len(node.input) > 2
              and node.input[2] else np.float32(0))
        axis = next((a.i for a in node.attribute if a.name == "axis"), 1)
        if scale.ndim == 1 and q.ndim > 1:  # per-channel: scale and zero point along `axis`
            shape = [1] * q.ndim
            shape[axis] = -1
            scale, zp = scale.reshape(shape), np.reshape(zp, shape) if np.ndim(zp) else zp
        out[node.output[0]] = (q - zp) * scale
    return out


def _layer_norm_eps(model) -> float:
    for node in model.graph.node:
        if node.op_type == "LayerNormalization":
            for a in node.attribute:
                if a.name == "epsilon":
                    return float(a.f)
    return 1e-12


def onnx_qdq_distilbert(path, *, num_attention_heads: int = 12):
    """``(DistilBertConfig, state_dict)`` of the DistilBERT encoder inside a QDQ ONNX token tagger.

    The classifier head is left out (neuronbook reads hidden states). Every DistilBertModel
    parameter must be found, with the shape the config implies, or this is an error naming it.
    """
    import onnx
    import torch
    from onnx import numpy_helper
    from transformers import DistilBertConfig, DistilBertModel

    model = onnx.load(str(path))
    inits = {t.name: t for t in model.graph.initializer}
    dq = dequantize_initialisers(model)
    sd: dict[str, np.ndarray] = {}
    for name, t in inits.items():  # float initialisers that keep their module name (biases, norms)
        if name.startswith(_PREFIX) and t.data_type == onnx.TensorProto.FLOAT:
            sd[name[len(_PREFIX):]] = numpy_helper.to_array(t).astype(np.float32)
    for out_name, value in dq.items():  # named quantised weights (embeddings)
        base = out_name.removesuffix("_DequantizeLinear_Output")
        if base.startswith(_PREFIX) and base.endswith(".weight"):
            sd[base[len(_PREFIX):]] = value
    for node in model.graph.node:
        if node.op_type != "MatMul" or node.input[1] not in dq:
            continue
        m = _NODE.match(node.name)
        if not m:
            if not node.name.startswith("/classifier/"):
                logger.info("%s: ignoring MatMul %s outside the encoder", path, node.name)
            continue
        # MatMul computes x @ W with W (in, out); nn.Linear stores (out, in)
        sd[m.group(1).replace("/", ".") + ".weight"] = dq[node.input[1]].T.copy()
    vocab, dim = sd["embeddings.word_embeddings.weight"].shape
    layers = {int(m.group(1)) for k in sd if (m := re.match(r"transformer\.layer\.(\d+)\.", k))}
    config = DistilBertConfig(
        vocab_size=vocab, dim=dim, n_layers=len(layers), n_heads=num_attention_heads,
        hidden_dim=sd["transformer.layer.0.ffn.lin1.weight"].shape[0],
        max_position_embeddings=sd["embeddings.position_embeddings.weight"].shape[0],
        sinusoidal_pos_embds=False, activation="gelu", pad_token_id=0,
    )
    config.architectures = ["DistilBertModel"]
    eps = _layer_norm_eps(model)
    if abs(eps - 1e-12) > 1e-15:
        raise ValueError(f"{path}: layer norm epsilon {eps} is not DistilBERT's 1e-12")
    with torch.device("meta"):
        expected = {k: tuple(v.shape) for k, v in DistilBertModel(config).state_dict().items()}
    missing = sorted(set(expected) - set(sd))
    if missing:
        raise ValueError(f"{path}: DistilBertModel parameters not found in the ONNX graph: {missing[:5]}"
                         + (f" (+{len(missing) - 5} more)" if len(missing) > 5 else ""))
    for k, shape in expected.items():
        if tuple(sd[k].shape) != shape:
            raise ValueError(f"{path}: {k} has shape {tuple(sd[k].shape)}, DistilBertModel expects {shape}")
    return config, {k: torch.from_numpy(np.ascontiguousarray(sd[k], dtype=np.float32)) for k in expected}


def hidden_states_onnx(path, feeds: dict, *, logits: bool = False):
    """The float hidden states (embeddings, then each layer) the ONNX graph computes, by onnxruntime.

    The layer outputs are not graph outputs: they are added as such (the values before their
    ``QuantizeLinear``, i.e. the float results of each layer norm). With ``logits=True`` returns
    ``(hidden states, the graph's own logits)`` from the same run.
    """
    import onnx
    import onnxruntime as ort

    model = onnx.load(str(path))
    names = ["/distilbert/embeddings/LayerNorm/LayerNormalization_output_0"]
    n_layers = len({m.group(1) for n in model.graph.node
                    if (m := re.match(r"^/distilbert/transformer/layer\.(\d+)/", n.name))})
    names += [f"/distilbert/transformer/layer.{i}/output_layer_norm/LayerNormalization_output_0"
              for i in range(n_layers)]
    produced = {o for n in model.graph.node for o in n.output}
    absent = [n for n in names if n not in produced]
    if absent:
        raise ValueError(f"{path}: the graph has no tensor {absent[0]!r}")
    own = [o.name for o in model.graph.output]
    del model.graph.output[:]
    model.graph.output.extend(onnx.helper.make_tensor_value_info(n, onnx.TensorProto.FLOAT, None)
                              for n in names + (own[:1] if logits else []))
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    wanted = {i.name for i in sess.get_inputs()}
    out = sess.run(None, {k: np.asarray(v, dtype=np.int64) for k, v in feeds.items() if k in wanted})
    return (out[:-1], out[-1]) if logits else out



def tokenizer_from_json(path, model_max_length: int):
    """A fast BERT-style tokenizer from a ``tokenizers`` JSON file, with its truncation and padding removed.

    The file's own truncation (128 pieces in quire's) would silently cut long sentences; neuronbook
    windows them instead.
    """
    from tokenizers import Tokenizer
    from transformers import PreTrainedTokenizerFast

    tk = Tokenizer.from_file(str(path))
    tk.no_truncation()
    tk.no_padding()
    return PreTrainedTokenizerFast(tokenizer_object=tk, unk_token="[UNK]", pad_token="[PAD]", cls_token="[CLS]",
                                   sep_token="[SEP]", mask_token="[MASK]", model_max_length=int(model_max_length))

