"""Warnings a user must act on, as one hierarchy.

Library code never prints: what a user must see goes through :func:`warnings.warn` with one of
these categories (a notebook shows it under the cell; ``warnings.simplefilter("error",
nb.NeuronbookWarning)`` turns them into errors in a pipeline); progress and details go to
:mod:`logging`.

Examples
--------
>>> import warnings
>>> from neuronbook.exceptions import NeuronbookWarning, TargetNotReachedWarning
>>> issubclass(TargetNotReachedWarning, NeuronbookWarning)
True
>>> with warnings.catch_warnings(record=True) as caught:
...     warnings.simplefilter("always")
...     warnings.warn("no prefix reached the target", TargetNotReachedWarning)
>>> caught[0].category.__name__
'TargetNotReachedWarning'
"""

from __future__ import annotations

__all__ = ["NeuronbookWarning", "TargetNotReachedWarning", "ApproximationWarning", "UnseenLabelsWarning",
           "RareTagsWarning", "ClippedWordsWarning", "UnknownWordsWarning"]


class NeuronbookWarning(UserWarning):
    """Base class of every warning neuronbook emits."""


class TargetNotReachedWarning(NeuronbookWarning):
    """No prefix of the ranking reached the minimal-set target accuracy: the result has no minimal set
    (``LCAResult.minimal_set_reached`` is False, ``selected`` is empty, comparisons leave it out)."""


class ApproximationWarning(NeuronbookWarning):
    """The activations come from an approximation of the named model (e.g. 4-bit weights)."""


class UnseenLabelsWarning(NeuronbookWarning):
    """Test words carry labels the probe never saw in training: they count as errors."""


class RareTagsWarning(NeuronbookWarning):
    """Some tags have only a handful of training words: kept, but their weights rest on those words."""


class ClippedWordsWarning(NeuronbookWarning):
    """A word had more pieces than the model's window holds; its middle pieces were left out."""


class UnknownWordsWarning(NeuronbookWarning):
    """A word produced no piece and was read as the unknown token."""
