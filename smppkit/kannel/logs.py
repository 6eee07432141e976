"""Kannel's logs as trace events: bearerbox.log (PDU dumps, DLR lookups, throttling) and access.log.

Every event is a dict with exactly the keys of `smppkit.trace.TRACE_FIELDS`, with
``system="kannel"``, so the analyses that read the simulator's trace read Kannel's logs too.
Each reader returns ``(events, bad_lines)``.

Strategy: the formats were taken from real logs of Debian's Kannel 1.4.5 run against the
simulator (saved, passwords masked, in ``data/kannel/``):

- bearerbox.log: every line is ``YYYY-MM-DD HH:MM:SS [pid] [thread] LEVEL: message``. At
  ``log-level = 0`` an SMPP PDU is logged as ``SMPP[smsc-id]: Sending PDU:`` (or
  ``Got PDU:``), ``SMPP PDU 0x... dump:``, one ``  field: value`` line per field (octet
  strings as an ``Octet string at ...`` block of ``data:`` hex lines) and ``SMPP PDU dump
  ends.``. Two links log from two threads whose lines can interleave, so a dump is
  collected per ``(pid, thread)`` and becomes one event when it ends. The lines that
  explain receipts and throttling become events of their own, with their meaning in
  ``note`` and ``command`` empty unless the line stands for a PDU.
- access.log: ``YYYY-MM-DD HH:MM:SS [FAILED ]Sent SMS|Receive DLR|Receive SMS [SMSC:..]
  [SVC:..] [ACT:..] [BINF:..] [FID:..] [META:..] [from:..] [to:..] [flags:..] [msg:N:text]
  [udh:N:hex]``; ``msg`` is read by its length, so a text holding ``]`` is read whole.

A line that has the expected shape but says nothing about messages (HTTP client set-up,
thread start/stop, ``throughput (x,y)`` bookkeeping) is *noise*: skipped, but counted in
``bad_lines.noise``. A line that does not have the shape at all (truncated, foreign) is a
*bad line*: ``(line number, text)`` in `bad_lines`, never dropped silently.
"""

from __future__ import annotations

import collections
import datetime as dt
import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from smppkit.protocol.codec import encode
from smppkit.protocol.constants import status_name
from smppkit.protocol.pdus import PDU_CLASSES
from smppkit.sms.receipts import RECEIPT_COMMANDS, is_receipt
from smppkit.sms.udh import concat_of
from smppkit.trace import TRACE_FIELDS

__all__ = ["LOG_PREFIX", "BadLines", "is_kannel_file", "is_kannel_line", "read_access_log", "read_bearerbox_log",
           "read_kannel_log", "read_kannel_logs"]

Event = dict[str, Any]


class BadLines(list[tuple[int, str]]):
    """``(line number, text)`` of lines that could not be read (1-based, per file).

    Attributes:
        noise: how many well-formed but irrelevant lines were skipped.
        noise_kinds: a Counter of those lines by kind (the message with digits removed).
    """

    def __init__(self) -> None:
        super().__init__()
        self.noise = 0
        self.noise_kinds: collections.Counter[str] = collections.Counter()

    def skip(self, message: str) -> None:
        self.noise += 1
        self.noise_kinds[re.sub(r"0x[0-9a-f]+|\d+", "N", message)[:60]] += 1

    def merge(self, other: BadLines) -> None:
        self.extend(other)
        self.noise += other.noise
        self.noise_kinds.update(other.noise_kinds)


def _lines(source: str | os.PathLike[str] | Iterable[str]) -> list[str]:
    """A path (PathLike, or a one-line str naming an existing file), a text, or lines."""
    if isinstance(source, os.PathLike) or (
        isinstance(source, str) and "\n" not in source and Path(source).is_file()
    ):
        return Path(source).read_text(encoding="utf-8", errors="replace").splitlines()
    if isinstance(source, str):
        return source.splitlines()
    return [line.rstrip("\n") for line in source]


def _zone(tz: str | None) -> dt.tzinfo | None:
    """The zone Kannel's stamps are read in: None (the default) is this machine's local time.

    Raises:
        ValueError: an unknown zone name.
    """
    if tz is None or tz.lower() == "local":
        return None
    if tz.upper() == "UTC":
        return dt.UTC
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {tz!r} (e.g. UTC, Europe/Berlin, local)") from exc


def _time(stamp: str, zone: dt.tzinfo | None = None) -> float:
    """Kannel writes time without a zone (gwlib/log.c), in the machine's local time.

    Raises:
        ValueError: a stamp that is no date (month 13, 25 o'clock).
    """
    when = dt.datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S")
    return (when if zone is None else when.replace(tzinfo=zone)).timestamp()


def _event(**fields: Any) -> Event:
    event: Event = dict.fromkeys(TRACE_FIELDS)
    event["system"] = "kannel"
    event.update(fields)
    return event


_RECEIPT_RE = {
    key: re.compile(rf"\b{key}:(\S*)", re.IGNORECASE) for key in ("id", "stat", "err")
}


def _receipt_fields(text: str) -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for key, rx in _RECEIPT_RE.items():
        m = rx.search(text)
        out[key] = m.group(1) if m else None
    return out


# -- bearerbox.log ----------------------------------------------------------------------------

#: "2026-11-27 14:12:27 [16800] [6] " -- the start of every bearerbox/smsbox log line.
LOG_PREFIX = re.compile(r"^(?P<ts>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) \[(?P<pid>\d+)\] \[(?P<thread>\d+)\] ")
_BB_LINE = re.compile(LOG_PREFIX.pattern + r"(?P<level>DEBUG|INFO|WARNING|ERROR|PANIC): (?P<msg>.*)$")
_DUMP_HEADER = re.compile(r"^SMPP\[(?P<smsc>[^\]]*)\]:? (?P<what>(?:Sending|Got) [^:]*):$")
_DUMP_START = re.compile(r"^SMPP PDU (?:0x)?[0-9a-fA-F]+ dump:$")
_FIELD = re.compile(r"^  (?P<name>[a-z_0-9]+):(?: (?P<value>.*))?$")
_INT_VALUE = re.compile(r"^(-?\d+) = 0x[0-9a-fA-F]+$")
_DATA = re.compile(r"^ +data: (?P<hex>(?:[0-9a-f]{2} ?)+)")
_OCTET_META = re.compile(r"^ +(?:Octet string at .*:|len: +\d+|size: +\d+|immutable: +\d+)$")

_INT_FIELDS = {
    "command_status": "command_status",
    "sequence_number": "sequence",
    "esm_class": "esm_class",
    "data_coding": "data_coding",
    "registered_delivery": "registered_delivery",
}
_BIND_KINDS = {
    "bind_transceiver": "transceiver",
    "bind_transmitter": "transmitter",
    "bind_receiver": "receiver",
}

# Single lines worth an event: (regex, function(match) -> fields incl. note).
# Kannel's DLR types (dlr.h); 1.4.5 was seen adding 32 to an EXPIRED receipt (type 34).
_DLR_TYPES = {1: "delivered", 2: "failed", 4: "buffered/intermediate", 8: "SMSC ack",
              16: "SMSC reject", 32: "expired"}


def _dlr_type(n: str) -> str:
    value = int(n)
    names = [name for bit, name in _DLR_TYPES.items() if value & bit]
    return f"{value} ({', '.join(names) or 'none'})"


def _adding(m: re.Match[str]) -> Event:
    return dict(
        instance=m["smsc"], message_id=m["ts"], source_addr=m["src"], destination_addr=m["dst"],
        note=f"pending DLR stored for smsc-id {m['smsc']} under id {m['ts']} (dlr-mask {m['mask']})",
    )


def _looking(m: re.Match[str]) -> Event:
    return dict(
        instance=m["smsc"], message_id=m["ts"], destination_addr=m["dst"],
        note=f"receipt arrived: looking up pending DLR id {m['ts']}, type {_dlr_type(m['type'])}",
    )


def _not_found(m: re.Match[str]) -> Event:
    return dict(
        instance=m["smsc"], destination_addr=m["dst"],
        note=(
            f"DLR not found: a receipt from smsc-id {m['smsc']} for {m['dst']} matched no pending "
            "message (msg-id-type does not fit the SMSC's ids, or it came back over a link "
            "with another smsc-id)"
        ),
    )


def _not_interested(m: re.Match[str]) -> Event:
    return dict(
        instance=m["smsc"], message_id=m["id"], destination_addr=m["dst"],
        note=f"receipt id {m['id']} (type {_dlr_type(m['type'])}) dropped: no pending DLR for it",
    )


def _ignoring(m: re.Match[str]) -> Event:
    return dict(note=(
        f"receipt of type {_dlr_type(m['type'])} ignored and deleted: not in dlr-mask {m['mask']} "
        "(Ignoring DLR message because of mask)"
    ))


def _smsc_error(m: re.Match[str]) -> Event:
    status = int(m["code"], 16)
    name = status_name(status)
    what = (
        "SMSC throttled the submit (ESME_RTHROTTLED): Kannel requeues it (temporary error) "
        "and retries after sms-resend-freq"
        if status == 0x58 else f"SMSC refused the {m['cmd']} with {name}: {m['text']}"
    )
    return dict(
        instance=m["smsc"], command=f"{m['cmd']}_resp", direction="in",
        command_status=status, note=what,
    )


_LINE_EVENTS: tuple[tuple[re.Pattern[str], Any], ...] = (
    (re.compile(r"^DLR\[\w+\]: Adding DLR smsc=(?P<smsc>[^,]*), ts=(?P<ts>[^,]*), src=(?P<src>[^,]*), "
                r"dst=(?P<dst>[^,]*), mask=(?P<mask>-?\d+)"), _adding),
    (re.compile(r"^DLR\[\w+\]: Looking for DLR smsc=(?P<smsc>[^,]*), ts=(?P<ts>[^,]*), dst=(?P<dst>[^,]*), "
                r"type=(?P<type>-?\d+)"), _looking),
    (re.compile(r"^DLR\[\w+\]: DLR from SMSC<(?P<smsc>[^>]*)> for DST<(?P<dst>[^>]*)> not found\.?"), _not_found),
    (re.compile(r"^SMPP\[(?P<smsc>[^\]]*)\]: got DLR but could not find message or was not interested "
                r"in it id<(?P<id>[^>]*)> dst<(?P<dst>[^>]*)>, type<(?P<type>-?\d+)>"), _not_interested),
    (re.compile(r"^DLR\[\w+\]: Ignoring DLR message because of mask type=(?P<type>-?\d+) "
                r"dlr->mask=(?P<mask>-?\d+)"), _ignoring),
    (re.compile(r"^SMPP\[(?P<smsc>[^\]]*)\]: SMSC returned error code 0x(?P<code>[0-9a-fA-F]+) "
                r"\((?P<text>[^)]*)\) in response to (?P<cmd>\w+) PDU\.?"), _smsc_error),
    (re.compile(r"^DLR\[\w+\]: created DLR message for URL <(?P<url>.*)>$"),
     lambda m: dict(note=(f"receipt matched a pending message: the dlr-url <{m['url']}> is called"
                          if m["url"] else "receipt matched a pending message, but its dlr-url is "
                          "empty (URL <>): the report goes nowhere"))),
    (re.compile(r"^DLR\[\w+\]: DLR not destroyed, still waiting for other delivery report"),
     lambda m: dict(note="non-final receipt reported; the pending DLR is kept for the final one")),
    (re.compile(r"^SMSC\[(?P<smsc>[^\]]*)\]: creating DLR message"),
     lambda m: dict(instance=m["smsc"], note="SMSC-level report (submit_sm_resp) built for the dlr-url")),
    (re.compile(r"^re-queing SMS not-yet-to-be resent"),
     lambda m: dict(note="a temporarily refused message waits in the router for sms-resend-freq")),
    (re.compile(r"^sms_router: time to sleep (?P<s>[\d.]+) secs"),
     lambda m: dict(note=f"router sleeps {m['s']} s before resending refused messages")),
    (re.compile(r"^SMPP: PDU NULL terminated string \((?P<f>\w+)\) has no NULL\."),
     lambda m: dict(note=(f"a response without its {m['f']} (allowed: 'the body is not returned if "
                          "the command_status is non-zero' -- SMPP v3.4 §4.4.2)"))),
    (re.compile(r"^Set throughput to (?P<t>[\d.]+) for smsc id <(?P<smsc>[^>]*)>"),
     lambda m: dict(instance=m["smsc"], note=f"Kannel throttles link {m['smsc']} to {m['t']} messages/s")),
    (re.compile(r"^Set SMS resend frequency to (?P<s>\d+) seconds"),
     lambda m: dict(note=f"sms-resend-freq: temporarily refused messages are retried after {m['s']} s")),
)
_NOISE_LEVELS = ("DEBUG", "INFO")


_PDU_BY_NAME = {cls.command_id.name: cls for cls in PDU_CLASSES.values()}


def _octets(command: str, fields: dict[str, Any]) -> str | None:
    """The PDU's bytes (hex) rebuilt from a dump's fields, when every body field is there."""
    cls = _PDU_BY_NAME.get(command)
    if cls is None:
        return None
    body: dict[str, Any] = {}
    for name, _ in cls.body:
        value = fields.get(name)
        if value is None:
            return None
        if isinstance(value, str) and name == "short_message":
            value = value.encode("latin-1", "replace")
        body[name] = value
    try:
        pdu = cls(command_status=fields.get("command_status") or 0,
                  sequence_number=fields.get("sequence_number") or 0, **body)
        return encode(pdu).hex()
    except (ValueError, TypeError):  # InvalidArgument is a ValueError
        return None


def _finish_dump(dump: dict[str, Any], when: float, pid: str, thread: str, binds: dict[str, str]) -> Event:
    fields: dict[str, Any] = dump["fields"]
    smsc = dump.get("smsc") or ""
    session = f"{smsc}#{thread}" if smsc else f"kannel#{thread}"
    command = fields.get("type_name") or ""
    ev = _event(
        time=when, instance=smsc, session=session, direction=dump.get("direction", ""),
        command=command, hex=_octets(command, fields),
    )
    for name, key in _INT_FIELDS.items():
        value = fields.get(name)
        if isinstance(value, int):
            ev[key] = value
    for key in ("source_addr", "destination_addr", "message_id"):
        value = fields.get(key)
        if isinstance(value, str):
            ev[key] = value or None
    if command in _BIND_KINDS:
        ev["system_id"] = fields.get("system_id") if isinstance(fields.get("system_id"), str) else None
        binds[session] = _BIND_KINDS[command]
    ev["bind"] = binds.get(session, "")
    sm = fields.get("short_message")
    sm_bytes = sm if isinstance(sm, bytes) else (sm.encode("latin-1", "replace") if isinstance(sm, str) else b"")
    esm = ev["esm_class"] or 0
    if command in RECEIPT_COMMANDS and is_receipt(esm):
        receipt = _receipt_fields(sm_bytes.decode("latin-1"))
        ev["message_id"] = fields.get("receipted_message_id") or receipt["id"]
        ev["receipt_stat"], ev["receipt_err"] = receipt["stat"], receipt["err"]
    if esm & 0x40 and len(sm_bytes) > 1:
        part = _udh_concat(sm_bytes)
        if part:
            ev["part_ref"], ev["part_total"], ev["part_seq"] = part
    what = dump.get("what") or "PDU dump"
    note = f"{what} ({command})"
    status = ev["command_status"]
    if status:
        note += f": {status_name(status)}"
    ev["note"] = note
    return ev


def _udh_concat(sm: bytes) -> tuple[int, int, int] | None:
    """(ref, total, seq) from a UDH concatenation IE 0x00 or 0x08 -- 3GPP TS 23.040 §9.2.3.24."""
    concat = concat_of(sm)
    return None if concat is None else (concat.reference, concat.total, concat.seq)


def _value(raw: str | None) -> Any:
    if raw is None:
        return None  # an octet string follows in a block
    if raw == "NULL":
        return ""
    m = _INT_VALUE.match(raw)
    if m:
        return int(m.group(1))
    if len(raw) >= 2 and raw[0] == raw[-1] == '"':
        return raw[1:-1]
    return raw


def read_bearerbox_log(source: str | os.PathLike[str] | Iterable[str], *, tz: str | None = None,
                       lines: list[int] | None = None) -> tuple[list[Event], BadLines]:
    """Read a bearerbox log file into trace events.

    Args:
        source: a path, the log's text, or an iterable of lines.
        tz: the zone Kannel's stamps are in (a zone name, "UTC"); None: this machine's
            local time, which is what Kannel writes.
        lines: if given, the 1-based line number of each event is appended to it.

    Returns:
        ``(events, bad_lines)``: one event per SMPP PDU dump and per line that explains a
        receipt (DLR stored / looked up / not found / ignored because of the mask / dlr-url
        called) or a refusal (``SMSC returned error code 0x00000058``, requeue, resend
        timer), plus WARNING/ERROR lines not otherwise known (note = the line). A PDU
        dump's octets are rebuilt into ``hex``. See `BadLines` for the second item (a line
        with an impossible time is one).
    """
    zone = _zone(tz)
    events: list[Event] = []
    numbers = lines if lines is not None else []
    bad = BadLines()
    dumps: dict[tuple[str, str], dict[str, Any]] = {}
    headers: dict[tuple[str, str], dict[str, str]] = {}
    binds: dict[str, str] = {}
    for n, line in enumerate(_lines(source), 1):
        if not line.strip():
            continue
        m = _BB_LINE.match(line)
        if not m:
            bad.append((n, line))
            continue
        ts, pid, thread, level, msg = m["ts"], m["pid"], m["thread"], m["level"], m["msg"]
        try:
            when = _time(ts, zone)
        except ValueError:
            bad.append((n, f"impossible time {ts}: {line}"))
            continue
        key = (pid, thread)
        dump = dumps.get(key)
        if dump is not None:
            if msg == "SMPP PDU dump ends.":
                del dumps[key]
                events.append(_finish_dump(dump, when, pid, thread, binds))
                numbers.append(dump["line"])
                continue
            f = _FIELD.match(msg)
            if f:
                dump["fields"][f["name"]] = _value(f["value"])
                dump["last"] = f["name"]
                continue
            d = _DATA.match(msg)
            if d and dump.get("last"):
                chunk = bytes.fromhex(d["hex"][:48].strip().replace(" ", ""))
                prev = dump["fields"].get(dump["last"])
                dump["fields"][dump["last"]] = (prev if isinstance(prev, bytes) else b"") + chunk
                continue
            if _OCTET_META.match(msg) or msg.strip() == "Octet string dump ends.":
                if msg.strip().startswith("Octet string at") and not isinstance(
                    dump["fields"].get(dump.get("last")), bytes
                ):
                    dump["fields"][dump["last"]] = b""
                continue
            # anything else inside a dump: the dump is cut short; keep what we have
            del dumps[key]
            bad.append((n, line))
            continue
        h = _DUMP_HEADER.match(msg)
        if h:
            headers[key] = {"smsc": h["smsc"], "what": h["what"], "line": n}
            continue
        if _DUMP_START.match(msg):
            header = headers.pop(key, {})
            what = header.get("what", "")
            direction = "out" if what.startswith("Sending") else "in" if what.startswith("Got") else ""
            dumps[key] = {"smsc": header.get("smsc", ""), "what": what, "direction": direction,
                          "fields": {}, "last": None, "line": header.get("line", n)}
            continue
        for rx, build in _LINE_EVENTS:
            lm = rx.match(msg)
            if lm:
                fields = build(lm)
                smsc = fields.get("instance") or ""
                session = f"{smsc}#{thread}" if smsc else f"kannel#{thread}"
                events.append(_event(
                    time=when, session=session, bind=binds.get(session, ""),
                    direction=fields.pop("direction", ""), command=fields.pop("command", ""),
                    **fields,
                ))
                numbers.append(n)
                break
        else:
            if level in _NOISE_LEVELS:
                bad.skip(msg)
            else:
                events.append(_event(
                    time=when, session=f"kannel#{thread}", direction="", command="",
                    note=f"{level}: {msg}",
                ))
                numbers.append(n)
    for key in dumps:  # a dump still open at the end of the file: the log was cut
        bad.append((0, f"unfinished PDU dump in thread {key[1]}"))
    return events, bad


# -- access.log -------------------------------------------------------------------------------

_ACCESS_LINE = re.compile(
    r"^(?P<ts>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) (?P<status>(?:[A-Z]+ )*?)(?P<kind>Sent SMS|Send SMS|"
    r"Receive DLR|Receive SMS|Sent DLR)(?P<rest> .*)$"
)
_ACCESS_NOISE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d Log (?:begins|ends)$")
_TAG = re.compile(r" \[(?P<tag>[A-Za-z]+):")


def _access_tags(rest: str) -> dict[str, str] | None:
    """The ``[TAG:value]`` fields; ``msg`` and ``udh`` are ``[tag:len:value]`` read by length."""
    tags: dict[str, str] = {}
    pos = 0
    while pos < len(rest):
        m = _TAG.match(rest, pos)
        if not m:
            return None
        tag, pos = m["tag"], m.end()
        if tag in ("msg", "udh"):
            colon = rest.find(":", pos)
            if colon < 0 or not rest[pos:colon].isdigit():
                return None
            length = int(rest[pos:colon])
            value = rest[colon + 1 : colon + 1 + length]
            pos = colon + 1 + length
            if rest[pos : pos + 1] != "]":
                return None
            tags[tag] = value
            pos += 1
        else:
            end = rest.find("]", pos)
            if end < 0:
                return None
            tags[tag] = rest[pos:end]
            pos = end + 1
    return tags


def read_access_log(source: str | os.PathLike[str] | Iterable[str], *, tz: str | None = None,
                    lines: list[int] | None = None) -> tuple[list[Event], BadLines]:
    """Read Kannel's access.log (bearerbox ``access-log``) into trace events.

    ``Sent SMS`` is a submit_sm the SMSC accepted (``message_id`` = ``FID``, the SMSC's id;
    ``registered_delivery`` is not in the line, the dlr-mask is, in ``note``). ``Receive DLR``
    is a report passed on to the dlr-url: a receipt (command deliver_sm, with its stat and
    err) or an SMSC-level ``ACK/``/``NACK/`` (command submit_sm_resp). ``FAILED`` in front
    means Kannel found no pending message for it. ``registered_delivery`` of a ``Sent SMS``
    is read from its dlr-mask (the last ``flags`` field): Kannel asks for a receipt (1)
    when the mask has bit 1 or 2, else not (0).

    Returns:
        ``(events, bad_lines)`` as in `read_bearerbox_log` (`tz` and `lines` too).
    """
    zone = _zone(tz)
    numbers = lines if lines is not None else []
    events: list[Event] = []
    bad = BadLines()
    for n, line in enumerate(_lines(source), 1):
        if not line.strip():
            continue
        if _ACCESS_NOISE.match(line):
            bad.skip("Log begins/ends")
            continue
        m = _ACCESS_LINE.match(line)
        tags = _access_tags(m["rest"]) if m else None
        if m is None or tags is None:
            bad.append((n, line))
            continue
        try:
            when = _time(m["ts"], zone)
        except ValueError:
            bad.append((n, f"impossible time {m['ts']}: {line}"))
            continue
        failed = m["status"].strip()
        kind = m["kind"]
        flags = tags.get("flags", "").split(":")
        last_flag = flags[-1] if flags and flags[-1].lstrip("-").isdigit() else None
        text = tags.get("msg", "")
        ev = _event(
            time=when, instance=tags.get("SMSC", ""), session="", direction="",
            message_id=tags.get("FID") or None, source_addr=tags.get("from"),
            destination_addr=tags.get("to"),
        )
        prefix = f"{failed} " if failed else ""
        if kind in ("Sent SMS", "Send SMS"):
            ev.update(command="submit_sm", direction="out")
            if last_flag is not None:
                ev["registered_delivery"] = 1 if int(last_flag) > 0 and int(last_flag) & 3 else 0
            ev["note"] = (f"{prefix}{kind}: submit_sm accepted by the SMSC, dlr-mask {last_flag}"
                          if not failed else f"{prefix}{kind}: the message was not sent")
        elif kind == "Receive SMS":
            ev.update(command="deliver_sm", direction="in", note=f"{prefix}{kind}: mobile-originated message")
        else:
            dtype = int(last_flag) if last_flag is not None and int(last_flag) > 0 else None
            if text.startswith(("ACK/", "NACK/")):
                ev.update(command="submit_sm_resp", direction="in")
                nack = re.match(r"NACK/0x([0-9a-fA-F]+)", text)
                ev["command_status"] = int(nack.group(1), 16) if nack else 0
            else:
                receipt = _receipt_fields(text)
                ev.update(command="deliver_sm", direction="in", receipt_stat=receipt["stat"],
                          receipt_err=receipt["err"], esm_class=None)
                ev["message_id"] = tags.get("FID") or receipt["id"]
            if failed:
                ev["note"] = (f"{prefix}{kind}: receipt for no pending message (see 'DLR ... not "
                              "found' in bearerbox.log)")
            else:
                ev["note"] = f"{kind}: report type {_dlr_type(str(dtype or 0))} passed to the dlr-url: {text}"
        events.append(ev)
        numbers.append(n)
    return events, bad


def is_kannel_line(line: str) -> bool:
    """True for a line as bearerbox/smsbox or the access log write it."""
    return bool(_BB_LINE.match(line) or _ACCESS_LINE.match(line) or _ACCESS_NOISE.match(line))


def is_kannel_file(path: str | os.PathLike[str]) -> bool:
    """True for a text file whose first non-blank line is a Kannel log line (a NUL in its
    first 4 KiB makes it binary: a capture, never a Kannel log)."""
    with open(path, "rb") as f:
        if b"\0" in f.read(4096):
            return False
    with open(path, encoding="utf-8", errors="replace") as f:
        head = next((line.rstrip("\n") for line in f if line.strip()), "")
    return is_kannel_line(head)


def read_kannel_log(path: str | os.PathLike[str], *, tz: str | None = None
                    ) -> tuple[list[Event], list[int], BadLines]:
    """One bearerbox or access log (told apart by its first line): events, their line
    numbers, bad lines."""
    text = Path(path).read_text(encoding="utf-8", errors="replace").splitlines()
    head = next((line for line in text if line.strip()), "")
    reader = read_bearerbox_log if _BB_LINE.match(head) else read_access_log
    numbers: list[int] = []
    events, bad = reader(text, tz=tz, lines=numbers)
    return events, numbers, bad


def read_kannel_logs(*sources: str | os.PathLike[str], tz: str | None = None) -> tuple[list[Event], BadLines]:
    """Read bearerbox and access logs together, telling them apart by their first lines.

    Returns:
        ``(events sorted by time, bad_lines)``; each bad line's number is prefixed by the
        file name (``"access.log:12"`` becomes the text's first element) -- see `BadLines`.
    """
    events: list[Event] = []
    bad = BadLines()
    for source in sources:
        path = Path(source)
        if not path.exists():
            continue
        got, _, b = read_kannel_log(path, tz=tz)
        events.extend(got)
        for number, text in b:
            bad.append((number, f"{path.name}: {text}"))
        bad.noise += b.noise
        bad.noise_kinds.update(b.noise_kinds)
    events.sort(key=lambda e: e["time"] or 0.0)
    return events, bad
