"""A minimal SMSC in the standard library: a second, different SMSC for the doctor's corpus.

It behaves unlike the simulator on purpose:

- message ids are decimal in submit_sm_resp *and* in the receipt (no hex/decimal split);
- receipts go only to a **receiver** bind of the account (a transceiver gets none);
- the SMSC itself sends enquire_link every `--enquire` seconds on every bind, and unbinds
  (then closes) a bind that has not answered one within `--enquire-timeout` seconds;
- a receipt not answered within 2 s is sent again, 3 attempts in all;
- the outcome is the destination's last digit: 1 UNDELIV err 001, 2 EXPIRED err 002,
  anything else DELIVRD.

    python mini_smsc.py --port 0 --ready-file port.txt
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import socket
import struct
import threading
import time

BIND_TX, BIND_RX, BIND_TRX = 0x00000002, 0x00000001, 0x00000009
SUBMIT_SM, DELIVER_SM, UNBIND, ENQUIRE_LINK = 0x00000004, 0x00000005, 0x00000006, 0x00000015
RESP = 0x80000000
GENERIC_NACK = 0x80000000


def cstring(body: bytes, pos: int) -> tuple[bytes, int]:
    end = body.index(b"\0", pos)
    return body[pos:end], end + 1


class Bind:
    def __init__(self, sock: socket.socket, smsc: MiniSmsc) -> None:
        self.sock, self.smsc = sock, smsc
        self.kind = ""
        self.system_id = ""
        self.seq = itertools.count(1)
        self.lock = threading.Lock()
        self.waiting_enquire: dict[int, float] = {}
        self.waiting_receipt: dict[int, tuple[bytes, int]] = {}  # seq -> (body, attempts)
        self.alive = True

    def send(self, command: int, body: bytes = b"", status: int = 0, seq: int | None = None) -> int:
        seq = next(self.seq) if seq is None else seq
        with self.lock:
            if self.alive:
                try:
                    self.sock.sendall(struct.pack("!IIII", 16 + len(body), command, status, seq) + body)
                except OSError:
                    self.alive = False
        return seq

    def close(self) -> None:
        self.alive = False
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)
        self.sock.close()

    def serve(self) -> None:
        buf = b""
        while self.alive:
            try:
                data = self.sock.recv(65536)
            except OSError:
                break
            if not data:
                break
            buf += data
            while len(buf) >= 16:
                length = struct.unpack("!I", buf[:4])[0]
                if len(buf) < length:
                    break
                pdu, buf = buf[:length], buf[length:]
                self.handle(*struct.unpack("!III", pdu[4:16]), pdu[16:])
        self.alive = False
        self.smsc.forget(self)

    def handle(self, command: int, status: int, seq: int, body: bytes) -> None:
        if command in (BIND_TX, BIND_RX, BIND_TRX):
            system_id, pos = cstring(body, 0)
            password, _ = cstring(body, pos)
            if password.decode() != self.smsc.password:
                self.send(command | RESP, b"mini\0", status=0x0E, seq=seq)  # ESME_RINVPASWD
                return
            self.kind = {BIND_TX: "tx", BIND_RX: "rx", BIND_TRX: "trx"}[command]
            self.system_id = system_id.decode()
            self.send(command | RESP, b"mini\0", seq=seq)
            self.smsc.flush(self.system_id)
        elif command == SUBMIT_SM:
            self.submit(seq, body)
        elif command == ENQUIRE_LINK:
            self.send(ENQUIRE_LINK | RESP, seq=seq)
        elif command == ENQUIRE_LINK | RESP:
            self.waiting_enquire.pop(seq, None)
        elif command == DELIVER_SM | RESP:
            self.waiting_receipt.pop(seq, None)
        elif command == UNBIND:
            self.send(UNBIND | RESP, seq=seq)
            self.alive = False
        elif command == UNBIND | RESP:
            self.alive = False
        else:
            self.send(GENERIC_NACK, status=0x03, seq=seq)  # ESME_RINVCMDID

    def submit(self, seq: int, body: bytes) -> None:
        pos = 0
        _service, pos = cstring(body, pos)
        pos += 2
        source, pos = cstring(body, pos)
        pos += 2
        dest, pos = cstring(body, pos)
        pos += 3  # esm_class, protocol_id, priority_flag
        _sched, pos = cstring(body, pos)
        _valid, pos = cstring(body, pos)
        registered = body[pos]
        sm_length = body[pos + 4]
        text = body[pos + 5 : pos + 5 + sm_length]
        mid = str(next(self.smsc.ids))
        self.send(SUBMIT_SM | RESP, mid.encode() + b"\0", seq=seq)
        if registered & 0x03:
            last = dest[-1:]
            stat, err = {b"1": ("UNDELIV", "001"), b"2": ("EXPIRED", "002")}.get(last, ("DELIVRD", "000"))
            if registered & 0x03 == 2 and stat == "DELIVRD":
                return
            stamp = time.strftime("%y%m%d%H%M", time.gmtime())
            receipt = (f"id:{mid} sub:001 dlvrd:{'001' if stat == 'DELIVRD' else '000'} submit date:"
                       f"{stamp} done date:{stamp} stat:{stat} err:{err} text:"
                       ).encode() + text[:20]
            pdu = (b"\0" + b"\x01\x01" + dest + b"\0" + b"\x05\x00" + source + b"\0" + b"\x04\x00\x00"
                   + b"\0\0" + b"\x00\x00\x00\x00" + bytes([len(receipt)]) + receipt)
            self.smsc.queue(self.system_id, pdu, self.smsc.delay)


class MiniSmsc:
    def __init__(self, port: int, password: str, enquire: float, enquire_timeout: float,
                 delay: float) -> None:
        self.server = socket.create_server(("127.0.0.1", port))
        self.port = self.server.getsockname()[1]
        self.password, self.enquire, self.enquire_timeout = password, enquire, enquire_timeout
        self.delay = delay
        self.ids = itertools.count(4_000_000_001)
        self.binds: list[Bind] = []
        self.pending: list[tuple[float, str, bytes]] = []  # (due, system_id, deliver_sm body)
        self.lock = threading.Lock()

    def forget(self, bind: Bind) -> None:
        with self.lock:
            if bind in self.binds:
                self.binds.remove(bind)

    def queue(self, system_id: str, body: bytes, delay: float) -> None:
        with self.lock:
            self.pending.append((time.monotonic() + delay, system_id, body))

    def flush(self, system_id: str) -> None:
        """Nothing to do at bind time: the ticker delivers what is due."""

    def receiver(self, system_id: str) -> Bind | None:
        with self.lock:
            for b in self.binds:
                if b.alive and b.kind == "rx" and b.system_id == system_id:
                    return b
        return None

    def tick(self) -> None:
        last_enquire = time.monotonic()
        while True:
            time.sleep(0.05)
            now = time.monotonic()
            with self.lock:
                due = [p for p in self.pending if p[0] <= now]
                self.pending = [p for p in self.pending if p[0] > now]
            for _, system_id, body in due:
                rx = self.receiver(system_id)
                if rx is None:  # kept until a receiver binds
                    self.queue(system_id, body, 0.5)
                    continue
                seq = rx.send(DELIVER_SM, body)
                rx.waiting_receipt[seq] = (body, 1)
            with self.lock:
                binds = list(self.binds)
            for b in binds:
                for sent in list(b.waiting_enquire.values()):
                    if now - sent > self.enquire_timeout:
                        b.waiting_enquire.clear()
                        b.send(UNBIND)
                        time.sleep(0.1)
                        b.close()
                        break
            if self.enquire and now - last_enquire >= self.enquire:
                last_enquire = now
                for b in binds:
                    if b.alive and b.kind:
                        b.waiting_enquire[b.send(ENQUIRE_LINK)] = now

    def resend(self) -> None:
        sent_at: dict[tuple[int, int], float] = {}
        while True:
            time.sleep(0.1)
            now = time.monotonic()
            with self.lock:
                binds = list(self.binds)
            for b in binds:
                for seq, (body, attempts) in list(b.waiting_receipt.items()):
                    first = sent_at.setdefault((id(b), seq), now)
                    if now - first >= 2.0:
                        b.waiting_receipt.pop(seq, None)
                        if attempts < 3 and b.alive:
                            new = b.send(DELIVER_SM, body)
                            b.waiting_receipt[new] = (body, attempts + 1)

    def serve(self) -> None:
        threading.Thread(target=self.tick, daemon=True).start()
        threading.Thread(target=self.resend, daemon=True).start()
        while True:
            sock, _ = self.server.accept()
            bind = Bind(sock, self)
            with self.lock:
                self.binds.append(bind)
            threading.Thread(target=bind.serve, daemon=True).start()


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--password", default="secret")
    p.add_argument("--enquire", type=float, default=2.0, help="SMSC enquire_link interval (0: off)")
    p.add_argument("--enquire-timeout", type=float, default=1.0)
    p.add_argument("--delay", type=float, default=0.3, help="seconds from submit to receipt")
    p.add_argument("--ready-file", help="write the port here once listening")
    args = p.parse_args()
    smsc = MiniSmsc(args.port, args.password, args.enquire, args.enquire_timeout, args.delay)
    if args.ready_file:
        with open(args.ready_file, "w") as f:
            f.write(str(smsc.port))
    print(f"mini SMSC on 127.0.0.1:{smsc.port}", flush=True)
    smsc.serve()


if __name__ == "__main__":
    main()
