"""Shared fixtures: a tiny random BERT with a vocabulary written in code."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

REPO = Path(__file__).resolve().parents[1]

# Whole words and "##" continuation pieces, so that words split into several pieces.
TINY_VOCAB = [
    "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]",
    "the", "a", "cat", "dog", "sat", "on", "mat", "and", "ran", "big", "small",
    "house", "is", "was", "it", "he", "she", "they", ".", ",", "!", "?",
    "un", "##believ", "##able", "##s", "##ing", "##ed", "##ly", "##er",
    "walk", "talk", "quick", "slow", "run", "jump", "in", "of", "to",
    "x", "##x", "y", "##y", "z", "##z", "red", "blue", "green",
]


def make_tiny_model(seed: int = 0, max_position_embeddings: int = 64, hidden_size: int = 16,
                    num_hidden_layers: int = 2):
    """A random BertModel and its fast tokenizer, built without any file or network."""
    import torch
    from transformers import BertConfig, BertModel, BertTokenizerFast

    vocab = {piece: i for i, piece in enumerate(TINY_VOCAB)}
    tokenizer = BertTokenizerFast(vocab=vocab, do_lower_case=True)
    config = BertConfig(
        vocab_size=len(TINY_VOCAB), hidden_size=hidden_size, num_hidden_layers=num_hidden_layers,
        num_attention_heads=2, intermediate_size=32,
        max_position_embeddings=max_position_embeddings,
    )
    torch.manual_seed(seed)
    model = BertModel(config).eval()
    return model, tokenizer


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
