"""neuronbook.notebooks: the report's error column and its narrow terminal view, and run_row."""

from __future__ import annotations

import json
import math

import pandas as pd

from notebook_checks import fake_sweep
from neuronbook.cli import main
from neuronbook.notebooks import error_summary, report, report_view, run_row

ERROR = ("/x/00_quickstart.ipynb: 1 error(s); executed notebook saved as /x/00_quickstart.ipynb\n"
         "  cell 4 [result = nb.run_lca(config)]: ValueError: task 'xpos' reads column 'xpos', which pmb:en does not have")
METRICS = {"l1": 0.001, "oracle test accuracy": 0.9224, "minimal set neurons": 430, "minimal set %": 16.0,
           "retrain top - random at 10%": 0.0174, "zero-out top - random at 10%": 0.1552, "wall time (s)": 29.1,
           "selectivity (all, 2688 neurons)": 0.29}


def _sweep(tmp_path):
    out = tmp_path / "sweep"
    fake_sweep(out, {"a": METRICS, "b": {}})
    (out / "mode=b" / "status.json").write_text(json.dumps({"status": "failed", "error": ERROR}))
    return out


def test_report_has_an_error_column(tmp_path):
    table, _ = report(_sweep(tmp_path))
    assert table.columns[:4].tolist() == ["mode", "cell", "status", "error"]
    assert table["status"].tolist() == ["ok", "failed"]
    assert pd.isna(table["error"].iloc[0]) and table["error"].iloc[1] == ERROR  # the whole text, for report.csv
    assert math.isnan(table.loc[1, "oracle test accuracy"])
    assert error_summary(ERROR, 200) == "cell 4: ValueError: task 'xpos' reads column 'xpos', which pmb:en does not have"


def test_the_terminal_view_is_narrow_and_all_columns_is_everything(tmp_path, capsys):
    out = _sweep(tmp_path)
    assert main(["report", str(out), "--quiet"]) == 0
    printed = capsys.readouterr().out
    lines = printed.splitlines()
    assert lines[0].split() == ["mode", "status", "error", "oracle", "min", "set", "min", "set", "%", "retrain",
                                "top-random", "10%"]
    assert lines[1].split()[:2] == ["a", "ok"] and lines[1].split()[-4:] == ["0.9224", "430", "16", "0.0174"]
    assert lines[2].startswith("b     failed  cell 4: ValueError: task 'xpos' reads colu...")
    assert max(len(line) for line in lines[:3]) <= 112  # 9 metrics and a long error do not wrap into noise
    assert "1 of 2 cells ok; 4 more columns: l1, zero-out top - random at 10%, wall time (s), ... (1 more)" in printed
    assert main(["report", str(out), "--all-columns", "--quiet"]) == 0
    wide = capsys.readouterr().out
    assert "selectivity (all, 2688 neurons)" in wide and "which pmb:en does not have" in wide


def test_report_view_names_an_unreadable_file(tmp_path):
    out = _sweep(tmp_path)
    (out / "mode=a" / "headline.json").write_text("{not json")
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        table, _ = report(out)
    text = report_view(table)
    assert "unreadable: " in text and "headline.json" in text and "0 of 2 cells ok" in text


def test_run_row():
    from tiny import small_result

    r = small_result()
    row = run_row(r, "toy", task="upos")
    assert list(row)[:3] == ["task", "model", "n_layers"]
    assert (row["model"], row["neurons"], row["l1"], row["l2"], row["searched"]) == ("toy", 6, 1e-3, 1e-3, False)
    assert row["oracle test accuracy"] == r.headline_dict()["oracle test accuracy"]
    assert row["minimal set reached"] == r.minimal_set_reached
    assert run_row(r)["model"] == r.config.model
