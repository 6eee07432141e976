"""smppkit.esme (asyncio, windowed) and the throttle lab, against the simulator."""

from __future__ import annotations

import asyncio

import pytest

from smppkit import SubmitSm, throttling
from smppkit.clients.esme import Aimd, Backoff, BindError, Esme, Exponential, FixedPause
from smppkit.protocol.constants import CommandStatus

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


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_aimd_cuts_its_rate_once_per_cooldown():
    clock = FakeClock()
    policy = Aimd(start_rate=100, decrease=0.5, cooldown=1.0, clock=clock)
    for _ in range(10):  # ten refusals of one window, in the same moment: one cut
        policy.on_throttle()
    assert policy.rate == 50
    clock.now += 1.0
    policy.on_throttle()
    assert policy.rate == 25
    for _ in range(25):
        policy.on_success()
    assert 26 < policy.rate < 28


def test_exponential_pauses_double_and_reset():
    policy = Exponential(base=0.1, cap=0.3)
    assert [policy.on_throttle() for _ in range(4)] == [0.1, 0.2, 0.3, 0.3]
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
    judged = throttling.verdict(rows, limit=30, burst=30)
    assert (judged["resubmits"] == "under 1 per message").all()


def test_throttle_lab_without_resubmit_leaves_messages_throttled(start_sim):
    sim = start_sim(throughput=30)
    rows = throttling.compare(sim, {"no back-off": Backoff()}, messages=60, window=10,
                              max_tries=1, pause_between=0)
    assert (rows["tries"] == 1).all()
    assert set(rows["command_status"]) == {0, int(CommandStatus.ESME_RTHROTTLED)}
    assert throttling.outcomes(rows).to_dict("records") == [
        {"policy": "no back-off", "messages": 60, "all_accepted": False, "throttled": True}
    ]
    summary = throttling.summarize(rows)
    assert summary.loc[0, "accepted"] == (rows["command_status"] == 0).sum() < 60


def test_throttle_lab_pacing_below_the_limit_is_never_throttled(start_sim):
    sim = start_sim(throughput=30)
    throttling.compare(sim, {"burst": Backoff()}, messages=40, max_tries=1, pause_between=0)
    # the burst drained the bucket; compare waits before the next run so it starts full again
    rows = throttling.compare(sim, {"paced": throttling.paced(20)}, messages=40)
    assert throttling.outcomes(rows).to_dict("records") == [
        {"policy": "paced", "messages": 40, "all_accepted": True, "throttled": False}
    ]


def test_outcomes_and_summary_of_hand_made_rows():
    pd = pytest.importorskip("pandas")
    rows = pd.DataFrame({
        "policy": ["a", "a", "b", "b"], "n": [0, 1, 0, 1], "sent": [0.0, 0.1, 0.0, 0.5],
        "done": [0.2, 2.0, 0.4, 1.0], "tries": [1, 3, 1, 1], "throttled": [0, 2, 0, 1],
        "command_status": [0, 0, 0, 0x58], "rate": [None] * 4,
    })
    assert throttling.outcomes(rows).to_dict("records") == [
        {"policy": "a", "messages": 2, "all_accepted": True, "throttled": True},
        {"policy": "b", "messages": 2, "all_accepted": False, "throttled": True},
    ]
    summary = throttling.summarize(rows, limit=30).set_index("policy")
    assert summary.loc["a", "accepted_per_s"] == 1.0  # 2 accepted in 2.0 s
    assert summary.loc["b", "accepted"] == 1
    assert summary.loc["a", "throttled_share"] == 0.5  # 2 of 4 submits
    assert summary.loc["b", "limit_per_s"] == 30


def _rows(policy, done, tries, statuses):
    pd = pytest.importorskip("pandas")
    n = len(done)
    return pd.DataFrame({"policy": [policy] * n, "n": range(n), "sent": [0.0] * n, "done": done,
                         "tries": tries, "throttled": [t - 1 for t in tries],
                         "command_status": statuses, "rate": [None] * n})


def test_verdict_compares_a_run_with_the_token_bucket():
    pd = pytest.importorskip("pandas")
    # limit 10/s, burst 10. "at the limit": 40 accepted in 3.0 s (the bucket allows 10 + 30);
    # one resubmit in 40, and 3.0 s is the minimum for 40 messages
    at_limit = _rows("at the limit", [3.0] * 40, [2] + [1] * 39, [0] * 40)
    # "slow": 40 accepted in 8 s (the bucket allowed 90), none resubmitted
    slow = _rows("slow", [8.0] * 40, [1] * 40, [0] * 40)
    # "hammer": 20 of 40 accepted in 1 s (the bucket allows 20), 5 tries each
    hammer = _rows("hammer", [1.0] * 40, [5] * 40, [0] * 20 + [0x58] * 20)
    got = throttling.verdict(pd.concat([at_limit, slow, hammer]), limit=10, burst=10)
    assert got.to_dict("records") == [
        {"policy": "at the limit", "used_the_limit": True, "resubmits": "under 1 per message",
         "duration": "near the minimum"},
        {"policy": "slow", "used_the_limit": False, "resubmits": "none",
         "duration": "over 1.5x the minimum"},
        {"policy": "hammer", "used_the_limit": True, "resubmits": "1 or more per message",
         "duration": "-"},
    ]


def test_throttle_lab_runs_where_an_event_loop_is_running(start_sim):
    # a Jupyter kernel runs an event loop in the notebook's thread: asyncio.run would refuse
    sim = start_sim(throughput=30)

    async def in_a_loop():
        return throttling.compare(sim, {"fixed": FixedPause(pause=0.5)}, messages=10, pause_between=0)

    rows = asyncio.run(in_a_loop())
    assert throttling.outcomes(rows)["all_accepted"].tolist() == [True]


def test_paced_keeps_its_rate_whatever_the_answers():
    policy = throttling.paced(25)
    assert policy.on_throttle() == 0.0
    policy.on_success()
    assert policy.rate == 25
    assert policy.interval() == pytest.approx(0.04)
