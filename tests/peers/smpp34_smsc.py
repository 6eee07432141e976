"""An SMSC on the `smpp34` server from PyPI (a Rust SMPP engine): a third-party peer.

`smpp34` ships a server *library*, not a ready SMSC (``smpp34.Server``: ``await next()``
yields an ``Esme`` per bind, a ``SubmitSmEvent`` per submit_sm, ``Unbound`` at the end).
This script gives it the behaviour of a plain SMSC:

* every bind is accepted (smpp34's Python server has no hook to check a password);
* message ids are 12 lower-case hex digits, the same in the response and the receipt;
* a receipt (Appendix B text, ``stat:DELIVRD``) goes to the session that sent the message
  when it can receive, else to any receiving session of the same system_id;
* no test numbers, no throttling, no MO.

Run it: ``python tests/peers/smpp34_smsc.py --port 0``; it prints ``listening on HOST:PORT``
and serves until killed.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import socket
import time

import smpp34


def free_port(host: str) -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


async def serve(host: str, port: int, dlr_delay: float) -> None:
    port = port or free_port(host)
    server = smpp34.Server(host=host, port=port, system_id="smpp34")
    await server.start()
    print(f"listening on {host}:{port}", flush=True)
    sessions: dict[str, smpp34.Esme] = {}
    ids = itertools.count(0xA00000000001)
    tasks: set[asyncio.Task] = set()

    async def receipt(event: smpp34.SubmitSmEvent, message_id: str) -> None:
        await asyncio.sleep(dlr_delay)
        own = sessions.get(event.session_id)
        system_id = own.system_id if own else None
        targets = [own] if own is not None and own.can_receive else [
            s for s in sessions.values() if s.system_id == system_id and s.can_receive]
        stamp = time.strftime("%y%m%d%H%M", time.gmtime())
        text = (f"id:{message_id} sub:001 dlvrd:001 submit date:{stamp} done date:{stamp} "
                "stat:DELIVRD err:000 text:none").encode()
        for esme in targets[:1]:
            try:
                await esme.deliver_sm(event.source_addr, text, source_addr=event.destination_addr,
                                      esm_class=0x04)
                return
            except Exception:  # noqa: BLE001 -- the session went away: try no other
                return

    while True:
        event = await server.next()
        if isinstance(event, smpp34.Esme):
            sessions[event.session_id] = event
        elif isinstance(event, smpp34.Unbound):
            sessions.pop(event.session_id, None)
        elif isinstance(event, smpp34.SubmitSmEvent):
            message_id = f"{next(ids):012x}"
            event.accept(message_id=message_id)
            if event.registered_delivery & 0x03 == 0x01:
                task = asyncio.ensure_future(receipt(event, message_id))
                tasks.add(task)
                task.add_done_callback(tasks.discard)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--dlr-delay", type=float, default=0.05)
    args = parser.parse_args()
    asyncio.run(serve(args.host, args.port, args.dlr_delay))


if __name__ == "__main__":
    main()
