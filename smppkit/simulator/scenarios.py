"""Named, composable faults: what a misbehaving SMSC does to its clients.

A `Scenario` is a list of `Fault`s. Built-in scenarios have names (`smppkit sim --scenario
early-receipt`); others load from a small YAML or JSON file::

    name: bad-night
    description: SMPP1 drops connections and receipts come twice
    faults:
      - {kind: drop_connection, instance: SMPP1, after: 20}
      - {kind: duplicate_receipt}
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["BUILTIN_SCENARIOS", "FAULT_KINDS", "Fault", "Scenario", "load_scenario"]

FAULT_KINDS: dict[str, str] = {
    "drop_connection": "close the TCP connection after `after` PDUs received on a session",
    "delay_responses": "answer submit_sm `delay` seconds late",
    "no_responses": "never answer submit_sm (after the first `after`)",
    "generic_nack": "answer submit_sm with generic_nack (ESME_RSYSERR)",
    "smsc_unbind": "the SMSC sends unbind after `after` submits on a session",
    "ignore_enquire_link": "stop answering enquire_link",
    "receipt_before_resp": "send the receipt before the submit_sm_resp",
    "duplicate_receipt": "send every receipt twice",
    "wrong_id_format": "write receipt ids as lower-case hex without padding",
    "outage": "take `instance` down `after` seconds after start, for `delay` seconds",
    "mo_traffic": "every `delay` seconds send an MO to each account with a receiving bind "
    "(every third one a long text split with a UDH)",
}


@dataclass(frozen=True)
class Fault:
    """One fault. `instance=None` applies it on every instance."""

    kind: str
    instance: str | None = None
    after: int = 0
    delay: float = 0.0

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(
                f"unknown fault {self.kind!r}; known: {', '.join(sorted(FAULT_KINDS))}"
            )

    def applies_to(self, instance: str) -> bool:
        return self.instance is None or self.instance == instance


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str = ""
    faults: tuple[Fault, ...] = field(default_factory=tuple)

    def get(self, kind: str, instance: str) -> Fault | None:
        """The first fault of `kind` that applies to `instance`, if any."""
        for fault in self.faults:
            if fault.kind == kind and fault.applies_to(instance):
                return fault
        return None

    def __add__(self, other: Scenario) -> Scenario:
        return Scenario(f"{self.name}+{other.name}", "", self.faults + other.faults)


def _one(name: str, description: str, *faults: Fault) -> Scenario:
    return Scenario(name, description, faults)


BUILTIN_SCENARIOS: dict[str, Scenario] = {
    s.name: s
    for s in (
        _one("healthy", "no faults"),
        _one("flaky-link", "SMPP1 drops each connection after 20 PDUs",
             Fault("drop_connection", "SMPP1", after=20)),
        _one("slow-smsc", "submit_sm_resp arrives 2 s late", Fault("delay_responses", delay=2.0)),
        _one("hung-smsc", "submit_sm is never answered", Fault("no_responses")),
        _one("nack-storm", "every submit_sm gets generic_nack", Fault("generic_nack")),
        _one("smsc-unbind", "the SMSC unbinds after 5 submits", Fault("smsc_unbind", after=5)),
        _one("dead-keepalive", "enquire_link is never answered", Fault("ignore_enquire_link")),
        _one("early-receipt", "receipts arrive before submit_sm_resp",
             Fault("receipt_before_resp")),
        _one("duplicate-receipts", "every receipt arrives twice", Fault("duplicate_receipt")),
        _one("wrong-id-format", "receipt ids in lower-case hex, unpadded",
             Fault("wrong_id_format")),
        _one("smpp1-outage", "SMPP1 goes down 1 s after start for 3 s",
             Fault("outage", "SMPP1", after=1, delay=3.0)),
        _one("mo-traffic", "an MO every 0.5 s, every third one long (UDH)",
             Fault("mo_traffic", delay=0.5)),
    )
}


def load_scenario(spec: object) -> Scenario:
    """A Scenario from a Scenario, a built-in name, "a+b" names, or a YAML/JSON file path.

    Raises:
        ValueError: unknown name, unreadable file, or an unknown fault kind.
    """
    if spec is None:
        return BUILTIN_SCENARIOS["healthy"]
    if isinstance(spec, Scenario):
        return spec
    text = str(spec)
    if text in BUILTIN_SCENARIOS:
        return BUILTIN_SCENARIOS[text]
    path = Path(text)
    if path.suffix.lower() in (".yml", ".yaml", ".json") or path.exists():
        if not path.exists():
            raise ValueError(f"scenario file {text} does not exist")
        raw = path.read_text()
        if path.suffix.lower() == ".json":
            data = json.loads(raw)
        else:
            import yaml

            data = yaml.safe_load(raw)
        if not isinstance(data, dict) or "faults" not in data:
            raise ValueError(f"scenario file {text} must be a mapping with a 'faults' list")
        faults = tuple(Fault(**f) for f in data["faults"])
        return Scenario(data.get("name", path.stem), data.get("description", ""), faults)
    if "+" in text:
        parts = [load_scenario(p) for p in text.split("+")]
        out = parts[0]
        for p in parts[1:]:
            out = out + p
        return out
    raise ValueError(
        f"unknown scenario {text!r}; built-in: {', '.join(sorted(BUILTIN_SCENARIOS))}"
    )
