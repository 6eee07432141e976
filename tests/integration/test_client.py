"""smppkit.client (smpplib underneath) against the simulator on 127.0.0.1."""

from __future__ import annotations

import socket
import threading
import time

import pytest

from smppkit import client
from smppkit.protocol.constants import CommandStatus

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_send_and_receive_a_receipt_matching_hex_resp_to_decimal_receipt(sim):
    with client.connect(sim) as conn:
        sent = conn.send_text("447700900000", "hello")
        assert sent.ok and sent.parts == 1
        assert sent.message_id == "0B00000700000001"
        df = conn.wait_for_receipts([sent], timeout=5)
    row = df.iloc[0]
    assert row["stat"] == "DELIVRD"
    assert int(row["receipt_id"]) == int(sent.message_id, 16)
    assert "hex" in row["match"]


def test_long_text_goes_as_parts_on_one_bind_and_each_part_gets_a_receipt(sim):
    with client.connect(sim) as conn:
        sent = conn.send_text("447700900000", "x" * 400, reference=9)
        assert sent.parts == 3 and len(set(sent.message_ids)) == 3
        df = conn.wait_for_receipts([sent], timeout=5)
    assert list(df["stat"]) == ["DELIVRD"] * 3
    parts = [e for e in sim.trace_events() if e["command"] == "submit_sm"]
    assert [(p["part_ref"], p["part_total"], p["part_seq"]) for p in parts] == [(9, 3, 1), (9, 3, 2), (9, 3, 3)]
    assert {p["instance"] for p in parts} == {"SMPP1"}


def test_unreachable_smsc_is_one_line():
    port = _closed_port()
    with pytest.raises(client.SmscUnreachable) as info:
        client.connect(f"127.0.0.1:{port}", timeout=2)
    assert str(info.value) == f"cannot reach the SMSC at 127.0.0.1:{port}: connection refused"
    assert info.value._render_traceback_() == [f"SmscUnreachable: {info.value}"]


@pytest.mark.parametrize(
    ("options", "status"),
    [({"password": "wrong"}, CommandStatus.ESME_RINVPASWD), ({"system_id": "nobody"}, CommandStatus.ESME_RINVSYSID)],
)
def test_refused_bind_names_the_status(sim, options, status):
    with pytest.raises(client.BindRefused) as info:
        client.connect(sim, **options)
    assert info.value.command_status == status
    assert status.name in str(info.value)


def test_third_bind_is_refused_with_esme_ralybnd(sim):
    a = client.connect(sim, instance="SMPP1")
    b = client.connect(sim, instance="SMPP2")
    try:
        with pytest.raises(client.BindRefused, match="ESME_RALYBND"):
            client.connect(sim, instance="SMPP1")
    finally:
        a.close()
        b.close()


def test_environment_target(sim, monkeypatch):
    monkeypatch.setenv("SMPPKIT_SMSC", sim.address("SMPP0"))
    monkeypatch.setenv("SMPPKIT_SYSTEM_ID", "smppkit")
    monkeypatch.setenv("SMPPKIT_PASSWORD", "secret")
    with client.connect() as conn:
        assert conn.address == sim.address("SMPP0")
        assert conn.send_text("447700900000", "env").ok


def test_no_target_at_all_says_what_to_do(monkeypatch):
    monkeypatch.delenv("SMPPKIT_SMSC", raising=False)
    with pytest.raises(client.ClientError, match="SMPPKIT_SMSC"):
        client.connect()


def test_deliver_status_on_the_retry_list_makes_the_simulator_resend(start_sim):
    sim = start_sim(retry_delay=0.05)
    conn = client.connect(sim, deliver_status=0x58)
    try:
        sent = conn.send_text("447700900000", "retry me")
        deadline = time.monotonic() + 5
        while len(conn.receipts()) < 3 and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        conn.close()
    texts = {r["short_message"] for r in conn.receipts()}
    assert len(conn.receipts()) >= 3 and len(texts) == 1
    assert sim.counters["deliver_retries"] >= 2
    assert str(int(sent.message_id, 16)).encode() in texts.pop()


def test_throttled_submits_are_reported_not_raised(start_sim):
    sim = start_sim(throughput=2)
    with client.connect(sim, bind="transmitter") as conn:
        results = [conn.send_text("447700900000", f"m{i}") for i in range(5)]
    statuses = [r.statuses[0] for r in results]
    assert CommandStatus.ESME_RTHROTTLED in statuses
    assert "ESME_RTHROTTLED" in repr(next(r for r in results if not r.ok))


def test_wait_for_receipts_returns_what_arrived_and_names_what_is_missing(sim):
    with client.connect(sim) as conn:
        sent = [conn.send_text(f"44770090000{d}", f"m{d}") for d in (0, 0, 4, 1)]  # ...4: no receipt
        df = conn.wait_for_receipts(sent, timeout=1)
        assert list(df["outcome"]) == ["delivered", "delivered", "pending", "failed"]
        assert df.attrs["missing"] == [sent[2].message_id]
        with pytest.raises(client.ReceiptsMissing, match="1 of 4") as info:
            conn.wait_for_receipts(sent, timeout=0.2, strict=True)
    assert info.value.missing == [sent[2].message_id]
    assert list(info.value.receipts["stat"].fillna("-")) == ["DELIVRD", "DELIVRD", "-", "UNDELIV"]


def test_message_results_roll_up_the_parts(sim):
    with client.connect(sim) as conn:
        long_ok = conn.send_text("447700900000", "x" * 400, reference=3)
        long_failed = conn.send_text("447700900001", "y" * 200, reference=4)
        never = conn.send_text("447700900004", "z" * 200, reference=5)
        by_message = conn.wait_for_receipts([long_ok, long_failed, never], timeout=1, by="message")
    assert list(by_message["result"]) == ["delivered", "failed", "pending"]
    assert list(by_message["parts"]) == [3, 2, 2]
    assert by_message.loc[1, "detail"] == "UNDELIV err 001, UNDELIV err 001"
    assert by_message.loc[2, "detail"] == "pending, pending"


def test_message_results_partly_delivered():
    import pandas as pd

    sent = client.Sent("447", "t", ["a", "b", "c"], [0, 0, 0], "h:1", 3)
    parts = pd.DataFrame({"message_id": ["a", "b", "c"], "stat": ["DELIVRD", "UNDELIV", "DELIVRD"],
                          "err": ["000", "001", "000"], "outcome": ["delivered", "failed", "delivered"]})
    (row,) = client.message_results([sent], parts).to_dict("records")
    assert (row["result"], row["delivered"], row["failed"]) == ("partly delivered", 2, 1)
    assert row["detail"] == "DELIVRD, UNDELIV err 001, DELIVRD"
    refused = client.Sent("447", "t", [None], [0x58], "h:1", 1)
    assert client.message_results([refused], parts).loc[0, "result"] == "failed"


def test_host_port_binds_with_the_simulators_account_by_default(sim, monkeypatch):
    monkeypatch.delenv("SMPPKIT_SYSTEM_ID", raising=False)
    monkeypatch.delenv("SMPPKIT_PASSWORD", raising=False)
    with client.connect(sim.address("SMPP0")) as conn:
        assert conn.alive and conn.send_text("447700900000", "hi").ok


def test_listener_answers_enquire_link_and_send_does_not_race_it(start_sim):
    sim = start_sim(dlr_delay=0.01)
    with client.connect(sim) as conn:
        errors: list[Exception] = []

        def pinger() -> None:
            try:
                for _ in range(20):
                    conn.enquire_link()
            except Exception as exc:  # pragma: no cover - reported below
                errors.append(exc)

        t = threading.Thread(target=pinger)
        t.start()
        sent = [conn.send_text("447700900000", f"m{i}") for i in range(20)]
        t.join(10)
        assert not errors
        df = conn.wait_for_receipts(sent, timeout=5)
    assert len(df) == 20
    assert sim.counters.get("malformed", 0) == 0


def test_smsc_unbind_marks_the_bind_dead(start_sim):
    sim = start_sim(scenario="smsc-unbind")
    conn = client.connect(sim, reconnect=False)
    try:
        for i in range(5):
            conn.send_text("447700900000", f"m{i}")
        deadline = time.monotonic() + 3
        while conn.alive and time.monotonic() < deadline:
            time.sleep(0.02)
        assert not conn.alive and conn.death_reason == "the SMSC unbound"
        with pytest.raises(client.ClientError, match="down"):
            conn.send_text("447700900000", "after")
    finally:
        conn.close()


def test_cluster_spreads_whole_messages_and_survives_an_outage(start_sim):
    sim = start_sim()
    with client.connect_cluster(sim, timeout=1.0) as cluster:
        first = [cluster.send_text("447700900000", "y" * 200, reference=i) for i in range(4)]
        assert {s.address for s in first} == {sim.address("SMPP1"), sim.address("SMPP2")}
        sim.stop_instance("SMPP1")
        during = [cluster.send_text("447700900000", f"during {i}") for i in range(4)]
        assert all(s.ok for s in during)
        sim.start_instance("SMPP1")
        deadline = time.monotonic() + 5
        while not cluster.recoveries and time.monotonic() < deadline:
            time.sleep(0.05)
        assert cluster.recoveries and cluster.recoveries[0] < 3.0
        events = cluster.events_frame()
        assert events["event"].str.contains("bind died").any()
        assert events["event"].str.contains("rebound").any()
        df = cluster.wait_for_receipts(first + during, timeout=5)
    # every part of one message went through one instance
    parts = [e for e in sim.trace_events() if e["command"] == "submit_sm" and e["part_total"]]
    by_ref: dict[int, set[str]] = {}
    for p in parts:
        by_ref.setdefault(p["part_ref"], set()).add(p["instance"])
    assert all(len(v) == 1 for v in by_ref.values())
    assert (df["stat"] == "DELIVRD").all()


def test_cluster_with_one_unreachable_address_still_binds_the_other(sim):
    dead = f"127.0.0.1:{_closed_port()}"
    with client.connect_cluster([sim.address("SMPP1"), dead], system_id="smppkit", password="secret",
                                timeout=1.0) as cluster:
        assert [c.address for c in cluster.live()] == [sim.address("SMPP1")]
        assert cluster.send_text("447700900000", "ok").ok
        assert any("bind failed" in e for _, _, e in cluster.events)


def test_cluster_with_nothing_reachable_raises():
    with pytest.raises(client.SmscUnreachable, match="no instance"):
        client.connect_cluster([f"127.0.0.1:{_closed_port()}"], system_id="a", password="b", timeout=1.0)


def test_smpplib_refusing_a_command_locally_keeps_the_bind_alive(sim):
    with client.connect(sim, bind="receiver") as conn:
        with pytest.raises(client.ClientError, match="receiver bind"):
            conn.send_text("447700900000", "receivers cannot submit")
        assert conn.alive
        assert conn.enquire_link() >= 0
