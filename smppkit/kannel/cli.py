"""``smppkit kannel config|check|run``: generate a kannel.conf, check one, run Kannel."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import threading
from pathlib import Path
from typing import Any

from smppkit.kannel.checks import check_config
from smppkit.kannel.config import MSG_ID_TYPE_FOR, generate_config
from smppkit.kannel.dlr import dlr_type_name
from smppkit.kannel.runner import KannelLab, KannelNotInstalled

__all__ = ["register_cli"]


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
