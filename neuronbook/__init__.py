"""neuronbook: Linguistic Correlation Analysis of neural language models.

Find the neurons of a transformer that encode a linguistic property (part of speech, suffix,
dependency relation, ...), following Durrani, Dalvi & Sajjad, "Discovering Salient Neurons in Deep
NLP Models" (JMLR 2023). The pipeline, one module per stage::

    config -> corpus -> extract -> store -> probe -> rank -> evaluate -> lca -> analysis / plots
           (groundtruth: rankers checked against planted neurons)
           -> widgets / notebooks

The names a notebook reaches for are flat (``nb.run_lca``, ``nb.LCAConfig``, ``nb.get_ranker``, ...:
``__all__``); every other public name lives in its module, reachable as an attribute
(``nb.evaluate.minimal_set``, ``nb.plots.baseline_chart``, ``nb.probe.fit_probes``).  Submodules are
imported on first use, so ``import neuronbook`` loads neither pandas nor torch.

Examples
--------
>>> import neuronbook as nb
>>> nb.DEFAULT_MODEL
'sentence-transformers/all-MiniLM-L6-v2'
"""

from __future__ import annotations

import importlib
import logging

__version__ = "0.1.0"

logging.getLogger(__name__).addHandler(logging.NullHandler())

# settings is light (no pandas, no torch) and is imported at once: it pins a relative NEURONBOOK_DATA /
# NEURONBOOK_CACHE to the launch folder before any chdir or child process could read it otherwise
from . import settings  # noqa: E402,F401

# The flat names: what a notebook reaches for (module -> names; each is in that module's __all__, a test keeps
# them in step).  Everything else is public by submodule: nb.evaluate.minimal_set, nb.plots.baseline_chart, ...
_EXPORTS: dict[str, list[str]] = {
    "config": ["LCAConfig"],
    "settings": ["cache_dir"],
    "exceptions": ["NeuronbookWarning", "NotFittedError"],
    "corpus": ["Corpus", "Task", "list_tasks"],
    "datasets": ["list_corpora", "load_corpus"],
    "models": ["DEFAULT_MODEL", "get_preset", "list_models", "load_model"],
    "finetuning": ["finetune", "FinetuneConfig"],
    "store": ["ActivationStore"],
    "extraction": ["extract"],
    "probe": ["ElasticNetProbe", "clone"],
    "rank": ["RANKERS", "get_ranker"],
    "analysis": ["layer_distribution", "localization", "neurons_per_tag", "tag_layer_counts", "layerwise_probing",
                 "disjoint_minimal_sets", "correlation_clusters", "clustering_summary", "ranker_agreement",
                 "finetuning_comparison", "architecture_comparison", "language_comparison"],
    "groundtruth": ["planted_recall"],
    "lca": ["LCAResult", "run_lca", "prepare", "combine_seeds"],
    "notebooks": ["Outputs", "notebook_setup", "run_notebook", "save_headline"],
    "plots": ["save_chart"],
    "interventions": ["intervene", "intervention_effects"],
    "caveats": ["collect_caveats"],
}

#: The submodules, reachable as attributes (``nb.plots``, ``nb.evaluate``) and imported on first use.
SUBMODULES = ("analysis", "caveats", "config", "corpus", "datasets", "evaluate", "exceptions", "extraction", "finetuning",
              "groundtruth", "interventions", "lca", "models", "neurons", "notebooks", "pages", "plots", "probe", "rank",
              "settings", "store", "tables", "widgets")

_WHERE = {name: module for module, names in _EXPORTS.items() for name in names}

__all__ = ["__version__", *_WHERE]


def __getattr__(name: str):
    if name in SUBMODULES:
        value = importlib.import_module(f".{name}", __name__)
        globals()[name] = value
        return value
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'neuronbook' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__():
    return sorted(set(globals()) | set(__all__) | set(SUBMODULES))
