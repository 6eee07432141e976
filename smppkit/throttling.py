"""The throttle lab: send faster than the account allows and compare back-off policies.

The provider allows 30 submit_sm per second per account and answers the rest with
ESME_RTHROTTLED (0x58); its advice is to slow down and submit again (smpp-facts.md §1.3).
`compare()` sends the same burst with each policy of `smppkit.esme` (fixed pause,
exponential, AIMD) through the same simulator and returns one row per message; the
summary and the plot show how long each took, how often it was throttled, and whether
it settled near the allowed rate.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from .esme import Aimd, Backoff, Esme, Exponential, FixedPause
from .pdus import SubmitSm

__all__ = ["DEFAULT_POLICIES", "compare", "run_policy", "summarize"]


def DEFAULT_POLICIES() -> dict[str, Backoff]:  # noqa: N802  (a factory: fresh state per call)
    """Fresh instances of the three built-in policies."""
    return {
        "fixed pause 1 s": FixedPause(pause=1.0),
        "exponential": Exponential(base=0.05, cap=2.0),
        "AIMD": Aimd(start_rate=100.0, increase=2.0, decrease=0.5),
    }


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
) -> list[dict[str, Any]]:
    """Send `messages` submits with `policy`; one row per message (seconds from start)."""
    esme = Esme(window=window, backoff=policy, keep_received=False)
    await esme.connect(host, port)
    await esme.bind(system_id, password, "transmitter")
    start = asyncio.get_running_loop().time()
    lanes = asyncio.Semaphore(window)
    pdu = SubmitSm(source_addr="lab", destination_addr=destination, short_message=b"throttle lab")

    async def one(n: int) -> dict[str, Any]:
        async with lanes:
            result = await esme.send(pdu)
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
) -> Any:
    """Run every policy against the same SMSC, one after the other; return all rows.

    Args:
        target: a simulator handle or "host:port" (credentials from the handle, else
            smppkit:secret).
        pause_between: seconds to wait between runs so the account's token bucket refills.

    Returns:
        A DataFrame: policy, n, sent, done, tries, throttled, command_status, rate.
    """
    import pandas as pd

    from .client import resolve_target

    host, port, system_id, password = resolve_target(target, instance)
    frames = []
    for i, (name, policy) in enumerate((policies or DEFAULT_POLICIES()).items()):
        if i:
            time.sleep(pause_between)
        rows = asyncio.run(
            run_policy(host, port, policy, system_id=system_id or "smppkit",
                       password=password or "secret", messages=messages, window=window)
        )
        frame = pd.DataFrame(rows)
        frame.insert(0, "policy", name)
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def summarize(rows: Any, limit: float | None = None) -> Any:
    """Per policy: duration, achieved rate, throttled answers and their share, worst tries."""
    import pandas as pd

    out = []
    for name, g in rows.groupby("policy", sort=False):
        seconds = float(g["done"].max())
        submits = int(g["tries"].sum())
        throttled = int(g["throttled"].sum())
        out.append({
            "policy": name,
            "messages": len(g),
            "seconds": round(seconds, 2),
            "accepted_per_s": round(len(g) / seconds, 1) if seconds else float("nan"),
            "submits": submits,
            "throttled": throttled,
            "throttled_share": round(throttled / submits, 3) if submits else 0.0,
            "max_tries": int(g["tries"].max()),
            **({"limit_per_s": limit} if limit else {}),
        })
    return pd.DataFrame(out)
