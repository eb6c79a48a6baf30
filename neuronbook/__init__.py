"""neuronbook: Linguistic Correlation Analysis of neural language models.

Find the neurons of a transformer that encode a linguistic property (part of speech, suffix,
dependency relation, ...), following Durrani, Dalvi & Sajjad, "Discovering Salient Neurons in Deep
NLP Models" (JMLR 2023). The pipeline, one module per stage::

    config -> corpus -> extract -> store -> probe -> rank -> evaluate -> lca -> analysis / plots
           (groundtruth: rankers checked against planted neurons)
           -> widgets / notebooks

Every public name is available flat from ``neuronbook`` (see ``__all__``); submodules are imported
on first use, so ``import neuronbook`` stays light (torch loads when a name needs it).

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

# module -> the public names it exports (each module's own __all__; a test keeps them in step).
_EXPORTS: dict[str, list[str]] = {
    "config": ["LCAConfig", "DEFAULT_PERCENTS", "DEFAULT_SEARCH_GRID"],
    "settings": ["cache_dir", "offline", "progress_enabled", "in_kernel", "PATH_SETTINGS", "path_setting",
                 "absolute_path_settings"],
    "exceptions": ["NeuronbookWarning", "TargetNotReachedWarning", "ApproximationWarning", "UnseenLabelsWarning",
                   "RareTagsWarning", "ClippedWordsWarning", "UnknownWordsWarning", "NotFittedError"],
    "neurons": ["neuron_index", "as_neuron_index", "labelled_matrix", "positions", "neuron_table", "relative_depth"],
    "corpus": ["Corpus", "CorpusFormatError", "TASKS", "Task", "TaskKind", "available_tasks", "concat", "list_tasks",
               "read_columns", "read_conllu", "read_corpus", "read_parallel", "read_pmb", "read_tagged",
               "register_task", "task_labels", "unregister_task"],
    "datasets": ["DataNotFoundError", "corpus_file", "data_dirs", "list_corpora", "load_corpus"],
    "models": ["DEFAULT_MODEL", "PRESETS", "ModelNotFoundError", "Preset", "PresetNotInstalledError",
               "get_preset", "list_models", "load_model", "model_fingerprint", "model_identity"],
    "store": ["ActivationStore", "StoreIntegrityError", "content_key", "remove_stale_temporaries"],
    "extract": ["extract", "store_key", "store_path", "library_versions", "best_device", "AGGREGATIONS"],
    "probe": ["ArrayView", "ElasticNetProbe", "clone", "column_means", "encode_labels", "fit_copies", "fit_probes",
              "masked_accuracies", "predict_many"],
    "rank": ["top_neurons", "bottom_neurons", "random_neurons", "random_ordering", "neuron_ordering",
             "bottom_ordering", "neuron_scores", "neuron_tags", "ranking_frame", "per_tag_ranking", "zero_mass_classes", "probeless_scores",
             "iou_scores", "average_precision_scores", "ordering_from_scores", "ranking_overlap", "Ranker",
             "LCARanker", "ProbelessRanker", "IoURanker", "APRanker", "RANKERS", "get_ranker"],
    "plots": ["MAX_ROWS", "SELECTION_COLORS", "activation_html", "activation_text_chart",
              "accuracy_curve_chart", "add_relative_depth", "architecture_comparison_chart", "baseline_chart",
              "finetuning_shift_chart", "language_similarity_chart", "layer_distribution_chart",
              "layerwise_accuracy_chart", "minimal_set_chart", "save_chart", "tag_layer_heatmap", "top_words", "top_words_chart",
              "agreement_charts", "cluster_charts", "depth_heatmap", "disjoint_sets_chart", "finetuning_layers_chart",
              "ranking_chart", "tag_similarity_chart", "weights_chart", "marked_accuracy_curve_chart"],
    "evaluate": ["PERCENT_GRID", "DEFAULT_REGULARIZATION_GRID", "fit_many", "n_for_percent", "oracle", "MinimalSet",
                 "minimal_set", "ablation", "selectivity", "PenaltySearch", "search_regularization", "baseline_seeds",
                 "layer_matched_neurons", "random_baselines", "baseline_summary", "ABLATION_VARIANTS",
                 "ABLATION_FILLS", "ablation_variants", "choose_penalty", "CRITERIA", "SEARCH_COLUMNS"],
    "groundtruth": ["planting_plan", "plant_neurons", "planted_recall", "summarize_recall"],
    "analysis": ["CLOSED_CLASS_TAGS", "layer_distribution", "layerwise_probing", "localization",
                 "neurons_per_tag", "tag_layer_counts", "DisjointSets", "disjoint_minimal_sets",
                 "clustering_summary", "correlation_clusters", "correlation_dissimilarity", "ranker_agreement",
                 "ArchitectureComparison", "FineTuningComparison", "LanguageComparison", "NeuronSelection",
                 "architecture_comparison", "as_selection", "finetuning_comparison", "jaccard",
                 "language_comparison"],
    "lca": ["LCAResult", "LCAData", "RESULT_FORMAT", "lca_from_arrays", "split_store_rows", "analyze_store",
            "prepare", "run_lca", "combine_seeds", "result_key", "cache_result", "rare_tags"],
    "notebooks": ["RENDERERS", "CellError", "NotebookError", "notebook_setup", "notebook_errors", "run_notebook",
                  "save_headline", "sweep", "report"],
}

_WHERE = {name: module for module, names in _EXPORTS.items() for name in names}

__all__ = ["__version__", *_WHERE]


# The function ``extract`` shares its name with its module: importing the module would bind the
# package attribute to the module, so bind the function eagerly, after the module is loaded.
# (This is also why lazy_loader is not used: it cannot keep a function named like its module.)
from .extract import extract  # noqa: E402


def __getattr__(name: str):
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'neuronbook' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__():
    return sorted(set(globals()) | set(__all__))
