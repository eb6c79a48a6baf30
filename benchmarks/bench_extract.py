"""Extraction speed: neuronbook.extract against the model's own cost, side by side in one run.

Three ways over the same sentences (``ud:en_ewt`` dev by default, all-MiniLM-L6-v2; ``--model a,b``
compares several models side by side, e.g. an encoder and a decoder):

1. ``plain``: the model alone, batched exactly like extract (sorted by length, same token budget,
   garbage collector paused as extract pauses it),
   tokenized beforehand (untimed; a byte-level BPE decoder's words after the first with the leading
   space extract gives them), hidden states of all layers computed and thrown away: the floor for
   any extractor.
2. ``neuronbook``: :func:`neuronbook.extract` into a fresh store (no cache), alignment, aggregation
   and disk writes included.
3. ``per-sentence``: one sentence per forward pass, as NeuroX does (a subset, extrapolated, unless
   ``--per-sentence-all``).

``--peak-splits dev,test`` adds the peak resident memory (VmHWM) of a fresh process that only loads
the model and extracts those splits (fresh store cache).

Usage::

    NEURONBOOK_DATA=../shared/data python benchmarks/bench_extract.py [--data ud:en_ewt] [--split dev]

It prints a Markdown table; the figures recorded in docs/benchmarks.md come from it.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import torch  # noqa: E402

import neuronbook as nb  # noqa: E402
from neuronbook.extraction import extract  # noqa: E402


def plain_batches(tokenizer, sentences, token_budget, prefix=""):
    """The floor's input: tokenized once, sorted by length, packed like extract (padded length x rows <= budget).

    ``prefix`` goes before every word but the first, as extract does for a byte-level BPE decoder
    (``extraction._word_prefix``), so that both sides run the same pieces.
    """
    if prefix:
        sentences = [[s[0]] + [prefix + w for w in s[1:]] for s in sentences]
    enc = tokenizer(sentences, is_split_into_words=True, truncation=True)
    order = sorted(range(len(sentences)), key=lambda i: len(enc["input_ids"][i]))
    groups, batch, longest = [], [], 0
    for i in order:
        n = len(enc["input_ids"][i])
        if batch and max(longest, n) * (len(batch) + 1) > token_budget:
            groups.append(batch)
            batch, longest = [], 0
        batch.append(i)
        longest = max(longest, n)
    groups.append(batch)
    batches = []
    for b in groups:
        width = max(len(enc["input_ids"][i]) for i in b)
        ids = torch.zeros((len(b), width), dtype=torch.long)
        mask = torch.zeros_like(ids)
        for r, i in enumerate(b):
            x = enc["input_ids"][i]
            ids[r, : len(x)] = torch.tensor(x)
            mask[r, : len(x)] = 1
        batches.append((ids, mask))
    return batches


def forward_batches(model, batches):
    """The model alone over prepared batches, hidden states of all layers computed and thrown away."""
    with torch.inference_mode():
        for ids, mask in batches:
            model(input_ids=ids, attention_mask=mask, output_hidden_states=True)


def plain_forward(model, tokenizer, sentences, token_budget):
    """Tokenize, batch and run the model (run_all.py's floor: tokenization included)."""
    forward_batches(model, plain_batches(tokenizer, sentences, token_budget))


def extract_only_peak(model_name, data, splits, token_budget, max_sentences=None):
    """VmHWM of a fresh process that loads the model and extracts ``splits`` (each cut to its first
    ``max_sentences``) into a fresh store cache."""
    cut = "" if max_sentences is None else f".head({int(max_sentences)})"
    code = (
        "import sys, tempfile, neuronbook as nb\n"
        "from neuronbook.extraction import extract\n"
        f"corpora = [nb.load_corpus({data!r}, split=s){cut} for s in {list(splits)!r}]\n"
        f"model, tok = nb.load_model({model_name!r})\n"
        "cache = tempfile.mkdtemp(prefix='nb-bench-')\n"
        "for c in corpora:\n"
        f"    extract(model, c, tokenizer=tok, cache=cache, token_budget={token_budget}, progress=False)\n"
        "import shutil; shutil.rmtree(cache)\n"
        "print([l.split()[1] for l in open('/proc/self/status') if l.startswith('VmHWM')][0])\n"
    )
    # the child imports the same neuronbook as this process, wherever it is run from
    here = os.path.dirname(os.path.dirname(os.path.abspath(nb.__file__)))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [here, os.environ.get("PYTHONPATH")]))}
    out = subprocess.run([sys.executable, "-W", "ignore", "-c", code], capture_output=True, text=True, check=True,
                         env=env, cwd=tempfile.gettempdir())
    return int(out.stdout.split()[-1]) * 1024


def per_sentence(model, tokenizer, sentences):
    with torch.inference_mode():
        for s in sentences:
            enc = tokenizer(s, is_split_into_words=True, truncation=True, return_tensors="pt")
            model(**enc, output_hidden_states=True)


def bench_one(model_name, corpus, args):
    """The rows of one model: plain forward, extract (fresh, cached), one layer, per sentence."""
    from neuronbook.extraction import _gc_paused, _word_prefix
    from neuronbook.models.identity import is_causal

    model, tokenizer = nb.load_model(model_name, progress=False)
    prefix = _word_prefix(tokenizer) if is_causal(model) else ""
    sentences = corpus.sentences
    rows = []
    forward_batches(model, plain_batches(tokenizer, sentences[:50], args.token_budget, prefix))  # warm-up
    batches = plain_batches(tokenizer, sentences, args.token_budget, prefix)
    tmp = tempfile.mkdtemp(prefix="nb-bench-")
    floors, freshes = [], []
    try:
        # alternated, best of --repeat: on a shared machine the minimum is the least disturbed run of each
        for _ in range(args.repeat):
            t = time.perf_counter()
            with _gc_paused():  # as extract runs: a fair floor, not one inflated by full collections
                forward_batches(model, batches)
            floors.append(time.perf_counter() - t)
            shutil.rmtree(os.path.join(tmp, "stores"), ignore_errors=True)
            t = time.perf_counter()
            store = extract(model, corpus, tokenizer=tokenizer, cache=tmp, token_budget=args.token_budget,
                            progress=False)
            freshes.append(time.perf_counter() - t)
        floor, fresh = min(floors), min(freshes)
        best = f", best of {args.repeat}" if args.repeat > 1 else ""
        rows.append((f"plain batched forward (model only, tokenized beforehand{best})", floor, None))
        rows.append((f"neuronbook.extract (fresh store, {store.metadata['aggregation']}{best})", fresh,
                     store.nbytes_on_disk()))
        t = time.perf_counter()
        extract(model, corpus, tokenizer=tokenizer, cache=tmp, token_budget=args.token_budget,
                progress=False)
        rows.append(("neuronbook.extract (cached: reuse)", time.perf_counter() - t, None))
        t = time.perf_counter()
        store.activations(layers=[min(3, store.n_layers - 1)])
        rows.append(("load one layer from the store", time.perf_counter() - t, None))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    del batches

    if args.per_sentence_n:
        subset = sentences if args.per_sentence_all else sentences[: args.per_sentence_n]
        t = time.perf_counter()
        per_sentence(model, tokenizer, subset)
        dt = (time.perf_counter() - t) * len(sentences) / len(subset)
        label = "one sentence per forward (NeuroX style)"
        if len(subset) < len(sentences):
            label += f", extrapolated from {len(subset)}"
        rows.append((label, dt, None))
    return rows, fresh / floor


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default=nb.DEFAULT_MODEL, help="a model, or several separated by commas "
                   "(compared side by side in one run)")
    p.add_argument("--data", default="ud:en_ewt")
    p.add_argument("--split", default="dev")
    p.add_argument("--max-sentences", type=int, default=None, help="the first N sentences only")
    p.add_argument("--token-budget", type=int, default=8192)
    p.add_argument("--repeat", type=int, default=1, help="floor and extract alternated this many times; the "
                   "best of each is reported (robust to other jobs on a shared machine)")
    p.add_argument("--per-sentence-n", type=int, default=400, help="sentences timed one by one (0: none)")
    p.add_argument("--per-sentence-all", action="store_true")
    p.add_argument("--peak-splits", default="", help="comma-separated splits (e.g. dev,test): VmHWM of an "
                   "extract-only process over them")
    p.add_argument("--peak-sentences", default="", help="comma-separated sentence counts (e.g. 250,1000): VmHWM "
                   "of an extract-only process over the first N sentences of --split, for each N")
    args = p.parse_args(argv)

    corpus = nb.load_corpus(args.data, split=args.split)
    if args.max_sentences:
        corpus = corpus.head(args.max_sentences)
    n_words = sum(map(len, corpus.sentences))
    ratios = {}
    print(f"\n{args.data} {args.split}: {len(corpus):,} sentences, {n_words:,} words")
    print(f"machine: {platform.processor() or platform.machine()}, torch threads {torch.get_num_threads()}")
    for name in args.model.split(","):
        rows, ratios[name] = bench_one(name, corpus, args)
        print(f"\nmodel {name}\n\n| method | wall time (s) | words/s | store size |\n|---|---:|---:|---:|")
        for label, seconds, size in rows:
            size_s = f"{size / 2**20:.1f} MiB" if size else ""
            wps = f"{n_words / seconds:,.0f}" if "load one layer" not in label else ""
            print(f"| {label} | {seconds:.2f} | {wps} | {size_s} |")
        print(f"\nextract / floor: {ratios[name]:.3f}")
        if args.peak_splits:
            splits = args.peak_splits.split(",")
            peak = extract_only_peak(name, args.data, splits, args.token_budget)
            print(f"extract-only process over {'+'.join(splits)}: VmHWM {peak / 2**20:.0f} MiB")
        for n in filter(None, args.peak_sentences.split(",")):
            peak = extract_only_peak(name, args.data, [args.split], args.token_budget, int(n))
            print(f"extract-only process over the first {n} sentences of {args.split}: VmHWM {peak / 2**20:.0f} MiB")
    if len(ratios) > 1:
        print("\n| model | extract / plain forward |\n|---|---:|")
        for name, r in ratios.items():
            print(f"| {name} | {r:.3f} |")


if __name__ == "__main__":
    main()
