"""What a neuron fires on: coloured activation text (a chart or HTML) and its top words.

Activations use red for negative and blue for positive values, opacity by magnitude.
"""

from __future__ import annotations

import html
import unicodedata
from collections.abc import Sequence

import altair as alt
import numpy as np
import pandas as pd

from ._base import ACCENT, NEGATIVE, POSITIVE, check_rows, check_unique, require, rgb, logger

__all__ = ["activation_text_chart", "activation_html", "peak_sentences", "top_words", "top_words_chart"]


def _check_sentences(words: Sequence[Sequence[str]], values: Sequence[np.ndarray]) -> list[np.ndarray]:
    if len(words) != len(values):
        raise ValueError(f"got {len(words)} sentences of words but {len(values)} arrays of values")
    arrays = []
    for i, (sentence, vals) in enumerate(zip(words, values)):
        vals = np.asarray(vals, dtype=float)
        if vals.ndim != 1 or len(vals) != len(sentence):
            raise ValueError(f"sentence {i}: {len(sentence)} words but values of shape {vals.shape}")
        if not np.isfinite(vals).all():
            raise ValueError(f"sentence {i}: values contain NaN or inf at word {int(np.flatnonzero(~np.isfinite(vals))[0])}")
        arrays.append(vals)
    return arrays


def _max_abs(arrays: list[np.ndarray], max_abs: float | None) -> float:
    if max_abs is not None:
        if not max_abs > 0:
            raise ValueError(f"max_abs must be positive, got {max_abs}")
        return float(max_abs)
    peak = max((float(np.abs(a).max()) for a in arrays if len(a)), default=0.0)
    return peak if peak > 0 else 1.0  # all-zero activations: any scale shows them as blank


def _display_width(text: str) -> int:
    # East Asian wide characters take two monospace cells.
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def activation_text_chart(words: Sequence[Sequence[str]], values: Sequence[np.ndarray], title: str | None = None,
                          max_abs: float | None = None, max_chars: int = 90) -> alt.LayerChart:
    """Sentences as text, each word on a box coloured by one neuron's activation.

    Negative values are red, positive blue, with opacity ``|value| / max_abs``. Words are laid
    out left to right in a monospace font, one line per sentence (wrapped at ``max_chars``).

    Parameters
    ----------
    words : list of list of str
        The words of each sentence.
    values : list of 1-D arrays
        The neuron's activation for each word, same lengths as ``words``.
    title : str, optional
        Chart title.
    max_abs : float, optional
        Value that gets full opacity; default the largest ``|value|`` shown. Fix it to compare charts.
    max_chars : int
        Wrap a sentence longer than this many characters (words plus one space between them);
        a single longer word gets a line of its own.

    Examples
    --------
    >>> import numpy as np
    >>> chart = activation_text_chart([["the", "cat", "sat"]], [np.array([-1.0, 0.5, 2.0])])
    >>> [layer["mark"]["type"] for layer in chart.to_dict()["layer"]]
    ['rect', 'text']
    """
    arrays = _check_sentences(words, values)
    scale = _max_abs(arrays, max_abs)
    char_w, line_h, pad, gap = 7.8, 22.0, 3.0, 6.0  # px, for a 13 px monospace font
    if max_chars < 1:
        raise ValueError(f"max_chars must be >= 1, got {max_chars}")
    rows, y = [], 0.0
    for s, (sentence, vals) in enumerate(zip(words, arrays)):
        x, used = 0.0, 0  # used: characters on the current line, counting one space between words
        for w, (word, v) in enumerate(zip(sentence, vals)):
            n_chars = _display_width(str(word))
            width = n_chars * char_w + 2 * pad
            if used and used + 1 + n_chars > max_chars:
                x, used, y = 0.0, 0, y + line_h
            used += n_chars + (1 if used else 0)
            rows.append({"sentence": s, "position": w, "word": str(word), "value": float(v),
                         "sign": "negative" if v < 0 else "positive", "alpha": min(abs(float(v)) / scale, 1.0),
                         "x": x, "x2": x + width, "y": y + 2, "y2": y + line_h - 2, "ytext": y + line_h / 2})
            x += width + char_w / 2
        y += line_h + gap
    data = check_rows(pd.DataFrame(rows), "activation text (one row per word)")
    px = dict(scale=None, axis=None)
    tooltip = [alt.Tooltip("word:N"), alt.Tooltip("value:Q", format=".3f"), "sentence:O", "position:O"]
    base = alt.Chart(data)
    boxes = base.mark_rect(cornerRadius=2).encode(
        x=alt.X("x:Q", **px), x2="x2:Q", y=alt.Y("y:Q", **px), y2="y2:Q",
        color=alt.Color("sign:N", title=f"activation (full colour at |v| = {scale:.3g})",
                        scale=alt.Scale(domain=["negative", "positive"],
                                        range=[rgb(NEGATIVE), rgb(POSITIVE)])),
        opacity=alt.Opacity("alpha:Q", scale=None, legend=None),
        tooltip=tooltip)
    text = base.mark_text(align="left", baseline="middle", font="monospace", fontSize=13, dx=pad).encode(
        x=alt.X("x:Q", **px), y=alt.Y("ytext:Q", **px), text="word:N", tooltip=tooltip,
        color=alt.condition(alt.datum.alpha > 0.6, alt.value("white"), alt.value("black")))
    width = float(data["x2"].max()) + 4
    props = dict(width=width, height=y, view=alt.ViewBackground(strokeWidth=0))
    if title:
        props["title"] = title
    return alt.layer(boxes, text).properties(**props)


def activation_html(words: Sequence[Sequence[str]], values: Sequence[np.ndarray], max_abs: float | None = None,
                    baseline: float = 0.0) -> str:
    """The same coloured text as :func:`activation_text_chart`, as plain HTML with inline styles.

    Show it with ``IPython.display.HTML(activation_html(...))`` or in an ``ipywidgets.HTML``.
    Each word's activation is in its ``title`` (hover text). Colours show ``value - baseline``:
    pass the neuron's mean to colour by "above / below its mean" (what :func:`top_words`'s signed
    ``z`` means), 0 for the raw sign.

    Examples
    --------
    >>> import numpy as np
    >>> html_text = activation_html([["the", "<cat>"]], [np.array([-1.0, 2.0])])
    >>> "rgba(215, 48, 39, 0.500)" in html_text and "&lt;cat&gt;" in html_text
    True
    >>> "rgba(69, 117, 180, 0.000)" in activation_html([["a"]], [np.array([3.0])], baseline=3.0)
    True
    """
    arrays = _check_sentences(words, values)
    scale = _max_abs([a - baseline for a in arrays], max_abs)
    lines = []
    for sentence, vals in zip(words, arrays):
        spans = []
        for word, v in zip(sentence, vals):
            d = float(v) - baseline
            r, g, b = NEGATIVE if d < 0 else POSITIVE
            alpha = min(abs(d) / scale, 1.0)
            spans.append(f'<span title="{float(v):.4g}" style="background-color: rgba({r}, {g}, {b}, {alpha:.3f}); '
                         f'padding: 1px 3px; border-radius: 3px;">{html.escape(str(word))}</span>')
        lines.append(f'<div style="margin: 2px 0;">{" ".join(spans)}</div>')
    return '<div style="font-family: monospace; font-size: 13px; line-height: 1.9;">' + "".join(lines) + "</div>"


def peak_sentences(words: Sequence[Sequence[str]], values, n: int = 5) -> list[int]:
    """The ``n`` sentences where a neuron departs most from its mean (largest ``|value - mean|``), strongest first.

    ``values`` is the activation of every word, in the order of ``words`` flattened; ties keep the
    corpus order. What :class:`neuronbook.widgets.NeuronBrowser` and ``01_salient_neurons`` show.

    Parameters
    ----------
    words : sequence of sequences of str
        The sentences, as words.
    values : array of float
        One activation per word, sentences concatenated.
    n : int
        How many sentences to return.

    Returns
    -------
    list of int
        Sentence indices, strongest first.

    Examples
    --------
    >>> import numpy as np
    >>> peak_sentences([["a", "b"], ["c"], ["d", "e"]], np.array([0.0, 1.0, 5.0, 0.0, -3.0]), n=2)
    [1, 2]
    """
    values = np.asarray(values, dtype=np.float64)
    lengths = [len(s) for s in words]
    if sum(lengths) != len(values):
        raise ValueError(f"{len(values)} activations for {sum(lengths)} words")
    bounds = np.concatenate([[0], np.cumsum(lengths)]).astype(int)
    dev = np.abs(values - values.mean()) if len(values) else values
    peak = np.array([dev[a:b].max() if b > a else 0.0 for a, b in zip(bounds[:-1], bounds[1:])])
    return [int(i) for i in np.argsort(-peak, kind="stable")[: int(n)]]


def top_words(words: Sequence[Sequence[str]], values, k: int = 20, min_count: int = 1) -> pd.DataFrame:
    """The word types on which a neuron fires most strongly, by mean ``|z|``.

    ``z`` is the activation standardised over all the given words; each word type gets the mean
    of ``|z|`` over its occurrences (``mean_z``) and of the signed ``z`` (``mean_signed_z``, to
    tell positive from negative firing).

    Parameters
    ----------
    words : list of list of str
        The words of each sentence.
    values : 1-D array
        The neuron's activation for every word, in the order of ``words`` flattened.
    k : int
        How many word types to keep.
    min_count : int
        Skip word types seen fewer times than this.

    Returns
    -------
    DataFrame
        Columns ``rank`` (1 = strongest), ``word``, ``count``, ``mean_z``, ``mean_signed_z``,
        sorted by ``mean_z`` descending (ties: more frequent first, then alphabetical).

    Examples
    --------
    >>> import numpy as np
    >>> top_words([["a", "b"], ["a", "c"]], np.array([1.0, -1.0, 1.0, -1.0]), k=2)["word"].tolist()
    ['a', 'b']
    """
    flat = [str(w) for sentence in words for w in sentence]
    vals = np.asarray(values, dtype=float)
    if vals.ndim != 1 or len(vals) != len(flat):
        raise ValueError(f"values must be 1-D with one entry per word: {len(flat)} words, values of shape {vals.shape}")
    if not np.isfinite(vals).all():
        raise ValueError(f"values contain NaN or inf at word {int(np.flatnonzero(~np.isfinite(vals))[0])}")
    if k < 1 or min_count < 1:
        raise ValueError(f"k and min_count must be >= 1, got k={k}, min_count={min_count}")
    std = vals.std()
    if std == 0:
        logger.warning("the neuron's activation is constant over these %d words; every z is 0", len(vals))
        z = np.zeros_like(vals)
    else:
        z = (vals - vals.mean()) / std
    table = (pd.DataFrame({"word": flat, "abs_z": np.abs(z), "z": z})
             .groupby("word", sort=False)
             .agg(count=("z", "size"), mean_z=("abs_z", "mean"), mean_signed_z=("z", "mean"))
             .reset_index())
    table = table[table["count"] >= min_count]
    table = table.sort_values(["mean_z", "count", "word"], ascending=[False, False, True], kind="stable").head(k)
    table.insert(0, "rank", np.arange(1, len(table) + 1))
    return table.reset_index(drop=True)


def top_words_chart(df: pd.DataFrame, title: str | None = None) -> alt.Chart:
    """Horizontal bars of :func:`top_words`: mean ``|z|`` per word, coloured by firing sign.

    Parameters
    ----------
    df : DataFrame
        Columns ``word``, ``count``, ``mean_z`` and optionally ``mean_signed_z``.
    title : str, optional
        Chart title (e.g. the neuron's name).

    Examples
    --------
    >>> import numpy as np
    >>> df = top_words([["a", "b"], ["a", "c"]], np.array([1.0, -1.0, 1.0, -3.0]))
    >>> top_words_chart(df).to_dict()["mark"]["type"]
    'bar'
    """
    what = "top words"
    require(df, ["word", "count", "mean_z"], what)
    signed = "mean_signed_z" in df.columns
    data = df[["word", "count", "mean_z"] + (["mean_signed_z"] if signed else [])].reset_index(drop=True)
    check_unique(data, ["word"], what)
    check_rows(data, what)
    encoding = dict(
        y=alt.Y("word:N", title=None, sort=alt.EncodingSortField("mean_z", order="descending")),
        x=alt.X("mean_z:Q", title="mean |z| of activation"),
        tooltip=["word:N", "count:Q", alt.Tooltip("mean_z:Q", format=".2f")]
        + ([alt.Tooltip("mean_signed_z:Q", format=".2f")] if signed else []),
    )
    if signed:
        encoding["color"] = alt.Color(
            "direction:N", title="fires",
            scale=alt.Scale(domain=["negative", "positive"], range=[rgb(NEGATIVE), rgb(POSITIVE)]))
        chart = alt.Chart(data).transform_calculate(
            direction="datum.mean_signed_z < 0 ? 'negative' : 'positive'").mark_bar().encode(**encoding)
    else:
        chart = alt.Chart(data).mark_bar(color=ACCENT).encode(**encoding)
    return chart.properties(width=280, height=max(60, 16 * len(data)), title=title or "Top words")
