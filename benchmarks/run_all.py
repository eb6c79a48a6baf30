"""All of issue 12's benchmarks with one command, printed as one table.

Every measurement runs in a subprocess of its own, so its peak memory is its own: the child
reports the kernel's high-water mark of its resident set since its exec (``VmHWM``; for the
command-line run ``getrusage(RUSAGE_CHILDREN)`` of a small wrapper) and the peak of its anonymous memory (``RssAnon``
sampled every 20 ms: the part a memory-mapped store's pages, which the kernel can drop, do not count
in).  Rows:

* extraction of ``ud:en_ewt`` dev into a fresh store against the plain batched forward pass over the
  same sentences, tokenised and packed into the same length-sorted batches beforehand (the floor; the
  logic of ``bench_extract.py``);
* issue 12's NeuroX workload (extract dev + test, probe l1 = l2 = 1e-5 for 10 epochs, ordering,
  retrain top / random / bottom 10 %) through neuronbook's API against NeuroX 1.0.9 itself
  (``benchmarks/neurox_peer.py`` run by ``--neurox-python``; the issue's recorded 112 s / 1.64 GB
  when that interpreter is missing);
* one probe fit (memmap + rows) against scikit-learn's ``LogisticRegression`` (elastic net, saga,
  the same epoch budget) on the same standardised inputs, and against the probe as it was before the
  lean path (a copy of the rows, a standardised copy);
* ``neuronbook lca --task xpos`` with the stores cached (the result cache off).

``--scaling`` adds the corpus x1 / x2 / x4 table (concatenated copies of the dev store, float32;
x4 is ~1 GB) with one run under a memory cap below the store's size (a child memory cgroup).
``--float16`` adds oracle / top / random accuracies of float32 against float16 activations.
``--quick`` runs the table on tiny sizes (tiny-random model, 20 sentences) in under a minute: a smoke test,
its figures mean nothing.

Usage::

    NEURONBOOK_DATA=../shared/data .venv/bin/python benchmarks/run_all.py [--quick] [--scaling] [--float16]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time

T_START = time.perf_counter()
os.environ.setdefault("HF_HUB_OFFLINE", "1")
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
NEUROX_RECORDED = {"seconds": 112.0, "peak_rss": 1.64e9}  # issue 12, NeuroX 1.0.9 on this machine, idle
PREVIOUS_PROBE_COMMIT = "5f23ec7a5113da0a768f9d3c28d54eb966522226"  # probe.py before the lean path
# the package before the second round of this issue (grouped fits, store views, one-pass scoring): the same
# analysis protocol as now, so its `lca` rows compare like with like
BEFORE_COMMIT = "fcae31fa6493581878d3a81c6d8303e185b86104"


# -- measuring ------------------------------------------------------------------------------------
class AnonPeak:
    """Peak RssAnon of this process, sampled in a thread (Linux; 0 elsewhere)."""

    def __init__(self, interval=0.02):
        self.peak, self.interval, self._stop = 0, interval, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _read(self):
        return _status_bytes("RssAnon") or 0

    def _run(self):
        while not self._stop.is_set():
            self.peak = max(self.peak, self._read())
            self._stop.wait(self.interval)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._read())


def peak_rss():
    """This process's peak resident set since its exec: ``VmHWM`` (Linux), else ``ru_maxrss``.

    ``ru_maxrss`` survives ``execve``: a child forked from a big parent would report the parent's size.
    """
    hwm = _status_bytes("VmHWM")
    return hwm if hwm is not None else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _status_bytes(field):
    """A ``kB`` field of ``/proc/self/status`` in bytes (None where there is no such file or field)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def emit(result: dict, anon: AnonPeak | None = None):
    """The child's last stdout line: its result and its own peak memory."""
    result = dict(result)
    result.setdefault("peak_rss", peak_rss())
    if anon is not None:
        result.setdefault("peak_anon", anon.peak)
    print(json.dumps(result, default=float))


def run_child(args: list[str], env=None, cgroup=None, timeout=3600) -> dict:
    """Run ``args`` (a child that ends with one JSON line), return its result (or the error)."""
    def enter_cgroup():
        if cgroup:
            with open(os.path.join(cgroup, "cgroup.procs"), "w") as f:
                f.write(str(os.getpid()))

    t = time.perf_counter()
    proc = subprocess.run(args, capture_output=True, text=True, env=env, timeout=timeout,
                          preexec_fn=enter_cgroup if cgroup else None)
    wall = time.perf_counter() - t
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if proc.returncode != 0 or not lines:
        return {"error": f"exit {proc.returncode}: " + (proc.stderr.strip().splitlines() or ["no output"])[-1],
                "wall_s": wall}
    out = json.loads(lines[-1])
    out["wall_s"] = wall
    return out


def stage_cmd(name, opts, *extra):
    cmd = [sys.executable, os.path.abspath(__file__), "--_stage", name, "--workdir", opts.workdir]
    if opts.quick:
        cmd.append("--quick")
    return cmd + [str(e) for e in extra]


def before_env(opts):
    """An environment whose ``import neuronbook`` is the package at :data:`BEFORE_COMMIT` (``git archive``),
    or None when this checkout does not hold that commit (a shallow clone)."""
    tree = os.path.join(opts.workdir, "before")
    if not os.path.isdir(os.path.join(tree, "neuronbook")):
        archive = subprocess.run(["git", "-C", ROOT, "archive", BEFORE_COMMIT, "neuronbook"], capture_output=True)
        if archive.returncode:
            return None
        os.makedirs(tree, exist_ok=True)
        subprocess.run(["tar", "-x", "-C", tree], input=archive.stdout, check=True)
    return dict(os.environ, PYTHONPATH=tree + os.pathsep + os.environ.get("PYTHONPATH", ""))


def run_both(name, opts, *extra, warm=False):
    """``(before, after)`` results of a stage: the package at BEFORE_COMMIT, then this checkout's (``warm``: the
    cached stores read into the page cache just before each)."""
    if opts.no_before:
        return None, run_child(stage_cmd(name, opts, *extra))
    env = before_env(opts)
    if warm and env is not None:
        run_child(stage_cmd("warm-stores", opts))
    before = {"error": f"commit {BEFORE_COMMIT[:7]} is not in this checkout"} if env is None else \
        run_child(stage_cmd(name, opts, *extra), env=env)
    if warm:
        run_child(stage_cmd("warm-stores", opts))
    return before, run_child(stage_cmd(name, opts, *extra))


# -- shared data --------------------------------------------------------------------------------
def sizes(quick):
    return {"model": "tiny-random" if quick else None, "sentences": 20 if quick else None}


def corpora(quick):
    import neuronbook as nb

    dev, test = nb.load_corpus("ud:en_ewt", "dev"), nb.load_corpus("ud:en_ewt", "test")
    n = sizes(quick)["sentences"]
    return (dev.head(n), test.head(n)) if n else (dev, test)


def model_name(quick):
    import neuronbook as nb

    return sizes(quick)["model"] or nb.DEFAULT_MODEL


def cached_stores(quick, dtype="float32"):
    """The dev and test stores in the ordinary store cache (extracted once, then reused)."""
    import neuronbook as nb

    dev, test = corpora(quick)
    name = model_name(quick)
    return (nb.extract(name, dev, dtype=dtype, progress=False), nb.extract(name, test, dtype=dtype, progress=False),
            dev, test)


def flat(store):
    """A store's memmap as words x (layers * neurons), without reading it."""
    return store.array.reshape(store.n_words, -1)


# -- stages (each runs in its own process) --------------------------------------------------------
def stage_extract(opts, floor):
    """Extraction of dev into a fresh store, or the floor: the model alone over the same sentences, tokenised
    and packed beforehand into the same length-sorted batches (``bench_extract.plain_batches``)."""
    sys.path.insert(0, HERE)
    from bench_extract import forward_batches, plain_batches

    import neuronbook as nb
    from neuronbook.extraction import extract

    dev, _ = corpora(opts.quick)
    model, tok = nb.load_model(model_name(opts.quick))
    with AnonPeak() as anon:
        forward_batches(model, plain_batches(tok, dev.sentences[:50], 8192))  # warm-up, both sides
        batches = plain_batches(tok, dev.sentences, 8192) if floor else None  # untimed: tokenised beforehand
        t = time.perf_counter()
        if floor:
            forward_batches(model, batches)
        else:
            cache = tempfile.mkdtemp(dir=opts.workdir)
            extract(model, dev, tokenizer=tok, cache=cache, token_budget=8192, progress=False)
        seconds = time.perf_counter() - t
    emit({"seconds": seconds, "n_words": dev.n_words}, anon)


def stage_neurox_nb(opts):
    """Issue 12's NeuroX workload through neuronbook's API, fresh store cache, lean probe path."""
    import numpy as np

    import neuronbook as nb
    from neuronbook.extraction import extract
    from neuronbook.probe import ElasticNetProbe
    from neuronbook.rank import neuron_ordering

    parts = {"imports_s": time.perf_counter() - T_START}
    with AnonPeak() as anon:
        t = time.perf_counter()
        dev, test = corpora(opts.quick)
        model, tok = nb.load_model(model_name(opts.quick))
        cache = tempfile.mkdtemp(dir=opts.workdir)
        s_dev = extract(model, dev, tokenizer=tok, cache=cache, progress=False)
        s_test = extract(model, test, tokenizer=tok, cache=cache, progress=False)
        y, y_test = np.asarray(dev.flat_labels("xpos")), np.asarray(test.flat_labels("xpos"))
        parts["extract_s"] = time.perf_counter() - t
        t = time.perf_counter()
        X, X_test = flat(s_dev), flat(s_test)
        probe = ElasticNetProbe(l1=1e-5, l2=1e-5, epochs=10).fit(X, y)
        acc = {"all": probe.score(X_test, y_test)}
        parts["probe_s"] = time.perf_counter() - t
        t = time.perf_counter()
        ordering, _ = neuron_ordering(probe.coef_)
        parts["ordering_s"] = time.perf_counter() - t
        t = time.perf_counter()
        d = X.shape[1]
        k = max(1, round(0.1 * d))
        sets = {"top": ordering[:k], "random": np.random.default_rng(0).choice(d, k, replace=False),
                "bottom": ordering[-k:]}
        try:  # the three refits share each mini-batch (fit_probes); the package before it fits them in turn
            from neuronbook.probe import fit_probes
        except ImportError:
            for name, cols in sets.items():
                cols = np.asarray(cols)
                sub = ElasticNetProbe(l1=1e-5, l2=1e-5, epochs=10).fit(
                    X, y, columns=cols, stats=(probe.mean_[cols], probe.scale_[cols]))
                acc[name] = sub.score(X_test, y_test, columns=cols)
        else:
            subs = fit_probes([ElasticNetProbe(l1=1e-5, l2=1e-5, epochs=10) for _ in sets], X, y,
                              [np.asarray(c) for c in sets.values()])
            for (name, cols), sub in zip(sets.items(), subs):
                acc[name] = sub.score(X_test, y_test, columns=np.asarray(cols))
        parts["retrain_s"] = time.perf_counter() - t
    parts["total_s"] = time.perf_counter() - T_START
    emit({"seconds": parts["total_s"], "parts": parts, "accuracy": acc, "n_train": len(y)}, anon)


def stage_neurox_peer(opts):
    """Write NeuroX's input files (untimed), then time NeuroX in its own interpreter."""
    dev, test = corpora(opts.quick)
    folder = tempfile.mkdtemp(dir=opts.workdir)
    for split, corpus in (("train", dev), ("test", test)):
        with open(f"{folder}/{split}.txt", "w") as f:
            f.writelines(" ".join(s) + "\n" for s in corpus.sentences)
        labels, i = corpus.flat_labels("xpos"), 0
        with open(f"{folder}/{split}.labels", "w") as f:
            for s in corpus.sentences:
                f.write(" ".join(labels[i:i + len(s)]) + "\n")
                i += len(s)
    from neuronbook.models.registry import resolve_model

    where, _ = resolve_model(model_name(opts.quick))
    out = run_child([opts.neurox_python, os.path.join(HERE, "neurox_peer.py"), "--model", str(where),
                     "--workdir", folder])
    print(json.dumps(out, default=float))


def _probe_data(opts):
    import numpy as np

    from neuronbook.lca import split_store_rows

    s_dev, s_test, dev, test = cached_stores(opts.quick)
    rows, _ = split_store_rows(s_dev, 0.1, 0)
    return s_dev, s_test, rows, np.asarray(dev.flat_labels("xpos")), np.asarray(test.flat_labels("xpos"))


def stage_probe(opts, which):
    """One probe fit on the training rows of the dev store: lean, previous implementation, or sklearn."""
    import numpy as np

    s_dev, s_test, rows, y, y_test = _probe_data(opts)
    params = {"l1": 1e-5, "l2": 1e-5, "epochs": 10}
    with AnonPeak() as anon:
        if which == "lean":
            from neuronbook.probe import ElasticNetProbe

            t = time.perf_counter()
            probe = ElasticNetProbe(**params).fit(flat(s_dev), y[rows], rows=rows)
            seconds = time.perf_counter() - t
            acc = probe.score(flat(s_test), y_test)
        elif which == "before":
            probe_mod = _previous_probe(opts.workdir)
            X_all = s_dev.activations()  # as analyze_store reads the store today
            t = time.perf_counter()
            probe = probe_mod.ElasticNetProbe(**params).fit(X_all[rows], y[rows])
            seconds = time.perf_counter() - t
            acc = probe.score(s_test.activations(), y_test)
        else:  # scikit-learn on the probe's own standardised inputs
            import warnings

            from sklearn.exceptions import ConvergenceWarning
            from sklearn.linear_model import LogisticRegression

            X = s_dev.activations()[rows]
            mean, std = X.mean(0, dtype=np.float64), X.std(0, dtype=np.float64)
            scale = np.where(std > 1e-12, std, 1.0)
            X = ((X - mean) / scale).astype(np.float32)
            # the same l1 weight on the mean loss: sklearn's l1 term is l1_ratio / (C * n)
            ratio = 0.5
            c = ratio / (params["l1"] * len(X))
            clf = LogisticRegression(C=c, l1_ratio=ratio, solver="saga", max_iter=params["epochs"], tol=1e-4)
            if "penalty" in LogisticRegression().get_params() and _sklearn_needs_penalty():
                clf.set_params(penalty="elasticnet")
            t = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                clf.fit(X, y[rows])
            seconds = time.perf_counter() - t
            Xt = ((s_test.activations() - mean) / scale).astype(np.float32)
            acc = float(np.mean(clf.predict(Xt) == y_test))
    emit({"seconds": seconds, "accuracy": {"all": acc}, "n_train": len(rows)}, anon)


def _sklearn_needs_penalty():
    import sklearn

    major, minor = (int(v) for v in sklearn.__version__.split(".")[:2])
    return (major, minor) < (1, 8)  # before 1.8 l1_ratio is ignored unless penalty="elasticnet"


def _previous_probe(workdir):
    import importlib.util

    path = os.path.join(workdir, "probe_before.py")
    if not os.path.exists(path):
        src = subprocess.run(["git", "-C", ROOT, "show", f"{PREVIOUS_PROBE_COMMIT}:neuronbook/probe.py"],
                             capture_output=True, text=True, check=True).stdout
        with open(path, "w") as f:
            f.write(src)
    import neuronbook  # noqa: F401  (its relative imports resolve inside the package)

    spec = importlib.util.spec_from_file_location("neuronbook._probe_before", path)
    mod = importlib.util.module_from_spec(spec)
    mod.__package__ = "neuronbook"
    spec.loader.exec_module(mod)
    return mod


def stage_lca(opts, cold=False):
    """The command line's default analysis: stores cached (warm), or from an empty cache (cold: extraction too)."""
    out = tempfile.mkdtemp(dir=opts.workdir)  # the result goes to the scratch folder, not the caller's
    cmd = [sys.executable, "-m", "neuronbook", "lca", "--task", "xpos", "--no-cache", "--quiet", "--out",
           os.path.join(out, "result")]
    if opts.quick:
        cmd += ["--model", "tiny-random", "--max-sentences", "20", "--l1", "0.001", "--l2", "0.001",
                "--epochs", "1", "--control", "False"]
    env = dict(os.environ)
    if cold:
        env["NEURONBOOK_CACHE"] = tempfile.mkdtemp(dir=opts.workdir)
    t = time.perf_counter()
    with tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err, text=True, cwd=out, env=env)
        anon = 0
        while proc.poll() is None:  # the command's anonymous memory, sampled as AnonPeak does for a stage
            try:
                with open(f"/proc/{proc.pid}/status") as f:
                    anon = max(anon, next((int(ln.split()[1]) * 1024 for ln in f if ln.startswith("RssAnon")), 0))
            except OSError:
                pass
            time.sleep(0.02)
        seconds = time.perf_counter() - t
        if proc.returncode:
            err.seek(0)
            raise SystemExit(f"neuronbook lca failed: {(err.read().strip().splitlines() or ['?'])[-1]}")
    with open(os.path.join(out, "result", "result.json")) as f:
        timings = json.load(f).get("info", {}).get("timings_s", {})
    # the command's own high-water mark (its parent, this small stage process, adds nothing to it)
    emit({"seconds": seconds, "peak_rss": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024,
          "peak_anon": anon, "timings": timings})


def _store_files(opts):
    """The files of the cached dev and test stores."""
    return [f for store in cached_stores(opts.quick)[:2] for f in store.path.iterdir() if f.is_file()]


def stage_warm_stores(opts):
    """Read the cached dev and test stores once, so that the timed stage after this finds them in the page cache
    (this machine reclaims idle page cache: without it a "warm" stage may read from disk)."""
    for f in _store_files(opts):
        with open(f, "rb") as fh:
            while fh.read(8 << 20):
                pass
    emit({"seconds": 0.0})


def stage_evict_stores(opts):
    """Drop the cached dev and test stores' pages from the page cache, so a capped run reads (and is charged
    for) every page it touches."""
    for f in _store_files(opts):
        _evict(str(f))
    emit({"seconds": 0.0})


def stage_prepare(opts):
    """Extract (or reuse) the cached stores the probe rows read, outside any timing."""
    cached_stores(opts.quick)
    emit({"seconds": 0.0})


# -- scaling --------------------------------------------------------------------------------------
def build_scaled(opts, factor):
    """words x columns .npy of ``factor`` concatenated copies of the dev store (float32), and its labels."""
    import numpy as np

    path = os.path.join(opts.workdir, f"x{factor}.npy")
    s_dev, _, dev, _ = cached_stores(opts.quick)
    y = np.tile(np.asarray(dev.flat_labels("xpos")), factor)
    if not os.path.exists(path):
        src = flat(s_dev)
        out = np.lib.format.open_memmap(path + ".tmp.npy", mode="w+", dtype=np.float32,
                                        shape=(src.shape[0] * factor, src.shape[1]))
        for i in range(factor):
            for start in range(0, src.shape[0], 4096):
                stop = min(start + 4096, src.shape[0])
                out[i * src.shape[0] + start:i * src.shape[0] + stop] = src[start:stop]
        out.flush()
        del out
        os.replace(path + ".tmp.npy", path)
    np.save(os.path.join(opts.workdir, f"x{factor}.labels.npy"), y)
    return path


def stage_scale(opts, factor):
    import numpy as np

    from neuronbook.probe import ElasticNetProbe

    X = np.load(os.path.join(opts.workdir, f"x{factor}.npy"), mmap_mode="r")
    y = np.load(os.path.join(opts.workdir, f"x{factor}.labels.npy"))
    with AnonPeak() as anon:
        t = time.perf_counter()
        probe = ElasticNetProbe(l1=1e-5, l2=1e-5, epochs=opts.epochs).fit(X, y)
        seconds = time.perf_counter() - t
    emit({"seconds": seconds, "n_words": len(y), "store_bytes": X.nbytes,
          "train_accuracy_first_10k": probe.score(X, y[:10_000], rows=np.arange(min(10_000, len(y))))}, anon)


def _evict(path):
    """Drop a file's pages from the page cache (they are written back already: flushed on build)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


class MemoryCap:
    """A child memory cgroup below this process's own (cgroup v1 or v2), removed on exit."""

    def __init__(self, limit_bytes):
        self.limit, self.path, self.how = int(limit_bytes), None, None

    def __enter__(self):
        with open("/proc/self/cgroup") as f:
            lines = [ln.strip().split(":", 2) for ln in f]
        for _, controllers, rel in lines:
            if "memory" in controllers.split(","):  # v1
                base, limit_file, peak_file = "/sys/fs/cgroup/memory", "memory.limit_in_bytes", \
                    "memory.max_usage_in_bytes"
                break
        else:
            rel = next(r for _, c, r in lines if c == "")  # v2
            base, limit_file, peak_file = "/sys/fs/cgroup", "memory.max", "memory.peak"
        path = os.path.join(base + rel, f"neuronbook-bench-{os.getpid()}")
        os.mkdir(path)
        self.path, self.peak_file = path, os.path.join(path, peak_file)
        with open(os.path.join(path, limit_file), "w") as f:
            f.write(str(self.limit))
        self.how = f"child memory cgroup ({'v1' if base.endswith('memory') else 'v2'}) {limit_file}={self.limit}"
        return self

    def peak(self):
        try:
            with open(self.peak_file) as f:
                return int(f.read())
        except OSError:
            return None

    def __exit__(self, *exc):
        if self.path:
            for _ in range(50):  # the child's pages are uncharged a moment after it exits
                try:
                    os.rmdir(self.path)
                    break
                except OSError:
                    time.sleep(0.1)


# -- float16 ----------------------------------------------------------------------------------------
def stage_float16(opts):
    """Oracle, top and random 10 % test accuracies from float32 and float16 activations of one store."""
    import numpy as np

    from neuronbook.probe import ElasticNetProbe
    from neuronbook.rank import neuron_ordering

    s_dev, s_test, rows, y, y_test = _probe_data(opts)
    out = {}
    for dtype in ("float32", "float16"):
        folder = os.path.join(opts.workdir, f"cast-{dtype}")
        X = flat(s_dev)
        Xt = flat(s_test)
        if dtype == "float16":  # the same store cast on read: written once as float16 copies
            os.makedirs(folder, exist_ok=True)
            for name, A in (("dev", X), ("test", Xt)):
                np.save(os.path.join(folder, f"{name}.npy"), A.astype(np.float16))
            X = np.load(os.path.join(folder, "dev.npy"), mmap_mode="r")
            Xt = np.load(os.path.join(folder, "test.npy"), mmap_mode="r")
        probe = ElasticNetProbe(l1=1e-5, l2=1e-5, epochs=10, lr=3e-3).fit(X, y[rows], rows=rows)
        acc = {"oracle": probe.score(Xt, y_test)}
        ordering, _ = neuron_ordering(probe.coef_)
        k = max(1, round(0.1 * X.shape[1]))
        for name, cols in (("top", ordering[:k]),
                           ("random", np.random.default_rng(0).choice(X.shape[1], k, replace=False))):
            cols = np.asarray(cols)
            sub = ElasticNetProbe(l1=1e-5, l2=1e-5, epochs=10, lr=3e-3).fit(
                X, y[rows], rows=rows, columns=cols, stats=(probe.mean_[cols], probe.scale_[cols]))
            acc[name] = sub.score(Xt, y_test, columns=cols)
        out[dtype] = {"accuracy": acc, "top_overlap": None, "ordering": ordering[:k].tolist(),
                      "bytes": int(X.nbytes)}
    a, b = set(out["float32"].pop("ordering")), set(out["float16"].pop("ordering"))
    out["top_overlap"] = len(a & b) / max(1, len(a))
    emit({"seconds": 0.0, **out})


# -- the table ----------------------------------------------------------------------------------
def fmt_s(r):
    return "—" if r is None else ("error" if "error" in r else f"{r['seconds']:.2f}")


def fmt_mb(r, key="peak_rss"):
    if r is None or "error" in r or not r.get(key):
        return "—"
    return f"{r[key] / 1e6:,.0f}"


def fmt_acc(r, key="all"):
    try:
        return f"{100 * r['accuracy'][key]:.2f}"
    except (KeyError, TypeError):
        return "—"


def main_table(opts):
    rows = []
    note_peer = ""
    prep = run_child(stage_cmd("prepare", opts))
    if "error" in prep:
        raise SystemExit(f"preparing the stores failed: {prep['error']}")

    x_before, x_after = run_both("extract", opts)
    floor = run_child(stage_cmd("extract-floor", opts))
    rows.append(("extraction, en_ewt dev, fresh store / plain batched forward (floor)", x_before, x_after, floor,
                 ""))

    w_before, w_after = run_both("neurox-nb", opts)
    if opts.neurox_python and os.path.exists(opts.neurox_python):
        peer = run_child(stage_cmd("neurox-peer", opts, "--neurox-python", opts.neurox_python))
        peer_label = "NeuroX 1.0.9, this run"
    else:
        peer, peer_label = dict(NEUROX_RECORDED), "NeuroX 1.0.9, figures recorded in issue 12 (not run)"
    note = (f"test acc all/top/random/bottom: after "
            f"{'/'.join(fmt_acc(w_after, k) for k in ('all', 'top', 'random', 'bottom'))}; NeuroX "
            f"{'/'.join(fmt_acc(peer, k) for k in ('all', 'top', 'random', 'bottom'))}; target <= 22 s, 800 MB")
    rows.append((f"NeuroX workload (issue 12) / {peer_label}", w_before, w_after, peer, note))
    if "error" in peer:
        note_peer = f"NeuroX failed: {peer['error']}"

    run_child(stage_cmd("warm-stores", opts))
    lean = run_child(stage_cmd("probe-lean", opts))
    before = None
    if not opts.no_before:
        run_child(stage_cmd("warm-stores", opts))
        before = run_child(stage_cmd("probe-before", opts))
    name = "one probe fit (before: the probe of 5f23ec7, copies of X) / scikit-learn elastic net, saga, 10 epochs"
    if importlib.util.find_spec("sklearn") is None:  # an optional peer: say so, do not fail the table
        rows.append((name, before, lean, None, f"test acc before/after {fmt_acc(before)}/{fmt_acc(lean)}; "
                     "scikit-learn not installed here (pip install scikit-learn to compare)"))
    else:
        run_child(stage_cmd("warm-stores", opts))
        skl = run_child(stage_cmd("probe-sklearn", opts))
        rows.append((name, before, lean, skl, f"test acc before/after/sklearn {fmt_acc(before)}/{fmt_acc(lean)}/"
                                              f"{fmt_acc(skl)}"))

    lca_before, lca_after = run_both("lca", opts, warm=True)
    rows.append(("`neuronbook lca --task xpos`, stores cached", lca_before, lca_after, None,
                 "target <= 30 s, 1 GB"))
    cold_before, cold_after = run_both("lca-cold", opts)
    rows.append(("`neuronbook lca --task xpos`, empty cache (model, extraction of dev + test, analysis)",
                 cold_before, cold_after, None, "target <= 45 s, 1 GB"))
    # Binder's limit is a memory cgroup: run the same commands inside one, page cache included
    cap_bytes = 10**9 if not opts.quick else 2 * 10**9
    for stage, label in (("lca", "stores cached, their pages evicted first"), ("lca-cold", "empty cache")):
        capped = None
        try:
            if stage == "lca":
                run_child(stage_cmd("evict-stores", opts))
            with MemoryCap(cap_bytes) as cap:
                capped = run_child(stage_cmd(stage, opts), cgroup=cap.path)
                capped["cgroup_peak"] = cap.peak()
        except (OSError, StopIteration):
            pass
        if capped is None:
            note = "no memory cgroup could be made here"
        elif "error" in capped:
            note = ""
        else:
            note = "completes within the cap" + (f"; the cgroup's own peak (page cache included) "
                                                 f"{capped['cgroup_peak'] / 1e6:,.0f} MB" if capped.get("cgroup_peak")
                                                 else "")
        rows.append((f"`neuronbook lca --task xpos`, {label}, inside a {cap_bytes / 1e9:g} GB memory cgroup", None,
                     capped, None, note))

    print(f"\nissue 12 benchmarks{' (--quick: tiny sizes, not comparable)' if opts.quick else ''}; "
          f"{platform.machine()}, {os.cpu_count()} CPUs, load average at start {os.getloadavg()[0]:.1f}; "
          f"before = neuronbook at {BEFORE_COMMIT[:7]} unless the row says otherwise; peak memory = the child's "
          f"max RSS (MB), its anonymous peak in brackets\n")
    print("| stage | before (s) | after (s) | floor or peer (s) | after / floor or peer | peak MB before | "
          "peak MB after | peak MB peer | notes |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---|")

    def mem(r):
        if r is None:
            return "—"
        return fmt_mb(r) + (f" [{fmt_mb(r, 'peak_anon')}]" if r.get("peak_anon") else "")

    for name, b, a, peer_r, note in rows:
        ratio = "—"
        if a is not None and peer_r is not None and "error" not in a and "error" not in peer_r and peer_r.get(
                "seconds"):
            ratio = f"{a['seconds'] / peer_r['seconds']:.2f}"
        errs = "; ".join(r["error"] for r in (b, a, peer_r) if r is not None and "error" in r)
        errs = f" {errs}" if errs else ""
        print(f"| {name} | {fmt_s(b)} | {fmt_s(a)} | {fmt_s(peer_r)} | {ratio} | {mem(b)} | {mem(a)} | "
              f"{mem(peer_r)} | {note}{errs} |")
    if note_peer:
        print(f"\n{note_peer}")
    for label, r in (("NeuroX workload parts, before", w_before), ("NeuroX workload parts, after", w_after),
                     ("NeuroX parts", peer)):
        if r and "parts" in r:
            print(f"{label}: " + ", ".join(f"{k} {v:.1f}" for k, v in r["parts"].items()))
    for label, r in (("lca stages, before", lca_before), ("lca stages, after", lca_after)):
        if r and r.get("timings"):
            print(f"{label} (s): " + ", ".join(f"{k.removesuffix('_s')} {v:.1f}" for k, v in r["timings"].items()))


def main_scaling(opts):
    factors = (1, 2, 4)
    for f in factors:  # in a child: the parent stays small (a forked child starts with the parent's pages)
        built = run_child(stage_cmd("build-scaled", opts, "--factor", f))
        if "error" in built:
            raise SystemExit(f"building the x{f} store failed: {built['error']}")
    paths = {f: os.path.join(opts.workdir, f"x{f}.npy") for f in factors}
    results = {f: run_child(stage_cmd("scale", opts, "--factor", f, "--epochs", opts.epochs)) for f in factors}
    top = factors[-1]
    size = os.path.getsize(paths[top])
    cap_bytes = opts.cap or (size // 2 if not opts.quick else max(size // 2, 400 * 2**20))
    capped, how = None, None
    _evict(paths[top])  # else its pages stay cached and charged to this cgroup, not to the capped one
    try:
        with MemoryCap(cap_bytes) as cap:
            capped = run_child(stage_cmd("scale", opts, "--factor", top, "--epochs", opts.epochs), cgroup=cap.path)
            capped["cgroup_peak"] = cap.peak()
            how = cap.how
    except (OSError, StopIteration) as err:
        how = f"no memory cgroup could be made here ({err}); no capped run"
    print(f"\nscaling: probe fit (l1 = l2 = 1e-5, {opts.epochs} epochs) on a float32 memmap of n copies of the dev "
          f"store; load average at start {os.getloadavg()[0]:.1f}\n")
    print("| corpus | words | store (MB) | fit (s) | s per 1k words | peak RSS (MB) | peak anonymous (MB) |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for f in factors:
        r = results[f]
        if "error" in r:
            print(f"| x{f} | | | error: {r['error']} | | | |")
            continue
        print(f"| x{f} | {r['n_words']:,} | {r['store_bytes'] / 1e6:,.0f} | {r['seconds']:.2f} | "
              f"{1000 * r['seconds'] / r['n_words']:.3f} | {fmt_mb(r)} | {fmt_mb(r, 'peak_anon')} |")
    if capped is not None:
        if "error" in capped:
            print(f"| x{top}, capped at {cap_bytes / 1e6:,.0f} MB | | | error: {capped['error']} | | | |")
        else:
            print(f"| x{top}, capped at {cap_bytes / 1e6:,.0f} MB | {capped['n_words']:,} | "
                  f"{capped['store_bytes'] / 1e6:,.0f} | {capped['seconds']:.2f} | "
                  f"{1000 * capped['seconds'] / capped['n_words']:.3f} | {fmt_mb(capped)} | "
                  f"{fmt_mb(capped, 'peak_anon')} |")
    print(f"\nmemory cap: {how}" + (f"; the cgroup's own peak usage (page cache included): "
                                   f"{capped['cgroup_peak'] / 1e6:,.0f} MB" if capped and capped.get("cgroup_peak")
                                   else ""))


def main_float16(opts):
    r = run_child(stage_cmd("float16", opts))
    if "error" in r:
        print(f"\nfloat16: error {r['error']}")
        return
    print("\nfloat16 against float32 activations of the same store (cast on read), xpos, seed 0, test accuracy (%)\n")
    print("| dtype | oracle | top 10 % | random 10 % | train activations (MB) |")
    print("|---|---:|---:|---:|---:|")
    for dtype in ("float32", "float16"):
        a = r[dtype]["accuracy"]
        print(f"| {dtype} | {100 * a['oracle']:.2f} | {100 * a['top']:.2f} | {100 * a['random']:.2f} | "
              f"{r[dtype]['bytes'] / 1e6:,.0f} |")
    d = {k: 100 * (r["float16"]["accuracy"][k] - r["float32"]["accuracy"][k]) for k in ("oracle", "top", "random")}
    print(f"| difference (points) | {d['oracle']:+.2f} | {d['top']:+.2f} | {d['random']:+.2f} | |")
    print(f"\ntop 10 % neurons shared by the two orderings: {100 * r['top_overlap']:.1f} %")


STAGES = {
    "prepare": stage_prepare,
    "extract": lambda o: stage_extract(o, floor=False),
    "extract-floor": lambda o: stage_extract(o, floor=True),
    "neurox-nb": stage_neurox_nb,
    "neurox-peer": stage_neurox_peer,
    "probe-lean": lambda o: stage_probe(o, "lean"),
    "probe-before": lambda o: stage_probe(o, "before"),
    "probe-sklearn": lambda o: stage_probe(o, "sklearn"),
    "lca": stage_lca,
    "lca-cold": lambda o: stage_lca(o, cold=True),
    "evict-stores": stage_evict_stores,
    "warm-stores": stage_warm_stores,
    "scale": lambda o: stage_scale(o, o.factor),
    "build-scaled": lambda o: (build_scaled(o, o.factor), emit({"seconds": 0.0})),
    "float16": stage_float16,
}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true",
                   help="tiny sizes (tiny-random model, 20 sentences): a smoke test")
    p.add_argument("--no-before", action="store_true",
                   help="measure only this checkout (the before columns read —): a faster smoke test")
    p.add_argument("--threads", type=int, default=None,
                   help="CPU threads of every child (OMP_NUM_THREADS; default: torch's own choice)")
    p.add_argument("--scaling", action="store_true", help="also the corpus x1 / x2 / x4 table and a capped run")
    p.add_argument("--float16", action="store_true", help="also float16 against float32 accuracies")
    p.add_argument("--only", choices=["table", "scaling", "float16"], help="run only this part")
    p.add_argument("--neurox-python", default="/work/neurox-venv/bin/python",
                   help="interpreter with neurox 1.0.9 installed (missing: the issue's recorded figures)")
    p.add_argument("--epochs", type=int, default=10, help="scaling: probe epochs")
    p.add_argument("--cap", type=int, default=None,
                   help="scaling: memory cap in bytes (default: half the x4 store)")
    p.add_argument("--workdir", default=None, help="scratch folder (default: a temporary one, removed at the end)")
    p.add_argument("--_stage", choices=sorted(STAGES), help=argparse.SUPPRESS)
    p.add_argument("--factor", type=int, default=1, help=argparse.SUPPRESS)
    opts = p.parse_args(argv)
    if opts._stage:
        STAGES[opts._stage](opts)
        return
    # NEURONBOOK_DATA=../shared/data (the usage above) means the folder relative to here, also for the children
    # that run elsewhere (the command-line stages run in a scratch folder): made absolute in os.environ by this
    # checkout's package, before any child starts
    sys.path.insert(0, ROOT)
    from neuronbook.settings import absolute_path_settings

    absolute_path_settings()
    if opts.threads:  # the children inherit it, NeuroX's interpreter included
        os.environ["OMP_NUM_THREADS"] = os.environ["MKL_NUM_THREADS"] = str(opts.threads)
    own = opts.workdir is None
    opts.workdir = tempfile.mkdtemp(prefix="nb-bench-") if own else os.path.abspath(opts.workdir)
    os.makedirs(opts.workdir, exist_ok=True)
    try:
        parts = [opts.only] if opts.only else ["table"] + (["scaling"] if opts.scaling else []) + \
            (["float16"] if opts.float16 else [])
        for part in parts:
            {"table": main_table, "scaling": main_scaling, "float16": main_float16}[part](opts)
        print(f"\ntotal {time.perf_counter() - T_START:.0f} s")
    finally:
        if own:
            shutil.rmtree(opts.workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
