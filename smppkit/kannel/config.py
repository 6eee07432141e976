"""Kannel against the simulator: the provider's kannel.conf, generated, checked and run.

The source document tells users to run Kannel (1.4.3 or later) with the provider's
``kannel.conf``, replace ``$nexmo_user``/``$nexmo_password``, open the allow-ip lists for
remote hosts and send a test message with ``sendsms ... &dlr-mask=17``
(`docs/source-document.md`). The provider's file itself was not found
(smpp-facts §1.11), so this module writes one from the Kannel userguide (§2) and from what
Debian's Kannel 1.4.5 was *seen* to do against the simulator (§5 and the module tests):

- `generate_config` -- a commented kannel.conf: core group, one ``smsc = smpp`` group per
  cluster instance (SMPP1 and SMPP2, same credentials), smsbox, sendsms-user.
- `parse_config` / `check_config` -- read any kannel.conf and list its pitfalls as
  `Finding` rows (msg-id-type, dlr-mask 17, allow-ip lock-outs, max-messages, throughput).
- `sendsms_url` -- the document's test URL, escaped right.
- `KannelLab` / `run` -- bearerbox + smsbox on free ports against a running simulator, a
  local HTTP listener for dlr-url callbacks, every process stopped by PID.
- `config_frame`, `findings_frame`, `dlr_lookups`, `KannelLab.receipts` -- the same things
  as DataFrames with stable columns, for notebooks.
- `register_cli` -- ``smppkit kannel config|check|run``.

Strategy for running: everything lives in one temporary directory (config, logs, spool);
nothing listens on anything but 127.0.0.1. Processes are started in the foreground (no
``-d``) with `subprocess.Popen` so we own their PIDs; `stop()` sends SIGTERM and, after a
bounded wait, SIGKILL -- bearerbox waits for the SMSC's unbind_resp and may never exit on
SIGTERM when it does not come (smpp-facts §5).
"""

from __future__ import annotations

import contextlib
import http.server
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from smppkit.findings import Finding
from smppkit.kannel.logs import LOG_PREFIX
from smppkit.protocol.constants import SECRET_MASK
from smppkit.sms.meanings import DLR_MASK_BITS, explain_dlr_mask

__all__ = [
    "DLR_URL_FIELDS",
    "Finding",
    "KannelLab",
    "KannelNotInstalled",
    "MSG_ID_TYPE_FOR",
    "SentMessage",
    "check_config",
    "config_frame",
    "dlr_lookups",
    "dlr_type_name",
    "explain_dlr_mask",
    "find_kannel",
    "findings_frame",
    "generate_config",
    "mask_secrets",
    "parse_config",
    "register_cli",
    "run",
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


# -- checking -------------------------------------------------------------------------------


def _finding(severity: str, problem: str, evidence: str, fix: str) -> Finding:
    """A config pitfall as a `smppkit.findings.Finding` (evidence: the line(s) that show it).

    Evidence quotes config lines and sendsms URLs, so every text is masked here: no
    password leaves `check_config`.
    """
    return Finding(severity, "kannel-config", mask_secrets(problem), fix=mask_secrets(fix),
                   details=(mask_secrets(evidence),))


def _ev(group: Mapping[str, Any], key: str) -> str:
    line = group["__lines__"].get(key)
    if line is None:
        return f"group {group['group']} (line {group['__line__']}) has no {key}"
    return f"line {line}: {key} = {group[key]}"


def _ip_matches(pattern_list: str, ip: str) -> bool:
    """Kannel's IP list match: ';'-separated patterns, '*' stands for one number (K1)."""
    parts = ip.split(".")
    for pattern in filter(None, (p.strip() for p in pattern_list.split(";"))):
        pp = pattern.split(".")
        if len(pp) == len(parts) and all(a == "*" or a == b for a, b in zip(pp, parts, strict=True)):
            return True
    return False


def _ip_allowed(allow: str | None, deny: str | None, ip: str) -> bool:
    """Kannel's rule (gwlib/utils.c is_allowed_ip): no deny list -> allowed; the allow list
    wins over the deny list."""
    if not deny:
        return True
    if allow and _ip_matches(allow, ip):
        return True
    return not _ip_matches(deny, ip)


_MASK_IN_URL = re.compile(r"dlr-?mask=(\d+)", re.IGNORECASE)
_LOCALHOSTS = {"127.0.0.1", "localhost", "::1"}


def check_config(
    text_or_path: str | os.PathLike[str],
    account_throughput: float = 30.0,
    *,
    id_format: str = "nexmo",
    remote_hosts: Iterable[str] = (),
    urls: Iterable[str] = (),
    long_texts: bool = True,
) -> list[Finding]:
    """Find the pitfalls of the provider setup in a kannel.conf.

    Checks: `msg-id-type` unset or wrong for the SMSC's id format (receipts "not found");
    a dlr-mask with bit 1 but not bit 2, e.g. 17 (failure receipts ignored) -- in the config
    or in sendsms URLs found in it or passed in `urls`; allow-ip lists that shut out a
    remote box or host; `max-messages` missing or 1 when long texts are sent; `throughput`
    missing or above the account's limit (summed over the account's links).

    Args:
        text_or_path: the config's text or a path.
        account_throughput: the account's submit limit in messages/s (provider default 30).
        id_format: the SMSC's id format: "nexmo" (resp hex, receipt decimal), "hex",
            "decimal", or "string" (both the same opaque string).
        remote_hosts: IP addresses that must reach the admin page, bearerbox (as a box)
            and sendsms.
        urls: sendsms URLs you use (their dlr-mask is checked).
        long_texts: whether texts over one SMS are sent (for the max-messages check).

    Returns:
        Findings, most severe first; an empty list for a good config.
    """
    text = _read(text_or_path)
    groups = _parse(text)
    found: list[Finding] = []
    remote = [h for h in remote_hosts if h not in _LOCALHOSTS]
    by_kind: dict[str, list[dict[str, Any]]] = {}
    for g in groups:
        by_kind.setdefault(g["group"], []).append(g)
    smpp = [g for g in by_kind.get("smsc", []) if g.get("smsc", "").lower() == "smpp"]

    # 1. msg-id-type -- smpp-facts §2.2, §5
    want = MSG_ID_TYPE_FOR.get(id_format)
    for g in smpp:
        name = g.get("smsc-id", f"smsc at line {g['__line__']}")
        raw = g.get("msg-id-type")
        if id_format == "string":
            continue
        if raw is None:
            found.append(_finding(
                "error",
                f"{name}: msg-id-type is unset, so Kannel compares the submit_sm_resp id and the "
                f"receipt id as strings; with {id_format} ids they never match and every receipt "
                "is logged as 'DLR[...]: DLR from SMSC<...> for DST<...> not found'",
                _ev(g, "msg-id-type"),
                f"add 'msg-id-type = 0x{want:02x}' to the smsc group",
            ))
            continue
        try:
            value = int(raw, 0)
        except ValueError:
            value = -1
        if value != want:
            found.append(_finding(
                "error",
                f"{name}: msg-id-type {raw} does not fit {id_format} ids (resp "
                f"{'hex' if want & 1 else 'decimal'}, receipt {'hex' if want & 2 else 'decimal'}), "
                "so receipt ids are read as other numbers and not found",
                _ev(g, "msg-id-type"),
                f"set 'msg-id-type = 0x{want:02x}'",
            ))

    # 1b. one account on several links under different smsc-ids. Kannel files a pending DLR
    # under the smsc-id of the sending link and looks a receipt up under the smsc-id of the
    # link it arrives on (bearerbox.log: "DLR[internal]: Looking for DLR smsc=..."); the
    # cluster returns receipts over any bound link, so they are "not found".
    accounts: dict[str, list[dict[str, Any]]] = {}
    for g in smpp:
        accounts.setdefault(g.get("smsc-username", ""), []).append(g)
    for account, links in accounts.items():
        ids = {g.get("smsc-id", "") for g in links}
        if len(links) > 1 and len(ids) > 1:
            found.append(_finding(
                "error",
                f"account {account or '?'} is bound over {len(links)} links with different smsc-ids "
                f"({', '.join(sorted(ids))}): a receipt that comes back over the other link is looked "
                "up under the other smsc-id and logged as 'DLR ... not found'",
                "; ".join(_ev(g, "smsc-id") for g in links),
                "give the cluster's links one smsc-id (e.g. smsc-id = \"nexmo\") and tell them apart "
                "with smsc-admin-id",
            ))

    # 2. dlr-mask without bit 2 -- smpp-facts §2.3
    def mask_finding(mask: int, evidence: str) -> None:
        if mask & 1 and not mask & 2:
            found.append(_finding(
                "warning",
                f"dlr-mask {mask} asks for receipts but drops the failures: Kannel requests "
                "registered_delivery=1, then ignores UNDELIV/EXPIRED/REJECTD receipts "
                "('Ignoring DLR message because of mask'), so failed messages look pending forever",
                evidence,
                f"use dlr-mask {mask | 2} (adds bit 2, 'not delivered to phone'); 19 or 31 are usual",
            ))

    for g in groups:
        for key in ("dlr-mask", "dlr-mask-default"):
            if key in g and g[key].strip().isdigit():
                mask_finding(int(g[key]), _ev(g, key))
    for n, line in enumerate(text.splitlines(), 1):
        for m in _MASK_IN_URL.finditer(line):
            mask_finding(int(m.group(1)), f"line {n}: {line.strip()}")
    for url in urls:
        for m in _MASK_IN_URL.finditer(url):
            mask_finding(int(m.group(1)), f"url: {url}")

    # 3. allow-ip lists -- smpp-facts §2.5, §1.11
    lists = [("core", "admin", "the admin/status page"), ("core", "box", "box (smsbox) connections"),
             ("sendsms-user", "user", "sendsms")]
    for kind, prefix, what in lists:
        for g in by_kind.get(kind, []):
            allow, deny = g.get(f"{prefix}-allow-ip"), g.get(f"{prefix}-deny-ip")
            for host in remote:
                if not _ip_allowed(allow, deny, host):
                    found.append(_finding(
                        "error",
                        f"{what} refuses {host}: {prefix}-deny-ip matches it and {prefix}-allow-ip does not",
                        "; ".join(_ev(g, k) for k in (f"{prefix}-allow-ip", f"{prefix}-deny-ip")),
                        f"add {host} to {prefix}-allow-ip (e.g. \"{allow or '127.0.0.1'};{host}\")",
                    ))
    for g in by_kind.get("smsbox", []):
        host = g.get("bearerbox-host", "localhost")
        if host not in _LOCALHOSTS:
            for core in by_kind.get("core", []):
                allow, deny = core.get("box-allow-ip"), core.get("box-deny-ip")
                if deny and allow is not None and all(
                    p.strip() in _LOCALHOSTS for p in allow.split(";") if p.strip()
                ):
                    found.append(_finding(
                        "error",
                        f"smsbox connects to a remote bearerbox ({host}), but box-allow-ip lets only "
                        "localhost in: the remote smsbox is refused",
                        f"{_ev(g, 'bearerbox-host')}; {_ev(core, 'box-allow-ip')}",
                        "add the smsbox host's IP address to box-allow-ip on the bearerbox",
                    ))

    # 4. max-messages -- smpp-facts §2.4
    if long_texts:
        for g in by_kind.get("sendsms-user", []):
            raw = g.get("max-messages")
            if raw is None or raw.strip() == "1":
                found.append(_finding(
                    "warning",
                    f"sendsms-user {g.get('username', '?')}: max-messages is "
                    f"{'missing (default 1)' if raw is None else '1'}, so a text over 160 characters "
                    "(70 in UCS-2) is not split into a concatenated message",
                    _ev(g, "max-messages"),
                    "set 'max-messages = 10' and 'concatenation = true'",
                ))
            elif raw.strip().isdigit() and int(raw) > 1 and g.get("concatenation", "").lower() not in (
                "true", "yes", "1", "on",
            ):
                found.append(_finding(
                    "warning",
                    f"sendsms-user {g.get('username', '?')}: parts are sent without a UDH "
                    "(concatenation not true), so the phone shows them as separate messages",
                    _ev(g, "concatenation"),
                    "set 'concatenation = true'",
                ))

    # 5. throughput -- smpp-facts §1.3
    per_account: dict[str, list[tuple[dict[str, Any], float]]] = {}
    for g in smpp:
        raw = g.get("throughput")
        name = g.get("smsc-id", f"smsc at line {g['__line__']}")
        if raw is None:
            found.append(_finding(
                "warning",
                f"{name}: no throughput, so Kannel submits as fast as the window allows and the "
                f"SMSC answers ESME_RTHROTTLED (0x58) above {account_throughput:g}/s",
                _ev(g, "throughput"),
                f"set 'throughput = {account_throughput / max(len(smpp), 1):g}' (the account limit "
                "shared by its links)",
            ))
            continue
        try:
            rate = float(raw)
        except ValueError:
            continue
        per_account.setdefault(g.get("smsc-username", ""), []).append((g, rate))
    for account, links in per_account.items():
        total = sum(rate for _, rate in links)
        if total > account_throughput:
            names = ", ".join(g.get("smsc-id", "?") for g, _ in links)
            found.append(_finding(
                "error",
                f"throughput {total:g}/s for account {account or '?'} ({names}) is above the "
                f"account's {account_throughput:g}/s: the SMSC answers ESME_RTHROTTLED (0x58), "
                "Kannel requeues and pauses the link",
                "; ".join(_ev(g, "throughput") for g, _ in links),
                f"keep the sum <= {account_throughput:g}, e.g. "
                f"'throughput = {account_throughput / len(links):g}' on each of the {len(links)} links",
            ))
    order = {"error": 0, "warning": 1, "info": 2}
    return sorted(found, key=lambda f: order.get(f.severity, 3))


def findings_frame(findings: Iterable[Finding]) -> Any:
    """`check_config` findings as a DataFrame: severity, problem, evidence, fix (same order)."""
    import pandas as pd

    columns = ["severity", "problem", "evidence", "fix"]
    return pd.DataFrame([[getattr(f, c) for c in columns] for f in findings], columns=columns)


def dlr_type_name(d: int | None) -> str:
    """A dlr-url ``%d`` value in words: its dlr-mask bits' names, e.g. 34 -> "failure+expired".

    The names are those of `smppkit.meanings.DLR_MASK_BITS`; Kannel 1.4.5 reports an EXPIRED
    receipt as 34 (2+32), measured against the simulator. 0 or None gives "".
    """
    if not d:
        return ""
    names = [b.name for b in DLR_MASK_BITS if d & b.bit]
    rest = d & ~sum(b.bit for b in DLR_MASK_BITS)
    return "+".join(names + ([str(rest)] if rest else []))


def dlr_lookups(events: Iterable[Mapping[str, Any]]) -> Any:
    """How Kannel matched each receipt to a pending message, from bearerbox.log events.

    Kannel stores a pending DLR under the submit_sm_resp id as *it* reads it (msg-id-type)
    and looks a receipt up under the receipt id as it reads that; the two must be the same
    string. One row per lookup ("Looking for DLR" at log-level 0), in log order; the
    "not found" and "Ignoring ... because of mask" lines that follow a lookup in the same
    thread decide its outcome.

    Args:
        events: `smppkit.kannel_logs.read_bearerbox_log` events (or `KannelLab.events()[0]`).

    Returns:
        A DataFrame with columns ``destination_addr``, ``stored_id`` (the pending DLR the
        receipt matched, else the oldest one still pending for that destination, as Kannel
        wrote it; "" if none), ``receipt_id`` (the id Kannel looked up), ``d`` (the DLR
        type, Int64), ``found`` (False when Kannel logged "DLR ... not found") and
        ``outcome``: "matched", "not found" or "ignored (dlr-mask N)" -- found, then
        deleted unreported because its type is not in the message's dlr-mask.
    """
    import pandas as pd

    pending: dict[str, list[str]] = {}  # destination -> ids stored, oldest first
    rows: list[dict[str, Any]] = []
    last: dict[str, dict[str, Any]] = {}  # thread -> its latest lookup

    for e in events:
        note, dst = e.get("note") or "", e.get("destination_addr") or ""
        thread = str(e.get("session") or "").rpartition("#")[2]
        if note.startswith("pending DLR stored"):
            pending.setdefault(dst, []).append(e["message_id"])
        elif note.startswith("receipt arrived: looking up"):
            m = re.search(r"type (\d+)", note)
            d = int(m.group(1)) if m else None
            waiting, receipt_id = pending.get(dst, []), e["message_id"]
            stored = receipt_id if receipt_id in waiting else (waiting[0] if waiting else "")
            if receipt_id in waiting and d is not None and not d & 4:
                waiting.remove(receipt_id)  # a final receipt ends the pending DLR
            row = {"destination_addr": dst, "stored_id": stored, "receipt_id": receipt_id, "d": d,
                   "found": True, "outcome": "matched"}
            rows.append(row)
            last[thread] = row
        elif note.startswith("DLR not found") and thread in last:
            last[thread].update(found=False, outcome="not found")
        elif "(Ignoring DLR message because of mask)" in note and thread in last:
            m = re.search(r"dlr-mask (-?\d+)", note)
            last[thread]["outcome"] = f"ignored (dlr-mask {m.group(1) if m else '?'})"
    columns = ["destination_addr", "stored_id", "receipt_id", "d", "found", "outcome"]
    frame = pd.DataFrame(rows, columns=columns)
    frame["d"] = frame["d"].astype("Int64")
    frame["found"] = frame["found"].astype(bool)
    return frame


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


# -- running Kannel -------------------------------------------------------------------------


class KannelNotInstalled(RuntimeError):
    """bearerbox/smsbox are not on this machine."""


def find_kannel() -> tuple[str, str]:
    """Paths of bearerbox and smsbox.

    Raises:
        KannelNotInstalled: either is missing (``apt-get install kannel`` provides both).
    """
    found = []
    for name in ("bearerbox", "smsbox"):
        path = shutil.which(name) or next(
            (p for p in (f"/usr/sbin/{name}", f"/usr/local/sbin/{name}") if os.access(p, os.X_OK)), None
        )
        if path is None:
            raise KannelNotInstalled(
                f"Kannel is not installed: no '{name}' on PATH or in /usr/sbin "
                "(on Debian/Ubuntu: apt-get install kannel)"
            )
        found.append(path)
    return found[0], found[1]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class SentMessage:
    """One sendsms call: what was sent and what smsbox answered."""

    label: str
    to: str
    text: str
    dlr_mask: int | None
    url: str  # as sent, password included; the repr masks it
    status: int
    body: str
    time: float = field(default_factory=time.time)

    def __repr__(self) -> str:
        return (f"SentMessage(label={self.label!r}, to={self.to!r}, text={self.text!r}, "
                f"dlr_mask={self.dlr_mask!r}, url={mask_secrets(self.url)!r}, "
                f"status={self.status!r}, body={self.body!r}, time={self.time!r})")


class _DlrHandler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        query = urllib.parse.urlsplit(self.path).query
        record: dict[str, Any] = {"received": time.time()}
        for key, value in urllib.parse.parse_qsl(query, keep_blank_values=True, encoding="latin-1"):
            record[key] = value
        self.server.records.append(record)  # type: ignore[attr-defined]
        body = b"ok"
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:  # keep test output clean
        pass


class KannelLab:
    """bearerbox + smsbox against the simulator, with a dlr-url listener. A context manager.

    ::

        with smppkit.simulator.start(seed=7, dlr_delay=0.1) as sim, KannelLab(sim) as lab:
            lab.send("447700900001", "hello", dlr_mask=19)
            lab.wait_for_dlrs(2)
            lab.dlr_frame()

    Args:
        target: a running simulator handle, or ``{smsc-id: "host:port"}``.
        instances: which simulator instances to bind (the document: both of SMPP1, SMPP2).
        system_id, password: SMPP credentials; default: the simulator's account.
        id_format: the SMSC's id format (default: the simulator's) -- picks msg-id-type.
        msg_id_type: 0-3, None (unset), or "auto" (`MSG_ID_TYPE_FOR[id_format]`).
        throughput: per-link messages/s, None for no limit.
        max_pending_submits, enquire_link_interval: as in `generate_config`.
        log_level: 0 dumps every PDU into bearerbox.log (what `kannel_logs` reads).
        workdir: where config and logs go (default: a new temp dir, removed by `stop()`
            unless `keep=True`).
        start_timeout: seconds to wait for the links to come online.
        stop_timeout: seconds to wait after SIGTERM before SIGKILL.
        **config: other `generate_config` arguments.

    Raises:
        KannelNotInstalled: no bearerbox/smsbox.
        TimeoutError: the links did not come online within `start_timeout` (the log tail
            is in the message).
    """

    def __init__(
        self,
        target: Any,
        *,
        instances: Sequence[str] = ("SMPP1", "SMPP2"),
        system_id: str | None = None,
        password: str | None = None,
        id_format: str | None = None,
        msg_id_type: int | None | str = "auto",
        throughput: float | None = 10.0,
        max_pending_submits: int = 10,
        enquire_link_interval: int = 30,
        log_level: int = 0,
        workdir: str | os.PathLike[str] | None = None,
        keep: bool = False,
        start_timeout: float = 20.0,
        stop_timeout: float = 5.0,
        **config: Any,
    ) -> None:
        self.bearerbox_bin, self.smsbox_bin = find_kannel()
        if isinstance(target, Mapping):
            smscs = {k: v for k, v in target.items() if not instances or k in instances}
        else:
            smscs = {name: target.address(name) for name in instances}
            account = target.account
            system_id = system_id or account.system_id
            password = password if password is not None else account.password
            id_format = id_format or target.sim.config.id_format
        self.smscs = smscs
        self.system_id = system_id or "smppkit"
        self._password = password if password is not None else "secret"
        self.id_format = id_format or "nexmo"
        self.msg_id_type = msg_id_type
        self.throughput = throughput
        self.start_timeout = start_timeout
        self.stop_timeout = stop_timeout
        self.keep = keep
        self._own_dir = workdir is None
        self.workdir = Path(workdir or tempfile.mkdtemp(prefix="smppkit-kannel-"))
        self.admin_port = _free_port()
        self.smsbox_port = _free_port()
        self.sendsms_port = _free_port()
        self.admin_password = "lab-admin"
        self.sendsms_username = "lab"
        self.sendsms_password = "lab-pass"
        self.config_text = generate_config(
            smscs,
            system_id=self.system_id,
            password=self._password,
            id_format=self.id_format,
            msg_id_type=msg_id_type,
            throughput=throughput,
            max_pending_submits=max_pending_submits,
            enquire_link_interval=enquire_link_interval,
            admin_port=self.admin_port,
            admin_password=self.admin_password,
            smsbox_port=self.smsbox_port,
            sendsms_port=self.sendsms_port,
            sendsms_username=self.sendsms_username,
            sendsms_password=self.sendsms_password,
            log_dir=str(self.workdir),
            log_level=log_level,
            **config,
        )
        self.config_path = self.workdir / "kannel.conf"
        self.bearerbox_log = self.workdir / "bearerbox.log"
        self.smsbox_log = self.workdir / "smsbox.log"
        self.access_log = self.workdir / "access.log"
        self.smsbox_access_log = self.workdir / "smsbox-access.log"
        self.sent: list[SentMessage] = []
        self.dlrs: list[dict[str, Any]] = []
        self._procs: dict[str, subprocess.Popen[bytes]] = {}
        self._http: http.server.ThreadingHTTPServer | None = None
        self._http_thread: threading.Thread | None = None
        self._labels = 0
        self._lock = threading.Lock()

    # -- life cycle --
    def start(self) -> KannelLab:
        """Write the config, start the dlr listener, bearerbox and smsbox; wait for the links."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.config_path.write_text(self.config_text, encoding="utf-8")
        self._http = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _DlrHandler)
        self._http.records = self.dlrs  # type: ignore[attr-defined]
        self._http.daemon_threads = True
        self._http_thread = threading.Thread(
            target=self._http.serve_forever, kwargs={"poll_interval": 0.1},
            name="smppkit-kannel-dlr", daemon=True,
        )
        self._http_thread.start()
        try:
            self._spawn("bearerbox", self.bearerbox_bin)
            self._wait(lambda: self._status() is not None, "bearerbox's admin page")
            self._spawn("smsbox", self.smsbox_bin)
            self.wait_online()
            self._wait(self._sendsms_up, "smsbox's sendsms port")
        except BaseException:
            self.stop()
            raise
        return self

    def _spawn(self, name: str, binary: str) -> None:
        out = open(self.workdir / f"{name}.stdout", "wb")  # noqa: SIM115 (owned by the child)
        try:
            # -v 2: only warnings on stderr; the log file keeps the full log-level detail
            self._procs[name] = subprocess.Popen(
                [binary, "-v", "2", str(self.config_path)],
                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                cwd=self.workdir,
            )
        finally:
            out.close()

    def _wait(self, ready: Any, what: str, timeout: float | None = None) -> None:
        deadline = time.monotonic() + (timeout or self.start_timeout)
        while time.monotonic() < deadline:
            for name, proc in self._procs.items():
                if proc.poll() is not None:
                    raise RuntimeError(
                        f"{name} exited with status {proc.returncode} while waiting for {what}:\n"
                        + self._tail(name)
                    )
            if ready():
                return
            time.sleep(0.1)
        raise TimeoutError(f"timed out after {timeout or self.start_timeout:g} s waiting for {what}:\n"
                           + self._tail("bearerbox"))

    def _tail(self, name: str, lines: int = 15) -> str:
        texts = []
        for path in (self.workdir / f"{name}.stdout", self.workdir / f"{name}.log"):
            if path.exists():
                texts += path.read_text(errors="replace").splitlines()[-lines:]
        return "\n".join(texts)

    def _status(self, kind: str = "txt") -> str | None:
        url = f"http://127.0.0.1:{self.admin_port}/status.{kind}?password={self.admin_password}"
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                return resp.read().decode("utf-8", "replace")
        except OSError:
            return None

    def status(self) -> str:
        """bearerbox's /status.txt ("" when it does not answer)."""
        return self._status() or ""

    def links(self) -> dict[str, str]:
        """``{link: state}`` from /status.xml: "online", "connecting", "re-connecting", ...

        A link is named by its smsc-admin-id (the `smscs` key), else its smsc-id.
        """
        xml = self._status("xml") or ""
        out = {}
        for block in re.findall(r"<smsc>(.*?)</smsc>", xml, re.S):
            sid = re.search(r"<admin-id>(.+?)</admin-id>", block) or re.search(r"<id>(.*?)</id>", block)
            state = re.search(r"<status>(.*?)</status>", block)
            if sid and state:
                out[sid.group(1)] = state.group(1).split()[0]
        return out

    def wait_online(self, timeout: float | None = None) -> None:
        """Block until every SMPP link is online (bound).

        Raises:
            TimeoutError: not within `timeout` (default `start_timeout`).
        """
        def online() -> bool:
            links = self.links()
            return all(links.get(name) == "online" for name in self.smscs)

        self._wait(online, f"SMPP links {', '.join(self.smscs)} online", timeout)

    def _sendsms_up(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.sendsms_port), timeout=1):
                return True
        except OSError:
            return False

    def stop(self) -> dict[str, int | None]:
        """Stop smsbox, then bearerbox, by PID: SIGTERM, then SIGKILL after `stop_timeout`.

        Returns:
            ``{name: exit status}``; a negative status is the signal that ended it
            (-9: it had to be killed, which happens when the SMSC does not answer unbind).
        """
        codes: dict[str, int | None] = {}
        for name in ("smsbox", "bearerbox"):
            proc = self._procs.pop(name, None)
            if proc is None:
                continue
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(self.stop_timeout)
                except subprocess.TimeoutExpired:
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(proc.pid, signal.SIGKILL)
                    proc.wait(5)
            codes[name] = proc.returncode
        if self._http is not None:
            self._http.shutdown()
            self._http.server_close()
            self._http = None
        if self._own_dir and not self.keep:
            shutil.rmtree(self.workdir, ignore_errors=True)
        return codes

    def __enter__(self) -> KannelLab:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def pids(self) -> dict[str, int]:
        return {name: p.pid for name, p in self._procs.items() if p.poll() is None}

    # -- sending --
    @property
    def dlr_base(self) -> str:
        assert self._http is not None, "start() first"
        return f"http://127.0.0.1:{self._http.server_address[1]}/dlr"

    def dlr_url(self, label: str) -> str:
        """The dlr-url for one message: every `DLR_URL_FIELDS` escape plus its label."""
        fields = "&".join(f"{k}={v}" for k, v in DLR_URL_FIELDS.items())
        return f"{self.dlr_base}?label={urllib.parse.quote(label)}&{fields}"

    def send(
        self,
        to: str,
        text: str,
        *,
        dlr_mask: int | None = 31,
        from_: str = "smppkit",
        charset: str | None = "UTF-8",
        label: str | None = None,
        smsc: str | None = None,
        timeout: float = 10.0,
        **extra: object,
    ) -> SentMessage:
        """Send one text through smsbox's sendsms, with a dlr-url back to this lab.

        Args:
            to: receiver; the simulator's test numbers 447700900000..9 choose the outcome.
            text: the message; over 160 characters it goes out as a concatenated message.
            dlr_mask: Kannel dlr-mask; None sends no dlr-mask (and no dlr-url).
            label: correlates callbacks with this send (``label`` in `dlrs`); default "m1", ...
            Others: as in `sendsms_url`.

        Returns:
            A `SentMessage`; ``status`` 202 and body "0: Accepted for delivery" mean queued.
        """
        with self._lock:
            self._labels += 1
            label = label or f"m{self._labels}"
        url = sendsms_url(
            to, text, base=f"http://127.0.0.1:{self.sendsms_port}",
            username=self.sendsms_username, password=self.sendsms_password,
            from_=from_, charset=charset, dlr_mask=dlr_mask,
            dlr_url=self.dlr_url(label) if dlr_mask else None, smsc=smsc, **extra,
        )
        try:
            with urllib.request.urlopen(url, timeout=timeout) as resp:
                status, body = resp.status, resp.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as exc:
            status, body = exc.code, exc.read().decode("utf-8", "replace")
        sent = SentMessage(label, to, text, dlr_mask, url, status, body.strip())
        self.sent.append(sent)
        return sent

    def wait_for_dlrs(self, n: int = 1, timeout: float = 10.0, **match: str) -> list[dict[str, Any]]:
        """Wait until at least `n` callbacks match `match` (e.g. ``label="m1", d="1"``).

        Returns:
            The matching callbacks so far (possibly fewer than `n` after `timeout`).
        """
        deadline = time.monotonic() + timeout
        while True:
            got = [r for r in list(self.dlrs) if all(r.get(k) == v for k, v in match.items())]
            if len(got) >= n or time.monotonic() >= deadline:
                return got
            time.sleep(0.05)

    def dlr_frame(self) -> Any:
        """The dlr-url callbacks as a DataFrame: received, label and the `DLR_URL_FIELDS` keys."""
        import pandas as pd

        columns = ["received", "label", *DLR_URL_FIELDS]
        frame = pd.DataFrame(list(self.dlrs), columns=columns)
        frame["d"] = pd.to_numeric(frame["d"], errors="coerce").astype("Int64")
        return frame

    def receipts(self) -> Any:
        """The dlr-url callbacks with stable columns only, sorted -- for notebooks and reports.

        No ports, times or ids: ``label``, ``to`` (the receiver, Kannel's %p), ``dlr_mask``
        (of the send), ``d`` (Int64), ``dlr`` (`dlr_type_name` of d) and ``report``: "stat:X
        err:N" of a handset receipt, or the SMSC reply "ACK/" / "NACK/0x.../text". Rows are
        in send order, then SMSC replies, intermediate receipts, final receipts -- not in
        arrival order, which two links and a threaded listener make vary.
        """
        import pandas as pd

        order = {s.label: i for i, s in enumerate(self.sent)}
        masks = {s.label: s.dlr_mask for s in self.sent}
        rows = []
        for r in list(self.dlrs):
            raw = str(r.get("d", ""))
            d = int(raw) if raw.isdigit() else None
            text = r.get("A", "")
            stat, err = re.search(r"stat:(\S+)", text), re.search(r"err:(\S+)", text)
            report = f"stat:{stat.group(1)} err:{err.group(1) if err else '?'}" if stat else text
            phase = 3 if d is None else 0 if d & (8 | 16) else 1 if d & 4 else 2
            rows.append(((order.get(r.get("label"), len(order)), phase, d or 0, report), {
                "label": r.get("label"), "to": r.get("p"), "dlr_mask": masks.get(r.get("label")),
                "d": d, "dlr": dlr_type_name(d), "report": report,
            }))
        rows.sort(key=lambda row: row[0])
        columns = ["label", "to", "dlr_mask", "d", "dlr", "report"]
        frame = pd.DataFrame([row for _, row in rows], columns=columns)
        for column in ("dlr_mask", "d"):
            frame[column] = frame[column].astype("Int64")
        return frame

    def log_lines(self, *needles: str, which: str = "bearerbox") -> list[str]:
        """Lines of a log that contain any of `needles` (all lines if none), without the
        ``date time [pid] [thread]`` prefix: "WARNING: DLR[internal]: DLR from ... not found."."""
        lines = []
        for line in self.log_text(which).splitlines():
            if not needles or any(n in line for n in needles):
                lines.append(LOG_PREFIX.sub("", line))
        return lines

    def wait_for_log(self, *needles: str, n: int = 1, timeout: float = 10.0,
                     which: str = "bearerbox") -> list[str]:
        """Wait until at least `n` lines contain one of `needles`; return them (maybe fewer
        after `timeout`). Kannel logs as it goes, so this is how to wait for a receipt that
        produces no callback (dlr-mask drops it, or it is "not found")."""
        deadline = time.monotonic() + timeout
        while True:
            got = self.log_lines(*needles, which=which)
            if len(got) >= n or time.monotonic() >= deadline:
                return got
            time.sleep(0.05)

    def dlr_lookups(self) -> Any:
        """`dlr_lookups` of this lab's bearerbox.log (needs log_level 0, the lab's default)."""
        from smppkit.kannel.logs import read_bearerbox_log

        events, _ = read_bearerbox_log(self.bearerbox_log)
        return dlr_lookups(events)

    @property
    def sendsms_base(self) -> str:
        """scheme://host:port of this lab's sendsms interface."""
        return f"http://127.0.0.1:{self.sendsms_port}"

    def test_url(self, to: str = "447700900000", text: str = "Hello World", *, dlr_mask: int = 17,
                 label: str = "test") -> str:
        """The source document's test URL for this lab, with a dlr-url back to its listener.

        Defaults as in the document (``dlr-mask=17``, ``from=test``, ISO-8859-1); the
        receiver is the simulator's "delivered" test number.
        """
        return sendsms_url(
            to, text, base=self.sendsms_base, username=self.sendsms_username,
            password=self.sendsms_password, dlr_mask=dlr_mask, dlr_url=self.dlr_url(label),
        )

    def events(self) -> tuple[list[dict[str, Any]], list[tuple[int, str]]]:
        """bearerbox.log + access.log read by `smppkit.kannel_logs.read_kannel_logs`."""
        from smppkit.kannel.logs import read_kannel_logs

        return read_kannel_logs(self.bearerbox_log, self.access_log)

    def log_text(self, which: str = "bearerbox") -> str:
        """The text of "bearerbox", "smsbox", "access" or "smsbox-access" log ("" if absent)."""
        path = {
            "bearerbox": self.bearerbox_log, "smsbox": self.smsbox_log,
            "access": self.access_log, "smsbox-access": self.smsbox_access_log,
        }[which]
        return path.read_text(errors="replace") if path.exists() else ""


def run(target: Any, **options: Any) -> KannelLab:
    """Start a `KannelLab` against `target` (a simulator handle or ``{smsc-id: "host:port"}``).

    Stop it with ``lab.stop()`` or use it in a ``with`` block. See `KannelLab` for options.
    """
    return KannelLab(target, **options).start()


# -- command line: smppkit kannel config|check|run --------------------------------------------


def _credentials(spec: str) -> tuple[str, str]:
    """"SYSTEM_ID:PASSWORD"; without ":PASSWORD" the password is asked for (not echoed), which
    keeps it out of the shell history and the process list."""
    system_id, sep, password = spec.partition(":")
    if not system_id:
        raise ValueError(f"--real-credentials wants SYSTEM_ID:PASSWORD, got {spec!r}")
    if not sep:
        import getpass

        password = getpass.getpass(f"SMPP password for {system_id}: ")
    return system_id, password


def _msg_id_type(raw: str) -> int | None | str:
    if raw in ("auto", "unset"):
        return None if raw == "unset" else "auto"
    try:
        return int(raw, 0)
    except ValueError:
        raise ValueError(f"--msg-id-type must be 0-3, 'unset' or 'auto'; got {raw!r}") from None


def _build_cli(parser: Any) -> None:
    sub = parser.add_subparsers(dest="kannel_command", required=True, metavar="{config,check,run}")

    config = sub.add_parser("config", help="print a generated kannel.conf for the provider setup")
    config.add_argument("--id-format", choices=tuple(MSG_ID_TYPE_FOR), default="nexmo",
                        help="how the SMSC writes ids; picks msg-id-type (default nexmo: hex resp, "
                        "decimal receipt -> 0x01)")
    config.add_argument("--real-credentials", metavar="SYSTEM_ID[:PASSWORD]",
                        help="your SMPP account instead of $nexmo_user/$nexmo_password "
                        "(without :PASSWORD it is asked for)")
    config.add_argument("--smsc", action="append", metavar="NAME=HOST:PORT",
                        help="one SMPP link (repeatable; default SMPP1 and SMPP2 of the provider)")
    config.add_argument("--msg-id-type", default="auto", metavar="0-3|unset|auto")
    config.add_argument("--allow-ip", action="append", metavar="IP",
                        help="admin/box/user allow-ip entry (repeatable; default 127.0.0.1)")
    config.add_argument("--throughput", type=float, default=15.0,
                        help="messages/s per link, 0 for none (default 15: two links = 30/s)")
    config.add_argument("--account-throughput", type=float, default=30.0, help="quoted in comments")
    config.add_argument("-o", "--output", metavar="FILE", help="write FILE (mode 0600) instead of stdout")

    check = sub.add_parser("check", help="list the pitfalls of a kannel.conf (exit 1 on errors)")
    check.add_argument("file", help="the kannel.conf to read")
    check.add_argument("--account-throughput", type=float, default=30.0, metavar="MSG_PER_S")
    check.add_argument("--id-format", choices=(*MSG_ID_TYPE_FOR, "string"), default="nexmo")
    check.add_argument("--remote-host", action="append", default=[], metavar="IP",
                       help="a host that must reach the admin page, bearerbox and sendsms")
    check.add_argument("--url", action="append", default=[], metavar="SENDSMS_URL",
                       help="a sendsms URL you use (its dlr-mask is checked)")
    check.add_argument("--no-long-texts", action="store_true", help="you never send over 160 characters")

    run_ = sub.add_parser("run", help="simulator + bearerbox + smsbox in the foreground until Ctrl-C")
    run_.add_argument("--seed", type=int, default=7)
    run_.add_argument("--dlr-delay", type=float, default=0.5, metavar="SECONDS")
    run_.add_argument("--id-format", choices=tuple(MSG_ID_TYPE_FOR), default="nexmo")
    run_.add_argument("--msg-id-type", default="auto", metavar="0-3|unset|auto")
    run_.add_argument("--throughput", type=float, default=10.0, help="messages/s per link, 0 for none")
    run_.add_argument("--log-level", type=int, default=0, choices=range(5),
                      help="Kannel log-level (0 dumps every PDU -- and the bind password)")
    run_.add_argument("--keep", action="store_true", help="keep the work directory (config and logs)")


def _cli_config(args: Any) -> int:
    import sys

    options: dict[str, Any] = {
        "id_format": args.id_format,
        "msg_id_type": _msg_id_type(args.msg_id_type),
        "throughput": args.throughput or None,
        "account_throughput": args.account_throughput,
    }
    if args.real_credentials:
        options["system_id"], options["password"] = _credentials(args.real_credentials)
    if args.allow_ip:
        options["allow_ips"] = tuple(args.allow_ip)
    smscs = None
    if args.smsc:
        smscs = {}
        for spec in args.smsc:
            name, sep, address = spec.partition("=")
            if not (name and sep and re.fullmatch(r".+:\d+", address)):
                raise ValueError(f"--smsc wants NAME=HOST:PORT, got {spec!r}")
            smscs[name] = address
    text = generate_config(smscs, **options)
    if args.output:
        fd = os.open(args.output, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
        print(f"wrote {args.output} (mode 0600: it holds the SMPP password)", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


def _cli_check(args: Any) -> int:
    if not Path(args.file).is_file():
        raise ValueError(f"no such file: {args.file}")
    findings = check_config(
        Path(args.file), args.account_throughput, id_format=args.id_format,
        remote_hosts=args.remote_host, urls=args.url, long_texts=not args.no_long_texts,
    )
    for f in findings:  # a config pitfall: its line(s) are the evidence
        print(f"[{f.severity}] {f.problem}\n  evidence: {f.evidence}\n  fix: {f.fix}")
    counts = {s: sum(f.severity == s for f in findings) for s in ("error", "warning", "info")}
    summary = ", ".join(f"{n} {s}{'s' if n != 1 else ''}" for s, n in counts.items() if n)
    print(f"{args.file}: {summary or 'no findings'}")
    return 1 if counts["error"] else 0


def _cli_run(args: Any) -> int:
    from smppkit import simulator

    stop = threading.Event()
    previous = {}
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(ValueError):  # not the main thread: no signals to catch
            previous[sig] = signal.signal(sig, lambda *_: stop.set())
    try:
        with simulator.start(seed=args.seed, dlr_delay=args.dlr_delay, id_format=args.id_format) as sim:
            lab = KannelLab(sim, msg_id_type=_msg_id_type(args.msg_id_type),
                            throughput=args.throughput or None, log_level=args.log_level, keep=args.keep)
            try:
                lab.start()
            except (RuntimeError, TimeoutError) as exc:
                print(f"smppkit kannel run: Kannel did not start: {exc}", flush=True)
                return 1
            try:
                _announce(lab, sim)
                seen = 0
                while not stop.wait(0.2):
                    records = list(lab.dlrs)
                    for r in records[seen:]:
                        d = int(r["d"]) if str(r.get("d", "")).isdigit() else None
                        print(f"dlr-url: label={r.get('label')} d={r.get('d')} ({dlr_type_name(d)}) "
                              f"to={r.get('p')} {r.get('A')}", flush=True)
                    seen = len(records)
            finally:
                pids = dict(lab.pids)
                codes = lab.stop()
            done = ", ".join(f"{name} (pid {pids.get(name, '?')}, exit {code})" for name, code in codes.items())
            print(f"stopped {done}; then the simulator", flush=True)
            if args.keep:
                print(f"kept {lab.workdir}", flush=True)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0


def _announce(lab: KannelLab, sim: Any) -> None:
    links = ", ".join(f"{name} {state}" for name, state in lab.links().items())
    lines = [
        "simulator: " + ", ".join(f"{n} {a}" for n, a in sim.addresses.items())
        + f" (account {lab.system_id})",
        f"bearerbox pid {lab.pids.get('bearerbox')}, smsbox pid {lab.pids.get('smsbox')}; links: {links}",
        f"config and logs: {lab.workdir}",
        f"admin status: http://127.0.0.1:{lab.admin_port}/status.txt?password={lab.admin_password}",
        f"dlr-url listener: {lab.dlr_base}",
        "the source document's test URL (dlr-mask=17):",
        f"  {lab.test_url()}",
        "a failure receipt: to=447700900001 (dropped by dlr-mask 17, reported with 19 or 31)",
        "Ctrl-C or SIGTERM stops smsbox, bearerbox and the simulator.",
    ]
    print("\n".join(lines), flush=True)


def _cli(args: Any) -> int:
    import sys

    handler = {"config": _cli_config, "check": _cli_check, "run": _cli_run}[args.kannel_command]
    try:
        return handler(args)
    except KannelNotInstalled as exc:
        print(f"smppkit kannel {args.kannel_command}: {exc}", file=sys.stderr)
        return 2
    except (ValueError, OSError) as exc:
        print(f"smppkit kannel {args.kannel_command}: {exc}", file=sys.stderr)
        return 2


def register_cli(register: Any) -> None:
    """Add ``smppkit kannel config|check|run`` (called by `smppkit.cli`)."""
    register("kannel", "generate, check and run a kannel.conf against the simulator", _build_cli, _cli)
