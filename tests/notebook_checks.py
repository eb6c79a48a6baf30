"""Shared pieces of the notebook tests: tiny corpora, tiny parameter sets and the checks of a run's outputs.

Importable as ``notebook_checks`` from any test (``tests`` is on the pytest pythonpath).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import nbformat
import numpy as np
import pandas as pd

from neuronbook.notebooks import notebook_errors

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
NAMES = ["00_quickstart", "01_salient_neurons", "02_localization", "03_redundancy", "04_finetuning",
         "05_architectures", "06_languages", "07_rankers", "08_interventions"]
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"

# Sentence templates: one slot per word, each slot a list of (form, upos, xpos) to draw from.
DET = [("the", "DET", "DT"), ("a", "DET", "DT")]
ADJ = [("big", "ADJ", "JJ"), ("red", "ADJ", "JJ")]
NOUN = [("cat", "NOUN", "NN"), ("dog", "NOUN", "NN"), ("mat", "NOUN", "NN"), ("house", "NOUN", "NN")]
VERB = [("sat", "VERB", "VBD"), ("ran", "VERB", "VBD"), ("walked", "VERB", "VBD"), ("talked", "VERB", "VBD")]
ADP = [("on", "ADP", "IN"), ("in", "ADP", "IN")]
PUNCT = [(".", "PUNCT", ".")]
#: "the big cat sat on a mat ." -- the six xpos DT JJ NN VBD IN . (upos: DET ADJ NOUN VERB ADP PUNCT)
LONG = [DET, ADJ, NOUN, VERB, ADP, DET, NOUN, PUNCT]
#: "the cat sat big ." -- upos DET NOUN VERB ADJ PUNCT (no ADP: a tag only LONG has)
SHORT = [DET, NOUN, VERB, ADJ, PUNCT]


def conllu(n_sentences: int, seed: int, template: list) -> str:
    """``n_sentences`` seeded sentences of ``template`` as CoNLL-U (word 1 is the root, the others hang on it)."""
    rng = np.random.default_rng(seed)
    lines = []
    for s in range(n_sentences):
        lines.append(f"# sent_id = {s}")
        for i, slot in enumerate(template, 1):
            form, upos, xpos = slot[int(rng.integers(len(slot)))]
            head, rel = (0, "root") if i == 1 else (1, "dep")
            lines.append(f"{i}\t{form}\t{form}\t{upos}\t{xpos}\t_\t{head}\t{rel}\t_\t_")
        lines.append("")
    return "\n".join(lines) + "\n"


def write_conllu(path: Path, n_sentences: int, seed: int, template: list) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(conllu(n_sentences, seed, template))
    return str(path)


@dataclass(frozen=True)
class Workspace:
    """The files every notebook run shares: a named treebank, a pair of corpus files and a cache."""

    root: Path
    data_dir: str  #: holds ud/xx_toy (dev, test): the LONG sentences, named "ud:xx_toy"
    train: str  #: SHORT sentences, given to the notebooks as files (data "toy")
    test: str
    cache: str

    @property
    def treebank(self) -> dict:
        """Parameters that read the named treebank ud:xx_toy."""
        return {"data": "ud:xx_toy", "data_dir": self.data_dir}

    @property
    def files(self) -> dict:
        """Parameters that read the corpus files (the data_dir still resolves ud:xx_toy)."""
        return {"data": "toy", "train": self.train, "test": self.test, "data_dir": self.data_dir}


def make_workspace(root: Path) -> Workspace:
    data = root / "data"
    write_conllu(data / "ud" / "xx_toy" / "xx_toy-ud-dev.conllu", 40, 0, LONG)
    write_conllu(data / "ud" / "xx_toy" / "xx_toy-ud-test.conllu", 20, 1, LONG)
    return Workspace(root=root, data_dir=str(data), train=write_conllu(root / "en" / "train.conllu", 50, 2, SHORT),
                     test=write_conllu(root / "en" / "test.conllu", 30, 3, SHORT), cache=str(root / "cache"))


#: A run in seconds: 30 sentences per split, 2 epochs, two minimal-set sizes, no control task.
TINY = {"max_sentences": 30, "epochs": 2, "percents": [10, 50], "control": False, "renderer": "auto"}
#: The fixed penalties of the single-model notebooks (00-03, 07).
PENALTIES = {"l1": 1e-3, "l2": 1e-3}


# ------------------------------------------------------------------------------------ output checks

def check_charts(out: Path, names: list[str]) -> None:
    """Each chart is saved as offline HTML (no script from the web) and as a PNG."""
    for name in names:
        text = (out / f"{name}.html").read_text()
        assert not re.search(r"<script[^>]*src=[\"']?https?://", text), f"{name}.html loads a script from the web"
        assert "cdn.jsdelivr" not in text and "vegaEmbed" in text, name
        assert (out / f"{name}.png").stat().st_size > 1000, name


def check_tables(out: Path, names: list[str]) -> None:
    for name in names:
        assert len(pd.read_csv(out / f"{name}.csv")), f"{name}.csv is empty"


def check_views(executed: Path, interactive: bool) -> None:
    """The widget views appear in the ``if interactive:`` cells, in every one of them, and only when asked for.

    Other cells may show widgets of libraries (progress bars): they do not count.
    """
    book = nbformat.read(executed, as_version=4)
    cells = [c for c in book.cells if c.cell_type == "code" and c.source.startswith("if interactive:")]
    shown = [any(WIDGET_VIEW in o.get("data", {}) for o in c.get("outputs", [])) for c in cells]
    assert cells and shown == [interactive] * len(cells), f"{executed.name}: views shown {shown}"
    if interactive:
        assert book.metadata["widgets"][WIDGET_STATE]["state"]


def check_run(out: Path, executed: Path, interactive: bool, charts=(), tables=()) -> dict:
    """The checks every run gets (no error, numeric headline, offline charts, non-empty tables, views iff
    interactive); returns headline.json."""
    assert notebook_errors(executed) == []  # run_notebook checked it too: cells and saved widget state
    headline = json.loads((out / "headline.json").read_text())
    assert headline and all(isinstance(v, (int, float)) or v is None for v in headline.values()), headline
    check_charts(out, list(charts))
    check_tables(out, list(tables))
    check_views(executed, interactive)
    return headline


def fake_sweep(out: Path, cells: dict[str, dict]) -> None:
    """A sweep folder written by hand: sweep.json, and per cell a status and a headline."""
    out.mkdir()
    (out / "sweep.json").write_text(json.dumps({"notebook": "nb.ipynb", "parameters": {},
                                                "grid": {"mode": list(cells)}}))
    for mode, headline in cells.items():
        (out / f"mode={mode}").mkdir()
        (out / f"mode={mode}" / "status.json").write_text('{"status": "ok"}')
        (out / f"mode={mode}" / "headline.json").write_text(json.dumps(headline))
