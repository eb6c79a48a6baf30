"""Reading a zip split over several files."""

from __future__ import annotations

import io
import zipfile

import pytest

from neuronbook.models.mpnet_zip import MultiPartFile, extract_split_zip


def test_multipart_reads_and_seeks_across_boundaries(tmp_path):
    parts = []
    for i, chunk in enumerate([b"abc", b"", b"defg", b"h"]):
        p = tmp_path / f"p{i}"
        p.write_bytes(chunk)
        parts.append(p)
    with MultiPartFile(parts) as f:
        assert f.read() == b"abcdefgh"
        assert f.seek(2) == 2 and f.read(4) == b"cdef"
        assert f.seek(-2, io.SEEK_END) == 6 and f.read(10) == b"gh"
        assert f.read(1) == b""


def _split(data: bytes, folder, sizes):
    parts, start = [], 0
    for i, n in enumerate(sizes + [len(data)]):
        p = folder / f"m.zip.{i + 1:03d}"
        p.write_bytes(data[start:start + n] if i < len(sizes) else data[start:])
        start += n
        parts.append(p)
    return parts


def test_extract_split_zip_round_trip(tmp_path):
    buf = io.BytesIO()
    payload = bytes(range(256)) * 400
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("all-mpnet-base-v2/config.json", '{"model_type": "mpnet"}')
        zf.writestr("all-mpnet-base-v2/desktop.ini", "junk")
        zf.writestr("all-mpnet-base-v2/1_Pooling/config.json", "{}")
        zf.writestr("all-mpnet-base-v2/model.safetensors", payload)
        zf.writestr("elsewhere.txt", "not extracted")
    parts = _split(buf.getvalue(), tmp_path, [100, 30000, 5])
    out = tmp_path / "out"
    written = extract_split_zip(parts, "all-mpnet-base-v2", out)
    assert sorted(written) == ["1_Pooling/config.json", "config.json", "model.safetensors"]
    assert (out / "model.safetensors").read_bytes() == payload
    assert (out / "config.json").read_text() == '{"model_type": "mpnet"}'
    assert not (out / "desktop.ini").exists() and not (out / "elsewhere.txt").exists()
    with pytest.raises(ValueError, match="no files under 'nothing/'"):
        extract_split_zip(parts, "nothing", tmp_path / "x")
