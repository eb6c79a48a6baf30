"""The result of one analysis: :class:`LCAResult` (tables, oracle probe, settings), its files and its views.

A result carries its oracle probe (weights, bias, classes, standardisation, per-class word counts) and
the neuron table, so it can be re-ranked, queried neuron by neuron and charted after
:meth:`LCAResult.load`, without the model.  :func:`combine_seeds` adds the spread over seeds.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import shutil
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..config import LCAConfig
from ..models.cache import sha256_file
from ..neurons import as_neuron_index, positions
from ..tables import COLUMNS, empty

__all__ = ["LCAResult", "RESULT_FORMAT", "RESULT_FILE", "combine_seeds", "toy_result"]

logger = logging.getLogger(__name__)


#: Version of the on-disk result layout; :meth:`LCAResult.load` refuses any other.
RESULT_FORMAT = 5  # 4: random baselines over draws, ablation variants, minimal-set interval, seed tables;
# 5: result.json carries "digest", the SHA-256 of its canonical JSON (format, config, info, files)


_TABLES = ("ranking", "per_tag_ranking", "oracle", "curve", "minimal_set", "ablation", "ablation_variants",
           "baseline_draws", "baselines", "selectivity", "layer_distribution", "tag_layer_distribution",
           "regularization", "neurons", "classes", "seed_runs", "seed_summary", "seed_overlap")
RESULT_FILE = "result.json"
_PROBE = "probe.npz"


def _payload_digest(payload: dict) -> str:
    """SHA-256 of ``result.json``'s canonical JSON (sorted keys, compact), its ``digest`` field left out."""
    from ..store import json_digest

    return json_digest({k: v for k, v in payload.items() if k != "digest"}, default=_json_default)


def _table(name):
    """A default for a table field: no rows, the columns of :data:`neuronbook.tables.COLUMNS`."""
    return field(default_factory=lambda: empty(name))


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

    ranking: pd.DataFrame = _table("ranking")
    per_tag_ranking: pd.DataFrame = _table("per_tag_ranking")
    oracle: pd.DataFrame = _table("oracle")
    curve: pd.DataFrame = _table("curve")
    minimal_set: pd.DataFrame = _table("minimal_set")
    ablation: pd.DataFrame = _table("ablation")
    ablation_variants: pd.DataFrame = _table("ablation_variants")
    baseline_draws: pd.DataFrame = _table("baseline_draws")
    baselines: pd.DataFrame = _table("baselines")
    selectivity: pd.DataFrame = _table("selectivity")
    layer_distribution: pd.DataFrame = _table("layer_distribution")
    tag_layer_distribution: pd.DataFrame = _table("tag_layer_distribution")
    regularization: pd.DataFrame = _table("regularization")
    neurons: pd.DataFrame = _table("neurons")
    classes: pd.DataFrame = _table("classes")
    seed_runs: pd.DataFrame = _table("seed_runs")
    seed_summary: pd.DataFrame = _table("seed_summary")
    seed_overlap: pd.DataFrame = _table("seed_overlap")
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

    @property
    def from_cache(self) -> bool:
        """Whether this result was loaded from the result cache instead of computed (``info["loaded_from_cache"]``
        holds the folder)."""
        return bool(self.info.get("loaded_from_cache"))

    @property
    def rare_tags(self) -> dict:
        """Tags with fewer than ``config.min_tag_count`` training words, kept out of the ranking: tag -> words."""
        return dict(self.info.get("rare_tags") or {})

    @property
    def approximation(self) -> str | None:
        """How the activations approximate the model (e.g. a 4-bit engine), or None for the exact model."""
        return self.info.get("approximation") or None

    def estimator(self):
        """An unfitted probe with this analysis's settings and chosen penalties (``config.make_probe``).

        Pass it as ``estimator=`` to any evaluation or analysis verb to refit the way this result did.

        Examples
        --------
        >>> r = toy_result()
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
        from ..extraction import store_path
        from ..store import ActivationStore

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
        >>> r = toy_result()
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

    def read_sentence(self, sentence, model=None, neurons=None) -> pd.DataFrame:
        """Run a new sentence through this result's model: each word's activations and the probe's tag for it.

        Parameters
        ----------
        sentence : str or list of str
            Words (a string is split on whitespace).
        model : str or (model, tokenizer), optional
            Default the result's own ``config.model``, loaded on first use (offline presets work without
            network) and kept for the session.
        neurons : list of (layer, neuron), optional
            The neurons whose activations are returned (default the five top-ranked).

        Returns
        -------
        DataFrame
            One row per word: ``position``, ``word``, ``predicted`` (the oracle probe's tag, from all
            neurons), ``probability`` (of that tag), then one column per neuron named ``"layer:neuron"``
            (the raw activation; the probe's standardisation mean is ``neurons["mean"]``).
        """
        from ..extraction import extract

        words = sentence.split() if isinstance(sentence, str) else [str(w) for w in sentence]
        if not words:
            raise ValueError("an empty sentence: type at least one word")
        if neurons is None:
            neurons = [tuple(int(v) for v in r) for r in self.ranking.sort_values("rank").head(5)[["layer", "neuron"]].values]
        neurons = [(int(layer), int(neuron)) for layer, neuron in neurons]
        index = self.neuron_index
        missing = [n for n in neurons if n not in index]
        if missing:
            raise ValueError(f"neurons {missing} were not analysed in this result")
        loaded = _sentence_model(self.config.model if model is None else model)
        with extract(loaded, [words], cache=False, progress=False) as store:
            frame = store.frame()
        X = frame[index].to_numpy(np.float32)
        probe = self.probe()
        proba = probe.predict_proba(X)
        best = np.asarray(proba).argmax(axis=1)
        table = pd.DataFrame({"position": np.arange(len(words)), "word": words,
                              "predicted": [str(probe.classes_[i]) for i in best],
                              "probability": np.asarray(proba)[np.arange(len(words)), best].astype(float)})
        for layer, neuron in neurons:
            table[f"{layer}:{neuron}"] = frame[(layer, neuron)].to_numpy(np.float64)
        return table

    def neuron_weights(self, layer: int, neuron: int) -> pd.DataFrame:
        """One neuron's weight for every tag.

        Returns
        -------
        DataFrame
            ``tag``, ``weight`` (standardised units when the probe standardises), ``share`` (the
            neuron's part of the tag's absolute weight mass), ``n_train``; largest ``|weight|`` first.

        Examples
        --------
        >>> toy_result().neuron_weights(0, 0)[["tag", "weight"]].values.tolist()
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
        >>> r = toy_result().rerank(tag_percentage=1.0)
        >>> r.config.tag_percentage, len(r.per_tag_ranking)
        (1.0, 4)
        """
        changes = {k: v for k, v in (("search_stride", search_stride), ("tag_percentage", tag_percentage),
                                     ("min_tag_count", min_tag_count)) if v is not None}
        from .pipeline import rank_tables, rare_tags  # the pipeline's own ranking step, on the stored weights

        config = self.config.replace(**changes)
        n_train = self.classes["n_train"].to_numpy()
        ranking, per_tag, tag_layers = rank_tables(self.coef, self.tags, self.neuron_index, config, self.n_layers,
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
            if not (directory / RESULT_FILE).is_file() and any(directory.iterdir()):
                raise FileExistsError(f"{directory} exists and is not an LCA result: choose an empty or new folder")
            if (directory / RESULT_FILE).is_file() and not overwrite:
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
            payload = json.loads(json.dumps(payload, default=_json_default))  # as a reader will see it
            payload["digest"] = _payload_digest(payload)
            # result.json last: its presence marks a complete result
            (tmp / RESULT_FILE).write_text(json.dumps(payload, indent=2))
            if directory.exists():
                old = directory.parent / f".{directory.name}.old-{uuid.uuid4().hex[:8]}"
                directory.rename(old)
                try:
                    tmp.rename(directory)
                except BaseException:
                    old.rename(directory)  # put the previous result back rather than leave none
                    raise
                shutil.rmtree(old, ignore_errors=True)
            else:
                tmp.rename(directory)
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)
        return directory

    @classmethod
    def load(cls, directory) -> "LCAResult":
        """Read a result written by :meth:`save`.

        Checks the format version, the digest of ``result.json`` itself (its settings, info and file
        digests: an edited penalty is refused) and the SHA-256 of every table and of the probe; any
        failure is a ValueError (a missing file a FileNotFoundError) naming the file.
        """
        directory = Path(directory)
        info_path = directory / RESULT_FILE
        if not info_path.is_file():
            raise FileNotFoundError(f"{info_path} not found: {directory} is not an LCA result directory")
        try:
            payload = json.loads(info_path.read_text())
        except (ValueError, UnicodeDecodeError) as err:
            raise ValueError(f"{info_path}: unreadable ({err}); the result folder is damaged, rerun the analysis") \
                from err
        if not isinstance(payload, dict):
            raise ValueError(f"{info_path}: holds a JSON {type(payload).__name__}, not the object an LCA result "
                             f"writes; the result folder is damaged, rerun the analysis")
        if payload.get("format") != RESULT_FORMAT:
            raise ValueError(f"{directory} holds an LCA result of format {payload.get('format')!r}; this neuronbook "
                             f"reads format {RESULT_FORMAT}: rerun the analysis")
        if not isinstance(payload.get("digest"), str):
            raise ValueError(f"{info_path}: records no digest, which format {RESULT_FORMAT} requires; the result "
                             f"folder was altered or damaged, rerun the analysis")
        if _payload_digest(payload) != payload["digest"]:
            raise ValueError(f"{info_path}: differs from the result.json the result was saved with (digest "
                             f"mismatch): its settings or info were edited; rerun the analysis")
        files = payload.get("files")
        expected = {f"{name}.parquet" for name in _TABLES} | {_PROBE}
        if not isinstance(files, dict) or not expected <= set(files):
            missing = sorted(expected - set(files)) if isinstance(files, dict) else "all"
            raise ValueError(f"{info_path}: records no digest of {missing}, which format {RESULT_FORMAT} requires; "
                             f"the result folder was altered or damaged, rerun the analysis")
        if not isinstance(payload.get("config"), dict) or not isinstance(payload.get("info"), dict):
            raise ValueError(f"{info_path}: its config and info must be JSON objects; rerun the analysis")
        for fname, digest in files.items():
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
        return pd.DataFrame(rows, columns=list(COLUMNS["headline"]))

    def key_figures(self) -> pd.DataFrame:
        """About five figures to read first, each with its interval where the result has one.

        Columns: ``figure``, ``value``, ``low``, ``high`` (NaN where there is no interval), ``interval``
        (what the interval is), ``note`` (e.g. why a value is missing). Rows: the oracle's test accuracy
        (range over seeds with ``seeds``), the minimal set's size and share of all neurons (95 % bootstrap
        interval over dev sentences), top - random at the first ablation size for retraining and for
        zero-out (95 % t interval over the random draws) and the selectivity of the minimal set. A
        minimal set that was never reached is a row with value NaN and the note ``not reached ...``,
        never all the neurons shown as a set.

        Examples
        --------
        >>> list(toy_result().key_figures().columns)
        ['figure', 'value', 'low', 'high', 'interval', 'note']
        """
        rows = []

        def add(figure, value, low=np.nan, high=np.nan, interval="", note=""):
            rows.append({"figure": figure, "value": float(value) if value is not None else np.nan,
                         "low": float(low), "high": float(high), "interval": interval, "note": note})

        acc = self.oracle.loc[self.oracle["split"] == "test", "accuracy"] if len(self.oracle) else []
        oracle = float(acc.iloc[0]) if len(acc) else np.nan
        spread = self.seed_summary[self.seed_summary["metric"] == "oracle test accuracy"] \
            if len(self.seed_summary) else self.seed_summary
        if len(spread):
            s = spread.iloc[0]
            add("oracle test accuracy", oracle, s["min"], s["max"], f"range over {int(s['n_seeds'])} seeds")
        else:
            add("oracle test accuracy", oracle, note="one fit: run seeds=[...] for a spread")
        n_all = len(self.neurons)
        if len(self.minimal_set):
            ms = self.minimal_set.iloc[0]
            if self.minimal_set_reached:
                has_ci = "size_low" in ms and pd.notna(ms.get("size_low"))
                low, high = (float(ms["size_low"]), float(ms["size_high"])) if has_ci else (np.nan, np.nan)
                what = f"95 % bootstrap over dev sentences ({int(ms['n_bootstrap'])})" if has_ci else ""
                add("minimal set neurons", int(ms["n_neurons"]), low, high, what)
                share = 100.0 / n_all if n_all else np.nan
                add("minimal set share (%)", float(ms["percent"]), low * share, high * share, what)
            else:
                top = max(self.config.percents) if self.config.percents else np.nan
                note = (f"not reached: no prefix up to {top:g} % of the neurons came within delta of the oracle "
                        f"on dev (target {float(ms['target']):.4f})")
                add("minimal set neurons", np.nan, note=note)
                add("minimal set share (%)", np.nan, note=note)
        base = self.baselines
        if len(base):
            keep = base[(base["baseline"] == "random") & (base["variant"] == "keep-selected")]
            for method in ("retrain", "zero-out"):
                b = keep[keep["method"] == method]
                if len(b):
                    r = b.sort_values("percent").iloc[0]
                    add(f"{method} top - random at {float(r['percent']):g} %", r["difference"], r["ci_low"],
                        r["ci_high"], f"{100 * float(r['confidence']):g} % t interval over {int(r['n_draws'])} draws")
        if len(self.selectivity):
            sel = self.selectivity.set_index("selection")
            if "minimal set" in sel.index:
                add("selectivity (minimal set)", sel.loc["minimal set", "selectivity"],
                    note="task - control accuracy; one fit")
            elif "all" in sel.index:
                add("selectivity (all neurons)", sel.loc["all", "selectivity"],
                    note="task - control accuracy; one fit" + ("; no minimal set" if len(self.minimal_set) else ""))
        return pd.DataFrame(rows, columns=["figure", "value", "low", "high", "interval", "note"])

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
        from ..pages import result_html

        return result_html(self)


_SENTENCE_MODELS: dict = {}


def _sentence_model(model):
    """A (model, tokenizer) pair for :meth:`LCAResult.read_sentence`: loaded once per name, kept for the session."""
    if isinstance(model, tuple):
        return model
    key = str(model)
    if key not in _SENTENCE_MODELS:
        from ..models import load_model

        _SENTENCE_MODELS[key] = load_model(key, progress=False)
    return _SENTENCE_MODELS[key]


def toy_result() -> LCAResult:
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
    raise TypeError(f"cannot write {type(obj).__name__} to {RESULT_FILE}")


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
    >>> a = dataclasses.replace(toy_result(), minimal_set=ms)
    >>> b = dataclasses.replace(a, config=a.config.replace(seed=1))
    >>> combine_seeds([a, b]).seed_overlap[["seed_a", "seed_b", "selection", "jaccard"]].values.tolist()
    [[0, 1, 'minimal set', 1.0]]
    >>> c = dataclasses.replace(b, minimal_set=ms.assign(reached=False), config=a.config.replace(seed=2))
    >>> combine_seeds([a, c]).seed_overlap["jaccard"].isna().tolist()   # no minimal set in seed 2: no overlap
    [True]
    """
    from ..analysis.compare import jaccard
    from ..evaluate import n_for_percent

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
