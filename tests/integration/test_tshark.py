"""tshark interop: its SMPP dissector accepts every PDU smppkit encodes, and logs.read
gives the same table through tshark (format="pcap") and through pcap-raw."""

from __future__ import annotations

import shutil
import subprocess

import pandas as pd
import pytest

from smppkit import logs, pdus
from smppkit.diagnose.pcap import Flow, write_pcap
from smppkit.protocol.codec import encode

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(shutil.which("tshark") is None, reason="tshark is not installed"),
]

T0 = 1_700_000_000.0


def every_pdu() -> list[pdus.Pdu]:
    """One of each PDU class, with the fields that make the dissector work hardest."""
    receipt = (b"id:123 sub:001 dlvrd:001 submit date:2401011200 done date:2401011201 "
               b"stat:DELIVRD err:000 text:hi")
    sm = dict(source_addr="SRC", destination_addr="447700900001")
    cases: list[pdus.Pdu] = [
        pdus.BindTransmitter(system_id="acct", password="pw", system_type="VMA"),
        pdus.BindTransmitterResp(system_id="SMSC"),
        pdus.BindReceiver(system_id="acct", password="pw"),
        pdus.BindReceiverResp(system_id="SMSC"),
        pdus.BindTransceiver(system_id="acct", password="pw"),
        pdus.BindTransceiverResp(system_id="SMSC", tlvs={"sc_interface_version": 0x34}),
        pdus.Outbind(system_id="SMSC", password="pw"),
        pdus.Unbind(),
        pdus.UnbindResp(),
        pdus.GenericNack(command_status=0x3),
        pdus.EnquireLink(),
        pdus.EnquireLinkResp(),
        pdus.SubmitSm(**sm, registered_delivery=1, short_message=b"hello"),
        pdus.SubmitSm(**sm, esm_class=0x40, data_coding=8,
                      short_message=bytes((5, 0, 3, 9, 2, 1)) + "héllo".encode("utf-16-be")),
        pdus.SubmitSmResp(message_id="1a"),
        pdus.SubmitSmResp(command_status=0x58),
        pdus.DeliverSm(**sm, esm_class=0x04, short_message=receipt,
                       tlvs={"receipted_message_id": "7b", "message_state": 2}),
        pdus.DeliverSmResp(),
        pdus.SubmitMulti(source_addr="SRC", dest_addresses=(
            pdus.SmeAddress("447700900001", 1, 1), pdus.DistributionList("friends")),
            short_message=b"hi all"),
        pdus.SubmitMultiResp(message_id="9", unsuccess_smes=(
            pdus.UnsuccessSme("447700900002", 1, 1, 0x0B),)),
        pdus.DataSm(**sm, tlvs={"message_payload": b"payload"}),
        pdus.DataSmResp(message_id="2"),
        pdus.QuerySm(message_id="1a", source_addr="SRC"),
        pdus.QuerySmResp(message_id="1a", message_state=2),
        pdus.CancelSm(message_id="1a", **sm),
        pdus.CancelSmResp(),
        pdus.ReplaceSm(message_id="1a", source_addr="SRC", short_message=b"new"),
        pdus.ReplaceSmResp(),
        pdus.AlertNotification(source_addr="447700900001", esme_addr="SRC"),
    ]
    return [p.replace(sequence_number=i + 1) for i, p in enumerate(cases)]


def capture(path, port: int = 2775, mss: int = 1460) -> list[pdus.Pdu]:
    cases = every_pdu()
    msgs = [(T0 + i * 0.01, "in" if p.is_response or p.command_name in
             ("deliver_sm", "outbind", "alert_notification") else "out", encode(p))
            for i, p in enumerate(cases)]
    write_pcap(str(path), [Flow(("10.0.0.1", 40000), ("10.0.0.2", port), msgs)], mss=mss)
    return cases


def tshark(*args: str) -> str:
    proc = subprocess.run(["tshark", *args], capture_output=True, text=True, timeout=60,
                          check=True)
    return proc.stdout


def test_tshark_finds_no_malformed_smpp(tmp_path):
    path = tmp_path / "all.pcap"
    cases = capture(path)
    commands = tshark("-r", str(path), "-n", "-d", "tcp.port==2775,smpp", "-Y", "smpp",
                      "-T", "fields", "-e", "smpp.command_id", "-E", "occurrence=a")
    seen = [int(c, 16) for line in commands.split() for c in line.split(",")]
    assert seen == [int(p.command_id) for p in cases]
    problems = tshark("-r", str(path), "-n", "-d", "tcp.port==2775,smpp", "-Y",
                      "_ws.malformed || _ws.expert.severity >= warning",
                      "-T", "fields", "-e", "frame.number", "-e", "_ws.expert.message")
    assert problems.strip() == ""


@pytest.mark.parametrize(("port", "mss"), [(2775, 1460), (9000, 40)])
def test_tshark_and_pcap_raw_agree(tmp_path, port, mss):
    path = tmp_path / "all.pcap"
    cases = capture(path, port, mss)
    a = logs.read(path, format="pcap", ports=(port,), progress=False)
    b = logs.read(path, format="pcap-raw", ports=(port,), progress=False)
    assert a["command"].tolist() == [p.command_name for p in cases]
    pd.testing.assert_frame_equal(a, b)
    assert a.attrs["bad_lines"] == b.attrs["bad_lines"] == []
    # a classic pcap is read by the pure-Python reader unless asked otherwise: it needs no
    # tshark, reads a capture cut short up to the cut, and (as asserted above) agrees with tshark
    assert logs.sniff(path) == "pcap-raw"
