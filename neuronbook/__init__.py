"""neuronbook: Linguistic Correlation Analysis of neural language models.

Find the neurons of a transformer that encode a linguistic property
(part of speech, suffix, dependency relation, ...), following Durrani,
Dalvi & Sajjad, "Discovering Salient Neurons in Deep NLP Models" (JMLR 2023).

The pipeline, one module per stage::

    corpus -> extract -> store -> probe -> rank -> evaluate -> lca -> analysis / plots

Only the names in ``__all__`` are public; notebooks import nothing else.
"""

from __future__ import annotations

import logging

__version__ = "0.1.0"

logging.getLogger(__name__).addHandler(logging.NullHandler())

__all__: list[str] = ["__version__"]


def _export(module, names):
    """Re-export ``names`` from ``module`` into the flat public namespace."""
    for name in names:
        globals()[name] = getattr(module, name)
        __all__.append(name)
