"""Bind and send with python-smpplib, the client people run in production, made safe to use.

Strategy: smpplib's `Client` does the wire work (bind, `send_message`, PDU parsing). What
it lacks for a notebook is added here: one background listener thread reads every PDU
(answers enquire_link and deliver_sm itself, with the deliver_sm_resp status you choose),
a lock keeps the listener's replies and your sends from interleaving on the socket
(smpplib issue #187), responses are matched to requests by sequence_number, and receipts
and MO are collected as rows ready for a DataFrame. Errors are one line: an unreachable
SMSC, a refused bind (with the status name and meaning) or a timeout.

The target of `connect()` is a simulator handle, "host:port", or None: then the
environment decides (SMPPKIT_SMSC=host:port, SMPPKIT_SYSTEM_ID, SMPPKIT_PASSWORD), so the
same notebook runs against a real SMSC.

`connect_cluster()` binds to several instances, as the source document asks for SMPP1
and SMPP2: whole messages are spread over the live binds (never the parts of one
message: parts split across instances are never delivered), a dead bind is noticed
(socket error, unanswered enquire_link), rebound with back-off, and submits it left
unanswered are sent again on a surviving bind (at least once: such duplicates are
flagged).
"""

from __future__ import annotations

import contextlib
import os
import select
import socket
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import smpplib.client
import smpplib.consts
import smpplib.exceptions
import smpplib.smpp

from smppkit.protocol.constants import CommandStatus, describe_status, status_name
from smppkit.sms.receipts import ReceiptError, id_readings, parse_receipt, same_message
from smppkit.sms.text import to_pdus

__all__ = [
    "BindRefused",
    "ClientError",
    "Cluster",
    "Connection",
    "SendTimeout",
    "Sent",
    "SmscUnreachable",
    "connect",
    "connect_cluster",
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


# --- targets ------------------------------------------------------------------------------------


def resolve_target(target: Any = None, instance: str = "SMPP1") -> tuple[str, int, str | None, str | None]:
    """(host, port, system_id, password) for a simulator handle, "host:port" or the environment.

    Raises:
        ClientError: no target and no SMPPKIT_SMSC in the environment, or a malformed one.
    """
    if target is None:
        target = os.environ.get("SMPPKIT_SMSC")
        if not target:
            raise ClientError("no SMSC given: pass a simulator or 'host:port', or set SMPPKIT_SMSC")
        return (*_split(target), os.environ.get("SMPPKIT_SYSTEM_ID"), os.environ.get("SMPPKIT_PASSWORD"))
    if hasattr(target, "address") and hasattr(target, "account"):
        host, port = _split(target.address(instance))
        return host, port, target.account.system_id, target.account.password
    if isinstance(target, tuple):
        return target[0], int(target[1]), None, None
    return (*_split(str(target)), None, None)


def _split(address: str) -> tuple[str, int]:
    host, sep, port = address.rpartition(":")
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
        """The id of the last part (the one Kannel asks a receipt for)."""
        return self.message_ids[-1] if self.message_ids else None

    def __repr__(self) -> str:
        state = "ok" if self.ok else ", ".join(status_name(s) for s in self.statuses if s)
        return f"Sent(to={self.to!r}, parts={self.parts}, ids={self.message_ids}, {state})"


@dataclass
class _Waiter:
    event: threading.Event = field(default_factory=threading.Event)
    pdu: Any = None


# --- one bind -----------------------------------------------------------------------------------


class Connection:
    """One smpplib bind with a listener thread. Create it with `connect()`.

    Attributes:
        received: rows (dicts) for every deliver_sm: receipts and MO.
        address: "host:port" of the SMSC.
        alive: False once the socket failed or the SMSC unbound.
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
        self.received: list[dict[str, Any]] = []
        self.alive = False
        self.died_at: float | None = None
        self.death_reason = ""
        self._lock = threading.Lock()
        self._waiters: dict[int, _Waiter] = {}
        self._stop = threading.Event()
        self._last_rx = time.monotonic()
        self._client = smpplib.client.Client(
            host, port, timeout=timeout, ssl_context=ssl_context, allow_unknown_opt_params=True
        )
        self._open(system_id, password, system_type)
        self._thread = threading.Thread(target=self._listen, name=f"smppkit-listener {self.name}", daemon=True)
        self._thread.start()

    def _open(self, system_id: str, password: str, system_type: str) -> None:
        try:
            self._client.connect()
        except (smpplib.exceptions.ConnectionError, OSError) as exc:
            cause = exc.__cause__ or exc.__context__ or exc
            self._disconnect()
            raise SmscUnreachable(f"cannot reach the SMSC at {self.address}: {_reason(cause)}") from None
        try:
            getattr(self._client, f"bind_{self.bind_type}")(
                system_id=system_id, password=password, system_type=system_type
            )
        except smpplib.exceptions.PDUError as exc:
            status = int(exc.args[1]) if len(exc.args) > 1 else CommandStatus.ESME_RUNKNOWNERR
            self._disconnect()
            raise BindRefused(
                f"bind_{self.bind_type} refused by {self.address}: {status_name(status)} "
                f"(0x{status:08X}) {describe_status(status)}",
                status,
            ) from None
        except smpplib.exceptions.ConnectionError:
            self._disconnect()
            raise SmscUnreachable(
                f"the SMSC at {self.address} closed the connection or did not answer the bind "
                f"within {self.timeout:g} s"
            ) from None
        self.alive = True

    # -- sending -------------------------------------------------------------------------------

    def request(self, command: str, *, wait: bool = True, **fields: Any) -> Any:
        """Send one smpplib PDU (`command` like "submit_sm") and return the response PDU.

        Raises:
            ClientError: the bind is dead. SendTimeout: no response within `timeout`.
        """
        if not self.alive:
            raise ClientError(f"the bind to {self.address} is down ({self.death_reason or 'closed'})")
        pdu = smpplib.smpp.make_pdu(command, client=self._client, **fields)
        waiter = _Waiter()
        self._waiters[pdu.sequence] = waiter
        try:
            with self._lock:
                self._client.send_pdu(pdu)
        except smpplib.exceptions.PDUError as exc:
            # smpplib refused it locally (e.g. submit_sm on a receiver bind): nothing was
            # sent and the bind is fine.
            self._waiters.pop(pdu.sequence, None)
            raise ClientError(f"smpplib will not send {command} on a {self.bind_type} bind: {exc.args[0]}") from None
        except (smpplib.exceptions.ConnectionError, OSError) as exc:
            self._waiters.pop(pdu.sequence, None)
            self._die(f"send failed: {_reason(exc)}")
            raise ClientError(f"cannot send {command} to {self.address}: {_reason(exc)}") from None
        if not wait:
            return pdu
        if not waiter.event.wait(self.timeout):
            self._waiters.pop(pdu.sequence, None)
            raise SendTimeout(f"no response to {command} from {self.address} within {self.timeout:g} s")
        if waiter.pdu is None:
            raise ClientError(f"the bind to {self.address} died before {command} was answered")
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

    # -- receipts --------------------------------------------------------------------------------

    def receipts(self) -> list[dict[str, Any]]:
        return [row for row in self.received if row["is_receipt"]]

    def wait_for_receipts(self, sent: Iterable[Sent | str], timeout: float = 10.0, *, final: bool = True) -> Any:
        """Wait until every message id in `sent` has a receipt; return them as a DataFrame.

        Ids are matched across forms (hex resp id, decimal receipt id, padding, case), as
        `smppkit.receipts.same_message` explains; the `match` column says how. With
        `final=True` intermediate notifications (ACCEPTD/ENROUTE) do not count.

        Raises:
            SendTimeout: some ids got no receipt in time (the message lists them).
        """
        return _wait_for_receipts([self], sent, timeout, final)

    def close(self) -> None:
        """Unbind (if still bound), stop the listener and close the socket."""
        if self.alive:
            with contextlib.suppress(ClientError):
                self.request("unbind", wait=True)
        self._stop.set()
        self.alive = False
        if threading.current_thread() is not self._thread:
            self._thread.join(self.timeout + 1)
        self._disconnect()

    def _disconnect(self) -> None:
        # smpplib warns when a socket closes "in the bound state"; by now we know it is gone.
        self._client.state = smpplib.consts.SMPP_CLIENT_STATE_OPEN
        with contextlib.suppress(Exception):
            self._client.disconnect()

    def __enter__(self) -> Connection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "bound" if self.alive else "down"
        return f"<smppkit Connection {self.bind_type} {self.name} {state}, {len(self.received)} received>"

    # -- the listener ----------------------------------------------------------------------------

    def _listen(self) -> None:
        sock = self._client._socket
        last_enquire = time.monotonic()
        enquire_sent: float | None = None
        while not self._stop.is_set():
            try:
                readable, _, _ = select.select([sock], [], [], 0.1)
            except (OSError, ValueError):
                self._die("socket closed")
                return
            now = time.monotonic()
            if not readable:
                if enquire_sent is not None and now - enquire_sent > self.timeout:
                    self._die(f"enquire_link unanswered for {self.timeout:g} s")
                    return
                if now - max(self._last_rx, last_enquire) > self.enquire_link_interval:
                    last_enquire = now
                    enquire_sent = now
                    with contextlib.suppress(Exception):
                        self.request("enquire_link", wait=False)
                continue
            try:
                pdu = self._client.read_pdu()
            except (smpplib.exceptions.ConnectionError, smpplib.exceptions.PDUError, OSError,
                    AttributeError) as exc:  # AttributeError: smpplib's socket already closed
                if not self._stop.is_set():
                    self._die(f"read failed: {_reason(exc)}")
                return
            self._last_rx = time.monotonic()
            if pdu.command == "enquire_link_resp":
                enquire_sent = None
            self._dispatch(pdu)

    def _dispatch(self, pdu: Any) -> None:
        command = pdu.command
        if command in ("deliver_sm", "data_sm"):
            self.received.append(_received_row(pdu, self.address))
            self._reply(f"{command}_resp", pdu, self.deliver_status)
        elif command == "enquire_link":
            self._reply("enquire_link_resp", pdu, 0)
        elif command == "unbind":
            self._reply("unbind_resp", pdu, 0)
            self._die("the SMSC unbound")
        elif command == "alert_notification":
            self.received.append(_received_row(pdu, self.address))
        else:
            waiter = self._waiters.pop(pdu.sequence, None)
            if waiter is not None:
                waiter.pdu = pdu
                waiter.event.set()

    def _reply(self, command: str, request: Any, status: int) -> None:
        resp = smpplib.smpp.make_pdu(command, client=self._client, status=status)
        resp.sequence = request.sequence  # make_pdu ignores a sequence= argument
        try:
            with self._lock:
                self._client.send_pdu(resp)
        except (smpplib.exceptions.ConnectionError, smpplib.exceptions.PDUError, OSError) as exc:
            self._die(f"reply failed: {_reason(exc)}")

    def _die(self, reason: str) -> None:
        if self.alive:
            self.alive = False
            self.died_at = time.monotonic()
            self.death_reason = reason
        for waiter in list(self._waiters.values()):
            waiter.event.set()  # waiter.pdu stays None: the caller sees the death
        self._stop.set()

    def pending(self) -> int:
        return len(self._waiters)


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


def _received_row(pdu: Any, address: str) -> dict[str, Any]:
    esm = int(getattr(pdu, "esm_class", 0) or 0)
    text = getattr(pdu, "short_message", b"") or b""
    row: dict[str, Any] = {
        "time": time.time(),
        "address": address,
        "command": pdu.command,
        "source_addr": _s(getattr(pdu, "source_addr", "")),
        "destination_addr": _s(getattr(pdu, "destination_addr", "")),
        "esm_class": esm,
        "is_receipt": bool(esm & 0x3C in (0x04, 0x20)),
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
    return row


def _s(value: Any) -> str:
    return value.decode("latin-1") if isinstance(value, bytes) else str(value or "")


_INTERMEDIATE = {"ACCEPTD", "ENROUTE"}


def _wait_for_receipts(conns: list[Connection], sent: Iterable[Sent | str], timeout: float, final: bool) -> Any:
    import pandas as pd

    wanted: list[str] = []
    for item in sent:
        wanted.extend([i for i in item.message_ids if i] if isinstance(item, Sent) else [item])
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
                if not rid or (final and row["stat"] in _INTERMEDIATE):
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
    if missing:
        raise SendTimeout(
            f"no receipt within {timeout:g} s for {len(missing)} of {len(wanted)} message(s): "
            + ", ".join(missing[:5]) + (" ..." if len(missing) > 5 else "")
        )
    columns = ["message_id", "receipt_id", "stat", "err", "address", "match"]
    return pd.DataFrame([found[m] for m in wanted], columns=columns)


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
) -> Connection:
    """Bind to an SMSC with smpplib and start the listener.

    Args:
        target: a simulator handle (binds to `instance` with its account), "host:port",
            or None to read SMPPKIT_SMSC / SMPPKIT_SYSTEM_ID / SMPPKIT_PASSWORD.
        bind: "transceiver" (default), "transmitter" or "receiver".
        deliver_status: command_status of every deliver_sm_resp (try 0x58 to see retries).

    Raises:
        SmscUnreachable: no TCP connection. BindRefused: the bind was refused.
    """
    host, port, sid, pwd = resolve_target(target, instance)
    return Connection(
        host, port,
        system_id=system_id or sid or "smppkit",
        password=password if password is not None else (pwd or ""),
        bind=bind, deliver_status=deliver_status, timeout=timeout,
        enquire_link_interval=enquire_link_interval, ssl_context=ssl_context,
        name=instance if hasattr(target, "address") else "",
    )


# --- several binds ------------------------------------------------------------------------------


class Cluster:
    """Binds to several SMSC instances; spreads whole messages; rebinds dead binds.

    Attributes:
        events: (time, address, what) rows: deaths, rebinds, resends.
        recoveries: seconds from each death to its successful rebind.
    """

    def __init__(self, addresses: list[str], *, system_id: str, password: str,
                 bind: str = "transceiver", timeout: float = 2.0,
                 enquire_link_interval: float = 5.0, backoff: tuple[float, float] = (0.1, 2.0)) -> None:
        self.addresses = addresses
        self._kw = dict(system_id=system_id, password=password, bind=bind, timeout=timeout,
                        enquire_link_interval=enquire_link_interval)
        self.backoff = backoff
        self.events: list[tuple[float, str, str]] = []
        self.recoveries: list[float] = []
        self.sent: list[Sent] = []
        self.conns: dict[str, Connection | None] = {}
        self._down_since: dict[str, float] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._rr = 0
        self._retired: list[Connection] = []  # dead binds, kept for the receipts they got
        errors = []
        for address in addresses:
            try:
                self.conns[address] = self._bind(address)
            except ClientError as exc:
                self.conns[address] = None
                self._down_since[address] = time.monotonic()
                errors.append(str(exc))
                self._event(address, f"bind failed: {exc}")
        if not any(self.conns.values()):
            raise SmscUnreachable("no instance could be bound: " + "; ".join(errors))
        self._watcher = threading.Thread(target=self._watch, name="smppkit-cluster", daemon=True)
        self._watcher.start()

    def _bind(self, address: str) -> Connection:
        host, port = _split(address)
        return Connection(host, port, name=address, **self._kw)  # type: ignore[arg-type]

    def _event(self, address: str, what: str) -> None:
        self.events.append((time.monotonic(), address, what))

    def live(self) -> list[Connection]:
        return [c for c in self.conns.values() if c is not None and c.alive]

    def send_text(self, to: str, text: str, **kwargs: Any) -> Sent:
        """Send one whole message on the next live bind; if that bind dies mid-way, send the
        whole message again on another (flagged `resent`: the receiver may get it twice)."""
        last: Exception | None = None
        resent = False
        for _ in range(len(self.addresses) * 2 + 1):
            live = self.live()
            if not live:
                self._wait_for_live(self._kw["timeout"] * 2)  # type: ignore[operator]
                live = self.live()
                if not live:
                    break
            with self._lock:
                conn = live[self._rr % len(live)]
                self._rr += 1
            try:
                result = conn.send_text(to, text, **kwargs)
            except ClientError as exc:
                last = exc
                resent = True
                self._event(conn.address, f"message to {to} unacknowledged ({exc}); sending again elsewhere")
                continue
            result.resent = resent
            self.sent.append(result)
            return result
        raise ClientError(f"no live bind could take the message to {to}: {last}")

    def _wait_for_live(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not self.live() and time.monotonic() < deadline:
            time.sleep(0.02)

    def _watch(self) -> None:
        delays = {a: self.backoff[0] for a in self.addresses}
        next_try = dict.fromkeys(self.addresses, 0.0)
        while not self._stop.wait(0.05):
            now = time.monotonic()
            for address, conn in list(self.conns.items()):
                if conn is not None and conn.alive:
                    continue
                if conn is not None and address not in self._down_since:
                    self._down_since[address] = conn.died_at or now
                    self._event(address, f"bind died: {conn.death_reason}")
                    with contextlib.suppress(Exception):
                        conn.close()
                    self._retired.append(conn)
                    self.conns[address] = None
                if now < next_try[address]:
                    continue
                try:
                    self.conns[address] = self._bind(address)
                except ClientError:
                    delays[address] = min(self.backoff[1], delays[address] * 2)
                    next_try[address] = now + delays[address]
                    continue
                since = self._down_since.pop(address, now)
                self.recoveries.append(time.monotonic() - since)
                delays[address] = self.backoff[0]
                self._event(address, f"rebound after {self.recoveries[-1]:.2f} s")

    def wait_for_receipts(self, sent: Iterable[Sent | str], timeout: float = 10.0, *, final: bool = True) -> Any:
        """Like `Connection.wait_for_receipts`, over every bind (receipts may come on any)."""
        conns = [c for c in self._all_conns()]
        return _wait_for_receipts(conns, sent, timeout, final)

    def _all_conns(self) -> list[Connection]:
        return [c for c in self.conns.values() if c is not None] + self._retired

    def events_frame(self) -> Any:
        import pandas as pd

        t0 = self.events[0][0] if self.events else 0.0
        return pd.DataFrame(
            [(round(t - t0, 3), a, w) for t, a, w in self.events], columns=["seconds", "address", "event"]
        )

    def close(self) -> None:
        self._stop.set()
        self._watcher.join(2)
        for conn in self.conns.values():
            if conn is not None:
                conn.close()

    def __enter__(self) -> Cluster:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def connect_cluster(
    targets: Any,
    *,
    system_id: str | None = None,
    password: str | None = None,
    instances: tuple[str, ...] = ("SMPP1", "SMPP2"),
    **kwargs: Any,
) -> Cluster:
    """Bind to every address (or to SMPP1 and SMPP2 of a simulator handle).

    Raises:
        SmscUnreachable: not a single instance could be bound.
    """
    if hasattr(targets, "address") and hasattr(targets, "account"):
        addresses = [targets.address(i) for i in instances]
        system_id = system_id or targets.account.system_id
        password = password if password is not None else targets.account.password
    else:
        addresses = list(targets)
    return Cluster(addresses, system_id=system_id or "smppkit", password=password or "", **kwargs)
