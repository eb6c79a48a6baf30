"""Word-level activations of every layer of a transformer, written to an :class:`ActivationStore`.

:func:`extract` runs four stages, each a small function of its own:

1. **plan** (:func:`_plan`): every sentence is tokenized once with the fast tokenizer
   (``is_split_into_words=True``); alignment comes from ``word_ids()``, never from string matching.
   A word that the tokenizer turns into no piece (a lone control or zero-width character, say) is
   fed to the model as the unknown token, so it still gets a vector computed in context
   (:class:`~neuronbook.exceptions.UnknownWordsWarning`). A single word of more pieces than half the
   window (a long URL, say) keeps only its first and last pieces, so that it still has context
   around it (:class:`~neuronbook.exceptions.ClippedWordsWarning`). A sentence with more pieces than
   the model takes is cut into overlapping windows on word boundaries; each word takes its vector
   from the window where it has the most context on both sides. No sentence is truncated and no
   word is dropped.
2. **key** (:func:`store_key`): what determines the store's content -- model identity, tokenizer,
   aggregation, dtype, corpus words, window settings, the versions of neuronbook and of the
   libraries that compute the numbers (:func:`library_versions`). A model given by name is
   keyed from its files (:func:`neuronbook.models.model_identity`) without loading it, and a store
   already in the cache is returned once it passes the open check (sizes and sampled digests, see
   :mod:`neuronbook.store`); one that fails it is logged, renamed ``<key>.damaged-<time>-<pid>`` and
   extracted again. Temporary folders of writers that died are removed on the way.
3. **run batches** (:func:`_run_batches`): segments (sentences or windows) are sorted by length and
   packed into batches bounded by a token budget (padded length x batch size), so padding is small
   and memory bounded; pieces are aggregated to words (``first``, ``last`` or ``mean``) with index
   operations, a few hundred words at a time into one small reused buffer.
4. **write** (:func:`_write`): each chunk of word vectors goes to the store with positioned writes
   (one per run of consecutive rows; the store is never mapped into the process while written),
   and the store is renamed into place only once complete.

The whole of stages 1, 3 and 4 runs with the automatic garbage collector paused (see
:func:`_gc_paused`).
"""

from __future__ import annotations

import contextlib
import functools
import gc
import itertools
import logging
import os
import tempfile
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np

from .config import AGGREGATIONS  # one definition; the config validates against it
from .exceptions import ClippedWordsWarning, UnknownWordsWarning
from .settings import cache_dir, progress_enabled
from .store import ActivationStore, StoreIntegrityError, content_key, remove_stale_temporaries

__all__ = ["extract", "store_key", "store_path", "library_versions", "best_device", "resolve_aggregation",
           "AGGREGATIONS"]

logger = logging.getLogger(__name__)

DTYPES = ("float32", "float16")
_NUMERIC_LIBRARIES = ("torch", "transformers", "tokenizers")
_SHOWN = 5  # (sentence, word) examples named in a warning
_CHUNK_WORDS = 256  # words aggregated and written at a time (7 x 384 float32: 2.6 MiB)
#: Key field of decoder stores: words after the first read with a leading space where the tokenizer
#: needs one (:func:`_word_prefix`), long sentences windowed by left context.
_CAUSAL_ALIGNMENT = "causal-1"


@dataclass
class _Segment:
    """A run of consecutive words of one sentence, fed to the model as one sequence."""

    sentence: int
    piece_ids: list[int]   # content pieces, no special tokens
    piece_word: list[int]  # for each piece, its word index within the segment
    word_rows: np.ndarray  # global store row of each word of the segment (-1: vector taken elsewhere)


@dataclass
class _Plan:
    """What the model will be fed: segments, and what the tokenization had to bend."""

    segments: list[_Segment]
    n_windowed: int = 0
    unknown: list[tuple[int, int, str]] = field(default_factory=list)      # (sentence, word, text)
    clipped: list[tuple[int, int, int, int]] = field(default_factory=list)  # (sentence, word, pieces, kept)
    word_prefix: str = ""  # put before every word but the first (a byte-level BPE decoder: " ")

    @property
    def n_pieces(self) -> int:
        return sum(len(s.piece_ids) for s in self.segments)


# ------------------------------------------------------------------------------------- inputs
_EXPECTED = "a Corpus or a list of sentences, each a list of word strings ([['the', 'cat'], ['it', 'sat']])"


def _sentences_of(corpus) -> list[list[str]]:
    """The corpus as lists of words; anything else is an error naming what was expected."""
    if corpus is None:
        raise ValueError(f"extract needs a corpus: {_EXPECTED}")
    # a str or bytes is iterable: it would become one sentence per character
    if isinstance(corpus, (str, bytes)):
        raise TypeError(f"corpus must be {_EXPECTED}, got {type(corpus).__name__} "
                        f"{_short(corpus)}; split the text into sentences of words first")
    sentences = corpus.sentences if hasattr(corpus, "sentences") else corpus
    if isinstance(sentences, dict) or not hasattr(sentences, "__iter__"):
        raise TypeError(f"corpus must be {_EXPECTED}, got {type(corpus).__name__}")
    out = []
    for i, sent in enumerate(sentences):
        if isinstance(sent, (str, bytes)):
            raise TypeError(f"sentence {i} is {type(sent).__name__} {_short(sent)}, not a list of words: the "
                            f"corpus must be {_EXPECTED}")
        if isinstance(sent, dict) or not hasattr(sent, "__iter__"):
            raise TypeError(f"sentence {i} is {type(sent).__name__} {_short(sent)}, not a list of words: the corpus must be "
                            f"{_EXPECTED}")
        sent = list(sent)
        if len(sent) == 0:
            raise ValueError(f"sentence {i} has no words; remove it from the corpus before extraction")
        for j, w in enumerate(sent):
            if not isinstance(w, str):
                raise TypeError(f"sentence {i}, word {j}: expected str, got {type(w).__name__} ({_short(w)})")
            if not w:
                raise ValueError(f"sentence {i}, word {j} is the empty string")
        out.append(sent)
    if not out:
        raise ValueError(f"the corpus has no sentences: extract needs {_EXPECTED}")
    return out


def _short(value, limit: int = 40) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _words_fingerprint(corpus, sentences: list[list[str]]) -> str:
    """The corpus's length-prefixed words fingerprint (a plain list is wrapped in a Corpus)."""
    if hasattr(corpus, "words_fingerprint"):
        return corpus.words_fingerprint()
    from .corpus import Corpus

    return Corpus(sentences).words_fingerprint()


def _check_options(aggregation: str, dtype) -> str:
    if aggregation not in AGGREGATIONS and aggregation != "auto":
        raise ValueError(f"aggregation must be 'auto' or one of {AGGREGATIONS}, got {aggregation!r}")
    name = np.dtype(dtype).name
    if name not in DTYPES:
        raise ValueError(f"dtype must be float32 or float16, got {dtype!r}")
    return name


def _split_model(model, tokenizer):
    """``(model, tokenizer)`` from a model, a name or a (model, tokenizer) pair; nothing is loaded."""
    if isinstance(model, (tuple, list)):
        if len(model) != 2:
            raise ValueError("a model pair must be (model, tokenizer)")
        model, pair_tokenizer = model
        tokenizer = tokenizer if tokenizer is not None else pair_tokenizer
    if isinstance(model, Path):
        model = str(model)
    if not isinstance(model, str) and tokenizer is None:
        raise ValueError("pass tokenizer= with a model object (or give the model by name)")
    if tokenizer is not None and not getattr(tokenizer, "is_fast", False):
        raise TypeError(
            f"{type(tokenizer).__name__} is not a fast tokenizer; word alignment needs word_ids() "
            "(load it with AutoTokenizer.from_pretrained(..., use_fast=True))"
        )
    return model, tokenizer


# ---------------------------------------------------------------------------------- stage: key
def _key_fields(identity: dict, tokenizer, words_fingerprint: str, *, aggregation: str, dtype: str,
                max_length: int | None, window_overlap: int | None, causal: bool = False) -> dict:
    """Everything the store's content depends on.

    A model given by name with no tokenizer is keyed by its identity alone (whose fingerprint
    covers the tokenizer files); otherwise the tokenizer's own fingerprint is added. ``max_length``
    is the user's value or the model's position limit; the effective window and overlap follow
    from it and the tokenizer, so they need no field of their own.
    """
    from . import __version__
    from .models.identity import is_paired_unchanged, tokenizer_fingerprint

    limit = max_length if max_length is not None else identity.get("max_length")
    fields = {
        "model": identity["model"],
        "fingerprint": identity["fingerprint"],
        # a tokenizer load_model made with this model, unchanged, is covered by the model's fingerprint:
        # then a (model, tokenizer) pair and the model's name key the same store
        "tokenizer": None if tokenizer is None or is_paired_unchanged(tokenizer, identity["fingerprint"])
        else tokenizer_fingerprint(tokenizer),
        "aggregation": aggregation,
        "dtype": dtype,
        "corpus": words_fingerprint,
        "max_length": None if limit is None else int(limit),
        "window_overlap": None if window_overlap is None else int(window_overlap),
        "version": __version__,
        "libraries": library_versions(),
    }
    if causal:  # only decoders carry it, so that the keys of encoder stores are what they always were
        fields["alignment"] = _CAUSAL_ALIGNMENT
    return fields


@functools.lru_cache(maxsize=None)
def _versions() -> tuple[tuple[str, str | None], ...]:
    from importlib import metadata

    out = []
    for name in _NUMERIC_LIBRARIES:
        try:
            out.append((name, metadata.version(name)))
        except metadata.PackageNotFoundError:
            out.append((name, None))
    return tuple(out)


def library_versions() -> dict:
    """Versions of the libraries whose code computes the activations (model code, kernels, tokenization).

    Part of every store key: an upgrade of any of them may change the numbers (a kernel, a default
    attention implementation, a pre-tokenizer fix), so its stores are extracted again.

    Examples
    --------
    >>> sorted(library_versions())
    ['tokenizers', 'torch', 'transformers']
    """
    return dict(_versions())


def store_key(model, corpus, *, tokenizer=None, aggregation: str = "auto", dtype: str = "float32",
              max_length: int | None = None, window_overlap: int | None = None, intervention=None) -> str:
    """The key (folder name) of the store :func:`extract` makes for these arguments, cheaply.

    A model given by name is identified from its files
    (:func:`neuronbook.models.model_identity`); its weights are never loaded. Use it to key
    results derived from a store without opening (or computing) the store.

    Parameters
    ----------
    model, corpus, tokenizer, aggregation, dtype, max_length, window_overlap, intervention
        As for :func:`extract`.

    Returns
    -------
    str
        24 hex digits; equal keys mean equal store contents.

    Examples
    --------
    >>> from transformers import BertConfig, BertModel, BertTokenizerFast
    >>> tok = BertTokenizerFast(vocab={"[PAD]": 0, "[UNK]": 1, "[CLS]": 2, "[SEP]": 3, "a": 4, "b": 5})
    >>> model = BertModel(BertConfig(vocab_size=6, hidden_size=8, num_hidden_layers=1,
    ...                              num_attention_heads=2, intermediate_size=8))
    >>> key = store_key(model, [["a", "b"]], tokenizer=tok)
    >>> key == store_key((model, tok), [["a", "b"]]), key == store_key(model, [["a\tb"]], tokenizer=tok)
    (True, False)
    """
    return content_key(_fields_for(model, corpus, tokenizer, aggregation, dtype, max_length, window_overlap,
                                   intervention)[0])


def _fields_for(model, corpus, tokenizer, aggregation, dtype, max_length, window_overlap, intervention=None):
    """Key fields and the pieces they came from: (fields, model, tokenizer, identity, sentences).

    An intervention adds one field, ``"intervention"`` (its :meth:`~neuronbook.interventions.Intervention.key_fields`);
    without one the fields, and so the clean store's key, are what they always were.
    """
    from .models import model_identity

    from .models.identity import is_causal

    dtype = _check_options(aggregation, dtype)
    model, tokenizer = _split_model(model, tokenizer)
    sentences = _sentences_of(corpus)
    identity = model_identity(model)
    causal = is_causal(model)
    aggregation = resolve_aggregation(aggregation, causal)
    fields = _key_fields(identity, tokenizer, _words_fingerprint(corpus, sentences), aggregation=aggregation,
                         dtype=dtype, max_length=max_length, window_overlap=window_overlap, causal=causal)
    if intervention is not None:
        from .interventions import as_intervention

        fields["intervention"] = as_intervention(intervention).key_fields()
    return fields, model, tokenizer, identity, sentences


def resolve_aggregation(aggregation: str, causal: bool) -> str:
    """The aggregation ``"auto"`` stands for: ``"last"`` for a causal decoder, ``"mean"`` for an encoder.

    A decoder's earlier pieces of a word have not seen its later ones; only the last piece has read
    the whole word (docs/models.md, "Decoders", has the dev figures behind this choice). Any other
    value is returned as it is.

    Examples
    --------
    >>> resolve_aggregation("auto", True), resolve_aggregation("auto", False), resolve_aggregation("first", True)
    ('last', 'mean', 'first')
    """
    if aggregation == "auto":
        return "last" if causal else "mean"
    return aggregation


# --------------------------------------------------------------------------------- stage: plan
def _word_prefix(tokenizer) -> str:
    """What goes before every word but the first so that word-by-word tokenization matches running text.

    With ``is_split_into_words`` each word is pre-tokenized alone. WordPiece and SentencePiece
    encoders mark a word start by themselves, so ``""``; a byte-level BPE (GPT-2, Llama 3, SmolLM2)
    or a SentencePiece model without a pre-tokenizer (Gemma) would read ``cat`` instead of ``Ġcat``
    / ``▁cat``, the piece it saw in training, so ``" "``. Decided on a probe sentence by comparing
    both with the tokenization of the words joined by spaces; ``""`` when neither matches.
    """
    words = ["The", "cat", "sat", "on", "the", "mat", ",", "didn", "'t", "it", "?"]
    text = tokenizer(" ".join(words), add_special_tokens=False)["input_ids"]
    for prefix in ("", " "):
        fed = [words[0]] + [prefix + w for w in words[1:]]
        if tokenizer([fed], is_split_into_words=True, add_special_tokens=False)["input_ids"][0] == text:
            return prefix
    logger.info("%s: word-by-word tokenization matches running text with no prefix; using none",
                type(tokenizer).__name__)
    return ""


def _special_tokens(tokenizer) -> tuple[list[int], list[int]]:
    """Ids the tokenizer puts before and after the pieces of a single sequence (e.g. [CLS], [SEP])."""
    enc = tokenizer([["a", "b"]], is_split_into_words=True, add_special_tokens=True)
    ids, wids = enc["input_ids"][0], enc.word_ids(0)
    content = [k for k, w in enumerate(wids) if w is not None]
    if not content:
        raise ValueError(f"{type(tokenizer).__name__} produced no content piece for a probe sentence")
    return list(ids[: content[0]]), list(ids[content[-1] + 1 :])


def _check_not_all_unknown(ids_per_sentence, unk_id, n_words: int, tokenizer) -> None:
    """A tokenizer that reads every word as the unknown token is broken, not a corpus problem.

    Checked on the tokenizer's own pieces: a word with no piece is read as the unknown token too,
    so "every piece is unknown" before that replacement means the same after it.
    """
    if unk_id is None or any(pid != unk_id for ids in ids_per_sentence for pid in ids):
        return
    raise ValueError(
        f"every word of the corpus ({n_words} words) is read as the unknown token by "
        f"{type(tokenizer).__name__}: its vocabulary is missing or does not fit this model "
        "(check the model folder's tokenizer files)"
    )


def _irregular(word_ids, lengths: np.ndarray, n_pieces: np.ndarray, cap: int):
    """Which sentences need the word-by-word treatment, and each word's piece count.

    A sentence is regular when its pieces name its words in order and every word has from 1 to
    ``cap`` pieces: then the tokenizer's own lists are the segment as they are. Checked on the whole
    corpus at once with array operations, so no Python object is made per word.
    """
    n_sent = len(lengths)
    total = int(n_pieces.sum())
    try:
        w = np.fromiter(itertools.chain.from_iterable(word_ids), dtype=np.int64, count=total)
    except TypeError:  # a piece with no word (None): never from is_split_into_words, but handled
        w = np.fromiter((-1 if x is None else x for x in itertools.chain.from_iterable(word_ids)),
                        dtype=np.int64, count=total)
    sent_of_piece = np.repeat(np.arange(n_sent), n_pieces)
    word_base = np.concatenate([[0], np.cumsum(lengths)])
    outside = (w < 0) | (w >= lengths[sent_of_piece])
    g = np.where(outside, -1, w + word_base[sent_of_piece])
    counts = np.bincount(g[~outside], minlength=int(word_base[-1]))
    bad = np.zeros(n_sent, dtype=bool)
    bad[sent_of_piece[outside]] = True
    backwards = (np.diff(g) < 0) & (sent_of_piece[1:] == sent_of_piece[:-1])
    bad[sent_of_piece[1:][backwards]] = True
    bad[np.repeat(np.arange(n_sent), lengths)[(counts == 0) | (counts > cap)]] = True
    return bad, counts, word_base


def _bend(i: int, sent: list[str], ids, word_ids, unk_id, cap: int):
    """One irregular sentence, word by word: a word with no piece becomes the unknown token, a word of
    more than ``cap`` pieces keeps its first and last pieces (so that it still has context around it).

    Returns ``(ids, word_ids, counts, unknown, clipped)`` with unknown as (sentence, word, text) and
    clipped as (sentence, word, pieces before, pieces kept).
    """
    per_word: list[list[int]] = [[] for _ in sent]
    for pid, w in zip(ids, word_ids):
        if w is not None:
            per_word[w].append(pid)
    unknown, clipped = [], []
    head = (cap + 1) // 2
    for j, p in enumerate(per_word):
        if not p:
            if unk_id is None:
                raise ValueError(f"sentence {i}, word {j} ({sent[j]!r}) produces no piece and the tokenizer "
                                 "has no unknown token to stand in for it")
            per_word[j] = [unk_id]
            unknown.append((i, j, sent[j]))
        elif len(p) > cap:
            per_word[j] = p[:head] + p[len(p) - (cap - head):]
            clipped.append((i, j, len(p), cap))
    flat_ids = [pid for p in per_word for pid in p]
    flat_words = [j for j, p in enumerate(per_word) for _ in p]
    return flat_ids, flat_words, np.array([len(p) for p in per_word], dtype=np.int64), unknown, clipped


def _windows(lengths: Sequence[int], max_pieces: int, overlap: int) -> list[tuple[int, int]]:
    """Cut words with the given piece counts into windows of at most ``max_pieces`` pieces.

    Windows are half-open word ranges; consecutive windows share about ``overlap`` pieces.
    """
    n = len(lengths)
    starts = np.concatenate([[0], np.cumsum(lengths)])
    windows = []
    s = 0
    while True:
        e = s
        while e < n and starts[e + 1] - starts[s] <= max_pieces:
            e += 1
        if e == s:
            raise ValueError(
                f"word {s} has {lengths[s]} pieces, more than the model's {max_pieces}-piece window"
            )
        windows.append((s, e))
        if e == n:
            return windows
        # Next window starts so that about `overlap` pieces of context are shared, always moving on.
        nxt = int(np.searchsorted(starts, starts[e] - overlap, side="left"))
        s = min(max(nxt, s + 1), e)


def _assign_windows(lengths, windows, *, causal: bool = False) -> np.ndarray:
    """For each word, the window where it has the most context (true sentence edges count as full).

    A causal decoder sees only what precedes a piece: there a word goes to the window where it has
    the most pieces before it (the right side does not count).
    """
    starts = np.concatenate([[0], np.cumsum(lengths)])
    n = len(lengths)
    best = np.full(n, -1)
    best_score = np.full(n, -np.inf)
    for k, (s, e) in enumerate(windows):
        for w in range(s, e):
            left = np.inf if s == 0 else starts[w] - starts[s]
            right = np.inf if e == n or causal else starts[e] - starts[w + 1]
            score = min(left, right)
            if score > best_score[w]:
                best_score[w], best[w] = score, k
    return best


def _plan(tokenizer, sentences: list[list[str]], max_pieces: int, overlap: int, *, causal: bool = False) -> _Plan:
    """Stage 1: tokenize once, bend the words that need it, cut long sentences into windows.

    Alignment comes from ``word_ids()``. Most sentences are regular (every word 1 to ``cap`` pieces)
    and use the tokenizer's lists as they are; only the others are rebuilt word by word
    (:func:`_bend`). Per-word Python lists for a whole corpus would cost more in garbage-collector
    passes over the (large) heap of a process with a model loaded than in building them.
    """
    cap = max(1, max_pieces // 2)
    unk_id = tokenizer.unk_token_id
    prefix = _word_prefix(tokenizer) if causal else ""  # encoders: fed as they always were
    fed = sentences if not prefix else [[s[0]] + [prefix + w for w in s[1:]] for s in sentences]
    enc = tokenizer(fed, is_split_into_words=True, add_special_tokens=False)
    ids_of = [enc["input_ids"][i] for i in range(len(sentences))]
    words_of = [enc.word_ids(i) for i in range(len(sentences))]
    lengths = np.fromiter(map(len, sentences), dtype=np.int64, count=len(sentences))
    _check_not_all_unknown(ids_of, unk_id, int(lengths.sum()), tokenizer)
    n_pieces = np.fromiter(map(len, ids_of), dtype=np.int64, count=len(sentences))
    bad, counts, word_base = _irregular(words_of, lengths, n_pieces, cap)
    segments: list[_Segment] = []
    unknown, clipped = [], []
    n_windowed = 0
    for i, sent in enumerate(sentences):
        ids, wids = ids_of[i], words_of[i]
        start, end = int(word_base[i]), int(word_base[i + 1])
        lens = counts[start:end]
        if bad[i]:
            ids, wids, lens, unk_i, clip_i = _bend(i, sent, ids, wids, unk_id, cap)
            unknown.extend(unk_i)
            clipped.extend(clip_i)
        rows = np.arange(start, end)
        if len(ids) <= max_pieces:
            segments.append(_Segment(i, list(ids), list(wids), rows))
            continue
        n_windowed += 1
        lens = lens.tolist()
        windows = _windows(lens, max_pieces, overlap)
        owner = _assign_windows(lens, windows, causal=causal)
        piece_start = np.concatenate([[0], np.cumsum(lens)]).tolist()
        for k, (s, e) in enumerate(windows):
            a, b = piece_start[s], piece_start[e]
            seg_rows = np.where(owner[s:e] == k, rows[s:e], -1)
            segments.append(_Segment(i, list(ids[a:b]), [w - s for w in wids[a:b]], seg_rows))
    if n_windowed:
        logger.info("%d sentences longer than %d pieces were split into windows", n_windowed, max_pieces)
    return _Plan(segments, n_windowed, unknown, clipped, prefix)


def _warn_plan(plan: _Plan, sentences, unk_token, max_pieces: int) -> None:
    """One warning per kind of bent word, naming the count and the first few (sentence, word)."""
    if plan.unknown:
        shown = ", ".join(f"sentence {i} word {j} ({w!r})" for i, j, w in plan.unknown[:_SHOWN])
        more = f", and {len(plan.unknown) - _SHOWN} more" if len(plan.unknown) > _SHOWN else ""
        warnings.warn(
            f"{len(plan.unknown)} word(s) produced no piece and were read as the unknown token "
            f"{unk_token!r}: {shown}{more}. The store's metadata lists them all ('words_unknown').",
            UnknownWordsWarning, stacklevel=4,
        )
    if plan.clipped:
        shown = ", ".join(
            f"sentence {i} word {j} ({sentences[i][j][:20]!r}, {n} pieces)" for i, j, n, _ in plan.clipped[:_SHOWN]
        )
        more = f", and {len(plan.clipped) - _SHOWN} more" if len(plan.clipped) > _SHOWN else ""
        warnings.warn(
            f"{len(plan.clipped)} word(s) have more pieces than half the model's {max_pieces}-piece window; "
            f"their vectors use only their first and last {plan.clipped[0][3]} pieces: {shown}{more}. "
            "The store's metadata lists them all ('words_clipped').",
            ClippedWordsWarning, stacklevel=4,
        )


# -------------------------------------------------------------------------- stage: run batches
def _batches(segments: list[_Segment], token_budget: int, n_special: int):
    order = sorted(range(len(segments)), key=lambda k: len(segments[k].piece_ids))
    batch: list[int] = []
    longest = 0
    for k in order:
        length = len(segments[k].piece_ids) + n_special
        if batch and max(longest, length) * (len(batch) + 1) > token_budget:
            yield batch
            batch, longest = [], 0
        batch.append(k)
        longest = max(longest, length)
    if batch:
        yield batch


def _run_batches(model, plan: _Plan, *, prefix, suffix, pad_id: int, token_budget: int, device: str,
                 aggregation: str, dtype: str, progress: bool) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Stage 3: feed the segments in batches; yield (store rows, words x layers x hidden in ``dtype``).

    Words come in chunks of at most ``_CHUNK_WORDS``; the yielded array is a view of one buffer
    reused from chunk to chunk: write it before asking for the next one.
    """
    import torch
    from tqdm.auto import tqdm

    n_special = len(prefix) + len(suffix)
    buffer = None
    with tqdm(total=plan.n_pieces, unit="piece", desc="extract", disable=not progress) as bar, \
            torch.inference_mode():
        for batch in _batches(plan.segments, token_budget, n_special):
            segs = [plan.segments[k] for k in batch]
            width = max(len(s.piece_ids) for s in segs) + n_special
            ids = np.full((len(segs), width), pad_id, dtype=np.int64)
            mask = np.zeros((len(segs), width), dtype=np.int64)
            for b, s in enumerate(segs):
                n = len(s.piece_ids) + n_special
                ids[b, :n] = prefix + s.piece_ids + suffix
                mask[b, :n] = 1
            outputs = model(input_ids=torch.from_numpy(ids).to(device),
                            attention_mask=torch.from_numpy(mask).to(device), output_hidden_states=True)
            hidden = outputs.hidden_states
            del outputs  # the hidden states are all we keep
            if buffer is None:
                buffer = np.empty((_CHUNK_WORDS, len(hidden), hidden[0].shape[-1]), dtype=dtype)
            rows, first, count = _word_pieces(segs, width, len(prefix))
            # a small buffer, reused: it stays in cache until written, and no fresh pages are faulted in
            for c in range(0, len(rows), _CHUNK_WORDS):
                part = slice(c, c + _CHUNK_WORDS)
                out = buffer[: len(rows[part])]
                _aggregate(hidden, (rows[part], first[part], count[part]), aggregation, out)
                yield rows[part], out
            del hidden
            bar.update(sum(len(s.piece_ids) for s in segs))


def _word_pieces(segs: list[_Segment], width: int, n_prefix: int):
    """(store rows, first piece, piece count) of the words a batch owns; pieces as flat positions in the
    batch's (segments x width) tokens. A word's pieces are consecutive there, so first and count say it all."""
    positions, words, rows = [], [], []
    word_base = 0
    for b, s in enumerate(segs):
        pw = np.asarray(s.piece_word, dtype=np.int64)
        positions.append(b * width + n_prefix + np.arange(len(pw)))
        words.append(word_base + pw)
        rows.append(s.word_rows)
        word_base += len(s.word_rows)
    positions, words, rows = np.concatenate(positions), np.concatenate(words), np.concatenate(rows)
    # piece word indices increase within a segment, so a word starts where the index changes
    first = np.flatnonzero(np.r_[True, words[1:] != words[:-1]])
    count = np.diff(np.r_[first, len(words)])
    keep = rows >= 0
    return rows[keep], positions[first][keep], count[keep]


def _aggregate(hidden_states, words, aggregation: str, out: np.ndarray) -> None:
    """Aggregate piece vectors to word vectors for one batch, layer by layer, into ``out``.

    ``hidden_states`` is the model's tuple of (batch x tokens x hidden) tensors, one per layer;
    ``words`` is :func:`_word_pieces`'s (rows, first, count); ``out`` is (words x layers x hidden).
    Only the owned words' pieces are read: padding, special tokens and words another window owns
    are never copied. ``mean`` adds a word's pieces in order, first to last, and divides by their
    count, in the model's dtype (the sum order the earlier ``index_add_`` implementation had on the
    CPU, so stores are bit-identical to it). Float32 states on the CPU are read with NumPy: no
    parallel region per small operation, which costs more than the work on a busy machine.
    """
    _, first, count = words
    if aggregation == "last":
        first = first + count - 1
    # mean: for k = 1, 2, ...: the words with more than k pieces, and their k-th piece
    extra = []
    if aggregation == "mean" and len(count) and count.max() > 1:
        extra = [(sel, first[sel] + k) for k in range(1, int(count.max())) for sel in [np.flatnonzero(count > k)]]
        multi = extra[0][0]
    h0 = hidden_states[0]
    if h0.device.type == "cpu" and str(h0.dtype) == "torch.float32":
        divisor = count[multi, None].astype(np.float32) if extra else None
        for layer, h in enumerate(hidden_states):
            h = h.numpy().reshape(-1, h.shape[-1])
            if not extra:
                out[:, layer, :] = h.take(first, axis=0)
                continue
            v = h.take(first, axis=0)
            for sel, piece in extra:
                v[sel] += h.take(piece, axis=0)
            v[multi] /= divisor
            out[:, layer, :] = v
        return
    import torch

    device = h0.device
    first_t = torch.from_numpy(first).to(device)
    extra_t = [(torch.from_numpy(sel).to(device), torch.from_numpy(piece).to(device)) for sel, piece in extra]
    if extra:
        divisor = torch.from_numpy(count).to(device=device, dtype=h0.dtype)[:, None]
    for layer, h in enumerate(hidden_states):
        h = h.reshape(-1, h.shape[-1])
        v = h.index_select(0, first_t)
        for sel, piece in extra_t:
            v.index_put_((sel,), h.index_select(0, piece), accumulate=True)
        if extra:
            v /= divisor
        out[:, layer, :] = v.to(torch.float32).cpu().numpy()


# -------------------------------------------------------------------------------- stage: write
def _write(path: Path, sentences, shape: tuple[int, int], metadata: dict, dtype: str, batches) -> None:
    """Stage 4: write each batch's word vectors into a new store, renamed into place when full."""
    t0 = time.perf_counter()
    with ActivationStore.create(path, sentences, shape[0], shape[1], metadata, dtype) as writer:
        for rows, vecs in batches:
            writer.write_rows(rows, vecs)
        writer.metadata["seconds"] = round(time.perf_counter() - t0, 3)


# ---------------------------------------------------------------------------------- the driver
def store_path(key: str, cache: bool | str | Path = True) -> Path:
    """The folder of the cached store with ``key`` (``cache`` as for :func:`extract`); it may not exist.

    Examples
    --------
    >>> store_path("abc", cache="/tmp/c").as_posix()
    '/tmp/c/stores/abc'
    """
    if cache is False:
        raise ValueError("a temporary store (cache=False) has no cache folder")
    return _store_root(cache)[0] / key


def _store_root(cache) -> tuple[Path, Path | None]:
    """Where stores go, and the temporary folder the returned store will own (``cache=False``)."""
    if cache is False:
        tmp = Path(tempfile.mkdtemp(prefix="neuronbook-store-"))
        return tmp, tmp
    if cache is True:
        return cache_dir("stores"), None
    return Path(cache) / "stores", None


def _check_max_length(model, max_length) -> None:
    """A window longer than the model's position embeddings would index past them (a raw torch error)."""
    if max_length is None:
        return
    from .models.identity import max_length_from

    limit = max_length_from(model.config.to_dict())  # positions only; RoBERTa-like padding offset removed
    if limit is not None and int(max_length) > limit:
        mpe = getattr(model.config, "max_position_embeddings", None)
        why = "" if mpe == limit else f" ({mpe} position embeddings less the padding offset)"
        raise ValueError(f"max_length={max_length} is more than {type(model).__name__}'s limit of {limit} pieces"
                         f"{why}: pass max_length <= {limit}, or None for the model's own limit")


def _window_sizes(tokenizer, identity: dict, max_length, window_overlap):
    """(prefix ids, suffix ids, pieces per window, overlap) for this tokenizer and model."""
    prefix, suffix = _special_tokens(tokenizer)
    if max_length is None:
        limits = [identity.get("max_length")]
        tml = getattr(tokenizer, "model_max_length", None)
        limits.append(tml if tml and tml < 1_000_000 else None)  # 1e30 means "no limit"
        limits = [int(x) for x in limits if x]
        if not limits:
            raise ValueError("cannot tell the model's maximum length; pass max_length=")
        max_length = min(limits)
    max_pieces = int(max_length) - len(prefix) - len(suffix)
    if max_pieces < 1:
        raise ValueError(f"max_length={max_length} leaves no room for a word after the special tokens")
    overlap = max_pieces // 2 if window_overlap is None else int(window_overlap)
    if not 0 <= overlap < max_pieces:
        raise ValueError(f"window_overlap must be in [0, {max_pieces}), got {overlap}")
    return prefix, suffix, max_pieces, overlap


def best_device() -> str:
    """Where a model neuronbook loads itself runs: ``"cuda"`` when a GPU is there, else ``"cpu"``.

    Examples
    --------
    >>> best_device() in ("cuda", "cpu")
    True
    """
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def extract(
    model="sentence-transformers/all-MiniLM-L6-v2",
    corpus=None,
    *,
    tokenizer=None,
    aggregation: str = "auto",
    dtype: str = "float32",
    token_budget: int = 8192,
    max_length: int | None = None,
    window_overlap: int | None = None,
    device: str | None = None,
    cache: bool | str | Path = True,
    progress: bool | str = "auto",
    intervention=None,
) -> ActivationStore:
    """Extract word-level activations of every layer into a cached :class:`ActivationStore`.

    Parameters
    ----------
    model : str, PreTrainedModel or (model, tokenizer)
        A model name for :func:`neuronbook.load_model` (the packaged all-MiniLM-L6-v2 by default),
        or a loaded transformers model (then pass ``tokenizer``), or both as a pair. A name is keyed
        from its files and loaded only when the store is not already cached.
    corpus : Corpus or list of list of str
        Sentences of words.
    tokenizer : PreTrainedTokenizerFast, optional
        Needed when ``model`` is a model object; with a name, replaces the model's own tokenizer.
    aggregation : {"mean", "first", "last", "auto"}
        How the pieces of a word become one vector; ``"auto"``: ``"last"`` for a causal decoder,
        ``"mean"`` for an encoder (:func:`resolve_aggregation`).
    dtype : {"float32", "float16"}
        Storage dtype (computation is float32 either way).
    token_budget : int
        Upper bound of padded tokens per batch (batch size x longest sequence).
    max_length : int, optional
        Maximum sequence length including special tokens; the model's own limit by default.
    window_overlap : int, optional
        Pieces shared by consecutive windows of a long sentence; half the window by default.
    device : str, optional
        Where the forward passes run. Default: a model given by name goes to ``"cuda"`` when
        available, else ``"cpu"``; a model object runs where it already is. A model object moved for
        the extraction is moved back afterwards.
    cache : bool or path
        True: ``neuronbook.settings.cache_dir("stores")``; a path: its ``stores`` sub-folder (a
        damaged store found there is moved aside and extracted again); False: a temporary store,
        never reused, whose folder is removed by ``store.close()``, on leaving ``with extract(...)
        as store:``, when the store is garbage collected, or at exit.
    progress : bool or "auto"
        Show a progress bar ("auto": see :func:`neuronbook.settings.progress_enabled`).
    intervention : Intervention, optional
        Neurons set to fixed values inside the model while it runs (forward hooks on the modules whose
        outputs are the hidden states; see :mod:`neuronbook.interventions` and :func:`neuronbook.intervene`).
        It is part of the store's key, so an intervened store is never taken for the clean one.

    Returns
    -------
    ActivationStore
        Activations of shape ``(n_words, n_layers, hidden)``, layer 0 being the embeddings.

    Warns
    -----
    UnknownWordsWarning
        Words that produced no piece and were read as the unknown token.
    ClippedWordsWarning
        Words of more pieces than half the window, kept as their first and last pieces.

    Examples
    --------
    >>> from neuronbook import extract
    >>> store = extract(corpus=[["The", "cat", "sat", "."]], progress=False)  # doctest: +SKIP
    >>> store.shape  # doctest: +SKIP
    (4, 7, 384)
    """
    key_fields, model, tokenizer, identity, sentences = _fields_for(
        model, corpus, tokenizer, aggregation, dtype, max_length, window_overlap, intervention)
    key = content_key(key_fields)
    root, owned = _store_root(cache)
    path = root / key
    if owned is None:
        remove_stale_temporaries(root)
        if path.exists():
            try:
                store = ActivationStore(path)
            except (StoreIntegrityError, OSError) as e:
                _move_aside(path, e)
            else:
                logger.info("reusing activation store %s", path)
                return store
    try:
        with _gc_paused():
            _extract_into(path, key_fields, key, model, tokenizer, identity, sentences, token_budget=token_budget,
                          max_length=max_length, window_overlap=window_overlap, device=device,
                          progress=progress_enabled(progress))
    except BaseException:
        if owned is not None:
            import shutil

            shutil.rmtree(owned, ignore_errors=True)
        raise
    return ActivationStore(path, remove_on_close=owned)


@contextlib.contextmanager
def _gc_paused():
    """Automatic garbage collection off while extracting (back on afterwards if it was on).

    Extraction makes almost no reference cycles (a few hundred small objects per corpus, none
    holding a tensor) but many short-lived containers; with a model loaded the heap holds some
    400,000 objects, and each full collection those allocations trigger costs about 0.2 s.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _move_aside(path: Path, error: Exception) -> None:
    """A cached store that fails to open is renamed ``<key>.damaged-<time>`` so it can be extracted again."""
    aside = path.with_name(f"{path.name}.damaged-{time.strftime('%Y%m%dT%H%M%S')}-{os.getpid()}")
    try:
        os.rename(path, aside)
    except FileNotFoundError:  # another process moved it first
        return
    except OSError as e:
        raise StoreIntegrityError(f"{error}; moving it aside to {aside} failed too ({e})") from error
    logger.warning("activation store %s is damaged (%s); moved to %s and extracting again", path, error, aside)


def _extract_into(path, key_fields, key, model, tokenizer, identity, sentences, *, token_budget, max_length,
                  window_overlap, device, progress) -> None:
    """Load the model if needed, plan, run and write the store at ``path``."""
    ours = isinstance(model, str)
    if ours:
        from .models import load_model

        model, own_tokenizer = load_model(model, progress=progress)
        tokenizer = tokenizer if tokenizer is not None else own_tokenizer
    _check_max_length(model, max_length)
    prefix, suffix, max_pieces, overlap = _window_sizes(tokenizer, identity, max_length, window_overlap)
    plan = _plan(tokenizer, sentences, max_pieces, overlap, causal="alignment" in key_fields)
    _warn_plan(plan, sentences, tokenizer.unk_token, max_pieces)

    home = next(model.parameters()).device
    if device is None:  # a model we loaded goes to the GPU when there is one; the user's stays where it is
        device = best_device() if ours else str(home)
    cfg = model.config
    metadata = {
        **key_fields,
        "key": key,
        "model_class": type(model).__name__,
        # e.g. "4-bit (Q4_0) dequantised weights": results must say they come from an approximation.
        "approximation": identity.get("approximation"),
        "tokenizer_class": type(tokenizer).__name__,
        "max_pieces": max_pieces,
        "overlap_pieces": overlap,
        "n_sentences": len(sentences),
        "n_pieces": plan.n_pieces,
        "sentences_windowed": plan.n_windowed,
        "words_unknown": [list(u) for u in plan.unknown],
        "words_clipped": [list(c) for c in plan.clipped],
        "device": device,
    }
    if "alignment" in key_fields:  # decoders only: encoder metadata stays as it was
        metadata["word_prefix"] = plan.word_prefix
    was_training = model.training
    model.eval()
    model.to(device)
    hooks = contextlib.ExitStack()
    try:
        if "intervention" in key_fields:  # hooks on the model's layer modules, removed whatever happens
            from .interventions import as_intervention, intervention_hooks

            hooks.enter_context(intervention_hooks(model, as_intervention(key_fields["intervention"])))
        batches = _run_batches(model, plan, prefix=prefix, suffix=suffix, token_budget=token_budget,
                               pad_id=tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0,
                               device=device, aggregation=key_fields["aggregation"], dtype=key_fields["dtype"],
                               progress=progress)
        _write(path, sentences, (int(cfg.num_hidden_layers) + 1, int(cfg.hidden_size)), metadata,
               key_fields["dtype"], batches)
    finally:
        hooks.close()
        if was_training:
            model.train()
        if not ours:
            model.to(home)  # the caller's model is left on its own device
    logger.info("wrote activation store %s", path)
