"""A minimal stdlib asyncio SMPP load client: bind, submit_sm at a fixed window, answer receipts.

No smppkit code: headers are read with `struct`, PDUs are prebuilt bytes, so the client costs
the same against any SMSC. Every submit asks for a receipt (registered_delivery=1); a run ends
when every submit_sm_resp and every receipt has arrived (or `timeout`).

    python benchmarks/stdlib/loadclient.py HOST:PORT [--count N] [--window W]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import struct
import time

HEADER = struct.Struct(">IIII")
BIND_TRANSCEIVER, SUBMIT_SM, DELIVER_SM, ENQUIRE_LINK, UNBIND = 0x09, 0x04, 0x05, 0x15, 0x06
RESP = 0x80000000


def cstr(text: str) -> bytes:
    return text.encode("ascii") + b"\x00"


def pdu(command_id: int, sequence: int, body: bytes = b"", status: int = 0) -> bytes:
    return HEADER.pack(16 + len(body), command_id, status, sequence) + body


BIND_BODY = cstr("smppkit") + cstr("secret") + cstr("") + bytes([0x34, 0, 0]) + cstr("")
SUBMIT_BODY = (cstr("") + bytes([1, 1]) + cstr("smppkit") + bytes([1, 1]) + cstr("447946012345")
               + bytes([0, 0, 0]) + cstr("") + cstr("") + bytes([1, 0, 0, 0]) + bytes([5]) + b"hello")


class LoadClient(asyncio.Protocol):
    def __init__(self, count: int, window: int, done: asyncio.Future[None]) -> None:
        self.count, self.window, self.done = count, window, done
        self.buffer = bytearray()
        self.sent = self.answered = self.receipts = self.refused = 0
        self.started = self.resps_done = self.receipts_done = 0.0
        self.transport: asyncio.Transport | None = None
        self.bound: asyncio.Future[int] = done.get_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.transport.write(pdu(BIND_TRANSCEIVER, 1, BIND_BODY))

    def start(self) -> None:
        self.started = time.perf_counter()
        self._fill()

    def _fill(self) -> None:
        out = bytearray()
        while self.sent < self.count and self.sent - self.answered < self.window:
            self.sent += 1
            out += pdu(SUBMIT_SM, self.sent + 1, SUBMIT_BODY)
        if out and self.transport is not None:
            self.transport.write(out)

    def data_received(self, data: bytes) -> None:
        buf = self.buffer
        buf += data
        pos, end = 0, len(buf)
        out = bytearray()
        while end - pos >= 16:
            length, command_id, status, seq = HEADER.unpack_from(buf, pos)
            if end - pos < length:
                break
            pos += length
            if command_id == SUBMIT_SM | RESP:
                self.answered += 1
                if status:
                    self.refused += 1
                if self.answered == self.count:
                    self.resps_done = time.perf_counter()
            elif command_id == DELIVER_SM:
                self.receipts += 1
                out += pdu(DELIVER_SM | RESP, seq, b"\x00")
                if self.receipts == self.count:
                    self.receipts_done = time.perf_counter()
            elif command_id == ENQUIRE_LINK:
                out += pdu(ENQUIRE_LINK | RESP, seq)
            elif command_id == BIND_TRANSCEIVER | RESP and not self.bound.done():
                self.bound.set_result(status)
        del buf[:pos]
        if out and self.transport is not None:
            self.transport.write(out)
        if self.started:
            self._fill()
        if self.answered >= self.count and self.receipts >= self.count and not self.done.done():
            self.done.set_result(None)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.done.done():
            self.done.set_result(None)


async def run(host: str, port: int, count: int = 20_000, window: int = 100,
              timeout: float = 120.0) -> dict[str, float]:
    """One run; returns submits/s, receipts/s and counts."""
    loop = asyncio.get_running_loop()
    done: asyncio.Future[None] = loop.create_future()
    transport, client = await loop.create_connection(lambda: LoadClient(count, window, done),
                                                     host, port)
    try:
        status = await asyncio.wait_for(client.bound, 10)
        if status:
            raise RuntimeError(f"bind refused with status 0x{status:08X}")
        client.start()
        await asyncio.wait_for(done, timeout)
    finally:
        transport.write(pdu(UNBIND, 0x7FFFFFF0))
        transport.close()
    elapsed = (client.resps_done or time.perf_counter()) - client.started
    all_in = (client.receipts_done or time.perf_counter()) - client.started
    return {"count": count, "window": window, "answered": client.answered,
            "refused": client.refused, "receipts": client.receipts,
            "submit_per_s": client.answered / elapsed if elapsed else 0.0,
            "with_receipts_per_s": min(client.answered, client.receipts) / all_in if all_in else 0.0}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("address")
    parser.add_argument("--count", type=int, default=20_000)
    parser.add_argument("--window", type=int, default=100)
    args = parser.parse_args()
    host, _, port = args.address.rpartition(":")
    print(json.dumps(asyncio.run(run(host, int(port), args.count, args.window))))


if __name__ == "__main__":
    main()
