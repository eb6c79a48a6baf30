"""Atomic builds and checksum verification of the preset cache."""

from __future__ import annotations

import hashlib
import json

import pytest

from neuronbook import settings
from neuronbook.models import cache


def models_dir():
    return settings.cache_dir("models")


def test_hash_memo_is_reused_across_processes_and_tracks_changes(tmp_cache, tmp_path, monkeypatch):
    f = tmp_path / "w.bin"
    f.write_bytes(b"weights")
    assert cache.sha256_files([f]) == {str(f): hashlib.sha256(b"weights").hexdigest()}
    memo = json.loads((tmp_cache / "models" / cache.HASH_MEMO).read_text())
    assert memo["files"][str(f.resolve())][-1] == hashlib.sha256(b"weights").hexdigest()
    # A new process reads the memo, not the file (as long as size and mtime are unchanged).
    monkeypatch.setattr(cache, "sha256_file", lambda p, chunk=0: pytest.fail(f"re-hashed {p}"))
    assert cache.sha256_files([f])[str(f)] == hashlib.sha256(b"weights").hexdigest()
    monkeypatch.undo()
    monkeypatch.setenv("NEURONBOOK_CACHE", str(tmp_cache))
    f.write_bytes(b"weights, retrained")
    assert cache.sha256_files([f])[str(f)] == hashlib.sha256(b"weights, retrained").hexdigest()


def test_corrupt_hash_memo_costs_only_a_rehash(tmp_cache, tmp_path):
    f = tmp_path / "w.bin"
    f.write_bytes(b"abc")
    (tmp_cache / "models").mkdir(parents=True)
    (tmp_cache / "models" / cache.HASH_MEMO).write_text("{not json")
    assert cache.sha256_files([f])[str(f)] == hashlib.sha256(b"abc").hexdigest()
    assert json.loads((tmp_cache / "models" / cache.HASH_MEMO).read_text())["format"] == 2


def test_atomic_build_writes_manifest_with_sha256(tmp_cache):
    target = models_dir() / "toy"

    def build(tmp):
        (tmp / "model.safetensors").write_bytes(b"weights")
        (tmp / "config.json").write_text("{}")
        return {"conversion_seconds": 1.5}

    man = cache.atomic_build(target, build, {"preset": "toy"})
    assert man["sha256"] == {"model.safetensors": hashlib.sha256(b"weights").hexdigest()}
    assert json.loads((target / cache.MANIFEST).read_text()) == man
    assert man["preset"] == "toy" and man["conversion_seconds"] == 1.5
    assert cache.verify_dir(target) == (True, "ok")
    # no temporary folders are left beside the result
    assert sorted(p.name for p in target.parent.iterdir()) == [cache.HASH_MEMO, "toy"]


def test_verify_detects_tampering_and_missing_files(tmp_cache):
    target = models_dir() / "toy"
    cache.atomic_build(target, lambda tmp: (tmp / "model.safetensors").write_bytes(b"abc") and None, {})
    (target / "model.safetensors").write_bytes(b"abd")
    ok, reason = cache.verify_dir(target)
    assert not ok and "differs from the recorded" in reason
    (target / "model.safetensors").unlink()
    ok, reason = cache.verify_dir(target)
    assert not ok and reason.endswith("model.safetensors is missing")
    (target / cache.MANIFEST).unlink()
    assert cache.verify_dir(target)[0] is False


def test_failed_build_leaves_old_target_and_no_tmp(tmp_cache):
    target = models_dir() / "toy"
    cache.atomic_build(target, lambda tmp: (tmp / "model.safetensors").write_bytes(b"v1") and None, {})

    def broken(tmp):
        (tmp / "model.safetensors").write_bytes(b"half")
        raise RuntimeError("conversion failed")

    with pytest.raises(RuntimeError, match="conversion failed"):
        cache.atomic_build(target, broken, {})
    assert (target / "model.safetensors").read_bytes() == b"v1"
    assert sorted(p.name for p in target.parent.iterdir()) == [cache.HASH_MEMO, "toy"]
    # a successful rebuild replaces the old one
    cache.atomic_build(target, lambda tmp: (tmp / "model.safetensors").write_bytes(b"v2") and None, {})
    assert (target / "model.safetensors").read_bytes() == b"v2" and cache.verify_dir(target)[0]
