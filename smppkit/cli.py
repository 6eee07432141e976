"""The `smppkit` command line: `smppkit sim`, and the diagnostics sub-commands.

Each sub-command is a thin shell over a package function, so everything it does can be
done (and is tested) from Python too.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import importlib
import signal
import sys
from collections.abc import Callable, Sequence

__all__ = ["main"]

_COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {}


def _command(name: str) -> Callable[[Callable[[argparse.Namespace], int]], Callable[[argparse.Namespace], int]]:
    def wrap(fn: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
        _COMMANDS[name] = fn
        return fn

    return wrap


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Descriptions as written (line breaks kept) and every option's default shown."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if "default" in text.lower() or action.default in (None, argparse.SUPPRESS) or (
            action.default is False) or (
            not action.option_strings and action.nargs in ("+", "*", None)
        ):
            return text
        return f"{text} (default: %(default)s)".lstrip()


def _describe(parser: argparse.ArgumentParser) -> None:
    """Every (sub-)parser: the shared formatter, a description (its one-line help when it has
    none) and a help line on options that have a default but no help, so the default shows."""
    parser.formatter_class = _HelpFormatter
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {a.dest: a.help for a in action._choices_actions}
            for name, child in action.choices.items():
                if not child.description and helps.get(name):
                    child.description = helps[name][0].upper() + helps[name][1:] + "."
                _describe(child)
        elif action.help is None and action.option_strings and not (
                action.default is None or action.default is False):
            action.help = "default: %(default)s"


def _scenario_list() -> str:
    from smppkit.simulator import BUILTIN_SCENARIOS

    width = max(len(name) for name in BUILTIN_SCENARIOS)
    return "\n".join(f"  {name:<{width}}  {s.description}" for name, s in BUILTIN_SCENARIOS.items())


_SIM_DESCRIPTION = """\
Run the SMSC simulator in the foreground until Ctrl-C or SIGTERM (clients are unbound first).
Profile nexmo: SMPP1 and SMPP2 share one message store, SMPP0 stands alone, on --port and
the next two ports.

The clock is fixed: it starts at {epoch} every run, so receipt dates
(submit date, done date) and trace timestamps repeat run to run and match the notebooks.
--wall-clock uses real time instead.
"""


def _parser() -> argparse.ArgumentParser:
    from smppkit import __version__
    from smppkit.simulator import DEFAULT_EPOCH

    parser = argparse.ArgumentParser(prog="smppkit", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"smppkit {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    sim = sub.add_parser(
        "sim", help="run the SMSC simulator in the foreground",
        description=_SIM_DESCRIPTION.format(epoch=f"{DEFAULT_EPOCH:%Y-%m-%d %H:%M:%S} UTC"),
        epilog="built-in scenarios (--scenario NAME, or NAME+NAME to combine):\n" + _scenario_list(),
    )
    sim.add_argument("--host", default="127.0.0.1", help="address to listen on")
    sim.add_argument("--port", type=int, default=2775, help="SMPP1's port; SMPP2 and SMPP0 take the next two")
    sim.add_argument("--profile", default="nexmo", help="nexmo (SMPP1+SMPP2 cluster, SMPP0) or single")
    sim.add_argument("--account", action="append", metavar="SYSTEM_ID:PASSWORD",
                     help="an account (repeatable; default smppkit:secret)")
    sim.add_argument("--seed", type=int, default=0, help="makes ids, outcomes and delays reproducible")
    sim.add_argument("--trace", metavar="FILE.jsonl", help="write every PDU as a JSON line")
    sim.add_argument("--dlr-delay", type=float, default=1.0, metavar="SECONDS", help="mean submit-to-receipt delay")
    sim.add_argument("--throughput", type=float, default=30.0, metavar="MSG_PER_S",
                     help="per account; 0 turns throttling off")
    sim.add_argument("--max-binds", type=int, default=2, help="per account across the cluster")
    sim.add_argument("--max-pending", type=int, default=None,
                     help="messages in flight before ESME_RMSGQFUL (default: no limit)")
    sim.add_argument("--id-format", choices=("nexmo", "hex", "decimal"), default="nexmo",
                     help="nexmo: hex id in submit_sm_resp, the same number in decimal in the receipt")
    sim.add_argument("--scenario", metavar="NAME_OR_FILE",
                     help="built-in fault scenario (listed below) or a YAML/JSON file (default: healthy)")
    sim.add_argument("--tls", action="store_true", help="also listen with TLS (self-signed unless --tls-cert)")
    sim.add_argument("--tls-only", action="store_true", help="listen with TLS only, on --port and the next two")
    sim.add_argument("--tls-cert", help="PEM certificate for --tls")
    sim.add_argument("--tls-key", help="PEM private key for --tls")
    _guard_arguments(sim.add_argument_group("timeouts and limits (0 turns one off)"))
    _store_arguments(sim.add_argument_group("receipts, outbind and alert_notification"))
    sim.add_argument("--wall-clock", action="store_true",
                     help="use real time, not the fixed clock that starts at the same instant every run")
    sim.add_argument("--no-trace-memory", action="store_true", help="keep no events in memory (long runs)")
    sim.add_argument("--mo", metavar="FILE",
                     help="MO messages to send to the (first) account, one a line: SOURCE DESTINATION TEXT; "
                          "held until the account has a receiving bind, long texts in parts")
    sim.add_argument("--http", type=int, metavar="PORT",
                     help="serve a live view of the counters on http://HOST:PORT/ and Prometheus "
                          "metrics on /metrics (default: off)")

    for name, helper in _EXTRA_PARSERS.items():
        helper(sub.add_parser(name, help=_EXTRA_HELP[name]))
    _describe(parser)
    return parser


#: (option, SimConfig field, type, metavar, help): each default is the SimConfig one.
_GUARD_OPTIONS: tuple[tuple[str, str, type, str, str], ...] = (
    ("--bind-timeout", "bind_timeout", float, "SECONDS", "a connection not bound by then is closed"),
    ("--pdu-timeout", "pdu_timeout", float, "SECONDS", "a PDU whose first octets came must be whole by then"),
    ("--inactivity-timeout", "inactivity_timeout", float, "SECONDS",
     "no whole PDU from the ESME for that long: the SMSC unbinds (octets of a PDU do not count)"),
    ("--enquire-link-interval", "enquire_link_interval", float, "SECONDS",
     "the SMSC sends enquire_link on a session idle that long; 0: it sends none "
     "(default: the profile's, 60)"),
    ("--enquire-link-timeout", "enquire_link_timeout", float, "SECONDS",
     "no enquire_link_resp by then: the SMSC unbinds"),
    ("--max-connections", "max_connections", int, "N", "connections open at once; more are closed at once"),
    ("--max-connections-per-address", "max_connections_per_address", int, "N",
     "connections open at once from one source address"),
    ("--max-command-length", "max_command_length", int, "OCTETS",
     "the largest PDU, and what one connection may hold unread; above it generic_nack "
     "ESME_RINVCMDLEN and close"),
    ("--read-chunk", "read_chunk", int, "OCTETS", "read from one connection per loop turn (fairness)"),
    ("--max-pdus-per-turn", "max_pdus_per_turn", int, "N",
     "PDUs handled from one connection per loop turn; the rest wait unread (fairness)"),
    ("--write-high-water", "write_high_water", int, "OCTETS",
     "unsent output above which a connection is not read, and gets no receipts, until it drains"),
    ("--bind-failure-limit", "bind_failure_limit", int, "N",
     "failed binds in a row from one address before its binds are refused"),
    ("--bind-lockout", "bind_lockout", float, "SECONDS", "how long those binds are refused (ESME_RBINDFAIL)"),
)


def _guard_arguments(group: argparse._ArgumentGroup) -> None:
    from smppkit.simulator.config import SimConfig

    for option, field, kind, metavar, text in _GUARD_OPTIONS:
        default = getattr(SimConfig, field)
        shown = "" if default is None else " (default %(default)s)"
        group.add_argument(option, dest=field, type=kind, default=default, metavar=metavar,
                           help=text + shown)


def _guard_config(args: argparse.Namespace) -> dict[str, object]:
    """The timeouts and limits given on the command line; 0 turns one off (None)."""
    out: dict[str, object] = {}
    for option, field, _kind, _metavar, _text in _GUARD_OPTIONS:
        value = getattr(args, field)
        if value is not None and value < 0:
            raise ValueError(f"{option} must be 0 (off) or more, got {value:g}")
        if field == "enquire_link_interval" and value == 0:
            out["enquire_link"] = False
        elif field in ("max_command_length", "read_chunk", "max_pdus_per_turn", "write_high_water",
                       "enquire_link_timeout", "bind_lockout"):
            out[field] = value  # a limit that cannot be off: check_limits explains a 0
        else:
            out[field] = value or None
    return out


#: (option, SimConfig field, type, metavar, help): options that have no "off"; each
#: default is the SimConfig one.
_STORE_OPTIONS: tuple[tuple[str, str, type, str | None, str], ...] = (
    ("--max-stored-receipts", "max_stored_receipts", int, "N",
     "receipts held at once (waiting, in flight, awaiting a resend); when full, submits get "
     "ESME_RMSGQFUL"),
    ("--deliver-timeout", "deliver_timeout", float, "SECONDS",
     "a deliver_sm unanswered that long is sent again"),
    ("--retry-delay", "retry_delay", float, "SECONDS",
     "first back-off before a receipt is sent again (doubles, at most 60 s)"),
    ("--default-validity", "default_validity", float, "SECONDS",
     "how long a message and its receipt live when the submit gives no validity_period"),
    ("--failure-rate", "failure_rate", float, "SHARE",
     "share (0-1) of ordinary numbers whose message does not end DELIVRD"),
    ("--outbind", "outbind", str, "HOST:PORT",
     "outbind (§4.1.7) to the ESME listening there: at start, and again (at most every 5 s) "
     "while receipts wait and the account has no receiving bind (default: off)"),
    ("--outbind-account", "outbind_account", str, "SYSTEM_ID",
     "the account the outbind names (default: the first --account)"),
    ("--outbind-instance", "outbind_instance", str, "NAME",
     "the instance that outbinds (default: the profile's first, SMPP1 or SMPP0)"),
    ("--alert-delay", "alert_delay", float, "SECONDS",
     "with --alert-notification: how long after an absent-subscriber failure"),
)


def _store_arguments(group: argparse._ArgumentGroup) -> None:
    from smppkit.simulator.config import SimConfig

    for option, field, kind, metavar, text in _STORE_OPTIONS:
        default = getattr(SimConfig, field)
        shown = "" if default is None else " (default %(default)s)"
        group.add_argument(option, dest=field, type=kind, default=default, metavar=metavar,
                           help=text + shown)
    group.add_argument("--alert-notification", action="store_true",
                       help="send alert_notification (§4.12) when a subscriber that was absent "
                            "(EXPIRED, err 002) is reachable again, unless the submit's set_dpf "
                            "was 0 (default: off)")


def _store_config(args: argparse.Namespace) -> dict[str, object]:
    """The receipt-store, outbind and alert options given on the command line."""
    out: dict[str, object] = {field: getattr(args, field) for _, field, *_ in _STORE_OPTIONS}
    out["alert_notification"] = args.alert_notification
    for name in ("max_stored_receipts", "deliver_timeout", "default_validity"):
        if out[name] <= 0:  # type: ignore[operator]
            raise ValueError(f"--{name.replace('_', '-')} must be above 0, got {out[name]}")
    if out["retry_delay"] < 0 or out["alert_delay"] < 0:  # type: ignore[operator]
        raise ValueError("--retry-delay and --alert-delay must be 0 or more")
    if not 0 <= out["failure_rate"] <= 1:  # type: ignore[operator]
        raise ValueError(f"--failure-rate must be between 0 and 1, got {out['failure_rate']}")
    return out


_EXTRA_PARSERS: dict[str, Callable[[argparse.ArgumentParser], None]] = {}
_EXTRA_HELP: dict[str, str] = {}


@_command("sim")
def _sim(args: argparse.Namespace) -> int:
    from smppkit.simulator import Account, SimConfig, Simulator

    limits = {
        "throughput": args.throughput or None,
        "max_binds": args.max_binds,
        "max_pending": args.max_pending,
    }
    specs = args.account or ["smppkit:secret"]
    try:
        accounts = tuple(Account.parse(a, **limits) for a in specs)
        config = SimConfig(
            host=args.host, port=args.port, profile=args.profile, accounts=accounts,
            seed=args.seed, dlr_delay=args.dlr_delay, id_format=args.id_format,
            scenario=args.scenario, trace_path=args.trace,
            tls=args.tls, tls_only=args.tls_only, tls_cert=args.tls_cert, tls_key=args.tls_key,
            epoch=None if args.wall_clock else SimConfig.epoch,
            trace_memory=0 if args.no_trace_memory else 10_000,
            **_guard_config(args),  # type: ignore[arg-type]
            **_store_config(args),  # type: ignore[arg-type]
        )
        sim = Simulator(config)
        mo = _read_mo_file(args.mo) if args.mo else []
    except (ValueError, TypeError, OSError) as exc:
        print(f"smppkit sim: {exc}", file=sys.stderr)
        return 2
    _allow_descriptors(config.max_connections)
    return asyncio.run(_serve(sim, args.http, mo))


def _allow_descriptors(connections: int | None) -> None:
    """Raise this process's open-file limit (up to the hard one) so `max_connections`
    sockets fit; many systems start at 1,024."""
    with contextlib.suppress(ImportError, ValueError, OSError):
        import resource

        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        wanted = (connections or 4096) + 64  # listeners, trace file, the live view
        if soft != resource.RLIM_INFINITY and soft < wanted:
            top = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
            resource.setrlimit(resource.RLIMIT_NOFILE, (top, hard))


def _read_mo_file(path: str) -> list[tuple[str, str, str]]:
    """(source, destination, text) per line of an --mo file; blank and # lines skipped."""
    messages = []
    with open(path, encoding="utf-8") as fh:
        for number, line in enumerate(fh, 1):
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            fields = line.rstrip("\n").split(None, 2)
            if len(fields) < 3:
                raise ValueError(f"{path} line {number}: expected SOURCE DESTINATION TEXT, got {line.strip()!r}")
            messages.append((fields[0], fields[1], fields[2]))
    return messages


def _describe_setup(sim: object) -> list[str]:
    """The lines `smppkit sim` prints after its listening lines: accounts and the clock."""
    from smppkit.simulator import Account, Simulator

    assert isinstance(sim, Simulator)
    lines = []
    demo = Account()
    for a in sim.config.accounts:
        rate = f"{a.throughput:g} msg/s" if a.throughput else "no throughput limit"
        if (a.system_id, a.password) == (demo.system_id, demo.password):
            # the simulator's own demo account: not a secret of the user, and what a first bind needs
            lines.append(f"account {a.system_id} (password {a.password}, the simulator's built-in demo "
                         f"account): {rate}, {a.max_binds} binds")
        else:
            lines.append(f"account {a.system_id} (password {'*' * 6}): {rate}, {a.max_binds} binds")
    cfg = sim.config

    def limit(value: object, unit: str = "") -> str:
        return "off" if value is None else f"{value:g}{unit}" if isinstance(value, float) else f"{value}{unit}"

    lines.append(f"guards: bind within {limit(cfg.bind_timeout, ' s')}, a PDU within "
                 f"{limit(cfg.pdu_timeout, ' s')}, idle {limit(cfg.inactivity_timeout, ' s')}, "
                 f"{limit(cfg.max_connections_per_address)} connections per address, "
                 f"{limit(cfg.max_connections)} in all (see --help)")
    epoch = sim.config.epoch
    if epoch is None:
        lines.append("clock: wall clock (real time)")
    else:
        lines.append(f"clock: fixed, starts at {epoch:%Y-%m-%d %H:%M:%S} UTC every run "
                     "(--wall-clock for real time)")
    return lines


async def _serve(sim: object, http_port: int | None = None,
                 mo: list[tuple[str, str, str]] | None = None) -> int:
    from smppkit.simulator import Simulator

    assert isinstance(sim, Simulator)
    try:
        await sim.serve()
    except OSError as exc:
        print(f"smppkit sim: cannot listen: {exc}", file=sys.stderr)
        return 1
    # Ctrl-C and SIGTERM unbind the clients and stop; from before the first line is printed,
    # so whoever reads "listening" may stop us at once.
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    live = None
    if http_port is not None:
        from smppkit.simulator.live import LiveServer

        try:
            live = await LiveServer.for_simulator(sim, http_port, sim.config.host).start()
        except OSError as exc:
            print(f"smppkit sim: cannot serve the live view: {exc}", file=sys.stderr)
            await sim.close()
            return 1
    for inst in sim.instances.values():
        if inst.port is not None:
            print(f"{inst.name} listening on {sim.config.host}:{inst.port}", flush=True)
        if inst.tls_port:
            print(f"{inst.name} listening with TLS on {sim.config.host}:{inst.tls_port}", flush=True)
    if sim.tls_cert:
        kept = "" if sim.config.tls_cert else " (self-signed, deleted at stop)"
        print(f"TLS certificate: {sim.tls_cert}{kept}", flush=True)
    if live is not None:
        print(f"live view on {live.url} (Prometheus metrics on {live.url}metrics)", flush=True)
    for line in _describe_setup(sim):
        print(line, flush=True)
    account = sim.config.accounts[0].system_id
    for reference, (source, destination, text) in enumerate(mo or [], 1):
        sim.inject(account, sim.mo_pdus(source, destination, text, reference=reference % 256))
    if mo:
        print(f"{len(mo)} MO message(s) from --mo queued for account {account}", flush=True)
    await stop.wait()
    if live is not None:
        await live.close()
    await sim.close()
    counters = sim.snapshot()
    print(f"stopped at {dt.datetime.now():%H:%M:%S}: " + ", ".join(f"{k}={v}" for k, v in sorted(counters.items())), flush=True)
    return 0


def register(name: str, help: str, build: Callable[[argparse.ArgumentParser], None],
             run: Callable[[argparse.Namespace], int]) -> None:
    """Add a sub-command (used by the diagnostics modules)."""
    _EXTRA_PARSERS[name] = build
    _EXTRA_HELP[name] = help
    _COMMANDS[name] = run


def _load_extras() -> None:
    # Sub-commands that live next to the code they run. A module that fails to import is a bug
    # to show, not a sub-command to hide ("invalid choice: 'doctor'").
    for module in ("smppkit.diagnose.doctor", "smppkit.diagnose.report", "smppkit.kannel",
                   "smppkit.diagnose.convert"):
        importlib.import_module(module).register_cli(register)


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] not in _COMMANDS:
        # `smppkit sim` stays lean: pandas and pyarrow (~70 MB) load only for the others
        _load_extras()
    args = _parser().parse_args(argv)
    return _COMMANDS[args.command](args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
