"""A minimal SMSC in the standard library only: a peer that is *not* the smppkit simulator.

It behaves the way many small SMSCs do, and differently from the simulator on purpose:

* one account (``--system-id`` / ``--password``); a wrong password gets ESME_RINVPASWD;
* message ids are decimal (``1000001``, ``1000002`` ...), in the response and in the receipt;
* a receipt (Appendix B text, always ``stat:DELIVRD``) goes only to the session that sent
  the message, and only if that session can receive (receiver or transceiver bind);
* no test numbers, no throttling, no TLVs of its own;
* MO only from ``--mo FILE``: hex-encoded deliver_sm PDUs, one per line, sent to every
  session that binds as a receiver or transceiver (sequence numbers renumbered);
* enquire_link and unbind are answered; anything else gets generic_nack ESME_RINVCMDID.

Run it: ``python tests/peers/mini_smsc.py --port 0``; it prints ``listening on HOST:PORT``
(the port it got) and serves until killed. The PDU layout follows SMPP v3.4 §3.2 (header),
§4.1 (binds), §4.4 (submit_sm), §4.6 (deliver_sm) and Appendix B (the receipt text).
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import socket
import struct
import threading
import time

BIND_RECEIVER, BIND_TRANSMITTER, SUBMIT_SM, DELIVER_SM = 0x01, 0x02, 0x04, 0x05
UNBIND, BIND_TRANSCEIVER, ENQUIRE_LINK, GENERIC_NACK = 0x06, 0x09, 0x15, 0x80000000
RESP = 0x80000000
ESME_RINVCMDID, ESME_RINVBNDSTS, ESME_RINVPASWD, ESME_RINVSYSID = 0x03, 0x04, 0x0E, 0x0F


def c_strings(body: bytes, count: int) -> tuple[list[str], int]:
    """Read `count` NUL-terminated strings from `body`; return them and the offset after."""
    out, offset = [], 0
    for _ in range(count):
        end = body.index(b"\0", offset)
        out.append(body[offset:end].decode("latin-1"))
        offset = end + 1
    return out, offset


def pdu(command_id: int, status: int, sequence: int, body: bytes = b"") -> bytes:
    return struct.pack(">IIII", 16 + len(body), command_id, status, sequence) + body


class Session:
    def __init__(self, smsc: MiniSmsc, sock: socket.socket) -> None:
        self.smsc, self.sock = smsc, sock
        self.bound_as = 0  # the bind command_id once bound
        self.lock = threading.Lock()
        self.sequence = itertools.count(1)

    def send(self, data: bytes) -> None:
        with self.lock:
            self.sock.sendall(data)

    def serve(self) -> None:
        with self.sock:
            buffer = b""
            while True:
                try:
                    chunk = self.sock.recv(65536)
                except OSError:
                    return
                if not chunk:
                    return
                buffer += chunk
                while len(buffer) >= 16:
                    length, command_id, _status, sequence = struct.unpack(">IIII", buffer[:16])
                    if length < 16 or length > 65536:
                        return
                    if len(buffer) < length:
                        break
                    body, buffer = buffer[16:length], buffer[length:]
                    if not self.handle(command_id, sequence, body):
                        return

    def handle(self, command_id: int, sequence: int, body: bytes) -> bool:
        if command_id in (BIND_RECEIVER, BIND_TRANSMITTER, BIND_TRANSCEIVER):
            (system_id, password), _ = c_strings(body, 2)
            if system_id != self.smsc.system_id:
                status = ESME_RINVSYSID
            elif password != self.smsc.password:
                status = ESME_RINVPASWD
            else:
                status, self.bound_as = 0, command_id
            self.send(pdu(command_id | RESP, status, sequence, b"" if status else b"mini\0"))
            if not status and command_id != BIND_TRANSMITTER:
                for raw in self.smsc.mo:
                    self.send(raw[:12] + struct.pack(">I", next(self.sequence)) + raw[16:])
        elif command_id == SUBMIT_SM:
            if self.bound_as not in (BIND_TRANSMITTER, BIND_TRANSCEIVER):
                self.send(pdu(SUBMIT_SM | RESP, ESME_RINVBNDSTS, sequence))
                return True
            # service_type, source (ton npi addr), dest (ton npi addr), esm_class ... §4.4.1
            (_service,), at = c_strings(body, 1)
            (source,), n = c_strings(body[at + 2:], 1)
            at += 2 + n
            (destination,), n = c_strings(body[at + 2:], 1)
            at += 2 + n + 3  # esm_class, protocol_id, priority_flag
            _, n = c_strings(body[at:], 2)  # schedule_delivery_time, validity_period
            registered_delivery = body[at + n]
            message_id = str(next(self.smsc.ids))
            submitted = time.strftime("%y%m%d%H%M", time.gmtime())
            self.send(pdu(SUBMIT_SM | RESP, 0, sequence, message_id.encode() + b"\0"))
            if registered_delivery & 0x03 == 0x01 and self.bound_as in (BIND_RECEIVER, BIND_TRANSCEIVER):
                text = (f"id:{message_id} sub:001 dlvrd:001 submit date:{submitted} "
                        f"done date:{time.strftime('%y%m%d%H%M', time.gmtime())} stat:DELIVRD "
                        "err:000 text:none").encode()
                self.smsc.later(self.smsc.dlr_delay, self.receipt, destination, source, text)
        elif command_id == ENQUIRE_LINK:
            self.send(pdu(ENQUIRE_LINK | RESP, 0, sequence))
        elif command_id == UNBIND:
            self.send(pdu(UNBIND | RESP, 0, sequence))
            return False
        elif command_id & RESP:
            pass  # deliver_sm_resp, enquire_link_resp: nothing to do
        else:
            self.send(pdu(GENERIC_NACK, ESME_RINVCMDID, sequence))
        return True

    def receipt(self, source: str, destination: str, text: bytes) -> None:
        body = (b"\0" + bytes([1, 1]) + source.encode() + b"\0" + bytes([1, 1])
                + destination.encode() + b"\0" + bytes([0x04, 0, 0]) + b"\0\0"
                + bytes([0, 0, 0, 0, len(text)]) + text)
        with contextlib.suppress(OSError):  # the session is gone: this SMSC keeps no receipt
            self.send(pdu(DELIVER_SM, 0, next(self.sequence), body))


class MiniSmsc:
    def __init__(self, host: str, port: int, system_id: str, password: str, dlr_delay: float,
                 mo: list[bytes]) -> None:
        self.system_id, self.password, self.dlr_delay, self.mo = system_id, password, dlr_delay, mo
        self.ids = itertools.count(1000001)
        self.listener = socket.create_server((host, port))

    def later(self, delay: float, fn, *args) -> None:  # noqa: ANN001
        timer = threading.Timer(delay, fn, args)
        timer.daemon = True
        timer.start()

    def serve_forever(self) -> None:
        while True:
            sock, _ = self.listener.accept()
            threading.Thread(target=Session(self, sock).serve, daemon=True).start()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--system-id", default="mini")
    parser.add_argument("--password", default="minipass")
    parser.add_argument("--dlr-delay", type=float, default=0.05)
    parser.add_argument("--mo", metavar="FILE", help="deliver_sm PDUs in hex, one a line, sent on each bind")
    args = parser.parse_args()
    mo = []
    if args.mo:
        with open(args.mo, encoding="ascii") as fh:
            mo = [bytes.fromhex(line) for line in fh if line.strip()]
    smsc = MiniSmsc(args.host, args.port, args.system_id, args.password, args.dlr_delay, mo)
    host, port = smsc.listener.getsockname()[:2]
    print(f"listening on {host}:{port}", flush=True)
    smsc.serve_forever()


if __name__ == "__main__":
    main()
