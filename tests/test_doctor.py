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


# --- bad input: counted, never a crash, never "healthy" ------------------------------------------

CORPUS = Path(__file__).resolve().parent.parent / "data" / "corpus"


@pytest.mark.parametrize("content", [b"", bytes(range(256)) * 4096], ids=["empty", "random-1MiB"])
def test_unreadable_input_is_an_error_in_one_line(tmp_path, capsys, content: bytes) -> None:
    path = tmp_path / "capture.log"
    path.write_bytes(content)
    with pytest.raises(doctor.UnreadableInput, match="0 events"):
        doctor.diagnose(path)
    assert cli.main(["doctor", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "capture.log" in err and "Traceback" not in err


def test_an_empty_trace_is_not_called_healthy(tmp_path) -> None:
    path = tmp_path / "trace.jsonl"
    path.write_text("\n")
    with pytest.raises(doctor.UnreadableInput, match="trace.jsonl"):
        doctor.diagnose(path)


def test_bad_trace_lines_are_counted_in_the_report_with_their_numbers(tmp_path, capsys) -> None:
    lines = datasets.path("transmitter_only").read_text().splitlines()
    lines[3] = lines[3].replace('"sequence":', '"sequence":1.5,"x":', 1)
    lines[5] = lines[5].replace('"time":', '"time":1e400,"y":', 1)
    lines.insert(7, "{not json")
    path = tmp_path / "trace.jsonl"
    path.write_text("\n".join(lines) + "\n")
    report = doctor.diagnose(path)
    assert _problems(report) == {"transmitter-only"}  # one bad line never rejects the file
    assert [line for _, line, _ in report.bad_lines] == [4, 6, 8]
    assert report.summary["bad lines"] == 3
    assert "3 lines or frames could not be read" in str(report) and "trace.jsonl:4" in str(report)
    assert "trace.jsonl:4" in report._repr_html_()
    data = json.loads(report.to_json())
    assert data["bad_lines"]["count"] == 3 and data["bad_lines"]["first"][0][1] == 4
    assert cli.main(["doctor", str(path)]) == 1  # the findings still count
    assert "Traceback" not in capsys.readouterr().err


def test_an_impossible_kannel_time_is_one_bad_line(tmp_path) -> None:
    lines = (KANNEL / "bearerbox-mask17.log").read_text().splitlines()
    lines[10] = "2026-13-45 25:61:00" + lines[10][19:]
    path = tmp_path / "bearerbox.log"
    path.write_text("\n".join(lines) + "\n")
    report = doctor.diagnose(path)
    assert _problems(report) == {"kannel-dlr-mask"}
    assert [(Path(f).name, n) for f, n, _ in report.bad_lines] == [("bearerbox.log", 11)]
    assert "impossible time" in report.bad_lines[0][2]


def _records(path: Path) -> tuple[bytes, list[bytes]]:
    data = path.read_bytes()
    out, pos = [], 24
    while pos < len(data):
        incl = int.from_bytes(data[pos + 8 : pos + 12], "little")
        out.append(data[pos : pos + 16 + incl])
        pos += 16 + incl
    return data[:24], out


def test_a_truncated_capture_is_read_up_to_the_cut(tmp_path, capsys) -> None:
    source = CORPUS / "smpplib-transmitter-only" / "capture.pcap"
    head, records = _records(source)
    cut = tmp_path / "cut.pcap"
    keep = len(records) * 3 // 4
    cut.write_bytes(head + b"".join(records[:keep]) + records[keep][:30])
    whole, part = doctor.diagnose(source), doctor.diagnose(cut)
    assert 0 < part.summary["events"] < whole.summary["events"]
    ((_, number, reason),) = part.bad_lines
    assert number == keep + 1 and "cut short" in reason
    assert cli.main(["doctor", str(cut)]) in (0, 1)
    assert "Traceback" not in capsys.readouterr().err


@pytest.mark.parametrize("fmt", ["pcap-raw", "pcap"])
def test_retransmitted_segments_are_counted_once(tmp_path, fmt: str) -> None:
    from smppkit.diagnose import logs

    source = CORPUS / "smpplib-rd0" / "capture.pcap"
    head, records = _records(source)
    doubled = tmp_path / "retrans.pcap"
    with_data = [r for r in records if len(r) > 16 + 4 + 20 + 32 + 16]  # lo + IP + TCP + SMPP
    doubled.write_bytes(head + b"".join(records + with_data[:3]))  # three segments sent again
    once = logs.read(source, format=fmt, progress=False)
    twice = logs.read(doubled, format=fmt, progress=False)
    assert len(twice) == len(once) and list(twice["command"]) == list(once["command"])


def test_log_times_follow_tz_and_the_report_says_which() -> None:
    utc = doctor.diagnose(KANNEL / "bearerbox-mask17.log", tz="UTC")
    berlin = doctor.diagnose(KANNEL / "bearerbox-mask17.log", tz="Europe/Berlin")
    assert "read as UTC" in str(utc) and "read as Europe/Berlin" in str(berlin)
    assert "this machine's local time" in str(doctor.diagnose(KANNEL / "bearerbox-mask17.log"))
    with pytest.raises(ValueError, match="unknown time zone"):
        doctor.diagnose(KANNEL / "bearerbox-mask17.log", tz="Mars/Olympus")


def test_cli_exit_codes_debug_and_directories(tmp_path, capsys) -> None:
    assert cli.main(["doctor", str(tmp_path)]) == 2  # a directory: one line, no traceback
    assert "Traceback" not in capsys.readouterr().err
    with pytest.raises(IsADirectoryError):
        cli.main(["doctor", str(tmp_path), "--debug"])
    assert cli.main(["doctor", str(KANNEL / "bearerbox-receipts.log")]) == 0
    assert cli.main(["doctor", str(KANNEL / "bearerbox-mask17.log")]) == 1
    capsys.readouterr()


# --- one message's story --------------------------------------------------------------------------


def test_one_message_story_across_artifacts_in_any_id_form() -> None:
    case = CORPUS / "kannel-healthy-mixed"
    files = [case / "capture.pcap", case / "bearerbox.log", case / "access.log"]
    report = doctor.diagnose(files, tz="UTC")
    assert report.ok
    from smppkit.diagnose import logs

    pcap = logs.read(case / "capture.pcap", progress=False)
    hex_id = pcap.loc[pcap["command"] == "submit_sm_resp", "message_id"].dropna().iloc[0]
    told = doctor.story(files, hex_id, tz="UTC")
    decimal = doctor.story(files, str(int(hex_id, 16)), tz="UTC")
    assert list(told.events["what"]) == list(decimal.events["what"])
    what = " | ".join(told.events["what"])
    assert "submit_sm (ESME->SMSC)" in what and "submit_sm_resp" in what
    assert "deliver_sm (SMSC->ESME)" in what and "deliver_sm_resp" in what
    assert "pending DLR stored" in what  # Kannel's own lines about it
    seconds = list(told.events["time"].str[:8])  # Kannel writes whole seconds
    assert seconds == sorted(seconds)
    assert told.verdict.startswith("delivered")
    assert {w.split(":")[0] for w in told.events["where"]} >= {"capture.pcap", "bearerbox.log"}


def test_the_story_of_a_lost_receipt_and_of_an_unknown_id() -> None:
    case = CORPUS / "smpplib-undelivered"
    files = [case / "capture.pcap", case / "client.log"]
    ids = [e for e in doctor.story(files, "0B00000700000001", tz="UTC").events["what"]]
    assert ids and doctor.story(files, "0B00000700000001", tz="UTC").verdict.startswith("not delivered")
    assert doctor.story(files, "FFFF0000", tz="UTC").verdict == "not in these logs"
    with pytest.raises(ValueError):
        doctor.story(files, " ")


def test_cli_message_story(capsys) -> None:
    log = str(CORPUS / "smpplib-healthy-paced" / "client.log")
    assert cli.main(["doctor", log, "--message", "0B00000700000002", "--tz", "UTC"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("message 0B00000700000002: delivered")
    assert "client.log:" in out and "submit_sm_resp" in out
    assert cli.main(["doctor", log, "--message", "0B00000700000002", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["verdict"].startswith("delivered")
