"""The receipt doctor's whole-table checks as portable SQL: DuckDB and Spark run them alike.

`diagnose(engine)` returns the `Report` that `smppkit.diagnose.doctor.diagnose` returns for
the same events -- the same findings, wording, counts and examples; the differential tests
hold the two to each other on every sample log and every corpus case -- while only small
answers leave the engine.

Strategy: the doctor's checks (`doctor._CHECKS`) read two things: `doctor._Facts`, what
they need of the whole table (counts, the pairing of receipts with submit_sm_resp, per
second rates, the first rows of each selection...), and a `doctor._Log` of the rows they
read one by one (binds, enquire_link, unbind, the notes that can match one of their
patterns, and the rows they show as evidence). Here the facts are queries over the view
``doctor_events`` (the doctor's normalised table, `DOCTOR_VIEW`, over the engine's
``raw_events``), and the `_Log` holds only those rows, fetched by position; the checks
themselves, their rules, thresholds and wording are the doctor's own, not copied.

The SQL keeps to what both engines run alike (CTEs, joins, ``CASE``, ``row_number``,
integer ``&``, ``substr``, ``LIKE``); times are seconds as pandas computes them from
integer microseconds (whole seconds + the rest / 10**6), so comparisons and rounding give
the same results. Rows are labelled by ``ord`` (input order from 0), which is their
position in the pandas table.

Two artifacts of one conversation (a capture and the client's log) share PDUs, which the
doctor counts once (`doctor._dedupe`); when the files of a dataset overlap so, the events
are read into pandas, de-duplicated there, and the checks run on a DuckDB engine over the
result (such inputs are small: one setup's artifacts).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from smppkit.diagnose import doctor as D
from smppkit.diagnose.kinds import receipt_sql
from smppkit.diagnose.pairing import FORMS, RULES, id_readings, pair_ids
from smppkit.protocol.constants import EsmClass
from smppkit.sms.meanings import DELIVER_SM_RESP_RETRY
from smppkit.sms.receipts import RECEIPT_COMMANDS

__all__ = ["DOCTOR_VIEW", "diagnose"]

_STRINGS = ("system", "instance", "session", "system_id", "bind", "direction", "command",
            "message_id", "source_addr", "destination_addr", "receipt_stat", "receipt_err",
            "note", "source_file", "hex")
_NUMBERS = ("command_status", "sequence", "esm_class", "data_coding", "registered_delivery",
            "part_ref", "part_total", "part_seq", "line")
_READINGS = ("id_text", "id_hex", "id_dec")  # pairing.RULES' readings 0, 1, 2


def _lit(values: Iterable[Any]) -> str:
    """SQL literals: strings quoted, numbers as they are."""
    return ", ".join(f"'{v.replace(chr(39), chr(39) * 2)}'" if isinstance(v, str) else str(int(v))
                     for v in values) or "NULL"


def _dbl(x: float) -> str:
    return f"CAST('{x!r}' AS DOUBLE)"


def _seconds(t_us: str) -> str:
    """Seconds since the epoch from integer microseconds, as pandas' total_seconds()
    computes them: whole seconds plus the remainder divided by 10**6."""
    whole = f"floor(CAST({t_us} AS DOUBLE) / {_dbl(1e6)})"
    return f"({whole} + (CAST({t_us} AS DOUBLE) - {whole} * {_dbl(1e6)}) / {_dbl(1e6)})"


#: the doctor's normalised table (`doctor._Log`) as a SELECT over ``raw_events``
DOCTOR_VIEW = (
    "SELECT ord AS pos, "
    f"{_seconds('t_us')} AS t, t_us, "
    + ", ".join(f"coalesce({c}, '') AS {c}" for c in _STRINGS) + ", "
    + ", ".join(_NUMBERS) + ", " + ", ".join(_READINGS) + ", "
    # who sent it: the simulator writes as the SMSC, every other writer as the ESME
    f"CASE WHEN coalesce(system, '') IN ({_lit(sorted(D._SMSC_WRITERS))}) "
    "THEN coalesce(direction, '') = 'in' ELSE coalesce(direction, '') = 'out' END AS from_esme, "
    # rows that stand for a PDU on the wire (Kannel also logs explanatory lines)
    "(coalesce(command, '') <> '' AND (coalesce(hex, '') <> '' OR sequence IS NOT NULL)) AS is_pdu "
    "FROM raw_events"
)
_E = "doctor_events"
_RECEIPT = receipt_sql(has_stat="receipt_stat <> ''")


def _where(commands: Sequence[str], pdu: bool | None = True) -> str:
    cond = f"command IN ({_lit(commands)})"
    return cond if pdu is None else f"{cond} AND {'' if pdu else 'NOT '}is_pdu"


def _before(a: str, b: str) -> str:
    """`doctor._before` of rows `a` and `b` (aliases with t, source_file, line, pos)."""
    return (f"(CASE WHEN {a}.source_file <> {b}.source_file "
            f"THEN coalesce({a}.t < {b}.t - {_dbl(D._CLOCK_SLACK)}, FALSE) "
            f"WHEN {a}.t IS NULL OR {b}.t IS NULL THEN FALSE "
            f"WHEN {a}.t <> {b}.t THEN {a}.t < {b}.t "
            f"ELSE coalesce({a}.line < {b}.line, FALSE) "
            f"OR coalesce({a}.line = {b}.line AND {a}.pos < {b}.pos, FALSE) END)")


def _pos(v: Any) -> int | None:
    return None if v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA else int(v)


def _head(rows: list[int]) -> int | None:
    return rows[0] if rows else None


def _num(v: Any) -> float:
    return math.nan if v is None or v is pd.NA else float(v)


class _Run:
    """The queries of one run of the checks on an engine."""

    def __init__(self, engine: Any) -> None:
        self.engine = engine

    def q(self, sql: str) -> pd.DataFrame:
        return self.engine.query(sql)

    def grouped(self, parts: dict[str, str]) -> dict[str, pd.DataFrame]:
        """name -> the rows of each SELECT of `parts` (of `_group` columns); one query."""
        sql = " UNION ALL ".join(f"SELECT '{n}' AS what, g.* FROM ({rows}) g"
                                 for n, rows in parts.items())
        got = self.q(sql)
        return {n: got[got["what"] == n].reset_index(drop=True) for n in parts}

    def rows(self, where: str) -> D._Log:
        """The rows of ``doctor_events`` matching `where`, as a `doctor._Log` (their time
        in seconds as computed here, which is pandas' value)."""
        cols = ", ".join(c for c in (*_STRINGS, *_NUMBERS))
        frame = self.q(f"SELECT pos, t AS time, {cols} FROM {_E} WHERE {where} ORDER BY pos")
        return D._Log(frame, index=[int(p) for p in frame.pop("pos")])


def diagnose(engine: Any, inputs: D.Inputs | None = None, *, dedupe: bool = True) -> D.Report:
    """The receipt doctor's `Report` on the events an engine holds
    (`smppkit.diagnose.engines`: the view ``raw_events``).

    Args:
        engine: a `DuckDBEngine` or `SparkEngine` with its source loaded.
        inputs: what was read (files, bad lines, time zone), for the report.
        dedupe: count PDUs that two files both show once (`doctor._dedupe`).
    """
    from smppkit.diagnose.engines import DuckDBEngine

    inputs = inputs or D.Inputs()
    engine.execute(f"CREATE OR REPLACE TEMPORARY VIEW {_E} AS {DOCTOR_VIEW}")
    if dedupe and _files_overlap(engine):
        frame = D._dedupe(_events(engine), inputs)
        local = DuckDBEngine()
        try:
            local.load_frame(frame)
            return diagnose(local, inputs, dedupe=False)
        finally:
            local.close()
    run = _Run(engine)
    notes = " OR ".join(f"lower(note) LIKE '%{w}%'" for w in D.NOTE_WORDS)
    where = f"({_where(D._ONE_BY_ONE)}) OR (note <> '' AND ({notes}))"
    log = run.rows(where)
    try:
        facts = _facts(run, log)
    finally:
        engine.drop(*_STEPS, _SAMPLE)
    shown = sorted(_shown(facts) - set(log.d.index))
    if shown:
        log = run.rows(f"{where} OR pos IN ({_lit(shown)})")
    return D._report(log, facts, inputs)


def _shown(f: D._Facts) -> set[int]:
    """The positions of the rows the checks may show or read, beyond those of `diagnose`'s
    first `doctor._Log`."""
    out: set[int] = set()
    for rows in (f.rd_none_rows, f.rd_failure_rows, f.retried_rows, f.refused_rows,
                 f.split_rows, f.submit_refused_rows, f.throttled_rows, f.dup_rows,
                 f.final_failed_rows, f.receipt_of.values(), f.first_link or (),
                 f.first_cross or (), f.first_early or (),
                 (j for _, _, j, _ in f.unknown if j is not None),
                 (p for p in (f.first_submit, f.first_asked, f.first_deliver_sm, f.first_orphan,
                              f.first_unanswered) if p is not None)):
        out.update(rows)
    for hexstr, _, rows in f.text_bodies:
        if D._text_problems(hexstr):
            out.update(rows)
    return out


# --- the facts ------------------------------------------------------------------------------
#
# Most facts come in two queries: `_COUNTS`, one row of conditional counts and first
# positions over a few sources, and `_GROUPS`, the small grouped answers; the sources that
# several of them read are kept as tables first (`_STEPS`).

_SUBMIT_PDU = f"command IN ({_lit(D._SUBMITS)}) AND is_pdu"
_SUBMIT_RESP_PDU = f"command IN ({_lit(D._SUBMIT_RESPS)}) AND is_pdu"
# the submit_sm_resp PDUs, or when there are none the logs' lines of them (Kannel's
# access.log); registered_delivery likewise from the submit PDUs or the Sent SMS lines
_ANSWER = (f"command IN ({_lit(D._SUBMIT_RESPS)}) AND (is_pdu = (resp_pdus > 0))")
_CLIENT_RESP = f"command IN ({_lit(D._RECEIPT_RESPS)}) AND is_pdu AND from_esme"
_BAD_RESP = f"{_CLIENT_RESP} AND command_status IS NOT NULL AND command_status <> 0"
_RETRY = _lit(sorted(DELIVER_SM_RESP_RETRY))
_SENT = (f"command IN ({_lit(RECEIPT_COMMANDS)}) AND is_pdu AND NOT from_esme "
         "AND sequence IS NOT NULL")
_ACCEPTED = f"coalesce(command_status, 0) IN (0, {D._THROTTLED})"
_ESME_SUBMIT = f"{_SUBMIT_PDU} AND from_esme"
_CANDIDATE = (f"{_SUBMIT_PDU} AND hex <> '' AND (coalesce(data_coding, -1) = 0 OR "
              f"(coalesce(esm_class, 0) & {int(EsmClass.udhi)}) = 0)")
_CANDIDATES = f"SELECT pos, hex, substr(hex, 33) AS body FROM {_E} WHERE {_CANDIDATE}"
_KEY = ", ".join(D._MESSAGE_KEY)
_FLAGGED = (f"(SELECT e.*, c.resp_pdus, c.submit_pdus FROM {_E} e CROSS JOIN (SELECT "
            f"count(CASE WHEN {_SUBMIT_RESP_PDU} THEN 1 END) AS resp_pdus, "
            f"count(CASE WHEN {_SUBMIT_PDU} THEN 1 END) AS submit_pdus FROM {_E}) c)")


def _receipts_table() -> str:
    """Every receipt PDU with a message id, ``s`` the position of the submit_sm_resp it
    pairs with and ``rule`` the rule (`pairing.RULES`: each receipt takes the first resp
    with its key under the first rule that pairs it)."""
    resps = (f"SELECT pos, {', '.join(_READINGS)} FROM {_E} WHERE command IN "
             f"({_lit(D._SUBMIT_RESPS)}) AND command_status = 0 AND message_id <> ''")
    keyed = ", ".join(
        f"k{i} AS (SELECT {c} AS k, min(pos) AS s FROM resps WHERE {c} IS NOT NULL GROUP BY {c})"
        for i, c in enumerate(_READINGS))
    joins = " ".join(f"LEFT JOIN k{si} r{n} ON rec.{_READINGS[ri]} = r{n}.k"
                     for n, (_, si, ri) in enumerate(RULES))
    owners = ", ".join(f"r{n}.s" for n in range(len(RULES)))
    rule = " ".join(f"WHEN r{n}.s IS NOT NULL THEN '{name}'" for n, (name, _, _) in enumerate(RULES))
    return (f"WITH resps AS ({resps}), {keyed}, "
            f"rec AS (SELECT * FROM {_E} WHERE is_pdu AND {_RECEIPT} AND message_id <> '') "
            "SELECT rec.pos, rec.t, rec.instance, rec.session, rec.sequence, rec.source_file, "
            "rec.line, rec.from_esme, rec.message_id, rec.id_text, rec.receipt_stat, "
            f"rec.receipt_err, coalesce({owners}) AS s, CASE {rule} END AS rule FROM rec {joins}")


_R = "doctor_receipts"
_SAMPLE = "doctor_sample"  # the candidates the text checks read, when too many to read all
#: name -> SELECT: the steps kept as tables (in this order) before the facts' queries
_STEPS: dict[str, str] = {
    _R: _receipts_table(),
    # the submits' registered_delivery (bits 1-0 ask for a receipt -- SMPP v3.4 §5.2.17);
    # Kannel asks on part 1 only (smpp-facts.md §5): a part without one is fine when
    # another part of the same message asks (pandas' groupby leaves out a message whose
    # part_ref is unknown)
    "doctor_rd": (
        f"WITH k AS (SELECT * FROM {_FLAGGED} s WHERE registered_delivery IS NOT NULL AND "
        f"((submit_pdus > 0 AND {_SUBMIT_PDU}) OR (submit_pdus = 0 AND NOT is_pdu AND "
        "command = 'submit_sm'))), "
        f"g AS (SELECT {_KEY}, max(CASE WHEN (registered_delivery & 3) <> 0 THEN 1 ELSE 0 END) "
        "AS asks FROM k WHERE coalesce(part_total, 0) > 1 AND part_ref IS NOT NULL "
        f"GROUP BY {_KEY}) "
        "SELECT k.pos, k.registered_delivery AS rd, coalesce(g.asks, 0) AS covered FROM k "
        "LEFT JOIN g ON " + " AND ".join(f"k.{c} = g.{c}" for c in D._MESSAGE_KEY)),
    # receipts sent by the SMSC, by message and stat, with the copies of each
    "doctor_copies": (
        "SELECT c.*, count(*) OVER (PARTITION BY k) AS copies FROM (SELECT pos, t, session, "
        "sequence, source_file, line, coalesce(id_text, '') || '|' || receipt_stat AS k "
        f"FROM {_R} WHERE NOT from_esme) c"),
    # the final outcome of each message: the last final receipt PDU, or the last receipt
    # line of the logs when there are no receipt PDUs
    "doctor_final": (
        f"WITH fr AS (SELECT pos, coalesce(id_text, '') AS k, receipt_stat, receipt_err FROM {_R} "
        "UNION ALL SELECT e.pos, coalesce(e.id_text, ''), e.receipt_stat, e.receipt_err "
        f"FROM {_E} e CROSS JOIN (SELECT count(*) AS n FROM {_R}) c WHERE c.n = 0 AND NOT e.is_pdu "
        f"AND {_RECEIPT}), f AS (SELECT * FROM fr WHERE receipt_stat NOT IN "
        f"({_lit(D._INTERMEDIATE)})), lk AS (SELECT k, max(pos) AS pos FROM f GROUP BY k) "
        "SELECT f.* FROM f JOIN lk ON lk.pos = f.pos"),
    # concatenated messages: split when their parts went through more than one instance
    # and no instance got all of them (parts 1..part_total)
    "doctor_messages": (
        f"WITH gi AS (SELECT {_KEY}, instance, count(DISTINCT CASE WHEN part_seq >= 1 AND "
        "part_seq <= part_total THEN part_seq END) AS have, min(pos) AS p1 "
        f"FROM {_E} WHERE {_SUBMIT_PDU} AND coalesce(part_total, 0) > 1 AND part_ref IS NOT NULL "
        f"GROUP BY {_KEY}, instance) SELECT {_KEY}, min(p1) AS p1, (count(*) > 1 AND "
        f"max(CASE WHEN have = part_total THEN 1 ELSE 0 END) = 0) AS split FROM gi GROUP BY {_KEY}"),
}

_SENT_KEYS = f"SELECT DISTINCT session, sequence FROM {_E} WHERE {_SENT}"
_ANSWER_KEYS = f"SELECT DISTINCT session, sequence FROM {_E} WHERE {_CLIENT_RESP} AND sequence IS NOT NULL"
#: source -> (name -> (condition, first positions wanted: 0, 1 or 2), name -> aggregate)
_COUNTS: dict[str, tuple[dict[str, tuple[str, int]], dict[str, str]]] = {
    _FLAGGED: ({
        "submits": (_SUBMIT_PDU, 1),
        "asked": (f"{_SUBMIT_PDU} AND (coalesce(registered_delivery, 1) & 3) <> 0", 1),
        "retried": (f"{_BAD_RESP} AND command_status IN ({_RETRY})", 2),
        "refused": (f"{_BAD_RESP} AND command_status NOT IN ({_RETRY})", 2),
        "sent": (_SENT, 1),
        "answers": (f"{_CLIENT_RESP} AND sequence IS NOT NULL", 0),
        "submit_resps": (_ANSWER, 0),
        "throttled": (f"{_ANSWER} AND command_status = {D._THROTTLED}", 2),
        "submit_refused": (f"{_ANSWER} AND NOT ({_ACCEPTED})", 2),
        "hot_untimed": (f"{_ANSWER} AND command_status = {D._THROTTLED} AND t IS NULL", 0),
        "esme_submits": (_ESME_SUBMIT, 0),
        "candidates": (_CANDIDATE, 0),
    }, {
        "events": "count(*)",
        "sessions": "count(DISTINCT CASE WHEN session <> '' THEN session END)",
        "t_min": "min(t)", "t_max": "max(t)",
        "span": f"max(CASE WHEN {_ESME_SUBMIT} THEN t END) - min(CASE WHEN {_ESME_SUBMIT} THEN t END)",
        "bodies": f"count(DISTINCT CASE WHEN {_CANDIDATE} THEN substr(hex, 33) END)",
    }),
    f"(SELECT r.*, a.instance AS si, {_before('r', 'a')} AS early FROM {_R} r "
    f"LEFT JOIN {_E} a ON a.pos = r.s)": ({
        "receipts": ("TRUE", 0),
        "links": ("s IS NOT NULL", 1),
        "cross": ("instance <> '' AND si <> '' AND instance <> si", 1),
        "early": ("early", 1),
        "undeliv": (f"receipt_err IN ({_lit(D._UNDELIV_ERRS)})", 0),
    }, {}),
    "doctor_rd": ({
        "rd_known": ("TRUE", 0),
        "rd_none": ("(rd & 3) = 0 AND covered = 0", 2),
        "rd_failure": ("(rd & 3) = 2", 1),
    }, {}),
    "doctor_copies": ({"repeated": ("copies > 1", 2)}, {}),
    "doctor_final": ({"final_failed": (f"receipt_stat NOT IN ({_lit(D._FINAL_STATS_OK)})", 2)}, {}),
    f"(SELECT x.pos, k.session AS matched FROM (SELECT * FROM {_E} WHERE {_CLIENT_RESP} AND "
    f"sequence IS NOT NULL) x LEFT JOIN ({_SENT_KEYS}) k ON k.session = x.session "
    "AND k.sequence = x.sequence)": ({"orphans": ("matched IS NULL", 1)}, {}),
    f"(SELECT x.pos, k.session AS matched, e.t AS last, x.t FROM (SELECT * FROM {_E} WHERE {_SENT}) x "
    f"LEFT JOIN ({_ANSWER_KEYS}) k ON k.session = x.session AND k.sequence = x.sequence "
    f"JOIN (SELECT session, max(t) AS t FROM {_E} GROUP BY session) e ON e.session = x.session)": ({
        "unanswered": (f"matched IS NULL AND last > t + {_dbl(D._ANSWER_DUE)}", 1)}, {}),
    "doctor_messages": ({}, {"messages": "count(*)", "split": "count(CASE WHEN split THEN 1 END)",
                             "split_p1": "min(CASE WHEN split THEN p1 END)"}),
    f"(SELECT message_id FROM {_R} GROUP BY message_id HAVING count(*) > 1)": (
        {}, {"repeated_ids": "count(*)"}),
    f"(SELECT count(*) AS n FROM {_E} WHERE {_ESME_SUBMIT} AND t IS NOT NULL GROUP BY floor(t))": (
        {}, {"peak": "max(n)"}),
}


def _counts_sql() -> str:
    """`_COUNTS` as one query of one row: ``n_NAME`` (how many rows meet the condition),
    ``a_NAME``, ``b_NAME`` (the first two positions), ``x_NAME`` (the aggregates)."""
    parts = []
    for i, (source, (conds, aggs)) in enumerate(_COUNTS.items()):
        cols, firsts = [], []
        for name, (cond, k) in conds.items():
            cols.append(f"count(CASE WHEN {cond} THEN 1 END) AS n_{name}")
            if k:
                cols.append(f"min(CASE WHEN {cond} THEN pos END) AS a_{name}")
            if k == 2:
                firsts.append(f"min(CASE WHEN {cond} THEN pos END) AS m_{name}")
                cols.append(f"min(CASE WHEN {cond} AND pos > m.m_{name} THEN pos END) AS b_{name}")
        cols += [f"{agg} AS x_{name}" for name, agg in aggs.items()]
        join = f" CROSS JOIN (SELECT {', '.join(firsts)} FROM {source} s) m" if firsts else ""
        parts.append(f"(SELECT {', '.join(cols)} FROM {source} s{join}) q{i}")
    return "SELECT * FROM " + " CROSS JOIN ".join(parts)


def _group(k1: str = "NULL", k2: str = "NULL", n: str = "NULL", p: str = "NULL",
           x: str = "NULL") -> str:
    return (f"CAST({k1} AS STRING) AS k1, CAST({k2} AS STRING) AS k2, CAST({n} AS BIGINT) AS n, "
            f"CAST({p} AS BIGINT) AS p, CAST({x} AS DOUBLE) AS x")


_SIDE = "CASE WHEN from_esme THEN 'T' ELSE 'F' END"
_ANSWERS = f"SELECT * FROM {_FLAGGED} f WHERE {_ANSWER}"
# why the first copy of a repeated receipt was not enough (`doctor._duplicate_facts`),
# from the client's last deliver_sm_resp with its session and sequence_number
_WHY_COPIES = (
    "WITH r AS (SELECT * FROM doctor_copies), g AS (SELECT k, count(*) AS n, min(pos) AS p1 "
    "FROM r WHERE copies > 1 GROUP BY k), g2 AS (SELECT g.k, g.n, g.p1, min(r.pos) AS p2 "
    "FROM g JOIN r ON r.k = g.k AND r.pos > g.p1 GROUP BY g.k, g.n, g.p1), "
    f"a AS (SELECT session, sequence, max(pos) AS j FROM {_E} WHERE {_CLIENT_RESP} "
    "AND sequence IS NOT NULL GROUP BY session, sequence) "
    "SELECT g2.n, g2.p1, CASE WHEN a.j IS NULL THEN 'missing' "
    "WHEN j.command_status IS NOT NULL AND j.command_status <> 0 THEN 'refused' "
    f"WHEN j.t - r1.t >= {_dbl(D._LATE_ANSWER)} OR {_before('r2', 'j')} THEN 'late' "
    "ELSE 'resent' END AS reason FROM g2 JOIN r r1 ON r1.pos = g2.p1 JOIN r r2 ON r2.pos = g2.p2 "
    "LEFT JOIN a ON a.session = r1.session AND a.sequence = r1.sequence "
    f"LEFT JOIN {_E} j ON j.pos = a.j")
#: name -> a SELECT of `_group` columns (keys, a count, a position, a number)
_GROUPS: dict[str, str] = {
    "bind": f"SELECT {_group(k1='bind')} FROM {_E} WHERE {_SUBMIT_PDU} AND bind <> '' GROUP BY bind",
    "rule": f"SELECT {_group(k1='rule', n='count(*)', p='min(pos)')} FROM {_R} WHERE s IS NOT NULL "
            "GROUP BY rule",
    "deliver_status": f"SELECT {_group(k1='command_status', n='count(*)', p='min(pos)')} "
                      f"FROM {_E} WHERE {_BAD_RESP} GROUP BY command_status",
    "submit_status": f"SELECT {_group(k1='command_status', n='count(*)', p='min(pos)')} "
                     f"FROM ({_ANSWERS}) r WHERE NOT ({_ACCEPTED}) GROUP BY command_status",
    "last_pdu": f"SELECT {_group(k1='session', k2=_SIDE, x='max(t)')} FROM {_E} WHERE is_pdu "
                "GROUP BY session, from_esme",
    "final_mix": f"SELECT {_group(k1='receipt_stat', k2='receipt_err', n='count(*)', p='min(pos)')} "
                 "FROM doctor_final GROUP BY receipt_stat, receipt_err",
    "dup_reason": f"SELECT {_group(k1='reason', n='count(*)', p='min(p1)', x='sum(n)')} "
                  f"FROM ({_WHY_COPIES}) w GROUP BY reason",
    # submits accepted in each second with a throttled answer (`doctor._throttle_facts`)
    "hot": f"SELECT {_group(n='coalesce(a.n, 0)')} FROM (SELECT DISTINCT floor(t) AS s FROM "
           f"({_ANSWERS}) r WHERE command_status = {D._THROTTLED} AND t IS NOT NULL) h "
           "LEFT JOIN (SELECT floor(t) AS s, count(*) AS n FROM "
           f"({_ANSWERS}) r WHERE command_status = 0 AND t IS NOT NULL GROUP BY floor(t)) a "
           "ON a.s = h.s",
}


def _facts(run: _Run, log: D._Log) -> D._Facts:
    for name, sql in _STEPS.items():
        run.engine.table(name, sql)
    c = run.q(_counts_sql()).iloc[0]
    groups = run.grouped(_GROUPS)

    def n(name: str) -> int:
        v = c.get(f"n_{name}", c.get(f"x_{name}"))
        return 0 if v is None or pd.isna(v) else int(v)

    def rows(name: str) -> list[int]:
        return [p for p in (_pos(c.get(f"a_{name}")), _pos(c.get(f"b_{name}"))) if p is not None]

    def in_order(name: str) -> list[tuple[Any, int]]:
        g = groups[name].sort_values("p")
        return list(zip(g["k1"], g["n"].astype(int), strict=True))

    f = D._Facts(events=n("events"), sessions=n("sessions"), t_min=_num(c["x_t_min"]),
                 t_max=_num(c["x_t_max"]))
    f.submits, f.first_submit = n("submits"), _head(rows("submits"))
    f.asked, f.first_asked = n("asked"), _head(rows("asked"))
    f.submit_binds = set(groups["bind"]["k1"].astype(str))
    f.rd_known = n("rd_known")
    f.rd_none, f.rd_none_rows = n("rd_none"), rows("rd_none")
    f.rd_failure_only, f.rd_failure_rows = n("rd_failure"), rows("rd_failure")
    # receipts
    f.receipts, f.links, f.cross, f.early, f.undeliv = (
        n(k) for k in ("receipts", "links", "cross", "early", "undeliv"))
    firsts = {k: rows(k)[0] for k in ("links", "cross", "early") if rows(k)}
    if firsts:
        owner = dict(run.q(f"SELECT pos, s FROM {_R} WHERE pos IN ({_lit(firsts.values())})"
                           ).itertuples(index=False))
        pairs = {k: (p, int(owner[p])) for k, p in firsts.items()}
        f.first_link, f.first_cross, f.first_early = (pairs.get(k) for k in ("links", "cross", "early"))
    rules = in_order("rule")
    if rules:  # the rule that paired the most; a tie goes to the one seen first
        f.forms = FORMS[str(max(rules, key=lambda r: r[1])[0])]
    f.repeated_ids = n("repeated_ids")
    reasons = groups["dup_reason"].sort_values("p")
    if len(reasons):
        f.dup_messages = int(reasons["n"].sum())
        f.dup_extra = int(reasons["x"].sum()) - f.dup_messages
        f.dup_reasons = [(str(r), int(k)) for r, k in zip(reasons["k1"], reasons["n"], strict=True)]
        f.dup_rows = rows("repeated")
    mix = groups["final_mix"].sort_values("p")
    f.final_mix = [((str(s), str(e)), int(k)) for s, e, k in
                   zip(mix["k1"], mix["k2"], mix["n"], strict=True)]
    f.final = int(mix["n"].sum())
    f.final_failed, f.final_failed_rows = n("final_failed"), rows("final_failed")
    _unknown_facts(run, log, f)
    # deliver_sm_resp
    f.deliver_statuses = [(int(s), k) for s, k in in_order("deliver_status")]
    f.retried_rows, f.refused_rows = rows("retried"), rows("refused")
    f.deliver_sm, f.deliver_answers = n("sent"), n("answers")
    f.orphans, f.unanswered = n("orphans"), n("unanswered")
    f.first_deliver_sm, f.first_orphan, f.first_unanswered = (
        _head(rows(k)) for k in ("sent", "orphans", "unanswered"))
    # concatenated submits
    f.part_groups, f.split_groups = n("messages"), n("split")
    if f.split_groups:
        on = " AND ".join(f"p.{k} = m.{k}" for k in D._MESSAGE_KEY)
        got = run.q(f"SELECT p.pos FROM {_E} p JOIN doctor_messages m ON {on} WHERE m.p1 = "
                    f"{n('split_p1')} AND p.is_pdu AND p.command IN ({_lit(D._SUBMITS)}) "
                    "ORDER BY p.pos")
        f.split_rows = [int(p) for p in got["pos"]]
    # submit_sm_resp
    f.submit_resps = n("submit_resps")
    f.throttled, f.throttled_rows = n("throttled"), rows("throttled")
    f.submit_statuses = [(int(s), k) for s, k in in_order("submit_status")]
    f.submit_refused_rows = rows("submit_refused")
    if f.throttled:
        f.esme_submits, f.peak = n("esme_submits"), n("peak")
        f.span = _num(c["x_span"]) if f.esme_submits > 1 else math.nan
        # a throttled answer without a time counts as a second with none accepted
        f.hot_rates = [int(k) for k in groups["hot"]["n"]] + [0] * n("hot_untimed")
    # sessions
    last = groups["last_pdu"]
    f.last_pdu = {(str(s), e == "T"): float(t) for s, e, t in
                  zip(last["k1"], last["k2"], last["x"], strict=True) if not pd.isna(t)}
    unbinds = log.rows("unbind")
    smsc = [int(i) for i in unbinds.index[~unbinds["from_esme"]]]
    if smsc:
        before = run.q(
            f"SELECT u.pos, count(d.pos) AS n, max(d.t) AS last, "
            f"max(CASE WHEN d.from_esme THEN d.t END) AS last_esme FROM {_E} u "
            f"LEFT JOIN {_E} d ON d.session = u.session AND d.is_pdu AND d.t < u.t "
            f"WHERE u.pos IN ({_lit(smsc)}) GROUP BY u.pos")
        f.before_unbind = {int(p): (int(k), _num(a), _num(b))
                           for p, k, a, b in before.itertuples(index=False)}
    if len(log.notes(D._NOT_FOUND)) or len(log.notes(D._NO_PENDING)):
        _kannel_facts(run, f)
    _text_facts(run, f, n("candidates"), n("bodies"))
    return f


def _unknown_facts(run: _Run, log: D._Log, f: D._Facts) -> None:
    """The client's lines about unknown receipts: the resp of each id, the receipt."""
    notes = D._unknown_notes(log)
    if not len(notes):
        return
    rids = list(notes["rid"])
    readings = [id_readings(r) for r in rids]
    texts = [t for t, _, _ in readings if t is not None]
    numbers = {v for _, h, d in readings for v in (h, d) if v is not None and 0 <= v < 10**38}
    hexes = {h for _, h, _ in readings if h is not None and 0 <= h < 10**38}
    # the resps any rule could pair with these ids; `pair_ids` picks as the doctor does
    cond = [f"id_text IN ({_lit(texts)})"] if texts else []
    cond += [f"id_hex IN ({', '.join(f'CAST({v} AS DECIMAL(38,0))' for v in sorted(numbers))})"
             ] if numbers else []
    cond += [f"id_dec IN ({', '.join(f'CAST({v} AS DECIMAL(38,0))' for v in sorted(hexes))})"
             ] if hexes else []
    owners: list[int | None] = [None] * len(rids)
    if cond:
        cands = run.q(f"SELECT pos, message_id FROM {_E} WHERE command IN ({_lit(D._SUBMIT_RESPS)}) "
                      f"AND command_status = 0 AND message_id <> '' AND ({' OR '.join(cond)}) "
                      "ORDER BY pos")
        owner, _ = pair_ids(cands["message_id"].astype("string"), pd.Series(rids, dtype="string"))
        owners = [int(cands["pos"].iloc[o]) if o >= 0 else None for o in owner]
    # the instance of the last receipt with that id by the time of the line
    keys = " UNION ALL ".join(f"SELECT {int(i)} AS i, {_lit([r.strip().lower()])} AS k"
                              for i, r in zip(notes.index, rids, strict=True))
    about = run.q(
        f"WITH u AS ({keys}), m AS (SELECT u.i, max(r.pos) AS p FROM u JOIN {_E} n ON n.pos = u.i "
        f"JOIN {_R} r ON coalesce(r.id_text, '') = u.k "
        f"AND r.t <= n.t + {_dbl(D._NOTE_SLACK)} GROUP BY u.i) "
        f"SELECT m.i, r.instance FROM m JOIN {_R} r ON r.pos = m.p")
    instance = {int(i): str(s) for i, s in about.itertuples(index=False)}
    f.unknown = [(int(i), rid, j, instance.get(int(i), ""))
                 for i, rid, j in zip(notes.index, rids, owners, strict=True)]
    resps = sorted({j for j in owners if j is not None})
    if resps:
        first = run.q(f"SELECT s, min(pos) AS p FROM {_R} WHERE s IN ({_lit(resps)}) "
                      "GROUP BY s")
        f.receipt_of = {int(s): int(p) for s, p in first.itertuples(index=False)}


def _kannel_facts(run: _Run, f: D._Facts) -> None:
    """Kannel's pending DLRs and its lookups (`doctor._check_kannel`), when it found none
    for some receipt."""
    def ids(prefix: str, command: str) -> str:
        return (f"SELECT pos, message_id FROM {_E} WHERE substr(note, 1, {len(prefix)}) = "
                f"{_lit([prefix])} OR (system = 'kannel' AND command = '{command}' "
                "AND message_id <> '')")

    stored, looked = ids("pending DLR stored", "submit_sm"), ids("receipt arrived: looking up",
                                                                  "deliver_sm")
    f.kannel_stored = int(run.q(f"SELECT count(*) AS n FROM ({stored}) s")["n"].iloc[0])
    for name, rows in (("kannel_stored_ids", stored), ("kannel_looked_ids", looked)):
        got = run.q(f"SELECT message_id, min(pos) AS p FROM ({rows}) s GROUP BY message_id"
                    ).sort_values("p")
        setattr(f, name, [str(m) for m in got["message_id"]])


def _text_facts(run: _Run, f: D._Facts, candidates: int, bodies: int) -> None:
    """The submits the text checks read and their distinct bodies (`doctor._text_facts`)."""
    f.text_checked = candidates
    if not candidates:
        return
    cands = _CANDIDATES
    if bodies > D._MAX_DECODED:
        run.engine.register(_SAMPLE, pd.DataFrame({"k": D._sample(candidates).astype("int64")}))
        cands = (f"SELECT c.* FROM (SELECT c.*, row_number() OVER (ORDER BY pos) - 1 AS k "
                 f"FROM ({cands}) c) c JOIN (SELECT DISTINCT k FROM {_SAMPLE}) s ON s.k = c.k")
        f.text_checked = D._MAX_DECODED
    got = run.q(f"WITH c AS ({cands}), b AS (SELECT body, min(pos) AS p1 FROM c GROUP BY body) "
                "SELECT b.p1, count(*) AS n, min(CASE WHEN c.pos > b.p1 THEN c.pos END) AS p2, "
                "min(x.hex) AS hex FROM c JOIN b ON c.body = b.body JOIN c x ON x.pos = b.p1 "
                "GROUP BY b.p1").sort_values("p1")
    f.text_bodies = [(str(h), int(k), [p for p in (_pos(a), _pos(b)) if p is not None])
                     for a, k, b, h in zip(got["p1"], got["n"], got["p2"], got["hex"], strict=True)]


# --- two artifacts of one conversation ------------------------------------------------------


def _files_overlap(engine: Any) -> bool:
    """Whether two of the files share enough PDUs for `doctor._dedupe` to count them once
    (it is told the same keys: who sent it, command, sequence_number, status, message id,
    destination, and which occurrence of that key in its file)."""
    files = engine.query(f"SELECT count(DISTINCT source_file) AS n FROM {_E} "
                         "WHERE source_file <> ''")["n"].iloc[0]
    if files < 2:
        return False
    key = ("CASE WHEN from_esme THEN 'T' ELSE 'F' END || '|' || command || '|' || "
           "CAST(sequence AS STRING) || '|' || coalesce(CAST(command_status AS STRING), '') || '|' "
           "|| message_id || '|' || destination_addr")
    pdus = (f"SELECT source_file AS f, {key} AS k FROM {_E} WHERE command <> '' "
            "AND sequence IS NOT NULL")
    got = engine.query(
        f"WITH p AS (SELECT f, k, row_number() OVER (PARTITION BY f, k ORDER BY k) AS o "
        f"FROM ({pdus}) x), n AS (SELECT f, count(*) AS n FROM p GROUP BY f), "
        "c AS (SELECT a.f AS f1, b.f AS f2, count(*) AS c FROM p a JOIN p b ON a.k = b.k "
        "AND a.o = b.o AND a.f < b.f GROUP BY a.f, b.f) "
        "SELECT count(*) AS n FROM c JOIN n n1 ON n1.f = c.f1 JOIN n n2 ON n2.f = c.f2 "
        "WHERE 2 * c.c >= least(n1.n, n2.n)")
    return bool(got["n"].iloc[0])


def _events(engine: Any) -> pd.DataFrame:
    """Every event with the doctor's columns, in input order (for `doctor._dedupe`)."""
    cols = ", ".join(c for c in (*_STRINGS, *_NUMBERS))
    frame = engine.query(f"SELECT t_us, {cols} FROM raw_events ORDER BY ord")
    us = frame.pop("t_us").to_numpy(dtype="float64")  # exact: microseconds < 2**53
    times = np.where(np.isnan(us), 0, us).astype("int64").astype("M8[us]")
    times[np.isnan(us)] = np.datetime64("NaT")
    frame.insert(0, "time", pd.Series(times).dt.tz_localize("UTC"))
    for c in _NUMBERS:
        frame[c] = frame[c].astype("Int64")
    for c in _STRINGS:
        frame[c] = frame[c].astype("string")
    return frame
