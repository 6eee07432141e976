"""The log analyses as portable SQL: one definition each, run by DuckDB and by Spark.

Every query reads the view ``events`` and returns a small table (counts per bin, per status,
per outcome; latency quantiles), which the ``shape_*`` functions here turn into the very
DataFrames `smppkit.diagnose.analysis` returns for the same log; the differential tests
hold the two to each other on every sample log.

Strategy: an engine (`smppkit.diagnose.engines`) defines the view ``raw_events`` from its
files -- the only engine-specific SQL: how times, partitions and id readings are spelt --
with these columns:

=================== =========================================================================
ord                 input order (file by file, line by line): ties are broken by it
t_us                time in microseconds since the epoch (BIGINT), null when unknown
id_text             the message id stripped and lower-cased, null when empty
id_hex, id_dec      the id read as hex (``(0x)?`` and 1-16 hex digits) and as decimal (1-38
                    digits), DECIMAL(38,0), null when it does not read so
(trace columns)     instance, session, command, command_status, sequence, message_id,
                    source_addr, destination_addr, esm_class, registered_delivery,
                    receipt_stat, receipt_err, part_ref, part_total, part_seq
=================== =========================================================================

`EVENTS_VIEW` adds ``is_response``, ``is_receipt`` and ``kind`` (`analysis.classify`) in SQL
both engines run alike: CTEs, joins, ``CASE``, window functions (``LEAD``, ``row_number``),
``percentile_cont ... WITHIN GROUP``, integer ``%`` and ``&``, ``right``/``substr``. Times
are binned in integer microseconds from midnight of the first event's day, as pandas'
``Grouper`` does. The matchings are those of `analysis` (see its docstring): a request
pairs with the response that follows it in the order (session, sequence, command; time,
requests first, input order), and each receipt takes the first accepted submit whose id
matches under the first id rule that matches.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from smppkit.diagnose import analysis
from smppkit.diagnose.kinds import receipt_sql, response_sql
from smppkit.protocol.constants import CommandStatus, describe_status, status_name

__all__ = [
    "EVENTS_VIEW",
    "RECEIPT_STEPS",
    "error_distribution",
    "latency_percentiles",
    "receipt_summary",
    "shape_error_distribution",
    "shape_latency",
    "shape_receipt_match",
    "shape_throttle_rate",
    "shape_throughput",
    "throttle_rate",
    "throughput",
]

_DAY_US = 86_400_000_000
_THROTTLED = int(CommandStatus.ESME_RTHROTTLED)

EVENTS_VIEW = """
CREATE OR REPLACE TEMPORARY VIEW events AS
SELECT r.*,
       CASE WHEN is_receipt THEN 'receipt'
            WHEN command IN ('submit_sm', 'submit_multi') THEN 'submit'
            WHEN command IN ('submit_sm_resp', 'submit_multi_resp') THEN 'submit_resp'
            WHEN command = 'deliver_sm' THEN 'mo'
            WHEN command = 'deliver_sm_resp' THEN 'deliver_resp'
            ELSE command END AS kind
FROM (SELECT raw_events.*, """ + response_sql() + """ AS is_response,
             """ + receipt_sql() + """ AS is_receipt
      FROM raw_events) r
"""

#: trace columns a query may group by
GROUPABLE = ("command", "kind", "instance", "session", "system_id", "direction")


def _literals(names: Iterable[str]) -> str:
    return ", ".join("'" + str(n).replace("'", "''") + "'" for n in names)


def bin_width_us(freq: str) -> int:
    """The width of a pandas frequency ("1s", "5min") in microseconds.

    Raises:
        ValueError: not a fixed width (months, weeks anchored to a day...), or below 1 us.
    """
    try:
        seconds = analysis._seconds(freq)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"freq {freq!r} is not a fixed bin width like '1s' or '5min'") from exc
    width = round(seconds * 1e6)
    if width < 1:
        raise ValueError(f"freq {freq!r} is shorter than a microsecond")
    return width


def _binned(rows: str, width: int, columns: Sequence[str] = ()) -> str:
    """A query of `rows` (a SELECT with t_us) with ``bin`` (its bin start, us) added; bins
    start at midnight of the first row's day, as pandas' Grouper's origin="start_day"."""
    cols = "".join(f", e.{c}" for c in columns)
    return (f"SELECT e.t_us - ((e.t_us - o.origin) % {width}) AS bin{cols}, e.* "
            f"FROM ({rows}) e CROSS JOIN "
            f"(SELECT min(t_us) - (min(t_us) % {_DAY_US}) AS origin FROM ({rows}) m) o")


# --- throughput -----------------------------------------------------------------------------


def _by(by: str | Sequence[str]) -> list[str]:
    cols = [by] if isinstance(by, str) else list(by)
    unknown = [c for c in cols if c not in GROUPABLE]
    if unknown:
        raise ValueError(f"cannot group by {unknown}; choose from {GROUPABLE}")
    return cols


def throughput(freq: str = "1s", by: str | Sequence[str] = ("command",)) -> str:
    """Events per bin and group: columns ``bin``, the `by` columns, ``n``."""
    cols = _by(by)
    rows = "SELECT t_us" + "".join(f", {c}" for c in cols) + " FROM events WHERE t_us IS NOT NULL"
    keep = " AND ".join(f"{c} IS NOT NULL" for c in cols) or "TRUE"
    group = ", ".join(["bin", *cols])
    return (f"SELECT {group}, count(*) AS n FROM ({_binned(rows, bin_width_us(freq))}) b "
            f"WHERE {keep} GROUP BY {group} ORDER BY {group}")


def _time_index(us: Iterable[int]) -> pd.DatetimeIndex:
    values = np.asarray(list(us), dtype="int64") * 1000
    return pd.DatetimeIndex(values.view("M8[ns]"), name="time").tz_localize("UTC")


def shape_throughput(counts: pd.DataFrame, freq: str = "1s",
                     by: str | Sequence[str] = ("command",)) -> pd.DataFrame:
    """`analysis.throughput`'s frame from the `throughput` query's rows."""
    cols = _by(by)
    n = counts["n"].astype("int64").to_numpy()
    if not cols:
        s = pd.Series(n, index=_time_index(counts["bin"]), dtype="int64")
        return analysis._bins(s, freq).to_frame("events")
    keys = [_time_index(counts["bin"]), *(counts[c].astype("string") for c in cols)]
    index = pd.MultiIndex.from_arrays(keys, names=["time", *cols])
    wide = pd.Series(n, index=index).unstack(cols, fill_value=0)
    wide.index.name = "time"
    return analysis._bins(wide, freq)


# --- request/response pairs -------------------------------------------------------------


def _pairs(commands: Iterable[str] | None) -> str:
    """CTEs ``reqs`` (the requests of `commands`, None for all) and ``pairs`` (req_ord,
    resp_ord): `analysis._pairs` in SQL, generic_nack included."""
    only = "" if commands is None else f" AND command IN ({_literals(commands) or 'NULL'})"

    def match(left: str, right: str, keys: str, name: str) -> str:
        return (f"{name}_x AS (SELECT ord, t_us, session, sequence, base, 0 AS r FROM {left} "
                f"UNION ALL SELECT ord, t_us, session, sequence, base, 1 AS r FROM {right}), "
                f"{name}_n AS (SELECT ord, r, "
                f"LEAD(r) OVER (PARTITION BY {keys} ORDER BY t_us, r, ord) AS next_r, "
                f"LEAD(ord) OVER (PARTITION BY {keys} ORDER BY t_us, r, ord) AS next_ord "
                f"FROM {name}_x), "
                f"{name} AS (SELECT ord AS req_ord, next_ord AS resp_ord FROM {name}_n "
                f"WHERE r = 0 AND next_r = 1)")

    return (
        "u AS (SELECT ord, t_us, coalesce(session, '') AS session, sequence, command, "
        "is_response, CASE WHEN right(command, 5) = '_resp' "
        "THEN substr(command, 1, length(command) - 5) ELSE command END AS base "
        "FROM events WHERE t_us IS NOT NULL AND sequence IS NOT NULL AND command IS NOT NULL), "
        f"reqs AS (SELECT * FROM u WHERE NOT is_response{only}), "
        "resps AS (SELECT * FROM u WHERE is_response), "
        + match("reqs", "resps", "session, sequence, base", "p1") + ", "
        # a generic_nack answers any request of its sequence -- SMPP v3.4 §4.3
        "todo AS (SELECT q.* FROM reqs q LEFT JOIN p1 ON p1.req_ord = q.ord "
        "WHERE p1.req_ord IS NULL), "
        "nacks AS (SELECT * FROM resps WHERE command = 'generic_nack'), "
        + match("todo", "nacks", "session, sequence", "p2") + ", "
        "pairs AS (SELECT req_ord, resp_ord FROM p1 UNION ALL SELECT req_ord, resp_ord FROM p2)"
    )


def _quantiles(column: str, percentiles: Sequence[float]) -> str:
    qs = "".join(f", percentile_cont({q / 100!r}) WITHIN GROUP (ORDER BY {column}) AS p{i}"
                 for i, q in enumerate(percentiles))
    return (f"count({column}) AS n, avg({column}) AS mean, min({column}) AS lo{qs}, "
            f"max({column}) AS hi")


def latency_percentiles(kind: str = "response", commands: Iterable[str] | None = ("submit_sm",),
                        percentiles: Sequence[float] = (50, 90, 95, 99)) -> str:
    """Latency quantiles of responses (`commands`' requests) or of receipts ("receipt":
    submit to each matched receipt); one row."""
    if kind == "response":
        return (f"WITH {_pairs(commands)}, "
                "lat AS (SELECT CAST(a.t_us - q.t_us AS DOUBLE) / 1000000.0 AS latency "
                "FROM reqs q LEFT JOIN pairs p ON p.req_ord = q.ord "
                "LEFT JOIN events a ON a.ord = p.resp_ord) "
                f"SELECT {_quantiles('latency', percentiles)} FROM lat")
    if kind == "receipt":
        return (f"WITH {_receipt_ctes()}, "
                "lat AS (SELECT CAST(o.r_t - s.s_t AS DOUBLE) / 1000000.0 AS latency "
                "FROM owned o JOIN sub s ON s.s_ord = o.s_ord WHERE o.r_t IS NOT NULL) "
                f"SELECT {_quantiles('latency', percentiles)} FROM lat")
    raise ValueError(f"kind must be 'response' or 'receipt', got {kind!r}")


def shape_latency(row: pd.DataFrame, percentiles: Sequence[float] = (50, 90, 95, 99)
                  ) -> pd.Series:
    """`analysis.latency_percentiles`'s Series from the one row of `latency_percentiles`."""
    r = row.iloc[0]
    count = int(r["n"])

    def num(v: object) -> float:
        return float(v) if count and v is not None and not pd.isna(v) else np.nan

    out = {"count": float(count), "mean": num(r["mean"]), "min": num(r["lo"])}
    for i, q in enumerate(percentiles):
        out[f"p{q:g}"] = num(r[f"p{i}"])
    out["max"] = num(r["hi"])
    return pd.Series(out, name="latency_s")


# --- errors and throttling --------------------------------------------------------------


def error_distribution() -> tuple[str, str]:
    """(responses per command and command_status, receipts per command, stat and err)."""
    return ("SELECT command, command_status, count(*) AS n FROM events "
            "WHERE is_response AND command_status IS NOT NULL "
            "GROUP BY command, command_status",
            "SELECT command, receipt_stat, receipt_err, count(*) AS n FROM events "
            "WHERE is_receipt GROUP BY command, receipt_stat, receipt_err")


def shape_error_distribution(statuses: pd.DataFrame, receipts: pd.DataFrame) -> pd.DataFrame:
    """`analysis.error_distribution`'s frame from the two `error_distribution` queries."""
    a = pd.DataFrame({
        "source": "command_status", "command": statuses["command"],
        "command_status": statuses["command_status"].astype("int64"),
        "name": [status_name(int(c)) for c in statuses["command_status"]],
        "receipt_err": pd.NA,
        "meaning": [describe_status(int(c)) for c in statuses["command_status"]],
        "count": statuses["n"].astype("int64"),
    })
    b = pd.DataFrame({
        "source": "receipt", "command": receipts["command"], "command_status": pd.NA,
        "name": receipts["receipt_stat"], "receipt_err": receipts["receipt_err"],
        "meaning": [analysis._stat_meaning(s) if pd.notna(s) else "no stat in receipt"
                    for s in receipts["receipt_stat"]],
        "count": receipts["n"].astype("int64"),
    })
    out = pd.concat([a, b], ignore_index=True) if len(b) else a
    out = out.astype({"source": "string", "command": "string", "command_status": "Int64",
                      "name": "string", "receipt_err": "string", "meaning": "string",
                      "count": "int64"})
    out["share"] = out["count"] / out.groupby(["source", "command"])["count"].transform("sum")
    # ties in count keep the pandas analysis' order: groups sorted by their keys
    out = out.sort_values(["source", "command", "command_status", "name", "receipt_err"],
                          na_position="first", ignore_index=True, kind="stable")
    return out.sort_values(["source", "command", "count"], ascending=[True, True, False],
                           ignore_index=True)


def throttle_rate(freq: str = "1s") -> str:
    """Submits, submit responses and ESME_RTHROTTLED answers per bin: ``series``
    ('submits' or 'responses'), ``bin``, ``n``, ``throttled``."""
    width = bin_width_us(freq)
    sub = "SELECT t_us, command_status FROM events WHERE kind = 'submit' AND t_us IS NOT NULL"
    resp = sub.replace("'submit'", "'submit_resp'")
    return (f"SELECT 'submits' AS series, bin, count(*) AS n, 0 AS throttled "
            f"FROM ({_binned(sub, width)}) s GROUP BY bin "
            f"UNION ALL SELECT 'responses' AS series, bin, count(*) AS n, "
            f"sum(CASE WHEN command_status = {_THROTTLED} THEN 1 ELSE 0 END) AS throttled "
            f"FROM ({_binned(resp, width)}) r GROUP BY bin")


def shape_throttle_rate(rows: pd.DataFrame, freq: str = "1s", limit: float | None = None
                        ) -> pd.DataFrame:
    """`analysis.throttle_rate`'s frame from the `throttle_rate` query's rows."""
    def series(name: str, column: str) -> pd.Series:
        part = rows[rows["series"] == name].sort_values("bin")
        return pd.Series(part[column].astype("int64").to_numpy(),
                         index=_time_index(part["bin"]), dtype="int64")

    out = pd.DataFrame({"submits": series("submits", "n"),
                        "responses": series("responses", "n"),
                        "throttled": series("responses", "throttled")})
    return analysis._throttle_frame(out.fillna(0).astype("int64"), freq, limit)


# --- receipts ---------------------------------------------------------------------------


def _receipt_steps() -> dict[str, str]:
    submits = ("submit_sm", "submit_multi", "data_sm")

    def first_submit(column: str) -> str:
        return (f"SELECT {column} AS k, min(s_ord) AS s_ord FROM acc "
                f"WHERE {column} IS NOT NULL GROUP BY {column}")

    rules = [("exact", "kt", "id_text"), ("same-number", "kh", "id_hex"),
             ("hex-to-decimal", "kh2", "id_dec"), ("decimal-to-hex", "kd", "id_hex")]
    joins = " ".join(f"LEFT JOIN {t} ON rec.{col} = {t}.k" for _, t, col in rules)
    owner = ", ".join(f"{t}.s_ord" for _, t, _ in rules)
    rule = " ".join(f"WHEN {t}.s_ord IS NOT NULL THEN '{name}'" for name, t, _ in rules)
    return {
        "receipt_submits": (
            f"WITH {_pairs(submits)} "
            "SELECT e.ord AS s_ord, e.t_us AS s_t, e.session AS s_session, "
            "e.sequence AS s_seq, e.registered_delivery AS rd, a.command_status AS status, "
            "a.message_id AS rid, a.id_text, a.id_hex, a.id_dec "
            "FROM reqs q JOIN events e ON e.ord = q.ord LEFT JOIN pairs p ON p.req_ord = q.ord "
            "LEFT JOIN events a ON a.ord = p.resp_ord"),
        "receipt_owners": (
            "WITH acc AS (SELECT * FROM receipt_submits WHERE status = 0 AND rid IS NOT NULL), "
            f"kt AS ({first_submit('id_text')}), kh AS ({first_submit('id_hex')}), "
            f"kh2 AS ({first_submit('id_hex')}), kd AS ({first_submit('id_dec')}), "
            "rec AS (SELECT ord AS r_ord, t_us AS r_t, id_text, id_hex, id_dec FROM events "
            "WHERE is_receipt) "
            f"SELECT rec.r_ord, rec.r_t, coalesce({owner}) AS s_ord, "
            f"CASE {rule} END AS id_match FROM rec {joins}"),
    }


#: The receipt matching the receipt queries share, kept as tables (in this order) before
#: `latency_percentiles("receipt")` or `receipt_summary` runs: ``receipt_submits`` (every
#: submit with its response) and ``receipt_owners`` (every receipt with the submit it
#: matches, ``s_ord``, and the ``id_match`` rule): `analysis._match_receipts`.
RECEIPT_STEPS = _receipt_steps()


def _receipt_ctes() -> str:
    """CTEs ``sub`` and ``owned``: the `RECEIPT_STEPS` tables."""
    return "sub AS (SELECT * FROM receipt_submits), owned AS (SELECT * FROM receipt_owners)"


def receipt_summary() -> str:
    """Counts behind `analysis.receipt_match`: ``what`` ('outcome', 'orphans', 'timed',
    'id_match'), ``name``, ``n``."""
    return (
        f"WITH {_receipt_ctes()}, "
        "first_rec AS (SELECT s_ord, r_t FROM (SELECT s_ord, r_t, row_number() OVER "
        "(PARTITION BY s_ord ORDER BY r_ord) AS k FROM owned WHERE s_ord IS NOT NULL) f "
        "WHERE k = 1), "
        # one submit may carry several receipts: each submit counts once, judged by its first
        "per_sub AS (SELECT sub.*, f.r_t, row_number() OVER "
        "(PARTITION BY s_t, s_session, s_seq ORDER BY sub.s_ord) AS dup "
        "FROM sub LEFT JOIN first_rec f ON f.s_ord = sub.s_ord), "
        "outcomes AS (SELECT CASE WHEN status IS NULL THEN 'unanswered' "
        "WHEN status <> 0 THEN 'rejected' WHEN r_t IS NOT NULL THEN 'receipt' "
        # registered_delivery bits 1-0 ask for a receipt -- SMPP v3.4 §5.2.17
        "WHEN (coalesce(rd, 0) & 3) <> 0 THEN 'no receipt' "
        "ELSE 'no receipt (none requested)' END AS outcome FROM per_sub WHERE dup = 1) "
        "SELECT 'outcome' AS what, outcome AS name, count(*) AS n FROM outcomes GROUP BY outcome "
        "UNION ALL SELECT 'orphans' AS what, '' AS name, count(*) AS n FROM owned "
        "WHERE s_ord IS NULL "
        "UNION ALL SELECT 'timed' AS what, '' AS name, count(*) AS n FROM owned "
        "WHERE r_t IS NOT NULL "
        "UNION ALL SELECT 'id_match' AS what, id_match AS name, count(*) AS n FROM owned "
        "WHERE id_match IS NOT NULL GROUP BY id_match"
    )


def shape_receipt_match(rows: pd.DataFrame) -> pd.DataFrame:
    """`analysis.receipt_match`'s summary from the `receipt_summary` query's rows."""
    def part(what: str) -> dict[str, int]:
        p = rows[rows["what"] == what]
        return {str(k): int(v) for k, v in zip(p["name"], p["n"], strict=True)}

    outcomes = part("outcome")
    orphans = sum(part("orphans").values())
    timed = sum(part("timed").values())
    return analysis._receipt_summary(outcomes, orphans, timed, part("id_match"))
