"""What every widget view shares: the lazy ipywidgets import, display, and a chart holder.

ipywidgets (and anywidget, for clickable charts) are imported only when a control or view is
built, so ``import neuronbook`` and ``import neuronbook.widgets`` never need them.
"""

from __future__ import annotations

import importlib.util
import logging

from ..settings import in_kernel

logger = logging.getLogger(__name__)


def ipw():
    """The ipywidgets module, with a clear error when it is missing."""
    try:
        import ipywidgets
    except ImportError as err:  # pragma: no cover - ipywidgets is a dependency of the jupyter extra
        raise ImportError("neuronbook.widgets needs ipywidgets: `pip install ipywidgets` "
                          "(or neuronbook[jupyter])") from err
    return ipywidgets


def require_columns(df, columns, what: str) -> None:
    """Raise unless ``df`` is a DataFrame with ``columns`` (the message the charts' own check gives)."""
    import pandas as pd

    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"{what} must be a pandas DataFrame, got {type(df).__name__}")
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ValueError(f"{what} lacks column(s) {missing}; it has {list(df.columns)}")


def show_in(output, obj) -> None:
    """Replace what an ``ipywidgets.Output`` shows by ``obj`` (nothing to draw outside a Jupyter kernel)."""
    if not in_kernel():
        return
    from IPython.display import display

    output.clear_output(wait=True)
    with output:
        display(obj)


class View:
    """Base of the views: ``widget`` is the ipywidgets container; displaying the view shows it."""

    widget = None

    def _ipython_display_(self):
        from IPython.display import display

        display(self.widget)

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)


def jupyter_chart_available() -> bool:
    """Clickable charts need Altair's ``JupyterChart`` (anywidget) with the ``jupyter`` renderer active."""
    if importlib.util.find_spec("anywidget") is None:
        return False
    import altair as alt

    return alt.renderers.active == "jupyter"


class ChartBox:
    """Holds one Altair chart inside a widget layout and redraws it when it changes.

    Parameters
    ----------
    chart : altair chart
        What to draw first.
    mode : {"auto", "jupyter", "output"}
        ``"jupyter"``: an ``alt.JupyterChart`` (interactive, its selections reach Python);
        ``"output"``: an ``ipywidgets.Output`` that displays the chart with the active renderer
        (static SVG in a headless run); ``"auto"``: ``"jupyter"`` when the jupyter renderer is
        active and anywidget installed (see :func:`neuronbook.notebook_setup`), else ``"output"``.
    """

    def __init__(self, chart, mode: str = "auto"):
        if mode not in ("auto", "jupyter", "output"):
            raise ValueError(f"chart mode must be 'auto', 'jupyter' or 'output', got {mode!r}")
        if mode == "auto":
            mode = "jupyter" if jupyter_chart_available() else "output"
        self.mode = mode
        self._chart = chart
        if mode == "jupyter":
            import altair as alt

            self.widget = alt.JupyterChart(chart)
        else:
            self.widget = ipw().Output()
            show_in(self.widget, chart)

    @property
    def chart(self):
        """The chart drawn now."""
        return self._chart

    @chart.setter
    def chart(self, chart) -> None:
        self._chart = chart
        if self.mode == "jupyter":
            self.widget.chart = chart
        else:
            show_in(self.widget, chart)

    def on_select(self, name: str, callback) -> bool:
        """Call ``callback(list of point dicts)`` when the selection param ``name`` changes in the browser.

        Returns False (and does nothing) when the chart is not a ``JupyterChart``: clicks cannot reach
        Python then, and the view's pickers are the only way to choose.
        """
        if self.mode != "jupyter":
            return False

        def changed(change):
            value = getattr(change["new"], "value", None) or []
            callback(list(value))

        self.widget.selections.observe(changed, names=[name])
        return True
