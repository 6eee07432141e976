"""One finding: what the receipt doctor and the Kannel config check report.

A `Finding` has a severity, a stable ``code``, a one-line title, the cause in plain words,
the evidence (counts, sentences, examples with file:line and hex) and the fix. A finding
that is a consequence of another names that one's code in ``caused_by``, so a report can
rank the root cause first and show its consequences under it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["SEVERITIES", "Example", "Finding", "format_value", "plain_value"]

#: error = receipts or messages are lost; warning = works badly or will fail under load;
#: info = worth knowing, nothing to fix.
SEVERITIES = ("error", "warning", "info")


def format_value(v: Any) -> str:
    """A count or measure as short text (3 significant digits, thousands separated)."""
    if isinstance(v, float):
        return f"{v:.3g}" if abs(v) < 1000 else f"{v:,.0f}"
    return str(v)


def plain_value(v: Any) -> Any:
    """numpy scalars as Python numbers (for JSON)."""
    item = getattr(v, "item", None)
    return item() if callable(item) and type(v).__module__ == "numpy" else v


@dataclass(frozen=True)
class Example:
    """One piece of evidence: where it is, what it says, and the PDU's bytes when known."""

    where: str
    summary: str
    hex: str | None = None

    def __str__(self) -> str:
        out = f"{self.where}: {self.summary}"
        if self.hex:
            shown = self.hex if len(self.hex) <= 96 else self.hex[:96] + "..."
            out += f"\n      hex {shown}"
        return out


@dataclass(frozen=True)
class Finding:
    """One diagnosis.

    Attributes:
        severity: "error" (receipts or messages are lost), "warning" or "info".
        code: a stable identifier, e.g. "registered-delivery-0".
        title: one line (``problem`` is the same).
        cause: what is going on, in plain language.
        fix: what to change.
        counts: the numbers behind it.
        details: further evidence sentences (e.g. an id conversion, a config line).
        examples: PDUs or log lines, with file:line and hex.
        caused_by: the code of the finding this one is a consequence of, if any.
    """

    severity: str
    code: str
    title: str
    cause: str = ""
    fix: str = ""
    counts: dict[str, Any] = field(default_factory=dict)
    details: tuple[str, ...] = ()
    examples: tuple[Example, ...] = ()
    caused_by: str | None = None

    def __post_init__(self) -> None:
        if self.severity not in SEVERITIES:
            raise ValueError(f"severity {self.severity!r} is not one of {SEVERITIES}")

    @property
    def problem(self) -> str:
        return self.title

    @property
    def evidence(self) -> str:
        """Counts, details and examples as text."""
        lines = []
        if self.counts:
            lines.append(", ".join(f"{k}: {format_value(v)}" for k, v in self.counts.items()))
        lines += list(self.details)
        lines += [str(e) for e in self.examples]
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["counts"] = {k: plain_value(v) for k, v in self.counts.items()}
        out["details"] = list(self.details)
        return out

    def __str__(self) -> str:
        text = [f"[{self.severity.upper()}] {self.code}: {self.title}"]
        if self.caused_by:
            text[0] += f" (a consequence of {self.caused_by})"
        if self.cause:
            text.append(f"  cause: {self.cause}")
        text += ["  evidence: " + line if i == 0 else "    " + line
                 for i, line in enumerate(self.evidence.splitlines())]
        if self.fix:
            text.append(f"  fix: {self.fix}")
        return "\n".join(text)
