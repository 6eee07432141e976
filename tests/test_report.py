"""`smppkit analyze`: tables, plots, the doctor's findings and an HTML page."""

from __future__ import annotations

import json

import pandas as pd

from smppkit import cli, datasets, report


def test_analyze_writes_tables_plots_and_html(tmp_path) -> None:
    result = report.analyze(datasets.path("throttled"), tmp_path)
    events = pd.read_csv(result.tables["events"])
    assert {"instance", "command", "command_status", "events"} <= set(events.columns)
    assert events.loc[events["command"] == "submit_sm_resp", "events"].sum() > 0
    for path in [*result.tables.values(), *result.plots.values()]:
        assert path.exists() and path.stat().st_size > 0
    for png in result.plots.values():
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    page = result.html.read_text(encoding="utf-8")
    assert "throttled" in page and "<h2>Diagnosis</h2>" in page
    assert json.loads((tmp_path / "doctor.json").read_text())["ok"] is False


def test_analyze_via_the_cli(tmp_path, capsys) -> None:
    out = tmp_path / "out"
    assert cli.main(["analyze", str(datasets.path("healthy")), "--out", str(out)]) == 0
    assert "report.html" in capsys.readouterr().out
    assert (out / "report.html").exists() and (out / "events.csv").exists()
    assert cli.main(["analyze", str(tmp_path / "missing.jsonl"), "--out", str(out)]) == 2
