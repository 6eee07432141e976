"""Bind and send with python-smpplib, the client people run in production, made safe to use.

Strategy: smpplib's `Client` does the wire work (bind, PDU parsing). What it lacks for a
notebook is added here: one background listener thread reads every PDU (answers
enquire_link and deliver_sm itself, with the deliver_sm_resp status you choose), a lock
keeps the listener's replies and your sends from interleaving on the socket (smpplib issue
#187), responses are matched to requests by sequence_number, and receipts and MO are
collected as rows ready for a DataFrame (a long MO is put back together, `Connection.mo`).
Errors are one line: an unreachable SMSC, a refused bind (with the status name and
meaning) or a timeout.

A bind stays up: when the connection is idle for `enquire_link_interval` the listener sends
enquire_link (§4.11) and declares the bind dead when no answer comes within `timeout`.
`connect()` then reconnects and binds again with capped exponential back-off and jitter
(`smppkit.clients.reconnect`); ESME_RALYBND after a quick reconnect (the SMSC still holds
the old bind) is waited out. Requests in flight when the connection died fail with
`ConnectionLost` and are listed in `Connection.lost`: they may or may not have reached the
SMSC, the caller decides.

The target of `connect()` is a simulator handle, "host:port", or None: then the
environment decides (SMPPKIT_SMSC=host:port, SMPPKIT_SYSTEM_ID, SMPPKIT_PASSWORD), so the
same notebook runs against a real SMSC. Without credentials, the simulator's built-in
account is used (`smppkit sim` prints it).

`connect_cluster()` is the client the source document describes (smpp-facts §1.1): it binds
SMPP1 and SMPP2, spreads whole messages over them (never the parts of one message: parts
split across instances are never delivered, §1.2), and binds SMPP0 only while neither
cluster member can be bound, leaving it for the cluster as soon as one comes back. A
member that died comes back only after a probation (enquire_links answered in a row), and
its back-off is reset only once it stayed up for `stable_after` seconds: a half-open or
flaky instance is not rebound and dropped again and again (hysteresis). A message whose
submit was left unanswered by a dying bind is sent again, whole, on another bind and
flagged `resent` (the receiver may get it twice); nothing else is sent twice.
"""

from __future__ import annotations

import contextlib
import os
import select
import socket
import struct
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import smpplib.client
import smpplib.consts
import smpplib.exceptions
import smpplib.smpp

from smppkit.clients.esme import mo_frame
from smppkit.clients.reconnect import Reconnect
from smppkit.protocol.codec import decode
from smppkit.protocol.constants import CommandStatus, describe_status, status_name
from smppkit.protocol.errors import ProtocolError
from smppkit.sms.meanings import kannel_dlr_type
from smppkit.sms.receipts import ReceiptError, id_readings, is_receipt, parse_receipt, same_message
from smppkit.sms.text import to_pdus

__all__ = [
    "BindRefused",
    "ClientError",
    "Cluster",
    "Connection",
    "ConnectionLost",
    "ReceiptsMissing",
    "SendTimeout",
    "Sent",
    "SmscUnreachable",
    "connect",
    "connect_cluster",
    "default_account",
    "message_results",
    "resolve_target",
]

_BIND_METHODS = {"transmitter", "receiver", "transceiver"}
_SMPPLIB_FIELDS = (
    "source_addr_ton", "source_addr_npi", "source_addr", "dest_addr_ton", "dest_addr_npi",
    "destination_addr", "esm_class", "registered_delivery", "data_coding", "short_message",
)


# --- one-line errors ----------------------------------------------------------------------------


class ClientError(Exception):
    """Base of the client's errors. In IPython they print as one line, not a traceback."""

    def _render_traceback_(self) -> list[str]:
        return [f"{type(self).__name__}: {self}"]


class SmscUnreachable(ClientError):
    """No TCP connection could be made (refused, unroutable, timed out)."""


class BindRefused(ClientError):
    """The SMSC answered the bind with a non-zero command_status."""

    def __init__(self, message: str, command_status: int) -> None:
        super().__init__(message)
        self.command_status = command_status


class SendTimeout(ClientError):
    """No response (or no receipt) arrived in time."""


class ConnectionLost(ClientError):
    """The connection died while a request waited for its response: it may or may not have
    reached the SMSC. `command` and `sequence` name the request."""

    def __init__(self, message: str, command: str, sequence: int) -> None:
        super().__init__(message)
        self.command, self.sequence = command, sequence


class ReceiptsMissing(SendTimeout):
    """Some receipts did not arrive in time (`wait_for_receipts(..., strict=True)`).

    Attributes:
        receipts: the DataFrame of every part, the ones that arrived and the pending ones.
        missing: the message ids still without a receipt.
    """

    def __init__(self, message: str, receipts: Any, missing: list[str]) -> None:
        super().__init__(message)
        self.receipts, self.missing = receipts, missing


# --- targets ------------------------------------------------------------------------------------


def default_account(env: Any = None) -> tuple[str, str]:
    """(system_id, password) when none is given: SMPPKIT_SYSTEM_ID / SMPPKIT_PASSWORD, else
    the simulator's built-in account (what `smppkit sim` prints)."""
    from smppkit.simulator.config import Account

    env = os.environ if env is None else env
    demo = Account()
    return env.get("SMPPKIT_SYSTEM_ID") or demo.system_id, env.get("SMPPKIT_PASSWORD", demo.password)


def resolve_target(target: Any = None, instance: str = "SMPP1") -> tuple[str, int, str, str]:
    """(host, port, system_id, password) for a simulator handle, "host:port" or the environment.

    Raises:
        ClientError: no target and no SMPPKIT_SMSC in the environment, or a malformed one.
    """
    if target is None:
        target = os.environ.get("SMPPKIT_SMSC")
        if not target:
            raise ClientError("no SMSC given: pass a simulator or 'host:port', or set SMPPKIT_SMSC")
        return (*_split(target.split(",")[0]), *default_account())
    if hasattr(target, "address") and hasattr(target, "account"):
        host, port = _split(target.address(instance))
        return host, port, target.account.system_id, target.account.password
    if isinstance(target, tuple):
        return target[0], int(target[1]), *default_account()
    return (*_split(str(target)), *default_account())


def _split(address: str) -> tuple[str, int]:
    host, sep, port = address.strip().rpartition(":")
    if not sep or not port.isdigit():
        raise ClientError(f"an SMSC address looks like host:port, got {address!r}")
    return host or "127.0.0.1", int(port)


# --- results ------------------------------------------------------------------------------------


@dataclass
class Sent:
    """One message as sent: its parts' ids and statuses (one per submit_sm)."""

    to: str
    text: str
    message_ids: list[str | None]
    statuses: list[int]
    address: str
    parts: int
    resent: bool = False  # sent again after a bind died (a possible duplicate)

    @property
    def ok(self) -> bool:
        return all(s == 0 for s in self.statuses)

    @property
    def message_id(self) -> str | None:
        """The id of the first part. Kannel 1.4.5 asks a receipt for every part (each
        submit_sm carries the registered_delivery of the dlr-mask) but files the delivery
        report under part 1's id only (measured with bearerbox, data/kannel/capture.py)."""
        return self.message_ids[0] if self.message_ids else None

    def __repr__(self) -> str:
        state = "ok" if self.ok else ", ".join(status_name(s) for s in self.statuses if s)
        flag = ", resent" if self.resent else ""
        return f"Sent(to={self.to!r}, parts={self.parts}, ids={self.message_ids}, {state}{flag})"


@dataclass
class _Waiter:
    command: str
    event: threading.Event = field(default_factory=threading.Event)
    pdu: Any = None


class _Client(smpplib.client.Client):
    """smpplib's client, keeping each PDU's octets so that smppkit can decode deliver_sm
    fully (UDH, SAR and message_payload TLVs) for MO reassembly."""

    def read_pdu(self) -> Any:
        raw_len = self._recv_exact(4)
        (length,) = struct.unpack(">L", raw_len)
        if not 16 <= length <= 1 << 20:  # a header cannot be shorter -- §3.2
            raise smpplib.exceptions.PDUError(f"broken PDU: command_length {length}")
        raw = raw_len + self._recv_exact(length - 4)
        pdu = smpplib.smpp.parse_pdu(raw, client=self, allow_unknown_opt_params=self.allow_unknown_opt_params)
        pdu.raw = raw
        if not pdu.is_error() and pdu.command in smpplib.consts.STATE_SETTERS:
            self.state = smpplib.consts.STATE_SETTERS[pdu.command]
        return pdu


# --- one bind -----------------------------------------------------------------------------------


class Connection:
    """One smpplib bind with a listener thread. Create it with `connect()`.

    Attributes:
        received: rows (dicts) for every deliver_sm: receipts and MO.
        address: "host:port" of the SMSC.
        alive: True while bound; False while reconnecting, after a failure or `close()`.
        lost: (command, sequence, reason) of every request in flight at a disconnect.
        events: (time, what) rows: deaths, reconnect attempts, rebinds.
        recoveries: seconds from each death to the rebind that followed.
    """

    def __init__(
        self,
        host: str,
        port: int,
        *,
        system_id: str,
        password: str,
        bind: str = "transceiver",
        deliver_status: int = 0,
        timeout: float = 5.0,
        enquire_link_interval: float = 30.0,
        ssl_context: Any = None,
        system_type: str = "",
        name: str = "",
        reconnect: Reconnect | None = None,
    ) -> None:
        if bind not in _BIND_METHODS:
            raise ValueError(f"bind must be one of {sorted(_BIND_METHODS)}, not {bind!r}")
        self.host, self.port = host, port
        self.address = f"{host}:{port}"
        self.name = name or self.address
        self.bind_type = bind
        self.deliver_status = deliver_status
        self.timeout = timeout
        self.enquire_link_interval = enquire_link_interval
        self.reconnect = reconnect
        self.received: list[dict[str, Any]] = []
        self.lost: list[tuple[str, int, str]] = []
        self.events: list[tuple[float, str]] = []
        self.recoveries: list[float] = []
        self.alive = False
        self.died_at: float | None = None
        self.death_reason = ""
        self._credentials = (system_id, password, system_type)
        self._ssl_context = ssl_context
        self._mo_pdus: list[Any] = []
        self._lock = threading.Lock()
        self._state = threading.Lock()
        self._bound = threading.Event()
        self._closing = threading.Event()
        self._waiters: dict[int, _Waiter] = {}
        self._generation = 0
        self._last_rx = time.monotonic()
        self._reconnector: threading.Thread | None = None
        self._client = self._open()
        self._start_listener()

    def _open(self) -> _Client:
        """A new TCP connection, bound; sets `alive`. Raises SmscUnreachable / BindRefused."""
        system_id, password, system_type = self._credentials
        client = _Client(self.host, self.port, timeout=self.timeout, ssl_context=self._ssl_context,
                         allow_unknown_opt_params=True)
        try:
            client.connect()
        except (smpplib.exceptions.ConnectionError, OSError) as exc:
            cause = exc.__cause__ or exc.__context__ or exc
            _disconnect(client)
            raise SmscUnreachable(f"cannot reach the SMSC at {self.address}: {_reason(cause)}") from None
        try:
            getattr(client, f"bind_{self.bind_type}")(
                system_id=system_id, password=password, system_type=system_type
            )
        except smpplib.exceptions.PDUError as exc:
            status = int(exc.args[1]) if len(exc.args) > 1 else CommandStatus.ESME_RUNKNOWNERR
            _disconnect(client)
            raise BindRefused(
                f"bind_{self.bind_type} refused by {self.address}: {status_name(status)} "
                f"(0x{status:08X}) {describe_status(status)}",
                status,
            ) from None
        except (smpplib.exceptions.ConnectionError, OSError):
            _disconnect(client)
            raise SmscUnreachable(
                f"the SMSC at {self.address} closed the connection or did not answer the bind "
                f"within {self.timeout:g} s"
            ) from None
        self._last_rx = time.monotonic()
        self.alive = True
        self._bound.set()
        return client

    def _start_listener(self) -> None:
        self._thread = threading.Thread(
            target=self._listen, args=(self._client, self._generation),
            name=f"smppkit-listener {self.name}", daemon=True,
        )
        self._thread.start()

    def _event(self, what: str) -> None:
        self.events.append((time.monotonic(), what))

    # -- sending -------------------------------------------------------------------------------

    def request(self, command: str, *, wait: bool = True, **fields: Any) -> Any:
        """Send one smpplib PDU (`command` like "submit_sm") and return the response PDU.

        While the bind is being re-established it waits up to `timeout` for it.

        Raises:
            ClientError: the bind is down. SendTimeout: no response within `timeout`.
            ConnectionLost: the connection died before the response came.
        """
        if not self.alive and not (self._reconnecting() and self._bound.wait(self.timeout) and self.alive):
            raise ClientError(f"the bind to {self.address} is down ({self.death_reason or 'closed'})")
        client = self._client
        pdu = smpplib.smpp.make_pdu(command, client=client, **fields)
        waiter = _Waiter(command)
        self._waiters[pdu.sequence] = waiter
        try:
            with self._lock:
                client.send_pdu(pdu)
        except smpplib.exceptions.PDUError as exc:
            # smpplib refused it locally (e.g. submit_sm on a receiver bind): nothing was
            # sent and the bind is fine.
            self._waiters.pop(pdu.sequence, None)
            raise ClientError(f"smpplib will not send {command} on a {self.bind_type} bind: {exc.args[0]}") from None
        except (smpplib.exceptions.ConnectionError, OSError) as exc:
            self._waiters.pop(pdu.sequence, None)
            self._die(f"send failed: {_reason(exc)}", client)
            raise ClientError(f"cannot send {command} to {self.address}: {_reason(exc)}") from None
        if not wait:
            return pdu
        if not waiter.event.wait(self.timeout):
            self._waiters.pop(pdu.sequence, None)
            raise SendTimeout(f"no response to {command} from {self.address} within {self.timeout:g} s")
        if waiter.pdu is None:
            raise ConnectionLost(
                f"the bind to {self.address} died ({self.death_reason}) before {command} "
                f"seq={pdu.sequence} was answered: it may or may not have reached the SMSC",
                command, pdu.sequence,
            )
        return waiter.pdu

    def submit(self, pdu: Any) -> Any:
        """Submit a ready-made smppkit `SubmitSm` through smpplib; return smpplib's response."""
        return self.request("submit_sm", **_smpplib_fields(pdu))

    def send_text(
        self,
        to: str,
        text: str,
        *,
        source: str = "smppkit",
        registered_delivery: int = 1,
        encoding: str = "auto",
        method: str = "udh8",
        reference: int = 0,
        **fields: Any,
    ) -> Sent:
        """Plan `text` (smppkit.text), submit every part on this bind, and return their ids.

        A status other than ESME_ROK is reported in `Sent.statuses`, not raised.
        """
        pdus = to_pdus(
            text, source_addr=source, destination_addr=to, encoding=encoding, method=method,
            reference=reference, registered_delivery=registered_delivery, **fields,
        )
        ids: list[str | None] = []
        statuses: list[int] = []
        for pdu in pdus:
            resp = self.submit(pdu)
            statuses.append(int(resp.status))
            mid = getattr(resp, "message_id", None)
            ids.append(mid.decode("latin-1") if isinstance(mid, bytes) else mid or None)
        return Sent(to, text, ids, statuses, self.address, len(pdus))

    def enquire_link(self) -> float:
        """Send enquire_link; return the round trip in seconds."""
        start = time.perf_counter()
        self.request("enquire_link")
        return time.perf_counter() - start

    # -- receipts and MO -------------------------------------------------------------------------

    def receipts(self) -> list[dict[str, Any]]:
        return [row for row in self.received if row["is_receipt"]]

    def mo(self) -> Any:
        """The mobile-originated messages received so far, long ones put back together from
        their parts (UDH with an 8- or 16-bit reference, SAR TLVs, message_payload), as a
        DataFrame: source_addr, destination_addr, text, parts, complete, method, missing."""
        return mo_frame(list(self._mo_pdus))

    def wait_for_receipts(self, sent: Iterable[Sent | str], timeout: float = 10.0, *, final: bool = True,
                          by: str = "part", strict: bool = False) -> Any:
        """Wait until every message id in `sent` has a receipt, or `timeout`; return them.

        Ids are matched across forms (hex resp id, decimal receipt id, padding, case), as
        `smppkit.receipts.same_message` explains; the `match` column says how. With
        `final=True` intermediate notifications (ACCEPTD/ENROUTE) do not count.

        Args:
            by: "part" (one row per submit_sm: message_id, receipt_id, stat, err, address,
                match, outcome) or "message" (one row per message, its parts rolled up:
                delivered / partly delivered / failed / pending, see `message_results`).
            strict: raise `ReceiptsMissing` (carrying both) when some did not arrive;
                otherwise their rows say ``outcome == "pending"`` and
                ``frame.attrs["missing"]`` lists their ids.
        """
        return _wait_for_receipts([self], sent, timeout, final, by, strict)

    # -- closing ---------------------------------------------------------------------------------

    def close(self) -> None:
        """Unbind (if still bound), stop the listener and the reconnecting, close the socket."""
        self._closing.set()
        self._bound.set()  # wake any request waiting for a rebind
        if self.alive:
            with contextlib.suppress(ClientError):
                self.request("unbind", wait=True)
        self._die("closed", self._client)
        for thread in (self._thread, self._reconnector):
            if thread is not None and thread is not threading.current_thread():
                thread.join(self.timeout + 1)
        _disconnect(self._client)

    def __enter__(self) -> Connection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "bound" if self.alive else "reconnecting" if self._reconnecting() else "down"
        return f"<smppkit Connection {self.bind_type} {self.name} {state}, {len(self.received)} received>"

    def pending(self) -> int:
        return len(self._waiters)

    # -- the listener ----------------------------------------------------------------------------

    def _listen(self, client: _Client, generation: int) -> None:
        sock = client._socket
        last_enquire = time.monotonic()
        enquire_sent: float | None = None
        while not self._closing.is_set() and generation == self._generation:
            try:
                readable, _, _ = select.select([sock], [], [], 0.05)
            except (OSError, ValueError):
                self._die("socket closed", client)
                return
            now = time.monotonic()
            if not readable:
                if enquire_sent is not None and now - enquire_sent > self.timeout:
                    self._die(f"enquire_link unanswered for {self.timeout:g} s", client)
                    return
                if enquire_sent is None and now - max(self._last_rx, last_enquire) > self.enquire_link_interval:
                    last_enquire = enquire_sent = now
                    with contextlib.suppress(Exception):
                        self.request("enquire_link", wait=False)
                continue
            try:
                pdu = client.read_pdu()
            except (smpplib.exceptions.ConnectionError, smpplib.exceptions.PDUError, OSError,
                    AttributeError) as exc:  # AttributeError: smpplib's socket already closed
                if not self._closing.is_set():
                    self._die(f"read failed: {_reason(exc)}", client)
                return
            self._last_rx = time.monotonic()
            if pdu.command == "enquire_link_resp":
                enquire_sent = None
            self._dispatch(pdu, client)

    def _dispatch(self, pdu: Any, client: _Client) -> None:
        command = pdu.command
        if command in ("deliver_sm", "data_sm"):
            row, decoded = _received_row(pdu, self.address)
            self.received.append(row)
            if decoded is not None and not row["is_receipt"]:
                self._mo_pdus.append(decoded)
            self._reply(f"{command}_resp", pdu, self.deliver_status, client)
        elif command == "enquire_link":
            self._reply("enquire_link_resp", pdu, 0, client)
        elif command == "unbind":
            self._reply("unbind_resp", pdu, 0, client)
            self._die("the SMSC unbound", client)
        elif command == "alert_notification":
            self.received.append(_received_row(pdu, self.address)[0])
        else:
            waiter = self._waiters.pop(pdu.sequence, None)
            if waiter is not None:
                waiter.pdu = pdu
                waiter.event.set()

    def _reply(self, command: str, request: Any, status: int, client: _Client) -> None:
        resp = smpplib.smpp.make_pdu(command, client=client, status=status)
        resp.sequence = request.sequence  # make_pdu ignores a sequence= argument
        try:
            with self._lock:
                client.send_pdu(resp)
        except (smpplib.exceptions.ConnectionError, smpplib.exceptions.PDUError, OSError) as exc:
            self._die(f"reply failed: {_reason(exc)}", client)

    # -- death and reconnecting ------------------------------------------------------------------

    def _die(self, reason: str, client: _Client) -> None:
        """The connection `client` is finished: fail its waiting requests and, unless we are
        closing, start reconnecting."""
        with self._state:
            if client is not self._client or getattr(client, "finished", False):
                return
            client.finished = True
            self._generation += 1
            was_alive, self.alive = self.alive, False
            if not self._closing.is_set():
                self._bound.clear()
            if was_alive:
                self.died_at = time.monotonic()
                self.death_reason = reason
                if reason != "closed":
                    self._event(f"bind died: {reason}")
            waiters, self._waiters = self._waiters, {}
            for seq, waiter in waiters.items():
                if waiter.command not in ("enquire_link", "unbind"):
                    self.lost.append((waiter.command, seq, reason))
                waiter.event.set()  # waiter.pdu stays None: the caller sees the death
            start = self.reconnect is not None and not self._closing.is_set() and was_alive
        _disconnect(client)
        if start:
            self._reconnector = threading.Thread(target=self._reconnect_loop, name=f"smppkit-reconnect {self.name}",
                                                 daemon=True)
            self._reconnector.start()

    def _reconnecting(self) -> bool:
        thread = self._reconnector
        return thread is not None and thread.is_alive() and not self._closing.is_set()

    def _reconnect_loop(self) -> None:
        policy = self.reconnect
        assert policy is not None
        attempt = 0
        while not self._closing.is_set():
            if policy.gives_up(attempt):
                self.death_reason += f"; gave up after {attempt} reconnect attempts"
                self._event(f"gave up after {attempt} attempts")
                self._bound.set()
                return
            if self._closing.wait(policy.delay(attempt)):
                return
            attempt += 1
            try:
                client = self._open_again()
            except BindRefused as exc:
                if not Reconnect.retriable(exc.command_status):
                    self.death_reason += f"; rebind refused: {status_name(exc.command_status)}, not retried"
                    self._event(f"rebind refused with {status_name(exc.command_status)}: stopped reconnecting")
                    self._bound.set()
                    return
                self._event(f"rebind refused with {status_name(exc.command_status)}: waiting")
                continue
            except SmscUnreachable as exc:
                self._event(f"reconnect attempt {attempt} failed: {exc}")
                continue
            if client is None:  # closed meanwhile
                return
            self.recoveries.append(time.monotonic() - (self.died_at or time.monotonic()))
            self._event(f"rebound after {self.recoveries[-1]:.2f} s ({attempt} attempt(s))")
            return

    def _open_again(self) -> _Client | None:
        client = self._open()
        with self._state:
            if self._closing.is_set():
                self.alive = False
                _disconnect(client)
                return None
            self._client = client
            self._start_listener()
        return client


def _disconnect(client: Any) -> None:
    # smpplib warns when a socket closes "in the bound state"; by now we know it is gone.
    client.state = smpplib.consts.SMPP_CLIENT_STATE_OPEN
    with contextlib.suppress(Exception):
        client.disconnect()


def _reason(exc: BaseException) -> str:
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, socket.timeout | TimeoutError):
        return "timed out"
    text = str(exc) or type(exc).__name__
    return text


def _smpplib_fields(pdu: Any) -> dict[str, Any]:
    fields = {name: getattr(pdu, name) for name in _SMPPLIB_FIELDS}
    for tlv in pdu.tlvs:
        fields[tlv.name] = tlv.value
    return fields


def _received_row(pdu: Any, address: str) -> tuple[dict[str, Any], Any]:
    """The row for a deliver_sm / data_sm / alert_notification, and its smppkit decoding."""
    decoded = None
    raw = getattr(pdu, "raw", None)
    if raw is not None and pdu.command in ("deliver_sm", "data_sm"):
        with contextlib.suppress(ProtocolError, ValueError):
            decoded = decode(raw)
    esm = int(getattr(pdu, "esm_class", 0) or 0)
    text = getattr(pdu, "short_message", b"") or b""
    row: dict[str, Any] = {
        "time": time.time(),
        "address": address,
        "command": pdu.command,
        "source_addr": _s(getattr(pdu, "source_addr", "")),
        "destination_addr": _s(getattr(pdu, "destination_addr", "")),
        "esm_class": esm,
        "is_receipt": pdu.command != "alert_notification" and is_receipt(esm),
        "short_message": text,
        "receipt_id": None,
        "stat": None,
        "err": None,
    }
    if row["is_receipt"]:
        receipted = getattr(pdu, "receipted_message_id", None)
        try:
            receipt = parse_receipt(text, strict=False)
        except ReceiptError:
            receipt = None
        if receipt is not None:
            row.update(receipt_id=receipt.id, stat=receipt.stat, err=receipt.err)
        if receipted:
            row["receipted_message_id"] = _s(receipted)
    return row, decoded


def _s(value: Any) -> str:
    return value.decode("latin-1") if isinstance(value, bytes) else str(value or "")


_OUTCOME = {1: "delivered", 2: "failed", 4: "intermediate"}  # by Kannel's DLR type of the stat


def _part_outcome(stat: Any) -> str:
    return _OUTCOME[kannel_dlr_type(stat)] if stat else "pending"


def _wait_for_receipts(conns: list[Connection], sent: Iterable[Sent | str], timeout: float, final: bool,
                       by: str = "part", strict: bool = False) -> Any:
    import pandas as pd

    if by not in ("part", "message"):
        raise ValueError(f"by is 'part' or 'message', not {by!r}")
    messages = [item if isinstance(item, Sent) else Sent("", "", [item], [0], "", 1) for item in sent]
    wanted: list[str] = [mid for item in messages for mid in item.message_ids if mid]
    # Index the ids we wait for by every reading, so each receipt costs one lookup; the
    # pair found is then explained (and confirmed) by same_message.
    index: dict[Any, list[str]] = {}
    for mid in wanted:
        for key in id_readings(mid):
            index.setdefault(key, []).append(mid)
    deadline = time.monotonic() + timeout
    found: dict[str, dict[str, Any]] = {}
    seen = [0] * len(conns)
    while True:
        for n, conn in enumerate(conns):
            rows = conn.receipts()
            for row in rows[seen[n]:]:
                rid = row["receipt_id"] or row.get("receipted_message_id")
                if not rid or (final and _part_outcome(row["stat"]) == "intermediate"):
                    continue
                candidates = {m for key in id_readings(rid) for m in index.get(key, ())}
                for mid in sorted(candidates):
                    match = same_message(mid, rid)
                    if match and mid not in found:
                        found[mid] = {"message_id": mid, **row, "match": match.reason}
                        break
            seen[n] = len(rows)
        if len(found) == len(wanted) or time.monotonic() >= deadline:
            break
        time.sleep(0.02)
    missing = [m for m in wanted if m not in found]
    columns = ["message_id", "receipt_id", "stat", "err", "address", "match", "outcome"]
    rows = [{**found.get(m, {"message_id": m}), "outcome": _part_outcome(found.get(m, {}).get("stat"))}
            for m in wanted]
    parts = pd.DataFrame(rows, columns=columns)
    frame = parts if by == "part" else message_results(messages, parts)
    frame.attrs["missing"] = missing
    if missing and strict:
        raise ReceiptsMissing(
            f"no receipt within {timeout:g} s for {len(missing)} of {len(wanted)} part(s): "
            + ", ".join(missing[:5]) + (" ..." if len(missing) > 5 else ""),
            frame, missing,
        )
    return frame


def message_results(sent: Iterable[Sent], parts: Any) -> Any:
    """One row per message, its parts' receipts rolled up.

    `result` is "delivered" (every part delivered), "failed" (every part failed, or refused
    at submit), "partly delivered" (some delivered, the others failed) or "pending" (some
    parts still without a final receipt); `detail` lists each part's stat (or "pending").

    Args:
        sent: the messages, as `send_text` returned them.
        parts: the per-part frame of `wait_for_receipts(..., by="part")`.
    """
    import pandas as pd

    by_id = {row["message_id"]: row for row in parts.to_dict("records")}
    rows = []
    for item in sent:
        outcomes, detail = [], []
        for mid, status in zip(item.message_ids, item.statuses, strict=False):
            if status or not mid:
                outcomes.append("failed")
                detail.append(status_name(status) if status else "no id")
                continue
            part = by_id.get(mid, {})
            outcomes.append(part.get("outcome", "pending"))
            stat, err = (v if isinstance(v, str) else None for v in (part.get("stat"), part.get("err")))
            detail.append(f"{stat} err {err}" if stat and err not in (None, "000") else stat or "pending")
        counts = {k: outcomes.count(k) for k in ("delivered", "failed")}
        if counts["delivered"] == len(outcomes):
            result = "delivered"
        elif counts["delivered"] + counts["failed"] < len(outcomes):
            result = "pending"
        elif counts["delivered"]:
            result = "partly delivered"
        else:
            result = "failed"
        rows.append({"to": item.to, "first_id": item.message_id, "parts": item.parts,
                     "delivered": counts["delivered"], "failed": counts["failed"],
                     "pending": len(outcomes) - counts["delivered"] - counts["failed"],
                     "result": result, "detail": ", ".join(detail)})
    columns = ["to", "first_id", "parts", "delivered", "failed", "pending", "result", "detail"]
    return pd.DataFrame(rows, columns=columns)


def connect(
    target: Any = None,
    *,
    bind: str = "transceiver",
    system_id: str | None = None,
    password: str | None = None,
    instance: str = "SMPP1",
    deliver_status: int = 0,
    timeout: float = 5.0,
    enquire_link_interval: float = 30.0,
    ssl_context: Any = None,
    reconnect: Reconnect | bool = True,
) -> Connection:
    """Bind to an SMSC with smpplib and start the listener.

    Args:
        target: a simulator handle (binds to `instance` with its account), "host:port"
            (binds with SMPPKIT_SYSTEM_ID / SMPPKIT_PASSWORD, else the simulator's built-in
            account), or None to read SMPPKIT_SMSC as well.
        bind: "transceiver" (default), "transmitter" or "receiver".
        deliver_status: command_status of every deliver_sm_resp (try 0x58 to see retries).
        reconnect: True (the default `Reconnect` policy), a `Reconnect`, or False: stay
            down once the connection dies.

    Raises:
        SmscUnreachable: no TCP connection. BindRefused: the bind was refused.
    """
    host, port, sid, pwd = resolve_target(target, instance)
    policy = Reconnect() if reconnect is True else reconnect or None
    return Connection(
        host, port,
        system_id=system_id or sid,
        password=password if password is not None else pwd,
        bind=bind, deliver_status=deliver_status, timeout=timeout,
        enquire_link_interval=enquire_link_interval, ssl_context=ssl_context,
        name=instance if hasattr(target, "address") else "", reconnect=policy,
    )


# --- the cluster --------------------------------------------------------------------------------


@dataclass
class _Member:
    address: str
    name: str = ""
    fallback: bool = False
    conn: Connection | None = None
    state: str = "down"  # down, probation, up, draining
    attempt: int = 0
    next_try: float = 0.0
    down_since: float | None = None
    up_since: float = 0.0
    sent: list[Sent] = field(default_factory=list)


class Cluster:
    """SMPP1 and SMPP2 bound together, SMPP0 only while neither can be; whole messages spread.

    Args:
        members: the cluster's addresses (SMPP1, SMPP2).
        fallback: the stand-alone address (SMPP0), bound only while no member is up.
        timeout: seconds for a response (and for an enquire_link answer).
        enquire_link_interval: idle seconds before an enquire_link; a half-open connection
            is noticed after about interval + timeout.
        reconnect: the back-off between bind attempts.
        probation: enquire_links a rebound member must answer in a row before it gets traffic.
        stable_after: seconds a member must stay up before its back-off is reset.

    Attributes:
        events: (time, address, what) rows: deaths, rebinds, probation, fallback, resends.
        recoveries: seconds from each member's death to its return to service.
    """

    def __init__(self, members: list[str], *, fallback: str | None = None, system_id: str, password: str,
                 bind: str = "transceiver", timeout: float = 1.0, enquire_link_interval: float = 1.0,
                 reconnect: Reconnect | None = None, probation: int = 2, stable_after: float = 5.0,
                 linger: float = 10.0, names: dict[str, str] | None = None) -> None:
        if not members:
            raise ValueError("a cluster needs at least one member address")
        self.addresses = list(members)
        self._kw = dict(system_id=system_id, password=password, bind=bind, timeout=timeout,
                        enquire_link_interval=enquire_link_interval)
        self.timeout = timeout
        self.reconnect = reconnect or Reconnect(base=0.1, cap=10.0)
        self.probation, self.stable_after, self.linger = probation, stable_after, linger
        self.events: list[tuple[float, str, str]] = []
        self.recoveries: list[float] = []
        self.sent: list[Sent] = []
        names = names or {}
        self.members = [_Member(a, names.get(a, a)) for a in members]
        self.fallback = _Member(fallback, names.get(fallback, fallback), fallback=True) if fallback else None
        self._t0 = time.monotonic()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._rr = 0
        self._retired: list[Connection] = []  # dead binds, kept for the receipts they got
        errors = []
        now = time.monotonic()
        for member in self.members:
            try:
                self._bind(member, now)
                member.state, member.up_since = "up", now
            except ClientError as exc:
                errors.append(str(exc))
                self._fail(member, now, f"bind failed: {exc}")
        if not self._up() and self.fallback is not None:
            self._bind_fallback(now)
        if not self._up():
            raise SmscUnreachable("no instance could be bound: " + "; ".join(errors))
        self._watcher = threading.Thread(target=self._watch, name="smppkit-cluster", daemon=True)
        self._watcher.start()

    # -- state ----------------------------------------------------------------------------------

    @property
    def conns(self) -> dict[str, Connection | None]:
        return {m.address: m.conn for m in self._all_members()}

    def _all_members(self) -> list[_Member]:
        return self.members + ([self.fallback] if self.fallback else [])

    def _up(self) -> list[_Member]:
        up = [m for m in self.members if m.state == "up" and m.conn is not None and m.conn.alive]
        if not up and self.fallback is not None and self.fallback.state == "up" and self.fallback.conn \
                and self.fallback.conn.alive:
            up = [self.fallback]
        return up

    def live(self) -> list[Connection]:
        """The binds that take traffic now: the members in service, else the fallback."""
        return [m.conn for m in self._up() if m.conn is not None]

    def _event(self, who: str, what: str) -> None:
        self.events.append((time.monotonic(), who, what))

    def _bind(self, member: _Member, now: float) -> None:
        host, port = _split(member.address)
        member.conn = Connection(host, port, name=member.name, **self._kw)  # type: ignore[arg-type]

    def _fail(self, member: _Member, now: float, why: str) -> None:
        """`member` is down: retire its bind, schedule the next attempt (back-off grows)."""
        if member.conn is not None:
            conn, member.conn = member.conn, None
            with contextlib.suppress(Exception):
                conn.close()
            self._retired.append(conn)
        if member.down_since is None:
            member.down_since = now
        member.state = "down"
        member.next_try = now + self.reconnect.delay(member.attempt)
        member.attempt += 1
        self._event(member.name, why)

    def _bind_fallback(self, now: float) -> None:
        fb = self.fallback
        assert fb is not None
        if fb.state in ("up", "draining") and fb.conn is not None and fb.conn.alive:
            if fb.state == "draining":
                fb.state = "up"
                self._event(fb.name, "fallback back in use: no cluster member is up")
            return
        if now < fb.next_try:
            return
        try:
            self._bind(fb, now)
        except ClientError as exc:
            self._fail(fb, now, f"fallback bind failed: {exc}")
            return
        fb.state, fb.up_since, fb.attempt, fb.down_since = "up", now, 0, None
        self._event(fb.name, "fallback bound: no cluster member can be bound")

    # -- sending --------------------------------------------------------------------------------

    def send_text(self, to: str, text: str, **kwargs: Any) -> Sent:
        """Send one whole message on the next bind in service; if that bind dies or leaves
        it unanswered, send the whole message again on another (flagged `resent`: the
        receiver may get it twice)."""
        last: Exception | None = None
        resent = False
        for _ in range(len(self.addresses) * 3 + 2):
            up = self._up()
            if not up:
                self._wait_for_live(self.timeout * 3)
                up = self._up()
                if not up:
                    break
            with self._lock:
                member = up[self._rr % len(up)]
                self._rr += 1
            conn = member.conn
            if conn is None:
                continue
            try:
                result = conn.send_text(to, text, **kwargs)
            except ClientError as exc:
                last = exc
                resent = resent or isinstance(exc, SendTimeout | ConnectionLost)
                if isinstance(exc, SendTimeout):
                    conn._die(f"submit_sm unanswered for {self.timeout:g} s", conn._client)
                self._event(member.name, f"message to {to} unacknowledged ({exc}); sending it again elsewhere")
                continue
            result.resent = resent
            member.sent.append(result)
            self.sent.append(result)
            return result
        raise ClientError(f"no live bind could take the message to {to}: {last}")

    def _wait_for_live(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not self._up() and time.monotonic() < deadline and not self._stop.is_set():
            time.sleep(0.02)

    # -- the watcher ----------------------------------------------------------------------------

    def _watch(self) -> None:
        while not self._stop.wait(0.05):
            now = time.monotonic()
            for member in self.members:
                self._tend(member, now)
            if self.fallback is not None:
                self._tend_fallback(now)

    def _tend(self, member: _Member, now: float) -> None:
        conn = member.conn
        if member.state in ("up", "probation") and (conn is None or not conn.alive):
            reason = conn.death_reason if conn is not None else "gone"
            self._fail(member, (conn.died_at if conn is not None and conn.died_at else now),
                       f"bind died: {reason}" if member.state == "up" else f"probation failed: {reason}")
            return
        if member.state == "up":
            if member.attempt and now - member.up_since >= self.stable_after:
                member.attempt = 0  # stable: the next failure starts the back-off afresh
            return
        if member.state == "down" and now >= member.next_try:
            try:
                self._bind(member, now)
            except ClientError as exc:
                self._fail(member, now, f"rebind failed: {exc}")
                return
            member.state = "probation"
            self._event(member.name, f"rebound; on probation ({self.probation} enquire_link)")
            threading.Thread(target=self._probe, args=(member, member.conn), daemon=True,
                             name=f"smppkit-probation {member.address}").start()

    def _probe(self, member: _Member, conn: Connection | None) -> None:
        """Ask `probation` enquire_links in a row; put the member back in service or fail it."""
        if conn is None:
            return
        try:
            for _ in range(self.probation):
                conn.enquire_link()
                if self._stop.wait(min(0.2, self.timeout)):
                    return
        except ClientError as exc:
            conn._die(f"enquire_link during probation: {exc}", conn._client)
            return
        if member.conn is conn and conn.alive and member.state == "probation":
            now = time.monotonic()
            member.state, member.up_since = "up", now
            if member.down_since is not None:
                self.recoveries.append(now - member.down_since)
                self._event(member.name, f"back in service after {self.recoveries[-1]:.2f} s")
            member.down_since = None

    def _tend_fallback(self, now: float) -> None:
        fb = self.fallback
        assert fb is not None
        if fb.state in ("up", "draining") and (fb.conn is None or not fb.conn.alive):
            self._fail(fb, now, f"fallback bind died: {fb.conn.death_reason if fb.conn else 'gone'}")
        members_up = any(m.state == "up" for m in self.members)
        if not members_up:
            self._bind_fallback(now)
            return
        if fb.state == "up":
            fb.state, fb.up_since = "draining", now
            self._event(fb.name, "a cluster member is back: fallback takes no new messages, "
                        "kept bound for the receipts still due")
        if fb.state == "draining" and (now - fb.up_since >= self.linger or not self._receipts_due(fb)):
            conn, fb.conn = fb.conn, None
            fb.state = "down"
            if conn is not None:
                conn.close()
                self._retired.append(conn)
            self._event(fb.name, "fallback unbound")

    def _receipts_due(self, member: _Member) -> bool:
        conn = member.conn
        if conn is None:
            return False
        wanted = [s for s in member.sent if s.ok]
        if not wanted:
            return False
        got = _wait_for_receipts([conn], wanted, 0, True)
        return bool(got.attrs["missing"])

    # -- receipts -------------------------------------------------------------------------------

    def wait_for_receipts(self, sent: Iterable[Sent | str], timeout: float = 10.0, *, final: bool = True,
                          by: str = "part", strict: bool = False) -> Any:
        """Like `Connection.wait_for_receipts`, over every bind (receipts may come on any)."""
        return _wait_for_receipts(self._all_conns(), sent, timeout, final, by, strict)

    def _all_conns(self) -> list[Connection]:
        return [m.conn for m in self._all_members() if m.conn is not None] + self._retired

    def mo(self) -> Any:
        """`Connection.mo` over every bind: the parts of one MO may arrive on different binds."""
        return mo_frame([pdu for conn in self._all_conns() for pdu in conn._mo_pdus])

    def events_frame(self) -> Any:
        import pandas as pd

        return pd.DataFrame(
            [(round(t - self._t0, 3), who, what) for t, who, what in self.events],
            columns=["seconds", "bind", "event"],
        )

    def close(self) -> None:
        self._stop.set()
        self._watcher.join(2)
        for member in self._all_members():
            if member.conn is not None:
                member.conn.close()

    def __enter__(self) -> Cluster:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        states = ", ".join(f"{m.name} {m.state}" for m in self._all_members())
        return f"<smppkit Cluster: {states}>"


def resolve_cluster(targets: Any, instances: tuple[str, ...] = ("SMPP1", "SMPP2"),
                    fallback: str | None = "SMPP0") -> tuple[list[str], str | None]:
    """(member addresses, fallback address) for a simulator handle (instance names), a list
    of "host:port" (`fallback` an address, or None), or None: the environment
    (SMPPKIT_CLUSTER="host:port,host:port", else SMPPKIT_SMSC; SMPPKIT_FALLBACK).

    Raises:
        ClientError: no target and nothing in the environment.
    """
    if targets is None:
        listed = os.environ.get("SMPPKIT_CLUSTER") or os.environ.get("SMPPKIT_SMSC")
        if not listed:
            raise ClientError("no SMSC given: pass a simulator or addresses, or set SMPPKIT_CLUSTER / SMPPKIT_SMSC")
        return [a.strip() for a in listed.split(",") if a.strip()], os.environ.get("SMPPKIT_FALLBACK") or None
    if hasattr(targets, "address") and hasattr(targets, "account"):
        spare = targets.address(fallback) if fallback in targets.instances else None
        return [targets.address(i) for i in instances], spare
    if isinstance(targets, str):
        targets = targets.split(",")
    return [str(a).strip() for a in targets], fallback if fallback and ":" in fallback else None


def connect_cluster(
    targets: Any = None,
    *,
    system_id: str | None = None,
    password: str | None = None,
    instances: tuple[str, ...] = ("SMPP1", "SMPP2"),
    fallback: str | None = "SMPP0",
    **kwargs: Any,
) -> Cluster:
    """Bind to SMPP1 and SMPP2 (of a simulator handle, a list of addresses, or the
    environment: see `resolve_cluster`), with SMPP0 as the fallback while neither can be
    bound.

    Args:
        fallback: for a simulator, the stand-alone instance's name; for a list, its
            "host:port" (None: no fallback).
        **kwargs: `Cluster` options (timeout, enquire_link_interval, reconnect, probation, ...).

    Raises:
        SmscUnreachable: not a single instance could be bound.
    """
    addresses, spare = resolve_cluster(targets, instances, fallback)
    sid, pwd = default_account()
    names: dict[str, str] = {}
    if hasattr(targets, "address") and hasattr(targets, "account"):
        sid, pwd = targets.account.system_id, targets.account.password
        names = {address: name for name, address in targets.addresses.items()}
    return Cluster(addresses, fallback=spare, system_id=system_id or sid,
                   password=password if password is not None else pwd, names=names, **kwargs)
