"""What a notebook page shows first: a result's key figures, its caveats, a failure in one line.

* :func:`result_html` -- a compact headline (about five figures with their intervals) as a small
  table, a minimal set that was never reached said as such, the full headline and the layer table
  behind disclosures, and the caveats box (:mod:`neuronbook.caveats`) under it.
* :func:`error_html` -- an exception as one line (kind and message) with the traceback behind a toggle.
* :class:`Card` -- any of these as an object a notebook displays (``_repr_html_``) and a terminal prints.

Examples
--------
>>> from neuronbook.lca.result import toy_result
>>> "<details" in result_html(toy_result())
True
>>> print(error_html(ValueError("no column 'xpos'"), traceback=False))
<div class="nb-error" style="color:#b00020"><b>failed:</b> ValueError: no column &#x27;xpos&#x27;</div>
"""

from __future__ import annotations

import html
import math
import traceback as _tb

__all__ = ["Card", "format_figure", "result_html", "error_html", "headline_card", "skipped", "unreached", "glossary_card",
           "with_meaning"]

_TABLE = ('style="border-collapse:collapse;font-size:92%;text-align:left;margin:2px 0"')
_CELL = 'style="padding:1px 10px 1px 0;text-align:left;vertical-align:top"'
_NUM = 'style="padding:1px 10px 1px 0;text-align:right;font-variant-numeric:tabular-nums;vertical-align:top"'


class Card:
    """An HTML block for a notebook (``_repr_html_``) with a plain-text form (``str``)."""

    def __init__(self, html_text: str, text: str = ""):
        self.html, self.text = html_text, text

    def _repr_html_(self) -> str:
        return self.html or "<span></span>"  # an empty card shows nothing

    def __str__(self) -> str:
        return self.text or self.html

    def __repr__(self) -> str:
        return self.text or f"Card({len(self.html)} characters of HTML)"


def _nan(x) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x))


def format_figure(figure: str, value) -> str:
    """A key figure as text: counts as integers, shares with one decimal, differences signed, accuracies 4 places.

    >>> format_figure("minimal set neurons", 430.0), format_figure("retrain top - random at 10 %", 0.0174)
    ('430', '+0.017')
    """
    if _nan(value):
        return "–"
    value = float(value)
    if "neurons" in figure:
        return f"{value:,.0f}"
    if "%" in figure and "top - " not in figure:
        return f"{value:.1f}"
    if " - " in figure:
        return f"{value:+.3f}"
    return f"{value:.4f}"


def _interval(row) -> str:
    if _nan(row["low"]) or _nan(row["high"]):
        return ""
    return f"[{format_figure(row['figure'], row['low'])}, {format_figure(row['figure'], row['high'])}]"


def _frame_html(frame, max_rows: int = 200) -> str:
    """A DataFrame as a small left-aligned HTML table (numbers right-aligned, 4 significant places)."""
    head = "".join(f"<th {_CELL}>{html.escape(str(c))}</th>" for c in frame.columns)
    body = []
    for row in frame.head(max_rows).itertuples(index=False):
        cells = []
        for v in row:
            if isinstance(v, float):
                cells.append(f"<td {_NUM}>{'–' if math.isnan(v) else f'{v:.4g}'}</td>")
            elif isinstance(v, (int,)) and not isinstance(v, bool):
                cells.append(f"<td {_NUM}>{v}</td>")
            else:
                cells.append(f"<td {_CELL}>{html.escape(str(v))}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    more = f"<p style='color:#777'>{len(frame) - max_rows} more rows</p>" if len(frame) > max_rows else ""
    return f"<table {_TABLE}><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>{more}"


def result_html(result, caveats=None) -> str:
    """A result's page head: its key figures with intervals, the full tables behind disclosures, its caveats.

    Parameters
    ----------
    result : LCAResult
    caveats : Caveats, optional
        Shown as a compact box under the figures (:func:`neuronbook.caveats.collect_caveats`).
    """
    c, i = result.config, result.info
    figures = result.key_figures()
    head = (f"<div><b>LCA</b> {html.escape(str(c.model))} &middot; {html.escape(str(c.data))} &middot; "
            f"<b>{html.escape(str(c.task))}</b> &nbsp;<span style='color:#666'>{i.get('n_train', '?')} train / "
            f"{i.get('n_dev', '?')} dev / {i.get('n_test', '?')} test words, {len(result.neurons):,} neurons, "
            f"{len(result.classes)} tags" + (" &middot; loaded from the cache" if result.from_cache else "")
            + "</span></div>")
    if result.approximation:
        head += (f"<div style='color:#8a6d00'><b>approximate model:</b> {html.escape(result.approximation)}</div>")
    rows = []
    for _, r in figures.iterrows():
        if _nan(r["value"]) and r["note"].startswith("not reached"):
            value = '<i style="color:#999">not reached</i>'
        else:
            value = html.escape(format_figure(r["figure"], r["value"]))
        interval = html.escape(_interval(r))
        what = html.escape(r["interval"] or r["note"])
        rows.append(f"<tr><td {_CELL}>{html.escape(r['figure'])}</td><td {_NUM}><b>{value}</b></td>"
                    f"<td {_NUM}>{interval}</td><td {_CELL}><span style='color:#777'>{what}</span></td></tr>")
    table = f"<table {_TABLE}><tbody>{''.join(rows)}</tbody></table>"
    full = result.headline()
    details = (f"<details><summary>all {len(full)} figures</summary>{_frame_html(full)}</details>")
    if result.minimal_set_reached and len(result.layer_distribution):
        ld = result.layer_distribution[["layer", "count", "share"]]
        details += f"<details><summary>minimal set by layer</summary>{_frame_html(ld)}</details>"
    box = caveats._repr_html_() if caveats is not None else ""
    return f'<div class="nb-result">{head}{table}{details}{box}</div>'


def headline_card(result, caveats=None) -> Card:
    """:func:`result_html` as a :class:`Card` (its text form: the key figures and the caveats)."""
    figures = result.key_figures()
    lines = [f"LCA  model={result.config.model}  data={result.config.data}  task={result.config.task}"]
    for _, r in figures.iterrows():
        value = "not reached" if _nan(r["value"]) and r["note"].startswith("not reached") \
            else format_figure(r["figure"], r["value"])
        lines.append(f"  {r['figure']:<32} {value:>10} {_interval(r):<20} {r['interval'] or r['note']}")
    if caveats is not None and len(caveats):
        lines.append(caveats.text())
    return Card(result_html(result, caveats), "\n".join(lines))


def error_html(error: BaseException, traceback: bool = True) -> str:
    """An exception as one line (kind: message) in red, with its traceback behind a toggle."""
    line = f"{type(error).__name__}: {error}".splitlines()[0] if str(error) else type(error).__name__
    out = f'<div class="nb-error" style="color:#b00020"><b>failed:</b> {html.escape(line)}</div>'
    if traceback:
        text = "".join(_tb.format_exception(type(error), error, error.__traceback__))
        out += (f'<details class="nb-traceback"><summary>traceback</summary>'
                f'<pre style="font-size:85%;white-space:pre-wrap">{html.escape(text)}</pre></details>')
    return out


def _unreached_note(result) -> str:
    rows = result.key_figures()
    notes = rows.loc[rows["note"].str.startswith("not reached"), "note"]
    return notes.iloc[0] if len(notes) else "no minimal set"


def skipped(what: str, why: str) -> Card:
    """A greyed line in place of a chart or comparison that cannot be drawn, saying why.

    >>> str(skipped("layer distribution", "minimal set not reached"))
    'skipped: layer distribution (minimal set not reached)'
    """
    return Card(f'<div class="nb-skipped" style="color:#888;border:1px dashed #ccc;padding:6px 10px;margin:4px 0">'
                f'<b>skipped:</b> {html.escape(what)} &mdash; {html.escape(why)}</div>', f"skipped: {what} ({why})")


def unreached(results, what: str = "the comparisons below") -> Card:
    """One line naming the runs whose minimal set was not reached (left out of ``what``); empty when none.

    ``results``: a dict label -> LCAResult, or of dicts (e.g. model -> task -> result), flattened with
    ``" / "``.
    """
    flat = {}
    for label, value in results.items():
        if isinstance(value, dict):
            flat.update({f"{label} / {k}": v for k, v in value.items()})
        else:
            flat[label] = value
    missing = {label: r for label, r in flat.items() if not r.minimal_set_reached}
    if not missing:
        return Card("", "")
    items = "".join(f"<li><b>{html.escape(str(label))}</b>: {html.escape(_unreached_note(r))}</li>"
                    for label, r in missing.items())
    return Card(f'<div class="nb-skipped" style="color:#666;border-left:4px solid #bbb;padding:4px 10px;margin:4px 0">'
                f'<b>minimal set not reached</b> in {len(missing)} of {len(flat)} runs: left out of {html.escape(what)} '
                f'(a full set is not a finding; more sentences or a larger <code>percents</code> may reach it)'
                f'<ul style="margin:2px 0 2px 1em;padding:0">{items}</ul></div>',
                f"minimal set not reached: {', '.join(map(str, missing))}")


def glossary_card(task: str, tags=None) -> Card:
    """What the tag codes of ``task`` mean (PMB semantic tags, UPOS, UD relations), behind a disclosure.

    ``tags``: only these (in this order; default every code of the glossary). Empty for a task without
    a glossary (``xpos``: its tags differ per treebank).

    >>> str(glossary_card("sem", ["YOC", "QUC"]))
    'YOC: year of century (1984); QUC: concrete quantity (two, 5 kg)'
    >>> str(glossary_card("xpos"))
    ''
    """
    from .corpus.glossary import explain, glossary

    if tags is None:
        tags = glossary(task)["tag"].tolist()
    pairs = [(str(t), explain(t, task)) for t in tags]
    pairs = [(t, m) for t, m in pairs if m]
    if not pairs:
        return Card("", "")
    rows = "".join(f"<tr><td {_CELL}><code>{html.escape(t)}</code></td><td {_CELL}>{html.escape(m)}</td></tr>"
                   for t, m in pairs)
    return Card(f"<details class='nb-glossary'><summary>what the {html.escape(task)} tags mean ({len(pairs)})</summary>"
                f"<table {_TABLE}><tbody>{rows}</tbody></table></details>",
                "; ".join(f"{t}: {m}" for t, m in pairs))


def with_meaning(frame, task: str, column: str = "tag"):
    """``frame`` with a ``meaning`` column: what each code of ``column`` means (:mod:`neuronbook.corpus.glossary`).

    >>> import pandas as pd
    >>> with_meaning(pd.DataFrame({"tag": ["YOC"]}), "sem")["meaning"].tolist()
    ['year of century (1984)']
    """
    from .corpus.glossary import with_meaning as _with_meaning

    return _with_meaning(frame, task, column)
