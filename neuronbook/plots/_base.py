"""What every chart of :mod:`neuronbook.plots` shares: the colours, the limits and the input checks.

Nothing here is public API except what :mod:`neuronbook.plots` re-exports (:data:`MAX_ROWS`,
:data:`SELECTION_COLORS`): the module itself is private (``_base``), and its helpers (``require``,
``check_rows``, the colours) are for the chart modules of this package only.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import altair as alt
import numpy as np
import pandas as pd

#: One logger for the whole package (``neuronbook.plots``), as when it was a single module.
logger = logging.getLogger("neuronbook.plots")

#: Largest number of data rows any chart may carry (Altair's own default limit).
MAX_ROWS = 5000

#: Colour of each neuron selection, shared by every chart.
SELECTION_COLORS = {"top": "#1b9e77", "random": "#8c8c8c", "bottom": "#d95f02"}

MODEL_STATE_COLORS = {"pretrained": "#8c8c8c", "fine-tuned": "#7b3294"}
METHOD_DASH = {"retrain": [1, 0], "zero-out": [6, 3]}
NEGATIVE = (215, 48, 39)  # red
POSITIVE = (69, 117, 180)  # blue
LAYER_TITLE = "layer (0 = embeddings)"
DEPTH_TITLE = "relative depth (0 = embeddings, 1 = last layer)"
ACCENT = "#4c78a8"
LIGHT = "#c6d4e6"


# ----------------------------------------------------------------------------- checks


def require(df: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"{what} must be a pandas DataFrame, got {type(df).__name__}")
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ValueError(f"{what} lacks column(s) {missing}; it has {list(df.columns)}")


def check_rows(df: pd.DataFrame, what: str) -> pd.DataFrame:
    if len(df) > MAX_ROWS:
        raise ValueError(
            f"{what} has {len(df)} rows, more than the {MAX_ROWS} a chart may carry; "
            "aggregate it first (e.g. groupby and mean) or select fewer items"
        )
    if len(df) == 0:
        raise ValueError(f"{what} is empty: nothing to plot")
    return df


def check_layers(df: pd.DataFrame, what: str) -> pd.DataFrame:
    layers = pd.to_numeric(df["layer"], errors="coerce")
    bad = layers.isna() | (layers < 0) | (layers != np.round(layers))
    if bad.any():
        raise ValueError(
            f"{what}: column 'layer' must hold integers >= 0 (0 = embeddings); "
            f"row {df.index[bad.to_numpy()][0]!r} has {df['layer'][bad].iloc[0]!r}"
        )
    out = df.copy()
    out["layer"] = layers.astype(int)
    return out


def check_values(df: pd.DataFrame, column: str, allowed: Sequence[str], what: str) -> None:
    unknown = sorted(set(df[column].astype(str)) - set(allowed))
    if unknown:
        raise ValueError(f"{what}: column {column!r} has unknown value(s) {unknown}; expected {list(allowed)}")


def check_unique(df: pd.DataFrame, keys: Sequence[str], what: str, hint: str = "") -> None:
    dup = df.duplicated(list(keys), keep=False)
    if dup.any():
        first = df.loc[dup, list(keys)].iloc[0].to_dict()
        raise ValueError(f"{what} has several rows for {first}; one row per {list(keys)} is expected. {hint}".strip())


# ----------------------------------------------------------------------------- encodings


def layer_x(**kwargs) -> alt.X:
    return alt.X("layer:O", title=LAYER_TITLE, axis=alt.Axis(labelAngle=0), **kwargs)


def selection_color() -> alt.Color:
    return alt.Color(
        "selection:N",
        title="neurons",
        scale=alt.Scale(domain=list(SELECTION_COLORS), range=list(SELECTION_COLORS.values())),
        sort=list(SELECTION_COLORS),
    )


def rgb(color: tuple[int, int, int]) -> str:
    return "#{:02x}{:02x}{:02x}".format(*color)
