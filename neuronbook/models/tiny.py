"""The ``tiny-random`` preset: a small random BERT built in code, for examples and tests.

Two layers, hidden size 32, four heads, seeded weights, and a lower-casing WordPiece vocabulary
written here: common English words whole, and every Latin letter, digit and punctuation mark both
as a word start and as a ``##`` continuation, so that any Latin-script word tokenizes without
``[UNK]`` (characters outside that set become ``[UNK]``). It needs no package and builds in well
under a second; its activations mean nothing linguistically.

Examples
--------
>>> vocab = tiny_vocab()
>>> vocab[:5], "the" in vocab, "##q" in vocab
(['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'], True, True)
"""

from __future__ import annotations

import string
from pathlib import Path

__all__ = ["TINY_VERSION", "TINY_SEED", "tiny_vocab", "build_tiny_random", "build_tiny_decoder"]

TINY_VERSION = 1  # bump when the vocabulary, the shape or the seed changes: the cached copy is rebuilt
TINY_SEED = 0
TINY_SHAPE = {"hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 4, "intermediate_size": 64,
              "max_position_embeddings": 512}

SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]

WORDS = """
the of and to a in is it you that he was for on are with as i his they be at one have this from or
had by not word but what some we can out other were all there when up use your how said an each she
which do their time if will way about many then them write would like so these her long make thing see
him two has look more day could go come did number sound no most people my over know water than call
first who may down side been now find any new work part take get place made live where after back
little only round man year came show every good me give our under name very through just form sentence
great think say help low line differ turn cause much mean before move right boy old too same tell does
set three want air well also play small end put home read hand port large spell add even land here
must big high such follow act why ask men change went light kind off need house picture try us again
animal point mother world near build self earth father head stand own page should country found answer
school grow study still learn plant cover food sun four between state keep eye never last let thought
city tree cross farm hard start might story saw far sea draw left late run while press close night real
life few north open seem together next white children begin got walk example ease paper group always
music those both mark often letter until mile river car feet care second book carry took science eat
room friend began idea fish mountain stop once base hear horse cut sure watch color face wood main
enough plain girl usual young ready above ever red list though feel talk bird soon body dog family
direct pose leave song measure door product black short numeral class wind question happen complete
ship area half rock order fire south problem piece told knew pass since top whole king space heard best
hour better true during hundred five remember step early hold west ground interest reach fast verb sing
listen six table travel less morning ten simple several vowel toward war lay against pattern slow
center love person money serve appear road map rain rule govern pull cold notice voice unit power town
fine certain fly fall lead cry dark machine note wait plan figure star box noun field rest correct able
pound done beauty drive stood contain front teach week final gave green oh quick develop ocean warm
free minute strong special mind behind clear tail produce fact street inch multiply nothing course stay
wheel full force blue object decide surface deep moon island foot system busy test record boat common
gold possible plane stead dry wonder laugh thousand ago ran check game shape equate hot miss brought
heat snow tire bring yes distant fill east paint language among cat sat mat is am hello brown fox lazy
jump neuron model layer
""".split()

SUFFIXES = ["##s", "##es", "##ed", "##ing", "##ly", "##er", "##est", "##tion", "##ness", "##ment", "##able",
            "##ful", "##less", "##al", "##ity", "##ous", "##ive", "##ize", "##ise", "##y"]


def tiny_vocab() -> list[str]:
    """The WordPiece vocabulary of ``tiny-random``: specials, words, characters, continuations."""
    chars = (string.ascii_lowercase + string.digits + string.punctuation
             + "àáâãäåæçèéêëìíîïñòóôõöøùúûüýÿßœ")
    out, seen = [], set()
    for piece in SPECIAL + WORDS + SUFFIXES + list(chars) + [f"##{c}" for c in chars]:
        if piece not in seen:
            seen.add(piece)
            out.append(piece)
    return out


def build_tiny_random(folder) -> dict:
    """Write the ``tiny-random`` model and fast tokenizer into ``folder`` (save_pretrained layout).

    The global torch random state is left as it was.
    """
    import torch
    from transformers import BertConfig, BertModel, BertTokenizerFast
    from transformers.utils import logging as hf_logging

    folder = Path(folder)
    vocab = tiny_vocab()
    tokenizer = BertTokenizerFast(vocab={p: i for i, p in enumerate(vocab)}, do_lower_case=True,
                                  unk_token="[UNK]", pad_token="[PAD]", cls_token="[CLS]", sep_token="[SEP]",
                                  mask_token="[MASK]",
                                  model_max_length=TINY_SHAPE["max_position_embeddings"])
    config = BertConfig(vocab_size=len(vocab), pad_token_id=0, **TINY_SHAPE)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(TINY_SEED)
        model = BertModel(config).eval()
    bars = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()  # library code never prints
    try:
        model.save_pretrained(folder)
        tokenizer.save_pretrained(folder)
    finally:
        if bars:
            hf_logging.enable_progress_bar()
    return {"vocabulary": len(vocab), "seed": TINY_SEED}


# ----------------------------------------------------------------------------- tiny decoders
#: Text the tiny decoders' tokenizers learn their merges from (so that common words are one piece and
#: rarer ones several, and a few pieces join punctuation to what precedes it: ``."``, ``),``).
DECODER_TEXT = [
    'The cat sat on the mat.', 'A dog ran in the house, and it was big.', 'She said "no."',
    'They walk to the river (slowly), then they run.', 'He is reading a book about neurons.',
    "It didn't rain, so the children played outside.", 'Unbelievable! The model learned the layer.',
    'The quick brown fox jumps over the lazy dog.', 'We saw three birds (two red), one blue.',
]


def _decoder_tokenizer(kind: str, vocab_size: int):
    """A fast tokenizer built in code: ``"byte-bpe"`` (GPT-2 style: byte-level BPE, no special token
    added) or ``"sentencepiece"`` (Llama/Gemma style: ``▁`` marks a word start, no pre-tokenizer so
    pieces may span words, byte fallback, a leading ``<bos>``)."""
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    if kind == "byte-bpe":
        tok = Tokenizer(models.BPE())
        tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        tok.decoder = decoders.ByteLevel()
        trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=["<|endoftext|>"],
                                      initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
        tok.train_from_iterator(DECODER_TEXT, trainer)
        return PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<|endoftext|>", eos_token="<|endoftext|>",
                                       unk_token="<|endoftext|>", pad_token="<|endoftext|>", model_max_length=64)
    if kind == "sentencepiece":
        tok = Tokenizer(models.BPE(byte_fallback=True, unk_token="<unk>"))
        tok.normalizer = normalizers.Sequence([normalizers.Prepend("▁"), normalizers.Replace(" ", "▁")])
        tok.decoder = decoders.Sequence([decoders.Replace("▁", " "), decoders.ByteFallback(), decoders.Fuse(),
                                         decoders.Strip(" ", 1, 0)])
        bytes_ = [f"<0x{b:02X}>" for b in range(256)]
        trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=["<pad>", "<unk>", "<bos>", "<eos>"]
                                      + bytes_, show_progress=False)
        tok.train_from_iterator(DECODER_TEXT, trainer)
        tok.post_processor = processors.TemplateProcessing(single="<bos> $A", pair="<bos> $A <bos> $B",
                                                           special_tokens=[("<bos>", tok.token_to_id("<bos>"))])
        return PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<bos>", eos_token="<eos>", unk_token="<unk>",
                                       pad_token="<pad>", model_max_length=64)
    raise ValueError(f"kind must be 'byte-bpe' or 'sentencepiece', got {kind!r}")


def build_tiny_decoder(arch: str = "llama", *, seed: int = TINY_SEED, max_position_embeddings: int = 64,
                       hidden_size: int = 32, num_hidden_layers: int = 2):
    """A tiny random causal decoder and its fast tokenizer, built in code (no file, no network).

    Parameters
    ----------
    arch : {"llama", "gpt2"}
        ``"llama"``: a LlamaModel with a SentencePiece-style BPE (``<bos>`` first, ``▁`` word starts);
        ``"gpt2"``: a GPT2Model with a byte-level BPE (``Ġ`` word starts, no special token).
    seed, max_position_embeddings, hidden_size, num_hidden_layers
        Shape and seed; the global torch random state is left as it was.

    Returns
    -------
    (model, tokenizer)

    Examples
    --------
    >>> model, tok = build_tiny_decoder("gpt2")
    >>> type(model).__name__, tok.convert_ids_to_tokens(tok("The cat sat.")["input_ids"])
    ('GPT2Model', ['The', 'Ġcat', 'Ġsat', '.'])
    >>> model, tok = build_tiny_decoder("llama")
    >>> type(model).__name__, tok.convert_ids_to_tokens(tok("The cat")["input_ids"])  # a piece spans two words
    ('LlamaModel', ['<bos>', '▁The▁', 'c', 'at'])
    """
    import torch
    from transformers import GPT2Config, GPT2Model, LlamaConfig, LlamaModel

    if arch == "gpt2":
        tok = _decoder_tokenizer("byte-bpe", 400)
        config = GPT2Config(vocab_size=len(tok), n_embd=hidden_size, n_layer=num_hidden_layers, n_head=4,
                            n_positions=max_position_embeddings, bos_token_id=tok.bos_token_id,
                            eos_token_id=tok.eos_token_id)
        cls = GPT2Model
    elif arch == "llama":
        tok = _decoder_tokenizer("sentencepiece", 420)
        config = LlamaConfig(vocab_size=len(tok), hidden_size=hidden_size, num_hidden_layers=num_hidden_layers,
                             num_attention_heads=4, num_key_value_heads=2, intermediate_size=2 * hidden_size,
                             max_position_embeddings=max_position_embeddings, pad_token_id=tok.pad_token_id,
                             bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id)
        cls = LlamaModel
    else:
        raise ValueError(f"arch must be 'llama' or 'gpt2', got {arch!r}")
    tok.model_max_length = max_position_embeddings
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = cls(config).eval()
    return model, tok
