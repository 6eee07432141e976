"""Real SMPP clients for the simulator tests: smpplib (`Esme`) and a raw socket (`RawEsme`).

* `Esme` is an smpplib client that collects deliver_sm PDUs and answers them with
  `esme.answer` (a command_status, or None for "never answer").
* `RawEsme` is a socket client built on smppkit's codec, for the PDUs smpplib cannot send
  (submit_multi, cancel_sm, replace_sm) and for malformed input.

Every socket has a timeout and every loop a deadline.
"""

from __future__ import annotations

import itertools
import re
import socket
import ssl
import time
from typing import Any

import smpplib.client
import smpplib.consts
import smpplib.exceptions
import smpplib.smpp

from smppkit.protocol.codec import Framer, decode, encode
from smppkit.protocol.pdus import BindReceiver, BindTransceiver, BindTransmitter, DeliverSmResp, Pdu

SYSTEM_ID, PASSWORD = "smppkit", "secret"
#: SMPP v3.4 Appendix B in the provider's form (smpp-facts.md §1.7).
RECEIPT_RE = re.compile(
    r"^id:(?P<id>\S+) sub:001 dlvrd:(?P<dlvrd>\d{3}) submit date:(?P<submit>\d{10}) "
    r"done date:(?P<done>\d{10}) stat:(?P<stat>[A-Z]{7}) err:(?P<err>\d{3}) text:none$"
)


def hostport(address: str) -> tuple[str, int]:
    host, _, port = address.rpartition(":")
    return host, int(port)


def receipt_fields(pdu: Any) -> dict[str, str]:
    """The fields of a receipt's text (smpplib or smppkit PDU); fails if the format is off."""
    text = pdu.short_message.decode("ascii")
    match = RECEIPT_RE.match(text)
    assert match, f"receipt text not in the provider's format: {text!r}"
    return match.groupdict()


def text_of(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class Esme:
    """An smpplib client that answers deliver_sm with `answer` and keeps what it reads."""

    def __init__(
        self, address: str, *, ssl_context: ssl.SSLContext | None = None, timeout: float = 2.0,
        sock: socket.socket | None = None,
    ) -> None:
        host, port = hostport(address)
        self.client = smpplib.client.Client(
            host, port, timeout=timeout, ssl_context=ssl_context, allow_unknown_opt_params=True
        )
        if sock is None:
            self.client.connect()
        else:  # a connection the SMSC opened (outbind, SMPP v3.4 §4.1.7)
            sock.settimeout(timeout)
            self.client._socket = sock
            self.client.state = smpplib.consts.SMPP_CLIENT_STATE_OPEN
        self.timeout = timeout
        self.answer: int | None = 0
        self.answer_enquire_link = True  # False: a hung client
        self.delivered: list[Any] = []  # every deliver_sm, in arrival order
        self.unsolicited: list[Any] = []  # other requests the SMSC sent (unbind, ...)
        self.log: list[str] = []  # command names in arrival order
        self.closed = False

    # -- binding --
    def bind(
        self, kind: str = "transceiver", system_id: str = SYSTEM_ID, password: str = PASSWORD
    ) -> int:
        """Bind; return the bind_*_resp command_status (0 on success)."""
        try:
            getattr(self.client, f"bind_{kind}")(system_id=system_id, password=password)
        except smpplib.exceptions.PDUError as exc:
            return int(exc.args[1])
        return 0

    # -- reading --
    def read(self, timeout: float | None = None) -> Any:
        """One PDU (unsolicited requests answered), or None on timeout or closed socket."""
        if self.closed:
            return None
        self.client._socket.settimeout(timeout if timeout is not None else self.timeout)
        try:
            pdu = self.client.read_pdu()
        except TimeoutError:
            return None
        except smpplib.exceptions.ConnectionError:
            self.closed = True
            return None
        finally:
            if self.client._socket is not None:
                self.client._socket.settimeout(self.timeout)
        self.log.append(pdu.command)
        if pdu.command == "deliver_sm":
            self.delivered.append(pdu)
            if self.answer is not None:
                self.reply(pdu, "deliver_sm_resp", status=self.answer)
        elif pdu.command == "enquire_link" and self.answer_enquire_link:
            self.reply(pdu, "enquire_link_resp")
        elif pdu.command == "alert_notification":
            self.unsolicited.append(pdu)
        elif pdu.command == "unbind":
            self.unsolicited.append(pdu)
            self.reply(pdu, "unbind_resp")
        return pdu

    def reply(self, pdu: Any, command: str, status: int = 0) -> None:
        resp = smpplib.smpp.make_pdu(command, client=self.client, status=status)
        # make_pdu ignores sequence=...: smpplib's `sequence` property falls back to the
        # client's counter, so _set_vars sees a value and skips it. Set it afterwards.
        resp.sequence = pdu.sequence
        self._send(resp)

    def _send(self, pdu: Any) -> None:
        # Write directly: smpplib's state check would refuse answers in some states.
        self.client._socket.sendall(pdu.generate())

    def request(self, command: str, timeout: float | None = None, **fields: Any) -> Any:
        """Send a request; return its response (or generic_nack), None on timeout."""
        pdu = smpplib.smpp.make_pdu(command, client=self.client, **fields)
        self._send(pdu)
        return self.wait_response(pdu.sequence, f"{command}_resp", timeout)

    def wait_response(self, sequence: int, command: str, timeout: float | None = None) -> Any:
        deadline = time.monotonic() + (timeout if timeout is not None else self.timeout)
        while (left := deadline - time.monotonic()) > 0:
            pdu = self.read(left)
            if pdu is None and self.closed:
                return None
            if (
                pdu is not None
                and pdu.command in (command, "generic_nack")
                and pdu.sequence == sequence
            ):
                return pdu
        return None

    def submit(
        self,
        destination: str = "447700900000",
        text: bytes = b"hello",
        *,
        registered_delivery: int = 1,
        source: str = "smppkit",
        **fields: Any,
    ) -> Any:
        return self.request(
            "submit_sm",
            source_addr=source,
            destination_addr=destination,
            short_message=text,
            registered_delivery=registered_delivery,
            **fields,
        )

    def submit_id(self, *args: Any, **kwargs: Any) -> str:
        resp = self.submit(*args, **kwargs)
        assert resp is not None and resp.command == "submit_sm_resp" and resp.status == 0, resp
        return text_of(resp.message_id)

    def collect(self, n: int, timeout: float = 3.0) -> list[Any]:
        """Read until `n` deliver_sm arrived in total (or `timeout`); return all of them."""
        deadline = time.monotonic() + timeout
        while len(self.delivered) < n and (left := deadline - time.monotonic()) > 0:
            if self.read(left) is None and self.closed:
                break
        return list(self.delivered)

    def idle(self, seconds: float) -> None:
        """Keep reading (and answering) for `seconds`."""
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            if self.read(left) is None and self.closed:
                break

    def wait_closed(self, timeout: float = 3.0) -> bool:
        """True once the SMSC closed the connection (read until EOF)."""
        deadline = time.monotonic() + timeout
        while not self.closed and (left := deadline - time.monotonic()) > 0:
            self.read(left)
        return self.closed

    def unbind(self) -> Any:
        return self.request("unbind")

    def close(self) -> None:
        if self.client._socket is not None:
            self.client._socket.close()
            self.client._socket = None
        self.client.state = smpplib.consts.SMPP_CLIENT_STATE_CLOSED
        self.closed = True


class RawEsme:
    """A plain socket speaking smppkit's codec; sends anything, including garbage."""

    def __init__(self, address: str, timeout: float = 2.0, source: str | None = None) -> None:
        self.sock = socket.create_connection(hostport(address), timeout=timeout,
                                             source_address=(source, 0) if source else None)
        self.sock.settimeout(timeout)
        self.timeout = timeout
        self.framer = Framer(max_command_length=1 << 24)
        self._seq = itertools.count(1)
        self.answer: int | None = 0
        self.delivered: list[Pdu] = []
        self.eof = False

    def send(self, pdu: Pdu) -> Pdu:
        if pdu.sequence_number == 0 and not pdu.is_response:
            pdu = pdu.replace(sequence_number=next(self._seq))
        self.sock.sendall(encode(pdu))
        return pdu

    def send_bytes(self, data: bytes) -> None:
        self.sock.sendall(data)

    def read(self, timeout: float | None = None) -> Pdu | None:
        """The next PDU (deliver_sm answered), or None on timeout or EOF."""
        deadline = time.monotonic() + (timeout if timeout is not None else self.timeout)
        while True:
            frame = self.framer.next_frame()
            if frame is not None:
                pdu = decode(frame)
                if pdu.command_name == "deliver_sm":
                    self.delivered.append(pdu)
                    if self.answer is not None:
                        self.send(
                            DeliverSmResp(
                                command_status=self.answer, sequence_number=pdu.sequence_number
                            )
                        )
                return pdu
            left = deadline - time.monotonic()
            if self.eof or left <= 0:
                return None
            self.sock.settimeout(left)
            try:
                data = self.sock.recv(65536)
            except TimeoutError:
                return None
            except OSError:
                data = b""
            if not data:
                self.eof = True
            self.framer.feed(data)

    def request(self, pdu: Pdu, timeout: float | None = None) -> Pdu | None:
        """Send `pdu`; return its response or generic_nack (deliver_sm collected meanwhile)."""
        sent = self.send(pdu)
        deadline = time.monotonic() + (timeout if timeout is not None else self.timeout)
        while (left := deadline - time.monotonic()) > 0:
            got = self.read(left)
            if got is None:
                return None
            if got.is_response and got.sequence_number == sent.sequence_number:
                return got
        return None

    def bind(
        self, kind: str = "transceiver", system_id: str = SYSTEM_ID, password: str = PASSWORD
    ) -> Pdu | None:
        cls = {
            "transmitter": BindTransmitter,
            "receiver": BindReceiver,
            "transceiver": BindTransceiver,
        }[kind]
        return self.request(cls(system_id=system_id, password=password))

    def wait_closed(self, timeout: float = 3.0) -> bool:
        deadline = time.monotonic() + timeout
        while not self.eof and (left := deadline - time.monotonic()) > 0:
            self.read(left)
        return self.eof

    def close(self) -> None:
        self.sock.close()


def connect_refused(address: str, timeout: float = 1.0) -> bool:
    try:
        with socket.create_connection(hostport(address), timeout=timeout):
            return False
    except ConnectionRefusedError:
        return True
