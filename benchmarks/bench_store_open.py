"""Cost of the integrity check on opening an activation store, against the full SHA-256.

On the en_ewt dev store of the packaged MiniLM (built or reused by ``neuronbook.extract``), it times
the sampled digest that every ``ActivationStore(path)`` computes, the full SHA-256 of
``store.verify()`` and a whole open, each with the file in the page cache (warm) and evicted with
``posix_fadvise(DONTNEED)`` (cold, as after a reboot). The store is opened through a hard-linked
copy whose metadata carries the digests, so a store written before they existed can be measured.

Usage::

    NEURONBOOK_DATA=../shared/data python benchmarks/bench_store_open.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import neuronbook as nb  # noqa: E402
from neuronbook.store import (  # noqa: E402
    _DATA_FILES, ActivationStore, _file_record, _full_sha256, _sampled_sha256)


def _evict(path):
    fd = os.open(path, os.O_RDONLY)
    try:
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


def _best(fn, repeat, cold_files=()):
    times = []
    for _ in range(repeat):
        for f in cold_files:
            _evict(f)
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times) * 1000


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    store = nb.extract(nb.DEFAULT_MODEL, nb.load_corpus("ud:en_ewt", "dev"), progress=False)
    tmp = tempfile.mkdtemp(dir=store.path.parent.parent)
    try:
        copy = os.path.join(tmp, "s")
        os.mkdir(copy)
        for name in _DATA_FILES:
            os.link(store.path / name, os.path.join(copy, name))
        meta = dict(store.metadata, files={n: _file_record(store.path / n) for n in _DATA_FILES})
        with open(os.path.join(copy, "metadata.json"), "w") as f:
            json.dump(meta, f)
        acts = store.path / "activations.npy"
        size = acts.stat().st_size
        files = [os.path.join(copy, n) for n in _DATA_FILES]
        rows = [
            ("sampled SHA-256 of activations.npy (every open)", lambda: _sampled_sha256(acts, size), [acts]),
            ("full SHA-256 of activations.npy (verify)", lambda: _full_sha256(acts), [acts]),
            ("ActivationStore(path), all checks", lambda: ActivationStore(copy), files),
            ("ActivationStore(path).verify()", lambda: ActivationStore(copy).verify(), files),
        ]
        print(f"store {store.path}: activations.npy {size / 2**20:.1f} MiB, shape {store.shape}\n")
        print("| operation | warm (ms) | cold (ms) |\n|---|---:|---:|")
        for label, fn, cold in rows:
            print(f"| {label} | {_best(fn, args.repeat):.1f} | {_best(fn, max(1, args.repeat // 2), cold):.1f} |")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
