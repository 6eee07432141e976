"""A small python-smpplib application, with the mistakes real applications make as options.

Run by ``data/corpus/make.py``; it writes what such an application leaves behind: a log
file with smpplib's DEBUG lines (every PDU as hex) and the application's own lines.

    python smpplib_app.py --smsc 127.0.0.1:2775 --log client.log --to 447700900000 --count 3
"""

from __future__ import annotations

import argparse
import logging
import threading
import time

import smpplib.client
import smpplib.consts
import smpplib.gsm
import smpplib.smpp

log = logging.getLogger("app")


def hostport(text: str) -> tuple[str, int]:
    host, port = text.rsplit(":", 1)
    return host, int(port)


class App:
    """One account's binds, a table of sent ids and the receipt handling."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.sent: dict[object, str] = {}  # key -> destination (shared, or per client)
        self.per_client: dict[int, dict[object, str]] = {}
        self.receipts: dict[str, int] = {}
        self.lock = threading.Lock()
        self.clients: list[smpplib.client.Client] = []
        self.stop = threading.Event()

    def key(self, message_id: str, receipt: bool) -> object:
        if self.args.match == "string":  # the mistake: ids compared as they are written
            return message_id
        text = message_id.strip()
        base = 10 if receipt or self.args.resp_id == "decimal" else 16
        try:
            return int(text, base)
        except ValueError:
            return text

    def connect(self, smsc: str, kind: str) -> smpplib.client.Client:
        host, port = hostport(smsc)
        client = smpplib.client.Client(host, port, timeout=self.args.socket_timeout)
        client.set_message_sent_handler(lambda pdu, c=client: self.on_sent(c, pdu))
        client.set_message_received_handler(lambda pdu, c=client: self.on_deliver(c, pdu))
        client.connect()
        bind = {"tx": client.bind_transmitter, "rx": client.bind_receiver,
                "trx": client.bind_transceiver}[kind]
        try:
            bind(system_id=self.args.system_id, password=self.args.password)
        except smpplib.exceptions.PDUError as exc:
            log.error("bind_%s to %s refused: %s", kind, smsc, exc)
            if self.args.ignore_bind_errors:
                client.state = smpplib.consts.SMPP_CLIENT_STATE_BOUND_TRX
            else:
                client.disconnect()
                raise
        self.clients.append(client)
        self.per_client[id(client)] = {}
        log.info("bound %s to %s", kind, smsc)
        return client

    # -- handlers --
    def on_sent(self, client: smpplib.client.Client, pdu: smpplib.command.Command) -> None:
        if pdu.status:
            log.warning("submit_sm seq %d refused: status 0x%02X", pdu.sequence, pdu.status)
            return
        mid = pdu.message_id.decode() if isinstance(pdu.message_id, bytes) else str(pdu.message_id)
        with self.lock:
            table = self.sent if self.args.table == "shared" else self.per_client[id(client)]
            table[self.key(mid, False)] = mid
        log.info("message accepted, message_id %s", mid)

    def on_deliver(self, client: smpplib.client.Client, pdu: smpplib.command.Command) -> int:
        text = pdu.short_message.decode("latin-1", "replace") if pdu.short_message else ""
        if not (pdu.esm_class & 0x04) or "id:" not in text:
            log.info("MO message from %s", pdu.source_addr)
            return 0
        rid = text.split("id:", 1)[1].split()[0]
        stat = text.split("stat:", 1)[1].split()[0] if "stat:" in text else "?"
        with self.lock:
            table = self.sent if self.args.table == "shared" else self.per_client[id(client)]
            known = self.key(rid, True) in table
            self.receipts[rid] = self.receipts.get(rid, 0) + 1
        if known:
            log.info("delivery receipt for %s: %s", rid, stat)
        else:
            log.warning("Unknown message_id in delivery receipt: %s", rid)
        if self.args.resp_delay:
            time.sleep(self.args.resp_delay)
        return self.args.resp_status

    # -- sending --
    def parts(self, n: int) -> list[tuple[bytes, int, int]]:
        """(short_message, data_coding, esm_class) of each part of message `n`."""
        text = self.args.text.format(n=n)
        if self.args.coding == "utf8-as-0":  # the mistake: UTF-8 octets under data_coding 0
            return [(text.encode("utf-8"), 0, 0)]
        parts, coding, esm = smpplib.gsm.make_parts(text)
        if self.args.no_udhi:
            esm &= ~0x40
        return [(p, coding, esm) for p in parts]

    def send(self, clients: list[smpplib.client.Client]) -> None:
        interval = 1.0 / self.args.rate if self.args.rate else 0.0
        numbers = self.args.to.split(",")
        k = 0
        for n in range(self.args.count):
            dest = numbers[n % len(numbers)]
            for part, coding, esm in self.parts(n):
                client = clients[k % len(clients)] if self.args.spread == "parts" else clients[n % len(clients)]
                k += 1
                pdu = smpplib.smpp.make_pdu(
                    "submit_sm", client=client, source_addr_ton=5, source_addr_npi=0,
                    source_addr="smppkit", dest_addr_ton=1, dest_addr_npi=1,
                    destination_addr=dest, short_message=part, data_coding=coding,
                    esm_class=esm, registered_delivery=self.args.registered_delivery)
                client.send_pdu(pdu)
                log.info("submit_sm to %s sent (seq %d)", dest, pdu.sequence)
                if interval:
                    time.sleep(interval)

    def listen(self, client: smpplib.client.Client) -> None:
        while not self.stop.is_set():
            try:
                client.read_once(auto_send_enquire_link=self.args.keepalive)
            except TimeoutError:
                continue
            except (smpplib.exceptions.ConnectionError, OSError) as exc:
                log.warning("connection lost: %s", exc)
                return
            except smpplib.exceptions.PDUError as exc:
                log.warning("PDU error: %s", exc)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--smsc", action="append", required=True, help="host:port (repeat for more binds)")
    p.add_argument("--bind", default="trx", help="tx, rx, trx or a comma list, one per --smsc")
    p.add_argument("--log", required=True)
    p.add_argument("--system-id", default="smppkit")
    p.add_argument("--password", default="secret")
    p.add_argument("--to", default="447700900000")
    p.add_argument("--count", type=int, default=3)
    p.add_argument("--rate", type=float, default=5.0, help="submits per second; 0 = as fast as possible")
    p.add_argument("--text", default="hello {n}")
    p.add_argument("--coding", default="auto", choices=("auto", "utf8-as-0"))
    p.add_argument("--no-udhi", action="store_true")
    p.add_argument("--spread", default="messages", choices=("messages", "parts"))
    p.add_argument("--registered-delivery", type=int, default=1)
    p.add_argument("--match", default="number", choices=("number", "string"))
    p.add_argument("--resp-id", default="hex", choices=("hex", "decimal"),
                   help="how the SMSC writes submit_sm_resp ids (receipt ids: decimal)")
    p.add_argument("--table", default="shared", choices=("shared", "per-bind"))
    p.add_argument("--resp-status", type=lambda s: int(s, 0), default=0)
    p.add_argument("--resp-delay", type=float, default=0.0)
    p.add_argument("--resp-seq", default="same", choices=("same", "own"),
                   help="own: reply with make_pdu's own counter (the smpplib pitfall)")
    p.add_argument("--no-resp", action="store_true", help="never answer deliver_sm")
    p.add_argument("--wait", type=float, default=2.0, help="seconds to wait for receipts")
    p.add_argument("--keepalive", action="store_true", help="enquire_link on socket timeout")
    p.add_argument("--socket-timeout", type=float, default=1.0)
    p.add_argument("--idle", type=float, default=0.0, help="seconds of silence before sending")
    p.add_argument("--ignore-bind-errors", action="store_true")
    p.add_argument("--no-unbind", action="store_true")
    args = p.parse_args()
    logging.basicConfig(filename=args.log, level=logging.DEBUG,
                        format="%(asctime)s %(levelname)s %(name)s %(message)s")
    app = App(args)
    if args.resp_seq == "own" or args.no_resp:
        def received(self: smpplib.client.Client, pdu: object) -> None:
            status = self.message_received_handler(pdu=pdu) or 0
            if args.no_resp:
                return
            resp = smpplib.smpp.make_pdu("deliver_sm_resp", client=self, status=status)
            self.send_pdu(resp)  # sequence left as make_pdu chose it: the client's counter
        smpplib.client.Client._message_received = received
    kinds = args.bind.split(",")
    clients = []
    for i, smsc in enumerate(args.smsc):
        try:
            clients.append(app.connect(smsc, kinds[i % len(kinds)]))
        except smpplib.exceptions.PDUError:
            continue
    if not clients:
        log.error("no bind succeeded")
        return
    threads = [threading.Thread(target=app.listen, args=(c,), daemon=True) for c in clients]
    for t in threads:
        t.start()
    if args.idle:
        log.info("idle for %g s", args.idle)
        time.sleep(args.idle)
    senders = [c for c, k in zip(clients, kinds * len(clients), strict=False) if k != "rx"] or clients
    try:
        app.send(senders)
    except (smpplib.exceptions.ConnectionError, OSError) as exc:
        log.error("sending failed: %s", exc)
    log.info("waiting %g s for delivery receipts of %d messages", args.wait, len(app.sent))
    time.sleep(args.wait)
    with app.lock:
        got = set(app.receipts)
        missing = [mid for mid in app.sent.values() if not any(app.key(r, True) == app.key(mid, False) for r in got)]
    for mid in missing:
        log.warning("no delivery receipt for message_id %s", mid)
    app.stop.set()
    for t in threads:
        t.join(timeout=args.socket_timeout + 2)
    for c in clients:
        try:
            if not args.no_unbind:
                c.unbind()
        except Exception as exc:  # noqa: BLE001 - a demo app logs and goes on
            log.warning("unbind: %s", exc)
        c.disconnect()


if __name__ == "__main__":
    main()
