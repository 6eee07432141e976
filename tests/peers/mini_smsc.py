"""A minimal SMSC in the standard library only: a peer that is *not* the smppkit simulator.

One script for both its users: the tests that run the notebooks and the clients against
an SMSC other than the simulator (tests/peers/run.py), and the doctor's corpus
(data/corpus/make.py, which turns on the behaviours marked "corpus" below). It behaves
the way many small SMSCs do, and differently from the simulator on purpose:

* one account (``--system-id`` / ``--password``); a wrong system_id gets ESME_RINVSYSID,
  a wrong password ESME_RINVPASWD; ``--system-id ""`` accepts any system_id;
* message ids are decimal (``--first-id``, then +1), in the response and in the receipt;
* a receipt (Appendix B text) for registered_delivery 1, and for 2 only when the message
  failed; with ``--receipts-to session`` it goes only to the session that sent the
  message, if that session can receive, and is dropped if the session is gone; with
  ``--receipts-to receiver`` (corpus) only to a *receiver* bind of the account (a
  transceiver gets none), held until one binds;
* the outcome is DELIVRD, or with ``--outcomes`` (corpus) the destination's last digit:
  1 UNDELIV err 001, 2 EXPIRED err 002, anything else DELIVRD;
* with ``--enquire N`` (corpus) the SMSC itself sends enquire_link every N s on every
  bind and unbinds (then closes) a bind that has not answered within ``--enquire-timeout``;
* with ``--resend N`` (corpus) a receipt not answered within N s is sent again,
  ``--attempts`` in all;
* no test numbers, no throttling, no TLVs of its own;
* MO only from ``--mo FILE``: hex-encoded deliver_sm PDUs, one per line, sent to every
  session that binds as a receiver or transceiver (sequence numbers renumbered);
* enquire_link and unbind are answered; anything else gets generic_nack ESME_RINVCMDID.

Run it: ``python tests/peers/mini_smsc.py --port 0``; it prints ``listening on HOST:PORT``
(the port it got; also written to ``--ready-file``) and serves until killed. The PDU
layout follows SMPP v3.4 §3.2 (header), §4.1 (binds), §4.4 (submit_sm), §4.6 (deliver_sm)
and Appendix B (the receipt text).
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import socket
import struct
import threading
import time
from typing import Any

BIND_RECEIVER, BIND_TRANSMITTER, SUBMIT_SM, DELIVER_SM = 0x01, 0x02, 0x04, 0x05
UNBIND, BIND_TRANSCEIVER, ENQUIRE_LINK, GENERIC_NACK = 0x06, 0x09, 0x15, 0x80000000
RESP = 0x80000000
ESME_RINVCMDID, ESME_RINVBNDSTS, ESME_RINVPASWD, ESME_RINVSYSID = 0x03, 0x04, 0x0E, 0x0F
OUTCOMES = {b"1": ("UNDELIV", "001"), b"2": ("EXPIRED", "002")}


def c_string(body: bytes, at: int) -> tuple[bytes, int]:
    """The NUL-terminated string at `at` in `body`, and the offset after its NUL."""
    end = body.index(b"\0", at)
    return body[at:end], end + 1


def pdu(command_id: int, status: int, sequence: int, body: bytes = b"") -> bytes:
    return struct.pack(">IIII", 16 + len(body), command_id, status, sequence) + body


class Session:
    def __init__(self, smsc: MiniSmsc, sock: socket.socket) -> None:
        self.smsc, self.sock = smsc, sock
        self.bound_as = 0  # the bind command_id once bound
        self.system_id = ""
        self.alive = True
        self.lock = threading.Lock()
        self.sequence = itertools.count(1)
        self.waiting_enquire: dict[int, float] = {}  # seq -> sent at
        self.waiting_receipt: dict[int, tuple[bytes, int, float]] = {}  # seq -> (body, attempt, sent at)

    @property
    def can_receive(self) -> bool:
        return self.bound_as in (BIND_RECEIVER, BIND_TRANSCEIVER)

    def send(self, command_id: int, status: int = 0, sequence: int | None = None, body: bytes = b"") -> int:
        """Write one PDU (a new sequence_number unless `sequence`); return its sequence_number."""
        seq = next(self.sequence) if sequence is None else sequence
        with self.lock:
            if self.alive:
                try:
                    self.sock.sendall(pdu(command_id, status, seq, body))
                except OSError:
                    self.alive = False
        return seq

    def request(self, command_id: int, waiting: dict[int, Any], value: Any, body: bytes = b"") -> None:
        """Send a request, noted in `waiting` *before* it is written: its response may come
        back before `send` returns."""
        seq = next(self.sequence)
        waiting[seq] = value
        self.send(command_id, 0, seq, body)

    def close(self) -> None:
        self.alive = False
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)
        self.sock.close()

    def serve(self) -> None:
        buffer = b""
        try:
            while self.alive:
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
        finally:
            self.close()
            self.smsc.forget(self)

    def handle(self, command_id: int, sequence: int, body: bytes) -> bool:
        """Answer one PDU; False to close the connection."""
        smsc = self.smsc
        if command_id in (BIND_RECEIVER, BIND_TRANSMITTER, BIND_TRANSCEIVER):
            system_id, at = c_string(body, 0)
            password, _ = c_string(body, at)
            if smsc.system_id and system_id.decode("latin-1") != smsc.system_id:
                status = ESME_RINVSYSID
            elif password.decode("latin-1") != smsc.password:
                status = ESME_RINVPASWD
            else:
                status, self.bound_as, self.system_id = 0, command_id, system_id.decode("latin-1")
            self.send(command_id | RESP, status, sequence, b"" if status else b"mini\0")
            if not status and self.can_receive:
                for raw in smsc.mo:
                    with self.lock, contextlib.suppress(OSError):
                        self.sock.sendall(raw[:12] + struct.pack(">I", next(self.sequence)) + raw[16:])
        elif command_id == SUBMIT_SM:
            if self.bound_as not in (BIND_TRANSMITTER, BIND_TRANSCEIVER):
                self.send(SUBMIT_SM | RESP, ESME_RINVBNDSTS, sequence)
            else:
                self.submit(sequence, body)
        elif command_id == ENQUIRE_LINK:
            self.send(ENQUIRE_LINK | RESP, 0, sequence)
        elif command_id == ENQUIRE_LINK | RESP:
            self.waiting_enquire.pop(sequence, None)
        elif command_id == DELIVER_SM | RESP:
            self.waiting_receipt.pop(sequence, None)
        elif command_id == UNBIND:
            self.send(UNBIND | RESP, 0, sequence)
            return False
        elif command_id == UNBIND | RESP:
            return False
        elif not command_id & RESP:
            self.send(GENERIC_NACK, ESME_RINVCMDID, sequence)
        return True

    def submit(self, sequence: int, body: bytes) -> None:
        # service_type, source (ton npi addr), dest (ton npi addr), esm_class ... -- §4.4.1
        _service, at = c_string(body, 0)
        source_ton_npi = body[at:at + 2]
        source, at = c_string(body, at + 2)
        dest_ton_npi = body[at:at + 2]
        destination, at = c_string(body, at + 2)
        at += 3  # esm_class, protocol_id, priority_flag
        _schedule, at = c_string(body, at)
        _validity, at = c_string(body, at)
        registered_delivery = body[at]
        sm_length = body[at + 4]
        text = body[at + 5:at + 5 + sm_length]
        smsc = self.smsc
        message_id = str(next(smsc.ids))
        submitted = time.strftime("%y%m%d%H%M", time.gmtime())
        self.send(SUBMIT_SM | RESP, 0, sequence, message_id.encode() + b"\0")
        stat, err = OUTCOMES.get(destination[-1:], ("DELIVRD", "000")) if smsc.outcomes else ("DELIVRD", "000")
        wanted = registered_delivery & 0x03
        if wanted not in (1, 2) or (wanted == 2 and stat == "DELIVRD"):  # §5.2.17
            return
        if smsc.receipts_to == "session" and not self.can_receive:
            return
        done = time.strftime("%y%m%d%H%M", time.gmtime())
        receipt = (f"id:{message_id} sub:001 dlvrd:{'001' if stat == 'DELIVRD' else '000'} "
                   f"submit date:{submitted} done date:{done} stat:{stat} err:{err} text:"
                   ).encode() + text[:20]
        # the receipt goes from the destination back to the source -- §4.6.1, Appendix B
        deliver = (b"\0" + dest_ton_npi + destination + b"\0" + source_ton_npi + source + b"\0"
                   + bytes([0x04, 0, 0]) + b"\0\0" + bytes([0, 0, 0, 0, len(receipt)]) + receipt)
        target: Any = self if smsc.receipts_to == "session" else self.system_id
        smsc.queue(target, deliver, smsc.dlr_delay)


class MiniSmsc:
    def __init__(self, args: argparse.Namespace, mo: list[bytes]) -> None:
        self.system_id, self.password, self.mo = args.system_id, args.password, mo
        self.dlr_delay, self.receipts_to, self.outcomes = args.dlr_delay, args.receipts_to, args.outcomes
        self.enquire, self.enquire_timeout = args.enquire, args.enquire_timeout
        self.resend, self.attempts = args.resend, args.attempts
        self.ids = itertools.count(args.first_id)
        self.listener = socket.create_server((args.host, args.port))
        self.sessions: list[Session] = []
        self.pending: list[tuple[float, Any, bytes]] = []  # (due, Session or system_id, deliver_sm body)
        self.lock = threading.Lock()

    def forget(self, session: Session) -> None:
        with self.lock:
            if session in self.sessions:
                self.sessions.remove(session)

    def queue(self, target: Any, body: bytes, delay: float) -> None:
        with self.lock:
            self.pending.append((time.monotonic() + delay, target, body))

    def receiver(self, system_id: str) -> Session | None:
        with self.lock:
            for s in self.sessions:
                if s.alive and s.bound_as == BIND_RECEIVER and s.system_id == system_id:
                    return s
        return None

    def deliver(self, target: Any, body: bytes, now: float) -> None:
        if isinstance(target, Session):  # "session": this SMSC keeps no receipt for a gone session
            session = target if target.alive else None
            if session is None:
                return
        else:
            session = self.receiver(target)
            if session is None:  # "receiver": kept until a receiver binds
                self.queue(target, body, 0.5)
                return
        session.request(DELIVER_SM, session.waiting_receipt, (body, 1, now), body)

    def tick(self) -> None:
        """Every 50 ms: receipts that are due, resends, enquire_link and its timeout."""
        last_enquire = time.monotonic()
        while True:
            time.sleep(0.05)
            now = time.monotonic()
            with self.lock:
                due = [p for p in self.pending if p[0] <= now]
                self.pending = [p for p in self.pending if p[0] > now]
                sessions = list(self.sessions)
            for _, target, body in due:
                self.deliver(target, body, now)
            for s in sessions:
                if self.resend:
                    for seq, (body, attempt, sent) in list(s.waiting_receipt.items()):
                        if now - sent >= self.resend:
                            s.waiting_receipt.pop(seq, None)
                            if attempt < self.attempts and s.alive:
                                s.request(DELIVER_SM, s.waiting_receipt, (body, attempt + 1, now), body)
                if any(now - sent > self.enquire_timeout for sent in list(s.waiting_enquire.values())):
                    s.waiting_enquire.clear()
                    s.send(UNBIND)
                    time.sleep(0.1)
                    s.close()
            if self.enquire and now - last_enquire >= self.enquire:
                last_enquire = now
                for s in sessions:
                    if s.alive and s.bound_as:
                        s.request(ENQUIRE_LINK, s.waiting_enquire, now)

    def serve_forever(self) -> None:
        threading.Thread(target=self.tick, daemon=True).start()
        while True:
            sock, _ = self.listener.accept()
            session = Session(self, sock)
            with self.lock:
                self.sessions.append(session)
            threading.Thread(target=session.serve, daemon=True).start()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--system-id", default="mini", help='the account ("": any system_id)')
    parser.add_argument("--password", default="minipass")
    parser.add_argument("--first-id", type=int, default=1000001, help="the first message id")
    parser.add_argument("--dlr-delay", type=float, default=0.05, help="seconds from submit to receipt")
    parser.add_argument("--receipts-to", choices=("session", "receiver"), default="session")
    parser.add_argument("--outcomes", action="store_true",
                        help="destination ending in 1: UNDELIV, in 2: EXPIRED (else DELIVRD)")
    parser.add_argument("--enquire", type=float, default=0.0, help="SMSC enquire_link interval (0: off)")
    parser.add_argument("--enquire-timeout", type=float, default=1.0)
    parser.add_argument("--resend", type=float, default=0.0, help="resend an unanswered receipt after N s (0: off)")
    parser.add_argument("--attempts", type=int, default=3, help="receipt attempts in all, with --resend")
    parser.add_argument("--mo", metavar="FILE", help="deliver_sm PDUs in hex, one a line, sent on each bind")
    parser.add_argument("--ready-file", help="write the port here once listening")
    args = parser.parse_args()
    mo = []
    if args.mo:
        with open(args.mo, encoding="ascii") as fh:
            mo = [bytes.fromhex(line) for line in fh if line.strip()]
    smsc = MiniSmsc(args, mo)
    host, port = smsc.listener.getsockname()[:2]
    if args.ready_file:
        with open(args.ready_file, "w", encoding="ascii") as fh:
            fh.write(str(port))
    print(f"listening on {host}:{port}", flush=True)
    smsc.serve_forever()


if __name__ == "__main__":
    main()
