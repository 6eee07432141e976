"""A bare stdlib SMSC written the common way: asyncio streams, one `readexactly` per PDU part,
one write per PDU. No rules, the same answers as `bare_smsc.py`.

The second reference of `benchmarks/simulator_vs_bare.py`: the same floor (parse headers,
fixed resps, a fixed receipt, no bookkeeping), with the per-PDU I/O of a typical asyncio
server (`reader.readexactly(16)`, then the body; `writer.write` for each answer, `drain`
after each request). `bare_smsc.py` (asyncio.Protocol, batched parsing, one write per
read) is the fastest way to write the same thing.

    python benchmarks/stdlib/bare_streams_smsc.py [PORT]   # prints "listening on PORT"
"""

from __future__ import annotations

import asyncio
import contextlib
import sys

from bare_smsc import HEADER, MESSAGE_ID, RECEIPT_BODY, RESP


async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    seq = 0
    with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError):
        while True:
            length, command_id, _, sequence = HEADER.unpack(await reader.readexactly(16))
            if length > 16:
                await reader.readexactly(length - 16)
            if command_id == 0x04:  # submit_sm: its resp, then the receipt
                writer.write(HEADER.pack(16 + len(MESSAGE_ID), 0x04 | RESP, 0, sequence) + MESSAGE_ID)
                seq += 1
                writer.write(HEADER.pack(16 + len(RECEIPT_BODY), 0x05, 0, seq) + RECEIPT_BODY)
            elif command_id in (0x01, 0x02, 0x09):
                writer.write(HEADER.pack(16 + 5, command_id | RESP, 0, sequence) + b"bare\x00")
            elif command_id == 0x15:
                writer.write(HEADER.pack(16, 0x15 | RESP, 0, sequence))
            elif command_id == 0x06:
                writer.write(HEADER.pack(16, 0x06 | RESP, 0, sequence))
                await writer.drain()
                break
            await writer.drain()
    writer.close()


async def serve(port: int) -> None:
    server = await asyncio.start_server(handle, "127.0.0.1", port)
    print(f"listening on {server.sockets[0].getsockname()[1]}", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(serve(int(sys.argv[1]) if len(sys.argv) > 1 else 0))
