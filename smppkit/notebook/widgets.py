"""ipywidgets for the notebooks: play with a message, a PDU or a receipt instead of reading.

Strategy: every widget is a thin view over a pure function that returns the same data, so
what a person sees in the browser is what a test (or a script) gets without one:

    composer()           <- compose(text, encoding, method, reference)   -> dict
    pdu_inspector()      <- inspect_hex(hex_string)                       -> Explanation
    receipt_explorer()   <- explore_receipt(text)                         -> dict
    monitor(sim)         <- smppkit.simulator.live.read(sim)              -> dict

Each widget is an `ipywidgets.VBox` whose input widgets are also attributes (`.text`,
`.encoding`, `.method`, `.reference`, `.hex`, `.pick`) and whose rendering is an
`ipywidgets.HTML` in `.result`: setting an input's `.value` re-renders `.result.value` at
once, with no kernel or browser involved, which is how the tests drive them. Errors in
the input (a character the forced encoding cannot carry, odd hex) are shown in the
result, never raised out of a callback.

ipywidgets is imported when a widget is built, not when this module is imported, so the
pure functions work where ipywidgets is not installed.
"""

from __future__ import annotations

import html
import re
from typing import Any

from smppkit.protocol.errors import InvalidArgument
from smppkit.sms.explain import Explanation, explain
from smppkit.sms.receipts import ReceiptError, message_id_key, parse_receipt
from smppkit.sms.text import ENCODINGS, METHODS, plan

__all__ = [
    "TABLE_CSS",
    "compare_methods",
    "compose",
    "composer",
    "explore_receipt",
    "inspect_hex",
    "monitor",
    "parse_hex",
    "pdu_inspector",
    "receipt_explorer",
    "table_html",
]

_ENCODING_CHOICES = ("auto", *ENCODINGS)
_METHOD_CHOICES = tuple(METHODS)


# --- the composer -------------------------------------------------------------------------


def compose(text: str, encoding: str = "auto", method: str = "udh8", reference: int = 0) -> dict[str, Any]:
    """What sending `text` takes: encoding, units, parts, UDH and cost, from `smppkit.text.plan`.

    Args:
        text, encoding, method, reference: as for `smppkit.text.plan`.

    Returns:
        A dict: ``encoding``, ``data_coding``, ``method`` (what the plan uses: "single"
        when the text fits one message), ``unit``, ``units``, ``limit`` (units per part),
        ``segments`` (submit_sm PDUs), ``cost`` (parts the handset receives and the
        provider charges -- smpp-facts.md §1.4: one per part; for message_payload the
        SMSC's own split), ``esm_class`` (0x40 with a UDH), ``udh`` (hex per part),
        ``tlvs`` (names per part), ``tlv_values`` (name -> value per part: the SAR numbers
        of SMPP v3.4 §5.3.2.22-24), ``reasons`` and ``parts`` (a DataFrame, one row per part).

    Raises:
        InvalidArgument: as `plan` (a character the forced encoding cannot carry,
            a reference out of range, more than 255 parts).
    """
    p = plan(text, encoding, method, reference)
    # The SMSC splits message_payload for the air interface like an 8-bit-UDH split.
    cost = plan(text, p.encoding, "udh8", 0).segments if p.method == "payload" else p.segments
    return {
        "encoding": p.encoding,
        "data_coding": p.data_coding,
        "method": p.method,
        "unit": p.unit,
        "units": p.units,
        "limit": p.limit,
        "segments": p.segments,
        "cost": cost,
        "esm_class": 0x40 if any(part.udh for part in p.parts) else 0x00,
        "udh": [part.udh_hex for part in p.parts],
        "tlvs": [sorted(part.tlvs) for part in p.parts],
        "tlv_values": [dict(part.tlvs) for part in p.parts],
        "reasons": list(p.reasons),
        "parts": p.to_frame(),
    }


def compare_methods(
    text: str, *, encoding: str = "auto", reference: int = 0,
    methods: tuple[str, ...] = _METHOD_CHOICES,
) -> Any:
    """One row per concatenation method for the same text: what each puts on the wire.

    Columns: method, encoding, units, limit, segments, cost, esm_class, udh (first part),
    tlvs (first part). A DataFrame.
    """
    import pandas as pd

    rows = []
    for method in methods:
        c = compose(text, encoding, method, reference)
        rows.append({
            "method": method,
            "plan": c["method"],
            "encoding": c["encoding"],
            "units": c["units"],
            "limit": c["limit"],
            "segments": c["segments"],
            "cost": c["cost"],
            "esm_class": f"0x{c['esm_class']:02X}",
            "udh (part 1)": c["udh"][0],
            "tlvs (part 1)": ", ".join(c["tlvs"][0]),
        })
    return pd.DataFrame(rows)


#: One look for every table the widgets draw: single rules between rows, no double borders.
TABLE_CSS = (
    "<style>.smppkit-table{border-collapse:collapse;font-size:90%;margin:.4em 0}"
    ".smppkit-table th,.smppkit-table td{border:0;border-bottom:1px solid #d1d9e0;"
    "padding:3px 10px;text-align:left;vertical-align:top}"
    ".smppkit-table thead th{border-bottom:2px solid #d1d9e0;color:#59636e}"
    ".smppkit-table td.num{text-align:right;font-variant-numeric:tabular-nums}</style>"
)


def table_html(frame: Any) -> str:
    """A DataFrame as an HTML table in the widgets' style (`TABLE_CSS`), text escaped."""
    return TABLE_CSS + frame.to_html(index=False, escape=True, border=0,
                                     classes="smppkit-table", na_rep="")


_ALTERNATIVES = (("encoding", "auto"), ("encoding", "ucs2"), ("method", "udh16"),
                 ("method", "payload"), ("reference", 0))


def _cannot(exc: InvalidArgument, text: str, encoding: str, method: str, reference: int) -> str:
    """What went wrong in plain words, and the first change of input that would work."""
    esc = html.escape
    why = str(exc.args[0]) if exc.args else str(exc)
    choice = {"encoding": encoding, "method": method, "reference": reference}
    hint = ""
    for name, value in _ALTERNATIVES:
        if choice[name] == value:
            continue
        try:
            plan(text, **{**choice, name: value})
        except InvalidArgument:
            continue
        hint = f" It can be sent with {name} <b>{esc(str(value))}</b>."
        break
    return f"<p style='color:#b00'><b>Cannot send this:</b> {esc(why)}.{hint}</p>"


def _compose_html(text: str, encoding: str, method: str, reference: int) -> str:
    import pandas as pd

    esc = html.escape
    try:
        c = compose(text, encoding, method, reference)
    except InvalidArgument as exc:
        return _cannot(exc, text, encoding, method, reference)
    head = (
        f"<p><b>{esc(ENCODINGS[c['encoding']].label)}</b> (data_coding {c['data_coding']}), "
        f"{c['units']} {esc(c['unit'])}s, method <b>{esc(c['method'])}</b>: "
        f"{c['segments']} submit_sm, <b>{c['cost']} part(s) charged</b>, "
        f"esm_class 0x{c['esm_class']:02X}</p>"
    )
    reasons = "".join(f"<li>{esc(r)}</li>" for r in c["reasons"])
    parts = c["parts"]
    shown = pd.DataFrame({
        "part": parts["seq"], "units": parts["units"], "UDH": parts["udh"],
        "TLVs": [", ".join(f"{k}={v}" if k.startswith("sar_") else k for k, v in sorted(t.items()))
                 for t in c["tlv_values"]],
        "text": parts["text"],
    })
    shown = shown.loc[:, [col for col in shown if col not in ("UDH", "TLVs") or (shown[col] != "").any()]]
    return f"{head}<ul>{reasons}</ul>{table_html(shown)}"


def composer(text: str = "Hello from smppkit", encoding: str = "auto", method: str = "udh8",
             reference: int = 0) -> Any:
    """A message composer: type text, see its encoding, parts, UDH hex and cost live.

    Returns:
        An `ipywidgets.VBox` with attributes `text`, `encoding`, `method`, `reference`
        (the inputs) and `result` (an `HTML` showing `compose()`).
    """
    import ipywidgets as w

    text_w = w.Textarea(value=text, description="text", layout=w.Layout(width="95%", height="6em"))
    enc_w = w.Dropdown(options=_ENCODING_CHOICES, value=encoding, description="encoding")
    meth_w = w.Dropdown(options=_METHOD_CHOICES, value=method, description="method")
    ref_w = w.BoundedIntText(value=reference, min=0, max=65535, description="reference")
    result = w.HTML()

    def render(_change: Any = None) -> None:
        result.value = _compose_html(text_w.value, enc_w.value, meth_w.value, ref_w.value)

    for control in (text_w, enc_w, meth_w, ref_w):
        control.observe(render, names="value")
    render()
    box = w.VBox([text_w, w.HBox([enc_w, meth_w, ref_w]), result])
    box.text, box.encoding, box.method, box.reference, box.result = text_w, enc_w, meth_w, ref_w, result
    return box


# --- the PDU inspector ----------------------------------------------------------------------

_HEX_NOISE = re.compile(r"0[xX]|[\s:,\-]")


def parse_hex(hex_string: str) -> bytes:
    """Bytes from hex as people paste it: spaces, newlines, colons, commas, dashes and
    0x prefixes are ignored ("00 00 00 10", "0x00,0x00", "00:00:00:10").

    Raises:
        ValueError: something other than hex digits is left, or an odd number of digits.
    """
    digits = _HEX_NOISE.sub("", hex_string)
    bad = sorted(set(re.sub(r"[0-9A-Fa-f]", "", digits)))
    if bad:
        raise ValueError(f"not hex: {''.join(bad)!r}")
    if len(digits) % 2:
        raise ValueError(f"{len(digits)} hex digits: an octet is two, so one is missing")
    return bytes.fromhex(digits)


def inspect_hex(hex_string: str) -> Explanation:
    """The annotated field table (`smppkit.explain`) of a PDU pasted as hex.

    Bad PDU bytes do not raise: the explanation ends with an ``error`` row naming the
    command_status an SMSC would answer with.

    Raises:
        ValueError: the text is not hex (see `parse_hex`).
    """
    return explain(parse_hex(hex_string))


def _inspect_html(hex_string: str) -> str:
    if not hex_string.strip():
        return "<p>Paste the hex of one PDU (from a log, a trace or Wireshark).</p>"
    try:
        explanation = inspect_hex(hex_string)
    except ValueError as exc:
        return f"<p style='color:#b00'><b>Cannot read this:</b> {html.escape(str(exc))}</p>"
    return explanation._repr_html_()


def pdu_inspector(hex_string: str = "") -> Any:
    """A PDU inspector: paste hex, see every field with its offset, octets and meaning.

    Returns:
        An `ipywidgets.VBox` with attributes `hex` (a Textarea) and `result` (an `HTML`).
    """
    import ipywidgets as w

    hex_w = w.Textarea(value=hex_string, description="hex", placeholder="00 00 00 10 80 00 00 15 ...",
                       layout=w.Layout(width="95%", height="6em"))
    result = w.HTML()

    def render(_change: Any = None) -> None:
        result.value = _inspect_html(hex_w.value)

    hex_w.observe(render, names="value")
    render()
    box = w.VBox([hex_w, result])
    box.hex, box.result = hex_w, result
    return box


# --- the receipt explorer -------------------------------------------------------------------


def _id_meaning(value: str) -> str:
    try:
        key = message_id_key(value)
    except ValueError:
        return ""
    if not isinstance(key, int):
        return "not a number: compared as a string"
    if value.strip().isdigit():
        return f"decimal {key}; as hex {key:016X} (the provider's submit_sm_resp form)"
    return f"hex = {key} decimal (the provider's receipt form)"


def explore_receipt(text: str | bytes) -> dict[str, Any]:
    """Parse a receipt leniently and say what each field means.

    Args:
        text: the receipt text (a deliver_sm short_message).

    Returns:
        A dict: ``receipt`` (the `Receipt`), ``fields`` (a DataFrame: field, value,
        meaning), ``problems`` (sentences; empty for a clean receipt), ``delivered``,
        ``final`` (False for ACCEPTD/ENROUTE: wait for another receipt) and ``retry``
        (whether the provider's err says a later retry may succeed; None if unknown).

    Raises:
        ReceiptError: no receipt field at all in `text`.
    """
    import pandas as pd

    from smppkit.sms.meanings import STATS, explain_receipt_err

    receipt = parse_receipt(text, strict=False)
    stats = {s.stat: s for s in STATS}
    rows: list[tuple[str, str, str]] = []
    if receipt.id is not None:
        rows.append(("id", receipt.id, _id_meaning(receipt.id)))
    for name, count in (("sub", receipt.sub_count), ("dlvrd", receipt.dlvrd_count)):
        value = getattr(receipt, name)
        if value is not None:
            what = "submitted" if name == "sub" else "delivered"
            rows.append((name, value, f"{what}: {count}" if count is not None else "not a number"))
    for name, when in (("submit_date", receipt.submit_datetime), ("done_date", receipt.done_datetime)):
        value = getattr(receipt, name)
        if value is not None:
            rows.append((name, value, when.isoformat(sep=" ") if when else "not a date"))
    stat = stats.get((receipt.stat or "").strip().upper())
    final: bool | None = None
    if receipt.stat is not None:
        final = stat.final and stat.stat != "ACCEPTD" if stat else None
        meaning = (f"{stat.state_name} (message_state {stat.message_state}): {stat.meaning}"
                   if stat else "not a SMPP v3.4 stat word")
        rows.append(("stat", receipt.stat, meaning))
    retry: bool | None = None
    if receipt.err is not None:
        try:
            err = explain_receipt_err(receipt.err)
        except ValueError:
            rows.append(("err", receipt.err, "not a decimal number"))
        else:
            retry = err.retry
            hint = ({True: "; a retry may succeed", False: "; a retry will not help"}.get(err.retry, "")
                    if err.err else "")
            rows.append(("err", receipt.err, f"{err.meaning}{hint}"))
    if receipt.text is not None:
        rows.append(("text", receipt.text, "the first characters of the message (often 'none')"))
    if receipt.receipted_message_id is not None:
        rows.append(("receipted_message_id", receipt.receipted_message_id, "TLV 0x001E"))
    if receipt.message_state is not None:
        rows.append(("message_state", str(receipt.message_state), "TLV 0x0427"))
    for key, value in receipt.extra.items():
        rows.append((key, value, "a vendor field, not in SMPP v3.4 Appendix B"))
    if not rows:
        raise ReceiptError(list(receipt.problems) or ["no receipt fields"], receipt)
    fields = pd.DataFrame(rows, columns=["field", "value", "meaning"]).astype("string")
    return {
        "receipt": receipt,
        "fields": fields,
        "problems": list(receipt.problems),
        "delivered": receipt.delivered,
        "final": final,
        "retry": retry,
    }


def _receipt_html(text: str) -> str:
    esc = html.escape
    if not text.strip():
        return "<p>Pick a receipt above, or paste one.</p>"
    try:
        found = explore_receipt(text)
    except ReceiptError as exc:
        return f"<p style='color:#b00'><b>Not a receipt:</b> {esc(str(exc))}</p>"
    verdict = ("delivered" if found["delivered"]
               else "not final yet: another receipt should follow" if found["final"] is False
               else "not delivered")
    problems = "".join(f"<li>{esc(p)}</li>" for p in found["problems"])
    problems_html = f"<p><b>Problems</b></p><ul>{problems}</ul>" if problems else "<p>No problems.</p>"
    table = table_html(found["fields"])
    return f"<p><b>{esc(verdict)}</b></p>{table}{problems_html}"


def receipt_explorer(text: str = "") -> Any:
    """A receipt explorer: pick a variant from the receipt zoo, or paste one; see its fields.

    Returns:
        An `ipywidgets.VBox` with attributes `pick` (a Dropdown of zoo variants), `text`
        (a Textarea; picking fills it) and `result` (an `HTML` showing `explore_receipt`).
    """
    import ipywidgets as w

    from smppkit.notebook.lab import receipt_zoo

    zoo = receipt_zoo()
    zoo = zoo[zoo["text"] != ""]  # the TLV-only variants need a PDU, not a text
    texts = list(zoo["text"])
    options = [("(paste your own)", -1)] + [(name, i) for i, name in enumerate(zoo["name"])]
    pick = w.Dropdown(options=options, value=-1, description="zoo")
    text_w = w.Textarea(value=text, description="receipt", layout=w.Layout(width="95%", height="5em"))
    result = w.HTML()

    def picked(change: Any) -> None:
        if change["new"] >= 0:
            text_w.value = texts[change["new"]]

    def render(_change: Any = None) -> None:
        result.value = _receipt_html(text_w.value)

    pick.observe(picked, names="value")
    text_w.observe(render, names="value")
    render()
    box = w.VBox([pick, text_w, result])
    box.pick, box.text, box.result = pick, text_w, result
    return box


# --- the simulator monitor ------------------------------------------------------------------


def _monitor_html(stats: dict[str, Any], running: bool) -> str:
    import pandas as pd

    from smppkit.simulator.live import COUNTERS

    counters = stats["counters"]
    rows = [(label, f"{counters.get(key, 0):,.1f}" if key == "submits_per_s"
             else f"{counters.get(key, 0):,}") for key, label in COUNTERS.items()]
    traffic = pd.DataFrame(rows, columns=["counter", "value"])
    binds = pd.DataFrame(stats["binds"], columns=["instance", "account", "bind", "sessions"])
    down = [name for name, up in stats["instances"].items() if not up]
    state = "running" if running else "stopped"
    if down and running:
        state += f"; down: {', '.join(down)}"
    bound = table_html(binds) if len(binds) else "<p>No session is bound.</p>"
    return (f"<p><b>smppkit simulator</b> ({html.escape(state)})</p>{table_html(traffic)}"
            f"<p><b>Binds per instance and account</b></p>{bound}")


def monitor(target: Any, interval: float = 1.0) -> Any:
    """The simulator's live counters in a notebook, updated in place every `interval` s:
    binds per instance and account, submits per second, throttled, receipts pending, sent
    and acknowledged, MO (the numbers of ``smppkit sim --http``).

    Args:
        target: a `SimulatorHandle`, or a `smppkit.lab.Lab` running the simulator.
        interval: seconds between updates.

    Returns:
        An `ipywidgets.VBox` with `result` (the `HTML` updated in place), `refresh()`
        (update now) and `stop()`. It stops by itself when the simulator stops.

    Raises:
        ValueError: `target` is a lab bound to a real SMSC (it has no counters to show).
    """
    import threading

    import ipywidgets as w

    from smppkit.simulator.live import Rates, read

    handle = getattr(target, "sim", None) if hasattr(target, "is_simulator") else target
    if handle is None:
        raise ValueError("monitor() needs the simulator; this lab talks to a real SMSC")
    rates = Rates()
    result = w.HTML()
    stopping = threading.Event()

    def refresh() -> None:
        running = handle.running
        if running:
            try:
                box.stats = rates.update(handle._call_soon(read, handle.sim))
            except Exception:  # the simulator stopped between the check and the read
                running = False
        if box.stats is not None:
            result.value = _monitor_html(box.stats, running)

    def loop() -> None:
        while not stopping.wait(interval) and handle.running:
            refresh()
        refresh()

    box = w.VBox([result])
    box.result, box.stats, box.refresh = result, None, refresh
    refresh()
    thread = threading.Thread(target=loop, name="smppkit-monitor", daemon=True)

    def stop() -> None:
        stopping.set()
        thread.join(max(interval, 0.1) + 10)

    box.stop, box.thread = stop, thread
    thread.start()
    return box
