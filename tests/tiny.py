"""A tiny random BERT with a vocabulary written in code (importable as ``tiny`` from any test)."""

from __future__ import annotations

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
