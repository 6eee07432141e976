"""The cluster client the source document describes (smpp-facts §1.1, §1.2).

It binds SMPP1 and SMPP2 and spreads whole messages over them (never the parts of one
message: parts that reach different instances are never delivered). SMPP0 is bound only
while neither cluster member can be bound, and left as soon as one is back, after the
receipts still due on it (or `linger` seconds). A member that died comes back only after a
probation (`probation` enquire_links answered in a row), and its back-off is reset only
once it stayed up for `stable_after` seconds: a half-open or flaky instance is not rebound
and dropped again and again (hysteresis). A message whose submit was left unanswered by a
dying bind is sent again, whole, on another bind and flagged `resent` (the receiver may get
it twice); nothing else is sent twice.

Each bind is a `smppkit.clients.client.Connection` (its own listener and enquire_link
keepalive); a watcher thread here rebinds, probes and switches to and from the fallback.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from smppkit.clients.client import (
    ClientError,
    Connection,
    ConnectionLost,
    SendTimeout,
    Sent,
    SmscUnreachable,
    _split,
    _wait_for_receipts,
    default_account,
)
from smppkit.clients.esme import mo_frame
from smppkit.clients.reconnect import Reconnect

__all__ = ["Cluster", "connect_cluster", "resolve_cluster"]


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
        return _wait_for_receipts(self._all_conns, sent, timeout, final, by, strict)

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
