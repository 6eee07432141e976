"""Build small synthetic traces from real PDUs (smppkit.pdus + trace.pdu_event).

`TraceBuilder` writes events from the ESME's side: submits go "out", their responses and
receipts come "in". Times are seconds from a fixed epoch, so tests are deterministic.
"""

from __future__ import annotations

import json
from typing import Any

import pandas as pd

from smppkit import logs, pdus
from smppkit.trace import dump_event, pdu_event

T0 = 1_700_000_000.0


def receipt_text(message_id: str, stat: str = "DELIVRD", err: str = "000") -> bytes:
    return (f"id:{message_id} sub:001 dlvrd:001 submit date:2311142213 done date:2311142214 "
            f"stat:{stat} err:{err} text:hello").encode()


class TraceBuilder:
    def __init__(self, session: str = "SMPP1#1", instance: str = "SMPP1") -> None:
        self.events: list[dict[str, Any]] = []
        self.session, self.instance = session, instance
        self.seq = 0

    def add(self, pdu: pdus.Pdu, t: float, direction: str, **kw: Any) -> dict[str, Any]:
        kw.setdefault("session", self.session)
        kw.setdefault("instance", self.instance)
        ev = pdu_event(pdu, time=T0 + t, direction=direction, system="esme", **kw)
        self.events.append(ev)
        return ev

    def submit(self, t: float, *, message_id: str | None = None, status: int = 0,
               resp_after: float | None = 0.05, dest: str = "447700900001",
               registered_delivery: int = 1, part: tuple[int, int, int] | None = None,
               seq: int | None = None, **kw: Any) -> int:
        """A submit_sm out and (unless resp_after is None) its submit_sm_resp in."""
        if seq is None:
            self.seq += 1
            seq = self.seq
        text, esm = b"hello", 0
        if part is not None:
            ref, total, n = part
            text, esm = bytes((5, 0, 3, ref, total, n)) + b"part", 0x40
        self.add(pdus.SubmitSm(sequence_number=seq, source_addr="SRC", destination_addr=dest,
                               esm_class=esm, registered_delivery=registered_delivery,
                               short_message=text), t, "out", **kw)
        if resp_after is not None:
            resp = pdus.SubmitSmResp(sequence_number=seq, command_status=status,
                                     message_id="" if status else (message_id or f"{seq:x}"))
            self.add(resp, t + resp_after, "in", **kw)
        return seq

    def receipt(self, t: float, message_id: str, *, stat: str = "DELIVRD", err: str = "000",
                status: int = 0, **kw: Any) -> None:
        """A receipt deliver_sm in and its deliver_sm_resp out."""
        self.seq += 1
        pdu = pdus.DeliverSm(sequence_number=self.seq, source_addr="447700900001",
                             destination_addr="SRC", esm_class=0x04,
                             short_message=receipt_text(message_id, stat, err))
        self.add(pdu, t, "in", **kw)
        self.add(pdus.DeliverSmResp(sequence_number=self.seq, command_status=status),
                 t + 0.01, "out", **kw)

    def frame(self) -> pd.DataFrame:
        return logs.from_events(self.events)

    def lines(self) -> list[str]:
        return [dump_event(e) for e in self.events]

    def write(self, path: Any) -> None:
        with open(path, "w", encoding="utf-8") as f:
            for line in self.lines():
                f.write(line + "\n")


def loads(line: str) -> dict[str, Any]:
    return json.loads(line)
