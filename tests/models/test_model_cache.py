"""Atomic builds and checksum verification of the preset cache."""

from __future__ import annotations

import hashlib
import json

import pytest

from neuronbook.models import cache


def test_cache_root_follows_env(tmp_cache):
    assert cache.cache_root() == tmp_cache
    assert cache.models_dir() == tmp_cache / "models"


def test_atomic_build_writes_manifest_with_sha256(tmp_cache):
    target = cache.models_dir() / "toy"

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
    assert [p.name for p in target.parent.iterdir()] == ["toy"]


def test_verify_detects_tampering_and_missing_files(tmp_cache):
    target = cache.models_dir() / "toy"
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
    target = cache.models_dir() / "toy"
    cache.atomic_build(target, lambda tmp: (tmp / "model.safetensors").write_bytes(b"v1") and None, {})

    def broken(tmp):
        (tmp / "model.safetensors").write_bytes(b"half")
        raise RuntimeError("conversion failed")

    with pytest.raises(RuntimeError, match="conversion failed"):
        cache.atomic_build(target, broken, {})
    assert (target / "model.safetensors").read_bytes() == b"v1"
    assert [p.name for p in target.parent.iterdir()] == ["toy"]
    # a successful rebuild replaces the old one
    cache.atomic_build(target, lambda tmp: (tmp / "model.safetensors").write_bytes(b"v2") and None, {})
    assert (target / "model.safetensors").read_bytes() == b"v2" and cache.verify_dir(target)[0]
