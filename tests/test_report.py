"""`smppkit analyze`: tables, plots, the doctor's findings and one self-contained HTML page,
checked as files and as rendered by a real headless Chromium."""

from __future__ import annotations

import json
import re

import pandas as pd
import pytest
from browser import chromium  # noqa: F401  (fixture)

from smppkit import cli, datasets, report


@pytest.fixture(scope="module")
def throttled(tmp_path_factory):
    return report.analyze(datasets.path("throttled"), tmp_path_factory.mktemp("throttled"))


def test_analyze_writes_tables_plots_and_html(throttled) -> None:
    result = throttled
    events = pd.read_csv(result.tables["events"])
    assert {"instance", "command", "command_status", "status", "events"} <= set(events.columns)
    assert events.loc[events["command"] == "submit_sm_resp", "events"].sum() > 0
    assert result.skipped == {}
    assert set(result.plots) == {"throughput", "submit_latency", "receipt_latency", "errors",
                                 "receipt_outcomes", "instances"}
    for path in [*result.tables.values(), *result.plots.values()]:
        assert path.exists() and path.stat().st_size > 0
    for png in result.plots.values():
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert json.loads((result.out_dir / "doctor.json").read_text())["ok"] is False


def test_the_page_is_self_contained_and_reads_in_words(throttled) -> None:
    page = throttled.html.read_text(encoding="utf-8")
    sources = re.findall(r'<img [^>]*src="([^"]*)"', page)
    assert len(sources) == len(throttled.plots)
    assert all(s.startswith("data:image/png;base64,") for s in sources)
    assert "<link" not in page and "<script" not in page
    headings = re.findall(r"<h3 id=\"[^\"]+\">([^<]+)</h3>", page)
    assert "Submit to receipt latency" in headings and "Messages and their parts" in headings
    assert not [h for h in headings if "_" in h]  # words, not code names
    assert "&lt;NA&gt;" not in page and "<NA>" not in page and "nan<" not in page
    assert not re.search(r">\s*-?\d+\.\d{4,}\s*<", page)  # no 12.000000 in a cell
    errors = page.split('id="table-errors"')[1].split("<table")[1].split("</table>")[0]
    assert "ESME_RTHROTTLED" in errors and "ESME_ROK" not in errors and "DELIVRD" not in errors


def test_analyze_via_the_cli(tmp_path, capsys) -> None:
    out = tmp_path / "out"
    assert cli.main(["analyze", str(datasets.path("healthy")), "--out", str(out)]) == 0
    assert "report.html" in capsys.readouterr().out
    assert (out / "report.html").exists() and (out / "events.csv").exists()
    assert cli.main(["analyze", str(tmp_path / "missing.jsonl"), "--out", str(out)]) == 2
    assert "missing.jsonl" in capsys.readouterr().err


def test_a_log_with_nothing_readable_is_one_clear_error(tmp_path, capsys) -> None:
    log = tmp_path / "empty.jsonl"
    log.write_text("")
    assert cli.main(["analyze", str(log), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("smppkit analyze: ") and "empty" in err
    assert not (tmp_path / "out" / "report.html").exists()


@pytest.mark.integration
def test_the_report_renders_in_chromium(throttled, chromium) -> None:  # noqa: F811
    result = throttled
    chromium.get(result.html.as_uri())
    assert chromium.find_element("tag name", "h1").text == "SMPP traffic analysis"
    h2 = [e.text for e in chromium.find_elements("tag name", "h2")]
    assert h2 == ["Diagnosis", "Plots", "Tables"]
    images = chromium.execute_script(
        "return [...document.images].map(i => [i.alt, i.complete, i.naturalWidth])")
    assert len(images) == len(result.plots) == 6
    assert all(done and width > 0 for _, done, width in images), images
    assert "Submit to receipt latency" in [alt for alt, _, _ in images]
    parts = chromium.execute_script("""
        const t = document.querySelector('#table-parts + p + .table-wrap table');
        const wrap = t.parentElement;
        return [t.getBoundingClientRect().right, document.body.getBoundingClientRect().right,
                wrap.scrollWidth, wrap.clientWidth, t.rows.length];""")
    table_right, body_right, scroll, client, rows = parts
    assert rows > 10
    assert table_right <= body_right and scroll <= client  # the parts table fits the page
    overflow = chromium.execute_script(
        "return document.documentElement.scrollWidth > document.documentElement.clientWidth")
    assert overflow is False
    cells = [c.text for c in chromium.find_elements("css selector", "td")]
    assert cells and not [c for c in cells if c in ("<NA>", "nan", "NaN", "None")]
    assert chromium.find_element("css selector", ".diagnosis").text.startswith("Receipt doctor")
