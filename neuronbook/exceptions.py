"""Warnings a user must act on, as one hierarchy; and the error of an estimator used before ``fit``.

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

import functools
import sys

__all__ = ["NeuronbookWarning", "TargetNotReachedWarning", "ApproximationWarning", "UnseenLabelsWarning",
           "RareTagsWarning", "ClippedWordsWarning", "UnknownWordsWarning", "ResultCacheWarning",
           "LanguageMismatchWarning",
           "NotFittedError"]


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


class LanguageMismatchWarning(NeuronbookWarning):
    """The model was trained on other languages than the corpus's (an English-only model on Russian text)."""


class ResultCacheWarning(NeuronbookWarning):
    """A computed result could not be saved into the result cache (e.g. a full disk): it is returned
    all the same, and the next identical call computes it again."""


class NotFittedError(ValueError, AttributeError):
    """An estimator (:class:`~neuronbook.probe.ElasticNetProbe`) was used before ``fit``.

    A ValueError and an AttributeError, as scikit-learn's own ``sklearn.exceptions.NotFittedError``
    (so ``hasattr(probe, "coef_")`` is False before ``fit``).  Where scikit-learn is imported, the error
    raised (:func:`not_fitted`) is also an instance of scikit-learn's class, so ``except
    sklearn.exceptions.NotFittedError`` catches it too.  neuronbook does not import scikit-learn for
    this (it costs a second at import): code that can name scikit-learn's class has imported it.

    Examples
    --------
    >>> err = not_fitted("call fit first")
    >>> isinstance(err, NotFittedError) and isinstance(err, ValueError) and isinstance(err, AttributeError)
    True
    """


@functools.cache
def _with_sklearn(sklearn_error):
    """``NotFittedError`` that is also a ``sklearn_error`` (scikit-learn's class), made once."""
    return type("NotFittedError", (NotFittedError, sklearn_error),
                {"__module__": __name__, "__qualname__": "_SklearnNotFittedError", "__doc__": NotFittedError.__doc__})


def not_fitted(message):
    """The :class:`NotFittedError` to raise: an instance of scikit-learn's class too when it is imported."""
    skl = sys.modules.get("sklearn.exceptions")
    base = getattr(skl, "NotFittedError", None)
    return (NotFittedError if base is None else _with_sklearn(base))(message)


def __getattr__(name):  # unpickling the scikit-learn variant (by its qualified name) in another process
    if name == "_SklearnNotFittedError":
        from sklearn.exceptions import NotFittedError as base

        return _with_sklearn(base)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
