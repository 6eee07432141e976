"""`lab.monitor()`: the simulator's live counters in a notebook widget, updated in place
under real smpplib traffic, and stopping with the simulator."""

from __future__ import annotations

import time

import pytest

from smppkit import lab
from smppkit.notebook import widgets

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]


def _wait(predicate, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def test_monitor_updates_in_place_and_stops_with_the_simulator(start_sim, esme):
    sim = start_sim(throughput=10)
    box = lab.monitor(sim, interval=0.1)
    html = box.result  # the same widget all along: the view updates in place
    try:
        assert "smppkit simulator</b> (running)" in html.value
        assert "No session is bound." in html.value
        client = esme(sim.address("SMPP1"))
        assert client.bind("transceiver") == 0
        statuses = [client.submit().status for _ in range(15)]
        throttled = statuses.count(0x58)
        assert throttled > 0
        assert _wait(lambda: box.stats["counters"]["submits"] == 15)
        assert box.result is html
        assert _wait(lambda: f"<td>answered ESME_RTHROTTLED</td>\n      <td>{throttled}</td>"
                     in html.value)
        assert "<td>SMPP1</td>\n      <td>smppkit</td>\n      <td>transceiver</td>" in html.value
        client.idle(0.5)
        assert _wait(lambda: box.stats["counters"]["deliver_acked"] > 0)
    finally:
        sim.stop()
    assert _wait(lambda: not box.thread.is_alive(), timeout=5)
    assert "(stopped)" in html.value
    box.stop()  # safe after the simulator stopped


def test_monitor_of_a_lab_on_a_real_smsc_says_why_not():
    real = lab.start(env={"SMPPKIT_SMSC": "127.0.0.1:1"}, quiet=True)
    with pytest.raises(ValueError, match="real SMSC"):
        widgets.monitor(real)
