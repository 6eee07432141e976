"""logs.read: the trace fast and slow paths, bad lines, smpplib logging, pcap-raw."""

from __future__ import annotations

import io
import json
import logging
import shutil
import socket
import struct
import warnings

import pandas as pd
import pytest
import smpplib.client
import smpplib.consts
import smpplib.smpp
from helpers_trace import T0, TraceBuilder

from smppkit import logs, pdus
from smppkit.diagnose.pcap import Flow, read_tcp_streams, write_pcap
from smppkit.protocol.codec import encode
from smppkit.trace import TRACE_FIELDS, dump_event


def scenario() -> TraceBuilder:
    b = TraceBuilder()
    b.submit(0.0, message_id="1a")
    b.receipt(2.0, "26")
    b.submit(0.1, status=0x58)
    b.submit(1.0, message_id="p1", part=(7, 2, 1))
    b.submit(1.0, message_id="p2", part=(7, 2, 2), session="SMPP2#1", instance="SMPP2")
    return b


def assert_same_events(got: pd.DataFrame, want: pd.DataFrame) -> None:
    cols = [c for c in logs.SCHEMA if c not in ("source_file", "line")]
    pd.testing.assert_frame_equal(got[cols].reset_index(drop=True),
                                  want[cols].reset_index(drop=True))


def test_schema_dtypes_and_columns():
    df = scenario().frame()
    assert list(df.columns) == list(logs.SCHEMA)
    assert {c: str(t) for c, t in df.dtypes.items()} == logs.SCHEMA
    assert list(logs.SCHEMA)[: len(TRACE_FIELDS)] == list(TRACE_FIELDS)
    assert df.loc[5, "command_status_name"] == "ESME_RTHROTTLED"
    assert df.loc[0, "time"] == pd.Timestamp(T0, unit="s", tz="UTC")
    assert df.loc[1, "time"] - df.loc[0, "time"] == pd.Timedelta(milliseconds=50)


def test_trace_round_trip(tmp_path):
    b = scenario()
    path = tmp_path / "t.jsonl"
    b.write(path)
    df = logs.read(path, progress=False)
    assert_same_events(df, b.frame())
    assert df["line"].tolist() == list(range(1, len(b.events) + 1))
    assert set(df["source_file"]) == {str(path)}
    assert df.attrs["bad_lines"] == []


def test_slow_path_gives_the_same_table(tmp_path):
    """Other key orders, escapes and extra keys go through json.loads; same result."""
    b = scenario()
    b.events[0]["note"] = 'said "hi" \\ bye\nnext'  # escapes
    b.events[1]["note"] = 'a": b, "c'  # looks like structure once rewritten
    lines = b.lines()
    shuffled = json.loads(lines[2])
    lines[2] = json.dumps(dict(reversed(list(shuffled.items()))))  # other key order
    extra = json.loads(lines[3])
    extra["retry"] = 2
    lines[3] = json.dumps(extra)
    path = tmp_path / "t.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    df = logs.read(path, progress=False)
    assert_same_events(df, b.frame())
    assert df.loc[0, "note"] == 'said "hi" \\ bye\nnext'
    assert df.loc[1, "note"] == 'a": b, "c'
    assert df["retry"].tolist()[3] == 2  # unknown keys are kept
    assert pd.isna(df["retry"].tolist()[0])


def test_bad_lines_are_counted_with_line_numbers(tmp_path):
    b = scenario()
    lines = b.lines()
    missing = json.loads(lines[0])
    del missing["command"]
    lines[1:1] = [
        '{"time": 1, "direction": "out", "comm',  # line 2: truncated
        "",  # line 3: blank, not an event and not an error
        json.dumps(missing),  # line 4: no command
        lines[0].replace('"command_status":0', '"command_status":"zero"'),  # line 5
        "[1, 2]",  # line 6
    ]
    path = tmp_path / "t.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.warns(logs.BadLineWarning, match=r"4 unreadable .* first: .*t.jsonl:2"):
        df = logs.read(path, progress=False)
    bad = df.attrs["bad_lines"]
    assert [(line, reason.split(":")[0]) for _, line, reason in bad] == [
        (2, "invalid JSON"),
        (4, "missing key(s)"),
        (5, "command_status is not a number"),
        (6, "not a JSON object"),
    ]
    assert len(df) == len(b.events)
    assert df["line"].tolist() == [1, *range(7, 7 + len(b.events) - 1)]


def test_empty_trace(tmp_path):
    path = tmp_path / "empty.jsonl"
    path.write_text("")
    df = logs.read(path, progress=False)
    assert len(df) == 0 and list(df.columns) == list(logs.SCHEMA)


def test_several_files_keep_file_order(tmp_path):
    a, b = TraceBuilder(), TraceBuilder(session="SMPP2#1", instance="SMPP2")
    a.submit(5.0)
    b.submit(1.0)
    a.write(tmp_path / "a.jsonl")
    b.write(tmp_path / "b.jsonl")
    df = logs.read([tmp_path / "a.jsonl", tmp_path / "b.jsonl"], progress=False)
    assert df["session"].tolist() == ["SMPP1#1"] * 2 + ["SMPP2#1"] * 2
    assert df["source_file"].str.endswith(("a.jsonl", "b.jsonl")).all()


def test_id_key_normalises_the_message_id():
    df = scenario().frame()
    keys = dict(zip(df["message_id"].dropna(), df["id_key"].dropna(), strict=True))
    assert keys["p1"] == "p1"
    # with smppkit.receipts.message_id_key, hex resp "1a" and decimal receipt "26" agree
    assert keys["1a"] == keys["26"] or keys["1a"] == "1a"


# --- python-smpplib DEBUG logging -----------------------------------------------------------


def smpplib_log(fmt: str) -> str:
    """Drive a real smpplib Client over a socketpair and capture its DEBUG log."""
    ours, theirs = socket.socketpair()
    client = smpplib.client.Client("127.0.0.1", 2775, logger_name="smpp.Client.7",
                                    allow_unknown_opt_params=True)
    client._socket = ours
    client.state = smpplib.consts.SMPP_CLIENT_STATE_BOUND_TRX
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(logging.Formatter(fmt))
    client.logger.addHandler(handler)
    client.logger.setLevel(logging.DEBUG)
    try:
        pdu = smpplib.smpp.make_pdu("submit_sm", client=client, source_addr="SRC",
                                    destination_addr="447700900001", short_message=b"hi",
                                    registered_delivery=1)
        client.send_pdu(pdu)
        theirs.recv(4096)
        theirs.sendall(encode(pdus.SubmitSmResp(sequence_number=pdu.sequence, message_id="1a")))
        client.read_pdu()
        theirs.sendall(encode(pdus.EnquireLink(sequence_number=99)))
        client.read_pdu()
    finally:
        client.logger.removeHandler(handler)
        client._socket = None
        ours.close()
        theirs.close()
    return out.getvalue()


def test_smpplib_debug_log_with_asctime(tmp_path):
    text = smpplib_log("%(asctime)s %(levelname)s %(name)s %(message)s")
    assert ">>b'" in text and "<<b'" in text  # what smpplib really writes under Python 3
    path = tmp_path / "client.log"
    path.write_text(text)
    assert logs.sniff(path) == "smpplib"
    df = logs.read(path, progress=False)
    assert df["command"].tolist() == ["submit_sm", "submit_sm_resp", "enquire_link"]
    assert df["direction"].tolist() == ["out", "in", "in"]
    assert set(df["system"]) == {"smpplib"} and set(df["session"]) == {"smpp.Client.7"}
    assert df.loc[0, "destination_addr"] == "447700900001"
    assert df.loc[1, "message_id"] == "1a"
    assert df["time"].notna().all()
    assert df["line"].tolist() == [2, 4, 7]  # "Sending"/"Waiting"/"Read" lines are skipped


def test_smpplib_default_format_has_no_time_and_bad_dumps_are_reported(tmp_path):
    text = smpplib_log(logging.BASIC_FORMAT)  # "%(levelname)s:%(name)s:%(message)s"
    text += "DEBUG:smpp.Client.7:>>b'0000001000000015' (16 bytes)\n"  # 8 bytes, says 16
    text += "DEBUG:smpp.Client.7:<<b'00000010000000ff0000000000000001' (16 bytes)\n"
    path = tmp_path / "client.log"
    path.write_text(text)
    with pytest.warns(logs.BadLineWarning):
        df = logs.read(path, format="smpplib", progress=False)
    assert len(df) == 3 and df["time"].isna().all()
    reasons = [r for _, _, r in df.attrs["bad_lines"]]
    assert "does not hold 16 bytes" in reasons[0]
    assert "undecodable PDU" in reasons[1] and "0x000000FF" in reasons[1]


def test_smpplib_local_time_zone(tmp_path):
    path = tmp_path / "client.log"
    path.write_text("2024-01-31 12:00:00,250 DEBUG smpp.Client.1 >>b'00000010000000150000000000000001' (16 bytes)\n")
    utc = logs.read(path, progress=False)
    paris = logs.read(path, progress=False, tz="Europe/Paris")
    assert utc.loc[0, "time"] == pd.Timestamp("2024-01-31 12:00:00.250", tz="UTC")
    assert paris.loc[0, "time"] == pd.Timestamp("2024-01-31 11:00:00.250", tz="UTC")


# --- captures ---------------------------------------------------------------------------


def capture_flows() -> list[Flow]:
    sub = encode(pdus.SubmitSm(sequence_number=1, source_addr="SRC", destination_addr="4477",
                               short_message=b"x" * 40))
    resp = encode(pdus.SubmitSmResp(sequence_number=1, message_id="1a"))
    dlr = encode(pdus.DeliverSm(sequence_number=5, esm_class=4,
                                short_message=b"id:26 sub:001 dlvrd:001 submit date:2401011200 "
                                              b"done date:2401011201 stat:DELIVRD err:000"))
    return [
        Flow(("10.0.0.1", 40000), ("10.0.0.2", 2775),
             [(T0 + 1, "out", sub), (T0 + 1.2, "in", resp + dlr),
              (T0 + 1.3, "out", encode(pdus.DeliverSmResp(sequence_number=5)))]),
        Flow(("10.0.0.3", 40001), ("10.0.0.2", 9000),  # another port, found by its header
             [(T0 + 1.1, "out", encode(pdus.EnquireLink(sequence_number=2))),
              (T0 + 1.15, "in", encode(pdus.EnquireLinkResp(sequence_number=2)))]),
    ]


@pytest.mark.parametrize("linktype", ["ethernet", "linux-sll", "null"])
@pytest.mark.parametrize("mss", [7, 1460])
def test_pcap_raw_reassembles_and_decodes(tmp_path, linktype, mss):
    path = tmp_path / "c.pcap"
    write_pcap(str(path), capture_flows(), linktype=linktype, mss=mss)
    df = logs.read(path, format="pcap-raw", progress=False)
    assert df["command"].tolist() == ["submit_sm", "enquire_link", "enquire_link_resp",
                                      "submit_sm_resp", "deliver_sm", "deliver_sm_resp"]
    assert df["direction"].tolist() == ["out", "out", "in", "in", "in", "out"]
    assert df.loc[0, "session"] == "10.0.0.1:40000-10.0.0.2:2775"
    assert df.loc[0, "peer"] == "10.0.0.2:2775"
    assert df.loc[1, "peer"] == "10.0.0.2:9000"
    assert df.loc[4, "receipt_stat"] == "DELIVRD" and df.loc[4, "message_id"] == "26"
    assert df.loc[3, "time"] == pd.Timestamp(round((T0 + 1.2) * 1e6), unit="us", tz="UTC")
    assert df.attrs["bad_lines"] == []


def _records(path):
    data = path.read_bytes()
    pos, out = 24, []
    while pos < len(data):
        incl = struct.unpack_from("<I", data, pos + 8)[0]
        out.append(data[pos : pos + 16 + incl])
        pos += 16 + incl
    return data[:24], out


def test_tcp_reassembly_handles_reordering_and_retransmission(tmp_path):
    path = tmp_path / "c.pcap"
    flows = capture_flows()[:1]
    write_pcap(str(path), flows, mss=10)
    head, recs = _records(path)
    # after SYN, SYN-ACK, ACK: swap two data segments, then send one of them again
    recs = [*recs[:3], recs[4], recs[3], *recs[5:7], recs[5], *recs[7:]]
    path.write_bytes(head + b"".join(recs))
    stream = b"".join(c.data for c in read_tcp_streams(str(path)) if c.src[1] == 40000)
    assert stream == flows[0].messages[0][2] + flows[0].messages[2][2]


def test_pcap_gap_is_reported(tmp_path):
    path = tmp_path / "c.pcap"
    write_pcap(str(path), capture_flows()[:1], mss=10)
    head, recs = _records(path)
    del recs[5]  # lose a data segment of the submit_sm
    path.write_bytes(head + b"".join(recs))
    with pytest.warns(logs.BadLineWarning):
        df = logs.read(path, format="pcap-raw", progress=False)
    assert any("missing from the capture" in r for _, _, r in df.attrs["bad_lines"])
    assert "submit_sm_resp" in df["command"].tolist()


def test_pcap_without_tshark_says_so(tmp_path, monkeypatch):
    path = tmp_path / "c.pcap"
    write_pcap(str(path), capture_flows())
    monkeypatch.setattr(shutil, "which", lambda name: None)
    assert logs.sniff(path) == "pcap-raw"
    with pytest.raises(logs.TsharkNotFound, match="tshark not found.*pcap-raw"):
        logs.read(path, format="pcap", progress=False)


def test_sniff(tmp_path):
    trace = tmp_path / "x.log"
    trace.write_text(dump_event(scenario().events[0]) + "\n")
    assert logs.sniff(trace) == "trace"
    other = tmp_path / "x.txt"
    other.write_text("hello\n")
    with pytest.raises(ValueError, match="cannot tell"):
        logs.sniff(other)
    with pytest.raises(ValueError, match="unknown format"):
        logs.read(trace, format="csv")


def test_progress_bar_off_when_not_a_terminal(tmp_path, capsys):
    scenario().write(tmp_path / "t.jsonl")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        logs.read(tmp_path / "t.jsonl")
    assert capsys.readouterr().err == ""


def test_progress_bar_counts_every_byte(tmp_path, monkeypatch):
    path = tmp_path / "t.jsonl"
    scenario().write(path)
    shown = []

    class Bar(logs._NoBar):
        def update(self, n=1):
            shown.append(n)

    monkeypatch.setattr(logs, "_show", lambda total, desc, show: Bar() if show else logs._NoBar())
    monkeypatch.setattr(logs, "_CHUNK", 100)  # several chunks, each shorter than a line
    df = logs.read(path, progress=True)
    assert len(df) == len(scenario().events)
    assert len(shown) > 10 and sum(shown) == path.stat().st_size


# --- Arrow blocks and the line-by-line fallback --------------------------------------------


def _mixed_trace(path) -> None:
    """A trace whose halves both hold clean lines, lines that need care (escapes, another
    key order, an extra key, a note event, non-ASCII text) and bad lines."""
    b = TraceBuilder()
    for i in range(60):
        b.submit(i * 0.5, message_id=f"{i:x}a", status=0x58 if i % 7 == 0 else 0)
        b.receipt(i * 0.5 + 2.0, f"{i:x}a")
    lines = b.lines()
    for half in (0, len(lines) // 2):
        escaped = json.loads(lines[half + 3])
        escaped["note"] = 'said "hi" \\ bye\nnext'
        lines[half + 3] = json.dumps(escaped, separators=(",", ":"))
        reordered = json.loads(lines[half + 9])
        lines[half + 9] = json.dumps(dict(reversed(list(reordered.items()))))
        extra = json.loads(lines[half + 20])
        extra["retry"] = half + 1
        lines[half + 20] = json.dumps(extra)
        note = json.loads(lines[half + 25])
        note.update(direction="", command="", note="receipt for unknown message id 7")
        lines[half + 25] = json.dumps(note)
        accented = json.loads(lines[half + 27])
        accented["note"] = "envoyé à 06…"
        lines[half + 27] = json.dumps(accented, ensure_ascii=False)
        lines[half + 30] = '{"time": 1, "direction": "out", "comm'  # truncated
        lines[half + 31] = ""
        lines[half + 40] = "[1, 2]"
        lines[half + 45] = lines[half + 45].replace('"sequence":', '"sequence":"x","s":')
        lines[half + 50] = lines[half + 50] + lines[half + 51]  # two objects on one line
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _line_by_line(path, monkeypatch):
    """The table read with json.loads alone (Arrow refuses every block)."""
    with monkeypatch.context() as m:
        m.setattr(logs, "_arrow_table", lambda block, nlines: None)
        m.setattr(logs, "_SLOW_BYTES", 1 << 62)
        with pytest.warns(logs.BadLineWarning):
            return logs.read(path, progress=False)


@pytest.mark.parametrize(("chunk", "slow_bytes"), [(64 << 20, 64 << 10), (4096, 64 << 10), (100, 1),
                                                    (4096, 300), (1 << 20, 1)])
def test_arrow_read_equals_the_line_by_line_read(tmp_path, monkeypatch, chunk, slow_bytes):
    path = tmp_path / "t.jsonl"
    _mixed_trace(path)
    want = _line_by_line(path, monkeypatch)
    monkeypatch.setattr(logs, "_CHUNK", chunk)
    monkeypatch.setattr(logs, "_SLOW_BYTES", slow_bytes)
    with pytest.warns(logs.BadLineWarning):
        got = logs.read(path, progress=False)
    pd.testing.assert_frame_equal(got, want)
    assert got.attrs["bad_lines"] == want.attrs["bad_lines"]
    bad = [(line, reason.split(":")[0]) for _, line, reason in got.attrs["bad_lines"]]
    n = len(path.read_text(encoding="utf-8").splitlines())
    assert [r for _, r in bad] == ["invalid JSON", "not a JSON object",
                                   "sequence is not a number", "invalid JSON"] * 2
    assert bad[0][0] < n // 2 < bad[4][0]
    assert got["retry"].notna().sum() == 2
    assert (got["note"] == 'said "hi" \\ bye\nnext').sum() == 2
    assert (got["note"] == "envoyé à 06…").sum() == 2
    assert (got["command"] == "").sum() == 2  # note events are events, not bad lines
    assert got["command"].dtype == logs.SCHEMA["command"]


def test_arrow_reads_clean_blocks_and_only_the_bad_lines_go_slow(tmp_path, monkeypatch):
    path = tmp_path / "t.jsonl"
    _mixed_trace(path)
    slow = []
    real = logs._slow_line
    monkeypatch.setattr(logs, "_slow_line", lambda raw, *a: (slow.append(raw), real(raw, *a)))
    monkeypatch.setattr(logs, "_SLOW_BYTES", 1)  # halve down to single lines
    with pytest.warns(logs.BadLineWarning):
        df = logs.read(path, progress=False)
    assert len(slow) == 8  # the four bad lines of each half; blank lines stay fast
    assert len(df) == len(path.read_text(encoding="utf-8").splitlines()) - 8 - 2  # bad, blank


def test_invalid_utf8_and_wrong_types_are_bad_lines(tmp_path):
    lines = scenario().lines()
    raw = [line.encode() for line in lines]
    raw[1] = raw[1].replace(b'"SMPP1"', b'"SMPP\xff"')
    raw[2] = raw[2].replace(b'"sequence":2', b'"sequence":true')
    raw[3] = raw[3].replace(b'"time":', b'"time":"soon","t":')
    path = tmp_path / "t.jsonl"
    path.write_bytes(b"\n".join(raw) + b"\n")
    with pytest.warns(logs.BadLineWarning):
        df = logs.read(path, progress=False)
    reasons = {line: reason for _, line, reason in df.attrs["bad_lines"]}
    assert sorted(reasons) == [2, 3, 4]
    assert reasons[2].startswith("invalid JSON")
    assert reasons[3] == "sequence is not a number: True"
    assert reasons[4] == "time is not a number: 'soon'"
    assert df["line"].tolist() == [1, *range(5, len(lines) + 1)]


def test_tiny_and_unterminated_traces(tmp_path):
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    assert len(logs.read(empty, format="trace", progress=False)) == 0
    one = tmp_path / "one.jsonl"
    one.write_text(scenario().lines()[0])  # no newline at the end
    df = logs.read(one, progress=False)
    assert df["line"].tolist() == [1] and df.attrs["bad_lines"] == []


@pytest.mark.parametrize("newline", ["\n\n", "\r\n", "\n \t\n"])
def test_blank_lines_and_crlf_stay_on_the_fast_path(tmp_path, monkeypatch, newline):
    lines = scenario().lines()
    path = tmp_path / "t.jsonl"
    path.write_bytes(newline.join(lines).encode() + newline.encode())
    slow = []
    real = logs._slow_line
    monkeypatch.setattr(logs, "_slow_line", lambda raw, *a: (slow.append(raw), real(raw, *a)))
    df = logs.read(path, progress=False)
    assert slow == [] and df.attrs["bad_lines"] == []
    assert_same_events(df, scenario().frame())
    step = 2 if newline.count("\n") == 2 else 1
    assert df["line"].tolist() == list(range(1, step * len(lines) + 1, step))
