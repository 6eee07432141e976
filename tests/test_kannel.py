"""smppkit.kannel and smppkit.kannel_logs without running Kannel: config, checks, URL, log readers.

The log readers are tested on real Kannel 1.4.5 captures in data/kannel/ (see capture.py
there); the integration tests in tests/integration/test_kannel_live.py run Kannel itself.
"""

from __future__ import annotations

import urllib.parse
from pathlib import Path

import pytest

from smppkit import kannel
from smppkit.cli import main
from smppkit.kannel import checks as kannel_checks
from smppkit.kannel import runner as kannel_runner
from smppkit.kannel.checks import check_config
from smppkit.kannel.config import (
    MSG_ID_TYPE_FOR,
    Finding,
    generate_config,
    parse_config,
    sendsms_url,
)
from smppkit.kannel.logs import read_access_log, read_bearerbox_log, read_kannel_logs
from smppkit.trace import TRACE_FIELDS

DATA = Path(__file__).resolve().parent.parent / "data" / "kannel"

SMSCS = {"SMPP1": "127.0.0.1:2775", "SMPP2": "127.0.0.1:2776"}


def good_config(**options: object) -> str:
    return generate_config(SMSCS, system_id="acme", password="pw", **options)  # type: ignore[arg-type]


# -- generate / parse ---------------------------------------------------------------------


def test_generated_config_round_trips_through_the_parser() -> None:
    groups = parse_config(good_config())
    kinds = [g["group"] for g in groups]
    assert kinds == ["core", "smsc", "smsc", "smsbox", "sendsms-user", "sms-service"]
    core = groups[0]
    assert core["admin-allow-ip"] == "127.0.0.1"
    assert core["box-allow-ip"] == "127.0.0.1"
    assert core["dlr-storage"] == "internal"
    smsc1, smsc2 = groups[1], groups[2]
    assert (smsc1["smsc-admin-id"], smsc2["smsc-admin-id"]) == ("SMPP1", "SMPP2")
    for smsc in (smsc1, smsc2):
        assert smsc["smsc"] == "smpp"
        assert smsc["smsc-id"] == "nexmo"  # shared: receipts may come back over the other link
        assert smsc["smsc-username"] == "acme" and smsc["smsc-password"] == "pw"
        assert smsc["transceiver-mode"] == "true"
        assert smsc["msg-id-type"] == "0x01"
        assert smsc["enquire-link-interval"] == "30"
        assert smsc["max-pending-submits"] == "10"
        assert float(smsc["throughput"]) * 2 <= 30
    assert (smsc1["host"], smsc1["port"], smsc2["port"]) == ("127.0.0.1", "2775", "2776")
    user = groups[4]
    assert user["max-messages"] == "10" and user["concatenation"] == "true"
    assert user["user-allow-ip"] == "127.0.0.1"


def test_every_setting_line_is_preceded_by_a_comment() -> None:
    lines = good_config().splitlines()
    for i, line in enumerate(lines):
        if line and not line.startswith("#"):
            assert lines[i - 1].startswith("#"), f"line {i + 1} {line!r} has no comment above it"


def test_groups_have_no_blank_lines_inside() -> None:
    # "a blank line ends a group" -- every key must still land in its group
    text = good_config()
    keys = sum(1 for line in text.splitlines() if " = " in line and not line.startswith("#"))
    parsed = sum(len(g) for g in parse_config(text))
    assert parsed == keys


def test_default_config_uses_the_provider_placeholders() -> None:
    text = generate_config()
    smsc = [g for g in parse_config(text) if g["group"] == "smsc"]
    assert {g["smsc-username"] for g in smsc} == {"$nexmo_user"}
    assert {g["smsc-password"] for g in smsc} == {"$nexmo_password"}
    assert [g["smsc-admin-id"] for g in smsc] == ["SMPP1", "SMPP2"]


@pytest.mark.parametrize(("id_format", "expected"), [("nexmo", "0x01"), ("hex", "0x03"), ("decimal", "0x00")])
def test_msg_id_type_follows_the_id_format(id_format: str, expected: str) -> None:
    smsc = parse_config(good_config(id_format=id_format))[1]
    assert smsc["msg-id-type"] == expected
    assert MSG_ID_TYPE_FOR[id_format] == int(expected, 16)


def test_msg_id_type_none_leaves_it_out_and_bad_values_raise() -> None:
    assert "msg-id-type" not in parse_config(good_config(msg_id_type=None))[1]
    with pytest.raises(ValueError, match="msg-id-type"):
        good_config(msg_id_type=7)
    with pytest.raises(ValueError, match="id_format"):
        good_config(id_format="octal")


def test_parser_reads_a_path_and_stops_a_group_at_a_blank_line(tmp_path: Path) -> None:
    path = tmp_path / "kannel.conf"
    path.write_text('group = core\nadmin-port = 13000\n\nlost = "yes"\n# comment\ngroup = smsbox\n')
    assert parse_config(path) == [{"group": "core", "admin-port": "13000"}, {"group": "smsbox"}]
    assert parse_config(str(path)) == parse_config(path)


# -- check_config ---------------------------------------------------------------------------


def test_a_generated_config_has_no_findings() -> None:
    assert check_config(good_config()) == []
    assert check_config(DATA / "kannel.conf") == []


def _problems(findings: list[Finding]) -> str:
    return "\n".join(str(f) for f in findings)


def test_msg_id_type_unset_is_an_error() -> None:
    findings = check_config(good_config(msg_id_type=None))
    assert len(findings) == 2  # one per link
    assert all(f.severity == "error" for f in findings)
    assert "not found" in findings[0].problem
    assert "msg-id-type = 0x01" in findings[0].fix
    assert "has no msg-id-type" in findings[0].evidence


def test_msg_id_type_that_reads_the_receipt_id_as_hex_is_an_error() -> None:
    findings = check_config(good_config(msg_id_type=3))
    assert findings and "0x03" in findings[0].evidence + findings[0].problem
    assert "line " in findings[0].evidence


def test_real_capture_config_with_msg_id_type_unset_is_flagged() -> None:
    findings = check_config(DATA / "kannel-msg-id-type-unset.conf")
    assert [f.severity for f in findings] == ["error", "error"]


def test_dlr_mask_17_is_found_in_groups_urls_and_comments() -> None:
    text = good_config().replace(
        "group = sendsms-user\n", "group = sendsms-user\n# default mask\ndlr-mask = 17\n"
    )
    findings = check_config(text)
    assert len(findings) == 1 and "17" in findings[0].problem and "19" in findings[0].fix
    url = sendsms_url("+33123", "Hello World", dlr_mask=17)
    findings = check_config(good_config(), urls=[url])
    assert len(findings) == 1 and findings[0].evidence.startswith("url:")
    commented = good_config() + "# test: /cgi-bin/sendsms?...&dlr-mask=17\n"
    assert "dlr-mask 17" in _problems(check_config(commented))
    assert check_config(good_config(), urls=[sendsms_url("+33123", "x", dlr_mask=19)]) == []


def test_allow_ip_lists_that_lock_out_a_remote_host() -> None:
    findings = check_config(good_config(), remote_hosts=["10.0.0.5"])
    assert {f.problem.split(" refuses")[0] for f in findings} == {
        "the admin/status page", "box (smsbox) connections", "sendsms",
    }
    opened = good_config(allow_ips=("127.0.0.1", "10.0.0.*"))
    assert check_config(opened, remote_hosts=["10.0.0.5"]) == []


def test_remote_smsbox_against_a_localhost_only_bearerbox() -> None:
    text = good_config().replace('bearerbox-host = "127.0.0.1"', 'bearerbox-host = "10.1.1.1"')
    findings = check_config(text)
    assert len(findings) == 1 and "remote bearerbox" in findings[0].problem


def test_ip_rules_follow_kannel() -> None:
    assert kannel_checks._ip_allowed(None, None, "1.2.3.4")  # no deny list: everyone
    assert not kannel_checks._ip_allowed("127.0.0.1", "*.*.*.*", "1.2.3.4")
    assert kannel_checks._ip_allowed("127.0.0.1;1.2.*.*", "*.*.*.*", "1.2.3.4")
    assert not kannel_checks._ip_matches("1.2.*", "1.2.3.4")  # '*' is one number, not a suffix


@pytest.mark.parametrize("max_messages", [None, 1])
def test_max_messages_missing_or_1_with_long_texts(max_messages: int | None) -> None:
    text = good_config().replace("max-messages = 10\n", "" if max_messages is None else "max-messages = 1\n")
    findings = check_config(text)
    assert len(findings) == 1 and "max-messages" in findings[0].problem
    assert check_config(text, long_texts=False) == []


def test_max_messages_without_concatenation() -> None:
    text = good_config().replace("concatenation = true", "concatenation = false")
    findings = check_config(text)
    assert len(findings) == 1 and "UDH" in findings[0].problem


def test_throughput_above_the_account_limit_is_summed_over_links() -> None:
    findings = check_config(good_config(throughput=20.0), account_throughput=30)
    assert len(findings) == 1
    assert "40/s" in findings[0].problem and "15" in findings[0].fix
    assert check_config(good_config(throughput=20.0), account_throughput=40) == []
    missing = check_config(good_config(throughput=None))
    assert len(missing) == 2 and all("no throughput" in f.problem for f in missing)


def test_distinct_smsc_ids_on_one_cluster() -> None:
    findings = check_config(good_config(smsc_id=None))
    assert len(findings) == 1
    assert "other link" in findings[0].problem


def test_findings_are_sorted_errors_first() -> None:
    text = good_config(msg_id_type=None, throughput=None).replace("max-messages = 10\n", "")
    severities = [f.severity for f in check_config(text)]
    assert severities == sorted(severities, key=["error", "warning", "info"].index)


# -- sendsms_url / explain_dlr_mask ---------------------------------------------------------


def test_sendsms_url_reproduces_the_source_document() -> None:
    url = sendsms_url("+33XXXXXXX", "Hello World", base="https://localhost:13013",
                      username="username", password="pwd", dlr_mask=17)
    assert url == (
        "https://localhost:13013/cgi-bin/sendsms?username=username&password=pwd&to=%2B33XXXXXXX"
        "&text=Hello%20World&from=test&charset=ISO-8859-1&dlr-mask=17"
    )


def test_sendsms_url_escapes_text_in_its_charset_and_the_dlr_url() -> None:
    url = sendsms_url("+4477", "café & 50% +1", dlr_mask=19,
                      dlr_url="http://127.0.0.1:8080/dlr?id=7&d=%d&A=%A", meta_data="?smpp?x=1")
    query = url.split("?", 1)[1]
    assert "text=caf%E9%20%26%2050%25%20%2B1" in query  # ISO-8859-1 é = 0xE9
    assert "dlr-url=http%3A%2F%2F127.0.0.1%3A8080%2Fdlr%3Fid%3D7%26d%3D%25d%26A%3D%25A" in query
    assert "meta-data=%3Fsmpp%3Fx%3D1" in query
    fields = dict(urllib.parse.parse_qsl(query, encoding="latin-1"))
    assert fields["text"] == "café & 50% +1"
    assert fields["dlr-url"] == "http://127.0.0.1:8080/dlr?id=7&d=%d&A=%A"
    utf8 = sendsms_url("1", "€", charset=None)
    assert "text=%E2%82%AC" in utf8 and "charset" not in utf8
    with pytest.raises(UnicodeEncodeError):
        sendsms_url("1", "€")


def test_explain_dlr_mask_is_the_shared_one() -> None:
    from smppkit.sms.meanings import explain_dlr_mask

    assert kannel.explain_dlr_mask is explain_dlr_mask
    assert kannel.explain_dlr_mask(17).warnings  # failures dropped


# -- log readers on real captures -------------------------------------------------------------


def _check_schema(events: list[dict]) -> None:
    assert events
    for event in events:
        assert tuple(event) == TRACE_FIELDS
        assert event["system"] == "kannel"
        assert isinstance(event["time"], float)
        assert event["note"]


@pytest.mark.parametrize("name", sorted(p.name for p in DATA.glob("*.log")))
def test_every_capture_reads_without_bad_lines(name: str) -> None:
    events, bad = read_kannel_logs(DATA / name)
    _check_schema(events)
    assert list(bad) == []
    assert bad.noise > 0  # "Log begins" or DEBUG chatter is counted, not silently dropped


def test_bearerbox_pdu_dumps_become_pdu_events() -> None:
    events, _ = read_bearerbox_log(DATA / "bearerbox-receipts.log")
    pdus = [e for e in events if e["command"] and e["sequence"] is not None]
    commands = {e["command"] for e in pdus}
    assert {"bind_transceiver", "submit_sm", "submit_sm_resp", "deliver_sm", "deliver_sm_resp"} <= commands
    binds = [e for e in pdus if e["command"] == "bind_transceiver"]
    assert len(binds) == 2 and {e["bind"] for e in binds} == {"transceiver"}
    assert all(e["direction"] == "out" for e in pdus if e["command"] == "submit_sm")
    resp = next(e for e in pdus if e["command"] == "submit_sm_resp")
    assert resp["direction"] == "in" and len(resp["message_id"]) == 16  # the provider's hex id
    parts = [e for e in pdus if e["command"] == "submit_sm" and e["part_total"]]
    assert [(e["part_total"], e["part_seq"]) for e in parts] == [(2, 1), (2, 2)]
    assert parts[0]["registered_delivery"] == 1 and parts[1]["registered_delivery"] == 0
    receipts = [e for e in pdus if e["command"] == "deliver_sm"]
    assert {e["receipt_stat"] for e in receipts} >= {"DELIVRD", "UNDELIV", "EXPIRED"}
    assert all(e["message_id"].isdigit() for e in receipts)  # the decimal receipt id


def test_dlr_not_found_lines() -> None:
    events, _ = read_bearerbox_log(DATA / "bearerbox-dlr-not-found.log")
    lost = [e for e in events if e["note"].startswith("DLR not found")]
    assert len(lost) == 2
    assert {e["destination_addr"] for e in lost} == {"447700900000", "447700900001"}
    stored = [e for e in events if e["note"].startswith("pending DLR stored")]
    assert all(not e["message_id"].isdigit() for e in stored)  # stored as the hex string


def test_mask_17_line() -> None:
    events, _ = read_bearerbox_log(DATA / "bearerbox-mask17.log")
    ignored = [e for e in events if "because of mask" in e["note"]]
    assert len(ignored) == 1 and "dlr-mask 17" in ignored[0]["note"]


def test_throttled_lines() -> None:
    events, _ = read_bearerbox_log(DATA / "bearerbox-throttled.log")
    throttled = [e for e in events if e["command_status"] == 0x58]
    assert throttled
    assert all(e["command"] == "submit_sm_resp" and e["direction"] == "in" for e in throttled)
    assert any("requeues" in e["note"] for e in throttled)
    assert any("sms-resend-freq" in e["note"] for e in events)


def test_access_log_lines() -> None:
    events, bad = read_access_log(DATA / "access.log")
    assert bad.noise == 2  # Log begins / Log ends
    sent = [e for e in events if e["command"] == "submit_sm"]
    assert len(sent) == 4 and all(e["message_id"].isdigit() for e in sent)
    receipts = [e for e in events if e["command"] == "deliver_sm"]
    assert {e["receipt_stat"] for e in receipts} >= {"DELIVRD", "UNDELIV", "EXPIRED"}
    ack = next(e for e in events if e["command"] == "submit_sm_resp")
    assert ack["command_status"] == 0 and "ACK/" in ack["note"]
    failed, _ = read_access_log(DATA / "access-dlr-not-found.log")
    assert sum(e["note"].startswith("FAILED") for e in failed) == 2


def test_bad_and_noise_lines_are_counted_with_their_numbers() -> None:
    text = (
        "2026-01-01 00:00:00 [1] [2] DEBUG: HTTP: Creating HTTPClient for `127.0.0.1'.\n"
        "garbage that is not a Kannel line\n"
        "2026-01-01 00:00:00 [1] [6] ERROR: something new\n"
        "2026-01-01 00:00:01 [1] [6] DEBUG: SMPP PDU 0x1 dump:\n"
        "2026-01-01 00:00:01 [1] [6] DEBUG:   type_name: enquire_link\n"
        "2026-01-01 00:00:01 [1] [6] DEBUG: SMPP PDU dump ends.\n"
    )
    events, bad = read_bearerbox_log(text)
    assert list(bad) == [(2, "garbage that is not a Kannel line")]
    assert bad.noise == 1
    assert [e["note"] for e in events] == ["ERROR: something new", "PDU dump (enquire_link)"]
    access, bad = read_access_log("2026-01-01 00:00:00 Sent SMS [SMSC:x] [msg:5:a]b]\n")
    assert access == [] and [n for n, _ in bad] == [1]
    access, bad = read_access_log(
        "2026-01-01 00:00:00 Sent SMS [SMSC:x] [FID:1] [flags:-1:0:-1:-1:19] [msg:4:a]b]] [udh:0:]\n"
    )
    assert not bad and access[0]["message_id"] == "1"


def test_missing_kannel_is_one_clear_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(kannel_runner.shutil, "which", lambda name: None)
    monkeypatch.setattr(kannel_runner.os, "access", lambda path, mode: False)
    with pytest.raises(kannel.KannelNotInstalled, match="apt-get install kannel") as info:
        kannel.KannelLab({"SMPP1": "127.0.0.1:1"})
    assert "\n" not in str(info.value)


# -- tables for notebooks ------------------------------------------------------------------------


def test_config_frame_has_one_row_per_setting_with_its_comment() -> None:
    frame = kannel.config_frame(good_config())
    assert list(frame.columns) == ["group", "key", "value", "what"]
    keys = sum(1 for line in good_config().splitlines() if " = " in line and not line.startswith("#"))
    assert len(frame) == keys
    smsc = frame[frame.group == "smsc"].set_index("key")
    assert smsc.loc["msg-id-type", "value"].tolist() == ["0x01", "0x01"]
    assert "resp id in hex" in smsc.loc["msg-id-type", "what"].iloc[0]
    assert set(smsc.loc["smsc-password", "value"]) == {"********"}  # masked
    assert set(kannel.config_frame(good_config(), mask_secrets=False).query("key == 'smsc-password'").value) == {"pw"}
    placeholders = kannel.config_frame(generate_config()).query("key == 'smsc-password'")
    assert set(placeholders.value) == {"$nexmo_password"}  # no secret: shows what to replace


def test_config_frame_follows_kannel_grouping(tmp_path: Path) -> None:
    path = tmp_path / "kannel.conf"
    path.write_text('# the core\ngroup = core\n# port\nadmin-port = 13000\n\nlost = "yes"\ngroup = smsbox\n')
    frame = kannel.config_frame(path)
    assert frame.values.tolist() == [
        ["core", "group", "core", "the core"],
        ["core", "admin-port", "13000", "port"],
        ["smsbox", "group", "smsbox", ""],
    ]


def test_findings_frame_keeps_order_and_fields() -> None:
    findings = check_config(good_config(msg_id_type=None, throughput=None))
    frame = kannel.findings_frame(findings)
    assert list(frame.columns) == ["severity", "problem", "evidence", "fix"]
    assert frame.severity.tolist() == [f.severity for f in findings]
    assert kannel.findings_frame([]).empty


@pytest.mark.parametrize(("d", "name"), [(1, "success"), (2, "failure"), (34, "failure+expired"),
                                         (8, "smsc_success"), (16, "smsc_reject"), (0, ""), (None, ""),
                                         (65, "success+64")])
def test_dlr_type_name(d: int | None, name: str) -> None:
    assert kannel.dlr_type_name(d) == name


def test_dlr_lookups_show_the_hex_stored_id_against_the_decimal_receipt_id() -> None:
    events, _ = read_bearerbox_log(DATA / "bearerbox-dlr-not-found.log")
    lost = kannel.dlr_lookups(events)
    assert lost.values.tolist() == [
        ["447700900000", "0B00000700000001", "792633564481978369", 1, False, "not found"],
        ["447700900001", "0B00000700000002", "792633564481978370", 2, False, "not found"],
    ]
    assert str(lost.d.dtype) == "Int64" and lost.found.dtype == bool
    events, _ = read_bearerbox_log(DATA / "bearerbox-receipts.log")
    matched = kannel.dlr_lookups(events)
    assert len(matched) >= 3 and matched.found.all()
    assert (matched.stored_id == matched.receipt_id).all()  # msg-id-type 0x01: both decimal
    assert set(matched.outcome) == {"matched"}
    events, _ = read_bearerbox_log(DATA / "bearerbox-mask17.log")
    masked = kannel.dlr_lookups(events)
    assert masked.outcome.tolist() == ["matched", "ignored (dlr-mask 17)"] and masked.found.all()
    assert kannel.dlr_lookups([]).empty


def _fake_lab(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> kannel.KannelLab:
    monkeypatch.setattr(kannel, "find_kannel", lambda: ("/bin/true", "/bin/true"))
    return kannel.KannelLab(SMSCS, workdir=tmp_path)


def test_receipts_are_stable_and_sorted(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    lab = _fake_lab(monkeypatch, tmp_path)
    for label, to, mask in (("m1", "447700900001", 31), ("m2", "447700900000", 17)):
        lab.sent.append(kannel.SentMessage(label, to, "x", mask, "url", 202, "0: Accepted for delivery"))
    receipt = "id:7926 sub:001 dlvrd:000 submit date:2601010000 done date:2601010000 stat:{} err:{} text:x"
    # arrival order scrambled, as two links and a threaded listener make it
    lab.dlrs += [
        {"received": 3.0, "label": "m2", "d": "1", "p": "447700900000", "A": receipt.format("DELIVRD", "000")},
        {"received": 2.0, "label": "m1", "d": "2", "p": "447700900001", "A": receipt.format("UNDELIV", "001")},
        {"received": 1.0, "label": "m1", "d": "4", "p": "447700900001", "A": receipt.format("ACCEPTD", "000")},
        {"received": 0.0, "label": "m1", "d": "8", "p": "447700900001", "A": "ACK/"},
    ]
    frame = lab.receipts()
    assert list(frame.columns) == ["label", "to", "dlr_mask", "d", "dlr", "report"]
    assert frame[["label", "d", "dlr", "report"]].values.tolist() == [
        ["m1", 8, "smsc_success", "ACK/"],
        ["m1", 4, "buffered", "stat:ACCEPTD err:000"],
        ["m1", 2, "failure", "stat:UNDELIV err:001"],
        ["m2", 1, "success", "stat:DELIVRD err:000"],
    ]
    assert frame.dlr_mask.tolist() == [31, 31, 31, 17] and str(frame.d.dtype) == "Int64"


def test_log_lines_drop_the_prefix(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    lab = _fake_lab(monkeypatch, tmp_path)
    lab.bearerbox_log.write_text((DATA / "bearerbox-mask17.log").read_text())
    assert lab.log_lines("because of mask") == [
        "DEBUG: DLR[internal]: Ignoring DLR message because of mask type=2 dlr->mask=17"
    ]
    assert lab.wait_for_log("no such line", timeout=0.1) == []
    assert len(lab.log_lines()) == len(lab.log_text().splitlines())


# -- smppkit kannel (the command line) -------------------------------------------------------------


def test_cli_config_prints_placeholders_or_real_credentials(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["kannel", "config"]) == 0
    text = capsys.readouterr().out
    assert text == generate_config()
    assert main(["kannel", "config", "--id-format", "hex", "--real-credentials", "acme:s3cret",
                 "--smsc", "A=127.0.0.1:2775", "--allow-ip", "127.0.0.1", "--allow-ip", "10.0.0.*"]) == 0
    (smsc,) = [g for g in parse_config(capsys.readouterr().out) if g["group"] == "smsc"]
    assert (smsc["smsc-username"], smsc["smsc-password"], smsc["msg-id-type"]) == ("acme", "s3cret", "0x03")
    assert (smsc["smsc-admin-id"], smsc["host"], smsc["port"]) == ("A", "127.0.0.1", "2775")


def test_cli_config_asks_for_a_missing_password_and_writes_a_private_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import getpass

    monkeypatch.setattr(getpass, "getpass", lambda prompt: "typed")
    out = tmp_path / "kannel.conf"
    assert main(["kannel", "config", "--real-credentials", "acme", "--msg-id-type", "unset", "-o", str(out)]) == 0
    assert "mode 0600" in capsys.readouterr().err
    assert out.stat().st_mode & 0o777 == 0o600
    smsc = parse_config(out)[1]
    assert smsc["smsc-password"] == "typed" and "msg-id-type" not in smsc


@pytest.mark.parametrize("argv", [["--smsc", "nohostport"], ["--msg-id-type", "9"], ["--msg-id-type", "x"],
                                  ["--real-credentials", ":pw"]])
def test_cli_config_bad_arguments_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["kannel", "config", *argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("smppkit kannel config: ") and err.count("\n") == 1


def test_cli_check_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["kannel", "check", str(DATA / "kannel.conf")]) == 0
    assert capsys.readouterr().out.endswith("kannel.conf: no findings\n")
    assert main(["kannel", "check", str(DATA / "kannel-msg-id-type-unset.conf")]) == 1
    out = capsys.readouterr().out
    assert out.count("[error]") == 2 and out.endswith(": 2 errors\n")
    warn = tmp_path / "warn.conf"
    warn.write_text(good_config())
    assert main(["kannel", "check", str(warn), "--url", sendsms_url("1", "x", dlr_mask=17)]) == 0
    assert capsys.readouterr().out.endswith(": 1 warning\n")
    assert main(["kannel", "check", str(warn), "--remote-host", "10.0.0.5"]) == 1
    assert main(["kannel", "check", str(tmp_path / "missing.conf")]) == 2
    assert "no such file" in capsys.readouterr().err


def test_cli_run_without_kannel_is_one_clear_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(kannel_runner.shutil, "which", lambda name: None)
    monkeypatch.setattr(kannel_runner.os, "access", lambda path, mode: False)
    assert main(["kannel", "run"]) == 2
    err = capsys.readouterr().err
    assert "apt-get install kannel" in err and err.count("\n") == 1


def test_the_names_that_left_kannel_config_still_import_from_it() -> None:
    """config.py was split by responsibility (checks, dlr, runner, cli); old imports work."""
    from smppkit.kannel import cli, dlr
    from smppkit.kannel import config as old_home

    moved = {"check_config": kannel_checks, "findings_frame": kannel_checks, "dlr_lookups": dlr,
             "dlr_type_name": dlr, "KannelLab": kannel_runner, "KannelNotInstalled": kannel_runner,
             "SentMessage": kannel_runner, "find_kannel": kannel_runner, "run": kannel_runner,
             "register_cli": cli}
    for name, module in moved.items():
        assert getattr(old_home, name) is getattr(module, name) is getattr(kannel, name)
    with pytest.raises(AttributeError, match="no attribute 'nothing_here'"):
        old_home.nothing_here  # noqa: B018
