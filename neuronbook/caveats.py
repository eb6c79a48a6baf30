"""Caveats: the warnings of an analysis gathered once per kind and message, shown as one compact box.

A notebook cell wraps its analysis in :func:`collect_caveats`; every warning raised inside (neuronbook's
own and those of the libraries it calls) is recorded instead of printed, counted when it repeats, and
tied to the line of *the caller's* code that led to it (the notebook cell's line, not an internal one).
The :class:`Caveats` object then shows as a short HTML box under the result (``display(caveats)``) and
as a tidy table (:meth:`Caveats.frame`).

Examples
--------
>>> import warnings
>>> from neuronbook.exceptions import ApproximationWarning
>>> with collect_caveats() as caveats:
...     for _ in range(3):
...         warnings.warn("4-bit weights", ApproximationWarning)
>>> caveats.frame()[["kind", "message", "count"]].to_dict("records")
[{'kind': 'ApproximationWarning', 'message': '4-bit weights', 'count': 3}]
"""

from __future__ import annotations

import html
import linecache
import sys
import warnings
from contextlib import contextmanager
from pathlib import Path

__all__ = ["Caveats", "collect_caveats"]

_PACKAGE = str(Path(__file__).resolve().parent)
_LIBRARY_MARKERS = ("site-packages", "dist-packages", f"{Path(warnings.__file__).resolve().parent}")


def _internal(filename: str) -> bool:
    """A frame of neuronbook, of an installed library or of the standard library (not the user's code)."""
    try:
        path = str(Path(filename).resolve())
    except (OSError, ValueError):
        path = filename
    return path.startswith(_PACKAGE) or any(marker in path for marker in _LIBRARY_MARKERS) or filename.startswith("<frozen")


def _caller_line(skip: int = 2) -> tuple[str, int, str]:
    """(file, line, source) of the innermost frame outside neuronbook and the libraries; empty when none."""
    frame = sys._getframe(skip)
    while frame is not None:
        name = frame.f_code.co_filename
        if not _internal(name):
            return name, frame.f_lineno, linecache.getline(name, frame.f_lineno).strip()
        frame = frame.f_back
    return "", 0, ""


class Caveats:
    """Warnings gathered during an analysis: one record per (kind, message), with a count and the caller's line.

    ``records`` holds dicts with ``kind`` (the warning class name), ``message``, ``count`` and ``where``
    (the first line of the caller's code that led to it, e.g. ``result = nb.run_lca(config)``).
    """

    def __init__(self, title: str = "Caveats"):
        self.title = title
        self.records: list[dict] = []
        self._index: dict[tuple[str, str], dict] = {}

    def add(self, message, category=UserWarning, where: str = "") -> None:
        """Record one warning (a repeat of the same kind and message raises the count)."""
        kind = getattr(category, "__name__", str(category))
        text = " ".join(str(message).split())
        key = (kind, text)
        if key in self._index:
            self._index[key]["count"] += 1
            return
        record = {"kind": kind, "message": text, "count": 1, "where": where}
        self._index[key] = record
        self.records.append(record)

    def extend(self, other: "Caveats") -> "Caveats":
        """Add another collection's records (counts of the same kind and message add up); returns self."""
        for r in other.records:
            key = (r["kind"], r["message"])
            if key in self._index:
                self._index[key]["count"] += r["count"]
            else:
                self._index[key] = dict(r)
                self.records.append(self._index[key])
        return self

    def __len__(self) -> int:
        return len(self.records)

    def __bool__(self) -> bool:
        return True  # an empty collection is still a collection (``if caveats:`` would read oddly)

    def __repr__(self) -> str:
        return f"Caveats({len(self.records)} kind(s))"

    def frame(self):
        """The records as a table: ``kind``, ``message``, ``count``, ``where``."""
        import pandas as pd

        return pd.DataFrame(self.records, columns=["kind", "message", "count", "where"])

    def text(self) -> str:
        """One line per record, for a terminal or a log."""
        if not self.records:
            return f"{self.title}: none"
        lines = [f"{self.title}:"]
        for r in self.records:
            times = f" (x{r['count']})" if r["count"] > 1 else ""
            lines.append(f"  {r['kind']}{times}: {r['message']}" + (f"  [at: {r['where']}]" if r["where"] else ""))
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        if not self.records:
            return (f'<div class="nb-caveats" style="color:#555;font-size:90%">{html.escape(self.title)}: '
                    f'none</div>')
        items = []
        for r in self.records:
            times = f' <span style="color:#777">&times;{r["count"]}</span>' if r["count"] > 1 else ""
            where = (f'<br><span style="color:#777;font-size:90%">from <code>{html.escape(r["where"][:120])}</code>'
                     f'</span>' if r["where"] else "")
            items.append(f'<li><b>{html.escape(r["kind"])}</b>{times}: {html.escape(r["message"])}{where}</li>')
        return ('<div class="nb-caveats" style="border-left:4px solid #e0a800;background:#fff8e1;padding:4px 10px;'
                'margin:4px 0;font-size:90%;max-width:100%">'
                f'<b>{html.escape(self.title)}</b> ({len(self.records)})'
                f'<ul style="margin:2px 0 2px 1em;padding:0">{"".join(items)}</ul></div>')


@contextmanager
def collect_caveats(caveats: Caveats | None = None, *, categories=(Warning,)):
    """Record every warning raised inside the block into a :class:`Caveats` (nothing is printed).

    Parameters
    ----------
    caveats : Caveats, optional
        A collection to add to (e.g. one per notebook, over several cells); default a new one.
    categories : tuple of Warning classes
        What is gathered; other warnings pass through to the usual display.

    Yields
    ------
    Caveats
        Filled as the block runs; repeats of a (kind, message) only raise its count.
    """
    caveats = Caveats() if caveats is None else caveats
    with warnings.catch_warnings():
        warnings.simplefilter("always")  # every occurrence reaches the hook, which counts repeats
        previous = warnings.showwarning

        def hook(message, category, filename, lineno, file=None, line=None):
            if not issubclass(category, categories):
                return previous(message, category, filename, lineno, file, line)
            file_, line_, source = _caller_line()
            caveats.add(message, category, source or (f"{file_}:{line_}" if file_ else ""))

        warnings.showwarning = hook
        yield caveats
