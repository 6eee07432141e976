"""When to show a progress bar, and the bar itself (tqdm.auto: a text bar in a terminal, a
widget in a Jupyter kernel).

The rule, in one place: ``progress=True``/``False`` is obeyed; ``None`` (the default of the
readers and `smppkit.report.analyze`) shows a bar only for work that takes more than about
a second -- input of `MIN_BYTES` or more -- and only where someone watches: a terminal on
stderr, or a notebook kernel. Small inputs never draw one, so notebook outputs stay the
same from run to run.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable
from typing import Any

__all__ = ["MIN_BYTES", "NoBar", "bar", "in_kernel", "total_bytes", "wanted"]

#: About one second of reading on a slow machine (the trace reader does ~100 MB/s).
MIN_BYTES = 64 * 2**20


def in_kernel() -> bool:
    """True inside a Jupyter (IPython) kernel."""
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None  # type: ignore[attr-defined]
    return shell is not None and getattr(shell, "kernel", None) is not None


def total_bytes(paths: Iterable[str | os.PathLike[str]]) -> int:
    """The size of the files that exist among `paths` (missing ones count 0)."""
    total = 0
    for p in paths:
        try:
            total += os.stat(p).st_size
        except (OSError, TypeError, ValueError):
            continue
    return total


def wanted(progress: bool | None, size: int) -> bool:
    """Whether to draw a bar for work on `size` bytes (see the module docstring)."""
    if progress is not None:
        return bool(progress)
    return size >= MIN_BYTES and (sys.stderr.isatty() or in_kernel())


class NoBar:
    """Stands in for a hidden bar (a tqdm, even disabled, starts tqdm's monitor thread,
    which then outlives it)."""

    def __enter__(self) -> NoBar:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def update(self, n: int = 1) -> None:
        return None

    def set_description_str(self, text: str) -> None:
        return None


def bar(total: float, desc: str, show: bool, unit: str = "B") -> Any:
    """A tqdm.auto bar (bytes scaled as kB, MB ...), or a `NoBar` when `show` is false."""
    if not show:
        return NoBar()
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit=unit, unit_scale=unit == "B", leave=False)
