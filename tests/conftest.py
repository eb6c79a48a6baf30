"""Shared fixtures: a tiny random BERT with a vocabulary written in code."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tiny import make_tiny_model

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def tiny_model():
    return make_tiny_model()


@pytest.fixture
def tmp_cache(tmp_path, monkeypatch):
    """A private cache directory so tests never share or leave stores behind."""
    cache = tmp_path / "cache"
    monkeypatch.setenv("NEURONBOOK_CACHE", str(cache))
    return cache


@pytest.fixture
def shared_data():
    """The annotated corpora, from ``$NEURONBOOK_DATA`` (what the package itself reads).

    Unset or missing is a skip with the reason spelled out, except in CI, where the data must be
    there and its absence fails the test instead of silently skipping it.
    """
    env = os.environ.get("NEURONBOOK_DATA")
    path = Path(env) if env else None
    if path is None or not (path / "ud").is_dir():
        why = f"NEURONBOOK_DATA={env!r} does not hold ud/" if env else "NEURONBOOK_DATA is not set"
        if os.environ.get("CI"):
            pytest.fail(f"{why}: CI must run with the shared corpora")
        pytest.skip(why)
    return path
