"""The doctor on the corpus of broken setups made with real peers (data/corpus/, see make.py).

Every broken case must be named by the doctor's top finding, every healthy control must
raise nothing above info, and the doctor as queries (`Dataset.diagnose`) must give the same
report; the cases were recorded with Kannel 1.4.5, python-smpplib, Perl Net::SMPP and
dumpcap against the simulator and a second, different SMSC. Each set of artifacts is
diagnosed once (`_report`), whichever tests look at its report.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from smppkit.diagnose import corpus, dataset, doctor

ROOT = Path(__file__).resolve().parent.parent / "data" / "corpus"
CASES = corpus.cases(ROOT)
BROKEN = [c for c in CASES if c["cause"]]
HEALTHY = [c for c in CASES if not c["cause"]]


def _artifacts(case: dict) -> list[str]:
    return sorted(str(p) for p in case["dir"].iterdir() if p.name != "case.json")


@functools.cache
def _diagnosed(files: tuple[str, ...], tz: str | None) -> doctor.Report:
    return doctor.diagnose(list(files), tz=tz)


def _report(files: str | list[str], tz: str | None = "UTC") -> doctor.Report:
    """`doctor.diagnose` of `files`, once per set of files (the report is not changed)."""
    return _diagnosed(tuple([files] if isinstance(files, str) else files), tz)


def test_the_corpus_is_large_enough_small_and_made_with_every_peer() -> None:
    assert len(BROKEN) >= 30 and len(HEALTHY) >= 10
    size = sum(p.stat().st_size for p in ROOT.rglob("*") if p.is_file())
    assert size < 5 * 1024 * 1024
    peers = {p for c in CASES for p in c["peers"]}
    assert {"kannel-1.4.5", "python-smpplib", "perl-net-smpp", "dumpcap"} <= peers
    assert {c["smsc"] for c in BROKEN} == {"simulator", "mini-smsc"}
    # every cause the doctor knew before the corpus, and the new ones
    causes = {c["cause"] for c in BROKEN}
    assert {"transmitter-only", "registered-delivery-0", "id-mismatch", "receipts-other-session",
            "receipt-resp-retried", "receipt-resp-refused", "receipt-resp-missing", "split-parts",
            "throttled", "submit-refused", "enquire-link-unanswered", "idle-unbind",
            "already-bound", "bind-refused", "kannel-dlr-mask", "kannel-dlr-not-found",
            "data-coding-0-non-gsm", "udh-without-udhi", "receipt-before-resp",
            "receipts-other-link", "dlr-url-missing", "duplicate-receipts", "not-delivered",
            "registered-delivery-failure-only"} <= causes
    for c in CASES:  # only what a user has on the client side
        assert set(json.loads((c["dir"] / "case.json").read_text())["artifacts"]) <= {
            "capture.pcap", "bearerbox.log", "access.log", "client.log", "app.log"}


@pytest.mark.parametrize("case", BROKEN, ids=[c["name"] for c in BROKEN])
def test_the_top_finding_names_the_cause(case: dict) -> None:
    report = _report(_artifacts(case))
    assert report.top is not None and report.top.code == case["cause"], str(report)
    assert report.top.caused_by is None and report.top.severity != "info"


@pytest.mark.parametrize("case", HEALTHY, ids=[c["name"] for c in HEALTHY])
def test_a_healthy_setup_raises_nothing_above_info(case: dict) -> None:
    report = _report(_artifacts(case))
    assert report.ok, str(report)


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_the_doctor_as_queries_gives_the_same_report(case: dict) -> None:
    # the artifacts converted to Parquet, the PDUs two of them share counted once, the
    # checks run by DuckDB (smppkit.diagnose.doctor_sql)
    files = _artifacts(case)
    with dataset.open(files, tz="UTC") as ds:
        assert ds.diagnose().to_dict() == _report(files).to_dict()


def test_kannel_ignoring_already_bound_is_the_cause_of_the_refused_submits() -> None:
    report = _report(_artifacts(_case("kannel-already-bound")))
    assert report.codes[:2] == ["already-bound", "submit-refused"]
    assert report.findings[1].caused_by == "already-bound"
    assert report.consequences("already-bound") == [report.findings[1]]
    text = str(report)
    assert "(a consequence of already-bound)" in text
    assert text.index("already-bound: ") < text.index("submit-refused: ")


def test_receipts_on_another_kannel_link_do_not_blame_msg_id_type() -> None:
    report = _report(_artifacts(_case("kannel-smsc-id-per-link")))
    assert report.top.code == "receipts-other-link"
    assert "msg-id-type is not the problem" in report.top.cause
    not_found = next(f for f in report.findings if f.code == "kannel-dlr-not-found")
    assert not_found.caused_by == "receipts-other-link"


def test_an_early_receipt_is_not_an_id_format_problem() -> None:
    report = _report(_artifacts(_case("kannel-early-receipt")))
    assert report.top.code == "receipt-before-resp"
    assert "leave msg-id-type as it is" in report.top.fix


def test_a_capture_and_the_client_log_count_each_pdu_once() -> None:
    case = _case("smpplib-three-binds")
    both = _report(_artifacts(case))
    alone = _report(str(case["dir"] / "capture.pcap"), tz=None)
    refused = next(f for f in both.findings if f.code == "already-bound")
    assert refused.counts == next(f for f in alone.findings if f.code == "already-bound").counts
    assert refused.counts["binds refused with ESME_RALYBND"] == 1
    assert both.summary["submits"] == alone.summary["submits"]


def test_the_instance_comes_from_the_smsc_address() -> None:
    case = _case("smpplib-split-parts")
    for artifact in ("capture.pcap", "client.log"):
        report = _report(str(case["dir"] / artifact))
        split = next(f for f in report.findings if f.code == "split-parts")
        assert "via 127.0.0.1:" in split.details[0], artifact


def test_the_tables_say_what_each_artifact_gives_alone() -> None:
    results = corpus.evaluate(ROOT, run=lambda files, tz: _report(files, tz))
    text = corpus.tables(results)
    assert text.startswith(f"{len(BROKEN)} broken cases: ")
    for kind in ("all", *corpus.ARTIFACT_KINDS):
        assert f"\n{kind:<14} " in text
    alone = results[results["artifacts"] != "all"]
    assert not alone["false alarm"].any()


@pytest.mark.integration
@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("dumpcap"), reason="dumpcap on lo needs root")
def test_fresh_recordings_are_named_too(tmp_path: Path) -> None:
    """Regenerate cases with the real peers (not the stored files): the causes, not the
    bytes, are what the doctor must find."""
    names = ["smpplib-string-ids", "perl-transmitter-only-mini", "smpplib-healthy-txrx-mini"]
    if shutil.which("bearerbox"):
        names.append("kannel-msg-id-type-unset")
    done = subprocess.run([sys.executable, str(ROOT / "make.py"), "--out", str(tmp_path), *names],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    for case in corpus.cases(tmp_path):
        result = corpus.score(case, [case["dir"] / p for p in case["artifacts"]])
        assert result["named"], (case["name"], result)


def _case(name: str) -> dict:
    return next(c for c in CASES if c["name"] == name)
