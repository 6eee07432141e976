"""smppkit.esme (asyncio, windowed) and the throttle lab, against the simulator."""

from __future__ import annotations

import asyncio

import pytest

from smppkit import SubmitSm, throttling
from smppkit.constants import CommandStatus
from smppkit.esme import Aimd, BindError, Esme, Exponential, FixedPause

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]

PDU = SubmitSm(source_addr="t", destination_addr="447700900000", short_message=b"hi", registered_delivery=1)


def _hostport(sim, instance="SMPP1"):
    host, port = sim.address(instance).split(":")
    return host, int(port)


async def _bound(sim, **kw) -> Esme:
    esme = Esme(**kw)
    await esme.connect(*_hostport(sim))
    await esme.bind("smppkit", "secret")
    return esme


def test_window_bounds_requests_in_flight_and_all_receipts_arrive(start_sim):
    sim = start_sim(throughput=None, dlr_delay=0.01)

    async def run():
        esme = await _bound(sim, window=4)
        peak = 0

        async def one():
            nonlocal peak
            resp = esme.submit(PDU)
            task = asyncio.ensure_future(resp)
            await asyncio.sleep(0)
            peak = max(peak, esme.session.window)
            return await task

        resps = await asyncio.gather(*(one() for _ in range(50)))
        for _ in range(200):
            if esme.counters["delivered"] >= 50:
                break
            await asyncio.sleep(0.02)
        await esme.close()
        return resps, peak, esme

    resps, peak, esme = asyncio.run(run())
    assert all(r.command_status == 0 for r in resps)
    assert len({r.message_id for r in resps}) == 50
    assert 1 <= peak <= 4
    assert esme.counters["delivered"] == 50
    assert all(p.esm_class == 0x04 for p in esme.received)


def test_unanswered_requests_expire(start_sim):
    sim = start_sim(scenario="hung-smsc")

    async def run():
        esme = await _bound(sim, window=2, response_timeout=0.3)
        with pytest.raises(TimeoutError, match="submit_sm"):
            await esme.submit(PDU)
        assert esme.session.window == 0
        await esme.close()
        return esme

    esme = asyncio.run(run())
    assert esme.counters["timeouts"] == 1


def test_bind_refused_raises_bind_error(sim):
    async def run():
        esme = Esme()
        await esme.connect(*_hostport(sim))
        try:
            await esme.bind("smppkit", "nope")
        finally:
            await esme.close()

    with pytest.raises(BindError) as info:
        asyncio.run(run())
    assert info.value.command_status == CommandStatus.ESME_RINVPASWD


def test_trace_uses_the_simulator_schema(sim):
    from smppkit.trace import TRACE_FIELDS

    events: list[dict] = []

    async def run():
        esme = await _bound(sim, trace=events)
        await esme.submit(PDU)
        await esme.close()

    asyncio.run(run())
    assert [e["command"] for e in events][:4] == ["bind_transceiver", "bind_transceiver_resp", "submit_sm", "submit_sm_resp"]
    assert all(set(e) == set(TRACE_FIELDS) for e in events)
    assert all(e["system"] == "esme" for e in events)
    assert b"secret".hex() not in events[0]["hex"]


@pytest.mark.parametrize("policy", [FixedPause(pause=0.2), Exponential(base=0.02), Aimd(start_rate=60)])
def test_every_policy_gets_all_messages_through_a_throttled_account(start_sim, policy):
    sim = start_sim(throughput=20)

    async def run():
        esme = await _bound(sim, window=5, backoff=policy)
        results = await asyncio.gather(*(esme.send(PDU) for _ in range(40)))
        await esme.close()
        return results

    results = asyncio.run(run())
    assert all(r.command_status == 0 for r in results)
    assert sum(r.throttled for r in results) > 0
    assert sim.counters["throttled"] == sum(r.throttled for r in results)


def test_aimd_cuts_its_rate_when_throttled():
    policy = Aimd(start_rate=100, decrease=0.5)
    policy.on_throttle()
    assert policy.rate == 50
    for _ in range(50):
        policy.on_success()
    assert 50 < policy.rate < 53


def test_exponential_pauses_double_and_reset():
    policy = Exponential(base=0.1, cap=0.3)
    assert [policy.on_throttle() for _ in range(3)] == [0.1, 0.2, 0.3]
    policy.on_success()
    assert policy.on_throttle() == 0.1


def test_throttle_lab_compares_policies(start_sim):
    sim = start_sim(throughput=30)
    rows = throttling.compare(sim, messages=60, window=5, pause_between=1.1)
    summary = throttling.summarize(rows, limit=30)
    assert list(summary["policy"]) == list(throttling.DEFAULT_POLICIES())
    assert (summary["messages"] == 60).all()
    assert (rows["command_status"] == 0).all()
    assert summary["throttled"].sum() > 0
