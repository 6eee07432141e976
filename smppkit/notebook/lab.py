"""The notebook lab: one call that gives a notebook an SMSC to talk to, and what notebooks share.

Strategy: a notebook's first cell is ``smsc = lab.start(seed=7)``. Without SMPPKIT_SMSC in
the environment that starts the simulator (seeded, fixed epoch clock, so every id, outcome
and receipt date in the notebook is the same on every run); with SMPPKIT_SMSC=host:port
(plus SMPPKIT_SYSTEM_ID, SMPPKIT_PASSWORD and SMPPKIT_TO, your own handset) it starts
nothing and `smsc.target` is None, which `smppkit.client.connect` reads as "use the
environment". Either way it prints one line saying where binds will go.

The helpers below exist so that notebook cells stay two to six lines that call the
package (STYLE.md, "Notebooks: thin cells"):

* `setup_display` sets the pandas options once, as xarray's tutorials call `set_options`;
* `receipt_zoo` loads the receipt variants, so no notebook builds a path by hand;
* `exchange` sends PDUs over a raw socket through a sans-IO `Session` with its state
  checks off (``force=True``), to see what an SMSC *answers* to a request a careful client
  (smpplib, or `Session` itself) would refuse to send;
* `send_split` sends the parts of one message over different binds of a cluster, the
  mistake the provider warns about ("Parts that arrive on smpp1 and smpp2 ... are never
  delivered" -- smpp-facts.md §1.2);
* `wait_until` waits for a condition that another thread makes true (a bind noticed dead).
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from smppkit.notebook.widgets import monitor  # the simulator's live counters, in place
from smppkit.protocol.errors import LocalProtocolError, RemoteProtocolError
from smppkit.protocol.pdus import Pdu
from smppkit.protocol.session import (
    CONNECTION_CLOSED,
    NEED_DATA,
    InvalidPdu,
    Rejected,
    Role,
    Session,
    answers,
)

__all__ = [
    "Lab",
    "ZOO_PATH",
    "exchange",
    "monitor",
    "receipt_zoo",
    "send_split",
    "setup_display",
    "start",
    "wait_until",
]

#: The receipt variants (one JSON object per line: name, source, text, expected).
ZOO_PATH = Path(__file__).resolve().parents[2] / "data" / "receipts" / "zoo.jsonl"

#: pandas options every notebook uses: wide frames on one line, no truncated ids.
DISPLAY_OPTIONS: dict[str, Any] = {
    "display.max_columns": 30,
    "display.max_rows": 60,
    "display.width": 160,
    "display.max_colwidth": 90,
    "display.show_dimensions": False,
}


class Lab:
    """Where a notebook's binds go: the simulator it started, or a real SMSC.

    Attributes:
        sim: the `SimulatorHandle`, or None when the environment names a real SMSC.
        target: what `smppkit.client.connect` takes: the simulator, or None for the
            environment (SMPPKIT_SMSC, SMPPKIT_SYSTEM_ID, SMPPKIT_PASSWORD).
        where: the one line `start` printed.
    """

    def __init__(self, sim: Any, where: str, env: Mapping[str, str]) -> None:
        self.sim = sim
        self.target = sim
        self.where = where
        self._env = dict(env)

    @property
    def is_simulator(self) -> bool:
        return self.sim is not None

    def number(self, last_digit: int = 0) -> str:
        """A destination number: on the simulator the test number whose last digit forces
        the outcome (see `smppkit.simulator.TEST_NUMBERS`), on a real SMSC SMPPKIT_TO.

        Raises:
            ValueError: `last_digit` is not 0-9.
            RuntimeError: a real SMSC and no SMPPKIT_TO.
        """
        if not 0 <= last_digit <= 9:
            raise ValueError(f"last_digit is 0-9, got {last_digit}")
        if self.sim is not None:
            return f"44770090000{last_digit}"
        to = self._env.get("SMPPKIT_TO")
        if not to:
            raise RuntimeError("set SMPPKIT_TO to your own handset's number to send for real")
        return to

    def address(self, instance: str = "SMPP1") -> str:
        """"host:port" of a simulator instance, or the real SMSC's (SMPPKIT_SMSC)."""
        if self.sim is not None:
            return self.sim.address(instance)
        return self._env.get("SMPPKIT_SMSC", "").split(",")[0]

    @property
    def account(self) -> tuple[str, str]:
        """(system_id, password) binds use: the simulator's account, or the environment's."""
        if self.sim is not None:
            return self.sim.account.system_id, self.sim.account.password
        from smppkit.clients.client import default_account

        return default_account(self._env)

    def connect(self, **kwargs: Any) -> Any:
        """`smppkit.client.connect(self.target, **kwargs)`."""
        from smppkit.clients.client import connect

        return connect(self.target, **kwargs)

    def simulator_only(self, what: str) -> bool:
        """True on the simulator. Against a real SMSC, print one line saying that `what`
        needs the simulator and return False: ``if smsc.simulator_only("..."):`` guards a
        cell's body, and the notebook goes on."""
        if self.sim is not None:
            return True
        print(f"(needs the simulator: {what}; skipped against {self._env.get('SMPPKIT_SMSC')})")
        return False

    def inject_mo(self, source_addr: str, destination_addr: str, text: str, **options: Any) -> int:
        """Make the simulator send a mobile-originated message (long ones in parts) to the
        account's receiving binds; return the number of deliver_sm queued. Against a real
        SMSC nothing can be injected: it says so and returns 0 (send one from a handset).

        Args:
            **options: `SimulatorHandle.inject_mo` options (reference, encoding, instance).
        """
        if not self.simulator_only("injecting an MO; send an SMS from a handset to your number instead"):
            return 0
        return self.sim.inject_mo(source_addr, destination_addr, text, **options)

    def close(self) -> None:
        """Stop the simulator (nothing to do for a real SMSC). Safe to call twice."""
        if self.sim is not None:
            self.sim.stop()

    def __enter__(self) -> Lab:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<smppkit lab: {self.where}>"


def start(
    seed: int = 7,
    *,
    dlr_delay: float = 0.05,
    profile: str = "nexmo",
    env: Mapping[str, str] | None = None,
    quiet: bool = False,
    **options: Any,
) -> Lab:
    """Start the simulator, or use the real SMSC that the environment names.

    Args:
        seed: the simulator's seed (ids, outcomes, delays); ignored for a real SMSC.
        dlr_delay: mean seconds from submit to receipt in the simulator.
        profile: "nexmo" (SMPP1+SMPP2 cluster and SMPP0) or "single".
        env: the environment to read (default `os.environ`).
        quiet: do not print the line saying where binds go.
        **options: more `smppkit.simulator.start` options (retry_delay=..., max_binds=...).

    Returns:
        A `Lab`; call `close()` (or use ``with``) at the end.
    """
    env = os.environ if env is None else env
    address = env.get("SMPPKIT_SMSC")
    if address:
        who = env.get("SMPPKIT_SYSTEM_ID") or "smppkit"
        where = (f"a real SMSC at {address} as system_id {who!r} (from SMPPKIT_SMSC); "
                 "simulator-only cells will be skipped")
        lab = Lab(None, where, env)
    else:
        from smppkit import simulator

        sim = simulator.start(profile=profile, seed=seed, dlr_delay=dlr_delay, **options)
        names = sim.instances
        where = (f"the smppkit simulator (profile {profile!r}, seed {seed}): "
                 f"{', '.join(names)} on {sim.host}, account {sim.account.system_id!r}; "
                 "set SMPPKIT_SMSC=host:port to use a real SMSC")
        lab = Lab(sim, where, env)
    if not quiet:
        print(f"smppkit lab: {where}")
    return lab


def setup_display() -> None:
    """Set the pandas display options every notebook uses (`DISPLAY_OPTIONS`)."""
    import pandas as pd

    for key, value in DISPLAY_OPTIONS.items():
        pd.set_option(key, value)


def receipt_zoo(path: str | Path | None = None) -> Any:
    """The receipt variants as a DataFrame, one row per variant: name, source, text and
    carrier ("short_message", or "TLVs" for the variants that need a deliver_sm's TLVs).

    Args:
        path: another JSONL file with the same fields (default `ZOO_PATH`).
    """
    import pandas as pd

    rows = []
    with open(path or ZOO_PATH, encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                case = json.loads(line)
                carrier = "TLVs" if "tlvs" in case or "pdu" in case else "short_message"
                rows.append({**{k: case.get(k) for k in ("name", "source", "text")},
                             "carrier": carrier})
    return pd.DataFrame(rows, columns=["name", "source", "text", "carrier"]).astype("string")


def exchange(address: str, pdus: Iterable[Pdu], *, timeout: float = 2.0) -> list[Any]:
    """Send `pdus` one by one over a new TCP connection; return what the SMSC answered.

    Each PDU is sent with the session's state checks off (``force=True``), so a request
    the bind state forbids really reaches the SMSC, and the reply to it is collected: the
    response PDU, or a `Rejected`/`InvalidPdu` event. An `unbind` is sent at the end when
    the connection is still bound. Requests the SMSC sends on its own (deliver_sm) are
    answered by the session and not returned.

    Args:
        address: "host:port".
        pdus: the requests, sequence_number 0 (numbered here).
        timeout: seconds to wait for each answer.

    Returns:
        One entry per PDU: its response, or None when none came within `timeout`.

    Raises:
        OSError: no TCP connection could be made.
    """
    host, _, port = address.rpartition(":")
    session = Session(Role.ESME)
    replies: list[Any] = []
    with socket.create_connection((host or "127.0.0.1", int(port)), timeout=timeout) as sock:
        for pdu in pdus:
            sent = session.send(pdu, force=True)
            sock.sendall(session.data_to_send())
            replies.append(_answer_to(session, sock, sent, timeout))
        if session.is_bound:
            from smppkit.protocol.pdus import Unbind

            with contextlib.suppress(OSError, LocalProtocolError):
                sent = session.send(Unbind())
                sock.sendall(session.data_to_send())
                _answer_to(session, sock, sent, timeout)
    return replies


def _answer_to(session: Session, sock: socket.socket, request: Pdu, timeout: float) -> Any:
    """The response to `request` (same sequence_number, a matching command_id: `answers`),
    or a Rejected/InvalidPdu event, or None after `timeout`."""
    seq = request.sequence_number
    deadline = time.monotonic() + timeout
    while True:
        event = session.next_event()
        if event is NEED_DATA:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            sock.settimeout(remaining)
            try:
                data = sock.recv(65536)
            except TimeoutError:
                return None
            session.receive_data(data)
            continue
        if event is CONNECTION_CLOSED:
            return None
        out = session.data_to_send()  # automatic replies (enquire_link_resp, ...)
        if out:
            sock.sendall(out)
        if isinstance(event, Rejected | InvalidPdu):
            return event
        if isinstance(event, Pdu):
            if event.sequence_number == seq and answers(request.command_id, event.command_id):
                return event
            if not event.command_id.is_response and event.command_name in ("deliver_sm", "data_sm"):
                with contextlib.suppress(LocalProtocolError, RemoteProtocolError):
                    session.send(_response_to(event))
                    sock.sendall(session.data_to_send())


def _response_to(pdu: Pdu) -> Pdu:
    from smppkit.protocol.pdus import RESPONSE_OF

    return RESPONSE_OF[type(pdu)](sequence_number=pdu.sequence_number)


def send_split(cluster: Any, to: str, text: str, *, reference: int = 0, **kwargs: Any) -> Any:
    """Send the parts of one message round-robin over a cluster's live binds (a mistake).

    This is what the provider says never to do: parts that reach SMPP1 and SMPP2 land on
    different gateways and are never put together (smpp-facts.md §1.2). Use it to see the
    result; use `Cluster.send_text` to send correctly.

    Args:
        cluster: a `smppkit.client.Cluster` with at least two live binds.
        to, text, reference: as for `Connection.send_text`.
        **kwargs: more `smppkit.text.to_pdus` arguments (source_addr, encoding, ...).

    Returns:
        A `smppkit.client.Sent` with every part's id; `address` lists the binds used.

    Raises:
        ValueError: fewer than two live binds.
    """
    from smppkit.clients.client import Sent
    from smppkit.sms.text import to_pdus

    conns = cluster.live()
    if len(conns) < 2:
        raise ValueError(f"send_split needs two live binds, the cluster has {len(conns)}")
    kwargs.setdefault("source_addr", "smppkit")
    kwargs.setdefault("registered_delivery", 1)
    pdus = to_pdus(text, destination_addr=to, reference=reference, **kwargs)
    ids: list[str | None] = []
    statuses: list[int] = []
    used: list[str] = []
    for index, pdu in enumerate(pdus):
        conn = conns[index % len(conns)]
        resp = conn.submit(pdu)
        statuses.append(int(resp.status))
        mid = getattr(resp, "message_id", None)
        ids.append(mid.decode("latin-1") if isinstance(mid, bytes) else mid or None)
        if conn.address not in used:
            used.append(conn.address)
    return Sent(to, text, ids, statuses, ", ".join(used), len(pdus))


def wait_until(predicate: Callable[[], bool], timeout: float = 5.0, interval: float = 0.02) -> bool:
    """Poll `predicate` until it returns true or `timeout` seconds pass; return its last value."""
    deadline = time.monotonic() + timeout
    while True:
        value = bool(predicate())
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(interval)
