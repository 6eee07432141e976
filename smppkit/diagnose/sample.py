"""A small multi-day trace for trying the Parquet and SQL path: sample logs, one per day.

`multi_day_trace` replays sample logs of `smppkit.notebook.datasets` one day apart (day k
is the k-th log with every time moved k days on), into one JSONL trace: deterministic, a
few thousand events, and spread over partitions the way a gateway's month of logs is.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence

__all__ = ["DAYS", "multi_day_trace"]

#: the sample logs of the default trace, one per day
DAYS = ("healthy", "throttled", "id_mismatch", "other_instance", "deliver_sm_resp_retry")
_DAY_S = 86_400


def multi_day_trace(out: str | os.PathLike[str], days: Sequence[str] = DAYS) -> int:
    """Write the sample logs `days` one day apart into the JSONL trace `out`.

    Returns:
        The number of events written.

    Raises:
        KeyError: a name is not a sample log (`datasets.names()`).
    """
    from smppkit.notebook import datasets

    n = 0
    with open(out, "w", encoding="utf-8") as f:
        for k, name in enumerate(days):
            with open(datasets.path(name), encoding="utf-8") as src:
                for line in src:
                    if not line.strip():
                        continue
                    event = json.loads(line)
                    if isinstance(event.get("time"), (int, float)):
                        event["time"] = round(event["time"] + k * _DAY_S, 6)
                    f.write(json.dumps(event, separators=(",", ":")) + "\n")
                    n += 1
    return n
