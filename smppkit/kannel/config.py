"""Kannel's configuration for the provider's setup: the model, generated and read.

The source document tells users to run Kannel (1.4.3 or later) with the provider's
``kannel.conf``, replace ``$nexmo_user``/``$nexmo_password``, open the allow-ip lists for
remote hosts and send a test message with ``sendsms ... &dlr-mask=17``
(`docs/source-document.md`). The provider's file itself was not found
(smpp-facts §1.11), so this module writes one from the Kannel userguide (§2) and from what
Debian's Kannel 1.4.5 was *seen* to do against the simulator (§5 and the module tests):

- `generate_config` -- a commented kannel.conf: core group, one ``smsc = smpp`` group per
  cluster instance (SMPP1 and SMPP2, same credentials), smsbox, sendsms-user.
- `parse_config` / `config_frame` -- read any kannel.conf, as dicts or as a DataFrame.
- `mask_secrets` -- every password in a config line or a sendsms URL hidden.
- `sendsms_url` -- the document's test URL, escaped right.

The rest of `smppkit.kannel` builds on it: `checks` (the pitfalls of a config as findings),
`dlr` (what Kannel did with each receipt), `runner` (bearerbox + smsbox against the
simulator) and `cli` (``smppkit kannel config|check|run``). Their names used to live here
and can still be imported from this module.
"""

from __future__ import annotations

import os
import re
import urllib.parse
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from smppkit.findings import Finding
from smppkit.protocol.constants import SECRET_MASK
from smppkit.sms.meanings import explain_dlr_mask

__all__ = [
    "DLR_URL_FIELDS",
    "Finding",
    "MSG_ID_TYPE_FOR",
    "config_frame",
    "explain_dlr_mask",
    "generate_config",
    "mask_secrets",
    "parse_config",
    "sendsms_url",
]

# -- which msg-id-type matches which id format -----------------------------------------------

#: The `msg-id-type` that makes Kannel 1.4.5 match receipts, per simulator `id_format`.
#:
#: "msg-id-type ... bit 1: type for submit_sm_resp, bit 2: type for deliver_sm. If the bit
#: is set then the value is in hex otherwise in decimal number system." -- Kannel userguide.
#: The provider sends the submit_sm_resp id in hex and the receipt id as the same number in
#: decimal (smpp-facts §1.6): bit 1 set, bit 2 clear, 0x01. Kannel also reads any id that
#: contains a non-digit as hex whatever the bit says (smsc_smpp.c), so 0x00 works too *while*
#: the hex id has a letter in it -- and silently stops working for an all-digit hex id
#: ("0000000012345678"). 0x02/0x03 read the all-digit decimal receipt id as hex: lost.
#:
#: Observed with Kannel 1.4.5 and the simulator (ids 0x0B00000700000001 = 792633564481978369;
#: "ok" = both receipts, DELIVRD and UNDELIV, reached the dlr-url; "lost" = "DLR ... not
#: found"). Re-checked for unset and 0x01 by tests/integration/test_kannel_live.py.
#:
#: ============  ===================  ===================  =============================
#: msg-id-type   nexmo (hex/decimal)  hex/hex              decimal/decimal
#: ============  ===================  ===================  =============================
#: unset         lost                 ok (same string)     ok (same string)
#: 0x00          ok (the id has a B)  ok (the id has a B)  ok
#: 0x01          ok                   ok                   lost (resp read as hex)
#: 0x02          lost                 ok                   lost
#: 0x03          lost                 ok                   "ok": both ids saturate to
#:                                                         2**63-1, every message collides
#: ============  ===================  ===================  =============================
MSG_ID_TYPE_FOR: dict[str, int | None] = {
    "nexmo": 0x01,  # resp hex, receipt decimal
    "hex": 0x03,  # both hex
    "decimal": 0x00,  # both decimal
}

#: Kannel dlr-url escapes the lab asks for, by query key -- Kannel userguide, "dlr-url".
DLR_URL_FIELDS: dict[str, str] = {
    "d": "%d",  # DLR type: 1 delivered, 2 failed, 4 buffered, 8 SMSC ack, 16 SMSC reject; 34 expired (1.4.5)
    "A": "%A",  # the SMSC reply: ACK/, NACK/0x.../ or the receipt text
    "F": "%F",  # the SMSC's (foreign) message id
    "p": "%p",  # sender (our from)
    "P": "%P",  # receiver (our to)
    "T": "%T",  # time of the report, epoch seconds
    "i": "%i",  # smsc-id of the link it came through
    "I": "%I",  # Kannel's internal message id
    "B": "%B",  # for an SMPP receipt: its err field
}

_LOCAL = ("127.0.0.1",)


# -- generating -----------------------------------------------------------------------------


def _q(value: object) -> str:
    """A config value: quoted string, or a bare number/boolean."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return f"{value:g}" if isinstance(value, float) else str(value)
    return '"' + str(value).replace('"', "") + '"'


class _Writer:
    """Lines of a kannel.conf, each key preceded by a comment line saying what it does.

    Comments go on their own line: Kannel has no trailing comments (a ``#`` after a value
    is part of the value), and a blank line ends a group (smpp-facts §5), so a group is
    written without blank lines inside.
    """

    def __init__(self) -> None:
        self.lines: list[str] = []

    def comment(self, *text: str) -> None:
        self.lines.extend(f"# {t}" if t else "#" for t in text)

    def group(self, name: str, what: str) -> None:
        if self.lines:
            self.lines.append("")
        self.comment(what)
        self.lines.append(f"group = {name}")

    def key(self, key: str, value: object, what: str) -> None:
        self.comment(what)
        self.lines.append(f"{key} = {_q(value)}")

    def text(self) -> str:
        return "\n".join(self.lines) + "\n"


def generate_config(
    smscs: Mapping[str, str] | None = None,
    *,
    system_id: str = "$nexmo_user",
    password: str = "$nexmo_password",
    id_format: str = "nexmo",
    msg_id_type: int | None | str = "auto",
    smsc_id: str | None = "nexmo",
    throughput: float | None = 15.0,
    account_throughput: float = 30.0,
    enquire_link_interval: int = 30,
    max_pending_submits: int = 10,
    admin_port: int = 13000,
    admin_password: str = "change-me",
    smsbox_port: int = 13001,
    sendsms_port: int = 13013,
    allow_ips: Sequence[str] = _LOCAL,
    sendsms_username: str = "tester",
    sendsms_password: str = "change-me-too",
    max_messages: int = 10,
    log_dir: str = "/var/log/kannel",
    log_level: int = 1,
    store_file: str | None = None,
    sms_resend_freq: int | None = None,
    extra_smsc: Mapping[str, object] | None = None,
) -> str:
    """A kannel.conf for the provider's setup, every line commented.

    Args:
        smscs: ``{smsc-id: "host:port"}``, one ``smsc = smpp`` group each. Default: the
            cluster instances ``SMPP1``/``SMPP2`` at the third-party hostnames
            ``smpp1.nexmo.com:8000``/``smpp2.nexmo.com:8000`` (smpp-facts §1.1, unverified).
            The document says to bind to both cluster instances, with the same
            credentials; SMPP0 only if you cannot.
        system_id, password: the SMPP credentials; the defaults are the provider file's
            placeholders ``$nexmo_user`` and ``$nexmo_password``.
        id_format: how the SMSC writes ids: "nexmo" (resp hex, receipt decimal), "hex" or
            "decimal"; picks `msg-id-type` when `msg_id_type` is "auto".
        msg_id_type: 0-3, None to leave it unset (exact string compare), or "auto".
        smsc_id: the ``smsc-id`` shared by all links (each gets its own ``smsc-admin-id``
            from `smscs`). Kannel files a pending DLR under the smsc-id of the link that
            sent the message and looks the receipt up under the smsc-id of the link it
            arrives on; a cluster may return the receipt over the *other* link, so distinct
            ids lose it ("DLR ... not found"). None: each link's own name (that pitfall).
        throughput: messages/s *per link*; Kannel throttles itself to it. None: no limit.
            The default 15 keeps the two links together at the provider's 30/s account
            limit.
        account_throughput: the account's limit, only quoted in the comments.
        admin_port, admin_password, smsbox_port, sendsms_port: the core/smsbox ports.
        allow_ips: who may use the admin page, connect a box, and call sendsms
            (``admin-allow-ip``, ``box-allow-ip``, ``user-allow-ip``); everyone else is
            denied. The provider file allows localhost only; add remote hosts here.
        sendsms_username, sendsms_password, max_messages: the sendsms-user group.
        log_dir: directory for bearerbox.log, smsbox.log and the access logs.
        log_level: 0 (debug: every SMPP PDU dumped) .. 4 (panic only).
        store_file: bearerbox message store (``store-type = file``), or None for none.
        sms_resend_freq: seconds before bearerbox retries a message the SMSC refused
            temporarily (0x58 throttled, 0x14 queue full); None: Kannel's default (60 s;
            1.4.5 was seen sleeping 30 s between router passes).
        extra_smsc: more ``key: value`` pairs for every smsc group.

    Returns:
        The file's text.

    Raises:
        ValueError: an unknown `id_format`, or a `msg_id_type` outside 0-3.
    """
    if smscs is None:
        smscs = {"SMPP1": "smpp1.nexmo.com:8000", "SMPP2": "smpp2.nexmo.com:8000"}
    if msg_id_type == "auto":
        if id_format not in MSG_ID_TYPE_FOR:
            raise ValueError(f"id_format must be one of {', '.join(MSG_ID_TYPE_FOR)}; got {id_format!r}")
        msg_id_type = MSG_ID_TYPE_FOR[id_format]
    if msg_id_type is not None and msg_id_type not in (0, 1, 2, 3):
        raise ValueError(f"msg-id-type must be 0-3 or None; got {msg_id_type!r}")
    ips = ";".join(allow_ips)
    w = _Writer()
    w.comment(
        "kannel.conf for the provider's SMPP cluster (SMPP1 + SMPP2), written by smppkit.kannel.",
        "Kannel syntax: 'key = value'; comments on their own line; a blank line ends a group.",
    )
    w.group("core", "bearerbox: the SMPP links, the message queues and the admin HTTP page")
    w.key("admin-port", admin_port, "HTTP port of the admin/status page (/status.txt, /status.xml)")
    w.key("admin-password", admin_password, "password for /status and the admin commands (change it)")
    w.key("admin-deny-ip", "*.*.*.*", "deny the admin page to every address ...")
    w.key("admin-allow-ip", ips, "... except these (';'-separated, '*' = one number)")
    w.key("smsbox-port", smsbox_port, "port where smsbox connects to bearerbox")
    w.key("box-deny-ip", "*.*.*.*", "deny box (smsbox/wapbox) connections from every address ...")
    w.key("box-allow-ip", ips, "... except these; add a remote smsbox host here")
    w.key("log-file", f"{log_dir}/bearerbox.log", "bearerbox log file")
    w.key("log-level", log_level, "0 debug (dumps every SMPP PDU), 1 info, 2 warning, 3 error, 4 panic")
    w.key("access-log", f"{log_dir}/access.log", "one line per message sent and per DLR received")
    w.key("dlr-storage", "internal", "keep pending DLRs in memory (lost on restart; use a DB in production)")
    if sms_resend_freq is not None:
        w.key("sms-resend-freq", sms_resend_freq, "seconds before resending a message refused "
              "temporarily (e.g. 0x58 ESME_RTHROTTLED)")
    if store_file:
        w.key("store-type", "file", "keep queued messages in a file so a restart does not lose them")
        w.key("store-location", store_file, "the message store file")
    for name, address in smscs.items():
        host, _, port = address.rpartition(":")
        w.group("smsc", f"SMSC link {name}: one transceiver bind to {address}")
        w.key("smsc", "smpp", "this link speaks SMPP")
        if smsc_id:
            w.key("smsc-id", smsc_id, "routing/DLR name, the same on every cluster link: a receipt may "
                  "come back over the other link and is looked up under this name")
            w.key("smsc-admin-id", name, "this link's own name on the status page and in the logs")
        else:
            w.key("smsc-id", name, "name of this link (receipts arriving on another link are not found)")
        w.key("host", host, "SMSC host")
        w.key("port", int(port), "SMSC port (the transmit/transceiver port; 'port' is the key)")
        w.key("transceiver-mode", True, "bind_transceiver: submit and receive receipts on one bind")
        w.key("smsc-username", system_id, "SMPP system_id (same account on every cluster instance)")
        w.key("smsc-password", password, "SMPP password")
        w.key("system-type", "", "bind system_type; Kannel's default 'VMA' is not wanted here")
        if msg_id_type is None:
            w.comment("msg-id-type unset: ids compared as exact strings; the provider's hex resp id",
                      "and decimal receipt id never match ('DLR ... not found')")
        else:
            w.key(
                "msg-id-type",
                f"0x{msg_id_type:02x}",
                _MSG_ID_TYPE_WHY.get(msg_id_type, "how ids are read: bit 0x01 resp hex, 0x02 receipt hex"),
            )
        w.key("enquire-link-interval", enquire_link_interval, "seconds between enquire_link keep-alives")
        w.key("max-pending-submits", max_pending_submits, "window: submit_sm sent before waiting for their resps")
        if throughput:
            w.key(
                "throughput",
                throughput,
                f"messages/s on this link; keep the sum over links <= the account's {account_throughput:g}/s "
                "(above it the SMSC answers 0x58 ESME_RTHROTTLED)",
            )
        for key, value in (extra_smsc or {}).items():
            w.key(key, value, "extra setting")
    w.group("smsbox", "smsbox: the HTTP sendsms interface and dlr-url callbacks")
    w.key("bearerbox-host", "127.0.0.1", "where bearerbox runs")
    w.key("bearerbox-port", smsbox_port, "bearerbox's smsbox-port")
    w.key("sendsms-port", sendsms_port, "HTTP port of /cgi-bin/sendsms")
    w.key("log-file", f"{log_dir}/smsbox.log", "smsbox log file")
    w.key("log-level", log_level, "0 debug .. 4 panic")
    w.key("access-log", f"{log_dir}/smsbox-access.log", "one line per sendsms request")
    w.group("sendsms-user", "an account allowed to call /cgi-bin/sendsms")
    w.key("username", sendsms_username, "sendsms username= parameter")
    w.key("password", sendsms_password, "sendsms password= parameter (change it)")
    w.key("user-deny-ip", "*.*.*.*", "deny sendsms to every address ...")
    w.key("user-allow-ip", ips, "... except these")
    w.key("max-messages", max_messages, "up to this many SMS parts per text (default 1: long texts are cut)")
    w.key("concatenation", True, "send the parts of a long text with a UDH so the phone joins them")
    w.group("sms-service", "answer to incoming (MO) messages; required by smsbox")
    w.key("keyword", "default", "the service for any keyword")
    w.key("text", "No service specified", "reply text")
    w.key("max-messages", 0, "0: never send the reply")
    return w.text()


_MSG_ID_TYPE_WHY = {
    0: "0x00: submit_sm_resp id and receipt id both decimal",
    1: "0x01: submit_sm_resp id in hex, receipt id decimal (the provider's ids; see smppkit.kannel)",
    2: "0x02: submit_sm_resp id decimal, receipt id in hex",
    3: "0x03: both ids in hex",
}


# -- parsing --------------------------------------------------------------------------------

_KEY_RE = re.compile(r"^([A-Za-z0-9_-]+)\s*=\s*(.*?)\s*$")


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1]
    return value


def _read(text_or_path: str | os.PathLike[str]) -> str:
    if isinstance(text_or_path, os.PathLike) or ("\n" not in str(text_or_path) and Path(str(text_or_path)).is_file()):
        return Path(text_or_path).read_text(encoding="utf-8", errors="replace")
    return str(text_or_path)


def _parse(text: str) -> list[dict[str, Any]]:
    """Groups as dicts plus ``__lines__`` ({key: line number}) and ``__line__`` (the group line)."""
    groups: list[dict[str, Any]] = []
    current: dict[str, Any] | None = None
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line:
            current = None  # "a blank line ends a group" -- smpp-facts §5
            continue
        if line.startswith("#"):
            continue
        m = _KEY_RE.match(line)
        if not m:
            continue
        key, value = m.group(1).lower(), _unquote(m.group(2))
        if key == "group":
            current = {"group": value, "__line__": n, "__lines__": {"group": n}}
            groups.append(current)
        elif current is not None:
            current[key] = value
            current["__lines__"][key] = n
    return groups


def parse_config(text_or_path: str | os.PathLike[str]) -> list[dict[str, str]]:
    """Read a kannel.conf into one dict per group, in file order.

    Args:
        text_or_path: the file's text, or a path to it.

    Returns:
        ``[{"group": "core", "admin-port": "13000", ...}, ...]``; values are strings with
        the quotes removed; comment lines are skipped; a blank line ends a group, as in
        Kannel, so keys after a blank line without a new ``group =`` are ignored.
    """
    return [
        {k: v for k, v in g.items() if not k.startswith("__")} for g in _parse(_read(text_or_path))
    ]


_SECRET_KEYS = ("password",)
# a password in a sendsms URL query (password=... or its alias pass=..., Kannel userguide
# "sendsms") or a config line (smsc-password = ...)
_SECRET_IN_TEXT = re.compile(
    r"(?P<key>[\w-]*password|(?<![\w-])pass|(?<![\w-])pwd)(?P<sep>\s*=\s*|%3D)(?P<quote>\"?)(?P<value>[^&\s\"';]+)",
    re.IGNORECASE,
)


def mask_secrets(text: str) -> str:
    """`text` with every password value (``password=...`` or ``pass=...`` in a URL,
    ``smsc-password = ...`` in a config line) replaced by ``********``; ``$placeholders`` are kept (no secret)."""

    def hide(m: re.Match[str]) -> str:
        if m.group("value").startswith("$"):
            return m.group(0)
        return f"{m.group('key')}{m.group('sep')}{m.group('quote')}{SECRET_MASK}"

    return _SECRET_IN_TEXT.sub(hide, text)


def config_frame(text_or_path: str | os.PathLike[str], *, mask_secrets: bool = True) -> Any:
    """A kannel.conf as a table: one row per setting, with the comment line above it.

    Args:
        text_or_path: the file's text, or a path to it.
        mask_secrets: show passwords as ``********`` -- except the provider file's
            ``$placeholders``, which are no secret and show what to replace.

    Returns:
        A DataFrame with columns ``group`` (the group's kind, e.g. "smsc"), ``key``,
        ``value`` (unquoted) and ``what`` (the comment block above the line, joined; "" if
        none). ``group = ...`` lines are rows too, with key "group". Keys after a blank line
        without a new group are left out, as Kannel ignores them.
    """
    import pandas as pd

    rows: list[tuple[str, str, str, str]] = []
    comments: list[str] = []
    group: str | None = None
    for raw in _read(text_or_path).splitlines():
        line = raw.strip()
        if not line:
            group, comments = None, []
            continue
        if line.startswith("#"):
            comments.append(line.lstrip("#").strip())
            continue
        m = _KEY_RE.match(line)
        if not m:
            comments = []
            continue
        key, value = m.group(1).lower(), _unquote(m.group(2))
        if key == "group":
            group = value
        if group is None:
            comments = []
            continue
        if mask_secrets and any(k in key for k in _SECRET_KEYS) and not value.startswith("$"):
            value = SECRET_MASK
        rows.append((group, key, value, " ".join(c for c in comments if c)))
        comments = []
    return pd.DataFrame(rows, columns=["group", "key", "value", "what"])



# -- the sendsms URL ------------------------------------------------------------------------


def sendsms_url(
    to: str,
    text: str,
    *,
    base: str = "http://localhost:13013",
    username: str = "tester",
    password: str = "change-me-too",
    from_: str | None = "test",
    charset: str | None = "ISO-8859-1",
    dlr_mask: int | None = None,
    dlr_url: str | None = None,
    smsc: str | None = None,
    coding: int | None = None,
    **extra: object,
) -> str:
    """The sendsms test URL of the source document, escaped right.

    ``sendsms_url("+33XXXXXXX", "Hello World", base="https://localhost:13013",
    username="username", password="pwd", dlr_mask=17)`` gives the document's URL exactly.
    Every value is percent-encoded with nothing left "safe" (``+`` becomes ``%2B``: a bare
    ``+`` in a query means a space). The text is encoded in `charset` first, as Kannel
    decodes it with that charset; dlr-url is itself a URL, so its ``%d``-style escapes
    come out as ``%25d``, which Kannel decodes and then fills in.

    Args:
        to: receiver, e.g. "+447700900000" (Kannel accepts a space-separated list).
        text: the message.
        base: scheme://host:port of smsbox's sendsms-port.
        username, password: the sendsms-user.
        from_: sender (``from=``), or None.
        charset: how `text` is encoded (``charset=``); None: UTF-8 and no parameter.
        dlr_mask: Kannel dlr-mask (see `explain_dlr_mask`); None to leave it out.
        dlr_url: where smsbox calls back with the report.
        smsc: route through this smsc-id.
        coding: 0 7-bit, 1 8-bit, 2 UCS-2.
        **extra: any other sendsms parameter; ``_`` in names becomes ``-`` (``meta_data``).

    Returns:
        The URL.

    Raises:
        UnicodeEncodeError: `text` cannot be written in `charset`.
    """
    params: list[tuple[str, str | bytes]] = [
        ("username", username), ("password", password), ("to", to),
        ("text", text.encode(charset or "utf-8")),
    ]
    if from_ is not None:
        params.append(("from", from_))
    if charset:
        params.append(("charset", charset))
    if coding is not None:
        params.append(("coding", str(coding)))
    if smsc:
        params.append(("smsc", smsc))
    if dlr_mask is not None:
        params.append(("dlr-mask", str(dlr_mask)))
    if dlr_url:
        params.append(("dlr-url", dlr_url))
    params += [(k.replace("_", "-"), str(v)) for k, v in extra.items()]
    query = "&".join(f"{k}={urllib.parse.quote(v, safe='')}" for k, v in params)
    return f"{base.rstrip('/')}/cgi-bin/sendsms?{query}"



#: Names that moved to the modules of their own responsibility, importable from here as before.
_MOVED = {
    "check_config": "checks", "findings_frame": "checks",
    "dlr_lookups": "dlr", "dlr_type_name": "dlr",
    "KannelLab": "runner", "KannelNotInstalled": "runner", "SentMessage": "runner",
    "find_kannel": "runner", "run": "runner",
    "register_cli": "cli",
}


def __getattr__(name: str) -> Any:
    module = _MOVED.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(f"smppkit.kannel.{module}"), name)
