"""The paper's research questions as analyses: tidy DataFrames that feed :mod:`neuronbook.plots`.

Modules
-------
layers
    Layer-wise probing and the localization of selected neurons (question ii).
redundancy
    Disjoint minimal sets and correlation clustering (question iii).
rankers
    Agreement between rankers (the rankers themselves: :mod:`neuronbook.rank`).
compare
    Pretrained vs fine-tuned models (iv), architectures (v) and languages, from LCA results.
"""

from __future__ import annotations

from .compare import *  # noqa: F401,F403
from .compare import __all__ as _compare_all
from .layers import *  # noqa: F401,F403
from .layers import __all__ as _layers_all
from .rankers import *  # noqa: F401,F403
from .rankers import __all__ as _rankers_all
from .redundancy import *  # noqa: F401,F403
from .redundancy import __all__ as _redundancy_all

__all__ = [*_layers_all, *_redundancy_all, *_rankers_all, *_compare_all]
