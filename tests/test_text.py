"""smppkit.text: encodings, splitting, reassembly, diagnosis, and the smpplib cross-check."""

from __future__ import annotations

import ast
import codecs
import random
from pathlib import Path

import gsm0338
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from smpplib import gsm as smpplib_gsm

from smppkit import codec
from smppkit import text as text_module
from smppkit.protocol.errors import InvalidArgument, LocalProtocolError, RemoteProtocolError
from smppkit.protocol.pdus import DataSm, DeliverSm, EnquireLink, SubmitSm
from smppkit.sms.text import (
    decode_text,
    diagnose_text,
    encode_text,
    fill_bits,
    gsm_septets,
    is_gsm,
    non_gsm_chars,
    pack_septets,
    plan,
    reassemble,
    reassemble_all,
    split_udh,
    to_pdus,
    unpack_septets,
)

ADDR = {"source_addr": "12345", "destination_addr": "447700900000"}
METHODS = ["udh8", "udh16", "sar", "payload"]

# --- the module stays pure ----------------------------------------------------------------


def test_text_module_imports_no_io():
    tree = ast.parse(Path(text_module.__file__).read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module.split(".")[0])
    assert not names & {"socket", "asyncio", "threading", "time", "random"}


# --- GSM 03.38 ----------------------------------------------------------------------------

GSM_VECTORS = [
    # (text, unpacked octets) -- 3GPP TS 23.038 §6.2.1 basic table and §6.2.1.1 extension
    ("@", "00"),
    ("£", "01"),
    ("$", "02"),
    ("_", "11"),
    ("Δ", "10"),
    ("¤", "24"),
    ("¡", "40"),
    ("§", "5f"),
    ("¿", "60"),
    ("ü", "7e"),
    ("à", "7f"),
    ("\n", "0a"),
    ("\r", "0d"),
    ("A", "41"),
    ("\f", "1b0a"),
    ("^", "1b14"),
    ("{", "1b28"),
    ("}", "1b29"),
    ("\\", "1b2f"),
    ("[", "1b3c"),
    ("~", "1b3d"),
    ("]", "1b3e"),
    ("|", "1b40"),
    ("€", "1b65"),
]


@pytest.mark.parametrize(("text", "hexed"), GSM_VECTORS)
def test_gsm_vectors(text, hexed):
    assert encode_text(text, "gsm") == bytes.fromhex(hexed)
    assert decode_text(bytes.fromhex(hexed), 0) == text
    assert gsm_septets(text) == len(hexed) // 2


@pytest.mark.parametrize(
    ("text", "bad", "pos"),
    [("a`b", "`", 1), ("ça", "ç", 0), ("x\x1b", "\x1b", 1), ("hi 😀", "😀", 3), ("á", "á", 0)],
)
def test_gsm_rejects_characters_outside_the_alphabet(text, bad, pos):
    assert not is_gsm(text)
    assert non_gsm_chars(text) == [bad]
    with pytest.raises(ValueError, match=f"position {pos} is not in GSM 03.38"):
        encode_text(text, "gsm")


@pytest.mark.parametrize(
    ("text", "septets"), [("", 0), ("abc", 3), ("€", 2), ("a€[", 5), ("{}" * 80, 320)]
)
def test_gsm_septets(text, septets):
    assert gsm_septets(text) == septets


@pytest.mark.parametrize(
    ("data", "text"),
    [
        ("1b41", "A"),  # unknown extension code -> basic character (23.038 §6.2.1.1)
        ("1b1b41", " A"),  # 0x1B 0x1B -> space
        ("411b65", "A€"),
        ("f0", "\ufffd"),
        ("41 1b", "A\ufffd"),
    ],
)
def test_gsm_decode_edge_cases(data, text):
    assert decode_text(bytes.fromhex(data), 0, errors="replace") == text


@pytest.mark.parametrize(("data", "message"), [("411b", "lone escape"), ("41f0", "0xF0")])
def test_gsm_decode_strict_errors(data, message):
    with pytest.raises(RemoteProtocolError, match=message):
        decode_text(bytes.fromhex(data), 0)


@pytest.mark.parametrize(
    ("text", "encoding", "hexed"),
    [("é", "latin1", "e9"), ("€", "ucs2", "20ac"), ("😀", "ucs2", "d83dde00"), ("aé", "ucs2", "006100e9")],
)
def test_latin1_and_ucs2_vectors(text, encoding, hexed):
    assert encode_text(text, encoding) == bytes.fromhex(hexed)
    assert decode_text(bytes.fromhex(hexed), {"latin1": 3, "ucs2": 8}[encoding]) == text


@pytest.mark.parametrize(
    ("text", "encoding", "message"),
    [("€", "latin1", "not in Latin-1"), ("\ud800", "ucs2", "lone surrogate"), ("a", "utf8", "unknown")],
)
def test_encode_errors(text, encoding, message):
    with pytest.raises(ValueError, match=message):
        encode_text(text, encoding)


def test_decode_ucs2_odd_length_and_unknown_coding():
    with pytest.raises(RemoteProtocolError, match="odd number of octets"):
        decode_text(b"\x00a\x00", 8)
    assert decode_text(b"\x00a\x00", 8, errors="replace") == "a\ufffd"
    with pytest.raises(ValueError, match="0x02"):
        decode_text(b"\x01\x02", 2)
    assert decode_text(b"\x00\x02", 0xF1) == "@$"  # GSM 7-bit, message class group


@pytest.mark.parametrize(
    "call",
    [
        lambda: encode_text("a", "utf8"),
        lambda: encode_text("€", "latin1"),
        lambda: decode_text(b"a", 0, errors="ignore"),
        lambda: decode_text(b"a", 0x02),
        lambda: pack_septets(b"a", 7),
        lambda: plan("a", encoding="utf8"),
        lambda: plan("a" * 200, reference=256),
        lambda: plan(b"a"),  # type: ignore[arg-type]
        lambda: to_pdus("a", short_message=b"x", **ADDR),
        lambda: reassemble([]),
        lambda: diagnose_text("a", smsc_alphabet="ascii"),
    ],
)
def test_argument_errors_are_value_errors_not_protocol_misuse(call):
    """Issue 11 §6: a bad argument is an InvalidArgument (a ValueError); LocalProtocolError
    is kept for misusing a session, which nothing in the text module has."""
    with pytest.raises(InvalidArgument) as info:
        call()
    assert isinstance(info.value, ValueError)
    assert not isinstance(info.value, LocalProtocolError)


# --- packed septets -----------------------------------------------------------------------


@pytest.mark.parametrize(("udh_length", "bits"), [(0, 0), (5, 2), (6, 1), (7, 0), (12, 2)])
def test_fill_bits(udh_length, bits):
    assert fill_bits(udh_length) == bits
    assert (udh_length * 8 + bits) % 7 == 0


def test_pack_known_vector():
    # the classic example: "hellohello" packs to E8329BFD4697D9EC37
    septets = encode_text("hellohello", "gsm")
    assert pack_septets(septets).hex().upper() == "E8329BFD4697D9EC37"
    assert unpack_septets(bytes.fromhex("E8329BFD4697D9EC37"), 10) == septets
    # one fill bit (after a 6-octet UDH): the first septet moves up one bit
    assert pack_septets(b"A", 1) == bytes([0x41 << 1])
    assert unpack_septets(bytes([0x82]), 1, 1) == b"A"


def test_pack_errors():
    with pytest.raises(ValueError):
        pack_septets(b"\x80")
    with pytest.raises(ValueError):
        pack_septets(b"a", 7)
    with pytest.raises(RemoteProtocolError):
        unpack_septets(b"\x00" * 7, 9)


def test_tp_ud_after_udh_starts_on_a_septet_boundary():
    p = plan("a" * 200, reference=1)
    part = p.parts[0]
    ud = part.tp_ud
    assert ud[:6] == part.udh
    assert unpack_septets(ud[6:], part.units, fill_bits(6)) == part.data
    assert len(ud) == 140  # 6 + ceil((1 + 153 * 7) / 8)
    p16 = plan("a" * 200, method="udh16", reference=1)
    assert len(p16.parts[0].tp_ud) == 140  # 7 + 152 * 7 / 8, no fill bits


# --- limits and plans ---------------------------------------------------------------------

LIMITS = [
    # (encoding, character, method, per-part limit) -- smpp-facts §3.10
    ("gsm", "a", "udh8", 153),
    ("gsm", "a", "udh16", 152),
    ("gsm", "a", "sar", 160),
    ("latin1", "é", "udh8", 134),
    ("latin1", "é", "udh16", 133),
    ("latin1", "é", "sar", 140),
    ("ucs2", "ж", "udh8", 67),
    ("ucs2", "ж", "udh16", 66),
    ("ucs2", "ж", "sar", 70),
]


@pytest.mark.parametrize(("encoding", "ch", "method", "limit"), LIMITS)
def test_part_limits(encoding, ch, method, limit):
    p = plan(ch * (limit * 2 + 1), encoding=encoding, method=method)
    assert p.limit == limit
    assert [part.units for part in p.parts] == [limit, limit, 1]
    assert p.segments == 3


@pytest.mark.parametrize(
    ("encoding", "ch", "single"), [("gsm", "a", 160), ("latin1", "é", 140), ("ucs2", "ж", 70)]
)
def test_single_message_threshold(encoding, ch, single):
    one = plan(ch * single, encoding=encoding)
    assert one.segments == 1 and one.method == "single" and one.parts[0].udh == b""
    assert plan(ch * (single + 1), encoding=encoding).segments == 2


@pytest.mark.parametrize(
    ("text", "method", "segments"),
    [("a" * 306, "udh8", 2), ("a" * 307, "udh8", 3), ("a" * 304, "udh16", 2),
     ("a" * 305, "udh16", 3), ("€" * 80, "udh8", 1), ("€" * 81, "udh8", 2),
     # 306 septets would fit 2 x 153, but a part holds 76 whole euro signs (152 septets)
     ("€" * 153, "udh8", 3)],
    ids=lambda v: f"{v[0]}x{len(v)}" if isinstance(v, str) and len(v) > 20 else str(v),
)
def test_segment_counts(text, method, segments):
    assert plan(text, method=method).segments == segments


def test_auto_encoding_and_reasons():
    gsm = plan("Price: 5€ [net]")
    assert (gsm.encoding, gsm.data_coding, gsm.unit) == ("gsm", 0, "septet")
    assert gsm.reasons[0].startswith("GSM 03.38: every character fits (3 need the escape table: €, [, ]")
    ucs = plan("Hi 😀")
    assert (ucs.encoding, ucs.data_coding, ucs.units) == ("ucs2", 8, 5)
    assert "UCS-2: '😀' is not in GSM 03.38" in ucs.reasons[0]
    assert "surrogate pair" in ucs.reasons[0]
    forced = plan("hello", encoding="latin1")
    assert forced.data_coding == 3 and "chosen by the caller" in forced.reasons[0]


def test_udh_layouts():
    p8 = plan("a" * 200, reference=0xAB)
    assert [p.udh_hex for p in p8.parts] == ["05 00 03 ab 02 01", "05 00 03 ab 02 02"]
    p16 = plan("a" * 200, method="udh16", reference=0xF42E)
    assert p16.parts[0].udh == bytes.fromhex("060804F42E0201")  # smpp-facts §3.10 example
    assert p16.parts[1].udh == bytes.fromhex("060804F42E0202")


def test_escape_sequence_is_not_cut():
    p = plan("a" * 152 + "€" + "b" * 10)
    first, second = p.parts
    assert (first.units, first.text, first.data[-1:]) == (152, "a" * 152, b"a")
    assert second.text.startswith("€") and second.data.startswith(b"\x1be")
    assert any("'€' needs 2 and moved to part 2" in r for r in p.reasons)


def test_surrogate_pair_is_not_cut():
    p = plan("a" * 66 + "😀" + "b" * 10)
    first, second = p.parts
    assert first.units == 66 and first.data.endswith(b"\x00a")
    assert second.text.startswith("😀") and second.units == 12
    assert any("surrogate pair is not cut" in r for r in p.reasons)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"method": "udh8", "reference": 256}, "0..255"),
        ({"method": "udh16", "reference": 65536}, "0..65535"),
        ({"method": "sar", "reference": -1}, "0..65535"),
        ({"reference": True}, "must be an int"),
        ({"method": "smart"}, "unknown method"),
        ({"encoding": "utf8"}, "unknown encoding"),
    ],
)
def test_plan_argument_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        plan("a" * 200, **kwargs)


def test_at_most_255_parts():
    assert plan("a" * (153 * 255)).segments == 255
    with pytest.raises(ValueError, match="256 parts"):
        plan("a" * (153 * 255 + 1))


def test_payload_plan_is_one_part():
    p = plan("a" * 300, method="payload")
    (part,) = p.parts
    assert part.short_message == b"" and part.tlvs == {"message_payload": b"a" * 300}
    assert "2 segment(s)" in p.reasons[-1]


def test_plan_displays_in_a_notebook():
    p = plan("<b>" + "a" * 200, reference=3)
    frame = p.to_frame()
    assert list(frame.columns) == ["seq", "units", "limit", "udh", "data", "text"]
    assert frame["units"].tolist() == [153, 50] and frame["udh"][1] == "05 00 03 03 02 02"
    page = p._repr_html_()
    assert "&lt;b&gt;" in page and "<b>" + "a" not in page  # text is escaped
    assert page.count("<tr>") == 3 and "GSM 03.38" in page


# --- PDUs ---------------------------------------------------------------------------------


def test_to_pdus_udh8():
    pdus = to_pdus("a" * 200, reference=7, registered_delivery=1, **ADDR)
    assert [p.esm_class for p in pdus] == [0x40, 0x40]
    assert [p.short_message[:6].hex() for p in pdus] == ["050003070201", "050003070202"]
    assert all(p.registered_delivery == 1 and p.data_coding == 0 for p in pdus)
    assert all(codec.decode(codec.encode(p)) == p for p in pdus)


def test_to_pdus_short_text_has_no_udh():
    (pdu,) = to_pdus("hello", method="sar", **ADDR)
    assert (pdu.esm_class, pdu.short_message, pdu.tlvs) == (0, b"hello", ())


def test_to_pdus_sar_payload_and_extras():
    sar = to_pdus("a" * 200, method="sar", reference=0x1234, esm_class=0x03, **ADDR)
    assert [(p.tlv("sar_msg_ref_num"), p.tlv("sar_total_segments"), p.tlv("sar_segment_seqnum"))
            for p in sar] == [(0x1234, 2, 1), (0x1234, 2, 2)]
    assert [len(p.short_message) for p in sar] == [160, 40] and sar[0].esm_class == 0x03
    (pay,) = to_pdus("ж" * 100, method="payload", **ADDR)
    assert pay.short_message == b"" and pay.tlv("message_payload") == "ж".encode("utf-16-be") * 100
    udh = to_pdus("a" * 200, esm_class=0x03, validity_period="000001000000000R", **ADDR)
    assert udh[0].esm_class == 0x43 and udh[1].validity_period == "000001000000000R"
    with pytest.raises(ValueError, match="short_message comes from the plan"):
        to_pdus("x", short_message=b"x", **ADDR)
    mo = to_pdus(plan("a" * 200), pdu_class=DeliverSm, **ADDR)
    assert all(isinstance(p, DeliverSm) for p in mo)


# --- reassembly ---------------------------------------------------------------------------


@pytest.mark.parametrize("method", METHODS)
def test_reassemble_any_order_for_every_method(method):
    text = "Dear customer, " * 30 + "€😀" if method != "payload" else "x€" * 200
    pdus = to_pdus(text, method=method, reference=42, **ADDR)
    got = reassemble(list(reversed(pdus)))
    assert (got.text, got.complete, got.missing, got.duplicates) == (text, True, (), ())
    assert got.method == method


def test_reassemble_reports_gaps_and_duplicates():
    pdus = to_pdus("a" * 153 + "b" * 153 + "c" * 10, reference=9, **ADDR)
    got = reassemble([pdus[2], pdus[0], pdus[2]])
    assert got.text == "a" * 153 + "c" * 10
    assert (got.complete, got.missing, got.duplicates, got.received) == (False, (2,), (3,), (1, 3))
    assert got.reference == 9 and got.total == 3


def test_reassemble_reports_conflicts():
    pdus = to_pdus("a" * 200, reference=9, **ADDR)
    other = pdus[1].replace(short_message=pdus[1].short_message[:6] + b"zzz")
    bad_seq = pdus[1].replace(short_message=bytes.fromhex("05000309020a") + b"q")
    got = reassemble([pdus[0], pdus[1], other, bad_seq])
    assert got.complete and got.duplicates == (2,)
    assert any("different octets" in p for p in got.problems)
    assert any("seq 10 is outside 1..2" in p for p in got.problems)
    wrong_total = pdus[1].replace(short_message=bytes.fromhex("050003090302") + b"a")
    assert any("disagree on the total" in p for p in reassemble([pdus[0], wrong_total]).problems)


def test_reassemble_mo_deliver_sm_udh16_and_parts():
    text = "Привет! " * 20
    mo = to_pdus(text, method="udh16", reference=0xBEEF, pdu_class=DeliverSm, **ADDR)
    wire = [codec.decode(codec.encode(p)) for p in mo]
    got = reassemble(wire[::-1])
    assert (got.text, got.method, got.reference, got.data_coding) == (text, "udh16", 0xBEEF, 8)
    assert reassemble(plan(text, reference=5).parts).text == text


def test_reassemble_udh_inside_message_payload_and_other_ies():
    # UDH in message_payload (anchors.md §5 pain point 7)
    mo = DeliverSm(esm_class=0x40, tlvs={"message_payload": bytes.fromhex("050003010201") + b"hi"})
    got = reassemble([mo])
    assert (got.text, got.missing) == ("hi", (2,))
    data_sm = DataSm(data_coding=8, tlvs={"message_payload": "ok😀".encode("utf-16-be")})
    assert (reassemble([data_sm]).text, reassemble([data_sm]).method) == ("ok😀", "payload")
    with pytest.raises(ValueError, match="carries no message text"):
        reassemble([EnquireLink()])
    # a UDH with only a port-addressing IE (0x05) is stripped; the text is a single message
    port = DeliverSm(esm_class=0x40, short_message=bytes.fromhex("0605040b8423f0") + b"ok")
    assert reassemble([port]).text == "ok"


def test_reassemble_all_groups_messages():
    a = to_pdus("a" * 200, reference=1, **ADDR)
    b = to_pdus("b" * 200, reference=2, **ADDR)
    single = to_pdus("hi", **ADDR)
    mixed = [a[0], b[1], single[0], b[0], a[1]]
    assert [m.text for m in reassemble_all(mixed)] == ["a" * 200, "b" * 200, "hi"]
    with pytest.raises(ValueError, match="3 messages"):
        reassemble(mixed)
    with pytest.raises(ValueError, match="nothing"):
        reassemble([])


def test_split_udh_errors():
    assert split_udh(bytes.fromhex("050003010201") + b"x") == (bytes.fromhex("050003010201"), b"x")
    for bad in ("", "0a0003", "0300050102"):
        with pytest.raises(RemoteProtocolError):
            split_udh(bytes.fromhex(bad))


# --- diagnosis ----------------------------------------------------------------------------


def _gsm_pdu(text, **kw):
    return SubmitSm(short_message=encode_text(text, "gsm"), **kw)


DIAGNOSES = [
    # (message, smsc_alphabet, severity, words in the problem, words in the evidence)
    ("Pay @ $5 _now_ £", "latin1", "error", "reads data_coding 0 as Latin-1", "'@' -> '\\x00'"),
    ("Price $5 @ shop", "gsm", "info", "a GSM SMSC changes", "'@' -> '¡'"),
    (_gsm_pdu("@home $5"), "latin1", "error", "GSM 03.38 octets", "'\\x00home \\x025'"),
    (SubmitSm(short_message=b"user@example.com"), "gsm", "warning", "ASCII-looking", "¡"),
    (SubmitSm(short_message="café".encode("latin-1")), "gsm", "error", "above 0x7F", "0xE9"),
    (SubmitSm(short_message=bytes.fromhex("050003070201") + b"hello"), "gsm", "error",
     "lacks UDHI", "'é@¥"),
    (SubmitSm(esm_class=0x40, short_message=b"\x09hello"), "gsm", "error",
     "does not start with a valid UDH", "UDHL=9"),
    (SubmitSm(data_coding=8, short_message=b"\x00a\x00"), "gsm", "error", "odd number", "3 octets"),
    (SubmitSm(esm_class=0x40, short_message=bytes.fromhex("050003070201") + b"a" * 154), "gsm",
     "error", "154 septets where 153 fit", "160 octets"),
    (SubmitSm(short_message=b"a" * 161), "gsm", "error", "161 septets where 160 fit", ""),
    (SubmitSm(data_coding=8, esm_class=0x40,
              short_message=bytes.fromhex("060804000102 01") + b"\x00a" * 67), "gsm", "error",
     "67 UTF-16 code units where 66 fit", ""),
]


@pytest.mark.parametrize(("message", "alphabet", "severity", "problem", "evidence"), DIAGNOSES)
def test_diagnose_text(message, alphabet, severity, problem, evidence):
    (finding,) = diagnose_text(message, smsc_alphabet=alphabet)
    assert finding.severity == severity
    assert problem in finding.problem
    assert evidence in finding.evidence
    assert finding.fix


@pytest.mark.parametrize(
    ("message", "alphabet"),
    [("hello world", "latin1"), ("hello world", "gsm"), ("😀 ok", "latin1"),
     (SubmitSm(short_message=b"hello"), "latin1"), (SubmitSm(short_message=b"hello"), "gsm")],
)
def test_diagnose_clean(message, alphabet):
    assert diagnose_text(message, smsc_alphabet=alphabet) == []


@pytest.mark.parametrize("method", METHODS)
def test_diagnose_our_own_output_is_clean(method):
    for text in ("a" * 152 + "€" * 20, "a" * 66 + "😀" * 20, "ж" * 300, "short"):
        assert diagnose_text(to_pdus(text, method=method, **ADDR)) == []


# --- gsm0338: what it does and where it falls short ---------------------------------------


def test_gsm0338_extension_table_agrees():
    ext = "\f^{}\\[~]|€"
    assert gsm0338.Codec().encode(ext)[0] == encode_text(ext, "gsm")


def test_gsm0338_shortcomings_we_avoid():
    c = gsm0338.Codec()
    # U+001B ESCAPE is encoded as a bare 0x1B, so the next character turns into an extension
    # code: "a<ESC>(" comes back as "a{", and "a<ESC>" as "a"
    assert c.encode("a\x1b(")[0] == b"a\x1b(" and c.decode(b"a\x1b(")[0] == "a{"
    assert c.decode(c.encode("a\x1b")[0])[0] == "a"
    with pytest.raises(ValueError):
        encode_text("a\x1bb", "gsm")
    # unknown extension codes raise there; 23.038 says show the basic character
    with pytest.raises(UnicodeDecodeError):
        c.decode(b"\x1bA")
    assert decode_text(b"\x1bA", 0) == "A"
    # a trailing lone escape vanishes silently there
    assert c.decode(b"A\x1b")[0] == "A"
    # the incremental codec is broken
    with pytest.raises(AttributeError):
        codecs.getincrementalencoder("gsm03.38")().encode("a")


# --- smpplib.gsm.make_parts: every documented difference -----------------------------------

CORPUS = ["a" * 400, "Hello world! " * 30, "ж" * 200, "é" * 300, "0123456789" * 16, "short"]


@pytest.mark.parametrize("text", CORPUS)
def test_smpplib_agrees_on_plain_text(text):
    parts, dc, esm = smpplib_gsm.make_parts(text)
    ref = parts[0][3] if esm else 0
    ours = plan(text, reference=ref)
    assert (dc, esm) == (ours.data_coding, 0x40 if ours.segments > 1 else 0)
    assert parts == [p.short_message for p in ours.parts]


def test_smpplib_difference_1_cuts_escape_sequences():
    text = "a" * 152 + "€" + "b" * 20
    parts, _, _ = smpplib_gsm.make_parts(text)
    assert parts[0].endswith(b"\x1b") and parts[1][6:].startswith(b"e")
    # each part decoded alone, as a handset would without joining: the euro sign is gone
    assert decode_text(parts[1][6:], 0).startswith("ebbb")
    pdus = [SubmitSm(esm_class=0x40, short_message=p) for p in parts]
    assert "escape sequence cut" in diagnose_text(pdus)[0].problem
    ours = plan(text, reference=parts[0][3])
    assert ours.parts[0].data.endswith(b"a") and ours.parts[1].text.startswith("€")


def test_smpplib_difference_2_cuts_surrogate_pairs():
    text = "a" * 66 + "😀" + "b" * 10
    parts, dc, _ = smpplib_gsm.make_parts(text)
    assert dc == 8 and parts[0][6:].endswith(b"\xd8\x3d")
    pdus = [SubmitSm(esm_class=0x40, data_coding=8, short_message=p) for p in parts]
    problems = [f.problem for f in diagnose_text(pdus)]
    assert any("high surrogate" in p for p in problems) and any("low surrogate" in p for p in problems)
    with pytest.raises(RemoteProtocolError):
        decode_text(parts[0][6:], 8)
    # our reassembly still recovers smpplib's text, since it decodes the joined octets
    assert reassemble(pdus).text == text
    assert plan(text).parts[1].text.startswith("😀")


def test_smpplib_difference_3_random_reference():
    refs = set()
    for seed in range(8):
        random.seed(seed)
        refs.add(smpplib_gsm.make_parts("a" * 200)[0][0][3])
    assert len(refs) > 1
    assert plan("a" * 200, reference=77) == plan("a" * 200, reference=77)
    assert {p.udh[3] for p in plan("a" * 200, reference=77).parts} == {77}


def test_smpplib_difference_4_backtick_and_section_sign():
    assert smpplib_gsm.gsm_encode("`") == b"\x5f"
    assert decode_text(b"\x5f", 0) == "§"  # what the handset shows
    assert smpplib_gsm.make_parts("§ 5")[1] == 8  # whole message pushed to UCS-2
    assert plan("§ 5").encoding == "gsm" and plan("` 5").encoding == "ucs2"


def test_smpplib_difference_5_form_feed():
    assert smpplib_gsm.make_parts("a\fb")[1] == 8
    assert (plan("a\fb").encoding, plan("a\fb").units) == ("gsm", 4)


def test_smpplib_difference_6_escape_character():
    assert smpplib_gsm.gsm_encode("\x1b") == b"\x1b"
    assert not is_gsm("\x1b")


def test_smpplib_difference_7_no_udh16_no_sar_tlvs():
    parts, _, esm = smpplib_gsm.make_parts("a" * 200, use_udhi=False)
    assert esm == 0 and parts == [b"a" * 153, b"a" * 47]  # bare chunks, no numbering at all
    sar = to_pdus("a" * 200, method="sar", reference=3, **ADDR)
    assert [len(p.short_message) for p in sar] == [160, 40]
    assert all(p.tlv("sar_msg_ref_num") == 3 for p in sar)


# --- properties ---------------------------------------------------------------------------

GSM_ALPHABET = "".join(sorted(set("@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>"
                                  "?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
                                  "\f^{}\\[~]|€")))
gsm_texts = st.text(alphabet=GSM_ALPHABET, max_size=400)
tricky = st.text(alphabet="a€[ж😀é \U0001f3fd", max_size=400)
any_texts = st.one_of(gsm_texts, tricky, st.text(max_size=150))
FAST = settings(max_examples=60, deadline=None)


@FAST
@given(any_texts, st.sampled_from(METHODS), st.integers(0, 255))
def test_prop_reassemble_split_is_identity(text, method, reference):
    pdus = to_pdus(text, method=method, reference=reference, **ADDR)
    random.Random(reference).shuffle(pdus)
    got = reassemble(pdus)
    assert got.text == text and got.complete and not got.problems


@FAST
@given(any_texts, st.sampled_from(METHODS))
def test_prop_parts_within_limit_and_never_cut(text, method):
    p = plan(text, method=method)
    assert "".join(part.text for part in p.parts) == text
    for part in p.parts:
        assert part.units <= part.limit
        # every part is whole on its own: no lone escape, no lone surrogate
        assert decode_text(part.data, p.data_coding) == part.text
        assert encode_text(part.text, p.encoding) == part.data
        assert len(part.short_message) <= 254
    if p.segments > 1:
        assert all(part.units > part.limit - 2 for part in p.parts[:-1])  # greedy, not wasteful


@FAST
@given(gsm_texts, st.integers(0, 6))
def test_prop_gsm_round_trip_unpacked_and_packed(text, fill):
    septets = encode_text(text, "gsm")
    assert decode_text(septets, 0) == text
    assert septets == gsm0338.Codec().encode(text)[0]
    packed = pack_septets(septets, fill)
    assert len(packed) == (fill + 7 * len(septets) + 7) // 8
    assert decode_text(unpack_septets(packed, len(septets), fill), 0) == text


@FAST
@given(st.binary(max_size=64), st.sampled_from([0, 3, 8]))
def test_prop_decode_returns_text_or_raises_remote_error(data, data_coding):
    replaced = decode_text(data, data_coding, errors="replace")
    try:
        text = decode_text(data, data_coding)
    except RemoteProtocolError:
        assert "\ufffd" in replaced
    else:
        assert replaced == text
