"""The clients against failing SMSCs: the simulator's faults (smpp1-outage, flaky-link,
hung-smsc, dead-keepalive) and the peers in tests/peers (a stdlib SMSC, smpp34's server)."""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path

import pytest

from smppkit import client
from smppkit.clients.reconnect import Reconnect
from smppkit.simulator import Fault, Scenario

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "peers"))
from run import peer  # noqa: E402

pytestmark = [pytest.mark.integration, pytest.mark.timeout(90)]

FAST = Reconnect(base=0.05, cap=0.4, seed=1)


def _until(predicate, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def _submits(sim) -> dict[str, int]:
    counts: dict[str, int] = {}
    for e in sim.trace_events():
        if e["command"] == "submit_sm" and e["direction"] == "in":
            counts[e["instance"]] = counts.get(e["instance"], 0) + 1
    return counts


# --- the reconnect policy -----------------------------------------------------------------------


def test_reconnect_delays_grow_are_capped_and_jittered():
    policy = Reconnect(base=0.1, factor=2, cap=1.0, jitter=0.5, seed=3)
    delays = [policy.delay(n) for n in range(8)]
    assert all(0.05 <= d <= 0.1 for d in delays[:1])
    assert all(0.5 <= d <= 1.0 for d in delays[4:])  # capped at 1 s, minus up to 50 %
    assert len(set(delays[4:])) == 4  # jitter: not all equal
    assert Reconnect.retriable(0x05) and not Reconnect.retriable(0x0E)  # RALYBND yes, RINVPASWD no
    with pytest.raises(ValueError):
        Reconnect(base=0)


# --- one bind -----------------------------------------------------------------------------------


def test_single_bind_reconnects_after_the_smsc_unbinds(start_sim):
    sim = start_sim(scenario="smsc-unbind")  # unbinds after 5 submits
    with client.connect(sim, reconnect=FAST) as conn:
        sent = []
        for i in range(12):
            try:
                sent.append(conn.send_text("447700900000", f"m{i}"))
            except client.ClientError:
                assert _until(lambda: conn.alive, 5)
        assert _until(lambda: len(conn.recoveries) >= 1, 5)
        assert any("rebound" in what for _, what in conn.events)
        df = conn.wait_for_receipts(sent, timeout=5)
    assert (df["outcome"] == "delivered").all() and len(sent) >= 10


def test_single_bind_reports_requests_in_flight_and_rebinds_after_an_outage(start_sim):
    sim = start_sim(scenario=Scenario("hung", faults=(Fault("no_responses"),)))
    conn = client.connect(sim, instance="SMPP0", timeout=5, reconnect=FAST)
    try:
        errors: list[Exception] = []

        def submit() -> None:
            try:
                conn.send_text("447700900000", "never answered")
            except client.ClientError as exc:
                errors.append(exc)

        t = threading.Thread(target=submit)
        t.start()
        assert _until(lambda: conn.pending() == 1, 3)
        sim.stop_instance("SMPP0")
        t.join(5)
        assert isinstance(errors[0], client.ConnectionLost)
        assert "may or may not have reached the SMSC" in str(errors[0])
        assert [command for command, _, _ in conn.lost] == ["submit_sm"]
        sim.start_instance("SMPP0")
        assert _until(lambda: conn.alive, 5)
        assert conn.recoveries and conn.enquire_link() >= 0
    finally:
        conn.close()


def test_esme_ralybnd_after_a_quick_reconnect_is_waited_out(start_sim):
    sim = start_sim(max_binds=1)
    conn = client.connect(sim, instance="SMPP1", reconnect=FAST)
    try:
        sim.stop_instance("SMPP1")
        assert _until(lambda: not conn.alive, 3)
        holder = client.connect(sim, instance="SMPP2", reconnect=False)  # takes the one bind
        sim.start_instance("SMPP1")
        assert _until(lambda: any("ESME_RALYBND: waiting" in w for _, w in conn.events), 5)
        assert not conn.alive
        holder.close()
        assert _until(lambda: conn.alive, 5)
        assert conn.send_text("447700900000", "back").ok
    finally:
        conn.close()


def test_a_wrong_password_stops_the_reconnecting(start_sim):
    sim = start_sim()
    conn = client.connect(sim, instance="SMPP0", reconnect=FAST)
    try:
        conn._credentials = ("smppkit", "changed", "")  # as if the account's password changed
        sim.stop_instance("SMPP0")
        sim.start_instance("SMPP0")
        assert _until(lambda: "not retried" in conn.death_reason, 5)
        assert "ESME_RINVPASWD" in conn.death_reason and not conn.alive
    finally:
        conn.close()


def test_half_open_bind_is_noticed_by_enquire_link(start_sim):
    sim = start_sim(scenario="dead-keepalive")
    with client.connect(sim, enquire_link_interval=0.2, timeout=0.5, reconnect=False) as conn:
        assert _until(lambda: not conn.alive, 5)
        assert conn.death_reason == "enquire_link unanswered for 0.5 s"


# --- the cluster --------------------------------------------------------------------------------


def test_cluster_binds_smpp1_and_smpp2_not_smpp0(sim):
    with client.connect_cluster(sim) as cluster:
        assert sorted(c.name for c in cluster.live()) == ["SMPP1", "SMPP2"]
        assert cluster.send_text("447700900000", "hi").ok
    binds = {e["instance"] for e in sim.trace_events() if e["command"].startswith("bind_")}
    assert binds == {"SMPP1", "SMPP2"}


def test_cluster_uses_smpp0_only_while_neither_member_can_be_bound(sim):
    with client.connect_cluster(sim, reconnect=FAST) as cluster:
        sim.stop_instance("SMPP1")
        sim.stop_instance("SMPP2")
        during = [cluster.send_text("447700900000", f"during {i}") for i in range(4)]
        assert [c.name for c in cluster.live()] == ["SMPP0"]
        on_smpp0 = _submits(sim).get("SMPP0", 0)
        assert on_smpp0 >= 4
        sim.start_instance("SMPP2")
        assert _until(lambda: [c.name for c in cluster.live()] == ["SMPP2"], 10)
        after = [cluster.send_text("447700900000", f"after {i}") for i in range(4)]
        assert _submits(sim).get("SMPP0", 0) == on_smpp0  # nothing new on SMPP0
        df = cluster.wait_for_receipts(during + after, timeout=5, by="message")
        assert _until(lambda: any("fallback unbound" in w for _, _, w in cluster.events), 15)
    assert (df["result"] == "delivered").all()
    assert sum(s.resent for s in during) <= 2  # at most one left unanswered by each dying member


def test_cluster_survives_the_smpp1_outage_scenario_and_measures_recovery(start_sim):
    sim = start_sim(scenario="smpp1-outage")  # SMPP1 down from 1 s to 4 s
    with client.connect_cluster(sim, reconnect=FAST) as cluster:
        sent = []
        deadline = time.monotonic() + 5.5
        while time.monotonic() < deadline:
            sent.append(cluster.send_text("447700900000", f"m{len(sent)}"))
            time.sleep(0.05)
        assert _until(lambda: cluster.recoveries, 5)
        df = cluster.wait_for_receipts(sent, timeout=5)
        events = cluster.events_frame()
    assert (df["outcome"] == "delivered").all()
    assert 2.5 < cluster.recoveries[0] < 6  # down 3 s, back within one back-off cap and probation
    assert events["event"].str.contains("back in service").any()
    texts = [e for e in sim.trace_events() if e["command"] == "submit_sm"]
    assert len(texts) == len(sent) + sum(s.resent for s in sent)  # sent twice only if flagged


def test_cluster_does_not_flap_on_a_half_open_member(start_sim):
    sim = start_sim(scenario=Scenario("half-open SMPP1", faults=(Fault("ignore_enquire_link", "SMPP1"),)))
    with client.connect_cluster(sim, reconnect=Reconnect(base=0.1, cap=2.0, seed=1)) as cluster:
        assert _until(lambda: any("bind died" in w for _, b, w in cluster.events if b == "SMPP1"), 5)
        died_at = _submits(sim).get("SMPP1", 0)
        time.sleep(4)
        sent = [cluster.send_text("447700900000", f"m{i}") for i in range(10)]
        events = cluster.events_frame()
    assert _submits(sim).get("SMPP1", 0) == died_at  # never in service again
    assert all(s.address == sim.address("SMPP2") for s in sent)
    failures = events[(events.bind == "SMPP1") & events.event.str.startswith("probation failed")]
    gaps = failures["seconds"].diff().dropna().tolist()
    assert len(failures) >= 2 and gaps == sorted(gaps)  # the back-off grows, it does not reset


def test_cluster_resends_what_a_hung_member_leaves_unanswered(start_sim):
    sim = start_sim(scenario=Scenario("hung SMPP1", faults=(Fault("no_responses", "SMPP1"),)),
                    deliver_timeout=1.0)
    # the response timeout leaves room for a loaded machine: only SMPP1 never answers
    with client.connect_cluster(sim, timeout=1.5, reconnect=FAST) as cluster:
        sent = [cluster.send_text("447700900000", f"m{i}") for i in range(6)]
        # a receipt in flight on the bind we gave up on comes again after deliver_timeout
        df = cluster.wait_for_receipts(sent, timeout=15)
    assert (df["outcome"] == "delivered").all()
    assert any(s.resent for s in sent)
    assert all(s.address == sim.address("SMPP2") for s in sent if s.resent)


def test_cluster_waits_on_a_member_rebound_while_waiting(start_sim):
    # Receipts held for the cluster while no member is bound come on SMPP1's new bind, made
    # after the wait began: the wait must watch binds made during it, not only the first ones.
    sim = start_sim(dlr_delay=0.5)
    with client.connect_cluster(sim, fallback=None, reconnect=FAST) as cluster:
        sim.stop_instance("SMPP1")
        assert _until(lambda: [c.name for c in cluster.live()] == ["SMPP2"], 5)
        sent = [cluster.send_text("447700900000", f"m{i}") for i in range(4)]
        sim.stop_instance("SMPP2")  # before the receipts are due
        assert _until(lambda: not cluster.live(), 5)
        threading.Timer(0.5, sim.start_instance, ("SMPP1",)).start()
        df = cluster.wait_for_receipts(sent, timeout=10)
    assert (df["outcome"] == "delivered").all()
    assert set(df["address"]) == {sim.address("SMPP1")}


def test_cluster_on_a_flaky_link_loses_nothing(start_sim):
    sim = start_sim(scenario="flaky-link")  # SMPP1 drops each connection after 20 PDUs
    with client.connect_cluster(sim, reconnect=FAST, probation=1) as cluster:
        sent = [cluster.send_text("447700900000", f"m{i}") for i in range(60)]
        df = cluster.wait_for_receipts(sent, timeout=8)
    assert (df["outcome"] == "delivered").all()
    submits = [e for e in sim.trace_events() if e["command"] == "submit_sm"]
    assert len(submits) <= len(sent) + sum(s.resent for s in sent)


# --- against SMSCs that are not the simulator ---------------------------------------------------


@pytest.mark.parametrize("name", ["mini", "smpp34"])
def test_cluster_over_two_third_party_smscs_survives_losing_one(name):
    with peer(name) as (first, env), peer(name) as (second, _):
        cluster = client.connect_cluster([first, second], system_id=env["SMPPKIT_SYSTEM_ID"],
                                         password=env["SMPPKIT_PASSWORD"], reconnect=FAST)
        before = [cluster.send_text("447000000001", f"b{i}") for i in range(4)]
        assert {s.address for s in before} == {first, second}
        assert (cluster.wait_for_receipts(before, timeout=5)["outcome"] == "delivered").all()
    # both peers are gone now: the cluster says so instead of hanging
    with pytest.raises(client.ClientError, match="no live bind"):
        cluster.send_text("447000000001", "nobody there")
    cluster.close()


@pytest.mark.parametrize("name", ["mini", "smpp34"])
def test_cluster_fails_over_between_third_party_smscs(name):
    with peer(name) as (first, env):
        with peer(name) as (second, _):
            cluster = client.connect_cluster([first, second], system_id=env["SMPPKIT_SYSTEM_ID"],
                                             password=env["SMPPKIT_PASSWORD"], reconnect=FAST)
        # `second` was killed: the cluster notices and keeps sending on `first`
        try:
            assert _until(lambda: [c.address for c in cluster.live()] == [first], 5)
            after = [cluster.send_text("447000000001", f"a{i}") for i in range(4)]
            assert {s.address for s in after} == {first}
            assert (cluster.wait_for_receipts(after, timeout=5)["outcome"] == "delivered").all()
        finally:
            cluster.close()


# --- long MO on every client path ---------------------------------------------------------------

LONG_MO = "Reply from a handset, long enough to need three parts: " + "more words and more words. " * 12


def _mo_file(tmp_path, methods) -> str:
    """deliver_sm PDUs (hex, one a line) of LONG_MO sent with each method, parts shuffled."""
    from smppkit.protocol.codec import encode
    from smppkit.protocol.pdus import DeliverSm
    from smppkit.sms.text import to_pdus

    lines = []
    for n, method in enumerate(methods):
        parts = to_pdus(LONG_MO, source_addr=f"4477009001{n:02d}", destination_addr="mini", method=method,
                        reference=200 + n, registered_delivery=0)
        pdus = [DeliverSm(**{name: getattr(p, name) for name, _ in p.body}, tlvs=p.tlvs) for p in parts]
        lines += [encode(p.with_sequence(1)).hex() for p in reversed(pdus)]  # out of order
    path = tmp_path / "mo.hex"
    path.write_text("\n".join(lines) + "\n")
    return str(path)


METHODS = ["udh8", "udh16", "sar", "payload"]


def test_long_mo_is_reassembled_on_the_smpplib_path(tmp_path):
    with peer("mini", "--mo", _mo_file(tmp_path, METHODS)) as (address, env):
        conn = client.connect(address, system_id="mini", password="minipass")
        assert _until(lambda: len(conn.mo()) == 4 and conn.mo()["complete"].all(), 5)
        mo = conn.mo()
        conn.close()
    assert list(mo["text"]) == [LONG_MO] * 4
    assert list(mo["method"]) == METHODS
    assert list(mo["parts"]) == [3, 3, 3, 1]  # message_payload carries it whole


def test_long_mo_is_reassembled_on_the_asyncio_path(tmp_path):
    import asyncio

    from smppkit.clients.esme import Esme

    async def run(address):
        host, port = address.split(":")
        esme = Esme()
        await esme.connect(host, int(port))
        await esme.bind("mini", "minipass")
        for _ in range(250):
            if len(esme.received) >= 10:
                break
            await asyncio.sleep(0.02)
        await esme.close()
        return esme.mo()

    with peer("mini", "--mo", _mo_file(tmp_path, METHODS)) as (address, _):
        mo = asyncio.run(run(address))
    assert list(mo["text"]) == [LONG_MO] * 4 and mo["complete"].all()


def test_long_mo_from_the_simulator_reaches_the_cluster_whole(sim):
    with client.connect_cluster(sim) as cluster:
        assert sim.inject_mo("447700900123", "smppkit", LONG_MO, reference=7) == 3
        assert _until(lambda: len(cluster.mo()) == 1 and cluster.mo()["complete"].all(), 5)
        assert cluster.mo().loc[0, "text"] == LONG_MO


# --- the asyncio Esme ---------------------------------------------------------------------------


def _esme_run(coro):
    import asyncio

    return asyncio.run(coro)


def test_esme_keepalive_notices_a_dead_link_and_rebinds(start_sim):
    import asyncio

    from smppkit.clients.esme import Esme

    sim = start_sim(scenario=Scenario("dead SMPP0 keepalive", faults=(Fault("ignore_enquire_link", "SMPP0"),)))
    host, port = sim.address("SMPP0").split(":")

    async def run():
        esme = Esme(enquire_link_interval=0.2, response_timeout=0.5, reconnect=FAST)
        await esme.connect(host, int(port))
        await esme.bind("smppkit", "secret")
        for _ in range(200):
            if esme.recoveries:
                break
            await asyncio.sleep(0.02)
        events = [what for _, what in esme.events]
        await esme.close()
        return esme, events

    esme, events = _esme_run(run())
    assert "enquire_link unanswered for 0.5 s" in events
    assert esme.recoveries and any(e.startswith("rebound") for e in events)


def test_esme_reports_requests_in_flight_and_rebinds_after_an_outage(start_sim):
    import asyncio

    from smppkit import SubmitSm
    from smppkit.clients.esme import ConnectionLost, Esme

    sim = start_sim(scenario=Scenario("hung", faults=(Fault("no_responses"),)))
    host, port = sim.address("SMPP0").split(":")
    pdu = SubmitSm(source_addr="t", destination_addr="447700900000", short_message=b"hi")

    async def run():
        esme = Esme(response_timeout=5, reconnect=FAST)
        await esme.connect(host, int(port))
        await esme.bind("smppkit", "secret")
        task = asyncio.ensure_future(esme.submit(pdu))
        await asyncio.sleep(0.2)
        await asyncio.get_running_loop().run_in_executor(None, sim.stop_instance, "SMPP0")
        with pytest.raises(ConnectionLost, match="may or may not have reached"):
            await task
        await asyncio.get_running_loop().run_in_executor(None, sim.start_instance, "SMPP0")
        resp = await esme.enquire_link()  # waits for the rebind
        await esme.close()
        return esme, resp

    esme, resp = _esme_run(run())
    assert esme.lost == [("submit_sm", 2)] and resp.command_status == 0
    assert esme.recoveries


@pytest.mark.parametrize("name", ["mini", "smpp34"])
def test_single_bind_reconnects_to_a_third_party_smsc_that_restarts(name):
    with peer(name) as (address, env):
        conn = client.connect(address, system_id=env["SMPPKIT_SYSTEM_ID"], password=env["SMPPKIT_PASSWORD"],
                              reconnect=FAST, timeout=2)
        assert conn.send_text("447000000001", "before").ok
    try:
        assert _until(lambda: not conn.alive, 5)  # the SMSC process is gone
        with pytest.raises(client.ClientError):
            conn.send_text("447000000001", "while down")
        with peer(name, "--port", address.rsplit(":", 1)[1]):
            assert _until(lambda: conn.alive, 10)
            after = conn.send_text("447000000001", "after")
            assert (conn.wait_for_receipts([after], timeout=5)["outcome"] == "delivered").all()
        assert conn.recoveries and any("rebound" in what for _, what in conn.events)
    finally:
        conn.close()
