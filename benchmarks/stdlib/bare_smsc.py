"""A bare stdlib SMSC: reads headers, answers with fixed PDUs, sends a fixed receipt. No rules.

The floor for any SMSC written in Python on asyncio: no accounts, no store, no ids, no timers.
bind_* → its resp; submit_sm → submit_sm_resp with a fixed message_id, then a fixed receipt
(deliver_sm, esm_class 0x04); enquire_link → resp; unbind → resp and close.

    python benchmarks/stdlib/bare_smsc.py [PORT]   # prints "listening on PORT"
"""

from __future__ import annotations

import asyncio
import struct
import sys

HEADER = struct.Struct(">IIII")
RESP = 0x80000000
MESSAGE_ID = b"0B00000000000001\x00"
RECEIPT_TEXT = (b"id:792633534417207297 sub:001 dlvrd:001 submit date:2601010000 "
                b"done date:2601010000 stat:DELIVRD err:000 text:none")
RECEIPT_BODY = (b"\x00" + bytes([1, 1]) + b"447946012345\x00" + bytes([1, 1]) + b"smppkit\x00"
                + bytes([0x04, 0, 0]) + b"\x00\x00" + bytes([0, 0, 0, 0]) + bytes([len(RECEIPT_TEXT)])
                + RECEIPT_TEXT)


class Bare(asyncio.Protocol):
    def __init__(self) -> None:
        self.buffer = bytearray()
        self.seq = 0
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        buf = self.buffer
        buf += data
        pos, end = 0, len(buf)
        out = bytearray()
        close = False
        while end - pos >= 16:
            length, command_id, _, seq = HEADER.unpack_from(buf, pos)
            if end - pos < length:
                break
            pos += length
            if command_id == 0x04:
                out += HEADER.pack(16 + len(MESSAGE_ID), 0x04 | RESP, 0, seq) + MESSAGE_ID
                self.seq += 1
                out += HEADER.pack(16 + len(RECEIPT_BODY), 0x05, 0, self.seq) + RECEIPT_BODY
            elif command_id in (0x01, 0x02, 0x09):
                out += HEADER.pack(16 + 5, command_id | RESP, 0, seq) + b"bare\x00"
            elif command_id == 0x15:
                out += HEADER.pack(16, 0x15 | RESP, 0, seq)
            elif command_id == 0x06:
                out += HEADER.pack(16, 0x06 | RESP, 0, seq)
                close = True
        del buf[:pos]
        if self.transport is not None:
            if out:
                self.transport.write(out)
            if close:
                self.transport.close()


async def serve(port: int) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(Bare, "127.0.0.1", port)
    print(f"listening on {server.sockets[0].getsockname()[1]}", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(serve(int(sys.argv[1]) if len(sys.argv) > 1 else 0))
