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


CONLLU = """# sent_id = {i}
1\tthe\tthe\tDET\tDT\t_\t2\tdet\t_\t_
2\t{noun}\t{noun}\tNOUN\tNN\t_\t3\tnsubj\t_\t_
3\t{verb}\t{verb}\tVERB\tVBD\t_\t0\troot\t_\t_
4\t.\t.\tPUNCT\t.\t_\t3\tpunct\t_\t_

"""


def write_corpus(path, n, seed):
    """A CoNLL-U file of ``n`` four-word sentences ("the NOUN VERB ."), nouns and verbs drawn with ``seed``."""
    import numpy as np

    rng = np.random.default_rng(seed)
    nouns, verbs = ["cat", "dog", "house", "mat"], ["sat", "ran", "walked", "talked"]
    path.write_text("".join(CONLLU.format(i=i, noun=rng.choice(nouns), verb=rng.choice(verbs)) for i in range(n)))
    return path


def small_result():
    """A six-neuron LCA result whose tag is decided by neuron 2 (two epochs: a fixture, not a finding)."""
    import warnings

    import numpy as np

    from neuronbook.lca import lca_from_arrays

    rng = np.random.default_rng(0)
    X = rng.normal(size=(600, 6)).astype("float32")
    y = np.where(X[:, 2] > 0, "A", "B")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return lca_from_arrays(X[:400], y[:400], X[400:500], y[400:500], X[500:], y[500:], l1=1e-3, l2=1e-3,
                               epochs=2, percents=[50], ablation_percents=[], control=False, progress=False)
