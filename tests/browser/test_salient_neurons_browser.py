"""01_salient_neurons in JupyterLab (chromium): Run All, move the percent slider, pick another neuron.

The notebook opens a small saved LCA result (``result_dir``, the Binder path) computed here on
``tiny-random`` and a toy CoNLL-U corpus, with a private cache that the Lab server shares so the neuron
browser finds the activation store. The assertions read what the page shows: the widgets' text and the
SVG marks that Vega drew (the ``jupyter`` renderer, SVG), before and after each interaction.
"""

from __future__ import annotations

import re
from contextlib import contextmanager
from pathlib import Path

import pytest
from labdriver import LabServer

REPO = Path(__file__).resolve().parents[2]
NOTEBOOK = "01_salient_neurons.ipynb"

# Four-word sentences, DET NOUN VERB PUNCT: four UPOS tags a random tiny model separates easily.
CONLLU = """# sent_id = {i}
1\tthe\tthe\tDET\tDT\t_\t2\tdet\t_\t_
2\t{noun}\t{noun}\tNOUN\tNN\t_\t3\tnsubj\t_\t_
3\t{verb}\t{verb}\tVERB\tVBD\t_\t0\troot\t_\t_
4\t.\t.\tPUNCT\t.\t_\t3\tpunct\t_\t_

"""


def write_corpus(path: Path, n: int, seed: int) -> Path:
    import numpy as np

    rng = np.random.default_rng(seed)
    nouns, verbs = ["cat", "dog", "house", "mat"], ["sat", "ran", "walked", "talked"]
    path.write_text("".join(CONLLU.format(i=i, noun=rng.choice(nouns), verb=rng.choice(verbs)) for i in range(n)))
    return path


def with_parameters(source: Path, dest: Path, **values) -> Path:
    """Copy a notebook, setting names of its ``parameters`` cell (each must be assigned there exactly once)."""
    import nbformat

    nb = nbformat.read(source, as_version=4)
    (cell,) = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    lines = cell.source.splitlines()
    for name, value in values.items():
        hits = [i for i, line in enumerate(lines) if re.match(rf"{re.escape(name)}\s*=", line)]
        assert len(hits) == 1, f"parameter {name!r} is assigned {len(hits)} times in {source.name}"
        lines[hits[0]] = f"{name} = {value!r}"
    cell.source = "\n".join(lines)
    nbformat.write(nb, dest)
    return dest


@pytest.fixture(scope="module")
def salient(tmp_path_factory):
    """A Lab server whose root holds 01_salient_neurons opening a saved tiny-random result; its cache is ours."""
    from neuronbook.lca import run_lca

    work = tmp_path_factory.mktemp("salient")
    env = {"NEURONBOOK_CACHE": str(work / "cache"), "HF_HUB_OFFLINE": "1", "NEURONBOOK_OFFLINE": "1",
           "NEURONBOOK_HEADLESS": "0"}  # a live Lab kernel: notebook_setup("auto") picks the jupyter renderer
    with pytest.MonkeyPatch.context() as mp:
        for name, value in env.items():
            mp.setenv(name, value)
        train, test = write_corpus(work / "train.conllu", 60, 0), write_corpus(work / "test.conllu", 30, 1)
        result = run_lca(model="tiny-random", data="toy", train=str(train), test=str(test), task="upos", l1=0.001,
                         # the ablation at every size the minimal set can land on (the grid and its fine steps)
                         percents=[5, 10, 25, 50], ablation_percents=[5, 10, 25, 30, 35, 40, 45, 50], control=False,
                         epochs=10,
                         progress=False)
        result.save(work / "result")
        store = result.open_store("test")  # the store is in the cache the kernel will read (ours, not the caller's)
    root = work / "root"
    root.mkdir()
    with_parameters(REPO / "notebooks" / NOTEBOOK, root / NOTEBOOK, result_dir=str(work / "result"),
                    interactive=True, output_dir=None, renderer="auto")
    server = LabServer.start(root, work, env=env)
    yield server, result, store
    server.stop()


# The data marks of one vega-embed view as attribute strings (no layout needed), keyed by mark type and
# Vega's mark name ("mark-symbol layer_2_marks": layer 2 of an Altair layer chart); axes and grid excluded.
MARKS_JS = """(view) => {
    const svg = view.querySelector('svg');
    if (!svg) return null;
    const out = {};
    for (const g of svg.querySelectorAll('g.role-mark')) {
        const key = [...g.classList].filter(c => c !== 'role-mark').join(' ');
        const items = [...g.children].map(e => ['transform', 'd', 'x2', 'y2', 'fill']
            .map(a => e.getAttribute(a) || '').join('|'));
        (out[key] = out[key] || []).push(...items);
    }
    return out;
}"""


def marks(view) -> dict:
    view.locator("svg").first.wait_for()
    return view.evaluate(MARKS_JS)


def wait_marks_change(page, view, before: dict, timeout: float = 30.0) -> dict:
    """The view's marks once they differ from ``before`` (Vega redraws after the kernel answers)."""
    page.wait_for_function(f"([v, before]) => JSON.stringify(({MARKS_JS})(v)) !== JSON.stringify(before)",
                           arg=[view.element_handle(), before], timeout=timeout * 1000)
    return marks(view)


def spans(cell) -> list[tuple[str, str]]:
    """(word, value shown on hover) of every coloured word in a cell's outputs."""
    return [tuple(x) for x in cell.locator(".widget-html span[title]").evaluate_all(
        "spans => spans.map(s => [s.textContent, s.title])")]


def activation_titles(store, layer: int, neuron: int) -> set[str]:
    """Every value the coloured text can show for a neuron, formatted as its hover title."""
    values = store.activations(layers=[layer], neurons=[neuron], sentences=range(store.n_sentences))[:, 0]
    return {f"{float(v):.4g}" for v in values}


@contextmanager
def diagnosed(nb, console: list):
    """On a failure, save a screenshot and print the browser console's errors (pytest shows them)."""
    try:
        yield
    except BaseException:
        print(f"screenshot: {nb.screenshot('failure')}\nbrowser console:\n" + "\n".join(console[-30:]))
        raise


def test_percent_slider_and_neuron_picker_redraw_text_and_charts(salient, page):
    lab, result, store = salient
    head = result.ranking.sort_values("rank").head(2)
    (l1, n1), (l2, n2) = zip(head["layer"].astype(int), head["neuron"].astype(int))
    top_test = result.curve.query("selection == 'top' and split == 'test'").set_index("n_neurons")["accuracy"]

    page.set_viewport_size({"width": 1280, "height": 1600})  # both views in one screenshot
    console = []
    page.on("console", lambda m: console.append(f"{m.type}: {m.text}") if m.type in ("error", "warning") else None)
    nb = lab.open(page, NOTEBOOK, artifacts_prefix="salient", timeout=120)
    with diagnosed(nb, console):
        drive(nb, page, result, store, (l1, n1), (l2, n2), top_test)


def drive(nb, page, result, store, first, second, top_test):
    """Run All, check both views, move the slider, pick the second neuron; screenshots on the way."""
    from playwright.sync_api import expect

    (l1, n1), (l2, n2) = first, second
    nb.run_all(timeout=240)
    acc_cell = nb.panel.locator(".jp-CodeCell", has_text="AccuracyCurveView(result)")
    browser_cell = nb.panel.locator(".jp-CodeCell", has_text="NeuronBrowser(result")

    def screenshot(name):
        acc_cell.evaluate("cell => cell.scrollIntoView({block: 'start'})")
        return nb.screenshot(name)

    # --- the accuracy view at its start, the minimal set (where top, random and bottom were all measured)
    note = acc_cell.locator(".widget-html", has_text="of the neurons")
    acc_chart = acc_cell.locator(".vega-embed").first
    # every cell ran (run_all returned on an idle kernel), then the widget manager drew the views
    expect(browser_cell.locator(".jp-InputPrompt")).to_have_text(re.compile(r"\[\d+\]"), timeout=120_000)
    acc_cell.scroll_into_view_if_needed()
    note.wait_for(timeout=60_000)
    text0, marks0 = note.inner_text(), marks(acc_chart)
    ms = result.minimal_set.iloc[0]
    assert re.match(rf"With {ms['percent']:g}% of the neurons \({int(ms['n_neurons'])}\) \(the minimal set\), test "
                    rf"accuracy: top \d\.\d{{3}}, random \d\.\d{{3}}, bottom \d\.\d{{3}}", text0), text0
    # the layers: 0 the curve (lines, points, oracle rule, its label), 1 the percent rule, 2 the marked points
    rule, points = "mark-rule layer_1_marks", "mark-symbol layer_2_marks"
    assert len(marks0[rule]) == 1 and len(marks0[points]) == 3, marks0  # top, random, bottom

    # --- the neuron browser on the top-ranked neuron
    weights = browser_cell.locator(".vega-embed", has_text="weight per tag").first
    expect(weights.locator("text", has_text=f"L{l1} N{n1}: weight per tag")).to_have_count(1)
    words0, weights0 = spans(browser_cell), marks(weights)
    assert len(words0) >= 4 * 5  # n_sentences = 5 sentences of 4 words
    assert {title for _, title in words0} <= activation_titles(store, l1, n1)
    assert len(weights0["mark-rect marks"]) == len(result.tags) == 4  # one bar per UPOS tag
    screenshot("before")

    # --- move the percent slider down with the keyboard, from the minimal set's percent to 10% (10 of 96 neurons)
    from neuronbook.widgets.controls import measured_percents, minimal_percent, nearest

    percents = measured_percents(result, "test", "retrain")
    start = nearest(percents, minimal_percent(result))
    assert start > 10, percents  # the chart check below needs the rule to move left
    handle = acc_cell.locator(".widget-slider .noUi-handle").first
    handle.focus()
    for _ in range(percents.index(start) - percents.index(10.0)):
        handle.press("ArrowLeft")
    # each key press is a round trip to the kernel: wait for the last one's answer
    expect(acc_cell.locator(".widget-readout").first).to_have_text("10%", timeout=30_000)
    expect(note).to_have_text(re.compile(rf"^With 10% of the neurons \(10\), test accuracy: top "
                                         rf"{top_test[10]:.3f}, random "), timeout=30_000)
    assert note.inner_text() != text0
    marks1 = wait_marks_change(page, acc_chart, marks0)
    assert len(marks1[rule]) == 1 and marks1[rule] != marks0[rule], "the percent rule did not move"
    x0, x1 = (float(re.match(r"translate\(([-\d.e]+),", m[rule][0]).group(1)) for m in (marks0, marks1))
    assert x1 < x0 * (10 / start + 0.05), (x0, x1, start)  # x is proportional to the percent (the axis starts at 0)
    assert len(marks1[points]) == 3 and marks1[points] != marks0[points], marks1  # top, random, bottom at 10%
    curve = [k for k in marks0 if "layer_0" in k]
    assert curve and all(marks1[k] == marks0[k] for k in curve)  # the curve itself stays
    screenshot("slider")

    # --- pick the second-ranked neuron in the top-neurons dropdown
    browser_cell.locator(".widget-dropdown", has_text="top neurons").locator("select").select_option(index=2)
    expect(weights.locator("text", has_text=f"L{l2} N{n2}: weight per tag")).to_have_count(1, timeout=30_000)
    expect(browser_cell.locator(".widget-text input").first).to_have_value(str(n2))  # the neuron field follows
    page.wait_for_function(
        "([cell, before]) => [...cell.querySelectorAll('.widget-html span[title]')]"
        ".map(s => s.title).join() !== before",
        arg=[browser_cell.element_handle(), ",".join(t for _, t in words0)], timeout=30_000)
    words1, weights1 = spans(browser_cell), wait_marks_change(page, weights, weights0)
    assert words1 != words0 and len(words1) >= 4 * 5
    assert {title for _, title in words1} <= activation_titles(store, l2, n2)
    bars0, bars1 = weights0["mark-rect marks"], weights1["mark-rect marks"]
    assert len(bars1) == 4 and bars1 != bars0, (bars0, bars1)
    negative = int((result.neuron_weights(l2, n2)["weight"] < 0).sum())
    assert sum(b.endswith("|#d73027") for b in bars1) == negative  # red bars: the negative weights
    screenshot("after")
