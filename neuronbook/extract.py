"""Word-level activations of every layer of a transformer, written to an :class:`ActivationStore`.

How it works, and why:

* Every sentence is tokenized once with the fast tokenizer (``is_split_into_words=True``), which
  gives the pieces of each word; alignment comes from ``word_ids()``, never from string matching.
* A word that the tokenizer turns into no piece at all (a lone control or zero-width character,
  say) is fed to the model as the unknown token, so it still gets a vector computed in context, and
  it is counted and reported in the store's metadata.
* A sentence with more pieces than the model takes is cut into overlapping windows on word
  boundaries; each word takes its vector from the window where it has the most context on both
  sides. No sentence is truncated and no word is dropped. The one exception, reported in the
  metadata (``words_clipped``) and the log: a single word of more pieces than half the window (a
  long URL, say) keeps only its first and last pieces, so that it still has context around it.
* Segments (sentences or windows) are sorted by length and packed into batches bounded by a token
  budget (padded length x batch size), so padding is small and memory bounded.
* Pieces are aggregated to words (``first``, ``last`` or ``mean``) on the batch with index
  operations, then scattered into the memory-mapped store.

The store is keyed by what determines its content (model weights, tokenizer, aggregation, dtype,
corpus words, windowing, package version): a second identical call opens the cached store.
"""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from .store import ActivationStore, cache_dir, content_key

__all__ = ["extract", "AGGREGATIONS"]

logger = logging.getLogger(__name__)

AGGREGATIONS = ("first", "last", "mean")


@dataclass
class _Segment:
    """A run of consecutive words of one sentence, fed to the model as one sequence."""

    sentence: int
    piece_ids: list[int]   # content pieces, no special tokens
    piece_word: list[int]  # for each piece, its word index within the segment
    word_rows: np.ndarray  # global store row of each word of the segment (-1: vector taken elsewhere)


def _sentences_of(corpus) -> list[list[str]]:
    sentences = corpus.sentences if hasattr(corpus, "sentences") else corpus
    sentences = [list(s) for s in sentences]
    for i, sent in enumerate(sentences):
        if len(sent) == 0:
            raise ValueError(f"sentence {i} has no words; remove it from the corpus before extraction")
        for j, w in enumerate(sent):
            if not isinstance(w, str):
                raise TypeError(f"sentence {i}, word {j}: expected str, got {type(w).__name__}")
    return sentences


def _tokenizer_fingerprint(tokenizer) -> str:
    cached = getattr(tokenizer, "_neuronbook_fingerprint", None)
    if cached:
        return cached
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is None:
        raise TypeError("extract needs a fast (Rust-backed) tokenizer for word alignment")
    digest = hashlib.sha256(backend.to_str().encode()).hexdigest()[:16]
    try:
        tokenizer._neuronbook_fingerprint = digest
    except AttributeError:  # pragma: no cover - exotic tokenizer classes
        pass
    return digest


def _resolve(model, tokenizer):
    if isinstance(model, (tuple, list)):
        model, tokenizer = model
    if isinstance(model, (str, Path)):
        from .models import load_model

        model, loaded_tok = load_model(str(model))
        tokenizer = tokenizer or loaded_tok
    if tokenizer is None:
        raise ValueError("pass tokenizer= with a model object (or give the model by name)")
    if not getattr(tokenizer, "is_fast", False):
        raise TypeError(
            f"{type(tokenizer).__name__} is not a fast tokenizer; word alignment needs word_ids() "
            "(load it with AutoTokenizer.from_pretrained(..., use_fast=True))"
        )
    return model, tokenizer


def _special_tokens(tokenizer) -> tuple[list[int], list[int]]:
    """Ids the tokenizer puts before and after the pieces of a single sequence (e.g. [CLS], [SEP])."""
    enc = tokenizer([["a", "b"]], is_split_into_words=True, add_special_tokens=True)
    ids, wids = enc["input_ids"][0], enc.word_ids(0)
    content = [k for k, w in enumerate(wids) if w is not None]
    if not content:
        raise ValueError(f"{type(tokenizer).__name__} produced no content piece for a probe sentence")
    return list(ids[: content[0]]), list(ids[content[-1] + 1 :])


def _tokenize(tokenizer, sentences: list[list[str]]):
    """Pieces per word for every sentence; words with no piece are replaced by the unknown token."""
    enc = tokenizer(sentences, is_split_into_words=True, add_special_tokens=False)
    unk = tokenizer.unk_token
    empty = []
    pieces_per_sentence = []
    for i, sent in enumerate(sentences):
        ids = enc["input_ids"][i]
        wids = enc.word_ids(i)
        per_word: list[list[int]] = [[] for _ in sent]
        for pid, w in zip(ids, wids):
            if w is not None:
                per_word[w].append(pid)
        for j, p in enumerate(per_word):
            if not p:
                if unk is None:
                    raise ValueError(
                        f"sentence {i}, word {j} ({sent[j]!r}) produces no piece and the tokenizer "
                        "has no unknown token to stand in for it"
                    )
                per_word[j] = [tokenizer.unk_token_id]
                empty.append((i, j, sent[j]))
        pieces_per_sentence.append(per_word)
    return pieces_per_sentence, empty


def _clip_long_words(pieces, cap: int):
    """Shorten words of more than ``cap`` pieces to their first and last pieces, in place.

    A single "word" longer than the model's window (a URL, a run of symbols) cannot be seen whole;
    keeping its head and tail pieces leaves room for context around it. Returns what was clipped,
    as (sentence, word, pieces before, pieces kept), for the store's metadata.
    """
    head = (cap + 1) // 2
    clipped = []
    for i, per_word in enumerate(pieces):
        for j, p in enumerate(per_word):
            if len(p) > cap:
                per_word[j] = p[:head] + p[len(p) - (cap - head):]
                clipped.append((i, j, len(p), cap))
    return clipped


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


def _assign_windows(lengths, windows) -> np.ndarray:
    """For each word, the window where it has the most context (true sentence edges count as full)."""
    starts = np.concatenate([[0], np.cumsum(lengths)])
    n = len(lengths)
    best = np.full(n, -1)
    best_score = np.full(n, -np.inf)
    for k, (s, e) in enumerate(windows):
        for w in range(s, e):
            left = np.inf if s == 0 else starts[w] - starts[s]
            right = np.inf if e == n else starts[e] - starts[w + 1]
            score = min(left, right)
            if score > best_score[w]:
                best_score[w], best[w] = score, k
    return best


def _build_segments(pieces, max_pieces: int, overlap: int):
    segments: list[_Segment] = []
    row = 0
    n_windowed = 0
    for i, per_word in enumerate(pieces):
        lengths = [len(p) for p in per_word]
        rows = np.arange(row, row + len(per_word))
        row += len(per_word)
        if sum(lengths) <= max_pieces:
            windows = [(0, len(per_word))]
            owner = np.zeros(len(per_word), dtype=np.int64)
        else:
            n_windowed += 1
            windows = _windows(lengths, max_pieces, overlap)
            owner = _assign_windows(lengths, windows)
        for k, (s, e) in enumerate(windows):
            ids, pw = [], []
            for w in range(s, e):
                ids.extend(per_word[w])
                pw.extend([w - s] * len(per_word[w]))
            seg_rows = np.where(owner[s:e] == k, rows[s:e], -1)
            segments.append(_Segment(i, ids, pw, seg_rows))
    return segments, n_windowed


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


def _model_id(model) -> str:
    return (
        getattr(model, "neuronbook_id", None)
        or getattr(getattr(model, "config", None), "_name_or_path", None)
        or type(model).__name__
    )


def _weights_fingerprint(model) -> str:
    from .models import model_fingerprint

    return model_fingerprint(model)


def _max_positions(model, tokenizer) -> int:
    limits = []
    cfg = getattr(model, "config", None)
    mpe = getattr(cfg, "max_position_embeddings", None)
    if mpe:
        # RoBERTa-style models reserve padding_idx + 1 positions.
        if getattr(cfg, "model_type", "") in ("roberta", "xlm-roberta", "camembert", "mpnet"):
            mpe -= (getattr(cfg, "pad_token_id", 1) or 0) + 1
        limits.append(int(mpe))
    tml = getattr(tokenizer, "model_max_length", None)
    if tml and tml < 1_000_000:
        limits.append(int(tml))
    if not limits:
        raise ValueError("cannot tell the model's maximum length; pass max_length=")
    return min(limits)


def extract(
    model="sentence-transformers/all-MiniLM-L6-v2",
    corpus=None,
    *,
    tokenizer=None,
    aggregation: str = "mean",
    dtype: str = "float32",
    token_budget: int = 8192,
    max_length: int | None = None,
    window_overlap: int | None = None,
    device: str | None = None,
    cache: bool | str | Path = True,
    progress: bool = True,
) -> ActivationStore:
    """Extract word-level activations of every layer into a cached :class:`ActivationStore`.

    Parameters
    ----------
    model : str, PreTrainedModel or (model, tokenizer)
        A model name for :func:`neuronbook.load_model` (the packaged all-MiniLM-L6-v2 by default), or
        a loaded transformers model (then pass ``tokenizer``).
    corpus : Corpus or list of list of str
        Sentences of words.
    tokenizer : PreTrainedTokenizerFast, optional
        Needed when ``model`` is a model object.
    aggregation : {"mean", "first", "last"}
        How the pieces of a word become one vector.
    dtype : {"float32", "float16"}
        Storage dtype (computation is float32 either way).
    token_budget : int
        Upper bound of padded tokens per batch (batch size x longest sequence).
    max_length : int, optional
        Maximum sequence length including special tokens; the model's own limit by default.
    window_overlap : int, optional
        Pieces shared by consecutive windows of a long sentence; half the window by default.
    device : str, optional
        ``"cuda"`` when available, else ``"cpu"``.
    cache : bool or path
        True: the user cache (``$NEURONBOOK_CACHE`` or ``~/.cache/neuronbook``); a path: that
        directory; False: a fresh temporary store, never reused and removed when the process exits.
    progress : bool
        Show a progress bar.

    Returns
    -------
    ActivationStore
        Activations of shape ``(n_words, n_layers + 1, hidden)``, layer 0 being the embeddings.

    Examples
    --------
    >>> from neuronbook import extract
    >>> store = extract(corpus=[["The", "cat", "sat", "."]], progress=False)  # doctest: +SKIP
    >>> store.shape  # doctest: +SKIP
    (4, 7, 384)
    """
    import torch
    from tqdm.auto import tqdm

    from . import __version__

    if corpus is None:
        raise ValueError("extract needs a corpus (a Corpus or a list of word lists)")
    if aggregation not in AGGREGATIONS:
        raise ValueError(f"aggregation must be one of {AGGREGATIONS}, got {aggregation!r}")
    if np.dtype(dtype) not in (np.float32, np.float16):
        raise ValueError(f"dtype must be float32 or float16, got {dtype!r}")
    model, tokenizer = _resolve(model, tokenizer)
    sentences = _sentences_of(corpus)

    prefix, suffix = _special_tokens(tokenizer)
    n_prefix, n_suffix = len(prefix), len(suffix)
    max_total = max_length or _max_positions(model, tokenizer)
    max_pieces = max_total - n_prefix - n_suffix
    overlap = max_pieces // 2 if window_overlap is None else int(window_overlap)
    if not 0 <= overlap < max_pieces:
        raise ValueError(f"window_overlap must be in [0, {max_pieces}), got {overlap}")

    corpus_hash = hashlib.sha256(
        "\n".join("\t".join(s) for s in sentences).encode()
    ).hexdigest()[:16]
    cfg = model.config
    n_layers = int(cfg.num_hidden_layers) + 1
    hidden = int(cfg.hidden_size)
    key_fields = {
        "model": _model_id(model),
        "weights": _weights_fingerprint(model),
        "tokenizer": _tokenizer_fingerprint(tokenizer),
        "aggregation": aggregation,
        "dtype": np.dtype(dtype).name,
        "corpus": corpus_hash,
        "max_length": max_total,
        "window_overlap": overlap,
        "version": __version__,
    }
    key = content_key(key_fields)
    if cache is False:
        import atexit
        import shutil
        import tempfile

        root = Path(tempfile.mkdtemp(prefix="neuronbook-"))
        atexit.register(shutil.rmtree, root, True)  # a throwaway store lives as long as the process
    else:
        root = (cache_dir() if cache is True else Path(cache)) / "stores"
    path = root / key
    if (path / "metadata.json").is_file():
        logger.info("reusing activation store %s", path)
        return ActivationStore(path)

    t0 = time.perf_counter()
    pieces, empty = _tokenize(tokenizer, sentences)
    for i, j, w in empty[:20]:
        logger.warning("sentence %d, word %d (%r) has no piece; it is read as the unknown token", i, j, w)
    if len(empty) > 20:
        logger.warning("... %d words without pieces in all", len(empty))
    clipped = _clip_long_words(pieces, max(1, max_pieces // 2))
    for i, j, n, kept in clipped:
        logger.warning(
            "sentence %d, word %d (%r...) has %d pieces, more than half the %d-piece window: its vector "
            "uses its first and last pieces (%d in all)", i, j, sentences[i][j][:30], n, max_pieces, kept,
        )
    segments, n_windowed = _build_segments(pieces, max_pieces, overlap)
    if n_windowed:
        logger.info("%d sentences longer than %d pieces were split into windows", n_windowed, max_pieces)

    if device is None:
        device = "cuda" if torch.cuda.is_available() else "cpu"
    was_training = model.training
    model.eval()
    model.to(device)
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    n_special = n_prefix + n_suffix
    n_pieces = sum(len(s.piece_ids) for s in segments)
    metadata = {
        **key_fields,
        "key": key,
        "model_class": type(model).__name__,
        # e.g. "4-bit (Q4_0) dequantised weights": results must say they come from an approximation.
        "approximation": getattr(model, "neuronbook_approximation", None),
        "tokenizer_class": type(tokenizer).__name__,
        "n_sentences": len(sentences),
        "n_pieces": n_pieces,
        "sentences_windowed": n_windowed,
        "words_without_pieces": [[i, j, w] for i, j, w in empty],
        "words_clipped": [list(c) for c in clipped],
        "device": device,
    }
    batches = list(_batches(segments, token_budget, n_special))
    bar = tqdm(total=n_pieces, unit="piece", desc="extract", disable=not progress)
    with ActivationStore.create(path, sentences, n_layers, hidden, metadata, dtype) as writer:
        out = writer.array
        with torch.inference_mode():
            for batch in batches:
                segs = [segments[k] for k in batch]
                width = max(len(s.piece_ids) for s in segs) + n_special
                ids = torch.full((len(segs), width), pad_id, dtype=torch.long)
                mask = torch.zeros((len(segs), width), dtype=torch.long)
                for b, s in enumerate(segs):
                    full = prefix + s.piece_ids + suffix
                    ids[b, : len(full)] = torch.tensor(full)
                    mask[b, : len(full)] = 1
                outputs = model(
                    input_ids=ids.to(device), attention_mask=mask.to(device), output_hidden_states=True
                )
                rows, vecs = _aggregate(outputs.hidden_states, segs, n_prefix, aggregation)
                out[rows] = vecs.to(torch.float32).cpu().numpy().astype(out.dtype, copy=False)
                bar.update(sum(len(s.piece_ids) for s in segs))
        bar.close()
        writer.metadata["seconds"] = round(time.perf_counter() - t0, 3)
    if was_training:
        model.train()
    logger.info("wrote activation store %s in %.1fs", path, time.perf_counter() - t0)
    return ActivationStore(path)


def _aggregate(hidden_states, segs: list[_Segment], n_prefix: int, aggregation: str):
    """Aggregate piece vectors to word vectors for one batch.

    ``hidden_states`` is the model's tuple of (batch x tokens x hidden) tensors, one per layer.
    Returns the store rows and a (words x layers x hidden) tensor for the words this batch owns.
    """
    import torch

    n_layers, hidden = len(hidden_states), hidden_states[0].shape[-1]
    flat_positions, flat_words, rows = [], [], []
    word_base = 0
    width = hidden_states[0].shape[1]
    for b, s in enumerate(segs):
        pw = np.asarray(s.piece_word, dtype=np.int64)
        flat_positions.append(b * width + n_prefix + np.arange(len(pw)))
        flat_words.append(word_base + pw)
        rows.append(s.word_rows)
        word_base += len(s.word_rows)
    positions = torch.from_numpy(np.concatenate(flat_positions))
    words = torch.from_numpy(np.concatenate(flat_words))
    rows = np.concatenate(rows)
    device = hidden_states[0].device
    positions = positions.to(device)
    # Gather the content pieces layer by layer: padding and special tokens are never copied.
    pieces = torch.stack([h.reshape(-1, hidden)[positions] for h in hidden_states], dim=1)
    words = words.to(device)
    if aggregation == "mean":
        sums = torch.zeros((word_base, n_layers, hidden), dtype=pieces.dtype, device=pieces.device)
        sums.index_add_(0, words, pieces)
        counts = torch.bincount(words, minlength=word_base).clamp_min(1).to(pieces.dtype)
        vecs = sums / counts[:, None, None]
    else:
        # Piece indices are increasing within a word, so the first (last) piece of each word is
        # where the word index changes going forwards (backwards).
        w = words.cpu().numpy()
        if aggregation == "first":
            pick = np.flatnonzero(np.r_[True, w[1:] != w[:-1]])
        else:
            pick = np.flatnonzero(np.r_[w[1:] != w[:-1], True])
        vecs = pieces[torch.from_numpy(pick).to(pieces.device)]
    keep = rows >= 0
    return rows[keep], vecs[torch.from_numpy(np.flatnonzero(keep)).to(vecs.device)]
