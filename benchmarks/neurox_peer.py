"""The NeuroX 1.0.9 side of issue 12's workload, run by NeuroX's own Python (a separate venv).

Not imported by neuronbook: ``benchmarks/run_all.py`` writes the corpus as NeuroX's text and label
files, then runs this script with ``/work/neurox-venv/bin/python`` (torch 2.13.0 CPU, neurox 1.0.9
installed with ``--no-deps`` plus numpy, h5py, transformers, scipy, scikit-learn, imbalanced-learn).
The workload, in NeuroX's documented API: extract train and test representations (one sentence per
forward pass, ``aggregation="average"``, HDF5), load them, build tensors, train the logistic-regression
probe (l1 = l2 = 1e-5, 10 epochs), evaluate on test, order the neurons, and retrain / evaluate on the
top, a random and the bottom 10 % of them.  It prints one JSON line: seconds per part and accuracies.

Two shims let NeuroX 1.0.9 run on today's libraries, neither changes what it computes:
``np.int`` (removed in numpy 1.24) is aliased to ``int``, and NeuroX's per-sentence prints go to
/dev/null.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import time

T_START = time.perf_counter()

import numpy as np  # noqa: E402

np.int = int  # NeuroX 1.0.9 still uses the alias numpy removed in 1.24

import torch  # noqa: E402
from neurox.data import loader  # noqa: E402
from neurox.data.extraction import transformers_extractor  # noqa: E402
from neurox.interpretation import ablation, linear_probe, utils  # noqa: E402


def quiet():
    return contextlib.redirect_stdout(open(os.devnull, "w"))


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", required=True, help="a local Hugging Face model folder")
    p.add_argument("--workdir", required=True, help="holds train.txt, train.labels, test.txt, test.labels")
    p.add_argument("--threads", type=int, default=None)
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    w = args.workdir
    times = {"imports_s": time.perf_counter() - T_START}
    t = time.perf_counter()
    with quiet():
        for split in ("train", "test"):
            transformers_extractor.extract_representations(
                args.model, f"{w}/{split}.txt", f"{w}/{split}.hdf5", device="cpu", aggregation="average",
                output_type="hdf5")
    times["extract_s"] = time.perf_counter() - t

    t = time.perf_counter()
    with quiet():
        train_act, _ = loader.load_activations(f"{w}/train.hdf5")
        test_act, _ = loader.load_activations(f"{w}/test.hdf5")
        train_tok = loader.load_data(f"{w}/train.txt", f"{w}/train.labels", train_act, 512)
        test_tok = loader.load_data(f"{w}/test.txt", f"{w}/test.labels", test_act, 512)
        X, y, mapping = utils.create_tensors(train_tok, train_act, "NN")
        X_test, y_test, _ = utils.create_tensors(test_tok, test_act, "NN", mappings=mapping)
    label2idx, idx2label, _, _ = mapping
    times["load_s"] = time.perf_counter() - t

    t = time.perf_counter()
    with quiet():
        probe = linear_probe.train_logistic_regression_probe(X, y, lambda_l1=1e-5, lambda_l2=1e-5, num_epochs=10)
        acc = linear_probe.evaluate_probe(probe, X_test, y_test, idx_to_class=idx2label)["__OVERALL__"]
    times["probe_s"] = time.perf_counter() - t

    t = time.perf_counter()
    with quiet():
        ordering, _ = linear_probe.get_neuron_ordering(probe, label2idx)
    times["ordering_s"] = time.perf_counter() - t

    t = time.perf_counter()
    k = max(1, round(0.1 * X.shape[1]))
    rng = np.random.default_rng(0)
    sets = {"top": ordering[:k], "random": rng.choice(X.shape[1], k, replace=False).tolist(),
            "bottom": ordering[-k:]}
    accs = {"all": float(acc)}
    with quiet():
        for name, neurons in sets.items():
            Xs = ablation.filter_activations_keep_neurons(X, neurons)
            sub = linear_probe.train_logistic_regression_probe(Xs, y, lambda_l1=1e-5, lambda_l2=1e-5, num_epochs=10)
            accs[name] = float(linear_probe.evaluate_probe(
                sub, ablation.filter_activations_keep_neurons(X_test, neurons), y_test,
                idx_to_class=idx2label)["__OVERALL__"])
    times["retrain_s"] = time.perf_counter() - t
    times["total_s"] = time.perf_counter() - T_START
    print(json.dumps({"seconds": times["total_s"], "parts": times, "accuracy": accs,
                      "n_train": int(X.shape[0]), "n_neurons": int(X.shape[1]),
                      "peak_rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}))


if __name__ == "__main__":
    main()
