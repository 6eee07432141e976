"""The receipt doctor: each sample log raises exactly its findings; healthy logs raise none."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from smppkit import cli, datasets, doctor
from smppkit.trace import TRACE_FIELDS

KANNEL = Path(__file__).resolve().parent.parent / "data" / "kannel"


def _problems(report: doctor.Report) -> set[str]:
    """The root causes above info (consequences are listed under their cause)."""
    return {f.code for f in report.findings if f.severity != "info" and not f.caused_by}


@pytest.mark.parametrize("name", datasets.names())
def test_each_dataset_raises_exactly_its_findings(name: str) -> None:
    report = doctor.diagnose(datasets.path(name))
    assert _problems(report) == set(datasets.DATASETS[name].expect), str(report)
    assert report.ok is (not datasets.DATASETS[name].expect)


def test_the_healthy_log_gives_no_warning_only_notes() -> None:
    report = doctor.diagnose(datasets.load("healthy"))
    assert report.ok
    assert {f.severity for f in report.findings} <= {"info"}
    assert "id-forms" in report.codes  # hex resp id, decimal receipt id: explained, not flagged


def test_findings_carry_counts_examples_and_hex() -> None:
    report = doctor.diagnose(datasets.path("registered_delivery_0"))
    (finding,) = report.findings
    assert finding.severity == "error"
    assert finding.counts["registered_delivery 0"] == finding.counts["submits"] > 0
    example = finding.examples[0]
    assert example.where.startswith("registered_delivery_0.jsonl:")
    assert example.hex and bytes.fromhex(example.hex)[4:8] == b"\x00\x00\x00\x04"  # submit_sm
    assert "registered_delivery=0" in example.summary


def test_the_id_finding_shows_the_conversion() -> None:
    report = doctor.diagnose(datasets.path("id_mismatch"))
    (finding,) = report.problems()
    assert "is hex = " in finding.details[0] and "decimal" in finding.details[0]
    assert "msg-id-type = 0x01" in finding.fix


def test_throttling_compares_the_rate_sent_with_the_rate_allowed() -> None:
    finding = next(f for f in doctor.diagnose(datasets.path("throttled")).findings
                   if f.code == "throttled")
    assert finding.counts["peak submits per second"] > 30
    assert 25 <= finding.counts["accepted per second while throttled"] <= 31
    assert "msg/s" in finding.fix


def test_a_deliver_sm_resp_with_the_wrong_sequence_number_is_found() -> None:
    # smpplib's make_pdu ignores sequence=: the reply carries the client's own counter.
    events = datasets.generate("healthy")
    for e in events:
        if e["command"] == "deliver_sm_resp":
            e["sequence"] += 1000
    report = doctor.diagnose(events)
    assert _problems(report) == {"receipt-resp-missing"}


def test_report_renders_as_text_html_json_and_frame() -> None:
    report = doctor.diagnose(datasets.path("split_parts"))
    text = str(report)
    assert "[ERROR] split-parts" in text and "fix:" in text
    assert "<b style='color:#b00020'>ERROR</b>" in report._repr_html_()
    data = json.loads(report.to_json())
    assert data["ok"] is False and data["findings"][0]["code"] == "split-parts"
    frame = report.to_frame()
    assert list(frame.columns) == ["severity", "code", "title", "cause", "evidence", "fix", "caused_by"]
    assert frame.iloc[0]["severity"] == "error"


def test_event_dicts_without_the_readers_work_too(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "smppkit.diagnose.logs", None)  # the readers are optional
    report = doctor.diagnose(datasets.path("transmitter_only"))
    assert _problems(report) == {"transmitter-only"}


def test_kannel_notes_are_understood() -> None:
    def note(text: str, **kw: object) -> dict:
        e = dict.fromkeys(TRACE_FIELDS)
        e.update(time=1.0, system="kannel", direction="", command="", note=text, **kw)
        return e

    mask = doctor.diagnose([
        note("pending DLR stored for smsc-id nexmo under id 1 (dlr-mask 17)", message_id="1"),
        note("receipt of type 2 (failed) ignored and deleted: not in dlr-mask 17 "
             "(Ignoring DLR message because of mask)"),
    ])
    assert _problems(mask) == {"kannel-dlr-mask"}
    assert "19" in mask.findings[0].fix
    lost = doctor.diagnose([
        note("pending DLR stored for smsc-id nexmo under id 0B00000700000001 (dlr-mask 19)",
             message_id="0B00000700000001"),
        note("receipt arrived: looking up pending DLR id 792633564481978369, type 1 (delivered)",
             message_id="792633564481978369"),
        note("DLR not found: a receipt from smsc-id nexmo for 447700900000 matched no pending message"),
    ])
    assert _problems(lost) == {"kannel-dlr-not-found"}
    assert "msg-id-type = 0x01" in lost.findings[0].fix


@pytest.mark.parametrize(("log", "expect"), [
    ("bearerbox-receipts.log", set()),
    ("access.log", set()),
    ("bearerbox-mask17.log", {"kannel-dlr-mask"}),
    ("access-mask17.log", {"kannel-dlr-mask"}),
    ("bearerbox-dlr-not-found.log", {"kannel-dlr-not-found"}),
    ("access-dlr-not-found.log", {"kannel-dlr-not-found"}),
    ("bearerbox-throttled.log", {"throttled"}),
])
def test_real_kannel_logs(log: str, expect: set[str]) -> None:
    path = KANNEL / log
    if not path.exists():
        pytest.skip(f"{path} not there")
    assert _problems(doctor.diagnose(path)) == expect


@pytest.mark.integration
def test_a_live_simulator_trace_with_a_well_behaved_client_is_healthy() -> None:
    from smppkit import client, simulator

    sim = simulator.start(seed=3, dlr_delay=0.05)
    try:
        with client.connect(sim) as conn:
            sent = [conn.send_text(f"4479460000{i:02d}", f"hello {i}") for i in range(5)]
            sent.append(conn.send_text("447946000010", "a long message " * 20))
            conn.wait_for_receipts(sent, timeout=5)
        trace = sim.trace()
    finally:
        sim.stop()
    report = doctor.diagnose(trace)
    assert report.ok, str(report)
    assert report.summary["receipts matched"] == report.summary["submits"]


def test_cli_exit_status_and_json(capsys) -> None:
    assert cli.main(["doctor", str(datasets.path("healthy"))]) == 0
    assert "no problems found" in capsys.readouterr().out
    assert cli.main(["doctor", str(datasets.path("split_parts")), "--json"]) == 1
    assert json.loads(capsys.readouterr().out)["findings"][0]["code"] == "split-parts"
    assert cli.main(["doctor", str(datasets.path("throttled")), "--fail-on", "error"]) == 0
    capsys.readouterr()
    assert cli.main(["doctor", "/nonexistent.jsonl"]) == 2


def test_cli_as_a_subprocess() -> None:
    logs = [str(datasets.path("healthy")), str(datasets.path("idle_unbind"))]
    done = subprocess.run([sys.executable, "-m", "smppkit", "doctor", *logs, "--separate", "--json"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 1, done.stderr
    healthy, idle = json.loads(done.stdout)
    assert healthy["ok"] and not idle["ok"]
    assert [f["code"] for f in idle["findings"] if f["severity"] != "info"] == ["idle-unbind"]


@pytest.mark.parametrize(("n", "text"), [(0, "0 receipts"), (1, "1 receipt"), (2, "2 receipts")])
def test__count_agrees_in_number(n: int, text: str) -> None:
    assert doctor._count(n, "receipt") == text
    assert doctor._agree(n, "names", "name") == ("names" if n == 1 else "name")


def test_titles_count_in_the_plural_beyond_one() -> None:
    report = doctor.diagnose(datasets.path("split_parts"))
    (split,) = [f for f in report.findings if f.code == "split-parts"]
    assert split.title.endswith("concatenated messages had their parts sent through different "
                                "instances")
