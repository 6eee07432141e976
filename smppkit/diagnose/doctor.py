"""The receipt doctor: read a log, say why receipts go missing, show the evidence, give the fix.

``diagnose(events)`` takes an event table (`smppkit.logs.read`, ``sim.trace()``), one or
more log paths (smppkit JSONL traces, smpplib debug logs, captures, Kannel bearerbox and
access logs) or a list of trace events, and returns a `Report` of `Finding` s. Each
finding has a severity, a stable ``code``, a plain-language cause, the evidence (counts,
and example PDUs or log lines with their file:line and hex) and the fix.

Strategy: every check is a small function of one normalised table (`_Log`: the trace
schema of `smppkit.trace`, with time in seconds and, per row, who sent the PDU -- the
``direction`` is the writer's: the simulator writes as the SMSC, every other source as
the ESME) and of `_Facts`, what it needs of the whole table (counts, the pairing of
receipts with submit_sm_resp, rates, the first rows of each selection). `_facts` computes
those in pandas; `smppkit.diagnose.doctor_sql` computes them as SQL (DuckDB, Spark) and
gives the checks only the rows they read one by one, so the same checks -- their rules,
thresholds and wording -- run on logs of any size. A check speaks only when the log holds
evidence; things that are normal for the provider (hex submit_sm_resp ids with decimal
receipt ids, receipts arriving on the other bind of the cluster) are ``info`` unless the
log also shows them going wrong, so a healthy log gives no warning. Severities: ``error`` = receipts or messages are being
lost; ``warning`` = something works badly or will fail under load; ``info`` = worth
knowing, nothing to fix.

Checks and their codes:

==========================  ===================================================================
code                        what it looks at
==========================  ===================================================================
transmitter-only            successful binds are all bind_transmitter (no receipt can come)
registered-delivery-0       submit_sm with registered_delivery bits 1-0 = 0
id-mismatch                 client notes "receipt for unknown message id" on the bind that sent
                            the message, with ids that differ only in form (hex vs decimal)
id-forms (info)             submit_sm_resp and receipt ids written in different forms
receipts-other-session      receipts for a bind's messages delivered on another instance's bind
                            (warning when the client's notes show them unmatched, else info)
receipt-resp-retried        deliver_sm_resp statuses the provider retries (0x58, 0x08, ...)
receipt-resp-refused        other non-zero deliver_sm_resp statuses: the receipt is dropped
receipt-resp-missing        deliver_sm left unanswered, or answered with a sequence_number
                            that matches no deliver_sm
split-parts                 parts of one concatenated message sent through different instances
throttled                   ESME_RTHROTTLED share, rate sent vs rate accepted
submit-refused              submit_sm_resp errors other than ESME_RTHROTTLED
enquire-link-unanswered     enquire_link without enquire_link_resp
idle-unbind                 unbind sent by the SMSC after a silence
already-bound               bind refused with ESME_RALYBND (too many binds)
bind-refused                bind refused for any other reason
kannel-dlr-mask             Kannel dlr-mask without bit 2: failure receipts ignored
kannel-dlr-not-found        Kannel "DLR ... not found": msg-id-type does not fit the ids
receipt-before-resp         receipts that arrive before the submit_sm_resp giving their id
receipts-other-link         Kannel: a receipt looked up under another link's smsc-id
dlr-url-missing             Kannel: a receipt matched, but the dlr-url is empty (URL <>)
duplicate-receipts          the same receipt delivered more than once, with the likely reason
registered-delivery-        registered_delivery 2 (receipts on failure only): a warning when
failure-only                the application evidently waits for success receipts
not-delivered / outcomes    the final receipts' stat mix with err meanings: "not delivered"
                            (a warning when most fail) is told apart from "receipt lost"
data-coding-0-non-gsm       data_coding 0 with octets above 0x7F (UTF-8/Latin-1, needs UCS-2)
udh-without-udhi            a concatenation UDH in short_message without esm_class UDHI 0x40
==========================  ===================================================================

Causes before consequences: `_CONSEQUENCES` lists which finding follows from which (Kannel
ignores ESME_RALYBND and submits anyway, so ``submit-refused`` follows ``already-bound``);
a consequence names its cause in ``caused_by``, and the report ranks each cause first with
its consequences under it.

Input: every artifact of one conversation may be given together (a capture, the client's
log, Kannel's logs); PDUs seen in two of them are counted once. Reading nothing is an
error (`UnreadableInput`), and lines that could not be read are counted in the report.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import html
import json
import math
import os
import re
import sys
import warnings
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from smppkit.diagnose.convert import read_kannel
from smppkit.diagnose.kinds import receipt_mask
from smppkit.diagnose.logs import from_events, read
from smppkit.diagnose.pairing import FORMS, pair_ids
from smppkit.findings import SEVERITIES, Example, Finding
from smppkit.findings import format_value as _fmt
from smppkit.findings import plain_value as _plain
from smppkit.kannel.logs import is_kannel_file
from smppkit.protocol.constants import CommandStatus, EsmClass, status_name
from smppkit.sms.meanings import (
    DELIVER_SM_RESP_RETRY,
    explain_deliver_sm_resp,
    explain_dlr_mask,
    explain_receipt_err,
)
from smppkit.sms.receipts import RECEIPT_COMMANDS, same_message
from smppkit.trace import TRACE_FIELDS

__all__ = ["SEVERITIES", "Example", "Finding", "Report", "Story", "UnreadableInput", "diagnose",
           "register_cli", "story"]
_MAX_EXAMPLES = 3
_MAX_BAD_SHOWN = 5  # bad lines named in the report (all are counted)
_MAX_DECODED = 20_000  # distinct submit_sm bodies decoded for the text checks (sampled beyond)
#: The provider's default account limit -- smpp-facts.md §1.3 (V4).
PROVIDER_RATE = 30.0
_SMSC_WRITERS = {"simulator"}
#: seconds of silence on a bind (no PDU either way) before an SMSC unbind counts as idle
_IDLE_SILENCE = 2.0
_BINDS = ("bind_transmitter", "bind_receiver", "bind_transceiver")
#: An application's own line saying it could not match a receipt, in the words applications
#: use: "receipt for unknown message id X", "Unknown message_id in delivery receipt: X",
#: "DLR for unknown message X", "delivery report X not found".
_UNKNOWN_RECEIPT = re.compile(
    r"(?i)\b(?:unknown|unmatched|unexpected)\b.{0,30}?\b(?:receipt|dlr|delivery report|message[ _-]?id|"
    r"message)\b|\b(?:receipt|dlr|delivery report)\b.{0,40}?\b(?:unknown|unmatched|not found|"
    r"no (?:such|pending|matching))\b")
#: a message id in such a line: hex or decimal digits, at least one digit
_ID_TOKEN = re.compile(r"\b(?=[0-9A-Fa-f]*\d)[0-9A-Fa-f]{4,}\b")
#: a line saying the application waits for, or misses, a receipt: it expects receipts
_EXPECTS_RECEIPTS = re.compile(r"(?i)\b(?:no|missing|waiting(?: \S+){0,3} for|timed? ?out[^.]{0,30}?)\b"
                               r"(?: \S+){0,2}? (?:delivery )?(?:receipts?|dlrs?|delivery reports?)\b")
_DLR_MASK = re.compile(r"dlr-mask (-?\d+)")


# --- the report -------------------------------------------------------------------------------


class UnreadableInput(ValueError):
    """Nothing could be read from the input: the message says what was read and why."""


@dataclass
class Inputs:
    """What was read: one dict per file (path, format, bytes, events, bad lines, PDUs
    already seen in another file), the bad lines ``(file, line, reason)`` and the zone
    Kannel and smpplib times were read in."""

    files: list[dict[str, Any]] = field(default_factory=list)
    bad_lines: list[tuple[str, int, str]] = field(default_factory=list)
    tz: str = "local"


@dataclass
class Report:
    """The doctor's answer: findings (each root cause first, its consequences after it), a
    summary of the log, and what was read (files, bad lines, time zone)."""

    findings: list[Finding]
    summary: dict[str, Any] = field(default_factory=dict)
    inputs: Inputs = field(default_factory=Inputs)

    @property
    def ok(self) -> bool:
        """True when no finding is an error or a warning (info findings are fine)."""
        return not any(f.severity in ("error", "warning") for f in self.findings)

    @property
    def codes(self) -> list[str]:
        return [f.code for f in self.findings]

    @property
    def top(self) -> Finding | None:
        """The first root cause: what to fix first (None when there is no finding)."""
        return self.findings[0] if self.findings else None

    @property
    def bad_lines(self) -> list[tuple[str, int, str]]:
        """``(file, line, reason)`` of every line or frame that could not be read."""
        return self.inputs.bad_lines

    def problems(self) -> list[Finding]:
        """The error and warning findings."""
        return [f for f in self.findings if f.severity != "info"]

    def consequences(self, code: str) -> list[Finding]:
        """The findings that follow from the finding `code`."""
        return [f for f in self.findings if f.caused_by == code]

    def to_frame(self) -> pd.DataFrame:
        """One row per finding: severity, code, title, cause, evidence, fix, caused_by."""
        rows = [(f.severity, f.code, f.title, f.cause, f.evidence, f.fix, f.caused_by or "")
                for f in self.findings]
        return pd.DataFrame(rows, columns=["severity", "code", "title", "cause", "evidence", "fix",
                                           "caused_by"])

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "summary": {k: _plain(v) for k, v in self.summary.items()},
                "read": self._read_lines(), "files": [dict(f) for f in self.inputs.files],
                "bad_lines": {"count": len(self.bad_lines),
                              "first": [list(b) for b in self.bad_lines[:_MAX_BAD_SHOWN]]},
                "findings": [f.to_dict() for f in self.findings]}

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent, ensure_ascii=False)

    def _read_lines(self) -> list[str]:
        """What was read, in sentences: files, bad lines, the time zone."""
        out = []
        for f in self.inputs.files:
            extra = "".join(f", {v} {k}" for k, v in f.items() if k.startswith("PDUs also in"))
            out.append(f"{Path(f['file']).name}: {f['format'] or '?'}, {f['events']} events"
                       + (f", {f['bad lines']} bad lines" if f["bad lines"] else "") + extra)
        if self.bad_lines:
            first = ", ".join(f"{Path(file).name}:{line} ({reason})"
                              for file, line, reason in self.bad_lines[:_MAX_BAD_SHOWN])
            out.append(f"{_count(len(self.bad_lines), 'line')} or frames could not be read "
                       f"and were skipped; first: {first}")
        if any(f["format"] in ("kannel", "smpplib") for f in self.inputs.files):
            zone = self.inputs.tz
            out.append("log times without a zone (Kannel, smpplib) read as "
                       + ("this machine's local time" if zone == "local" else zone)
                       + " (--tz to change)")
        return out

    def __str__(self) -> str:
        head = "receipt doctor: " + ", ".join(f"{k} {_fmt(v)}" for k, v in self.summary.items())
        counts = Counter(f.severity for f in self.findings)
        verdict = ("no problems found" if self.ok else
                   f"{counts['error']} error(s), {counts['warning']} warning(s)")
        parts = [head] + (["\n".join("read " + line for line in self._read_lines())]
                          if self.inputs.files else [])
        parts.append(verdict + (f", {counts['info']} note(s)" if counts["info"] else ""))
        for f in self.findings:
            text = str(f)
            parts.append(text if not f.caused_by else "\n".join("    " + x for x in text.splitlines()))
        return "\n\n".join(parts)

    def __repr__(self) -> str:
        return f"<Report ok={self.ok} codes={self.codes}>"

    def _repr_html_(self) -> str:
        colours = {"error": "#b00020", "warning": "#b36b00", "info": "#1f5f99"}
        esc = html.escape
        out = ["<div><p><b>Receipt doctor</b>: "
               + esc(", ".join(f"{k} {_fmt(v)}" for k, v in self.summary.items())) + "</p>"]
        if self.inputs.files:
            out.append("<p>" + "<br>".join("Read " + esc(line) for line in self._read_lines()) + "</p>")
        if self.ok:
            out.append("<p>No problems found.</p>")
        for f in self.findings:
            examples = "".join(
                f"<li><code>{esc(e.where)}</code> {esc(e.summary)}"
                + (f"<br><code style='font-size:85%'>{esc(e.hex[:96])}"
                   f"{'...' if len(e.hex) > 96 else ''}</code>" if e.hex else "") + "</li>"
                for e in f.examples
            )
            counts = esc(", ".join(f"{k}: {_fmt(v)}" for k, v in f.counts.items()))
            details = "".join(f"<li>{esc(d)}</li>" for d in f.details)
            indent = "margin:8px 0 8px 32px" if f.caused_by else "margin:8px 0"
            because = (f" <i>(a consequence of <code>{esc(f.caused_by)}</code>)</i>"
                       if f.caused_by else "")
            out.append(
                f"<div style='border-left:4px solid {colours[f.severity]};padding-left:8px;"
                f"{indent}'><b style='color:{colours[f.severity]}'>{f.severity.upper()}</b> "
                f"<code>{esc(f.code)}</code>: <b>{esc(f.title)}</b>{because}"
                f"<p>{esc(f.cause)}</p><p><i>Evidence</i>: {counts}</p>"
                f"<ul>{details}{examples}</ul><p><i>Fix</i>: {esc(f.fix)}</p></div>"
            )
        out.append("</div>")
        return "".join(out)


def _count(n: int, noun: str, plural: str | None = None) -> str:
    """"1 receipt", "2 receipts": a count with its noun in agreement."""
    return f"{n} {noun if n == 1 else (plural or noun + 's')}"


def _agree(n: int, one: str, many: str) -> str:
    """The word (a verb, a pronoun) agreeing with a count of `n`."""
    return one if n == 1 else many


# --- loading ------------------------------------------------------------------------------------


def _read_path(path: str, tz: str | None, inputs: Inputs) -> pd.DataFrame | None:
    """One file as an event table, or None when nothing in it can be read (said in `inputs`)."""
    size = os.path.getsize(path)  # FileNotFoundError for a missing file
    info: dict[str, Any] = {"file": path, "bytes": size, "format": "", "events": 0, "bad lines": 0}
    inputs.files.append(info)
    if size == 0:
        info["format"], info["why"] = "empty", "the file is empty"
        return None
    if is_kannel_file(path):
        df = read_kannel(path, tz)
        info["format"] = "kannel"
        bad_rows = list(df.attrs["bad_lines"])
    else:
        try:
            with warnings.catch_warnings():  # bad lines go into the report, not to stderr
                warnings.simplefilter("ignore")
                df = read(path, tz=tz or "local")  # a bar for a second or more of reading
        except ValueError as exc:
            info["format"], info["why"] = "unknown", str(exc).removeprefix(f"{path}: ")
            return None
        info["format"] = str(df.attrs.get("format", ""))
        bad_rows = list(df.attrs.get("bad_lines", []))
    info["events"] = len(df)
    info["bad lines"] = len(bad_rows)
    inputs.bad_lines += bad_rows
    if not len(df):
        info["why"] = _why_nothing(len(bad_rows))
    return df


def _why_nothing(bad_lines: int) -> str:
    """Why a file that could be read gave no event."""
    return (f"{bad_lines} unreadable line(s) and nothing else" if bad_lines else
            "no SMPP PDU or log line about messages in it")


def _load(source: Any, tz: str | None = None) -> pd.DataFrame:
    """The events of `source` (a table, path(s) or event dicts), as `diagnose` reads them."""
    return _load_inputs(source, tz)[0]


def _load_inputs(source: Any, tz: str | None = None) -> tuple[pd.DataFrame, Inputs]:
    """The events of `source` (a table, path(s) or event dicts) and what was read.

    Raises:
        FileNotFoundError: a path does not exist.
        UnreadableInput: no event at all could be read.
    """
    inputs = Inputs(tz=tz or "local")
    if isinstance(source, pd.DataFrame):
        df = source
    elif isinstance(source, (str, os.PathLike)):
        df = _concat([_read_path(os.fspath(source), tz, inputs)])
    else:
        items = list(source)
        if items and all(isinstance(e, dict) for e in items):
            df = from_events(items)
        else:
            df = _concat([_read_path(os.fspath(p), tz, inputs) for p in items])
    if not len(df):
        raise UnreadableInput(_nothing_read(inputs))
    return _dedupe(df, inputs), inputs


def _concat(frames: list[pd.DataFrame | None]) -> pd.DataFrame:
    got = [f for f in frames if f is not None and len(f)]
    if not got:
        return pd.DataFrame(columns=list(TRACE_FIELDS))
    return got[0] if len(got) == 1 else pd.concat(got, ignore_index=True)


def _nothing_read(inputs: Inputs) -> str:
    if not inputs.files:
        return "no events given: nothing to diagnose"
    parts = []
    for f in inputs.files:
        what = f"{Path(f['file']).name} ({f['bytes']:,} bytes"
        what += f", {f['format']}" if f["format"] and f["format"] not in ("empty", "unknown") else ""
        parts.append(what + f": {f.get('why', 'no events')})")
    return "read " + "; ".join(parts) + " -- 0 events, so there is nothing to diagnose"


#: Which artifact's copy of a PDU seen twice is kept: a capture has the exact time and the
#: SMSC's address.
_SOURCE_ORDER = {"pcap": 0, "smpplib": 1, "kannel": 2}


def _dedupe(df: pd.DataFrame, inputs: Inputs) -> pd.DataFrame:
    """Count once the PDUs that two artifacts of one conversation both show.

    Two files are the same conversation when most PDUs of the smaller one are in the other,
    keyed by who sent them, command, sequence_number, command_status, message id and
    destination (and which occurrence of that key it is): a capture and the client's log,
    or a capture and bearerbox.log. The copy from the file first in `_SOURCE_ORDER` stays.
    """
    if "source_file" not in df or df["source_file"].nunique() < 2:
        return df
    seq = pd.to_numeric(df["sequence"], errors="coerce")
    command = df["command"].astype("string").fillna("")
    pdu = (command != "") & seq.notna()
    if not pdu.any():
        return df
    system = df["system"].astype("string").fillna("")
    direction = df["direction"].astype("string").fillna("")
    from_esme = np.where(system.isin(_SMSC_WRITERS), direction == "in", direction == "out")
    parts = [pd.Series(from_esme, index=df.index).astype(str), command, seq.astype("string"),
             pd.to_numeric(df["command_status"], errors="coerce").astype("string"),
             df["message_id"].astype("string"), df["destination_addr"].astype("string")]
    key = parts[0]
    for p in parts[1:]:
        key = key + "|" + p.fillna("")
    files = df["source_file"].astype("string").fillna("")
    occurrence = key.groupby([files, key]).cumcount().astype("string")
    full = (key + "#" + occurrence)[pdu]
    by_file = {f: set(full[files[pdu] == f]) for f in files[pdu].unique()}
    rank = {f: _SOURCE_ORDER.get(str(system[files == f].iloc[0]), 3) for f in by_file}
    order = sorted(by_file, key=lambda f: (rank[f], list(by_file).index(f)))
    drop = pd.Series(False, index=df.index)
    df = df.copy()
    session = df["session"].astype("string").fillna("")
    instance = df["instance"].astype("string").fillna("")
    kept: list[str] = []
    for f in order:
        mine = by_file[f]
        for other in kept:
            theirs = by_file[other]
            if len(mine & theirs) < 0.5 * min(len(mine), len(theirs)):
                continue
            in_f = (files[pdu] == f).to_numpy()
            seen = full.index[in_f & full.isin(theirs).to_numpy()]
            drop.loc[seen] = True
            for info in inputs.files:
                if info["file"] == f:
                    info[f"PDUs also in {Path(other).name}"] = len(seen)
            # the rows left (log lines, PDUs only one artifact has) take the kept file's
            # connection names, so requests and responses still pair up
            where = {k: i for i, k in zip(full.index[(files[pdu] == other).to_numpy()],
                                          full[(files[pdu] == other).to_numpy()], strict=True)}
            votes: dict[str, Counter[str]] = {}
            for i in seen:
                j = where[full[i]]
                votes.setdefault(session[i], Counter())[session[j]] += 1
            rename = {a: c.most_common(1)[0][0] for a, c in votes.items()}
            inst = dict(zip(session[files == other], instance[files == other], strict=True))
            rows = (files == f) & session.isin(list(rename))
            new_session = session[rows].map(rename)
            df.loc[rows, "session"] = new_session
            is_pdu_row = rows & pdu
            df.loc[is_pdu_row, "instance"] = session[is_pdu_row].map(rename).map(inst)
        kept.append(f)
    return df[~drop.to_numpy()].reset_index(drop=True) if drop.any() else df


_NUM = ("command_status", "sequence", "esm_class", "data_coding", "registered_delivery",
        "part_ref", "part_total", "part_seq", "line")
_STR = ("system", "instance", "session", "peer", "system_id", "bind", "direction", "command",
        "message_id", "source_addr", "destination_addr", "receipt_stat", "receipt_err", "hex",
        "note", "source_file")


class _Log:
    """The event table, normalised: strings ("" when absent, Arrow-backed), floats (NaN),
    time in s.

    The rows are labelled by their position in the table (`index`: the positions of the
    rows given, when they are only some of the table's: `smppkit.diagnose.doctor_sql`).
    """

    def __init__(self, df: pd.DataFrame, index: Sequence[int] | None = None) -> None:
        n = len(df)
        d = pd.DataFrame(index=pd.RangeIndex(n) if index is None else pd.Index(index))
        t = df["time"] if "time" in df else pd.Series(np.nan, index=df.index)
        if isinstance(t.dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_any_dtype(t):
            if not isinstance(t.dtype, pd.DatetimeTZDtype):
                t = t.dt.tz_localize("UTC")
            secs = (t - pd.Timestamp(0, tz="UTC")).dt.total_seconds()
        else:
            secs = pd.to_numeric(t, errors="coerce")
        d["t"] = np.asarray(secs, dtype="float64")
        for name in _NUM:
            col = df[name] if name in df else pd.Series(np.nan, index=df.index)
            d[name] = np.asarray(pd.to_numeric(col, errors="coerce").astype("float64"))
        for name in _STR:
            col = df[name] if name in df else pd.Series("", index=df.index)
            if not isinstance(col.dtype, pd.StringDtype):  # any values, as text
                col = col.astype(object).where(col.notna(), "").astype(str)
            d[name] = col.astype("string").fillna("").array
        # Who sent it: the simulator writes as the SMSC, every other writer as the ESME.
        smsc_view = d["system"].isin(_SMSC_WRITERS)
        d["from_esme"] = np.where(smsc_view, d["direction"] == "in", d["direction"] == "out")
        # Rows that stand for a PDU on the wire (Kannel also logs explanatory lines).
        d["is_pdu"] = (d["command"] != "") & (d["hex"] != "") | (
            (d["command"] != "") & d["sequence"].notna())
        # the PDU bytes stay apart: most checks select rows, and copying them costs most
        self.hex = d.pop("hex")
        self.d = d
        self.noted = d[d["note"] != ""]  # the rows with a note (few, in most logs)
        self._rows: dict[tuple[tuple[str, ...], bool], pd.DataFrame] = {}
        self._notes: dict[str | re.Pattern[str], pd.DataFrame] = {}
        self.cmd = d["command"]

    def rows(self, *commands: str, pdu: bool = True) -> pd.DataFrame:
        """The rows of `commands`: the PDUs, or with ``pdu=False`` also the logs' lines
        about them; the frame is shared: do not change it."""
        key = (commands, pdu)
        if key not in self._rows:
            d = self.d
            mask = d["command"].isin(commands)
            self._rows[key] = d[mask & d["is_pdu"] if pdu else mask]
        return self._rows[key]

    def notes(self, pattern: str | re.Pattern[str]) -> pd.DataFrame:
        """The rows whose note matches `pattern` (a pattern that matches no empty note);
        the frame is shared: do not change it."""
        if pattern not in self._notes:
            d = self.noted
            self._notes[pattern] = d[d["note"].str.contains(pattern, regex=True, na=False)]
        return self._notes[pattern]

    def example(self, i: Any, summary: str | None = None) -> Example:
        row = self.d.loc[i]
        src = row["source_file"]
        line = row["line"]
        where = (f"{Path(src).name}:{int(line)}" if src and not math.isnan(line)
                 else f"{Path(src).name}" if src else f"event {int(line) if not math.isnan(line) else i}")
        if summary is None:
            summary = _describe(row)
        return Example(where, summary, self.hex.loc[i] or None)

    def examples(self, frame: pd.DataFrame, k: int = _MAX_EXAMPLES,
                 summary: Callable[[pd.Series], str] | None = None) -> tuple[Example, ...]:
        return tuple(self.example(i, summary(frame.loc[i]) if summary else None)
                     for i in frame.index[:k])


def _describe(row: pd.Series, with_time: bool = True) -> str:
    bits = []
    t = row["t"]
    if with_time and not math.isnan(t):
        bits.append(_clock(t))
    for key in ("instance", "session"):
        if row[key]:
            bits.append(row[key])
    if row["command"]:
        who = "ESME->SMSC" if row["from_esme"] else "SMSC->ESME"
        bits.append(f"{row['command']} ({who})")
        if not math.isnan(row["sequence"]):
            bits.append(f"seq={int(row['sequence'])}")
        status = row["command_status"]
        if not math.isnan(status) and status:
            bits.append(f"status={status_name(int(status))} (0x{int(status):02X})")
        for key in ("message_id", "destination_addr", "receipt_stat"):
            if row[key]:
                bits.append(f"{key}={row[key]}")
        for key in ("registered_delivery", "esm_class", "data_coding"):
            v = row[key]
            if not math.isnan(v) and row["command"] in ("submit_sm", "data_sm", "deliver_sm"):
                bits.append(f"{key}={int(v)}" if key == "registered_delivery" else f"{key}=0x{int(v):02X}")
    if row["note"] and not row["note"].startswith(("Sending PDU", "Got PDU")):
        bits.append(f"note: {row['note']}")
    return " ".join(bits)


# --- what the checks need of the whole table ----------------------------------------------------

#: seconds after a deliver_sm by which its session must have gone on for a missing
#: deliver_sm_resp to count (the log may end before the answer)
_ANSWER_DUE = 5.0
#: seconds two artifacts' clocks may differ by (one of them perhaps in whole seconds)
_CLOCK_SLACK = 1.0
#: seconds a receipt may follow the client's line about it (the line may be written first)
_NOTE_SLACK = 1.0
#: seconds after which a deliver_sm_resp is too late (the SMSC resends the receipt)
_LATE_ANSWER = 1.0
#: the receipt commands whose answer the client sends
_RECEIPT_RESPS = tuple(c + "_resp" for c in RECEIPT_COMMANDS)
_SUBMITS = ("submit_sm", "data_sm")
_SUBMIT_RESPS = ("submit_sm_resp", "data_sm_resp")
_THROTTLED = int(CommandStatus.ESME_RTHROTTLED)
#: receipt_err values of an UNDELIV receipt for a message whose parts went astray
_UNDELIV_ERRS = ("010", "10")
_FINAL_STATS_OK = ("DELIVRD",)
_INTERMEDIATE = ("ENROUTE", "ACCEPTD", "")
#: Every pattern the checks look for in notes matches only notes holding one of these words
#: (in any case); the SQL path fetches just those notes (`smppkit.diagnose.doctor_sql`).
NOTE_WORDS = ("receipt", "dlr", "delivery report", "unknown", "unmatched", "unexpected",
              "idle for")
_NOT_FOUND = r"^DLR not found"
_NO_PENDING = r"receipt for no pending message"


@dataclass
class _Facts:
    """What the checks need of the whole table: counts, aggregates, and the positions of the
    rows they show. `_facts` computes them from the table in pandas,
    `smppkit.diagnose.doctor_sql` with queries; the checks read rows one by one only where
    rows are few (binds, enquire_link, unbind, notes: `_Log`)."""

    events: int = 0
    sessions: int = 0  # distinct non-empty session names
    t_min: float = math.nan
    t_max: float = math.nan
    # submit_sm/data_sm PDUs
    submits: int = 0
    first_submit: int | None = None
    submit_binds: set[str] = field(default_factory=set)  # their bind kinds, "" left out
    asked: int = 0  # asking for a receipt (registered_delivery bits 1-0; unknown counts as asked)
    first_asked: int | None = None
    # registered_delivery: of the submit PDUs, or of the logs' submit lines when none
    rd_known: int = 0
    rd_none: int = 0  # 0, and no other part of the same message asks
    rd_none_rows: list[int] = field(default_factory=list)
    rd_failure_only: int = 0
    rd_failure_rows: list[int] = field(default_factory=list)
    # receipt PDUs with a message id, paired with submit_sm_resp (`_link_ids`)
    receipts: int = 0
    links: int = 0
    forms: tuple[str | None, str | None] = (None, None)
    first_link: tuple[int, int] | None = None  # (receipt, resp)
    cross: int = 0  # receipt and resp on binds of different instances
    first_cross: tuple[int, int] | None = None
    early: int = 0  # receipt before its resp (`_before`)
    first_early: tuple[int, int] | None = None
    repeated_ids: int = 0  # message ids carried by more than one receipt
    undeliv: int = 0  # receipts with err 010
    #: the client's lines about unknown receipts: (line, id named, the resp of that id or
    #: None, the instance of the last receipt with that id by then, "" when none)
    unknown: list[tuple[int, str, int | None, str]] = field(default_factory=list)
    receipt_of: dict[int, int] = field(default_factory=dict)  # resp of `unknown` -> its first receipt
    # deliver_sm_resp sent by the client
    deliver_statuses: list[tuple[int, int]] = field(default_factory=list)  # non-zero (status, n), as they appear
    retried_rows: list[int] = field(default_factory=list)
    refused_rows: list[int] = field(default_factory=list)
    deliver_sm: int = 0  # deliver_sm/data_sm sent by the SMSC, with a sequence_number
    first_deliver_sm: int | None = None
    deliver_answers: int = 0  # the client's deliver_sm_resp with a sequence_number
    orphans: int = 0  # answering no deliver_sm
    first_orphan: int | None = None
    unanswered: int = 0  # deliver_sm without an answer though the session went on
    first_unanswered: int | None = None
    # concatenated submits
    part_groups: int = 0
    split_groups: int = 0  # with parts sent through different instances
    split_rows: list[int] = field(default_factory=list)  # every part of the first of them
    # submit_sm_resp: of the PDUs, or of the logs' lines when none
    submit_resps: int = 0
    throttled: int = 0
    throttled_rows: list[int] = field(default_factory=list)
    submit_statuses: list[tuple[int, int]] = field(default_factory=list)  # other errors, as they appear
    submit_refused_rows: list[int] = field(default_factory=list)
    # the client's submits, when some were throttled
    esme_submits: int = 0
    peak: int = 0  # most submits in one second
    span: float = math.nan  # first to last submit, s
    hot_rates: list[int] = field(default_factory=list)  # submits accepted in each throttled second
    # sessions
    last_pdu: dict[tuple[str, bool], float] = field(default_factory=dict)  # (session, from_esme) -> t
    #: unbind sent by the SMSC -> (PDUs of its session before it, the last one's time, the
    #: last time the ESME spoke)
    before_unbind: dict[int, tuple[int, float, float]] = field(default_factory=dict)
    # Kannel's pending DLRs, when it found none for some receipt
    kannel_stored: int = 0
    kannel_stored_ids: list[str] = field(default_factory=list)  # distinct, as they appear
    kannel_looked_ids: list[str] = field(default_factory=list)
    # text: the submits checked and their distinct bodies, as they appear:
    # (hex of the first PDU with it, PDUs, positions of the first two)
    text_checked: int = 0
    text_bodies: list[tuple[str, int, list[int]]] = field(default_factory=list)
    # receipts delivered more than once
    dup_messages: int = 0
    dup_extra: int = 0
    dup_reasons: list[tuple[str, int]] = field(default_factory=list)  # as their messages appear
    dup_rows: list[int] = field(default_factory=list)
    # final receipts, the last per message
    final: int = 0
    final_failed: int = 0
    final_mix: list[tuple[tuple[str, str], int]] = field(default_factory=list)  # as they appear
    final_failed_rows: list[int] = field(default_factory=list)


def _ints(index: Iterable[Any], k: int | None = None) -> list[int]:
    out = [int(i) for i in index]
    return out if k is None else out[:k]


def _first(index: pd.Index) -> int | None:
    return int(index[0]) if len(index) else None


def _in_order(values: pd.Series) -> list[tuple[Any, int]]:
    """(value, count) of each distinct value, in the order they first appear."""
    return [(k, int(n)) for k, n in values.value_counts(sort=False).items()]


def _facts(log: _Log) -> _Facts:
    """The `_Facts` of a whole table, in pandas."""
    d = log.d
    f = _Facts(events=len(d), sessions=int(d.loc[d["session"] != "", "session"].nunique()))
    if len(d) and d["t"].notna().any():
        f.t_min, f.t_max = float(np.nanmin(d["t"])), float(np.nanmax(d["t"]))
    submits = log.rows(*_SUBMITS)
    f.submits, f.first_submit = len(submits), _first(submits.index)
    f.submit_binds = set(submits["bind"]) - {""}
    asked = submits[(submits["registered_delivery"].fillna(1).astype(int) & 3) != 0]
    f.asked, f.first_asked = len(asked), _first(asked.index)
    _registered_facts(log, f)
    _receipt_facts(log, f)
    _deliver_resp_facts(log, f)
    _part_facts(log, f)
    _throttle_facts(log, f)
    pdus = d[d["is_pdu"]]
    f.last_pdu = {(str(s), bool(e)): float(t) for (s, e), t in
                  pdus.groupby(["session", "from_esme"])["t"].max().dropna().items()}
    for i, row in log.rows("unbind")[lambda u: ~u["from_esme"]].iterrows():
        session = pdus[(pdus["session"] == row["session"]) & (pdus["t"] < row["t"])]
        before = session.loc[session["from_esme"], "t"]
        f.before_unbind[int(i)] = (len(session), float(session["t"].max()) if len(session)
                                   else math.nan, float(before.max()) if len(before) else math.nan)
    if len(log.notes(_NOT_FOUND)) or len(log.notes(_NO_PENDING)):
        kannel = d["system"] == "kannel"
        stored = d[d["note"].str.startswith("pending DLR stored") | (
            kannel & (d["command"] == "submit_sm") & (d["message_id"] != ""))]
        looked = d[d["note"].str.startswith("receipt arrived: looking up") | (
            kannel & (d["command"] == "deliver_sm") & (d["message_id"] != ""))]
        f.kannel_stored = len(stored)
        f.kannel_stored_ids = list(dict.fromkeys(stored["message_id"]))
        f.kannel_looked_ids = list(dict.fromkeys(looked["message_id"]))
    _text_facts(log, f)
    return f


def _registered_facts(log: _Log, f: _Facts) -> None:
    submits = log.rows(*_SUBMITS)
    if not len(submits):  # access.log alone: its Sent SMS lines, registered_delivery from the dlr-mask
        submits = log.rows("submit_sm", pdu=False)
    known = submits[submits["registered_delivery"].notna()]
    f.rd_known = len(known)
    if not len(known):
        return
    asks = (known["registered_delivery"].astype(int) & 3) != 0
    # Kannel asks for a receipt on part 1 only (smpp-facts.md §5): a part without one is
    # fine when another part of the same message asks.
    multi = known["part_total"].fillna(0) > 1
    group_asks = asks[multi].groupby([known.loc[multi, k] for k in _MESSAGE_KEY]).transform("any")
    covered = pd.Series(False, index=known.index)
    covered.loc[group_asks.index] = group_asks.to_numpy()
    none = known[~asks & ~covered]
    f.rd_none, f.rd_none_rows = len(none), _ints(none.index, 2)
    failure_only = known[(known["registered_delivery"].astype(int) & 3) == 2]
    f.rd_failure_only, f.rd_failure_rows = len(failure_only), _ints(failure_only.index, 1)


#: the parts of one concatenated message share these
_MESSAGE_KEY = ("system_id", "source_addr", "destination_addr", "part_ref", "part_total")


@dataclass
class _Ids:
    resp_form: str | None
    receipt_form: str | None
    # receipt row index -> resp row index
    links: dict[Any, Any]
    resp_rows: pd.DataFrame
    receipt_rows: pd.DataFrame


def _link_ids(log: _Log) -> _Ids:
    """Pair receipts with submit_sm_resps by message id (`smppkit.diagnose.pairing`); the
    forms are those of the rule that paired the most."""
    d = log.d
    resps = d[d["command"].isin(_SUBMIT_RESPS) & (d["command_status"] == 0)
              & (d["message_id"] != "")]
    receipts = _receipts(log)
    receipts = receipts[receipts["message_id"] != ""]
    owner, rule = pair_ids(resps["message_id"], receipts["message_id"])
    hit = owner >= 0
    links = dict(zip(receipts.index[hit].tolist(), resps.index[owner[hit]].tolist(), strict=True))
    forms: tuple[str | None, str | None] = (None, None)
    if hit.any():
        forms = FORMS[Counter(rule[hit]).most_common(1)[0][0]]
    return _Ids(forms[0], forms[1], links, resps, receipts)


def _find_resps(ids: _Ids, receipt_ids: Sequence[str]) -> list[Any]:
    """The submit_sm_resp row naming the same message as each receipt id (None: none)."""
    if not len(ids.resp_rows) or not receipt_ids:
        return [None] * len(receipt_ids)
    owner, _ = pair_ids(ids.resp_rows["message_id"], pd.Series(list(receipt_ids), dtype="string"))
    return [ids.resp_rows.index[o] if o >= 0 else None for o in owner]


def _receipts(log: _Log, pdu: bool = True) -> pd.DataFrame:
    """Receipt PDUs; with ``pdu=False`` the receipts logs report without the PDU (access.log)."""
    d = log.d
    is_receipt = receipt_mask(d["command"], d["esm_class"], d["receipt_stat"] != "")
    return d[is_receipt & (d["is_pdu"] if pdu else ~d["is_pdu"]).to_numpy()]


def _id_key(ids: pd.Series) -> pd.Series:
    """A message id as the checks compare two receipts' ids: stripped, lower case."""
    return ids.str.strip().str.lower()


def _receipt_facts(log: _Log, f: _Facts) -> None:
    d = log.d
    ids = _link_ids(log)
    rec = ids.receipt_rows
    f.receipts, f.links, f.forms = len(rec), len(ids.links), (ids.resp_form, ids.receipt_form)
    if ids.links:
        f.first_link = next(iter(ids.links.items()))
    r = np.fromiter(ids.links.keys(), dtype=np.int64, count=len(ids.links))
    s = np.fromiter(ids.links.values(), dtype=np.int64, count=len(ids.links))
    inst = d["instance"].to_numpy()
    hit = (inst[r] != "") & (inst[s] != "") & (inst[r] != inst[s])
    f.cross = int(hit.sum())
    if f.cross:
        f.first_cross = (int(r[hit][0]), int(s[hit][0]))
    early = [(a, b) for a, b in ids.links.items() if _before(d, a, b)]
    f.early, f.first_early = len(early), early[0] if early else None
    f.repeated_ids = int((rec["message_id"].value_counts() > 1).sum()) if len(rec) else 0
    f.undeliv = int(rec["receipt_err"].isin(_UNDELIV_ERRS).sum())
    notes = _unknown_notes(log)
    rec_id = _id_key(rec["message_id"])
    for (i, row), j in zip(notes.iterrows(), _find_resps(ids, list(notes["rid"])), strict=True):
        about = rec[(rec_id == row["rid"].strip().lower()).to_numpy()
                    & (rec["t"] <= row["t"] + _NOTE_SLACK).to_numpy()]
        f.unknown.append((int(i), row["rid"], None if j is None else int(j),
                          about["instance"].iloc[-1] if len(about) else ""))
        if j is not None and j not in f.receipt_of:
            first = [k for k, v in ids.links.items() if v == j][:1]
            if first:
                f.receipt_of[int(j)] = int(first[0])
    _duplicate_facts(log, rec[~rec["from_esme"]], f)
    final = rec if len(rec) else _receipts(log, pdu=False)
    final = final[~final["receipt_stat"].isin(_INTERMEDIATE)]
    last = final.assign(k=_id_key(final["message_id"])).drop_duplicates("k", keep="last")
    failed = last[~last["receipt_stat"].isin(_FINAL_STATS_OK)]
    f.final, f.final_failed, f.final_failed_rows = len(last), len(failed), _ints(failed.index, 2)
    f.final_mix = list(Counter(zip(last["receipt_stat"], last["receipt_err"], strict=True)).items())


def _client_deliver_resps(log: _Log) -> pd.DataFrame:
    resps = log.rows(*_RECEIPT_RESPS)
    return resps[resps["from_esme"]]


def _duplicate_facts(log: _Log, rec: pd.DataFrame, f: _Facts) -> None:
    """Receipts (sent by the SMSC) delivered more than once, and why the first copy was
    not enough."""
    if len(rec) < 2:
        return
    key = _id_key(rec["message_id"]) + "|" + rec["receipt_stat"]
    repeated = rec[key.duplicated(keep=False)]
    if not len(repeated):
        return
    d = log.d
    resps = _client_deliver_resps(log)
    answer = {(ses, seq): i for i, ses, seq in zip(resps.index, resps["session"], resps["sequence"], strict=True)}
    reasons: Counter[str] = Counter()
    for _, group in repeated.groupby(key[repeated.index], sort=False):
        first, second = group.index[0], group.index[1]
        j = answer.get((d.at[first, "session"], d.at[first, "sequence"]))
        if j is None:
            reasons["missing"] += 1
        elif d.at[j, "command_status"] not in (0, 0.0) and not math.isnan(d.at[j, "command_status"]):
            reasons["refused"] += 1
        elif d.at[j, "t"] - d.at[first, "t"] >= _LATE_ANSWER or _before(d, second, j):
            reasons["late"] += 1
        else:
            reasons["resent"] += 1
    f.dup_messages = int(key[repeated.index].nunique())
    f.dup_extra = len(repeated) - f.dup_messages
    f.dup_reasons = list(reasons.items())
    f.dup_rows = _ints(repeated.index, 2)


def _deliver_resp_facts(log: _Log, f: _Facts) -> None:
    resps = _client_deliver_resps(log)
    bad = resps[resps["command_status"].fillna(0) != 0]
    status = bad["command_status"].astype(int)
    f.deliver_statuses = _in_order(status)
    f.retried_rows = _ints(bad.index[status.isin(DELIVER_SM_RESP_RETRY)], 2)
    f.refused_rows = _ints(bad.index[~status.isin(DELIVER_SM_RESP_RETRY)], 2)
    # Unanswered deliver_sm, and responses that answer nothing (smpplib's make_pdu ignores
    # sequence=, so a reply built with it carries the client's own counter).
    sent = log.rows(*RECEIPT_COMMANDS)
    sent = sent[~sent["from_esme"] & sent["sequence"].notna()]
    answers = resps[resps["sequence"].notna()]
    f.deliver_sm, f.first_deliver_sm, f.deliver_answers = len(sent), _first(sent.index), len(answers)
    sent_keys = pd.MultiIndex.from_arrays([sent["session"], sent["sequence"]])
    ans_keys = pd.MultiIndex.from_arrays([answers["session"], answers["sequence"]])
    orphan = answers[~ans_keys.isin(sent_keys)]
    last_on = log.d.groupby("session")["t"].max()
    later = sent["session"].map(last_on).astype("float64").fillna(-math.inf) > sent["t"] + _ANSWER_DUE
    unanswered = sent[~sent_keys.isin(ans_keys) & later.to_numpy()]
    f.orphans, f.first_orphan = len(orphan), _first(orphan.index)
    f.unanswered, f.first_unanswered = len(unanswered), _first(unanswered.index)


def _part_facts(log: _Log, f: _Facts) -> None:
    submits = log.rows(*_SUBMITS)
    parts = submits[submits["part_total"].fillna(0) > 1]
    if not len(parts):
        return
    groups = parts.groupby(list(_MESSAGE_KEY), sort=False)
    f.part_groups = groups.ngroups
    for _, g in groups:
        total = int(g["part_total"].iloc[0])
        by_instance = g.groupby("instance")["part_seq"].apply(lambda s: set(s.dropna().astype(int)))
        if len(by_instance) > 1 and not any(seqs >= set(range(1, total + 1)) for seqs in by_instance):
            f.split_groups += 1
            if not f.split_rows:
                f.split_rows = _ints(g.index)


def _throttle_facts(log: _Log, f: _Facts) -> None:
    resps = log.rows(*_SUBMIT_RESPS)
    if not len(resps):
        resps = log.rows(*_SUBMIT_RESPS, pdu=False)
    throttled = resps[resps["command_status"] == _THROTTLED]
    others = resps[~resps["command_status"].fillna(0).astype(int).isin((0, _THROTTLED))]
    f.submit_resps, f.throttled, f.throttled_rows = len(resps), len(throttled), _ints(throttled.index, 2)
    f.submit_statuses = _in_order(others["command_status"].astype(int))
    f.submit_refused_rows = _ints(others.index, 2)
    if not len(throttled):
        return
    submits = log.rows(*_SUBMITS)
    submits = submits[submits["from_esme"]]
    per_sec = np.floor(submits["t"]).value_counts()
    f.esme_submits, f.peak = len(submits), int(per_sec.max()) if len(per_sec) else 0
    f.span = float(submits["t"].max() - submits["t"].min()) if len(submits) > 1 else math.nan
    accepted = resps[resps["command_status"] == 0]
    acc_sec = np.floor(accepted["t"]).value_counts()
    # a throttled answer without a time counts as a second with none accepted
    hot = np.floor(throttled["t"])
    f.hot_rates = ([int(acc_sec.get(s, 0)) for s in set(hot.dropna())]
                   + [0] * int(hot.isna().sum()))


def _text_facts(log: _Log, f: _Facts) -> None:
    """The submits the text checks read (data_coding 0, or no UDHI) and their bodies."""
    submits = log.rows(*_SUBMITS)
    submits = submits[(log.hex.loc[submits.index] != "").to_numpy()]
    dc = submits["data_coding"].fillna(-1)
    esm = submits["esm_class"].fillna(0).astype(int)
    candidates = submits[(dc == 0) | ((esm & int(EsmClass.udhi)) == 0)]
    # PDUs with the same body (all but the 16-octet header) read the same: each distinct
    # body is decoded once, and every submit is checked unless there are too many bodies
    hexes = log.hex.loc[candidates.index]
    codes, bodies = pd.factorize(hexes.str.slice(32))
    if len(bodies) > _MAX_DECODED:
        keep = _sample(len(candidates))
        candidates, hexes = candidates.iloc[keep], hexes.iloc[keep]
        codes, bodies = pd.factorize(hexes.str.slice(32))
    f.text_checked = len(candidates)
    order = np.argsort(codes, kind="stable")
    starts = np.searchsorted(codes[order], np.arange(len(bodies)))
    counts = np.bincount(codes, minlength=len(bodies))
    pos = candidates.index.to_numpy()
    f.text_bodies = [(str(hexes.iloc[order[a]]), int(n), _ints(pos[order[a:a + min(n, 2)]]))
                     for a, n in zip(starts, counts, strict=True)]


def _sample(n: int) -> np.ndarray:
    """The `_MAX_DECODED` of `n` candidates the text checks read when their bodies are too
    many to decode: evenly spread, first and last included."""
    return np.linspace(0, n - 1, _MAX_DECODED).astype(int)


def _before(d: pd.DataFrame, i: Any, j: Any) -> bool:
    """Row `i` happened before row `j`: an earlier time, or the same time (Kannel writes whole
    seconds) and an earlier line of the same file."""
    ti, tj = d.at[i, "t"], d.at[j, "t"]
    if d.at[i, "source_file"] != d.at[j, "source_file"]:
        return bool(ti < tj - _CLOCK_SLACK)  # two clocks, one perhaps in whole seconds
    if ti != tj:
        return bool(ti < tj)
    li, lj = d.at[i, "line"], d.at[j, "line"]
    return bool(li < lj or li == lj and i < j)  # one frame, one line: in the order read


# --- the checks ---------------------------------------------------------------------------------


#: the commands whose rows the checks read one by one (few in any log)
_ONE_BY_ONE = (*(b + "_resp" for b in _BINDS), "enquire_link", "enquire_link_resp", "unbind",
               "unbind_resp")


def _bind_kinds(log: _Log) -> pd.DataFrame:
    """Successful binds: one row per bind resp with status 0, with its kind."""
    resps = log.rows(*(b + "_resp" for b in _BINDS))
    ok = resps[resps["command_status"] == 0].copy()
    ok["kind"] = ok["command"].str.slice(len("bind_"), -len("_resp"))
    return ok


def _check_transmitter_only(log: _Log, f: _Facts) -> list[Finding]:
    binds = _bind_kinds(log)
    kinds = set(binds["kind"]) or f.submit_binds
    if kinds != {"transmitter"} or f.receipts or not f.submits or not f.asked:
        return []
    tx = log.examples(binds, 1) if len(binds) else (log.example(f.first_submit),)
    return [Finding(
        "error", "transmitter-only", "bound as transmitter only: no receipt can arrive",
        "A transmitter bind may only send; the SMSC delivers receipts (deliver_sm) to receiver "
        "or transceiver binds of the account, and this log has none. The receipts wait at the "
        "SMSC until such a bind appears, or expire.",
        "Bind as transceiver (recommended by the provider), or add a receiver bind next to the "
        "transmitter: the account allows 2 binds, e.g. 1 transmitter + 1 receiver.",
        {"transmitter binds": int((binds["kind"] == "transmitter").sum()),
         "receiver/transceiver binds": 0, "submits asking for a receipt": f.asked,
         "receipts": 0},
        examples=tx + (log.example(f.first_asked),),
    )]


def _check_registered_delivery(log: _Log, f: _Facts) -> list[Finding]:
    if not f.rd_known:
        return []
    out = []
    if f.rd_none:
        every = f.rd_none == f.rd_known
        out.append(Finding(
            "error" if every else "warning", "registered-delivery-0",
            f"registered_delivery 0 on {f.rd_none} of {f.rd_known} submits: no receipt was asked for",
            "registered_delivery bits 1-0 = 0 means 'no SMSC delivery receipt requested' "
            "(SMPP v3.4 §5.2.17), so the SMSC never makes one for these messages.",
            "Set registered_delivery=1 (receipt on success or failure) on every submit_sm "
            "(on every part of a long message); with Kannel use a dlr-mask with bits 1 and 2 "
            "(19 or 31) and a dlr-url.",
            {"submits": f.rd_known, "registered_delivery 0": f.rd_none},
            examples=log.examples(log.d.loc[f.rd_none_rows], 2),
        ))
    if f.rd_failure_only:
        # the application waits for receipts of delivered messages: it says so in its log,
        # or a Kannel dlr-mask asks for success reports (bit 1)
        waits = log.notes(_EXPECTS_RECEIPTS)
        waits = waits[~waits["system"].isin(("simulator", "kannel"))]
        masks = log.noted["note"].str.extract(_DLR_MASK, expand=False).dropna().astype(int)
        expects = len(waits) > 0 or bool(((masks > 0) & (masks & 1 == 1)).any())
        out.append(Finding(
            "warning" if expects else "info", "registered-delivery-failure-only",
            f"registered_delivery 2 on {f.rd_failure_only} submits: receipts for failures only"
            + (", but the application waits for receipts of delivered messages" if expects else ""),
            "Bits 1-0 = 2 asks for a receipt only when delivery fails (SMPP v3.4 §5.2.17), so a "
            "delivered message gets no receipt and looks the same as one still pending"
            + (": the application's log shows it waiting for receipts that will never come."
               if expects else "."),
            "Use registered_delivery=1 if you need to know that messages were delivered.",
            {"registered_delivery 2": f.rd_failure_only, "lines waiting for receipts": len(waits)},
            examples=log.examples(log.d.loc[f.rd_failure_rows], 1) + log.examples(waits, 1),
        ))
    return out


def _unknown_notes(log: _Log) -> pd.DataFrame:
    notes = log.notes(_UNKNOWN_RECEIPT)
    notes = notes[~notes["system"].isin(("simulator", "kannel"))].copy()
    notes["rid"] = [_unknown_id(text) for text in notes["note"]]
    return notes


def _unknown_id(text: str) -> str:
    """The message id an application's "unknown receipt" line names: the first id after
    the words that say so, else the last one in the line."""
    m = _UNKNOWN_RECEIPT.search(text)
    after = _ID_TOKEN.search(text, m.end()) if m else None
    if after:
        return after.group(0)
    every = _ID_TOKEN.findall(text)
    return every[-1] if every else ""


def _classify_unknown(log: _Log, f: _Facts) -> tuple[list[tuple[Any, Any, str]], list[tuple[Any, Any, str]], list[Any]]:
    """Client notes of unknown receipts, as (note row, resp row, receipt id): those about a
    message sent on the same instance, those about one sent on another instance, and the
    note rows naming no message in the log."""
    same, other, orphan = [], [], []
    d = log.d
    for i, rid, j, about in f.unknown:
        # the receipt the line is about: the last one with that id before it (its bind)
        where = about or d.at[i, "instance"]
        if j is None:
            orphan.append(i)
        elif d.at[j, "instance"] and where and d.at[j, "instance"] != where:
            other.append((i, j, rid))
        else:
            same.append((i, j, rid))
    return same, other, orphan


def _conversion(log: _Log, resp_i: Any, rid: str) -> tuple[str, str | None]:
    resp_id = log.d.at[resp_i, "message_id"]
    match = same_message(resp_id, rid)
    kannel = match.kannel_msg_id_type
    hint = f"msg-id-type = 0x{kannel:02X}" if kannel is not None else None
    return f"submit_sm_resp id {resp_id} vs receipt id {rid}: {match.reason}", hint


def _check_ids(log: _Log, f: _Facts) -> list[Finding]:
    same, _, orphan = _classify_unknown(log, f)
    out = []
    literal = [(i, j, rid) for i, j, rid in same
               if log.d.at[j, "message_id"].strip().lower() != rid.strip().lower()]
    if literal:
        i, j, rid = literal[0]
        conversion, kannel = _conversion(log, j, rid)
        out.append(Finding(
            "error", "id-mismatch",
            f"{_count(len(literal), 'receipt')} arrived but the client did not match them to its messages",
            "The receipts carry the message id in another form than submit_sm_resp did (the "
            "provider writes it in hex in submit_sm_resp and in decimal in the receipt), and "
            "the client compares the two as strings, so every receipt looks unknown.",
            "Compare ids as numbers: smppkit.receipts.same_message(resp_id, receipt_id), or "
            "message_id_key(resp_id, 'hex') == message_id_key(receipt_id, 'decimal')"
            + (f"; in Kannel set {kannel} in the smsc group" if kannel else "") + ".",
            {"receipts": f.receipts, "unmatched by the client": len(literal),
             "same message after conversion": len(literal)},
            details=(conversion,),
            examples=(log.example(j), log.example(i))
            + ((log.example(f.receipt_of[j]),) if j in f.receipt_of else ()),
        ))
    elif f.forms in (("hex", "decimal"), ("decimal", "hex")) and f.first_link:
        i, j = f.first_link
        conversion, kannel = _conversion(log, j, log.d.at[i, "message_id"])
        out.append(Finding(
            "info", "id-forms",
            f"submit_sm_resp ids are {f.forms[0]}, receipt ids {f.forms[1]}",
            "The same message id is written in two forms, as the provider documents; a client "
            "that compares the strings never matches a receipt.",
            "Match ids as numbers (smppkit.receipts.same_message)"
            + (f"; with Kannel, {kannel}" if kannel else "") + ".",
            {"receipts matched after conversion": f.links, "receipts": f.receipts},
            details=(conversion,), examples=(log.example(j), log.example(i)),
        ))
    if orphan:
        out.append(Finding(
            "info", "receipts-unknown",
            f"{_count(len(orphan), 'receipt')} {_agree(len(orphan), 'names', 'name')} messages that are not in this log",
            "The client logged receipts for ids that no submit_sm_resp in this log carries: "
            "messages sent before the log starts, or by another bind or application.",
            "Read the logs of every bind and application of the account together.",
            {"receipts for unknown ids": len(orphan)}, examples=log.examples(log.d.loc[orphan], 2),
        ))
    return out


def _check_other_session(log: _Log, f: _Facts) -> list[Finding]:
    _, other, _ = _classify_unknown(log, f)
    d = log.d
    if other:
        i, j, _ = other[0]
        return [Finding(
            "warning", "receipts-other-session",
            f"{_count(len(other), 'receipt')} came on another instance's bind and the client dropped them",
            "The provider delivers a receipt to any receiver/transceiver bind of the account in "
            "the cluster (SMPP1 and SMPP2 share one store), not necessarily to the bind that "
            "sent the message; this client matches receipts only against messages sent on the "
            "same bind.",
            "Keep one table of sent message ids for all binds and match every receipt against "
            "it (smppkit.client.Cluster does), or bind to a single instance.",
            {"receipts": f.receipts, "on another instance's bind": f.cross,
             "dropped by the client": len(other)},
            details=(f"message {d.at[j, 'message_id']} was sent on {d.at[j, 'session']}, "
                     f"its receipt came on {d.at[i, 'session']}",),
            examples=(log.example(j), log.example(i)),
        )]
    if f.first_cross:
        r, s = f.first_cross
        return [Finding(
            "info", "receipts-other-session",
            f"{f.cross} of {f.links} receipts came on another instance's bind",
            "Normal for a cluster: the provider delivers receipts to any receiving bind of the "
            "account. It only hurts a client that matches receipts per bind.",
            "Match receipts against the messages of all binds.",
            {"receipts on another instance's bind": f.cross, "receipts matched": f.links},
            details=(f"message {d.at[s, 'message_id']} sent on {d.at[s, 'session']}, "
                     f"receipt on {d.at[r, 'session']}",),
            examples=(log.example(s), log.example(r)),
        )]
    return []


def _rows(log: _Log, positions: Sequence[int], k: int = _MAX_EXAMPLES) -> tuple[Example, ...]:
    return tuple(log.example(i) for i in positions[:k])


def _check_deliver_resp(log: _Log, f: _Facts) -> list[Finding]:
    out = []
    dropped = len(log.notes(r"^receipt dropped after"))
    ended = len(log.notes(r"^receipt ended by"))
    retried = [(s, n) for s, n in f.deliver_statuses if s in DELIVER_SM_RESP_RETRY]
    refused = [(s, n) for s, n in f.deliver_statuses if s not in DELIVER_SM_RESP_RETRY]
    if retried:
        n_retried = sum(n for _, n in retried)
        top = Counter(dict(retried)).most_common(1)[0][0]
        counts: dict[str, Any] = {f"deliver_sm_resp {status_name(s)}": n for s, n in retried}
        counts.update({"receipts delivered more than once": f.repeated_ids,
                       "receipts given up (noted in the trace)": dropped})
        out.append(Finding(
            "warning", "receipt-resp-retried",
            f"{_count(n_retried, 'receipt')} answered with a status the provider retries",
            explain_deliver_sm_resp(top).explanation + ". Every such answer makes the provider "
            "send the receipt again later, so receipts come late and several times; many SMSCs "
            "stop after a number of attempts, and then the receipt never comes.",
            "Answer every deliver_sm with ESME_ROK (0) once the receipt is stored; use a "
            "non-zero status only to ask for a resend on purpose (retried: "
            + ", ".join(f"0x{s:02X}" for s in sorted(DELIVER_SM_RESP_RETRY)) + ").",
            counts, examples=_rows(log, f.retried_rows, 2),
        ))
    if refused:
        n_refused = sum(n for _, n in refused)
        top = Counter(dict(refused)).most_common(1)[0][0]
        counts = {f"deliver_sm_resp {status_name(s)}": n for s, n in refused}
        counts["receipts ended by the SMSC"] = ended
        out.append(Finding(
            "error", "receipt-resp-refused",
            f"{_count(n_refused, 'receipt')} answered with a non-zero status that is final: "
            f"{_agree(n_refused, 'it is', 'they are')} lost",
            explain_deliver_sm_resp(top).explanation + ".",
            "Answer deliver_sm with ESME_ROK (0). If the receipt cannot be stored right now, "
            "answer ESME_RTHROTTLED (0x58) so the provider sends it again.",
            counts, examples=_rows(log, f.refused_rows, 2),
        ))
    if (f.deliver_sm or f.deliver_answers) and (f.orphans or f.unanswered):
        cause = ("The client answers deliver_sm with a sequence_number that matches no "
                 "deliver_sm on that bind, so the SMSC sees no answer at all" if f.orphans else
                 "Receipts were left without a deliver_sm_resp")
        out.append(Finding(
            "warning", "receipt-resp-missing",
            f"{_count(f.unanswered or f.orphans, 'receipt')} without a matching deliver_sm_resp",
            cause + ": after its timeout the SMSC sends the receipt again (duplicates), and many "
            "SMSCs give up after a few attempts. A deliver_sm_resp must carry the sequence_number "
            "of the deliver_sm it answers (SMPP v3.4 §4.6.2).",
            "Answer every deliver_sm promptly with its own sequence_number (smpplib: build the "
            "response, then set resp.sequence = pdu.sequence, as smpplib's own client does).",
            {"deliver_sm": f.deliver_sm, "answered with an unknown sequence_number": f.orphans,
             "unanswered": f.unanswered},
            examples=tuple(log.example(i) for i in (f.first_deliver_sm, f.first_orphan,
                                                    f.first_unanswered) if i is not None),
        ))
    return out


def _check_split_parts(log: _Log, f: _Facts) -> list[Finding]:
    if not f.split_groups:
        return []
    g = log.d.loc[f.split_rows]
    return [Finding(
        "error", "split-parts",
        f"{_count(f.split_groups, 'concatenated message')} had {_agree(f.split_groups, 'its', 'their')} parts sent through different instances",
        "The parts of one message must all reach the same gateway to be joined; parts that "
        "arrive on SMPP1 and SMPP2 go to different gateways and the message is never "
        "delivered (the provider's receipts say UNDELIV).",
        "Send every part of a message through one bind (spread whole messages, not parts, "
        "over the binds; smppkit.client.Cluster does this).",
        {"multi-part messages": f.part_groups, "split across instances": f.split_groups,
         "receipts UNDELIV err 010": f.undeliv},
        details=(f"ref {int(g['part_ref'].iloc[0])} to {g['destination_addr'].iloc[0]}: "
                 + ", ".join(f"part {int(s)} via {inst}" for s, inst
                             in zip(g["part_seq"], g["instance"], strict=True)),),
        examples=log.examples(g, 3),
    )]


def _check_throttling(log: _Log, f: _Facts) -> list[Finding]:
    out = []
    if f.submit_statuses:
        statuses = Counter(dict(f.submit_statuses))
        out.append(Finding(
            "warning", "submit-refused",
            f"{_count(statuses.total(), 'submit')} refused by the SMSC",
            "The SMSC answered submit_sm with an error: "
            + "; ".join(f"{status_name(s)} x{n}" for s, n in statuses.most_common(4)) + ".",
            "Look up each status (smppkit.explain or meanings.command_status_frame) and fix "
            "the fields it names; these messages were not sent.",
            {status_name(s): n for s, n in statuses.items()},
            examples=_rows(log, f.submit_refused_rows, 2),
        ))
    if not f.throttled:
        return out
    mean_rate = f.esme_submits / f.span if f.span and f.span > 0 else math.nan
    allowed = float(np.median(f.hot_rates)) if f.hot_rates else math.nan
    limit = allowed if allowed and not math.isnan(allowed) else PROVIDER_RATE
    suggest = max(1, int(limit * 0.9))
    share = f.throttled / f.submit_resps
    return out + [Finding(
        "warning", "throttled",
        f"{share:.0%} of submits refused with ESME_RTHROTTLED (0x58)",
        f"The client sends faster than the account allows: up to {f.peak} submits in one second "
        f"while the SMSC accepted about {_fmt(allowed)} per second when it throttled (the "
        f"provider's default limit is {PROVIDER_RATE:g} msg/s per account, shared by all binds). "
        "Throttled messages are not sent; they must be submitted again.",
        f"Limit the rate to about {suggest} msg/s for the whole account (Kannel: throughput = "
        f"{suggest} in the smsc group; smppkit.esme: a rate limit), and on 0x58 pause and "
        "resubmit with back-off instead of dropping the message.",
        {"submit_sm_resp": f.submit_resps, "ESME_RTHROTTLED": f.throttled, "share": round(share, 3),
         "peak submits per second": f.peak, "mean submits per second": round(mean_rate, 1)
         if not math.isnan(mean_rate) else "n/a", "accepted per second while throttled": allowed},
        examples=_rows(log, f.throttled_rows, 2),
    )]


def _check_enquire_link(log: _Log, f: _Facts) -> list[Finding]:
    reqs = log.rows("enquire_link")
    reqs = reqs[reqs["sequence"].notna()]
    if not len(reqs):
        return []
    resps = log.rows("enquire_link_resp")
    answered = set(zip(resps["session"], resps["sequence"], strict=True))
    open_ = reqs[[k not in answered for k in zip(reqs["session"], reqs["sequence"], strict=True)]]
    d = log.d
    unbind_at = d[d["command"].isin(("unbind", "unbind_resp")) & d["is_pdu"]].groupby("session")["t"].min()
    missing_rows = []
    for session, group in open_.groupby("session", sort=False):
        ended = float(unbind_at.get(session, math.inf))
        group = group[group["t"] < ended]  # sent while the session was ending: no answer due
        for i, row in group.iterrows():
            peer_spoke = f.last_pdu.get((session, not row["from_esme"]), -math.inf) > row["t"] + 0.5
            # evidence that an answer was due: the log goes on, the peer kept talking,
            # the session was closed waiting, or enquire_link went unanswered again
            if (row["t"] < f.t_max - 5.0 or peer_spoke or ended > row["t"] + 0.5
                    and ended != math.inf or len(group) >= 2):
                missing_rows.append(i)
    missing = d.loc[missing_rows]
    if not len(missing):
        return []
    by_smsc = int((missing["from_esme"]).sum())
    who = ("the SMSC did not answer the client's enquire_link" if by_smsc == len(missing) else
           "the client did not answer the SMSC's enquire_link" if by_smsc == 0 else
           "enquire_link went unanswered in both directions")
    sessions = sorted(set(missing["session"]))
    return [Finding(
        "warning", "enquire-link-unanswered",
        f"{len(missing)} enquire_link without enquire_link_resp",
        f"enquire_link checks that the other side is alive; here {who}. An unanswered "
        "enquire_link means the peer (or its reading thread) is stuck: binds get dropped and "
        "rebound, and receipts wait or are resent meanwhile.",
        "Answer every enquire_link at once (run a listener that never blocks; smpplib: a "
        "listen() thread). If the SMSC stops answering, drop the bind, bind again and tell "
        "the provider which instance it was.",
        {"enquire_link": len(reqs), "unanswered": len(missing), "sessions": len(sessions),
         "binds in the log": len(_bind_kinds(log))},
        details=(f"sessions: {', '.join(sessions[:6])}",), examples=log.examples(missing, 2),
    )]


def _check_unbinds(log: _Log, f: _Facts) -> list[Finding]:
    unbinds = log.rows("unbind")
    by_smsc = unbinds[~unbinds["from_esme"]]
    if not len(by_smsc):
        return []
    d = log.d
    gaps = []
    idle_rows = []
    idle_notes = log.notes(r"^idle for")
    for i, row in by_smsc.iterrows():
        pdus, last, last_esme = f.before_unbind[int(i)]
        gap = row["t"] - last_esme
        # silence both ways before the unbind: an inactivity timeout, not the SMSC's whim
        quiet = pdus > 0 and row["t"] - last >= _IDLE_SILENCE
        noted = ((idle_notes["session"] == row["session"]) & (abs(idle_notes["t"] - row["t"]) < 1.0)).any()
        if noted or quiet or (not math.isnan(gap) and gap >= 20.0):
            idle_rows.append(i)
            gaps.append(gap)
    if idle_rows:
        shortest = min(g for g in gaps if not math.isnan(g)) if any(not math.isnan(g) for g in gaps) else math.nan
        interval = max(5, int(shortest / 2)) if not math.isnan(shortest) else 30
        return [Finding(
            "warning", "idle-unbind",
            f"the SMSC unbound {_count(len(idle_rows), 'idle bind')}",
            f"The client sent nothing for about {_fmt(shortest)} s and the SMSC closed the "
            "bind. Until the client binds again, receipts for it wait at the SMSC and new "
            "messages fail.",
            f"Send enquire_link every {min(interval, 30)} s or less while bound (Kannel's "
            "default enquire-link-interval is 30 s), and rebind at once when the SMSC unbinds.",
            {"unbinds by the SMSC": len(by_smsc), "after silence": len(idle_rows),
             "silence before unbind (s)": round(shortest, 1) if not math.isnan(shortest) else "n/a"},
            examples=log.examples(d.loc[idle_rows], 2),
        )]
    return [Finding(
        "info", "smsc-unbind", f"the SMSC unbound {len(by_smsc)} binds",
        "The SMSC ended binds itself (maintenance, shutdown or a fault).",
        "Rebind with back-off when the SMSC unbinds.",
        {"unbinds by the SMSC": len(by_smsc)}, examples=log.examples(by_smsc, 1),
    )]


def _check_binds(log: _Log, f: _Facts) -> list[Finding]:
    resps = log.rows(*(b + "_resp" for b in _BINDS))
    failed = resps[resps["command_status"].fillna(0) != 0]
    if not len(failed):
        return []
    out = []
    alybnd = failed[failed["command_status"] == 0x05]
    if len(alybnd):
        ok = _bind_kinds(log)
        up = sorted(set(ok[ok["t"] < alybnd["t"].iloc[0]]["session"]))
        out.append(Finding(
            "warning", "already-bound",
            f"{_count(len(alybnd), 'bind')} refused with ESME_RALYBND (0x05): too many binds",
            "The account allows 2 binds at a time across the cluster (2 transceivers, or 1 "
            f"transmitter + 1 receiver); {len(up)} were already up, so each further bind is "
            "refused. Usually a second copy of the application, or a quick reconnect while "
            "the old bind still counts.",
            "Run one sender per account or share its binds; unbind (and wait for unbind_resp) "
            "before binding again; ask the provider for more binds if you need them.",
            {"binds refused with ESME_RALYBND": len(alybnd), "binds up at the time": len(up)},
            details=(f"binds up: {', '.join(up)}",) if up else (),
            examples=log.examples(alybnd, 2),
        ))
    other = failed[failed["command_status"] != 0x05]
    if len(other):
        statuses = Counter(int(s) for s in other["command_status"])
        out.append(Finding(
            "error", "bind-refused", f"{_count(len(other), 'bind')} refused",
            "The SMSC refused the bind: " + "; ".join(f"{status_name(s)} x{n}" for s, n in statuses.items())
            + ". No message can be sent or received on it.",
            "Check system_id, password, system_type and the allowed IP addresses with the provider.",
            {status_name(s): n for s, n in statuses.items()}, examples=log.examples(other, 2),
        ))
    return out


def _check_kannel(log: _Log, f: _Facts) -> list[Finding]:
    d = log.d
    out = []
    masks = log.noted["note"].str.extract(_DLR_MASK, expand=False).dropna().astype(int)
    lacking = sorted({m for m in masks if m & 1 and not m & 2})
    ignored = log.notes(r"Ignoring DLR message because of mask")
    if not len(ignored) and lacking:  # access.log only: failed receipts with no pending DLR
        lost = log.notes(_NO_PENDING)
        ignored = lost[~lost["receipt_stat"].isin(("DELIVRD", "ACCEPTD", "ENROUTE", ""))]
    if lacking or len(ignored):
        mask = lacking[0] if lacking else int(masks.iloc[0]) if len(masks) else 17
        explanation = explain_dlr_mask(mask)
        rows = d.loc[masks.index[masks.isin(lacking)]] if lacking else ignored
        out.append(Finding(
            "error" if len(ignored) else "warning", "kannel-dlr-mask",
            f"Kannel dlr-mask {mask} drops failure receipts"
            + (f" ({len(ignored)} ignored here)" if len(ignored) else ""),
            "Kannel asks the SMSC for receipts on success and failure, but the dlr-mask has no "
            "bit 2 (not delivered to phone), so an UNDELIV/EXPIRED/REJECTD receipt is logged as "
            "'Ignoring DLR message because of mask' and deleted: a failed message looks pending "
            "forever. " + (explanation.warnings[0] if explanation.warnings else ""),
            f"Send dlr-mask {mask | 2} ({'+'.join(str(b) for b in (1, 2, 4, 8, 16) if (mask | 2) & b)}); "
            "19 or 31 are the usual values.",
            {"messages with this mask": int(masks.isin(lacking).sum()),
             "failure receipts ignored": len(ignored)},
            examples=log.examples(ignored, 1) + log.examples(rows, 1),
        ))
    not_found = log.notes(_NOT_FOUND)
    access_lost = log.notes(_NO_PENDING)
    if not len(not_found) and len(access_lost):
        # a failure receipt under a mask without bit 2 is the mask's doing, not the id's
        not_found = access_lost[access_lost["receipt_stat"].isin(("DELIVRD", ""))] if lacking else access_lost
    if len(not_found):
        stored_ids = f.kannel_stored_ids
        details = []
        hint = None
        for rid in f.kannel_looked_ids:
            if rid in stored_ids:
                continue
            for sid in stored_ids:
                match = same_message(sid, rid)
                if match:
                    details.append(f"stored under {sid}, receipt says {rid}: {match.reason}")
                    if match.kannel_msg_id_type is not None:
                        hint = f"msg-id-type = 0x{match.kannel_msg_id_type:02X}"
                    break
            if details:
                break
        out.append(Finding(
            "error", "kannel-dlr-not-found",
            f"Kannel found no pending message for {len(not_found)} receipts ('DLR ... not found')",
            "Kannel stores each message under the id from submit_sm_resp and looks a receipt up "
            "by the id in the receipt. When the SMSC writes the two in different forms (hex vs "
            "decimal) and msg-id-type is unset, the strings differ and the receipt is dropped.",
            (f"Set {hint} in the smsc group" if hint else
             "Set msg-id-type to fit the SMSC's ids (0x01: resp hex, receipt decimal)")
            + "; keep SMSC ids below 2^63 (signed strtoll). Also check the receipt came over "
            "a link with the same smsc-id.",
            {"receipts not found": len(not_found), "pending DLRs stored": f.kannel_stored},
            details=tuple(details), examples=log.examples(not_found, 2),
        ))
    return out


@functools.lru_cache(maxsize=4096)
def _text_problems(hexstr: str) -> list[tuple[str, str, str]]:
    """(kind, evidence, guess) of each text problem of one submit PDU (its hex)."""
    from smppkit.protocol.codec import decode
    from smppkit.protocol.errors import RemoteProtocolError
    from smppkit.sms.text import diagnose_text, is_gsm

    try:
        pdu = decode(bytes.fromhex(hexstr))
    except (ValueError, RemoteProtocolError):
        return []
    found = []
    for f in diagnose_text(pdu):
        if f.problem.startswith("octets above 0x7F"):
            body = pdu.short_message
            try:
                meant = body.decode("utf-8")
                guess = (f"the octets are UTF-8 for {meant!r}"
                         + (", which GSM 03.38 cannot carry: it needs UCS-2" if not is_gsm(meant) else ""))
            except UnicodeDecodeError:
                guess = f"the octets read as Latin-1 give {body.decode('latin-1')!r}"
            found.append(("non_gsm", f.evidence, guess))
        elif "lacks UDHI" in f.problem:
            found.append(("no_udhi", f.evidence, ""))
    return found


def _check_text(log: _Log, f: _Facts) -> list[Finding]:
    # each distinct body is read once; a submit counts once per problem its body has
    count: Counter[str] = Counter()
    first: dict[str, list[tuple[int, int, str, str]]] = {"non_gsm": [], "no_udhi": []}
    for hexstr, n, rows in f.text_bodies:
        for k, (kind, evidence, guess) in enumerate(_text_problems(hexstr)):
            count[kind] += n
            first[kind] += [(row, k, evidence, guess) for row in rows]
    non_gsm, no_udhi = sorted(first["non_gsm"])[:2], sorted(first["no_udhi"])[:2]
    out = []
    if non_gsm:
        n = count["non_gsm"]
        _, _, evidence, guess = non_gsm[0]
        out.append(Finding(
            "error", "data-coding-0-non-gsm",
            f"{_count(n, 'submit')} with data_coding 0 {_agree(n, 'carries', 'carry')} characters GSM 03.38 cannot encode",
            "data_coding 0 means the SMSC default alphabet (GSM 03.38, 7-bit, one character per "
            "octet here): octets above 0x7F are not in it, so the handset shows garbage. "
            f"Example: {guess}.",
            "Send text that is not all GSM 03.38 as UCS-2 with data_coding 8 (70 characters per "
            "message, 67 per part); smppkit.text.to_pdus chooses the encoding for you.",
            {"submits checked": f.text_checked, "data_coding 0 with octets > 0x7F": n},
            details=(evidence,), examples=tuple(log.example(j) for j, _, _, _ in non_gsm),
        ))
    if no_udhi:
        n = count["no_udhi"]
        _, _, evidence, _ = no_udhi[0]
        out.append(Finding(
            "error", "udh-without-udhi",
            f"{_count(n, 'submit')} {_agree(n, 'starts', 'start')} with a concatenation UDH but esm_class lacks UDHI (0x40)",
            "Without the UDHI bit the SMSC and the handset take the UDH for text: the parts "
            "are not joined and each shows a few garbage characters first.",
            "Set esm_class |= 0x40 on every part that carries a UDH (smppkit.text.to_pdus does).",
            {"submits checked": f.text_checked, "UDH without UDHI": n},
            details=(evidence,), examples=tuple(log.example(j) for j, _, _, _ in no_udhi),
        ))
    return out


def _check_receipt_before_resp(log: _Log, f: _Facts) -> list[Finding]:
    d = log.d
    # Kannel: the receipt is looked up under an id that is stored only afterwards
    looked = log.notes(r"^receipt arrived: looking up pending DLR id")
    stored = log.notes(r"^pending DLR stored")
    first: dict[str, Any] = {}
    for i, mid in zip(stored.index, stored["message_id"], strict=True):
        first.setdefault(mid, i)
    lookups = [(i, first[mid]) for i, mid in zip(looked.index, looked["message_id"], strict=True)
               if mid in first and _before(d, i, first[mid])]
    if not f.early and not lookups:
        return []
    n = max(f.early, len(lookups))
    r, s = f.first_early if f.first_early else lookups[0]
    return [Finding(
        "error", "receipt-before-resp",
        f"{_count(n, 'receipt')} arrived before the submit_sm_resp that gives {_agree(n, 'its', 'their')} message id",
        "The SMSC sent the delivery receipt (deliver_sm) before it answered the submit_sm, so "
        "when the receipt came the client did not know the message id yet: Kannel logs 'DLR "
        "... not found', a client logs an unknown message id. The ids are right; only the "
        "order is wrong (SMPP v3.4 §4.4.2: the message id is returned in submit_sm_resp).",
        "This is not an id-format problem: leave msg-id-type as it is. Keep a receipt whose id "
        "is unknown for a few seconds and match it again when the submit_sm_resp arrives (and "
        "answer its deliver_sm with ESME_ROK); Kannel 1.4.5 cannot wait, so report the order "
        "to the provider.",
        {"receipts before their submit_sm_resp": f.early,
         "Kannel lookups before the DLR was stored": len(lookups)},
        details=(f"receipt for {d.at[r, 'message_id']} at {_clock(d.at[r, 't'])}, its "
                 f"submit_sm_resp / stored DLR at {_clock(d.at[s, 't'])}",),
        examples=(log.example(r), log.example(s)),
    )]


def _clock(t: float) -> str:
    return "?" if math.isnan(t) else pd.Timestamp(t, unit="s", tz="UTC").strftime("%H:%M:%S.%f")[:-3]


def _check_dlr_url(log: _Log, f: _Facts) -> list[Finding]:
    empty = log.notes(r"dlr-url is empty \(URL <>\)")
    if not len(empty):
        return []
    called = log.notes(r"the dlr-url <.+> is called")
    return [Finding(
        "error", "dlr-url-missing",
        f"{_count(len(empty), 'receipt')} matched {_agree(len(empty), 'its', 'their')} message, but "
        "Kannel had no dlr-url to report to",
        "The messages were sent with a dlr-mask but without a dlr-url, so bearerbox finds the "
        "pending message for each receipt and then logs 'created DLR message for URL <>': the "
        "report goes nowhere and the application never hears of it.",
        "Send a dlr-url with every sendsms request that has a dlr-mask (e.g. "
        "dlr-url=http://app/dlr?id=%I&status=%d&smsc-id=%i), or set dlr-url in the "
        "sendsms-user or sms-service group.",
        {"receipts with an empty dlr-url": len(empty), "receipts reported to a dlr-url": len(called)},
        examples=log.examples(empty, 2),
    )]


def _check_other_link(log: _Log, f: _Facts) -> list[Finding]:
    """Kannel files a pending DLR under the sending link's smsc-id and looks a receipt up
    under the smsc-id of the link it arrives on."""
    stored = log.notes(r"^pending DLR stored for smsc-id")
    looked = log.notes(r"^receipt arrived: looking up pending DLR id")
    if not len(stored) or not len(looked):
        return []
    owner, _ = pair_ids(stored["message_id"], looked["message_id"])
    cross = []
    for k, o in enumerate(owner):
        if o < 0:
            continue
        mine, theirs = looked["instance"].iloc[k], stored["instance"].iloc[o]
        same_link = stored["message_id"].iloc[o] == looked["message_id"].iloc[k] and mine == theirs
        if mine and theirs and mine != theirs and not same_link:
            cross.append((looked.index[k], stored.index[o]))
    if not cross:
        return []
    i, j = cross[0]
    d = log.d
    links = sorted(set(stored["instance"]) | set(looked["instance"]))
    return [Finding(
        "error", "receipts-other-link",
        f"{_count(len(cross), 'receipt')} came back on another Kannel link (smsc-id) than "
        f"{_agree(len(cross), 'its message', 'their messages')}",
        f"Kannel files a pending DLR under the smsc-id of the link that sent the message "
        f"({d.at[j, 'instance']}) and looks a receipt up under the smsc-id of the link it "
        f"arrives on ({d.at[i, 'instance']}). The SMSC cluster delivers receipts on any bind of "
        "the account, so with one smsc-id per link these receipts are 'not found' and lost. "
        "The ids themselves match: msg-id-type is not the problem.",
        "Give every link to this SMSC the same smsc-id (keep a distinct smsc-admin-id per "
        "link); `smppkit kannel check` flags the config.",
        {"receipts on another link": len(cross), "links": len(links)},
        details=(f"links: {', '.join(links)}",), examples=(log.example(j), log.example(i)),
    )]


def _check_duplicates(log: _Log, f: _Facts) -> list[Finding]:
    if not f.dup_messages:
        return []
    reasons = Counter(dict(f.dup_reasons))
    reason = reasons.most_common(1)[0][0]
    why = {
        "missing": ("no deliver_sm_resp answered the first copy", "Answer every deliver_sm with "
                    "a deliver_sm_resp carrying its sequence_number"),
        "refused": ("the first copy was answered with an error status", "Answer deliver_sm with "
                    "ESME_ROK (0) once the receipt is stored"),
        "late": ("the deliver_sm_resp came after the SMSC's timeout, so it sent the receipt again",
                 "Answer deliver_sm at once (store the receipt, answer, then do the slow work); "
                 "a late answer is as good as none"),
        "resent": ("the first copy was answered at once with ESME_ROK: the SMSC itself sends "
                   "receipts more than once", "Ask the provider why"),
    }[reason]
    return [Finding(
        "warning", "duplicate-receipts",
        f"{_count(f.dup_messages, 'receipt')} delivered more than once ({_count(f.dup_extra, 'extra copy', 'extra copies')}): "
        f"{why[0]}",
        "The SMSC sends a receipt again when its deliver_sm gets no deliver_sm_resp within its "
        f"timeout, or one with an error status; here {why[0]}. Every copy is a receipt the "
        "application must not count twice (Kannel finds no pending message for the second).",
        f"{why[1]}; and handle receipts idempotently: the message id and stat identify one.",
        {"receipts repeated": f.dup_messages, "extra copies": f.dup_extra, "likely reason": reason,
         **{f"first copy: {k}": v for k, v in reasons.items()}},
        examples=_rows(log, f.dup_rows, 2),
    )]


def _check_outcomes(log: _Log, f: _Facts) -> list[Finding]:
    if not f.final:
        return []
    n, bad = f.final, f.final_failed
    details = []
    for (stat, err), k in Counter(dict(f.final_mix)).most_common(6):
        try:
            meaning = explain_receipt_err(err).meaning if err else ""
        except ValueError:
            meaning = ""
        details.append(f"{stat} err:{err or '?'} x{k}" + (f" ({meaning})" if meaning else ""))
    most = n >= 2 and bad > n / 2
    return [Finding(
        "warning" if most else "info", "not-delivered" if most else "outcomes",
        f"{bad} of {n} messages with a final receipt were not delivered",
        ("The receipts arrived and were matched: the messages themselves failed (the handset "
         "or the network refused them), which is not a lost receipt. The err field says why."
         if most else "How the messages with a final receipt ended."),
        ("Look at the err meanings below: check the numbers, the sender id and the text "
         "against the provider's rules; retry only the temporary errors later." if most else
         "Nothing to fix."),
        {"final receipts": n, "DELIVRD": n - bad, "not delivered": bad},
        details=tuple(details), examples=_rows(log, f.final_failed_rows, 2),
    )]


_CHECKS: tuple[Callable[[_Log, _Facts], list[Finding]], ...] = (
    _check_binds,
    _check_receipt_before_resp,
    _check_other_link,
    _check_dlr_url,
    _check_transmitter_only,
    _check_registered_delivery,
    _check_ids,
    _check_other_session,
    _check_deliver_resp,
    _check_split_parts,
    _check_throttling,
    _check_enquire_link,
    _check_unbinds,
    _check_kannel,
    _check_text,
    _check_duplicates,
    _check_outcomes,
)


def _invalid_bind_state(cause: Finding, consequence: Finding) -> bool:
    """Submits refused because the bind was refused (ESME_RINVBNDSTS: not bound)."""
    return any("RINVBNDSTS" in k for k in consequence.counts)


def _duplicate_copies(cause: Finding, consequence: Finding) -> bool:
    """Kannel's 'not found' for the second copies of duplicate receipts."""
    return consequence.counts.get("receipts not found", 0) <= cause.counts.get("extra copies", 0)


def _reason(*reasons: str) -> Callable[[Finding, Finding], bool]:
    return lambda cause, consequence: consequence.counts.get("likely reason") in reasons


#: (cause, consequence, condition): the consequence finding follows from the cause.
_CONSEQUENCES: tuple[tuple[str, str, Callable[[Finding, Finding], bool] | None], ...] = (
    # Kannel ignores ESME_RALYBND and submits on the refused bind anyway
    ("already-bound", "submit-refused", _invalid_bind_state),
    ("bind-refused", "submit-refused", _invalid_bind_state),
    ("receipt-before-resp", "kannel-dlr-not-found", None),
    ("receipt-before-resp", "id-mismatch", None),
    ("receipt-before-resp", "receipts-unknown", None),
    ("receipts-other-link", "kannel-dlr-not-found", None),
    ("receipts-other-session", "receipts-unknown", None),
    ("duplicate-receipts", "kannel-dlr-not-found", _duplicate_copies),
    ("receipt-resp-missing", "duplicate-receipts", _reason("missing", "late")),
    ("receipt-resp-retried", "duplicate-receipts", _reason("refused")),
    ("receipt-resp-refused", "duplicate-receipts", _reason("refused")),
    ("enquire-link-unanswered", "idle-unbind", None),
    ("enquire-link-unanswered", "smsc-unbind", None),
    ("split-parts", "not-delivered", None),
    ("split-parts", "outcomes", None),
    ("kannel-dlr-mask", "outcomes", None),
)


def _rank(findings: list[Finding]) -> list[Finding]:
    """Mark consequences (`_CONSEQUENCES`) and order: each root cause, most severe group
    first, then its consequences."""
    by_code = {f.code: f for f in findings}
    marked = []
    for f in findings:
        for cause, consequence, condition in _CONSEQUENCES:
            root = by_code.get(cause)
            if consequence == f.code and root is not None and root is not f and (
                    condition is None or condition(root, f)):
                f = dataclasses.replace(f, caused_by=cause)
                break
        marked.append(f)
    order = {s: i for i, s in enumerate(SEVERITIES)}
    children: dict[str, list[Finding]] = {}
    for f in marked:
        if f.caused_by:
            children.setdefault(f.caused_by, []).append(f)

    def tree(f: Finding, seen: set[str]) -> list[Finding]:
        out = [f]
        for c in sorted(children.get(f.code, []), key=lambda c: order[c.severity]):
            if c.code not in seen:
                seen.add(c.code)
                out += tree(c, seen)
        return out

    codes = {f.code for f in marked}
    roots = [f for f in marked if not f.caused_by or f.caused_by not in codes]
    groups = [tree(r, {r.code}) for r in roots]
    groups.sort(key=lambda g: (min(order[f.severity] for f in g), order[g[0].severity]))
    ranked = [f for g in groups for f in g]
    placed = {id(f) for f in ranked}
    return ranked + [f for f in marked if id(f) not in placed]  # a cycle: keep the rest


def diagnose(events: pd.DataFrame | str | os.PathLike[str] | Iterable[Any], *,
             tz: str | None = None) -> Report:
    """Find why receipts go missing (and other delivery problems) in a log.

    Args:
        events: an event table in the trace schema (`smppkit.logs.read`, ``sim.trace()``),
            a log path, several paths (read together: a capture, the client's log,
            bearerbox.log and access.log of one setup; PDUs seen in two of them count once),
            or a list of trace event dicts.
        tz: the zone of log times written without one (Kannel, smpplib): a zone name or
            "UTC"; None: this machine's local time, which is what they write.

    Returns:
        A `Report`: `findings` with each root cause first and its consequences after it
        (``caused_by``), `ok` when there is no error or warning, and what was read.

    Raises:
        FileNotFoundError: a path does not exist.
        UnreadableInput: nothing could be read (empty files, unknown formats): the message
            says what was read and why nothing came of it.
    """
    frame, inputs = _load_inputs(events, tz)
    log = _Log(frame)
    return _report(log, _facts(log), inputs)


def _report(log: _Log, facts: _Facts, inputs: Inputs) -> Report:
    """The `Report` of the checks over `log` (every row, or the rows the checks read one by
    one: `smppkit.diagnose.doctor_sql`) and the `facts` of the whole table."""
    findings: list[Finding] = []
    for check in _CHECKS:
        findings.extend(check(log, facts))
    codes = {f.code for f in findings}
    if {"id-mismatch", "kannel-dlr-not-found", "receipts-other-link"} & codes:
        findings = [f for f in findings if f.code != "id-forms"]  # said there already
    findings = _rank(findings)
    summary: dict[str, Any] = {
        "events": facts.events,
        "sessions": facts.sessions,
        "submits": facts.submits,
        "receipts": facts.receipts,
        "receipts matched": facts.links,
    }
    if not math.isnan(facts.t_max):
        summary["span (s)"] = round(facts.t_max - facts.t_min, 1)
    if inputs.bad_lines:
        summary["bad lines"] = len(inputs.bad_lines)
    return Report(findings, summary, inputs)


# --- one message's story ------------------------------------------------------------------------


@dataclass
class Story:
    """Every PDU and log line about one message, in time order, and what became of it."""

    message_id: str
    events: pd.DataFrame  # time, where, who, what
    verdict: str

    def __str__(self) -> str:
        head = f"message {self.message_id}: {self.verdict}"
        if not len(self.events):
            return head
        width = max(len(w) for w in self.events["where"])
        clock = max(len(t) for t in self.events["time"])
        lines = [f"  {t:<{clock}}  {w:<{width}}  {what}" for t, w, what in
                 zip(self.events["time"], self.events["where"], self.events["what"], strict=True)]
        return "\n".join([head, *lines])

    def _repr_html_(self) -> str:
        esc = html.escape
        return (f"<p><b>message {esc(self.message_id)}</b>: {esc(self.verdict)}</p>"
                + self.events.to_html(index=False, border=0))


def story(events: pd.DataFrame | str | os.PathLike[str] | Iterable[Any], message_id: str, *,
          tz: str | None = None) -> Story:
    """One message's story: its submit_sm and resp, its receipts and their resps, and every
    log line that names it (Kannel's DLR lines, the application's own lines), across all
    the artifacts, in time order, with the verdict.

    Args:
        events: as for `diagnose`.
        message_id: the id in any form: as submit_sm_resp wrote it (hex), as the receipt
            wrote it (decimal), or as Kannel stored it (after msg-id-type).
        tz: as for `diagnose`.

    Raises:
        FileNotFoundError, UnreadableInput: as for `diagnose`.
        ValueError: an empty message id.
    """
    if not str(message_id).strip():
        raise ValueError("a message id is needed")
    log = _Log(_load(events, tz))
    d = log.d
    named = d[d["message_id"] != ""]
    owner, _ = pair_ids(pd.Series([str(message_id)], dtype="string"), named["message_id"])
    rows = set(named.index[owner >= 0])
    mentions = log.noted[log.noted["note"].str.contains(re.escape(str(message_id).strip()),
                                                        case=False, regex=True)]
    rows |= set(mentions.index)
    # the requests and answers around them: submit_sm of a resp, deliver_sm_resp of a receipt
    pdus = d[d["is_pdu"]]
    by_key = {(ses, seq, cmd): i for i, ses, seq, cmd in
              zip(pdus.index, pdus["session"], pdus["sequence"], pdus["command"], strict=True)}
    for i in list(rows):
        cmd, ses, seq = d.at[i, "command"], d.at[i, "session"], d.at[i, "sequence"]
        if math.isnan(seq):
            continue
        partner = (cmd[:-5] if cmd.endswith("_resp") else cmd + "_resp")
        j = by_key.get((ses, seq, partner))
        if j is not None:
            rows.add(j)
    # Kannel writes whole seconds: its lines go after the exact times of the same second
    coarse = d["system"] == "kannel"

    def when(i: Any) -> tuple[float, str, float, Any]:
        t = d.at[i, "t"]
        return (t + 0.999 if coarse[i] else t, d.at[i, "source_file"], d.at[i, "line"], i)

    picked = d.loc[sorted(rows, key=when)] if rows else d.iloc[:0]
    table = pd.DataFrame({
        "time": [_clock(t)[:-4] if coarse[i] else _clock(t) for i, t in zip(picked.index, picked["t"], strict=True)],
        "where": [log.example(i).where for i in picked.index],
        "who": ["" if not c else "ESME->SMSC" if e else "SMSC->ESME"
                for c, e in zip(picked["command"], picked["from_esme"], strict=True)],
        "what": [_describe(row, with_time=False) for _, row in picked.iterrows()],
    })
    return Story(str(message_id), table, _verdict(picked))


def _verdict(rows: pd.DataFrame) -> str:
    if not len(rows):
        return "not in these logs"
    cmd = rows["command"]
    receipts = rows[cmd.isin(RECEIPT_COMMANDS) & (rows["receipt_stat"] != "")]
    if receipts["is_pdu"].any():  # the PDUs themselves, not the logs' lines about them
        receipts = receipts[receipts["is_pdu"]]
    final = receipts[~receipts["receipt_stat"].isin(_INTERMEDIATE)]
    lost = rows["note"].str.contains(r"not found|no pending|unknown message|dropped", case=False)
    if len(final) and lost.any():
        return (f"receipt lost: it came (stat {final['receipt_stat'].iloc[-1]}) but was not "
                "matched to the message (see the lines above)")
    resp = rows[cmd.isin(("submit_sm_resp", "data_sm_resp"))]
    refused = resp[resp["command_status"].fillna(0) != 0]
    if len(refused) and not len(final):
        return f"refused by the SMSC: {status_name(int(refused['command_status'].iloc[-1]))}"
    if len(final):
        stat, err = final["receipt_stat"].iloc[-1], final["receipt_err"].iloc[-1]
        copies = f" (the receipt came {len(final)} times)" if len(final) > 1 else ""
        if stat in _FINAL_STATS_OK:
            return "delivered: the receipt says DELIVRD" + copies
        try:
            meaning = explain_receipt_err(err).meaning if err else ""
        except ValueError:
            meaning = ""
        return f"not delivered: the receipt says {stat} err:{err or '?'}" + (
            f" ({meaning})" if meaning else "") + copies
    if rows["note"].str.contains(r"not found|no pending|unknown|ignored", case=False).any():
        return "a receipt came but was not matched to the message (see the lines above)"
    if len(resp):
        return "accepted by the SMSC; no final receipt in these logs"
    return "sent; no answer from the SMSC in these logs"


# --- command line -------------------------------------------------------------------------------

#: Exit status of ``smppkit doctor``.
EXIT_OK, EXIT_FINDINGS, EXIT_UNREADABLE = 0, 1, 2


def _build(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "Read one or more logs of one setup (smppkit JSONL traces, smpplib debug logs, "
        "pcaps, Kannel bearerbox/access logs) and explain why receipts go missing. "
        "Exit status: 0 when no finding is above info (or none reaches --fail-on), 1 when "
        "one is, 2 when the input cannot be read (nothing readable, a missing file)."
    )
    parser.add_argument("logs", nargs="+", metavar="LOG")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--separate", action="store_true",
                        help="diagnose each log on its own (default: all logs read together)")
    parser.add_argument("--fail-on", choices=("warning", "error", "never"), default="warning",
                        help="lowest severity that makes the exit status 1 (default: warning)")
    parser.add_argument("--message", metavar="ID",
                        help="tell one message's story instead (hex, decimal or Kannel's id)")
    parser.add_argument("--tz", metavar="ZONE", default=None,
                        help="zone of Kannel and smpplib log times (default: this machine's "
                             "local time, which is what they write), e.g. UTC, Europe/Berlin")
    parser.add_argument("--debug", action="store_true", help="show the traceback of an error")


def _run(args: argparse.Namespace) -> int:
    try:
        if args.message is not None:
            told = story(args.logs[0] if len(args.logs) == 1 else args.logs, args.message, tz=args.tz)
            print(json.dumps({"message_id": told.message_id, "verdict": told.verdict,
                              "events": told.events.to_dict("records")}, indent=2,
                             ensure_ascii=False) if args.json else told)
            return EXIT_OK
        groups = [[p] for p in args.logs] if args.separate else [list(args.logs)]
        reports = [(g, diagnose(g[0] if len(g) == 1 else g, tz=args.tz)) for g in groups]
    except Exception as exc:  # one line, never a traceback (unless --debug)
        if args.debug:
            raise
        known = isinstance(exc, (OSError, ValueError))
        print(f"smppkit doctor: {exc}" if known else
              f"smppkit doctor: cannot read the input ({type(exc).__name__}: {exc}); "
              "run with --debug for the traceback", file=sys.stderr)
        return EXIT_UNREADABLE
    if args.json:
        data = [dict(logs=g, **r.to_dict()) for g, r in reports]
        print(json.dumps(data[0] if len(data) == 1 else data, indent=2, ensure_ascii=False))
    else:
        for g, r in reports:
            print(f"== {', '.join(g)}\n{r}\n")
    levels = {"warning": ("error", "warning"), "error": ("error",), "never": ()}[args.fail_on]
    failed = any(f.severity in levels for _, r in reports for f in r.findings)
    return EXIT_FINDINGS if failed else EXIT_OK


def register_cli(register: Callable[..., None]) -> None:
    """Add ``smppkit doctor LOG... [--json] [--message ID] [--tz ZONE]`` (`smppkit.cli.register`)."""
    register("doctor", "explain why delivery receipts go missing in a log", _build, _run)
