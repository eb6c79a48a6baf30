"""Writing a chart to a file: ``.html``, ``.json``, ``.png``, ``.svg`` or ``.pdf``.

The image formats need ``vl-convert-python`` (``pip install neuronbook[export]``).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from ._base import logger

__all__ = ["save_chart"]


def _have_vl_convert() -> bool:
    return importlib.util.find_spec("vl_convert") is not None


def save_chart(chart, path: str | Path, scale: float = 2.0, inline: bool | None = None) -> Path:
    """Write a chart to ``path``, the format chosen by its suffix.

    ``.html`` and ``.json`` always work; ``.png``, ``.svg`` and ``.pdf`` need ``vl-convert-python``.

    Parameters
    ----------
    chart : altair chart
        Any chart from this module (or Altair).
    path : str or Path
        Destination; parent folders are created.
    scale : float
        Pixel density of a PNG (2 = sharp on high-DPI screens).
    inline : bool, optional
        For HTML: embed the Vega JavaScript in the file so it opens offline. Default: inline when
        vl-convert (which bundles the scripts) is installed, else load them from a CDN.

    Returns
    -------
    Path
        The file written.

    Examples
    --------
    >>> import tempfile, pandas as pd
    >>> from neuronbook.plots import layer_distribution_chart
    >>> df = pd.DataFrame({"layer": [0, 1], "count": [1, 3], "share": [0.25, 0.75]})
    >>> out = save_chart(layer_distribution_chart(df), tempfile.mkdtemp() + "/dist.html")
    >>> out.stat().st_size > 0
    True
    """
    path = Path(path)
    fmt = path.suffix.lower().lstrip(".")
    if fmt not in ("html", "json", "png", "svg", "pdf"):
        raise ValueError(f"cannot save a chart as {path.name!r}: use a .html, .json, .png, .svg or .pdf suffix")
    if fmt in ("png", "svg", "pdf") and not _have_vl_convert():
        raise ImportError(f"saving {path.name!r} as {fmt.upper()} needs vl-convert-python; install it with "
                          "`pip install vl-convert-python` (or neuronbook[export]), or save as .html")
    path.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "html":
        chart.save(str(path), format="html", inline=_have_vl_convert() if inline is None else inline)
    elif fmt == "png":
        chart.save(str(path), format="png", scale_factor=scale)
    else:
        chart.save(str(path), format=fmt)
    logger.info("saved chart to %s", path)
    return path
