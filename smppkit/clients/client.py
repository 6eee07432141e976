"""Bind and send with python-smpplib, the client people run in production, made safe to use.

Strategy: smpplib's `Client` does the wire work (bind, PDU parsing). What it lacks for a
notebook is added here: one background listener thread reads every PDU (answers
enquire_link and deliver_sm itself, with the deliver_sm_resp status you choose), a lock
keeps the listener's replies and your sends from interleaving on the socket (smpplib issue
#187), responses are matched to requests by sequence_number and command_id, and receipts and MO are
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

`connect_cluster()` (in `smppkit.clients.cluster`, also reachable here) binds SMPP1 and SMPP2
as the source document asks, with SMPP0 as the fallback while neither can be bound.
"""

from __future__ import annotations

import contextlib
import os
import select
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import smpplib.client
import smpplib.consts
import smpplib.exceptions
import smpplib.smpp

from smppkit.clients.esme import mo_frame
from smppkit.clients.reconnect import Reconnect
from smppkit.protocol.codec import decode
from smppkit.protocol.constants import CommandId, CommandStatus, describe_status, status_name
from smppkit.protocol.errors import ProtocolError
from smppkit.protocol.session import answers
from smppkit.sms.meanings import kannel_dlr_type
from smppkit.sms.receipts import ReceiptError, id_readings, is_receipt, parse_receipt, same_message
from smppkit.sms.text import to_pdus

__all__ = [
    "BindRefused",
    "ClientError",
    "Connection",
    "ConnectionLost",
    "ReceiptsMissing",
    "SendTimeout",
    "Sent",
    "SmscUnreachable",
    "connect",
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
        """The id of the first part: the one Kannel 1.4.5 asks a receipt for. Measured with
        bearerbox against the simulator (dlr-mask 19, a 3-part text): registered_delivery 1
        on part 1 and 0 on parts 2 and 3, so one receipt and one dlr-url callback per
        message. `send_text` asks a receipt for every part instead (`wait_for_receipts(...,
        by="message")` rolls them up)."""
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

    def request(self, command: str, *, wait: bool = True, timeout: float | None = None, **fields: Any) -> Any:
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
        limit = self.timeout if timeout is None else timeout
        if not waiter.event.wait(limit):
            self._waiters.pop(pdu.sequence, None)
            raise SendTimeout(f"no response to {command} from {self.address} within {limit:g} s")
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

    def close(self, unbind_timeout: float = 1.0) -> None:
        """Unbind (if still bound, waiting up to `unbind_timeout` s for unbind_resp -- §4.2),
        stop the listener and the reconnecting, close the socket."""
        self._closing.set()
        self._bound.set()  # wake any request waiting for a rebind
        if self.alive:
            with contextlib.suppress(ClientError):
                self.request("unbind", wait=True, timeout=min(self.timeout, unbind_timeout))
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
            waiter = self._waiters.get(pdu.sequence)
            if waiter is None:
                return
            if not _answers(waiter.command, command):
                # the SMSC's protocol error; an ESME does not nack a response, so the
                # request waits for its own answer or its timeout (§3.2, §5.1.2.1)
                self._event(f"{command} seq={pdu.sequence} does not answer {waiter.command} "
                            f"seq={pdu.sequence}: ignored, the request stays pending")
                return
            del self._waiters[pdu.sequence]
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


def _answers(request: str, response: str) -> bool:
    """`session.answers` for smpplib's command names."""
    req, resp = CommandId.__members__.get(request), CommandId.__members__.get(response)
    return req is not None and resp is not None and answers(req, resp)


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


def _wait_for_receipts(conns: list[Connection] | Callable[[], list[Connection]], sent: Iterable[Sent | str],
                       timeout: float, final: bool, by: str = "part", strict: bool = False) -> Any:
    """Wait for the receipts of `sent` on `conns` (a list, or a callable asked again on every
    poll, so a bind made while waiting, e.g. a cluster member's rebind, is watched too)."""
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
    seen: dict[int, int] = {}  # id(connection) -> receipts already looked at
    while True:
        for conn in conns() if callable(conns) else conns:
            rows = conn.receipts()
            for row in rows[seen.get(id(conn), 0):]:
                rid = row["receipt_id"] or row.get("receipted_message_id")
                if not rid or (final and _part_outcome(row["stat"]) == "intermediate"):
                    continue
                candidates = {m for key in id_readings(rid) for m in index.get(key, ())}
                for mid in sorted(candidates):
                    match = same_message(mid, rid)
                    if match and mid not in found:
                        found[mid] = {"message_id": mid, **row, "match": match.reason}
                        break
            seen[id(conn)] = len(rows)
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


def __getattr__(name: str) -> Any:
    # the cluster lives in smppkit.clients.cluster (it builds on Connection); the old names stay
    if name in ("Cluster", "connect_cluster", "resolve_cluster"):
        from smppkit.clients import cluster

        return getattr(cluster, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
