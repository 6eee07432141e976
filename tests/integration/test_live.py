"""The simulator's live view: `smppkit sim --http PORT` in real headless Chromium under
smpplib traffic, /metrics read with prometheus_client's own parser, and the view stopping
with the simulator."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest
from browser import chromium  # noqa: F401  (fixture)
from prometheus_client.parser import text_string_to_metric_families
from simclients import Esme, connect_refused
from test_cli_sim import _free_block

from smppkit.simulator import live

pytestmark = [pytest.mark.integration, pytest.mark.timeout(90)]


def _get(url: str) -> tuple[int, str, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            return r.status, r.headers["Content-Type"], r.read()
    except urllib.error.HTTPError as err:
        return err.code, err.headers["Content-Type"], err.read()


def _metrics(url: str) -> dict[str, float]:
    """Every sample of /metrics, keyed by name{labels}."""
    _, ctype, body = _get(url + "metrics")
    assert ctype.startswith("text/plain; version=")
    out = {}
    for family in text_string_to_metric_families(body.decode()):
        for s in family.samples:
            labels = ",".join(f"{k}={v}" for k, v in sorted(s.labels.items()))
            out[f"{s.name}{{{labels}}}" if labels else s.name] = s.value
    return out


def _wait(predicate, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


@pytest.fixture
def sim_http():
    """`smppkit sim --http` in a subprocess; yields (proc, smpp_port, page_url, lines)."""
    port = _free_block(4)
    proc = subprocess.Popen(
        [sys.executable, "-m", "smppkit", "sim", "--port", str(port), "--http", str(port + 3),
         "--dlr-delay", "0.05", "--throughput", "20", "--seed", "5"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    assert proc.stdout is not None
    lines: list[str] = []
    for _ in range(12):  # the set-up lines end with the clock's
        lines.append(proc.stdout.readline().rstrip("\n"))
        if lines[-1].startswith("clock:") or not lines[-1]:
            break
    try:
        yield proc, port, f"http://127.0.0.1:{port + 3}/", lines
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(10)


def _counter(driver, key: str) -> float:
    text = driver.find_element("id", key).text.replace(",", "")
    return float(text) if text else -1.0


def test_the_page_counts_live_traffic_without_a_reload(sim_http, chromium):  # noqa: F811
    proc, port, url, lines = sim_http
    assert f"live view on {url} (Prometheus metrics on {url}metrics)" in lines
    assert any(line.startswith("clock: fixed, starts at 2026-01-01 00:00:00 UTC") for line in lines)
    assert any(line.startswith("account smppkit (password ") for line in lines)
    chromium.get(url)
    assert _wait(lambda: chromium.find_elements("id", "submits"))
    assert _counter(chromium, "submits") == 0
    marker = chromium.execute_script("window.notReloaded = 42; return window.notReloaded")
    esme = Esme(f"127.0.0.1:{port}")
    try:
        assert esme.bind("transceiver") == 0
        statuses = [esme.submit(f"44770090000{i % 10}").status for i in range(40)]
        throttled = statuses.count(0x58)
        assert throttled > 0  # 40 submits at once against 20 msg/s
        esme.collect(40 - throttled - statuses.count(0) + 1, timeout=0.5)
        assert _wait(lambda: _counter(chromium, "submits") == 40)
        assert _counter(chromium, "throttled") == throttled
        rows = [r.text for r in chromium.find_elements("css selector", "#binds tbody tr")]
        assert "SMPP1 smppkit transceiver 1" in rows
        esme.idle(1.0)  # the receipts arrive and are acknowledged
        assert _wait(lambda: _counter(chromium, "deliver_acked") > 0)
        assert chromium.execute_script("return window.notReloaded") == marker
        metrics = _metrics(url)
        assert metrics["smppkit_submits_total"] == 40
        assert metrics["smppkit_throttled_total"] == throttled
        assert metrics["smppkit_binds{account=smppkit,bind_type=transceiver,instance=SMPP1}"] == 1
        assert metrics["smppkit_instance_up{instance=SMPP0}"] == 1
    finally:
        esme.close()
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(10) == 0
    assert connect_refused(url.split("/")[2])  # the view stopped with the simulator


def test_stats_json_and_unknown_paths(sim_http):
    _, _, url, _ = sim_http
    status, ctype, body = _get(url + "stats.json")
    stats = json.loads(body)
    assert status == 200 and ctype == "application/json"
    assert set(live.COUNTERS) <= set(stats["counters"])
    assert stats["instances"] == {"SMPP1": True, "SMPP2": True, "SMPP0": True}
    assert _get(url + "nope")[0] == 404
    req = urllib.request.Request(url, data=b"x", method="POST")
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(req, timeout=5)
    assert err.value.code == 405


def test_a_taken_http_port_is_one_line_and_exit_1():
    port = _free_block(4)
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", port + 3))
        busy.listen()
        out = subprocess.run(
            [sys.executable, "-m", "smppkit", "sim", "--port", str(port), "--http", str(port + 3)],
            capture_output=True, text=True, timeout=30)
    assert out.returncode == 1
    assert out.stderr.strip().startswith("smppkit sim: cannot serve the live view")


def test_serve_on_a_handle_stops_with_the_simulator(start_sim, esme):
    sim = start_sim()
    view = live.serve(sim)
    assert view.url.startswith("http://127.0.0.1:")
    client = esme(sim.address("SMPP2"))
    assert client.bind("receiver") == 0
    assert _wait(lambda: json.loads(_get(view.url + "stats.json")[2])["binds"] == [
        {"instance": "SMPP2", "account": "smppkit", "bind": "receiver", "sessions": 1}])
    sim.inject_mo("447700900123", "smppkit", "hello")
    assert _wait(lambda: _metrics(view.url)["smppkit_mo_total"] == 1)
    sim.stop()
    assert _wait(lambda: not view.running, timeout=5)
    assert connect_refused(view.url.split("/")[2])


def test_rates_are_submits_per_second_over_the_window():
    rates = live.Rates(window=2.0)

    def at(t: float, submits: int) -> float:
        return rates.update({"counters": {"submits": submits}}, now=t)["counters"]["submits_per_s"]

    assert at(0.0, 0) == 0.0
    assert at(1.0, 30) == 30.0
    assert at(2.0, 90) == 45.0  # 90 submits in 2 s
    assert at(4.0, 90) == 0.0  # nothing new in the last 2 s
    assert at(10.0, 100) == 1.7  # a long gap: 10 submits since the last sample, 6 s ago
