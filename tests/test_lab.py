"""The notebook lab: simulator or environment, display options, the zoo, raw exchanges."""

from __future__ import annotations

import pandas as pd
import pytest

import smppkit
from smppkit import client, lab

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def smsc(capsys):
    with lab.start(seed=7, env={}) as started:
        yield started


def test_start_runs_the_simulator_and_says_so(smsc, capsys):
    line = capsys.readouterr().out
    assert line.startswith("smppkit lab: the smppkit simulator (profile 'nexmo', seed 7)")
    assert line.count("\n") == 1 and "SMPPKIT_SMSC" in line
    assert smsc.is_simulator and smsc.target is smsc.sim
    assert smsc.number(3) == "447700900003"


def test_start_uses_the_environment_for_a_real_smsc(capsys):
    env = {"SMPPKIT_SMSC": "smsc.example:2775", "SMPPKIT_SYSTEM_ID": "me", "SMPPKIT_TO": "447000000001"}
    with lab.start(env=env) as real:
        assert real.sim is None and real.target is None
        assert real.number() == "447000000001"
    assert "a real SMSC at smsc.example:2775 as system_id 'me'" in capsys.readouterr().out


def test_number_needs_smppkit_to_on_a_real_smsc():
    real = lab.start(env={"SMPPKIT_SMSC": "h:1"}, quiet=True)
    with pytest.raises(RuntimeError, match="SMPPKIT_TO"):
        real.number()
    with pytest.raises(ValueError):
        real.number(10)
    real.close()  # nothing to stop


def test_quiet_prints_nothing(capsys):
    lab.start(env={"SMPPKIT_SMSC": "h:1"}, quiet=True)
    assert capsys.readouterr().out == ""


def test_setup_display_sets_pandas_options():
    lab.setup_display()
    for key, value in lab.DISPLAY_OPTIONS.items():
        assert pd.get_option(key) == value


def test_receipt_zoo_loads_every_variant():
    zoo = lab.receipt_zoo()
    assert list(zoo.columns) == ["name", "source", "text", "carrier"]
    assert len(zoo) >= 60 and zoo["name"].is_unique
    assert set(zoo["carrier"]) == {"short_message", "TLVs"}


def test_connect_sends_and_gets_a_receipt(smsc):
    with smsc.connect() as conn:
        sent = conn.send_text(smsc.number(0), "hi", reference=1)
        receipts = conn.wait_for_receipts([sent], timeout=5)
    assert sent.message_ids == ["0B00000700000001"]
    assert list(receipts["stat"]) == ["DELIVRD"]


def test_exchange_shows_what_the_smsc_answers_to_a_forbidden_request(smsc):
    answers = lab.exchange(smsc.sim.address("SMPP0"), [
        smppkit.BindReceiver(system_id="smppkit", password="secret"),
        smppkit.SubmitSm(destination_addr="447700900000", short_message=b"hi"),
    ])
    assert answers[0].command_status == 0
    assert answers[1].command_name == "submit_sm_resp"
    assert answers[1].command_status == smppkit.CommandStatus.ESME_RINVBNDSTS


def test_exchange_wrong_password(smsc):
    (answer,) = lab.exchange(smsc.sim.address("SMPP0"), [
        smppkit.BindTransmitter(system_id="smppkit", password="wrong"),
    ])
    assert answer.command_status == smppkit.CommandStatus.ESME_RINVPASWD


def test_send_split_makes_the_message_undeliverable(smsc):
    cluster = client.connect_cluster(smsc.target)
    try:
        sent = lab.send_split(cluster, smsc.number(0), "x" * 200, reference=9)
        receipts = cluster.wait_for_receipts([sent], timeout=8)
    finally:
        cluster.close()
    assert sent.parts == 2 and ", " in sent.address
    assert list(receipts["stat"]) == ["UNDELIV", "UNDELIV"]
    assert list(receipts["err"]) == ["010", "010"]


def test_send_split_needs_two_binds(smsc):
    with smsc.connect() as conn:
        class One:
            def live(self):
                return [conn]

        with pytest.raises(ValueError, match="two live binds"):
            lab.send_split(One(), smsc.number(0), "x" * 200)


def test_wait_until():
    assert lab.wait_until(lambda: True, timeout=0.1)
    assert not lab.wait_until(lambda: False, timeout=0.05)


def test_simulator_only_cells_say_so_on_a_real_smsc_and_go_on(capsys):
    real = lab.start(env={"SMPPKIT_SMSC": "smsc.example:2775", "SMPPKIT_SYSTEM_ID": "me",
                          "SMPPKIT_PASSWORD": "pw"}, quiet=True)
    assert real.simulator_only("stopping an instance") is False
    assert real.inject_mo("447700900123", "me", "hi") == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines == [
        "(needs the simulator: stopping an instance; skipped against smsc.example:2775)",
        "(needs the simulator: injecting an MO; send an SMS from a handset to your number instead; "
        "skipped against smsc.example:2775)",
    ]
    assert real.address("SMPP0") == "smsc.example:2775" and real.account == ("me", "pw")


def test_simulator_only_is_silent_on_the_simulator(smsc, capsys):
    capsys.readouterr()
    assert smsc.simulator_only("anything") is True
    assert capsys.readouterr().out == ""
    assert smsc.account == ("smppkit", "secret") and smsc.address("SMPP0") == smsc.sim.address("SMPP0")


def test_inject_mo_on_the_simulator_reaches_a_receiver_whole(smsc):
    with smsc.connect(bind="receiver") as rx:
        assert smsc.inject_mo("447700900123", "smppkit", "z" * 300, reference=4) == 2
        assert lab.wait_until(lambda: len(rx.mo()) == 1 and rx.mo()["complete"].all())
        assert rx.mo().loc[0, "text"] == "z" * 300
