"""ONNX initialisers -> BertModel weights, on a tiny graph built with onnx.helper."""

from __future__ import annotations

import numpy as np
import pytest
import torch

onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from neuronbook.models.onnx_bert import (  # noqa: E402
    bert_config_from_state_dict, onnx_bert_state_dict, onnx_to_bert, run_onnx,
)


def export_like_torch(model, *, use_gemm: bool = False, prefix: str = "model.0.auto_model."):
    """Mimic torch.onnx.export's naming: named vectors, anonymous transposed Linear weights."""
    inits, nodes, n = [], [], 0
    for name, t in model.state_dict().items():
        if name == "embeddings.position_ids" or name.startswith("pooler."):
            continue
        a = t.numpy()
        if name.endswith(".weight") and a.ndim == 2 and "embeddings" not in name:
            module = "/".join(name[:-len(".weight")].split("."))
            anon = f"onnx::MatMul_{400 + n}"
            n += 1
            if use_gemm:
                inits.append(numpy_helper.from_array(a, anon))
                nodes.append(helper.make_node("Gemm", ["x", anon], [anon + "_out"], transB=1,
                                              name=f"/model/{prefix.replace('.', '/')}{module}/Gemm"))
            else:
                inits.append(numpy_helper.from_array(np.ascontiguousarray(a.T), anon))
                nodes.append(helper.make_node("MatMul", ["x", anon], [anon + "_out"],
                                              name=f"/model/{prefix.replace('.', '/')}{module}/MatMul"))
        else:
            inits.append(numpy_helper.from_array(a, prefix + name))
    nodes.append(helper.make_node("LayerNormalization", ["x", prefix + "embeddings.LayerNorm.weight",
                                                         prefix + "embeddings.LayerNorm.bias"], ["ln"],
                                  epsilon=1e-7, name="/embeddings/LayerNorm/LayerNormalization"))
    # attention scores: MatMul of two activations must be ignored
    nodes.append(helper.make_node("MatMul", ["x", "ln"], ["scores"],
                                  name="/model/encoder/layer.0/attention/self/MatMul"))
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, None)
    y = helper.make_tensor_value_info("scores", TensorProto.FLOAT, None)
    return helper.make_model(helper.make_graph(nodes, "bert", [x], [y], initializer=inits))


@pytest.mark.parametrize("use_gemm", [False, True])
def test_tiny_export_converts_back_to_the_same_weights(tiny_model, use_gemm):
    model, _ = tiny_model
    proto = export_like_torch(model, use_gemm=use_gemm)
    config, sd = onnx_to_bert(proto, num_attention_heads=2)
    assert (config.num_hidden_layers, config.hidden_size, config.intermediate_size) == (2, 16, 32)
    assert config.layer_norm_eps == pytest.approx(1e-7)
    original = model.state_dict()
    for name, value in sd.items():
        if name.startswith("pooler."):
            assert torch.count_nonzero(value) == 0
        else:
            torch.testing.assert_close(value, original[name], rtol=0, atol=0, msg=name)
    from transformers import BertModel

    rebuilt = BertModel(config).eval()
    rebuilt.load_state_dict(sd, strict=False)
    ids = torch.tensor([[2, 7, 8, 3]])
    with torch.no_grad():
        torch.testing.assert_close(rebuilt(ids).last_hidden_state, model(ids).last_hidden_state)


def test_state_dict_strips_wrapper_prefix_and_transposes(tiny_model):
    model, _ = tiny_model
    sd = onnx_bert_state_dict(export_like_torch(model, prefix="some.wrapper."))
    assert "encoder.layer.1.intermediate.dense.weight" in sd
    assert sd["encoder.layer.1.intermediate.dense.weight"].shape == (32, 16)   # (out, in)
    assert not any(k.startswith("some.") for k in sd)


def test_unnamed_matmul_weight_is_an_error(tiny_model):
    model, _ = tiny_model
    proto = export_like_torch(model)
    proto.graph.node[0].name = "MatMul_17"
    with pytest.raises(ValueError, match="MatMul node 'MatMul_17' uses initialiser"):
        onnx_bert_state_dict(proto)


def test_missing_layer_parameter_is_named(tiny_model):
    model, _ = tiny_model
    proto = export_like_torch(model)
    keep = [t for t in proto.graph.initializer if not t.name.endswith("layer.1.output.LayerNorm.bias")]
    del proto.graph.initializer[:]
    proto.graph.initializer.extend(keep)
    with pytest.raises(ValueError, match=r"not found in the ONNX graph: \['encoder.layer.1.output.LayerNorm.bias'\]"):
        onnx_to_bert(proto, num_attention_heads=2)


def test_config_heads_must_divide_hidden():
    sd = {"embeddings.word_embeddings.weight": np.zeros((10, 8)),
          "embeddings.position_embeddings.weight": np.zeros((16, 8)),
          "embeddings.token_type_embeddings.weight": np.zeros((2, 8)),
          "encoder.layer.0.intermediate.dense.weight": np.zeros((32, 8))}
    assert bert_config_from_state_dict(sd, num_attention_heads=4).max_position_embeddings == 16
    with pytest.raises(ValueError, match="not divisible by 3 heads"):
        bert_config_from_state_dict(sd, num_attention_heads=3)


def test_run_onnx_returns_the_token_states_output():
    w = np.arange(6, dtype=np.float32).reshape(2, 3)
    node = helper.make_node("MatMul", ["x", "w"], ["y"])
    graph = helper.make_graph(
        [node], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2, 2])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 2, 3])],
        initializer=[numpy_helper.from_array(w, "w")])
    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    proto.ir_version = 8
    x = np.array([[[1, 0], [1, 1]]], dtype=np.float32)
    y, engine = run_onnx(proto, {"x": x, "unused": x})
    np.testing.assert_array_equal(y, [[[0, 1, 2], [3, 5, 7]]])
    assert engine
