"""Where neuronbook keeps things and whether it may use the network: one place for both.

* :func:`cache_dir` -- ``$NEURONBOOK_CACHE``, else the platform's user cache folder
  (``~/.cache/neuronbook`` on Linux, via :mod:`platformdirs`). Activation stores, results,
  converted models and downloaded corpora live in sub-folders of it.
* :func:`offline` -- true when ``NEURONBOOK_OFFLINE`` or ``HF_HUB_OFFLINE`` is set to a true
  value; then nothing is downloaded, by neuronbook or by transformers.
* :func:`progress_enabled` -- what ``progress="auto"`` means here.
* :func:`in_kernel` -- whether this runs inside a live Jupyter kernel: the one check of it that
  :func:`progress_enabled`, :func:`neuronbook.notebook_setup` and the widgets share.

Examples
--------
>>> import os
>>> from neuronbook import settings
>>> os.environ["NEURONBOOK_CACHE"] = "/tmp/nb-doc-cache"
>>> str(settings.cache_dir("stores"))
'/tmp/nb-doc-cache/stores'
>>> del os.environ["NEURONBOOK_CACHE"]
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

__all__ = ["cache_dir", "offline", "progress_enabled", "in_kernel"]

_TRUE = ("1", "true", "yes", "on")


def _truthy(value: str | None) -> bool:
    return value is not None and value.strip().lower() in _TRUE


def cache_dir(*parts: str) -> Path:
    """The neuronbook cache folder (or a sub-folder of it); nothing is created.

    ``$NEURONBOOK_CACHE`` if set, else the platform user cache (``~/.cache/neuronbook`` on Linux).
    """
    env = os.environ.get("NEURONBOOK_CACHE")
    if env:
        root = Path(env).expanduser()
    else:
        import platformdirs

        root = Path(platformdirs.user_cache_dir("neuronbook", appauthor=False))
    return root.joinpath(*parts)


def offline() -> bool:
    """True when ``NEURONBOOK_OFFLINE`` or ``HF_HUB_OFFLINE`` is set: never touch the network."""
    return _truthy(os.environ.get("NEURONBOOK_OFFLINE")) or _truthy(os.environ.get("HF_HUB_OFFLINE"))


def in_kernel() -> bool:
    """True inside a live Jupyter kernel (JupyterLab, VS Code, papermill), False in plain Python or a terminal IPython.

    A Jupyter kernel is an IPython shell with a ``kernel`` attached; IPython is not imported to find out.

    Examples
    --------
    >>> in_kernel()
    False
    """
    if "IPython" not in sys.modules:
        return False
    from IPython import get_ipython

    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


def progress_enabled(progress="auto") -> bool:
    """Resolve a ``progress=`` switch: ``True``/``False`` as given; ``"auto"`` decides.

    ``"auto"`` shows bars in a terminal (stderr is a TTY) and in a live notebook kernel, and none
    when ``NEURONBOOK_PROGRESS=0`` (set by ``neuronbook run``/``sweep`` for headless papermill runs,
    so executed notebooks carry no widget-less bar output) or when stderr is not interactive.

    Examples
    --------
    >>> progress_enabled(False), progress_enabled(True)
    (False, True)
    """
    if isinstance(progress, bool):
        return progress
    if progress != "auto":
        raise ValueError(f"progress must be True, False or 'auto', got {progress!r}")
    env = os.environ.get("NEURONBOOK_PROGRESS")
    if env is not None:
        return _truthy(env)
    if in_kernel():
        return True
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False
