"""The virtual-time driver: the `Engine` and scripted ESMEs on one heap of timers.

No socket and no clock: each connection is the engine on one side and an ESME `Session`
on the other, joined by an in-memory link that delivers each write after a small random
latency and never lets a write overtake an earlier one (TCP keeps order). Time jumps from
one timer to the next, so an hour of traffic takes seconds of real time, and the same
seed gives the same bytes. `smppkit.notebook.datasets` makes every sample log with it.

    net = VirtualNetwork(SimConfig(seed=7), rng=random.Random(7))
    link = net.connect("SMPP1", EsmeBehaviour())
    net.at(net.now + 1.0, net.send_text, [link], "447700900000", "hello")
    net.at(net.now + 10.0, net.unbind_all)
    net.run(until=net.now + 15.0)
    net.events          # the SMSC's trace, plus the ESMEs' own notes (system "esme")

A receiver that stops reading is `net.stall(link, seconds)`: what reaches it meanwhile
piles up unread. As the asyncio driver does with its write buffer, the network tells the
engine a connection is congested when the octets written to it and not yet read pass
`write_high_water`, and that it drained when they are down to a quarter of that.

An ESME can also wait for the SMSC's outbind (§4.1.7): `net.listen("192.0.2.50:2776",
EsmeBehaviour(bind="receiver"))` with `SimConfig(outbind="192.0.2.50:2776")`; it answers the
outbind with its bind on the connection the SMSC opened. An outbind to an address where no
ESME listens fails, as a refused TCP connection does.

The ESME side (`EsmeBehaviour`) is a client, not a provider rule: it binds, submits,
answers deliver_sm, sends enquire_link, resubmits throttled messages, binds again, and
can make the mistakes the sample logs show (ids compared as text, parts split across
binds, UTF-8 with data_coding 0...).
"""

from __future__ import annotations

import heapq
import itertools
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from smppkit.protocol.constants import TlvTag
from smppkit.protocol.pdus import (
    BindReceiver,
    BindTransceiver,
    BindTransmitter,
    DeliverSmResp,
    EnquireLink,
    Pdu,
    SubmitSm,
    Unbind,
)
from smppkit.protocol.session import (
    CONNECTION_CLOSED,
    NEED_DATA,
    InvalidPdu,
    Rejected,
    Role,
    Session,
)
from smppkit.simulator.config import SimConfig
from smppkit.simulator.engine import Close, Connect, Engine, Listen, Send, Trace
from smppkit.sms.text import to_pdus
from smppkit.trace import TRACE_FIELDS, receipt_summary

__all__ = ["EsmeBehaviour", "Link", "VirtualNetwork"]

_BINDS: dict[str, type[Pdu]] = {
    "transmitter": BindTransmitter,
    "receiver": BindReceiver,
    "transceiver": BindTransceiver,
}


@dataclass(frozen=True)
class EsmeBehaviour:
    """How a scripted ESME behaves; the defaults are a well-behaved client.

    Attributes:
        bind: "transceiver", "transmitter" or "receiver".
        system_id, password: the account it binds with.
        registered_delivery: on every submit_sm.
        deliver_status: command_status of every deliver_sm_resp (None: never answers, a
            stalled client).
        enquire_link: seconds between enquire_links (None: never sends one).
        enquire_timeout: seconds to wait for enquire_link_resp before dropping the bind.
        resubmit_throttled: seconds before a submit refused with ESME_RTHROTTLED is sent
            again (None: never).
        compare_ids: "numeric" (hex resp and decimal receipt ids read as numbers) or
            "string" (compared as text: every receipt looks unknown).
        per_bind: receipts are matched only against messages sent on the same bind.
        split_parts: the parts of a long message go out through different binds.
        text_bug: None, "utf8_dc0" (UTF-8 octets with data_coding 0) or "udh_no_udhi"
            (a concatenation UDH with esm_class 0).
        reconnect: seconds before binding again after a lost bind (None: never).
    """

    bind: str = "transceiver"
    system_id: str = "smppkit"
    password: str = field(default="secret", repr=False)
    registered_delivery: int = 1
    deliver_status: int | None = 0
    enquire_link: float | None = 30.0
    enquire_timeout: float = 10.0
    resubmit_throttled: float | None = 1.0
    compare_ids: str = "numeric"
    per_bind: bool = False
    split_parts: bool = False
    text_bug: str | None = None
    reconnect: float | None = 5.0


@dataclass(eq=False)
class Link:
    """One TCP connection between a scripted ESME and an instance of the engine."""

    conn: int
    instance: str
    peer: str
    client: EsmeBehaviour
    esme: Session = field(default_factory=lambda: Session(Role.ESME))
    closed: bool = False
    pending: dict[int, Pdu] = field(default_factory=dict)  # submit seq -> PDU
    enquire_pending: dict[int, float] = field(default_factory=dict)
    up_free: float = 0.0  # when the ESME -> SMSC direction delivers its last write
    down_free: float = 0.0
    replaced_by: Link | None = None
    reading: bool = True  # False: a stalled ESME (`VirtualNetwork.stall`)
    unread: list[bytes] = field(default_factory=list)  # reached a stalled ESME
    in_flight: int = 0  # octets the SMSC wrote that the ESME has not read yet
    congested: bool = False  # the engine was told (`Engine.congested`)

    @property
    def ident(self) -> str:
        return f"{self.instance}#{self.conn}"


class VirtualNetwork:
    """The engine, scripted ESMEs and the links between them, on virtual time.

    Args:
        config: the simulator's configuration (`trace_memory` > 0 to get a trace).
        rng: draws the links' latencies (and anything a script draws with `net.rng`).
        engine_rng: the engine's random source (default `random.Random(config.seed)`).
        start: the clock's start; by default `config.epoch` (or 0).
        latency: (min, max) seconds a write takes to arrive.
    """

    def __init__(self, config: SimConfig, *, rng: random.Random | None = None,
                 engine_rng: random.Random | None = None, start: float | None = None,
                 latency: tuple[float, float] = (0.0008, 0.004)) -> None:
        if start is None:
            start = config.epoch.timestamp() if config.epoch else 0.0
        self.now = start
        self.rng = rng if rng is not None else random.Random(config.seed)
        self.engine = Engine(config, start, rng=engine_rng)
        self.latency = latency
        self.events: list[dict[str, Any]] = []
        self.links: dict[int, Link] = {}
        self.listeners: dict[str, EsmeBehaviour] = {}  # "host:port" -> the ESME there
        self.down: set[str] = set()
        self.sent: dict[str, tuple[Link, str]] = {}  # ESMEs: receipt id -> (link, resp id)
        self._heap: list[tuple[float, int, Callable[..., None], tuple[Any, ...]]] = []
        self._order = itertools.count()
        self._conn_ids = itertools.count(1)
        self._ports = itertools.count(40101)
        self.engine.start(start)
        self._flush()

    # -- the clock ---------------------------------------------------------------------

    def at(self, when: float, fn: Callable[..., None], *args: Any) -> None:
        """Run `fn(*args)` at virtual time `when`."""
        heapq.heappush(self._heap, (when, next(self._order), fn, args))

    def after(self, delay: float, fn: Callable[..., None], *args: Any) -> None:
        self.at(self.now + delay, fn, *args)

    def run(self, until: float | None = None) -> int:
        """Run timers (the scripts' and the engine's) in time order, up to `until`.

        Returns:
            How many timers ran.
        """
        ran = 0
        heap = self._heap
        engine = self.engine
        while True:
            t_engine = engine.next_deadline()
            t_script = heap[0][0] if heap else None
            if t_script is not None and (t_engine is None or t_script <= t_engine):
                if until is not None and t_script > until:
                    break
                _, _, fn, args = heapq.heappop(heap)
                self.now = max(self.now, t_script)
                fn(*args)
            elif t_engine is not None:
                if until is not None and t_engine > until:
                    break
                self.now = max(self.now, t_engine)
                engine.advance(self.now)
                self._flush()
            else:
                break
            ran += 1
        if until is not None:
            self.now = max(self.now, until)
        return ran

    def _delay(self) -> float:
        return self.rng.uniform(*self.latency)

    # -- the engine's side -------------------------------------------------------------

    def _flush(self) -> None:
        """Carry out the engine's actions (and those they lead to)."""
        while actions := self.engine.actions():
            self._carry_out(actions)

    def _carry_out(self, actions: list[Any]) -> None:
        high = self.engine.config.write_high_water
        for action in actions:
            if type(action) is Send:
                link = self.links.get(action.conn)
                if link is not None and not link.closed:
                    link.down_free = max(self.now + self._delay(), link.down_free)
                    self.at(link.down_free, self._to_esme, link, action.data)
                    link.in_flight += len(action.data)
                    if link.in_flight > high and not link.congested:
                        link.congested = True
                        self.engine.congested(link.conn, True, self.now)
            elif type(action) is Trace:
                self.events.append(action.event)
            elif type(action) is Close:
                link = self.links.get(action.conn)
                if link is not None:
                    when = self.now if action.abort else max(self.now, link.down_free)
                    self.at(when + 0.001, self._smsc_closed, link)
            elif type(action) is Listen:
                (self.down.discard if action.up else self.down.add)(action.instance)
            elif type(action) is Connect:
                self.at(self.now + self._delay(), self._outbound, action)

    def _outbound(self, action: Connect) -> None:
        """The SMSC's TCP connection to an ESME (for outbind) opens, or is refused."""
        address = f"{action.host}:{action.port}"
        client = self.listeners.get(address)
        if client is None:  # as the asyncio driver reports a refused connection
            self.engine.counters["outbind_failures"] += 1
            self.engine.note_instance(action.instance, f"outbind to {address} failed: "
                                                       "no ESME listens there")
            self.engine.connection_closed(action.conn, self.now)
        else:
            self.links[action.conn] = Link(action.conn, action.instance, address, client)
            self.engine.connection_opened(action.conn, action.instance, address, self.now,
                                          outbound=True)
        self._flush()

    def _smsc_closed(self, link: Link) -> None:
        if not link.closed:
            link.closed = True
            link.esme.close()
        self.engine.connection_closed(link.conn, self.now)
        self._flush()

    def _to_smsc(self, link: Link, data: bytes) -> None:
        if link.closed:
            return
        more = self.engine.data_received(link.conn, data, self.now)
        self._flush()
        while more:  # one loop turn per call in the asyncio driver; here time stands still
            more = self.engine.continue_input(link.conn, self.now)
            self._flush()

    # -- the ESMEs' side ---------------------------------------------------------------

    def connect(self, instance: str, client: EsmeBehaviour) -> Link:
        """Open a connection to `instance` and bind as `client` says."""
        conn = next(self._conn_ids)
        link = Link(conn, instance, f"192.0.2.10:{next(self._ports)}", client)
        self.links[conn] = link
        if instance in self.down:
            link.closed = True
            return link
        self.engine.connection_opened(conn, instance, link.peer, self.now)
        self._flush()
        self._bind(link, client.bind)
        return link

    def listen(self, address: str, client: EsmeBehaviour) -> None:
        """Let the ESME `client` accept the SMSC's outbind at `address` ("host:port")."""
        self.listeners[address] = client

    def _bind(self, link: Link, kind: str) -> None:
        cls = _BINDS[kind]
        self.esme_send(link, cls(system_id=link.client.system_id,  # type: ignore[call-arg]
                                 password=link.client.password, system_type=""))

    def esme_send(self, link: Link, pdu: Pdu) -> Pdu | None:
        if link.closed:
            return None
        pdu = link.esme.send(pdu)
        data = link.esme.data_to_send()
        if data:
            link.up_free = max(self.now + self._delay(), link.up_free)
            self.at(link.up_free, self._to_smsc, link, data)
        return pdu

    def drop(self, link: Link) -> None:
        """The ESME closes the TCP connection without unbinding."""
        if not link.closed:
            link.closed = True
            link.esme.close()
            self.engine.connection_closed(link.conn, self.now)
            self._flush()

    def note(self, link: Link, text: str) -> None:
        """A note from the ESME's side (system "esme"): what only the client can tell."""
        event = dict.fromkeys(TRACE_FIELDS)
        event.update(time=round(self.now, 6), system="esme", instance=link.instance,
                     session=link.ident, peer=link.peer, system_id=link.client.system_id,
                     bind=link.client.bind, direction="", command="", note=text)
        self.events.append(event)

    def stall(self, link: Link, seconds: float) -> None:
        """The ESME stops reading `link` now and reads everything again `seconds` later."""
        link.reading = False
        self.after(seconds, self._unstall, link)

    def _unstall(self, link: Link) -> None:
        link.reading = True
        unread, link.unread = link.unread, []
        for data in unread:
            self._to_esme(link, data)

    def _to_esme(self, link: Link, data: bytes) -> None:
        if link.closed:
            return
        if not link.reading:
            link.unread.append(data)
            return
        link.in_flight -= len(data)
        if link.congested and link.in_flight <= self.engine.config.write_high_water // 4:
            link.congested = False
            self.engine.congested(link.conn, False, self.now)
            self._flush()
        link.esme.receive_data(data)
        while True:
            event = link.esme.next_event()
            if event is NEED_DATA or event is CONNECTION_CLOSED:
                break
            if isinstance(event, InvalidPdu | Rejected):
                continue
            self._esme_handle(link, event)
        data = link.esme.data_to_send()  # automatic replies (enquire_link_resp, unbind_resp)
        if data:
            link.up_free = max(self.now + self._delay(), link.up_free)
            self.at(link.up_free, self._to_smsc, link, data)

    def _esme_handle(self, link: Link, pdu: Any) -> None:
        client = link.client
        name = pdu.command_name
        if name.startswith("bind_") and name.endswith("_resp"):
            if pdu.command_status:
                self.after(0.01, self.drop, link)
            elif client.enquire_link:
                self.after(client.enquire_link, self._enquire, link)
        elif name == "submit_sm_resp":
            sent = link.pending.pop(pdu.sequence_number, None)
            if pdu.command_status == 0x58 and sent is not None and client.resubmit_throttled:
                self.after(client.resubmit_throttled, self._resubmit, link, sent)
            elif pdu.command_status == 0:
                resp_id = pdu.message_id
                self.sent[str(int(resp_id, 16))] = (link, resp_id)
        elif name == "deliver_sm":
            self._client_receipt(link, pdu)
            if client.deliver_status is None:
                return
            resp = DeliverSmResp(command_status=client.deliver_status,
                                 sequence_number=pdu.sequence_number)
            self.after(self.rng.uniform(0.001, 0.006), self._answer, link, resp)
        elif name == "enquire_link_resp":
            link.enquire_pending.pop(pdu.sequence_number, None)
        elif name == "unbind" and client.reconnect is not None:
            self.after(client.reconnect, self.reconnect, link)
        elif name == "outbind":
            # "the ESME may respond to an outbind by issuing a bind_receiver" -- §4.1.7 (a
            # transceiver may bind as one; a transmitter bind would get no receipts)
            kind = "receiver" if client.bind == "transmitter" else client.bind
            self.after(self.rng.uniform(0.001, 0.006), self._bind, link, kind)

    def _answer(self, link: Link, resp: Pdu) -> None:
        if not link.closed:
            self.esme_send(link, resp)

    def _client_receipt(self, link: Link, pdu: Pdu) -> None:
        client = link.client
        # the id a receipt is about: its receipted_message_id TLV, else its text (as
        # receipt_summary reads it, the TLV first)
        rid = pdu.tlv(TlvTag.receipted_message_id)
        if rid is None:
            rid = receipt_summary(pdu)[0]
        if rid is None:
            return
        if client.compare_ids == "string":
            if not any(resp_id == rid for _, resp_id in self.sent.values()):
                self.note(link, f"receipt for unknown message id {rid}")
            return
        entry = self.sent.get(str(int(rid)))
        if entry is None:
            self.note(link, f"receipt for unknown message id {rid}")
        elif client.per_bind and entry[0] is not link and entry[0].instance != link.instance:
            self.note(link, f"receipt for unknown message id {rid}: no message with that id "
                            "was sent on this bind")

    def _enquire(self, link: Link) -> None:
        if link.closed or not link.esme.is_bound or link.esme.unbinding:
            return
        pdu = self.esme_send(link, EnquireLink())
        if pdu is None:
            return
        link.enquire_pending[pdu.sequence_number] = self.now
        self.after(link.client.enquire_timeout, self._enquire_check, link, pdu.sequence_number)
        assert link.client.enquire_link
        self.after(link.client.enquire_link, self._enquire, link)

    def _enquire_check(self, link: Link, seq: int) -> None:
        if link.closed or seq not in link.enquire_pending:
            return
        # No enquire_link_resp: the client gives the bind up and binds again.
        self.drop(link)
        if link.client.reconnect is not None:
            self.after(link.client.reconnect, self.reconnect, link)

    def reconnect(self, old: Link) -> None:
        """Bind again on the same instance; later submits on `old` go to the new link."""
        old.replaced_by = self.connect(old.instance, old.client)

    def _resubmit(self, link: Link, pdu: Pdu) -> None:
        self.submit(link, pdu.with_sequence(0))

    def submit(self, link: Link, pdu: Pdu) -> None:
        while link.replaced_by is not None:
            link = link.replaced_by
        if link.closed or not link.esme.is_bound:
            return
        sent = self.esme_send(link, pdu)
        if sent is not None:
            link.pending[sent.sequence_number] = sent

    def send_text(self, links: Sequence[Link], to: str, text: str, reference: int = 0,
                  bug: str | None = None) -> None:
        """Plan `text` with `smppkit.sms.text` and submit its parts, a few ms apart."""
        client = links[0].client
        bug = bug or client.text_bug
        if bug == "utf8_dc0":
            pdus: list[Pdu] = [SubmitSm(source_addr="smppkit", destination_addr=to,
                                        registered_delivery=client.registered_delivery,
                                        data_coding=0, short_message=text.encode("utf-8"))]
        else:
            pdus = list(to_pdus(text, source_addr="smppkit", destination_addr=to, reference=reference,
                                registered_delivery=client.registered_delivery))
            if bug == "udh_no_udhi":
                pdus = [p.replace(esm_class=p.esm_class & ~0x40) for p in pdus]  # type: ignore[attr-defined]
        for i, pdu in enumerate(pdus):
            link = links[i % len(links)] if client.split_parts else links[0]
            self.after(0.002 * i, self.submit, link, pdu)

    def unbind_all(self) -> None:
        """Every ESME still bound sends unbind."""
        for link in self.links.values():
            if not link.closed and link.esme.is_bound and not link.esme.unbinding:
                self.esme_send(link, Unbind())
