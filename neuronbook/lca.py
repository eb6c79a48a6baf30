"""Linguistic Correlation Analysis end to end: probe, rank, evaluate, one result object.

Three levels, one :class:`~neuronbook.config.LCAConfig` for all of them:

* :func:`run_lca` -- a config (model, corpus, task names) in, :class:`LCAResult` out; loads the
  corpus, reuses or extracts the activation stores, and keeps the whole result in a cache keyed
  by the config and the stores' keys, so an identical second call loads it instead of refitting;
* :func:`analyze_store` -- activation stores and per-word labels in;
* :func:`lca_from_arrays` -- plain arrays in (train / dev / test).

A result carries its oracle probe (weights, bias, classes, standardisation, per-class word
counts) and the neuron table, so it can be re-ranked, queried neuron by neuron and charted after
:meth:`LCAResult.load`, without the model.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import shutil
import time
import uuid
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .config import LCAConfig
from .models.cache import sha256_file
from .exceptions import ApproximationWarning, RareTagsWarning, UnseenLabelsWarning
from .neurons import as_neuron_index, neuron_table, positions

__all__ = ["LCAResult", "LCAData", "RESULT_FORMAT", "lca_from_arrays", "split_store_rows", "analyze_store",
           "prepare", "run_lca", "combine_seeds", "result_key", "cache_result", "rare_tags"]

logger = logging.getLogger(__name__)

#: Version of the on-disk result layout; :meth:`LCAResult.load` refuses any other.
RESULT_FORMAT = 4  # 4: random baselines over draws, ablation variants, minimal-set interval, seed tables

_TABLES = ("ranking", "per_tag_ranking", "oracle", "curve", "minimal_set", "ablation", "ablation_variants",
           "baseline_draws", "baselines", "selectivity", "layer_distribution", "tag_layer_distribution",
           "regularization", "neurons", "classes", "seed_runs", "seed_summary", "seed_overlap")
_BASELINE_COLS = ("percent", "baseline", "method", "variant", "n_draws", "mean", "sd", "top", "difference", "se",
                  "ci_low", "ci_high", "confidence")
_INFO = "result.json"
_PROBE = "probe.npz"
_CURVE_COLS = ("selection", "method", "percent", "n_neurons", "split", "accuracy")


def _empty(*cols):
    return pd.DataFrame(columns=list(cols))


@dataclass
class LCAResult:
    """All tables of one analysis (tidy DataFrames), its oracle probe and its settings.

    Attributes
    ----------
    ranking : DataFrame
        Every analysed neuron: ``rank`` (1 = most salient), ``layer``, ``neuron``, ``tag`` (the
        tag it weighs most for), ``score`` (its largest share of a tag's weight mass), ``chunk``.
    per_tag_ranking : DataFrame
        ``tag``, ``rank``, ``layer``, ``neuron``, ``score``: the top neurons of each tag.
    oracle : DataFrame
        ``split``, ``accuracy``, ``n_neurons`` of the probe on all neurons.
    curve : DataFrame
        Minimal-set search: ``selection``, ``method``, ``percent``, ``n_neurons``, ``split``, ``accuracy``.
    minimal_set : DataFrame
        One row: ``n_neurons``, ``percent``, ``dev_accuracy``, ``test_accuracy``, ``target``, ``reached``;
        with a bootstrap also ``n_bootstrap``, ``size_median``, ``size_low``, ``size_high`` (2.5 / 97.5 %
        over resampled dev sentences) and ``share_not_reached``.
    ablation : DataFrame
        ``selection`` (top/random/bottom), ``method`` (retrain/zero-out), ``percent``, ``n_neurons``,
        ``split``, ``accuracy``; ``random`` is one fresh draw (the baselines hold many).
    ablation_variants : DataFrame
        The oracle probe with neurons missing: ``percent``, ``selection``, ``variant``
        (keep-selected / remove-selected), ``fill`` (mean / zero), ``n_neurons``, ``split``, ``accuracy``
        (:func:`neuronbook.evaluate.ablation_variants`).
    baseline_draws : DataFrame
        Every random draw: ``percent``, ``baseline`` (random / layer-matched random), ``method``,
        ``variant``, ``draw``, ``seed``, ``n_neurons``, ``accuracy`` (test).
    baselines : DataFrame
        Top against the draws: ``percent``, ``baseline``, ``method``, ``variant``, ``n_draws``, ``mean``,
        ``sd``, ``top``, ``difference`` (top - mean), ``se``, ``ci_low``, ``ci_high``, ``confidence``.
    selectivity : DataFrame
        ``selection``, ``n_neurons``, ``task_accuracy``, ``control_accuracy``, ``selectivity``.
    layer_distribution : DataFrame
        The minimal set per layer (:func:`neuronbook.layer_distribution`).
    tag_layer_distribution : DataFrame
        Each tag's top neurons per layer (:func:`neuronbook.tag_layer_counts`).
    regularization : DataFrame
        The penalties tried by the search (empty when ``l1``/``l2`` were given).
    neurons : DataFrame
        The analysed neurons in probe column order: ``layer``, ``neuron``, ``mean``, ``scale``
        (the probe's standardisation).
    classes : DataFrame
        ``tag``, ``n_train``, ``n_dev``, ``n_test`` (words per tag), ``intercept`` (probe bias).
    seed_runs, seed_summary, seed_overlap : DataFrame
        With ``config.seeds``: the headline of every seed (``seed``, ``metric``, ``value``), each
        metric's ``mean``, ``sd``, ``median``, ``min``, ``max`` over seeds, and the Jaccard overlap of
        the selected neurons between seeds (``seed_a``, ``seed_b``, ``selection``, ``n_a``, ``n_b``,
        ``jaccard``). The other tables are the first seed's. Empty for a single run.
    coef : numpy.ndarray, (n_tags, n_neurons)
        The oracle probe's weights; row ``i`` belongs to ``classes.tag[i]``, column ``j`` to
        ``neurons.iloc[j]``.
    config : LCAConfig
        The settings.
    info : dict
        What the run found and used: chosen ``l1``/``l2``, sizes, ``n_layers`` (the model's layers,
        embeddings included), timings, the stores' identity and any approximation.

    Examples
    --------
    >>> r = LCAResult(info={"n_layers": 2})
    >>> r.n_layers
    2
    """

    ranking: pd.DataFrame = field(default_factory=lambda: _empty("rank", "layer", "neuron", "tag", "score"))
    per_tag_ranking: pd.DataFrame = field(default_factory=lambda: _empty("tag", "rank", "layer", "neuron", "score",
                                                                           "rare"))
    oracle: pd.DataFrame = field(default_factory=lambda: _empty("split", "accuracy", "n_neurons"))
    curve: pd.DataFrame = field(default_factory=lambda: _empty(*_CURVE_COLS))
    minimal_set: pd.DataFrame = field(default_factory=lambda: _empty("n_neurons", "percent", "dev_accuracy",
                                                                     "test_accuracy", "target", "reached"))
    ablation: pd.DataFrame = field(default_factory=lambda: _empty(*_CURVE_COLS))
    ablation_variants: pd.DataFrame = field(default_factory=lambda: _empty(
        "percent", "selection", "variant", "fill", "n_neurons", "split", "accuracy"))
    baseline_draws: pd.DataFrame = field(default_factory=lambda: _empty(
        "percent", "baseline", "method", "variant", "draw", "seed", "n_neurons", "accuracy"))
    baselines: pd.DataFrame = field(default_factory=lambda: _empty(*_BASELINE_COLS))
    selectivity: pd.DataFrame = field(default_factory=lambda: _empty("selection", "n_neurons", "task_accuracy",
                                                                     "control_accuracy", "selectivity"))
    layer_distribution: pd.DataFrame = field(default_factory=lambda: _empty("layer", "count", "share"))
    tag_layer_distribution: pd.DataFrame = field(default_factory=lambda: _empty("tag", "layer", "count", "share"))
    regularization: pd.DataFrame = field(default_factory=lambda: _empty("l1", "l2", "dev_accuracy"))
    neurons: pd.DataFrame = field(default_factory=lambda: _empty("layer", "neuron", "mean", "scale"))
    classes: pd.DataFrame = field(default_factory=lambda: _empty("tag", "n_train", "n_dev", "n_test", "intercept"))
    seed_runs: pd.DataFrame = field(default_factory=lambda: _empty("seed", "metric", "value"))
    seed_summary: pd.DataFrame = field(default_factory=lambda: _empty("metric", "n_seeds", "mean", "sd", "median",
                                                                      "min", "max"))
    seed_overlap: pd.DataFrame = field(default_factory=lambda: _empty("seed_a", "seed_b", "selection", "n_a", "n_b",
                                                                      "jaccard"))
    coef: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), np.float32))
    config: LCAConfig = field(default_factory=LCAConfig)
    info: dict = field(default_factory=dict)

    # -- derived views -----------------------------------------------------------------------------
    @property
    def n_layers(self) -> int:
        """Layers of the model, embeddings included (a 6-layer BERT: 7)."""
        if "n_layers" in self.info:
            return int(self.info["n_layers"])
        return int(self.neurons["layer"].max()) + 1 if len(self.neurons) else 0

    @property
    def tags(self) -> list[str]:
        """The probe's classes, in ``coef`` row order."""
        return self.classes["tag"].tolist()

    @property
    def neuron_index(self) -> pd.MultiIndex:
        """``(layer, neuron)`` labels of the probe's columns."""
        return as_neuron_index(self.neurons[["layer", "neuron"]])

    @property
    def selected(self) -> pd.DataFrame:
        """The minimal neuron set: the head of ``ranking`` (no rows when the target was not reached)."""
        n = int(self.minimal_set["n_neurons"].iloc[0]) if self.minimal_set_reached else 0
        return self.ranking.sort_values("rank").head(n).reset_index(drop=True)

    @property
    def minimal_set_reached(self) -> bool:
        """Whether a prefix of the ranking reached the minimal-set target on dev.

        When it did not, there is no minimal set: :attr:`selected` is empty, the layer distribution
        has no counts, and every comparison leaves this result's set out instead of reading all the
        neurons as a "minimal set".
        """
        if not len(self.minimal_set):
            return False
        return bool(self.minimal_set["reached"].iloc[0]) if "reached" in self.minimal_set else True

    @property
    def best_params(self) -> dict:
        """The penalties the oracle was fitted with, ``{"l1": ..., "l2": ...}`` (searched or as given)."""
        return {"l1": float(self.info.get("l1", 0.0)), "l2": float(self.info.get("l2", 0.0))}

    def estimator(self):
        """An unfitted probe with this analysis's settings and chosen penalties (``config.make_probe``).

        Pass it as ``estimator=`` to any evaluation or analysis verb to refit the way this result did.

        Examples
        --------
        >>> r = _toy_result()
        >>> e = r.estimator()
        >>> (e.l1, e.l2) == (r.best_params["l1"], r.best_params["l2"]), hasattr(e, "coef_")
        (True, False)
        """
        return self.config.make_probe(**self.best_params)

    def open_store(self, split: str = "test"):
        """The activation store this result read for ``split`` (``"train"`` or ``"test"``), from the cache.

        Raises FileNotFoundError naming the key when the store is not in this machine's cache (a
        result copied elsewhere keeps every table, but not the activations).
        """
        from .extract import store_path
        from .store import ActivationStore

        if split not in ("train", "test"):
            raise ValueError(f"split must be 'train' or 'test', got {split!r}")
        key = (self.info.get(f"store_{split}") or {}).get("key")
        if not key:
            raise FileNotFoundError(f"this result does not record its {split} activation store")
        path = store_path(key)
        if not (path / "metadata.json").is_file():
            raise FileNotFoundError(f"the {split} activation store {key} is not in the cache ({path}); rerun "
                                    f"extract for {self.config.model} on {self.config.data} to browse activations")
        return ActivationStore(path)

    def tables(self) -> dict:
        """Name -> DataFrame of every table."""
        return {name: getattr(self, name) for name in _TABLES}

    def probe(self):
        """The oracle probe, rebuilt from the stored weights (no refit), ready to ``predict``/``score``.

        Examples
        --------
        >>> r = _toy_result()
        >>> r.probe().predict(np.array([[3.0, 0.0], [-3.0, 0.0]], np.float32)).tolist()
        ['A', 'B']
        """
        p = self.estimator()
        p.classes_ = np.asarray(self.tags, dtype=object if len(self.tags) and isinstance(self.tags[0], str) else None)
        if p.classes_.dtype == object:
            p.classes_ = p.classes_.astype(str)
        p.coef_ = np.asarray(self.coef, np.float32)
        p.intercept_ = self.classes["intercept"].to_numpy(np.float32)
        p.mean_ = self.neurons["mean"].to_numpy(np.float32)
        p.scale_ = self.neurons["scale"].to_numpy(np.float32)
        p.n_features_in_ = p.coef_.shape[1]
        return p

    def neuron_weights(self, layer: int, neuron: int) -> pd.DataFrame:
        """One neuron's weight for every tag.

        Returns
        -------
        DataFrame
            ``tag``, ``weight`` (standardised units when the probe standardises), ``share`` (the
            neuron's part of the tag's absolute weight mass), ``n_train``; largest ``|weight|`` first.

        Examples
        --------
        >>> _toy_result().neuron_weights(0, 0)[["tag", "weight"]].values.tolist()
        [['A', 2.0], ['B', -2.0]]
        """
        j = int(positions(self.neuron_index, pd.DataFrame({"layer": [layer], "neuron": [neuron]}))[0])
        W = np.asarray(self.coef, np.float64)
        mass = np.abs(W).sum(axis=1)
        w = W[:, j]
        out = pd.DataFrame({"tag": self.tags, "weight": w,
                            "share": np.divide(np.abs(w), mass, out=np.zeros_like(w), where=mass > 0),
                            "n_train": self.classes["n_train"].to_numpy()})
        return out.iloc[np.argsort(-np.abs(w), kind="stable")].reset_index(drop=True)

    def weights(self) -> pd.DataFrame:
        """Every weight as a long table: ``tag``, ``layer``, ``neuron``, ``weight``."""
        n_tags, n = self.coef.shape
        nt = self.neurons
        return pd.DataFrame({"tag": np.repeat(np.asarray(self.tags, dtype=object), n),
                             "layer": np.tile(nt["layer"].to_numpy(), n_tags),
                             "neuron": np.tile(nt["neuron"].to_numpy(), n_tags),
                             "weight": np.asarray(self.coef).ravel()})

    def rerank(self, search_stride: int | None = None, tag_percentage: float | None = None,
               min_tag_count: int | None = None) -> "LCAResult":
        """The same probe ranked again with other ranking settings, without refitting.

        ``ranking``, ``per_tag_ranking`` and ``tag_layer_distribution`` are recomputed from the stored
        weights; the minimal-set, ablation and selectivity tables were measured on the original ranking
        and are kept as they were (``info["reranked"]`` says so).

        Examples
        --------
        >>> r = _toy_result().rerank(tag_percentage=1.0)
        >>> r.config.tag_percentage, len(r.per_tag_ranking)
        (1.0, 4)
        """
        changes = {k: v for k, v in (("search_stride", search_stride), ("tag_percentage", tag_percentage),
                                     ("min_tag_count", min_tag_count)) if v is not None}
        config = self.config.replace(**changes)
        n_train = self.classes["n_train"].to_numpy()
        ranking, per_tag, tag_layers = _rank_tables(self.coef, self.tags, self.neuron_index, config, self.n_layers,
                                                    n_train)
        info = dict(self.info, reranked=changes, rare_tags=rare_tags(self.tags, n_train, config.min_tag_count))
        return dataclasses.replace(self, ranking=ranking, per_tag_ranking=per_tag,
                                   tag_layer_distribution=tag_layers, config=config, info=info)

    # -- persistence -------------------------------------------------------------------------------
    def save(self, directory, overwrite: bool = False) -> Path:
        """Write the result to a directory (parquet tables, ``probe.npz``, ``result.json``); returns it.

        The directory is written under a temporary name and renamed into place, so a reader never sees
        half a result. An existing result there is replaced only with ``overwrite=True``; a directory
        that holds anything else is never touched.
        """
        directory = Path(directory)
        if directory.exists():
            if not (directory / _INFO).is_file() and any(directory.iterdir()):
                raise FileExistsError(f"{directory} exists and is not an LCA result: choose an empty or new folder")
            if (directory / _INFO).is_file() and not overwrite:
                raise FileExistsError(f"{directory} already holds an LCA result; pass overwrite=True to replace it")
        directory.parent.mkdir(parents=True, exist_ok=True)
        tmp = directory.parent / f".{directory.name}.tmp-{uuid.uuid4().hex[:8]}"
        tmp.mkdir()
        try:
            for name, df in self.tables().items():
                df.to_parquet(tmp / f"{name}.parquet", index=False)
            np.savez(tmp / _PROBE, coef=np.asarray(self.coef, np.float32))
            digests = {f.name: sha256_file(f) for f in sorted(tmp.iterdir())}
            payload = {"format": RESULT_FORMAT, "config": self.config.to_dict(), "info": self.info,
                       "files": digests}
            # result.json last: its presence marks a complete result
            (tmp / _INFO).write_text(json.dumps(payload, indent=2, default=_json_default))
            if directory.exists():
                old = directory.parent / f".{directory.name}.old-{uuid.uuid4().hex[:8]}"
                directory.rename(old)
                tmp.rename(directory)
                shutil.rmtree(old, ignore_errors=True)
            else:
                tmp.rename(directory)
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)
        return directory

    @classmethod
    def load(cls, directory) -> "LCAResult":
        """Read a result written by :meth:`save` (checks the format version)."""
        directory = Path(directory)
        info_path = directory / _INFO
        if not info_path.is_file():
            raise FileNotFoundError(f"{info_path} not found: {directory} is not an LCA result directory")
        try:
            payload = json.loads(info_path.read_text())
        except (ValueError, UnicodeDecodeError) as err:
            raise ValueError(f"{info_path}: unreadable ({err}); the result folder is damaged, rerun the analysis") \
                from err
        if payload.get("format") != RESULT_FORMAT:
            raise ValueError(f"{directory} holds an LCA result of format {payload.get('format')!r}; this neuronbook "
                             f"reads format {RESULT_FORMAT}: rerun the analysis")
        for fname, digest in (payload.get("files") or {}).items():
            path = directory / fname
            if not path.is_file():
                raise FileNotFoundError(f"{path} is missing from the LCA result directory {directory}")
            if sha256_file(path) != digest:
                raise ValueError(f"{path} differs from the file the result was saved with (sha256 mismatch): "
                                 f"the result folder was altered or damaged; rerun the analysis")
        tables = {}
        for name in _TABLES:
            path = directory / f"{name}.parquet"
            if not path.is_file():
                raise FileNotFoundError(f"{path} is missing from the LCA result directory {directory}")
            tables[name] = pd.read_parquet(path)
        try:
            with np.load(directory / _PROBE, allow_pickle=False) as npz:
                coef = npz["coef"]
        except (ValueError, OSError, KeyError) as err:
            raise ValueError(f"{directory / _PROBE}: unreadable ({err}); rerun the analysis") from err
        return cls(**tables, coef=coef, config=LCAConfig.from_dict(payload["config"]), info=payload["info"])

    # -- reading -----------------------------------------------------------------------------------
    def headline_dict(self) -> dict:
        """The key figures as a flat dict of numbers (what a notebook writes to ``headline.json``)."""
        return {k: v for k, v in self.headline().itertuples(index=False)}

    def headline(self) -> pd.DataFrame:
        """The key figures as a two-column table (``metric``, ``value``).

        Random sets are the mean over the baseline draws (one fresh draw when there are none); the
        differences top - random carry a t interval at the first ablation size.
        """
        i = self.info
        rows = [("l1", i.get("l1")), ("l2", i.get("l2"))]
        for split in ("dev", "test"):
            acc = self.oracle.loc[self.oracle["split"] == split, "accuracy"]
            if len(acc):
                rows.append((f"oracle {split} accuracy", round(float(acc.iloc[0]), 4)))
        if len(self.minimal_set):
            ms = self.minimal_set.iloc[0]
            reached = self.minimal_set_reached
            rows.append(("minimal set reached", int(reached)))  # 1 or 0: headlines are numbers (sweep reports)
            # not reached: no set to report (NaN), never all the neurons dressed up as one
            rows += [("minimal set neurons", int(ms["n_neurons"]) if reached else np.nan),
                     ("minimal set %", round(float(ms["percent"]), 2) if reached else np.nan),
                     ("minimal set test accuracy", round(float(ms["test_accuracy"]), 4) if reached else np.nan)]
            if "size_median" in ms and pd.notna(ms["size_median"]):
                rows += [("minimal set neurons, bootstrap median", float(ms["size_median"])),
                         ("minimal set neurons, bootstrap 2.5%", float(ms["size_low"])),
                         ("minimal set neurons, bootstrap 97.5%", float(ms["size_high"]))]
        rows += self._ablation_headline()
        for _, s in self.selectivity.iterrows():
            rows.append((f"selectivity ({s['selection']}, {int(s['n_neurons'])} neurons)", round(float(s["selectivity"]), 4)))
        if len(self.seed_overlap):
            ms = self.seed_overlap[self.seed_overlap["selection"] == "minimal set"]
            rows += [("seeds", int(len(self.seed_runs["seed"].unique()))),
                     ("minimal set Jaccard between seeds (mean)", round(float(ms["jaccard"].mean()), 4))]
        if "wall_time_s" in i:
            rows.append(("wall time (s)", round(float(i["wall_time_s"]), 1)))
        return pd.DataFrame(rows, columns=["metric", "value"])

    def _ablation_headline(self) -> list:
        rows = []
        test = self.ablation[self.ablation["split"] == "test"]
        base = self.baselines
        first = float(test["percent"].min()) if len(test) else None
        for (method, pct), grp in test.groupby(["method", "percent"], sort=False):
            acc = grp.set_index("selection")["accuracy"]
            b = base[(base["method"] == method) & (base["percent"] == pct) & (base["variant"] == "keep-selected")] \
                if len(base) else base
            rows.append((f"{method} top {pct:g}% test accuracy", round(float(acc["top"]), 4)))
            if len(b):
                for _, r in b.iterrows():
                    rows.append((f"{method} {r['baseline']} {pct:g}% test accuracy (mean of {int(r['n_draws'])})",
                                 round(float(r["mean"]), 4)))
            elif "random" in acc:
                rows.append((f"{method} random {pct:g}% test accuracy", round(float(acc["random"]), 4)))
            if "bottom" in acc:
                rows.append((f"{method} bottom {pct:g}% test accuracy", round(float(acc["bottom"]), 4)))
            if pct != first:
                continue
            if len(b):
                for _, r in b.iterrows():
                    name = f"{method} top - {r['baseline']} at {pct:g}%"
                    conf = f"{100 * float(r['confidence']):g}%"
                    rows += [(name, round(float(r["difference"]), 4)),
                             (f"{name}, {conf} CI low", round(float(r["ci_low"]), 4)),
                             (f"{name}, {conf} CI high", round(float(r["ci_high"]), 4))]
            elif "random" in acc:
                rows.append((f"{method} top - random at {pct:g}%", round(float(acc["top"] - acc["random"]), 4)))
        return rows

    def summary(self) -> str:
        """A short plain-text report: configuration, headline figures, layer distribution."""
        c, i = self.config, self.info
        head = f"LCA  model={c.model}  data={c.data}  task={c.task}"
        sizes = f"{i.get('n_train', '?')} train / {i.get('n_dev', '?')} dev / {i.get('n_test', '?')} test words, " \
                f"{len(self.neurons)} neurons, {len(self.classes)} tags"
        lines = [head, sizes]
        if i.get("approximation"):
            lines.append(f"NOTE: activations of an approximate model: {i['approximation']}")
        lines += ["", self.headline().to_string(index=False)]
        if len(self.minimal_set) and not self.minimal_set_reached:
            t = float(self.minimal_set["target"].iloc[0])
            lines += ["", f"minimal set: NOT REACHED (no prefix reached the dev target {t:.4f}); no layer distribution"]
        elif len(self.layer_distribution):
            ld = self.layer_distribution[["layer", "count", "share"]].copy()
            ld["share"] = ld["share"].astype(float).round(3)
            lines += ["", "minimal set by layer:", ld.to_string(index=False)]
        return "\n".join(lines)

    def __str__(self):
        return self.summary()

    def __repr__(self):
        c = self.config
        return (f"LCAResult(model={c.model!r}, data={c.data!r}, task={c.task!r}, neurons={len(self.neurons)}, "
                f"tags={len(self.classes)}, minimal_set={len(self.selected)})")

    def _repr_html_(self):
        c = self.config
        note = (f"<p><b>Note:</b> activations of an approximate model: {self.info['approximation']}</p>"
                if self.info.get("approximation") else "")
        return (f"<b>LCA</b> {c.model} / {c.data} / {c.task}" + note
                + self.headline().to_html(index=False)
                + "<p>minimal set by layer</p>" + self.layer_distribution.to_html(index=False))


def _toy_result() -> LCAResult:
    """A hand-made two-neuron result for the docstring examples."""
    return LCAResult(
        neurons=pd.DataFrame({"layer": [0, 0], "neuron": [0, 1], "mean": [0.0, 0.0], "scale": [1.0, 1.0]}),
        classes=pd.DataFrame({"tag": ["A", "B"], "n_train": [50, 50], "n_dev": [1, 1], "n_test": [1, 1],
                              "intercept": [0.0, 0.0]}),
        coef=np.array([[2.0, 0.5], [-2.0, 0.5]], np.float32), config=LCAConfig(model="toy"), info={"n_layers": 1})


def _json_default(obj):
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"cannot write {type(obj).__name__} to {_INFO}")


def _resolve_config(config, overrides) -> LCAConfig:
    if config is None:
        config = LCAConfig()
    elif isinstance(config, dict):
        config = LCAConfig.from_dict(config)
    elif not isinstance(config, LCAConfig):
        raise TypeError(f"config must be an LCAConfig, a dict of settings or None, got {type(config).__name__}")
    return config.replace(**overrides) if overrides else config


def rare_tags(tags, n_train, min_tag_count: int) -> dict:
    """The tags with fewer than ``min_tag_count`` training words, with their counts (tag order kept).

    Examples
    --------
    >>> rare_tags(["$", "NN", "GW"], [1, 900, 3], 10)
    {'$': 1, 'GW': 3}
    """
    return {str(t): int(n) for t, n in zip(tags, n_train) if n < min_tag_count}


def _rank_tables(coef, tags, index: pd.MultiIndex, config: LCAConfig, n_layers: int, n_train):
    """Ranking, per-tag ranking and per-tag layer counts of ``coef``; rare tags stay out of the ranking.

    A tag seen on a handful of training words gets large weights on whatever separates those words,
    and the sweep gives every tag's head the same standing: such tags would lead the ranking. They
    keep their per-tag rows (``rare`` True) but take no part in the global ordering.
    """
    from .analysis.layers import tag_layer_counts
    from .rank import neuron_ordering, neuron_scores, neuron_tags, per_tag_ranking, ranking_frame

    tags = np.asarray(tags)
    rare = rare_tags(tags, n_train, config.min_tag_count)
    keep = np.asarray([str(t) not in rare for t in tags])
    if not keep.any():
        raise ValueError(f"every tag has fewer than min_tag_count={config.min_tag_count} training words (the most "
                         f"frequent has {int(np.max(n_train))}): lower LCAConfig.min_tag_count or use more data")
    W = np.asarray(coef)[keep]
    ordering, boundaries = neuron_ordering(W, config.search_stride)
    ranking = ranking_frame(ordering, index, scores=neuron_scores(W), tags=neuron_tags(W, tags[keep]),
                            boundaries=boundaries)
    per_tag = per_tag_ranking(coef, list(tags), index, percentage=config.tag_percentage)
    per_tag["rare"] = per_tag["tag"].astype(str).isin(list(rare))
    return ranking, per_tag, tag_layer_counts(per_tag, n_layers)


def _class_counts(classes, **splits) -> pd.DataFrame:
    out = pd.DataFrame({"tag": np.asarray(classes)})
    for name, y in splits.items():
        labels, counts = np.unique(np.asarray(y), return_counts=True)
        out[f"n_{name}"] = pd.Series(counts, index=labels).reindex(out["tag"], fill_value=0).to_numpy(np.int64)
    return out


def lca_from_arrays(X_train, y_train, X_dev, y_dev, X_test, y_test, neurons=None, *, config=None, control=None,
                    n_layers: int | None = None, dev_groups=None, info: dict | None = None, progress="auto",
                    **overrides):
    """Run the whole analysis on arrays.

    Parameters
    ----------
    X_train, X_dev, X_test : numpy.ndarray, (words, neurons)
        Activations; ``dev`` chooses the regularisation and the minimal set, ``test`` reports.
    y_train, y_dev, y_test : array-like
        One label per word.
    neurons : pandas.MultiIndex or DataFrame, optional
        ``(layer, neuron)`` of each column (default: neurons 0..n-1 of layer 0).
    config : LCAConfig or dict, optional
        Settings (ranking, evaluation and probe fields are used here); ``**overrides`` change some.
    control : tuple, optional
        ``(control_train, control_test)`` labels of the control task; adds the selectivity table.
    n_layers : int, optional
        Layers of the model, embeddings included (default: the largest layer + 1).
    dev_groups : array-like, optional
        The sentence of every dev word: the minimal set's bootstrap resamples whole sentences
        (default: single words).
    info : dict, optional
        Extra entries for :attr:`LCAResult.info` (provenance).

    Returns
    -------
    LCAResult

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(900, 12)).astype("float32"); y = np.where(X[:, 5] > 0, "A", "B")
    >>> r = lca_from_arrays(X[:600], y[:600], X[600:750], y[600:750], X[750:], y[750:], l1=1e-3, epochs=20,
    ...                     batch_size=32, lr=1e-2, percents=[10, 50], n_draws=0, control=False, progress=False)
    >>> r.ranking.loc[0, ["layer", "neuron"]].tolist(), int(r.minimal_set.loc[0, "n_neurons"])
    ([0, 5], 1)
    """
    from . import evaluate as ev  # torch loads here, not when a saved result is read
    from .rank import zero_mass_classes
    from .settings import progress_enabled

    if "control" in overrides:  # a bool in the config, labels here
        raise TypeError("lca_from_arrays takes control=(control_train, control_test) labels, not a setting")
    config = _resolve_config(config, overrides)
    progress = progress_enabled(progress)
    t0 = time.perf_counter()
    index = _check_arrays(X_train, y_train, X_dev, y_dev, X_test, y_test, neurons)
    if config.standardize:  # every fit below standardises with these: one pass instead of one per fit
        from .probe import ArrayView

        X_train = ArrayView(X_train).with_column_stats()
    n_layers = int(index.get_level_values("layer").max()) + 1 if n_layers is None else int(n_layers)
    timings = {}
    with warnings.catch_warnings():
        # every refit scores dev and test again: one summary below instead of a warning per fit
        warnings.simplefilter("ignore", UnseenLabelsWarning)
        t = time.perf_counter()
        searched = {}
        regularization, (l1, l2) = _penalties(X_train, y_train, X_dev, y_dev, config, progress, searched)
        timings["search_s"] = time.perf_counter() - t
        estimator = config.make_probe(l1, l2)  # every fit below copies it

        t = time.perf_counter()
        # the search's fit of the chosen penalty on all training words is the oracle: not fitted twice
        reuse = searched.get((l1, l2)) if len(regularization) and int(regularization["n_train"].iloc[0]) == len(
            X_train) else None
        probe, oracle = ev.oracle(X_train, y_train, X_dev, y_dev, X_test, y_test, probe=reuse,
                                  estimator=estimator)
        timings["oracle_s"] = time.perf_counter() - t
        tags = probe.classes_.tolist()
        zero_mass = zero_mass_classes(probe.coef_, tags)
        if zero_mass:
            logger.info("%d tag(s) have no weight at all (%s): they select no neurons", len(zero_mass),
                        ", ".join(map(str, zero_mass)))
        n_train = _class_counts(probe.classes_, train=y_train)["n_train"].to_numpy()
        ranking, per_tag, tag_layers = _rank_tables(probe.coef_, tags, index, config, n_layers, n_train)
        rare = rare_tags(tags, n_train, config.min_tag_count)
        if rare:
            logger.info("%d tag(s) with fewer than %d training words take no part in the ranking: %s", len(rare),
                        config.min_tag_count, ", ".join(f"{t}={n}" for t, n in rare.items()))
        ordering = positions(index, ranking.sort_values("rank"))

        t = time.perf_counter()
        dev_acc = float(oracle.loc[oracle["split"] == "dev", "accuracy"].iloc[0])
        ms, curve = ev.minimal_set(ordering, X_train, y_train, X_dev, y_dev, X_test, y_test,
                                   oracle_accuracy=dev_acc, delta=config.delta, percents=config.percents,
                                   bootstrap=config.bootstrap, groups=dev_groups,
                                   oracle_correct=probe.predict(X_dev) == np.asarray(y_dev), progress=progress,
                                   estimator=estimator, seed=config.seed)
        timings["minimal_set_s"] = time.perf_counter() - t
        if not ms["reached"]:  # the whole ranking is the oracle: report its accuracies, not NaN
            ms["dev_accuracy"] = dev_acc
            ms["test_accuracy"] = float(oracle.set_index("split")["accuracy"].get("test", np.nan))

        t = time.perf_counter()
        prefix_probes = ms.pop("probes")  # the top sets' refits, where the minimal set already fitted them
        ablation = ev.ablation(ordering, X_train, y_train, X_test, y_test, probe=probe,
                               percents=config.ablation_percents, methods=config.ablation_methods, X_dev=X_dev,
                               y_dev=y_dev, progress=progress, fitted=prefix_probes, estimator=estimator,
                               seed=config.seed)
        variants = ev.ablation_variants(ordering, X_train, y_train, X_test, y_test, probe=probe,
                                        percents=config.ablation_percents, seed=config.seed, progress=progress)
        timings["ablation_s"] = time.perf_counter() - t

        t = time.perf_counter()
        draws, baselines = _baselines(ordering, X_train, y_train, X_test, y_test, index, probe, ablation, variants,
                                      config, estimator, progress)
        timings["baselines_s"] = time.perf_counter() - t

        t = time.perf_counter()
        # an unreached target leaves no minimal set: its selectivity row would repeat "all"
        selectivity = _selectivity(X_train, y_train, X_test, y_test, control,
                                   ms["columns"] if ms["reached"] else None, estimator, probe,
                                   prefix_probes.get(len(ms["columns"])) if ms["reached"] else None)
        del prefix_probes
        timings["selectivity_s"] = time.perf_counter() - t

    _warn_unseen(probe, dev=y_dev, test=y_test)
    out_info = dict(info or {})
    out_info.update({
        "l1": float(l1), "l2": float(l2), "searched": bool(len(regularization)),
        "search_criterion": config.search_criterion if len(regularization) else None,
        "zero_mass_tags": [str(z) for z in zero_mass], "rare_tags": rare,
        "n_train": len(X_train), "n_dev": len(X_dev), "n_test": len(X_test), "n_layers": n_layers,
        "unseen_test_labels": {str(k): int(v) for k, v in probe.unseen_labels(y_test).items()},
        "timings_s": timings, "analysis_time_s": time.perf_counter() - t0,
    })
    out_info.setdefault("wall_time_s", out_info["analysis_time_s"])
    return LCAResult(ranking=ranking, per_tag_ranking=per_tag, oracle=oracle, curve=curve,
                     minimal_set=pd.DataFrame([{k: v for k, v in ms.items() if k != "columns"}]),
                     ablation=ablation, ablation_variants=variants, baseline_draws=draws, baselines=baselines,
                     selectivity=selectivity,
                     layer_distribution=_layer_table(index, ms["columns"] if ms["reached"] else [], n_layers),
                     tag_layer_distribution=tag_layers, regularization=regularization,
                     neurons=neuron_table(index).assign(mean=np.asarray(probe.mean_, np.float64),
                                                        scale=np.asarray(probe.scale_, np.float64)),
                     classes=_class_counts(probe.classes_, train=y_train, dev=y_dev, test=y_test).assign(
                         intercept=np.asarray(probe.intercept_, np.float64)),
                     coef=np.asarray(probe.coef_, np.float32), config=config, info=out_info)


def _baselines(ordering, X_train, y_train, X_test, y_test, index, probe, ablation, variants, config, estimator,
               progress):
    """Random and layer-matched random draws at every ablation size, and top against them."""
    from . import evaluate as ev

    empty = LCAResult()
    if not config.n_draws or not config.ablation_percents:
        return empty.baseline_draws, empty.baselines
    n_total = len(ordering)
    test_top = ablation[(ablation["split"] == "test") & (ablation["selection"] == "top")]
    var_top = variants[(variants["split"] == "test") & (variants["selection"] == "top")
                       & (variants["fill"] == "mean")]
    draws, summaries = [], []
    for i, pct in enumerate(config.ablation_percents):
        top = {(m, "keep-selected"): a for m, a in
               test_top.loc[test_top["percent"] == float(pct), ["method", "accuracy"]].itertuples(index=False)}
        # refitting costs n_draws x 2 fits per size: done at the first size; zero-out (no fit) at every size
        methods = [m for m in config.ablation_methods if m == "zero-out" or i == 0]
        if not methods:
            continue
        variant_list = ["keep-selected"]
        if "zero-out" in methods:  # removing the selection from the trained probe costs no refit
            variant_list.append("remove-selected")
            removed = var_top[(var_top["percent"] == float(pct)) & (var_top["variant"] == "remove-selected")]
            top[("zero-out", "remove-selected")] = float(removed["accuracy"].iloc[0])
        d = pd.concat([
            # the same seeds, so the same draws, for every method; a retrain on all but a draw would cost
            # a full fit each: only keep-selected is refitted
            ev.random_baselines(ordering, X_train, y_train, X_test, y_test, neurons=index,
                                k=ev.n_for_percent(n_total, pct), n_draws=config.n_draws, methods=[m],
                                probe=probe, exclude_seeds=config.seeds or (),
                                variants=variant_list if m == "zero-out" else ["keep-selected"],
                                progress=progress, estimator=estimator, seed=config.seed)
            for m in methods], ignore_index=True)
        draws.append(d.assign(percent=float(pct)))
        summaries.append(ev.baseline_summary(top, d).assign(percent=float(pct)))
    if not draws:
        return empty.baseline_draws, empty.baselines
    draws = pd.concat(draws, ignore_index=True)
    summary = pd.concat(summaries, ignore_index=True)
    return (draws[["percent", "baseline", "method", "variant", "draw", "seed", "n_neurons", "accuracy"]],
            summary[list(_BASELINE_COLS)])


def _warn_unseen(probe, **splits) -> None:
    """One UnseenLabelsWarning for all the words whose tag the probe never saw in training."""
    parts = []
    for name, y in splits.items():
        unseen = probe.unseen_labels(y)
        if len(unseen):
            parts.append(f"{name}: {int(unseen.sum())} of {len(y)} words ("
                         + ", ".join(f"{k}={v}" for k, v in unseen.head(8).items()) + ")")
    if parts:
        warnings.warn("tags unseen in training count as errors in every accuracy: " + "; ".join(parts),
                      UnseenLabelsWarning, stacklevel=3)


#: A tag with fewer training words than this is kept but reported: its weights rest on a handful of words.
FEW_TRAIN_WORDS = 5


def _check_arrays(X_train, y_train, X_dev, y_dev, X_test, y_test, neurons) -> pd.MultiIndex:
    """The neurons of the columns, after checking shapes, finite activations and the training classes."""
    n_total = X_train.shape[1]
    for name, X, y in (("train", X_train, y_train), ("dev", X_dev, y_dev), ("test", X_test, y_test)):
        if len(X) != len(y):
            raise ValueError(f"{name}: {len(X)} activation rows but {len(y)} labels")
        if X.shape[1] != n_total:
            raise ValueError(f"{name}: {X.shape[1]} columns but train has {n_total}")
    index = as_neuron_index(neurons, n_total)
    for name, X in (("train", X_train), ("dev", X_dev), ("test", X_test)):
        _check_finite(name, X, index)
    _check_classes(y_train)
    return index


def _check_finite(name: str, X, index: pd.MultiIndex, rows_per_block: int = 4096) -> None:
    # in blocks of rows: a mask of the whole matrix would cost a byte per activation
    for start in range(0, len(X), rows_per_block):
        block = np.asarray(X[start:start + rows_per_block])
        if np.issubdtype(block.dtype, np.floating) and not np.isfinite(block).all():
            row, col = np.argwhere(~np.isfinite(block))[0]
            layer, neuron = index[col]
            raise ValueError(f"{name} activations: non-finite value {block[row, col]} at row {start + row}, "
                             f"column {col} (layer={layer}, neuron={neuron}); every split must be finite")


def _check_classes(y_train) -> None:
    """A probe needs two tags with words to learn from: fail before any fit, warn about rare tags."""
    labels, counts = np.unique(np.asarray(y_train), return_counts=True)
    shown = ", ".join(f"{lab!r}: {n}" for lab, n in list(zip(labels.tolist(), counts.tolist()))[:10])
    if len(labels) < 2:
        raise ValueError(f"the training words carry {len(labels)} tag(s) ({shown or 'none'}): a probe needs at "
                         f"least two; check the task and the corpus (a task's min_count may fold every label "
                         f"into one)")
    learnable = int((counts >= 2).sum())
    if learnable < 2:
        raise ValueError(f"{len(labels)} tags on {int(counts.sum())} training words but only {learnable} with more "
                         f"than one word: nothing to probe (a task that gives every word its own tag?)")
    rare = counts < FEW_TRAIN_WORDS
    if rare.any():
        few = ", ".join(f"{lab}={n}" for lab, n in zip(labels[rare].tolist()[:10], counts[rare].tolist()[:10]))
        more = f" and {int(rare.sum()) - 10} more" if rare.sum() > 10 else ""
        warnings.warn(f"{int(rare.sum())} of {len(labels)} tags have fewer than {FEW_TRAIN_WORDS} training words "
                      f"({few}{more}): their weights and rankings rest on those few words",
                      RareTagsWarning, stacklevel=4)


def _penalties(X_train, y_train, X_dev, y_dev, config: LCAConfig, progress: bool, fitted=None):
    """The search table and the chosen ``(l1, l2)``: searched when neither is set, else as given."""
    from . import evaluate as ev

    l1, l2 = config.l1, config.l2
    if l1 is None and l2 is None:
        return ev.search_regularization(
            X_train, y_train, X_dev, y_dev, estimator=config.make_probe(0.0, 0.0),
            grid=[(v, v) for v in config.search_grid], tolerance=config.search_tolerance,
            max_train=config.search_max_train, search_stride=config.search_stride, seed=config.seed,
            criterion=config.search_criterion, progress=progress, fitted=fitted)
    l1 = l2 if l1 is None else l1
    l2 = l1 if l2 is None else l2
    return _empty(*ev.SEARCH_COLUMNS), (l1, l2)


def _selectivity(X_train, y_train, X_test, y_test, control, minimal_columns, estimator, oracle,
                 minimal_probe=None) -> pd.DataFrame:
    from . import evaluate as ev

    if control is None or control is False:
        return _empty("selection", "n_neurons", "task_accuracy", "control_accuracy", "selectivity")
    c_train, c_test = control
    fitted = {"all": oracle} if minimal_probe is None else {"all": oracle, "minimal set": minimal_probe}
    selections = {"all": None} if minimal_columns is None else {"all": None, "minimal set": minimal_columns}
    return ev.selectivity(X_train, y_train, c_train, X_test, y_test, c_test, selections=selections, fitted=fitted,
                          estimator=estimator)


def _layer_table(index: pd.MultiIndex, columns, n_layers: int) -> pd.DataFrame:
    from .analysis.layers import layer_distribution

    sizes = pd.Series(index.get_level_values("layer")).value_counts().to_dict()
    return layer_distribution(neuron_table(index, columns), n_layers, layer_size=sizes)


def _flat(labels, n_words, what):
    if len(labels) and isinstance(labels[0], (list, tuple)):
        labels = [lab for sent in labels for lab in sent]
    labels = np.asarray(labels)
    if len(labels) != n_words:
        raise ValueError(f"{what}: {len(labels)} labels for {n_words} words in the activation store")
    return labels


def split_store_rows(store, dev_fraction=0.1, seed=0):
    """Word rows of a seeded train / dev split of a store's sentences (the split of :func:`analyze_store`).

    Whole sentences go to one side, so no sentence leaks its context into the other.

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        Train rows and dev rows, each in store order.

    Examples
    --------
    >>> import tempfile
    >>> from neuronbook.store import ActivationStore
    >>> s = ActivationStore.from_array(tempfile.mkdtemp() + "/s", np.zeros((5, 1, 1), "float32"),
    ...                                [["a", "b"], ["c"], ["d", "e"]], {})
    >>> train, dev = split_store_rows(s, dev_fraction=0.34, seed=0)
    >>> sorted(train.tolist() + dev.tolist())
    [0, 1, 2, 3, 4]
    """
    if not 0 < dev_fraction < 1:
        raise ValueError(f"dev_fraction must be in (0, 1), got {dev_fraction}")
    n_sent = store.n_sentences
    perm = np.random.default_rng(seed).permutation(n_sent)
    n_dev = _n_dev_sentences(store, dev_fraction)
    if n_dev >= n_sent:
        raise ValueError(f"the training store has {n_sent} sentences: too few to hold out a dev part")
    return store.word_rows(np.sort(perm[n_dev:])), store.word_rows(np.sort(perm[:n_dev]))


def _n_dev_sentences(store, dev_fraction: float) -> int:
    return max(1, int(round(store.n_sentences * dev_fraction)))


def _store_info(store) -> dict:
    meta = store.metadata
    return {k: meta.get(k) for k in ("key", "model", "fingerprint", "aggregation", "dtype") if k in meta}


def _store_view(store, layers=None):
    """The store's activations as words x columns (``layers`` only), a view of its memmap: nothing is copied
    or read until a block of it is used (:class:`~neuronbook.probe.ArrayView`)."""
    from .probe import ArrayView

    flat = store.array.reshape(store.n_words, -1)  # words x (layers x neurons), layer-major: still the memmap
    if layers is None:
        return ArrayView(flat)
    n = store.n_neurons
    cols = np.concatenate([np.arange(layer * n, (layer + 1) * n) for layer in store._layers(layers)])
    return ArrayView(flat, columns=cols)


def analyze_store(train_store, train_labels, test_store, test_labels, *, config=None, control_train=None,
                  control_test=None, info: dict | None = None, progress="auto", **overrides):
    """Run LCA on activation stores.

    The sentences of ``train_store`` are split (seeded, by sentence) into train and a
    ``dev_fraction`` dev part; ``test_store`` is the test set.

    Parameters
    ----------
    train_store, test_store : ActivationStore
    train_labels, test_labels : list of list of str or flat array
        One label per word of the store, in store order.
    config : LCAConfig or dict, optional
        Settings (``layers``, ``dev_fraction``, ``seed`` and the probe/evaluation fields are used);
        ``**overrides`` change some.
    control_train, control_test : optional
        Control-task labels (same shapes); adds selectivity.

    Returns
    -------
    LCAResult
    """
    config = _resolve_config(config, overrides)
    y_all = _flat(train_labels, train_store.n_words, "train labels")
    y_test = _flat(test_labels, test_store.n_words, "test labels")
    rows_train, rows_dev = split_store_rows(train_store, config.dev_fraction, config.seed)
    layers = None if config.layers is None else list(config.layers)
    X_all = _store_view(train_store, layers)
    X_test = _store_view(test_store, layers)
    control = None
    if control_train is not None and control_test is not None:
        c_all = _flat(control_train, train_store.n_words, "control train labels")
        control = (c_all[rows_train], _flat(control_test, test_store.n_words, "control test labels"))
    approximation = train_store.metadata.get("approximation")
    out_info = dict(info or {})
    out_info.update({
        "store_train": _store_info(train_store), "store_test": _store_info(test_store),
        "approximation": approximation,
        "n_train_sentences": train_store.n_sentences - _n_dev_sentences(train_store, config.dev_fraction),
        "n_dev_sentences": _n_dev_sentences(train_store, config.dev_fraction),
        "n_test_sentences": test_store.n_sentences,
    })
    if approximation:
        warnings.warn(f"the activations come from an approximation of {config.model}: {approximation}",
                      ApproximationWarning, stacklevel=2)
    dev_groups = np.searchsorted(np.asarray(train_store.offsets), rows_dev, side="right") - 1  # sentence of each word
    return lca_from_arrays(X_all[rows_train], y_all[rows_train], X_all[rows_dev], y_all[rows_dev], X_test, y_test,
                           train_store.neurons(layers=layers), config=config, control=control,
                           n_layers=train_store.n_layers, dev_groups=dev_groups, info=out_info, progress=progress)


def _one_file_split(config: LCAConfig) -> bool:
    """True when ``data`` is one corpus file to be split here (train and test are not files of their own)."""
    if not Path(config.data).expanduser().is_file():
        return False
    files = [Path(s).expanduser().is_file() for s in (config.train, config.test)]
    if any(files):
        return False
    if (config.train, config.test) not in (("dev", "test"), ("train", "test")):
        raise ValueError(f"data={config.data!r} is one corpus file: give train= and test= as corpus files, or leave "
                         f"them at their defaults for a seeded split of the file (test_fraction="
                         f"{config.test_fraction}), not train={config.train!r}, test={config.test!r}")
    return True


def _split_info(config: LCAConfig) -> dict:
    if not _one_file_split(config):
        return {}
    return {"split_of_file": {"file": str(Path(config.data).expanduser().resolve()),
                              "test_fraction": config.test_fraction, "seed": config.seed}}


def _load_splits(config: LCAConfig):
    """The train and test corpora of a config, each sampled to ``max_sentences``.

    A named corpus gives its splits; a split may be a corpus file of its own; a ``data`` that is one
    file is split by sentence (seeded) into train and a ``test_fraction`` test part.
    """
    from .corpus import read_corpus
    from .datasets import load_corpus

    if _one_file_split(config):
        parts = read_corpus(Path(config.data).expanduser()).split(
            (1 - config.test_fraction, config.test_fraction), seed=config.seed)
        pair = (parts["train"], parts["test"])
    else:
        pair = tuple(read_corpus(Path(split).expanduser()) if Path(split).expanduser().is_file()
                     else load_corpus(config.data, split=split, data_dir=config.data_dir)
                     for split in (config.train, config.test))
    if config.max_sentences is not None:
        pair = tuple(c.sample(config.max_sentences, seed=config.seed) for c in pair)
    return pair


#: Settings that change where data is looked for, not what is computed: not part of a result's key.
_NOT_KEYED = ("data_dir",)


def result_key(config: LCAConfig, store_keys, corpora=None) -> str:
    """The cache key of a result: its settings, the keys of the activation stores it reads and the
    fingerprints of the corpora (their labels too: a store depends on the words only, so a corrected tag
    changes no store key but must change the result)."""
    from . import __version__
    from .store import content_key

    fields = {k: v for k, v in config.to_dict().items() if k not in _NOT_KEYED}
    labels = None if corpora is None else [c.fingerprint() for c in corpora]
    return content_key({"config": fields, "stores": list(store_keys), "labels": labels, "format": RESULT_FORMAT,
                        "version": __version__})


def run_lca(config=None, *, cache: bool | str = True, progress="auto", **overrides) -> LCAResult:
    """The whole analysis for (model, corpus, task) named in a config.

    Parameters
    ----------
    config : LCAConfig or dict, optional
        Every setting (see :meth:`LCAConfig.describe`); the defaults run XPOS on UD English-EWT with
        the packaged all-MiniLM-L6-v2, offline.
    cache : bool or path
        True (default): results are kept under the neuronbook cache keyed by the settings and the
        activation stores' keys, and an identical call loads the saved result instead of refitting;
        a path: that folder; False: always compute, store nothing.
    progress : bool or "auto"
        Progress bars (``"auto"``: in a terminal or a live notebook, not under headless papermill).
    **overrides
        Settings that replace the config's (``task="upos"``); an unknown name is an error that lists
        the valid ones.

    Returns
    -------
    LCAResult
        With ``seeds``: the first seed's result plus the tables over seeds (:func:`combine_seeds`).

    Examples
    --------
    >>> r = run_lca(model="tiny-random", max_sentences=40, l1=1e-3, control=False)  # doctest: +SKIP
    >>> r.ranking.columns.tolist()  # doctest: +SKIP
    ['rank', 'layer', 'neuron', 'tag', 'score', 'chunk']
    """
    config = _resolve_config(config, overrides)
    if config.seeds:
        # one full analysis per seed, each cached as the single-seed run it is (run_lca(seed=s) finds it),
        # then the spread over seeds
        return combine_seeds([_run_one(config.replace(seed=s, seeds=None), cache, progress) for s in config.seeds])
    return _run_one(config, cache, progress)


def _run_one(config: LCAConfig, cache, progress) -> LCAResult:
    t0 = time.perf_counter()
    root = None if cache is False else _results_root(cache)
    quick = _request_key(config) if root is not None else None
    if quick is not None:  # the same request on unchanged files: no corpus to parse, no key to compute
        known = root / "requests" / quick
        if known.is_file():
            result = _load_cached(root / known.read_text().strip(), config)
            if result is not None:
                return result
    corpora = _load_splits(config)
    keys = _store_keys(config, corpora)
    folder = None
    if root is not None:
        folder = root / result_key(config, keys, corpora)
        result = _load_cached(folder, config)
        if result is not None:
            _remember_request(root, quick, folder.name)
            return result

    data = _prepare(config, corpora, keys, progress)
    result = analyze_store(data.train_store, data.y_train, data.test_store, data.y_test, config=config,
                           control_train=data.control_train, control_test=data.control_test,
                           info={"extract_s": data.extract_s, "n_sentences_train_split": len(corpora[0]),
                                 "n_sentences_test_split": len(corpora[1]), **_split_info(config)},
                           progress=progress)
    result.info["wall_time_s"] = time.perf_counter() - t0
    if folder is not None:
        result.save(folder, overwrite=True)
        _remember_request(root, quick, folder.name)
    return result


def combine_seeds(results) -> LCAResult:
    """The first result with the spread of the others: ``seed_runs``, ``seed_summary``, ``seed_overlap``.

    Parameters
    ----------
    results : list of LCAResult
        Analyses of the same data that differ by ``config.seed`` (the dev split, the probes'
        shuffling, the random draws and, with ``max_sentences``, the sample).

    Returns
    -------
    LCAResult
        ``results[0]`` with ``seed_runs`` (every headline figure of every seed), ``seed_summary``
        (mean, sd with ``ddof=1``, median, min, max per figure) and ``seed_overlap`` (Jaccard overlap
        of the minimal sets and of the top sets at the first ablation size, for every pair of seeds).

    Examples
    --------
    >>> ms = pd.DataFrame({"n_neurons": [1], "percent": [50.0], "test_accuracy": [1.0], "target": [0.9],
    ...                    "reached": [True]})
    >>> a = dataclasses.replace(_toy_result(), minimal_set=ms)
    >>> b = dataclasses.replace(a, config=a.config.replace(seed=1))
    >>> combine_seeds([a, b]).seed_overlap[["seed_a", "seed_b", "selection", "jaccard"]].values.tolist()
    [[0, 1, 'minimal set', 1.0]]
    >>> c = dataclasses.replace(b, minimal_set=ms.assign(reached=False), config=a.config.replace(seed=2))
    >>> combine_seeds([a, c]).seed_overlap["jaccard"].isna().tolist()   # no minimal set in seed 2: no overlap
    [True]
    """
    from .analysis.compare import jaccard
    from .evaluate import n_for_percent

    results = list(results)
    if not results:
        raise ValueError("combine_seeds needs at least one result")
    seeds = [int(r.config.seed) for r in results]
    if len(set(seeds)) != len(seeds):
        raise ValueError(f"the results must differ by seed; got seeds {seeds}")
    runs = pd.concat([r.headline().assign(seed=s) for r, s in zip(results, seeds)], ignore_index=True)
    runs = runs[["seed", "metric", "value"]]
    numeric = runs.assign(value=pd.to_numeric(runs["value"], errors="coerce")).dropna(subset=["value"])
    numeric = numeric[numeric["metric"] != "wall time (s)"]
    g = numeric.groupby("metric", sort=False)["value"]
    summary = pd.DataFrame({"n_seeds": g.size(), "mean": g.mean(), "sd": g.std(ddof=1), "median": g.median(),
                            "min": g.min(), "max": g.max()}).reset_index()
    sets = []
    for r in results:
        chosen = {"minimal set": set(map(tuple, r.selected[["layer", "neuron"]].astype(int).values.tolist()))}
        if r.config.ablation_percents and len(r.ranking):
            pct = float(r.config.ablation_percents[0])
            top = r.ranking.sort_values("rank").head(n_for_percent(len(r.ranking), pct))
            chosen[f"top {pct:g}%"] = set(map(tuple, top[["layer", "neuron"]].astype(int).values.tolist()))
        sets.append(chosen)
    overlap = []
    for i in range(len(results)):
        for j in range(i + 1, len(results)):
            for name in sets[i]:
                a, b = sets[i][name], sets[j].get(name, set())
                # a seed whose target was not reached has no minimal set to overlap with
                missing = name == "minimal set" and not (results[i].minimal_set_reached
                                                         and results[j].minimal_set_reached)
                overlap.append({"seed_a": seeds[i], "seed_b": seeds[j], "selection": name, "n_a": len(a),
                                "n_b": len(b), "jaccard": np.nan if missing else jaccard(a, b)})
    base = LCAResult()
    overlap = pd.DataFrame(overlap, columns=base.seed_overlap.columns) if overlap else base.seed_overlap
    info = dict(results[0].info, seeds=seeds)
    return dataclasses.replace(results[0], seed_runs=runs, seed_summary=summary, seed_overlap=overlap, info=info)


def cache_result(result: LCAResult, cache: bool | str = True) -> Path:
    """Put a saved result into the result cache, so that :func:`run_lca` with its settings loads it.

    Used to ship a precomputed result (Binder): the keys of the activation stores are computed
    again here from the config's corpus and model files and must equal the ones the result
    recorded, so a result is never served for other data or another model.

    Returns
    -------
    Path
        The cache folder it was written to.
    """
    config = result.config
    corpora = _load_splits(config)
    keys = _store_keys(config, corpora)
    recorded = [(result.info.get(f"store_{split}") or {}).get("key") for split in ("train", "test")]
    if keys != recorded:
        raise ValueError(f"this result was computed from activation stores {recorded}, but its settings give "
                         f"{keys} here: the corpus or the model files differ, so it does not answer run_lca "
                         f"for {config.model} on {config.data}")
    folder = _results_root(cache) / result_key(config, keys, corpora)
    info = {k: v for k, v in result.info.items() if k != "loaded_from_cache"}
    dataclasses.replace(result, info=info).save(folder, overwrite=True)
    return folder


def _results_root(cache: bool | str) -> Path:
    from .settings import cache_dir

    return cache_dir("results") if cache is True else Path(cache)


def _store_keys(config: LCAConfig, corpora) -> list[str]:
    """The content keys of the train and test stores of ``config`` (computed without loading the model)."""
    from .extract import store_key

    return [store_key(config.model, c, **config.extract_params()) for c in corpora]


def _load_cached(folder: Path, config: LCAConfig) -> "LCAResult | None":
    """The result saved in ``folder``, or None when there is none (or it cannot be read)."""
    if not (folder / _INFO).is_file():
        return None
    try:
        result = LCAResult.load(folder)
    except (ValueError, OSError, KeyError) as err:  # an old or damaged entry is recomputed
        logger.warning("cached result %s unreadable (%s); recomputing", folder, err)
        return None
    logger.info("loaded cached result %s", folder)
    if result.info.get("approximation"):
        warnings.warn(f"the activations come from an approximation of {config.model}: "
                      f"{result.info['approximation']}", ApproximationWarning, stacklevel=3)
    result.info["loaded_from_cache"] = str(folder)
    return result


def _split_source(config: LCAConfig, split: str) -> Path | None:
    """The corpus file a split is read from, found without reading it (None: not found)."""
    from .datasets import _find, _parse_name

    if Path(split).expanduser().is_file():
        return Path(split).expanduser().resolve()
    if _one_file_split(config):  # both splits come from that file (seed and test_fraction are in the key)
        return Path(config.data).expanduser().resolve()
    collection, key = _parse_name(config.data)
    return _find(collection, key, split, config.data_dir)[0]


def _request_key(config: LCAConfig) -> str | None:
    """A key of the request as given: settings, the corpus files' identity (path, size, mtime) and the
    model's fingerprint (from its files, memoised). Any change to a file changes it; None when a source
    cannot be named cheaply (then only the full key is used)."""
    from . import __version__
    from .models import model_identity
    from .store import content_key

    try:
        sources = []
        for split in (config.train, config.test):
            path = _split_source(config, split)
            if path is None:
                return None
            st = path.stat()
            sources.append([str(path.resolve()), st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino])
        model = model_identity(config.model)["fingerprint"]
    except Exception as err:  # noqa: BLE001 - any trouble here only means the slow path is taken
        logger.debug("no request key (%s)", err)
        return None
    from .extract import library_versions

    fields = {k: v for k, v in config.to_dict().items() if k not in _NOT_KEYED}
    return content_key({"config": fields, "sources": sources, "model": model, "format": RESULT_FORMAT,
                        "version": __version__, "libraries": library_versions()})


def _remember_request(root: Path, quick: str | None, result_name: str) -> None:
    if quick is None:
        return
    target = root / "requests" / quick
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{quick}.tmp-{uuid.uuid4().hex[:8]}")
    tmp.write_text(result_name)
    tmp.replace(target)  # atomic: a reader sees the old pointer or the new one


@dataclass
class LCAData:
    """What an analysis reads: the two activation stores and the labels of their words.

    Returned by :func:`prepare`; the analyses beyond LCA (layer-wise probing, correlation clusters,
    other rankers) start from it. Labels are flat arrays in store order.
    """

    config: LCAConfig
    train_store: object
    test_store: object
    y_train: np.ndarray
    y_test: np.ndarray
    control_train: np.ndarray | None = None
    control_test: np.ndarray | None = None
    extract_s: float = 0.0

    def arrays(self) -> dict:
        """The train / dev / test split of :func:`analyze_store` as arrays.

        Returns
        -------
        dict
            ``X_train``, ``y_train``, ``X_dev``, ``y_dev``, ``X_test``, ``y_test`` (the config's
            ``layers`` only) and ``neurons`` (their ``(layer, neuron)`` MultiIndex).  Each ``X_*`` is
            read from the memory-mapped store straight into its own array (one copy, float32).
        """
        c = self.config
        layers = None if c.layers is None else list(c.layers)
        rows_train, rows_dev = split_store_rows(self.train_store, c.dev_fraction, c.seed)
        X_all = _store_view(self.train_store, layers)
        return {"X_train": np.asarray(X_all[rows_train]), "y_train": self.y_train[rows_train],
                "X_dev": np.asarray(X_all[rows_dev]), "y_dev": self.y_train[rows_dev],
                "X_test": np.asarray(_store_view(self.test_store, layers)),
                "y_test": self.y_test, "neurons": self.train_store.neurons(layers=layers)}


def prepare(config=None, *, progress="auto", corpora=None, **overrides) -> LCAData:
    """Load the corpus splits, label the words for the task, and reuse or extract the activation stores.

    Parameters
    ----------
    config : LCAConfig or dict, optional
        The settings (``model``, ``data``, ``task``, splits, ``max_sentences``, ``aggregation``,
        ``dtype``, ``control``, ``seed``); ``**overrides`` change some.
    corpora : (Corpus, Corpus), optional
        Already loaded train and test splits (as :func:`run_lca` has them).

    Returns
    -------
    LCAData

    Examples
    --------
    >>> data = prepare(model="tiny-random", data="ud:en_ewt", max_sentences=20)  # doctest: +SKIP
    >>> data.arrays()["X_train"].shape[1]  # doctest: +SKIP
    96
    """
    config = _resolve_config(config, overrides)
    corpora = corpora or _load_splits(config)
    return _prepare(config, corpora, _store_keys(config, corpora), progress)


def _prepare(config: LCAConfig, corpora, keys, progress) -> LCAData:
    """:func:`prepare` with the corpora and their store keys already at hand."""
    from .corpus import Task
    from .extract import best_device, extract, store_path

    train_corpus, test_corpus = corpora
    labeler = Task(config.task, seed=config.seed).fit(train_corpus)
    y_train = _flat(labeler.transform(train_corpus), train_corpus.n_words, "train labels")
    y_test = _flat(labeler.transform(test_corpus), test_corpus.n_words, "test labels")
    c_train = c_test = None
    if config.control:
        ctrl = Task(f"control:{config.task}", seed=config.seed).fit(train_corpus)
        c_train = _flat(ctrl.transform(train_corpus), train_corpus.n_words, "control train labels")
        c_test = _flat(ctrl.transform(test_corpus), test_corpus.n_words, "control test labels")
    t = time.perf_counter()
    model = config.model
    if not all((store_path(key) / "metadata.json").is_file() for key in keys):
        from .models import load_model

        # once, for both stores; on the GPU when there is one (extract keeps a given model where it is)
        model = load_model(config.model, progress=progress)  # (model, tokenizer)
        model[0].to(best_device())
    train_store = extract(model, train_corpus, progress=progress, **config.extract_params())
    test_store = extract(model, test_corpus, progress=progress, **config.extract_params())
    return LCAData(config, train_store, test_store, y_train, y_test, c_train, c_test, time.perf_counter() - t)