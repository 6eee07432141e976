"""Analyses of an event table: pure functions DataFrame -> DataFrame.

Strategy: every function takes the table `smppkit.logs.read` returns (`logs.SCHEMA`) and
returns a new DataFrame; nothing is modified in place and nothing is printed or plotted.
All work is vectorised (groupby, sorts on integer keys) so a million events take seconds.

Two matchings underlie most analyses:

- request -> response: same ``session`` and ``sequence``, the response's command being the
  request's plus ``_resp`` (or ``generic_nack``), the first response at or after the
  request; if two requests share a response, the later request keeps it.
- submit -> receipt: the submit_sm_resp ``message_id`` against the receipt's id (the
  receipted_message_id TLV or the text's ``id:``), tried in this order, each receipt
  matching at most one submit, by the rules of `smppkit.diagnose.pairing` (shared with the
  doctor); the ``id_match`` column says which rule paired each receipt.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from smppkit.diagnose.arrow import strings_from_codes
from smppkit.diagnose.kinds import receipt_mask, response_mask
from smppkit.diagnose.pairing import pair_ids
from smppkit.protocol.constants import CommandStatus, MessageState, describe_status

__all__ = [
    "classify",
    "error_distribution",
    "latency_percentiles",
    "part_outcomes",
    "receipt_latency",
    "receipt_match",
    "response_latency",
    "throttle_rate",
    "throughput",
    "window_occupancy",
]

#: Requests an ESME sends and an SMSC counts against the window.
ESME_REQUESTS = ("submit_sm", "submit_multi", "data_sm", "query_sm", "cancel_sm", "replace_sm")
_SUBMITS = ("submit_sm", "submit_multi", "data_sm")
_THROTTLED = int(CommandStatus.ESME_RTHROTTLED)


def _is_response(df: pd.DataFrame) -> pd.Series:
    return pd.Series(response_mask(df["command"]), index=df.index)


def _is_receipt(df: pd.DataFrame) -> pd.Series:
    return pd.Series(receipt_mask(df["command"], df["esm_class"], df["receipt_stat"].notna()),
                     index=df.index)


def classify(df: pd.DataFrame) -> pd.Series:
    """Kind of each event: "submit", "submit_resp", "receipt", "mo", "deliver_resp", or the
    command name for anything else (enquire_link, bind_transceiver, ...)."""
    names = {"submit_sm": "submit", "submit_multi": "submit", "submit_sm_resp": "submit_resp",
             "submit_multi_resp": "submit_resp", "deliver_sm": "mo",
             "deliver_sm_resp": "deliver_resp"}
    codes, commands = pd.factorize(df["command"])
    kinds = [names.get(c, c) for c in map(str, commands)]
    kinds = [*dict.fromkeys([*kinds, "receipt"])]  # distinct, in first-seen order
    kind_codes = np.array([kinds.index(names.get(c, c)) for c in map(str, commands)] + [-1])
    out = kind_codes[codes]
    out[_is_receipt(df).to_numpy()] = kinds.index("receipt")
    return strings_from_codes(out, kinds, df.index).rename("kind")


def _seconds(freq: str) -> float:
    return pd.Timedelta(pd.tseries.frequencies.to_offset(freq)).total_seconds()


def _bins(counts: pd.DataFrame | pd.Series, freq: str) -> pd.DataFrame | pd.Series:
    """Reindex to every bin from the first to the last (empty bins become 0)."""
    if len(counts) == 0:
        return counts
    full = pd.date_range(counts.index.min(), counts.index.max(), freq=freq, name="time")
    return counts.reindex(full, fill_value=0)


# --- throughput -------------------------------------------------------------------------


def throughput(df: pd.DataFrame, freq: str = "1s", by: str | Sequence[str] = ("command",)
               ) -> pd.DataFrame:
    """Events per time bin.

    Args:
        df: an event table.
        freq: bin width, a pandas frequency ("1s", "1min").
        by: column(s) to split by, e.g. "command", ("instance", "kind"); "kind" is
            computed with `classify` when the table has no such column.

    Returns:
        Counts per bin (not per second): index ``time`` (bin start, UTC, every bin from
        the first to the last event), one column per group (a MultiIndex for several
        `by` columns, a single ``events`` column for ``by=()``).
    """
    by = [by] if isinstance(by, str) else list(by)
    work = df.loc[df["time"].notna(), ["time", *[b for b in by if b in df]]]
    if "kind" in by and "kind" not in df:
        work = work.assign(kind=classify(df.loc[work.index, ["command", "esm_class",
                                                              "receipt_stat"]]))
    if not by:
        counts = work.groupby(pd.Grouper(key="time", freq=freq)).size()
        return _bins(counts, freq).to_frame("events")
    counts = work.groupby([pd.Grouper(key="time", freq=freq), *by], observed=True).size()
    wide = counts.unstack(by, fill_value=0)
    wide.index.name = "time"
    return _bins(wide, freq)


# --- request/response pairs -------------------------------------------------------------


def _pairs(df: pd.DataFrame, commands: Iterable[str] | None) -> pd.DataFrame:
    """Requests (index = their row labels in df) with their response.

    Columns: ``time``, ``session``, ``sequence``, ``command``, ``pos`` (the request's row
    position), ``resp_pos`` (the response's row position, -1 for none), ``resp_row`` (its
    label, NaN for none) and ``resp_time``.
    """
    # strings become small integer codes once: the matching then works on integers
    codes, names = pd.factorize(df["command"])
    names = [str(c) for c in names]
    ids: dict[str, int] = {}
    as_request = np.array([ids.setdefault(c, len(ids)) for c in names] + [-1])
    as_response = np.array([ids.setdefault(c.removesuffix("_resp"), len(ids)) for c in names]
                           + [-1])
    is_resp = np.array([c.endswith("_resp") or c == "generic_nack" for c in names] + [False])
    only = None if commands is None else set(commands)
    wanted = np.array([only is None or c in only for c in names] + [False])
    sess, sessions = pd.factorize(df["session"])
    sessions = np.append(np.asarray(sessions, dtype=object), "")
    if (sess < 0).any():  # a missing session is the session ""
        empty = np.flatnonzero(sessions == "")
        sess = np.where(sess < 0, empty[0], sess)
    usable = (df["time"].notna() & df["sequence"].notna()).to_numpy() & (codes >= 0)
    resp = is_resp[codes]
    req_pos = np.flatnonzero(usable & ~resp & wanted[codes])
    resp_pos = np.flatnonzero(usable & resp)
    ns = df["time"].array.asi8
    seq = df["sequence"].to_numpy(dtype="int64", na_value=0)
    found = _first_response(
        (sess[req_pos], seq[req_pos], as_request[codes[req_pos]]), ns[req_pos],
        (sess[resp_pos], seq[resp_pos], as_response[codes[resp_pos]]), ns[resp_pos])
    if "generic_nack" in names:  # a generic_nack answers any request of its sequence
        nack = np.flatnonzero(codes[resp_pos] == names.index("generic_nack"))
        todo = np.flatnonzero(found < 0)
        if len(todo) and len(nack):
            again = _first_response((sess[req_pos[todo]], seq[req_pos[todo]]),
                                    ns[req_pos[todo]],
                                    (sess[resp_pos[nack]], seq[resp_pos[nack]]),
                                    ns[resp_pos[nack]])
            hit = again >= 0
            found[todo[hit]] = nack[again[hit]]
    answered = found >= 0
    out_pos = np.full(len(req_pos), -1, dtype=np.int64)
    out_pos[answered] = resp_pos[found[answered]]
    rows = df.index.to_numpy()
    resp_row = np.full(len(req_pos), np.nan)
    resp_row[answered] = rows[out_pos[answered]]
    time = df["time"].array
    return pd.DataFrame({
        "time": time.take(req_pos),
        "session": sessions[sess[req_pos]],
        "sequence": seq[req_pos],
        "command": np.asarray(names + [None], dtype=object)[codes[req_pos]],
        "pos": req_pos,
        "resp_pos": out_pos,
        "resp_row": resp_row,
        "resp_time": time.take(out_pos, allow_fill=True),
    }, index=pd.Index(rows[req_pos], name="row")).sort_index()


def _first_response(req_keys: tuple[np.ndarray, ...], req_ns: np.ndarray,
                    resp_keys: tuple[np.ndarray, ...], resp_ns: np.ndarray) -> np.ndarray:
    """For each request, the index (into the responses) of its response, or -1.

    A request's response is the first with equal keys at or after the request's time; when
    several requests would take the same response, the latest request keeps it (at equal
    times, the later one in input order).
    """
    n_req = len(req_ns)
    found = np.full(n_req, -1, dtype=np.int64)
    if n_req == 0 or len(resp_ns) == 0:
        return found
    keys = [np.concatenate([a, b]) for a, b in zip(req_keys, resp_keys, strict=True)]
    is_resp = np.concatenate([np.zeros(n_req, bool), np.ones(len(resp_ns), bool)])
    # by keys, then time, requests before responses at equal times, then input order
    order = np.lexsort((is_resp, np.concatenate([req_ns, resp_ns]), *reversed(keys)))
    here, nxt = order[:-1], order[1:]
    pair = ~is_resp[here] & is_resp[nxt]  # a request right before a response ...
    for k in keys:
        pair &= k[here] == k[nxt]  # ... of the same keys
    found[here[pair]] = nxt[pair] - n_req
    return found


def response_latency(df: pd.DataFrame, commands: Iterable[str] | None = ("submit_sm",)
                     ) -> pd.DataFrame:
    """Request -> response time of each request.

    Args:
        df: an event table.
        commands: request commands to include; None for every request.

    Returns:
        One row per request: ``time``, ``session``, ``instance``, ``command``,
        ``sequence``, ``destination_addr``, ``resp_time``, ``latency`` (seconds, NaN when
        unanswered) and the response's ``command_status``, ``command_status_name`` and
        ``message_id``.
    """
    p = _pairs(df, commands)
    req, resp = p["pos"].to_numpy(), p["resp_pos"].to_numpy()
    out = pd.DataFrame({
        col: df[col].array.take(req)
        for col in ("time", "session", "instance", "command", "sequence", "destination_addr")
    })
    out["resp_time"] = p["resp_time"].array
    out["latency"] = (out["resp_time"] - out["time"]).dt.total_seconds()
    for col in ("command_status", "command_status_name", "message_id"):
        out[col] = df[col].array.take(resp, allow_fill=True)
    return out


def window_occupancy(df: pd.DataFrame, freq: str = "1s",
                     commands: Iterable[str] | None = ESME_REQUESTS) -> pd.DataFrame:
    """Requests in flight (sent, not yet answered) per session over time.

    Args:
        df: an event table.
        freq: bin width.
        commands: requests that count against the window; None for all requests.

    Returns:
        Index ``time`` (bins), one column per session: the most requests in flight at any
        moment in the bin (the level carries over bins without events). Requests never
        answered stay in flight to the end.
    """
    p = _pairs(df, commands)
    if len(p) == 0:
        return pd.DataFrame(index=pd.DatetimeIndex([], tz="UTC", name="time"))
    sent = pd.DataFrame({"time": p["time"], "session": p["session"], "delta": 1})
    done = p.loc[p["resp_time"].notna()]
    back = pd.DataFrame({"time": done["resp_time"].astype(p["time"].dtype),
                         "session": done["session"], "delta": -1})
    ev = pd.concat([sent, back], ignore_index=True).sort_values(["time", "delta"], kind="stable")
    ev["in_flight"] = ev.groupby("session")["delta"].cumsum()
    level = ev.groupby([pd.Grouper(key="time", freq=freq), "session"])["in_flight"].max()
    wide = level.unstack("session")
    wide.index.name = "time"
    full = pd.date_range(wide.index.min(), wide.index.max(), freq=freq, name="time")
    wide = wide.reindex(full).ffill().fillna(0).astype("int64")
    wide.columns.name = "session"
    return wide


def latency_percentiles(latency: pd.Series | pd.DataFrame,
                        percentiles: Sequence[float] = (50, 90, 95, 99)) -> pd.Series:
    """count, mean, min, the percentiles (``p50`` ...) and max of latencies in seconds.

    Args:
        latency: a Series of seconds, or a DataFrame with a ``latency`` column (as
            `response_latency` and `receipt_latency` return); NaN is ignored.
    """
    s = latency["latency"] if isinstance(latency, pd.DataFrame) else latency
    s = pd.to_numeric(pd.Series(s), errors="coerce").dropna().astype("float64")
    out = {"count": float(len(s)), "mean": s.mean(), "min": s.min()}
    for q in percentiles:
        out[f"p{q:g}"] = s.quantile(q / 100) if len(s) else np.nan
    out["max"] = s.max()
    return pd.Series(out, name="latency_s")


# --- errors and throttling --------------------------------------------------------------


def _stat_meaning(stat: object) -> str:
    try:
        return MessageState.from_stat(str(stat)).name.lower()
    except ValueError:
        return "not an SMPP v3.4 stat word"


def error_distribution(df: pd.DataFrame) -> pd.DataFrame:
    """Outcomes by command_status of responses and by stat/err of receipts.

    Returns:
        Columns ``source`` ("command_status" or "receipt"), ``command``,
        ``command_status``, ``name`` (ESME_* name or stat word), ``receipt_err``,
        ``meaning`` (the spec's description, or the message state), ``count`` and
        ``share`` (within the same source and command). Successes are included (ESME_ROK,
        DELIVRD) so shares add up to 1.
    """
    cols = ["command", "command_status", "command_status_name"]
    resp = df.loc[_is_response(df) & df["command_status"].notna(), cols]
    a = (resp.groupby(["command", "command_status"], observed=True).size()
         .rename("count").reset_index())
    # the name of each status: the last one seen, as dict(zip(statuses, names)) gives
    last = resp.drop_duplicates("command_status", keep="last")
    a["name"] = a["command_status"].map(
        dict(zip(last["command_status"], last["command_status_name"], strict=False)))
    a["meaning"] = [describe_status(int(c)) for c in a["command_status"]]
    a["receipt_err"] = pd.NA
    a.insert(0, "source", "command_status")
    rec = df.loc[_is_receipt(df), ["command", "receipt_stat", "receipt_err"]]
    b = (rec.groupby(["command", "receipt_stat", "receipt_err"], dropna=False, observed=True)
         .size().rename("count").reset_index().rename(columns={"receipt_stat": "name"}))
    b["meaning"] = [_stat_meaning(s) if pd.notna(s) else "no stat in receipt" for s in b["name"]]
    b["command_status"] = pd.NA
    b.insert(0, "source", "receipt")
    cols = ["source", "command", "command_status", "name", "receipt_err", "meaning", "count"]
    out = pd.concat([a[cols], b[cols]], ignore_index=True) if len(b) else a[cols]
    out = out.astype({"source": "string", "command": "string", "command_status": "Int64",
                      "name": "string", "receipt_err": "string", "meaning": "string",
                      "count": "int64"})
    out["share"] = out["count"] / out.groupby(["source", "command"])["count"].transform("sum")
    return out.sort_values(["source", "command", "count"], ascending=[True, True, False],
                           ignore_index=True)


def throttle_rate(df: pd.DataFrame, freq: str = "1s", limit: float | None = None
                  ) -> pd.DataFrame:
    """Submits sent and ESME_RTHROTTLED (0x58) answers per bin, against an account limit.

    Args:
        df: an event table.
        freq: bin width.
        limit: the account's allowed submits per second, if known.

    Returns:
        Index ``time`` (bins); columns ``submits``, ``responses``, ``throttled``,
        ``throttle_share`` (throttled / responses, NaN without responses), ``submit_rate``
        (submits per second) and, with `limit`, ``limit`` and ``over_limit``.
        ``attrs["throttle_share"]`` is the share over the whole table.
    """
    kind = classify(df)
    timed = df["time"].notna()
    sub = df.loc[(kind == "submit") & timed, ["time"]]
    resp = df.loc[(kind == "submit_resp") & timed, ["time", "command_status"]]
    grouper = pd.Grouper(key="time", freq=freq)
    out = pd.DataFrame({
        "submits": sub.groupby(grouper).size(),
        "responses": resp.groupby(grouper).size(),
        "throttled": resp.assign(t=(resp["command_status"] == _THROTTLED).fillna(False))
        .groupby(grouper)["t"].sum(),
    }).fillna(0).astype("int64")
    return _throttle_frame(out, freq, limit)


def _throttle_frame(out: pd.DataFrame, freq: str, limit: float | None) -> pd.DataFrame:
    """`throttle_rate`'s frame from its counts per bin (submits, responses, throttled);
    shared with the SQL engines (`smppkit.diagnose.queries`)."""
    out.index.name = "time"
    out = _bins(out, freq)
    out["throttle_share"] = out["throttled"] / out["responses"].where(out["responses"] > 0)
    out["submit_rate"] = out["submits"] / _seconds(freq)
    if limit is not None:
        out["limit"] = float(limit)
        out["over_limit"] = out["submit_rate"] > limit
    total = int(out["responses"].sum())
    out.attrs["throttle_share"] = (int(out["throttled"].sum()) / total) if total else float("nan")
    return out


# --- receipts -----------------------------------------------------------------------------


def _match_receipts(df: pd.DataFrame) -> pd.DataFrame:
    """Every submit (with its resp) and every receipt, paired by message id."""
    p = _pairs(df, _SUBMITS)
    req, resp = p["pos"].to_numpy(), p["resp_pos"].to_numpy()

    def take(col: str, rows: np.ndarray, fill: bool = False) -> pd.api.extensions.ExtensionArray:
        return df[col].array.take(rows, allow_fill=fill)

    s = pd.DataFrame({
        "submit_time": take("time", req), "session": take("session", req),
        "instance": take("instance", req), "sequence": take("sequence", req),
        "source_addr": take("source_addr", req),
        "destination_addr": take("destination_addr", req),
        "registered_delivery": take("registered_delivery", req),
        "part_ref": take("part_ref", req), "part_total": take("part_total", req),
        "part_seq": take("part_seq", req), "resp_time": p["resp_time"].array,
        "command_status": take("command_status", resp, True),
        "message_id": take("message_id", resp, True),
    })
    rec = np.flatnonzero(_is_receipt(df).to_numpy())
    r = pd.DataFrame({
        "receipt_time": take("time", rec), "receipt_session": take("session", rec),
        "receipt_instance": take("instance", rec), "receipt_message_id": take("message_id", rec),
        "receipt_stat": take("receipt_stat", rec), "receipt_err": take("receipt_err", rec),
    })
    accepted = (s["command_status"] == 0).fillna(False).to_numpy() & s["message_id"].notna().to_numpy()
    owner, rule = pair_ids(s["message_id"], r["receipt_message_id"], accepted)
    r["id_match"] = pd.array(rule, dtype="string")
    r["srow"] = owner
    matched = r.loc[owner >= 0]
    s["srow"] = np.arange(len(s))
    both = s.merge(matched, on="srow", how="left")
    orphans = r.loc[owner < 0]
    out = pd.concat([both, orphans], ignore_index=True) if len(orphans) else both
    out = out.drop(columns="srow")
    out["latency"] = (out["receipt_time"] - out["submit_time"]).dt.total_seconds()
    return out


def receipt_latency(df: pd.DataFrame) -> pd.DataFrame:
    """Submit -> receipt time of each receipt that matches a submit.

    The receipt is found through the submit_sm_resp message_id (see the module docstring
    for the id rules); a message with several receipts (ENROUTE then DELIVRD) has a row
    for each.

    Returns:
        Columns ``submit_time``, ``resp_time``, ``receipt_time``, ``latency`` (seconds from
        submit to receipt), ``message_id`` (from the resp), ``receipt_message_id``,
        ``id_match``, ``receipt_stat``, ``receipt_err``, ``session``, ``receipt_session``,
        ``instance``, ``receipt_instance``, ``destination_addr``, and the part columns.
    """
    m = _match_receipts(df)
    m = m.loc[m["submit_time"].notna() & m["receipt_time"].notna()]
    cols = ["submit_time", "resp_time", "receipt_time", "latency", "message_id",
            "receipt_message_id", "id_match", "receipt_stat", "receipt_err", "session",
            "receipt_session", "instance", "receipt_instance", "destination_addr",
            "part_ref", "part_total", "part_seq"]
    return m[cols].reset_index(drop=True)


#: receipt_match outcomes, in report order
OUTCOMES = (
    "receipt",
    "no receipt",
    "no receipt (none requested)",
    "rejected",
    "unanswered",
    "receipt without submit",
)


def receipt_match(df: pd.DataFrame, detail: bool = False) -> pd.DataFrame:
    """Which submits got a receipt, and which receipts match no submit.

    Args:
        df: an event table.
        detail: return the per-message table instead of the summary.

    Returns:
        Summary (default): index ``outcome`` (`OUTCOMES`: a submit accepted with a receipt,
        accepted without one -- split by whether registered_delivery asked for one --,
        rejected (non-zero command_status), unanswered; and receipts that match no
        submit), columns ``count`` and ``share`` (of submits; of receipts for the last
        row), ``attrs["id_match"]`` counting the id rules used. Detail: one row per submit
        (and receipt) with the submit, resp and receipt columns, ``id_match`` and
        ``outcome``.
    """
    m = _match_receipts(df)
    has_sub = m["submit_time"].notna()
    has_rec = m["receipt_time"].notna()
    status = m["command_status"]
    outcome = pd.Series("unanswered", index=m.index, dtype=object)
    outcome[(status != 0).fillna(False)] = "rejected"
    acc = (status == 0).fillna(False)
    wanted = (m["registered_delivery"].fillna(0) & 0x03) != 0
    outcome[acc & ~has_rec & wanted] = "no receipt"
    outcome[acc & ~has_rec & ~wanted] = "no receipt (none requested)"
    outcome[acc & has_rec] = "receipt"
    outcome[~has_sub] = "receipt without submit"
    m["outcome"] = outcome.astype("string")
    if detail:
        return m
    # one submit may carry several receipts: count submits once
    first = m.loc[has_sub].drop_duplicates(["submit_time", "session", "sequence"])
    return _receipt_summary(first["outcome"].value_counts().to_dict(), int((~has_sub).sum()),
                            int(has_rec.sum()), m["id_match"].value_counts().to_dict())


def _receipt_summary(outcomes: dict[str, int], orphans: int, timed_receipts: int,
                     id_match: dict[str, int]) -> pd.DataFrame:
    """`receipt_match`'s summary from its counts: submits per outcome, receipts matching no
    submit, receipts with a time, receipts per id rule; shared with the SQL engines."""
    counts = pd.Series(outcomes, dtype="int64")
    counts["receipt without submit"] = orphans
    counts = counts.reindex(list(OUTCOMES), fill_value=0).astype("int64")
    n_sub, n_rec = int(sum(outcomes.values())), timed_receipts
    share = counts / n_sub if n_sub else counts * np.nan
    share["receipt without submit"] = counts["receipt without submit"] / n_rec if n_rec else np.nan
    out = pd.DataFrame({"count": counts, "share": share})
    out.index.name = "outcome"
    out.attrs["id_match"] = dict(id_match)
    return out


def part_outcomes(df: pd.DataFrame, level: str = "message") -> pd.DataFrame:
    """Outcomes of concatenated messages, part by part or per whole message.

    A message is the parts with the same source_addr, destination_addr, part_ref and
    part_total; a submit without part information is a message of one part.

    Args:
        df: an event table.
        level: "message" or "part".

    Returns:
        level="part": one row per submitted part with ``outcome`` "rejected",
        "unanswered", "no receipt" or the final receipt's stat word.
        level="message": ``source_addr``, ``destination_addr``, ``part_ref``,
        ``part_total``, ``parts_sent``, ``parts_answered``, ``parts_accepted``, ``parts_with_receipt``,
        ``parts_delivered``, ``instances`` (distinct instances the parts went through)
        and ``outcome``: "incomplete" (parts missing), "unanswered", "rejected",
        "partly rejected",
        "no receipt", "delivered" (every receipted part DELIVRD), "partly delivered" or
        "failed".

    Raises:
        ValueError: unknown level.
    """
    if level not in ("message", "part"):
        raise ValueError(f"level must be 'message' or 'part', got {level!r}")
    m = _match_receipts(df)
    m = m.loc[m["submit_time"].notna()]
    # the final receipt of each part
    m = m.sort_values("receipt_time", na_position="first", kind="stable")
    parts = m.drop_duplicates(["submit_time", "session", "sequence"], keep="last")
    parts = parts.sort_values("submit_time", kind="stable").reset_index(drop=True)
    status = parts["command_status"]
    outcome = parts["receipt_stat"].astype(object).copy()
    outcome[parts["receipt_time"].isna()] = "no receipt"
    outcome[(status != 0).fillna(False)] = "rejected"
    outcome[status.isna()] = "unanswered"
    parts["outcome"] = outcome.astype("string")
    if level == "part":
        return parts
    key = pd.DataFrame({
        "source_addr": parts["source_addr"].fillna(""),
        "destination_addr": parts["destination_addr"].fillna(""),
        # a submit without part information is its own message: give it a unique ref
        "part_ref": parts["part_ref"].astype("float64").fillna(
            pd.Series(-1.0 - np.arange(len(parts)), index=parts.index)),
        "part_total": parts["part_total"].fillna(1),
    })
    work = key.assign(
        part_seq=parts["part_seq"].fillna(1),
        answered=status.notna(),
        accepted=(status == 0).fillna(False),
        receipted=(status == 0).fillna(False) & parts["receipt_time"].notna(),
        delivered=(parts["receipt_stat"] == "DELIVRD").fillna(False),
        instance=parts["instance"],
    )
    g = work.groupby(["source_addr", "destination_addr", "part_ref", "part_total"], sort=False)
    out = pd.DataFrame({
        "parts_sent": g["part_seq"].nunique(),
        "parts_answered": g["answered"].sum(),
        "parts_accepted": g["accepted"].sum(),
        "parts_with_receipt": g["receipted"].sum(),
        "parts_delivered": g["delivered"].sum(),
        "instances": g["instance"].nunique(),
    }).reset_index()
    out["part_ref"] = out["part_ref"].where(out["part_ref"] >= 0).astype("Int64")
    out["part_total"] = out["part_total"].astype("Int64")
    o = pd.Series("failed", index=out.index, dtype=object)
    o[out["parts_delivered"] > 0] = "partly delivered"
    o[(out["parts_delivered"] == out["parts_with_receipt"]) & (out["parts_with_receipt"] > 0)] = (
        "delivered")
    o[out["parts_with_receipt"] == 0] = "no receipt"
    o[out["parts_accepted"] < out["parts_sent"]] = "partly rejected"
    o[out["parts_accepted"] == 0] = "rejected"
    o[out["parts_answered"] == 0] = "unanswered"
    o[out["parts_sent"] < out["part_total"]] = "incomplete"
    out["outcome"] = o.astype("string")
    return out
