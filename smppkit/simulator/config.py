"""What the simulator is told: accounts, instances, receipts, outcomes. Plain data, no I/O.

The default profile "nexmo" follows the source document (`docs/source-document.md`):
SMPP1 and SMPP2 form a cluster with one shared message store, SMPP0 stands alone. Limits
follow the provider's published defaults (smpp-facts.md §1.2-1.3): 30 messages/s per
account (above that: ESME_RTHROTTLED, 0x58) and 2 binds per account (a third:
ESME_RALYBND, 0x05).
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from smppkit.protocol.codec import DEFAULT_MAX_COMMAND_LENGTH, HEADER_LENGTH

__all__ = [
    "FAILURE_MIX",
    "Account",
    "InstanceSpec",
    "Outcome",
    "PROFILES",
    "SimConfig",
    "TEST_NUMBERS",
    "check_limits",
    "draw_outcome",
    "test_number_outcome",
]

#: The fixed clock start used when a seed is given, so receipt dates are reproducible.
DEFAULT_EPOCH = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


@dataclass(frozen=True)
class Account:
    """One SMPP account (system_id + password) and its limits."""

    system_id: str = "smppkit"
    password: str = field(default="secret", repr=False)
    throughput: float | None = 30.0  # submits per second, shared by the account's binds everywhere
    max_binds: int = 2  # across every instance, SMPP0 included (smpp-facts.md §1.2)
    allow_ips: tuple[str, ...] = ()  # empty: any address may bind
    max_pending: int | None = None  # messages not yet final; above it ESME_RMSGQFUL

    @classmethod
    def parse(cls, text: str, **limits: object) -> Account:
        """`"SYSTEM_ID:PASSWORD"` as given on the command line."""
        system_id, sep, password = text.partition(":")
        if not sep or not system_id:
            why = "no ':' in it" if not sep else "nothing before the ':'"  # never echo it: a secret
            raise ValueError(f"account must look like SYSTEM_ID:PASSWORD; got {len(text)} characters, {why}")
        return cls(system_id=system_id, password=password, **limits)  # type: ignore[arg-type]


@dataclass(frozen=True)
class InstanceSpec:
    """One listening SMSC instance. Instances with the same `cluster` share a store."""

    name: str
    cluster: str
    port_offset: int


PROFILES: dict[str, tuple[InstanceSpec, ...]] = {
    "nexmo": (
        InstanceSpec("SMPP1", "cluster", 0),
        InstanceSpec("SMPP2", "cluster", 1),
        InstanceSpec("SMPP0", "standalone", 2),
    ),
    "single": (InstanceSpec("SMPP0", "standalone", 0),),
}


class Outcome(NamedTuple):
    """How one message ends: its final `stat`, provider `err`, delay, and extras (a
    NamedTuple: one is made for every message)."""

    stat: str = "DELIVRD"
    err: int = 0
    delay: float = 0.0
    receipt: bool = True  # False: the SMSC never sends a receipt
    intermediate: bool = False  # an ACCEPTD intermediate notification first


# The reserved UK drama range 447700900000-447700900999: the last digit forces the outcome.
TEST_NUMBERS: dict[int, tuple[str, str]] = {
    0: ("DELIVRD", "delivered, err 000"),
    1: ("UNDELIV", "undeliverable, err 001 (unknown)"),
    2: ("EXPIRED", "expired, err 002 (absent subscriber, temporary)"),
    3: ("REJECTD", "rejected, err 006 (anti-spam rejection)"),
    4: ("NONE", "accepted, but no receipt is ever sent"),
    5: ("DELIVRD", "delivered after a long delay (10x dlr-delay)"),
    6: ("DELIVRD", "ACCEPTD intermediate notification, then DELIVRD"),
    7: ("UNDELIV", "undeliverable, err 007 (handset busy, temporary)"),
    8: ("DELETED", "deleted, err 099 (general error)"),
    9: ("UNKNOWN", "unknown, err 001"),
}
_TEST_RANGE = range(447700900000, 447700901000)


def test_number_outcome(destination: str, dlr_delay: float) -> Outcome | None:
    """The forced outcome for a test number, or None for any other destination."""
    digits = destination.lstrip("+")
    if not (digits.isascii() and digits.isdigit()) or int(digits) not in _TEST_RANGE:
        return None
    last = int(digits[-1])
    stat = TEST_NUMBERS[last][0]
    err = {0: 0, 1: 1, 2: 2, 3: 6, 4: 0, 5: 0, 6: 0, 7: 7, 8: 99, 9: 1}[last]
    if last == 4:
        return Outcome(stat="DELIVRD", receipt=False, delay=dlr_delay)
    if last == 5:
        return Outcome(stat=stat, err=err, delay=10 * dlr_delay)
    return Outcome(stat=stat, err=err, delay=dlr_delay, intermediate=last == 6)


@dataclass
class SimConfig:
    """Everything `start()` and `smppkit sim` accept.

    Attributes:
        id_format: "nexmo" (submit_sm_resp id in hex, receipt id the same number in
            decimal, as the provider does -- smpp-facts.md §1.6), "hex" or "decimal".
        dlr_delay: mean seconds from submit to receipt for ordinary numbers.
        epoch: start of the simulator's clock (receipt dates and trace times); None for
            the wall clock.
        receipt_tlvs: which TLVs a receipt carries besides its text.
        concat_timeout: seconds to wait for the missing parts of a concatenated message.
        deliver_timeout: seconds to wait for a deliver_sm_resp before sending again.
        retry_delay: first back-off for a receipt the ESME asked to retry (doubles, at
            most 60 s). A receipt is sent again until it is answered with a final status
            or its validity ends; it is never dropped.
        inactivity_timeout: seconds without a whole PDU from the ESME before the SMSC
            unbinds (None: never); octets of an unfinished PDU do not count.
        default_validity: seconds a message (and its receipt) lives when the submit gives
            no validity_period (§7.1.1).
        max_stored_receipts: receipts the store holds (waiting, in flight or waiting for a
            resend); when full, new submits get ESME_RMSGQFUL.
        enquire_link: the SMSC sends enquire_link on a session idle for
            `enquire_link_interval` s (None: the profile's, 60 s) and unbinds it when no
            enquire_link_resp comes within `enquire_link_timeout` s (§4.11).
        bind_timeout: seconds a new connection may stay unbound (None: forever).
        pdu_timeout: seconds a PDU may take to arrive once its first octet has (None:
            forever); a stalled one closes the connection.
        max_connections, max_connections_per_address: connections open at once, in all
            and from one source address (None: no limit); more are closed at once.
        max_command_length: the largest PDU accepted, which is also what one connection
            may have buffered unread; a larger command_length gets generic_nack
            ESME_RINVCMDLEN and the connection is closed (§3.2).
        read_chunk: octets read from one connection per event-loop turn, so one busy
            client cannot starve the others.
        max_pdus_per_turn: PDUs handled from one connection per event-loop turn; the
            rest wait, unread, for its next turn (fairness).
        write_high_water: unsent octets for one connection above which the SMSC stops
            reading it until they drain to a quarter of that, and holds its receipts in
            the store meanwhile (in order: they go out when it drains); also the most
            octets of deliver_sm one connection is given per turn.
        bind_failure_limit, bind_lockout: after this many failed binds in a row from one
            address (wrong system_id or password), binds from it are refused with
            ESME_RBINDFAIL for `bind_lockout` s, the password unchecked (None: never).
        tls_only: listen with TLS only, on the plain ports (implies `tls`).
        outbind: "host:port" of an ESME the SMSC outbinds to (§4.1.7) with the account
            `outbind_account` (default the first) on `outbind_instance` (default the first).
        alert_notification: send alert_notification (§4.12) `alert_delay` s after a
            message failed with an absent subscriber (err 002), unless the submit's set_dpf
            TLV was 0.
    """

    host: str = "127.0.0.1"
    port: int = 0
    profile: str = "nexmo"
    accounts: tuple[Account, ...] = (Account(),)
    seed: int = 0
    dlr_delay: float = 0.2
    id_format: str = "nexmo"
    epoch: dt.datetime | None = DEFAULT_EPOCH
    receipt_tlvs: tuple[str, ...] = ("receipted_message_id", "message_state", "network_error_code")
    concat_timeout: float = 5.0
    deliver_timeout: float = 5.0
    retry_delay: float = 0.5
    inactivity_timeout: float | None = 300.0
    trace_path: str | None = None
    trace_memory: int = 200_000  # events kept in memory for `trace()`; 0 turns it off
    scenario: object = None  # a Scenario, a name, or a path to a YAML/JSON file
    tls_cert: str | None = None
    tls_key: str | None = None
    tls: bool = False  # also listen with TLS (self-signed cert when none is given)
    tls_only: bool = False
    failure_rate: float = 0.08  # share of ordinary numbers that do not end DELIVRD
    default_validity: float = 48 * 3600.0
    max_stored_receipts: int = 200_000  # about 0.8 KB each (benchmarks/receipt_store.py)
    enquire_link: bool = True
    enquire_link_interval: float | None = None
    enquire_link_timeout: float = 10.0
    bind_timeout: float | None = 10.0
    pdu_timeout: float | None = 10.0
    max_connections: int | None = 1024
    max_connections_per_address: int | None = 64
    max_command_length: int = DEFAULT_MAX_COMMAND_LENGTH
    read_chunk: int = 16 * 1024
    max_pdus_per_turn: int = 64
    write_high_water: int = 64 * 1024
    bind_failure_limit: int | None = 5
    bind_lockout: float = 10.0
    outbind: str | None = None
    outbind_account: str | None = None
    outbind_instance: str | None = None
    alert_notification: bool = False
    alert_delay: float = 1.0
    extra: dict[str, object] = field(default_factory=dict)

    def account(self, system_id: str) -> Account | None:
        for account in self.accounts:
            if account.system_id == system_id:
                return account
        return None


def check_limits(config: SimConfig) -> None:
    """Refuse timeouts and limits that cannot work, with the option's name.

    Raises:
        ValueError: a timeout not above 0, a limit below 1, a PDU limit below the header.
    """
    for name in ("bind_timeout", "pdu_timeout", "inactivity_timeout"):
        value = getattr(config, name)
        if value is not None and value <= 0:
            raise ValueError(f"{name} must be above 0 s (None turns it off), got {value!r}")
    if config.enquire_link_timeout <= 0:
        raise ValueError(f"enquire_link_timeout must be above 0 s, got {config.enquire_link_timeout!r}")
    for name in ("max_connections", "max_connections_per_address", "bind_failure_limit"):
        value = getattr(config, name)
        if value is not None and value < 1:
            raise ValueError(f"{name} must be at least 1 (None turns it off), got {value!r}")
    for name in ("read_chunk", "write_high_water"):
        if getattr(config, name) < 1:
            raise ValueError(f"{name} must be at least 1 octet, got {getattr(config, name)!r}")
    if config.max_pdus_per_turn < 1:
        raise ValueError(f"max_pdus_per_turn must be at least 1, got {config.max_pdus_per_turn!r}")
    if config.max_command_length < HEADER_LENGTH:
        raise ValueError(f"max_command_length must be at least {HEADER_LENGTH} (the header, §3.2), "
                         f"got {config.max_command_length!r}")
    if config.bind_lockout < 0:
        raise ValueError(f"bind_lockout must be 0 s or more, got {config.bind_lockout!r}")


#: How ordinary numbers fail, when they do: (stat, provider err code, weight).
FAILURE_MIX: tuple[tuple[str, int, int], ...] = (
    ("UNDELIV", 1, 3),
    ("UNDELIV", 3, 2),
    ("UNDELIV", 9, 1),
    ("EXPIRED", 2, 3),
    ("EXPIRED", 7, 1),
    ("REJECTD", 6, 1),
    ("REJECTD", 14, 1),
)


_log = math.log
_new_tuple = tuple.__new__  # a NamedTuple without its Python-level __new__

#: test_number_outcome by (destination, dlr_delay): Outcome is immutable, so it is shared
_FORCED: dict[tuple[str, float], Outcome | None] = {}
_UNSEEN = object()


def draw_outcome(rng: Any, destination: str, dlr_delay: float, failure_rate: float) -> Outcome:
    """How a message to `destination` ends, drawn from `rng` (a `random.Random`).

    Three draws are taken for every message, test number or not, so adding one test
    number does not shift the outcomes of the messages after it.
    """
    random = rng.random
    roll = random()
    # rng.expovariate(1.0 / dlr_delay), written out (the same arithmetic, one call less)
    delay = -_log(1.0 - random()) / (1.0 / dlr_delay) if dlr_delay > 0 else 0.0
    pick = random()
    key = (destination, dlr_delay)
    forced = _FORCED.get(key, _UNSEEN)
    if forced is _UNSEEN:
        if len(_FORCED) > 4096:
            _FORCED.clear()
        forced = _FORCED[key] = test_number_outcome(destination, dlr_delay)
    if forced is not None:
        return forced  # type: ignore[return-value]
    if delay > 5 * dlr_delay:
        delay = 5 * dlr_delay
    if roll >= failure_rate:
        return _new_tuple(Outcome, ("DELIVRD", 0, delay, True, False))  # Outcome("DELIVRD", 0, delay)
    total = sum(w for _, _, w in FAILURE_MIX)
    acc = 0.0
    for stat, err, weight in FAILURE_MIX:
        acc += weight / total
        if pick < acc:
            return Outcome(stat, err, delay)
    return Outcome(FAILURE_MIX[-1][0], FAILURE_MIX[-1][1], delay)  # pragma: no cover
