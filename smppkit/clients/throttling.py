"""The throttle lab: send faster than the account allows and compare back-off policies.

The provider allows 30 submit_sm per second per account and answers the rest with
ESME_RTHROTTLED (0x58); its advice is to slow down and submit again (smpp-facts.md §1.3).
`compare()` sends the same burst with each policy of `smppkit.esme` (fixed pause,
exponential, AIMD) through the same simulator and returns one row per message; the
summary and the plot show how long each took, how often it was throttled, and whether
it settled near the allowed rate.

Timings come from the wall clock, so `summarize` differs a little from run to run.
`outcomes` keeps only what does not depend on timing (was every message accepted in the
end, was the policy throttled at all), and `verdict` compares each run with what the
account's token bucket allows, in bands wide enough that timing noise does not move a
policy from one to the next: both are for checks and for notebooks validated by nbval.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import time
from typing import Any

from smppkit.clients.esme import Aimd, Backoff, Esme, Exponential, FixedPause
from smppkit.protocol.pdus import SubmitSm

__all__ = ["DEFAULT_POLICIES", "compare", "outcomes", "paced", "run_policy", "summarize", "verdict"]


def DEFAULT_POLICIES() -> dict[str, Backoff]:  # noqa: N802  (a factory: fresh state per call)
    """Fresh instances of the three built-in policies."""
    return {
        "fixed pause 1 s": FixedPause(pause=1.0),
        "exponential": Exponential(base=0.05, cap=2.0),
        "AIMD": Aimd(start_rate=100.0, increase=2.0, decrease=0.5),
    }


def paced(rate: float) -> Aimd:
    """A fixed-rate sender with no back-off: `rate` submits per second, whatever the answers.

    An `Aimd` that never increases nor decreases its rate. Below the account's limit it is a
    rate limiter (Kannel's ``throughput`` option); above it, a client that ignores 0x58.
    """
    return Aimd(start_rate=rate, increase=0.0, decrease=1.0, min_rate=rate, max_rate=rate)


async def run_policy(
    host: str,
    port: int,
    policy: Backoff,
    *,
    system_id: str,
    password: str,
    messages: int = 300,
    window: int = 10,
    destination: str = "447700900000",
    max_tries: int = 20,
) -> list[dict[str, Any]]:
    """Send `messages` submits with `policy`; one row per message (seconds from start).

    A message is submitted again after each throttled answer, up to `max_tries` submits
    in all; its row keeps the last answer's command_status (0x58 if it never got through).
    """
    esme = Esme(window=window, backoff=policy, keep_received=False)
    await esme.connect(host, port)
    await esme.bind(system_id, password, "transmitter")
    start = asyncio.get_running_loop().time()
    lanes = asyncio.Semaphore(window)
    pdu = SubmitSm(source_addr="lab", destination_addr=destination, short_message=b"throttle lab")

    async def one(n: int) -> dict[str, Any]:
        async with lanes:
            result = await esme.send(pdu, max_tries=max_tries)
        return {
            "n": n,
            "sent": result.sent_at - start,
            "done": result.done_at - start,
            "tries": result.tries,
            "throttled": result.throttled,
            "command_status": result.command_status,
            "rate": policy.rate,
        }

    rows = await asyncio.gather(*(one(n) for n in range(messages)))
    await esme.close()
    return list(rows)


def compare(
    target: Any,
    policies: dict[str, Backoff] | None = None,
    *,
    messages: int = 300,
    window: int = 10,
    instance: str = "SMPP1",
    pause_between: float = 1.2,
    max_tries: int = 20,
) -> Any:
    """Run every policy against the same SMSC, one after the other; return all rows.

    Args:
        target: a simulator handle or "host:port" (credentials from the handle, else
            smppkit:secret).
        pause_between: seconds to wait before each run, so the account's token bucket
            is full again when the run starts (it refills in one second).
        max_tries: submits per message before giving up (1: never resubmit).

    Returns:
        A DataFrame: policy, n, sent, done, tries, throttled, command_status, rate.
    """
    import pandas as pd

    from smppkit.clients.client import resolve_target

    host, port, system_id, password = resolve_target(target, instance)
    frames = []
    for name, policy in (policies or DEFAULT_POLICIES()).items():
        # the account's limit is shared by every bind: let earlier traffic (an earlier run, or
        # anything sent before this call) drain from the SMSC's bucket, so each run starts alike
        time.sleep(pause_between)
        rows = _run(
            run_policy(host, port, policy, system_id=system_id or "smppkit",
                       password=password or "secret", messages=messages, window=window,
                       max_tries=max_tries)
        )
        frame = pd.DataFrame(rows)
        frame.insert(0, "policy", name)
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def _run(coro: Any) -> Any:
    """asyncio.run(coro), in a worker thread when this thread already runs an event loop
    (a Jupyter kernel does: asyncio.run would refuse)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    with concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="smppkit-throttle") as pool:
        return pool.submit(asyncio.run, coro).result()


def summarize(rows: Any, limit: float | None = None) -> Any:
    """Per policy: duration, accepted messages and their rate, throttled answers and their
    share of all submits, worst tries. Wall-clock numbers: they vary between runs.

    Args:
        rows: what `compare` returns.
        limit: the account's msg/s, added as a ``limit_per_s`` column to compare with.
    """
    import pandas as pd

    out = []
    for name, g in rows.groupby("policy", sort=False):
        seconds = float(g["done"].max())
        submits = int(g["tries"].sum())
        throttled = int(g["throttled"].sum())
        accepted = int((g["command_status"] == 0).sum())
        out.append({
            "policy": name,
            "messages": len(g),
            "accepted": accepted,
            "seconds": round(seconds, 2),
            "accepted_per_s": round(accepted / seconds, 1) if seconds else float("nan"),
            "submits": submits,
            "throttled": throttled,
            "throttled_share": round(throttled / submits, 3) if submits else 0.0,
            "max_tries": int(g["tries"].max()),
            **({"limit_per_s": limit} if limit else {}),
        })
    return pd.DataFrame(out)


def outcomes(rows: Any) -> Any:
    """Per policy, the facts of a comparison that do not depend on timing.

    Args:
        rows: what `compare` returns.

    Returns:
        A DataFrame: policy, messages, ``all_accepted`` (every message got ESME_ROK in the
        end) and ``throttled`` (at least one ESME_RTHROTTLED answer on the way).
    """
    import pandas as pd

    g = rows.groupby("policy", sort=False)
    out = pd.DataFrame({
        "messages": g.size(),
        "all_accepted": g["command_status"].agg(lambda s: bool((s == 0).all())),
        "throttled": g["throttled"].agg(lambda s: bool((s > 0).any())),
    })
    return out.reset_index().astype({"all_accepted": bool, "throttled": bool})


def verdict(rows: Any, *, limit: float = 30.0, burst: float = 30.0, tolerance: float = 0.15) -> Any:
    """Per policy, how a run compares with the account's token bucket, in words that do
    not change from run to run.

    A bucket of `burst` tokens refilled at `limit` per second lets at most
    ``burst + limit * seconds`` submits through in `seconds`, and `messages` take at least
    ``(messages - burst) / limit`` seconds (smpp-facts.md §1.3: 30 msg/s per account).

    Args:
        rows: what `compare` returns.
        limit, burst: the account's rate (msg/s) and its bucket (submits).
        tolerance: how close to the bucket's bound counts as "at" it.

    Returns:
        A DataFrame: policy; ``used_the_limit`` (accepted within `tolerance` of what the
        bucket let through during the run: the sender kept the account busy); ``resubmits``
        ("none", "under 1 per message", "1 or more per message"); ``duration`` ("near the
        minimum" up to 1.5 times the bucket's minimum, "over 1.5x the minimum", or "-" when
        messages were lost).
    """
    import pandas as pd

    out = []
    for name, g in rows.groupby("policy", sort=False):
        messages, seconds = len(g), float(g["done"].max())
        accepted = int((g["command_status"] == 0).sum())
        resubmits = int(g["tries"].sum()) - messages
        minimum = max(messages - burst, 0.0) / limit
        if accepted < messages:
            duration = "-"
        elif seconds <= max(1.5 * minimum, 1.0):
            duration = "near the minimum"
        else:
            duration = "over 1.5x the minimum"
        if resubmits == 0:
            again = "none"
        else:
            again = "under 1 per message" if resubmits < messages else "1 or more per message"
        out.append({
            "policy": name,
            "used_the_limit": accepted >= (1 - tolerance) * (burst + limit * seconds),
            "resubmits": again,
            "duration": duration,
        })
    return pd.DataFrame(out)
