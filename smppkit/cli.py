"""The `smppkit` command line: `smppkit sim`, and the diagnostics sub-commands.

Each sub-command is a thin shell over a package function, so everything it does can be
done (and is tested) from Python too.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
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


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="smppkit", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    sim = sub.add_parser("sim", help="run the SMSC simulator in the foreground")
    sim.add_argument("--host", default="127.0.0.1")
    sim.add_argument("--port", type=int, default=2775, help="SMPP1's port; SMPP2 and SMPP0 take the next two")
    sim.add_argument("--profile", default="nexmo", help="nexmo (SMPP1+SMPP2 cluster, SMPP0) or single")
    sim.add_argument("--account", action="append", metavar="SYSTEM_ID:PASSWORD",
                     help="an account (repeatable; default smppkit:secret)")
    sim.add_argument("--seed", type=int, default=0)
    sim.add_argument("--trace", metavar="FILE.jsonl", help="write every PDU as a JSON line")
    sim.add_argument("--dlr-delay", type=float, default=1.0, metavar="SECONDS", help="mean submit-to-receipt delay")
    sim.add_argument("--throughput", type=float, default=30.0, metavar="MSG_PER_S",
                     help="per account; 0 turns throttling off (default 30)")
    sim.add_argument("--max-binds", type=int, default=2, help="per account across the cluster (default 2)")
    sim.add_argument("--max-pending", type=int, default=None, help="messages in flight before ESME_RMSGQFUL")
    sim.add_argument("--id-format", choices=("nexmo", "hex", "decimal"), default="nexmo")
    sim.add_argument("--scenario", metavar="NAME_OR_FILE", help="built-in fault scenario or a YAML/JSON file")
    sim.add_argument("--inactivity-timeout", type=float, default=None, metavar="SECONDS")
    sim.add_argument("--tls", action="store_true", help="also listen with TLS (self-signed unless --tls-cert)")
    sim.add_argument("--tls-cert")
    sim.add_argument("--tls-key")
    sim.add_argument("--wall-clock", action="store_true", help="use real time, not the fixed epoch")
    sim.add_argument("--no-trace-memory", action="store_true", help="keep no events in memory (long runs)")

    for name, helper in _EXTRA_PARSERS.items():
        helper(sub.add_parser(name, help=_EXTRA_HELP[name]))
    return parser


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
            inactivity_timeout=args.inactivity_timeout, tls=args.tls,
            tls_cert=args.tls_cert, tls_key=args.tls_key,
            epoch=None if args.wall_clock else SimConfig.epoch,
            trace_memory=0 if args.no_trace_memory else 10_000,
        )
        sim = Simulator(config)
    except (ValueError, TypeError) as exc:
        print(f"smppkit sim: {exc}", file=sys.stderr)
        return 2
    return asyncio.run(_serve(sim))


async def _serve(sim: object) -> int:
    from smppkit.simulator import Simulator

    assert isinstance(sim, Simulator)
    try:
        await sim.serve()
    except OSError as exc:
        print(f"smppkit sim: cannot listen: {exc}", file=sys.stderr)
        return 1
    for inst in sim.instances.values():
        print(f"{inst.name} listening on {sim.config.host}:{inst.port}", flush=True)
        if inst.tls_port:
            print(f"{inst.name} listening with TLS on {sim.config.host}:{inst.tls_port}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    await stop.wait()
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
    # Sub-commands that live next to the code they run; each is optional.
    for module in ("smppkit.doctor", "smppkit.report", "smppkit.kannel",
                   "smppkit.diagnose.convert"):
        with contextlib.suppress(ImportError):
            mod = __import__(module, fromlist=["register_cli"])
            if hasattr(mod, "register_cli"):
                mod.register_cli(register)


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] not in _COMMANDS:
        # `smppkit sim` stays lean: pandas and pyarrow (~70 MB) load only for the others
        _load_extras()
    args = _parser().parse_args(argv)
    return _COMMANDS[args.command](args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
