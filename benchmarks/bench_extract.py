"""Extraction speed: neuronbook.extract against the model's own cost, side by side in one run.

Three ways over the same sentences (``ud:en_ewt`` dev by default, all-MiniLM-L6-v2):

1. ``plain``: the model alone, batched exactly like extract (sorted by length, same token budget),
   hidden states of all layers computed and thrown away: the floor for any extractor.
2. ``neuronbook``: :func:`neuronbook.extract` into a fresh store (no cache), alignment, aggregation
   and disk writes included.
3. ``per-sentence``: one sentence per forward pass, as NeuroX does (a subset, extrapolated, unless
   ``--per-sentence-all``).

Usage::

    NEURONBOOK_DATA=../shared/data python benchmarks/bench_extract.py [--data ud:en_ewt] [--split dev]

It prints a Markdown table; the figures recorded in docs/benchmarks.md come from it.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import tempfile
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import torch  # noqa: E402

import neuronbook as nb  # noqa: E402
from neuronbook.extract import extract  # noqa: E402


def plain_forward(model, tokenizer, sentences, token_budget):
    enc = tokenizer(sentences, is_split_into_words=True, truncation=True)
    order = sorted(range(len(sentences)), key=lambda i: len(enc["input_ids"][i]))
    batches, batch, longest = [], [], 0
    for i in order:
        n = len(enc["input_ids"][i])
        if batch and max(longest, n) * (len(batch) + 1) > token_budget:
            batches.append(batch)
            batch, longest = [], 0
        batch.append(i)
        longest = max(longest, n)
    batches.append(batch)
    with torch.inference_mode():
        for b in batches:
            width = max(len(enc["input_ids"][i]) for i in b)
            ids = torch.zeros((len(b), width), dtype=torch.long)
            mask = torch.zeros_like(ids)
            for r, i in enumerate(b):
                x = enc["input_ids"][i]
                ids[r, : len(x)] = torch.tensor(x)
                mask[r, : len(x)] = 1
            model(input_ids=ids, attention_mask=mask, output_hidden_states=True)


def per_sentence(model, tokenizer, sentences):
    with torch.inference_mode():
        for s in sentences:
            enc = tokenizer(s, is_split_into_words=True, truncation=True, return_tensors="pt")
            model(**enc, output_hidden_states=True)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default=nb.DEFAULT_MODEL)
    p.add_argument("--data", default="ud:en_ewt")
    p.add_argument("--split", default="dev")
    p.add_argument("--token-budget", type=int, default=8192)
    p.add_argument("--per-sentence-n", type=int, default=400, help="sentences timed one by one")
    p.add_argument("--per-sentence-all", action="store_true")
    args = p.parse_args(argv)

    corpus = nb.load_corpus(args.data, split=args.split)
    model, tokenizer = nb.load_model(args.model)
    sentences = corpus.sentences
    n_words = sum(map(len, sentences))
    rows = []

    plain_forward(model, tokenizer, sentences[:50], args.token_budget)  # warm-up
    t = time.perf_counter()
    plain_forward(model, tokenizer, sentences, args.token_budget)
    rows.append(("plain batched forward (model only)", time.perf_counter() - t, None))

    tmp = tempfile.mkdtemp(prefix="nb-bench-")
    try:
        t = time.perf_counter()
        store = extract(model, corpus, tokenizer=tokenizer, cache=tmp, token_budget=args.token_budget,
                        progress=False)
        rows.append(("neuronbook.extract (fresh store)", time.perf_counter() - t, store.nbytes_on_disk()))
        t = time.perf_counter()
        extract(model, corpus, tokenizer=tokenizer, cache=tmp, token_budget=args.token_budget,
                progress=False)
        rows.append(("neuronbook.extract (cached: reuse)", time.perf_counter() - t, None))
        t = time.perf_counter()
        store.activations(layers=[3])
        rows.append(("load one layer from the store", time.perf_counter() - t, None))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    subset = sentences if args.per_sentence_all else sentences[: args.per_sentence_n]
    t = time.perf_counter()
    per_sentence(model, tokenizer, subset)
    dt = (time.perf_counter() - t) * len(sentences) / len(subset)
    label = "one sentence per forward (NeuroX style)"
    if len(subset) < len(sentences):
        label += f", extrapolated from {len(subset)}"
    rows.append((label, dt, None))

    print(f"\n{args.data} {args.split}: {len(sentences):,} sentences, {n_words:,} words; model {args.model}")
    print(f"machine: {platform.processor() or platform.machine()}, torch threads {torch.get_num_threads()}")
    print("\n| method | wall time (s) | words/s | store size |\n|---|---:|---:|---:|")
    for name, seconds, size in rows:
        size_s = f"{size / 2**20:.1f} MiB" if size else ""
        wps = f"{n_words / seconds:,.0f}" if "load one layer" not in name else ""
        print(f"| {name} | {seconds:.2f} | {wps} | {size_s} |")


if __name__ == "__main__":
    main()
