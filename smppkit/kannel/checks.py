"""The pitfalls of a kannel.conf for the provider's setup, as findings.

`check_config` reads any kannel.conf (`smppkit.kannel.config`) and lists what goes wrong
with the provider: msg-id-type unset or wrong for its ids, one account on links with
different smsc-ids, a dlr-mask that drops failure receipts, allow-ip lists that shut a
remote host out, max-messages for long texts, throughput above the account's limit. Each is
a `smppkit.findings.Finding` whose texts are masked: no password leaves this module.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from typing import Any

from smppkit.findings import Finding
from smppkit.kannel.config import MSG_ID_TYPE_FOR, _parse, _read, mask_secrets

__all__ = ["check_config", "findings_frame"]


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
