"""Where neuronbook keeps things and whether it may use the network: one place for both.

* :func:`cache_dir` -- ``$NEURONBOOK_CACHE``, else the platform's user cache folder
  (``~/.cache/neuronbook`` on Linux, via :mod:`platformdirs`). Activation stores, results,
  converted models and downloaded corpora live in sub-folders of it.
* :func:`offline` -- true when ``NEURONBOOK_OFFLINE`` or ``HF_HUB_OFFLINE`` is set to a true
  value; then nothing is downloaded, by neuronbook or by transformers.
* :func:`progress_enabled` -- what ``progress="auto"`` means here.
* :func:`path_setting` -- the folders a path setting (``NEURONBOOK_DATA``, ``NEURONBOOK_CACHE``) names.
* :func:`in_kernel` -- whether this runs inside a live Jupyter kernel: the one check of it that
  :func:`progress_enabled`, :func:`neuronbook.notebook_setup` and the widgets share.

A relative path in a path setting (the README's ``NEURONBOOK_DATA=../shared/data``) means relative
to the folder the command ran in.  neuronbook makes it absolute when it is imported (and when a
setting is read that was changed since), in ``os.environ`` itself: later reads after a
``chdir``, notebook kernels and every child process, which inherit the environment whatever folder
they run in, then mean the same folders.

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

__all__ = ["cache_dir", "offline", "progress_enabled", "in_kernel", "PATH_SETTINGS", "path_setting",
           "absolute_path_settings"]

_TRUE = ("1", "true", "yes", "on")

#: Environment settings that name folders; ``NEURONBOOK_DATA`` may name several, joined with ``os.pathsep``.
PATH_SETTINGS = ("NEURONBOOK_DATA", "NEURONBOOK_CACHE")
_SEVERAL = ("NEURONBOOK_DATA",)


def _absolute(entry: str) -> Path:
    path = Path(entry).expanduser()
    if path.is_absolute():
        return path  # as given (a symlinked folder keeps its name)
    try:
        return (Path.cwd() / path).resolve()
    except OSError:  # the current folder was removed: nothing to resolve against
        return path


def path_setting(name: str) -> list[Path]:
    """The folders the environment setting ``name`` (one of :data:`PATH_SETTINGS`) names, absolute.

    A relative entry is resolved against the current folder, and the absolute form is written back
    into ``os.environ`` (see the module docstring), so that the setting means the same folders in
    this process and in its children.  Empty entries are dropped; unset or empty gives ``[]``.

    Examples
    --------
    >>> import os, tempfile
    >>> here, saved = os.getcwd(), os.environ.get("NEURONBOOK_DATA")
    >>> os.chdir(tempfile.mkdtemp())
    >>> os.environ["NEURONBOOK_DATA"] = "data" + os.pathsep + "/srv/corpora"
    >>> [str(p) for p in path_setting("NEURONBOOK_DATA")] == [os.path.realpath("data"), "/srv/corpora"]
    True
    >>> os.environ["NEURONBOOK_DATA"] == os.pathsep.join([os.path.realpath("data"), "/srv/corpora"])
    True
    >>> os.chdir(here)
    >>> if saved is None: del os.environ["NEURONBOOK_DATA"]
    ... else: os.environ["NEURONBOOK_DATA"] = saved
    """
    if name not in PATH_SETTINGS:
        raise ValueError(f"{name!r} is not a path setting; these are: {', '.join(PATH_SETTINGS)}")
    value = os.environ.get(name)
    if not value:
        return []
    entries = [e for e in value.split(os.pathsep) if e] if name in _SEVERAL else [value]
    paths = [_absolute(e) for e in entries]
    absolute = os.pathsep.join(str(p) for p in paths)
    if absolute != value and all(p.is_absolute() for p in paths):
        os.environ[name] = absolute
    return paths


def absolute_path_settings() -> dict[str, str]:
    """Every path setting that is set, made absolute (in ``os.environ`` too): ``{name: value}``.

    What a child process that starts in another folder (a notebook kernel, a benchmark's command)
    must be given; neuronbook calls it when imported.
    """
    out = {}
    for name in PATH_SETTINGS:
        if path_setting(name):
            out[name] = os.environ[name]
    return out


def _truthy(value: str | None) -> bool:
    return value is not None and value.strip().lower() in _TRUE


def cache_dir(*parts: str) -> Path:
    """The neuronbook cache folder (or a sub-folder of it); nothing is created.

    ``$NEURONBOOK_CACHE`` if set, else the platform user cache (``~/.cache/neuronbook`` on Linux).
    """
    given = path_setting("NEURONBOOK_CACHE")
    if given:
        root = given[0]
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


absolute_path_settings()  # a relative setting means the folder the command ran in: pinned before anyone moves
