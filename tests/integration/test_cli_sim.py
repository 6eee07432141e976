"""`smppkit sim` from a shell: the listening lines, a real client, SIGTERM → unbind, exit 0."""

from __future__ import annotations

import json
import signal
import socket
import struct
import subprocess
import sys
import time
from pathlib import Path

import pytest
import smpplib.client
import smpplib.smpp

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]


def _free_block(n: int = 3) -> int:
    """A port p such that p..p+n-1 are free now (best effort)."""
    for _ in range(50):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            base = s.getsockname()[1]
        if base + n > 65535:
            continue
        ok = True
        for p in range(base, base + n):
            with socket.socket() as t:
                try:
                    t.bind(("127.0.0.1", p))
                except OSError:
                    ok = False
                    break
        if ok:
            return base
    raise RuntimeError("no free port block")


@pytest.fixture
def sim_process(tmp_path):
    procs: list[subprocess.Popen[str]] = []

    def start(*args: str) -> tuple[subprocess.Popen[str], list[str]]:
        proc = subprocess.Popen(
            [sys.executable, "-m", "smppkit", "sim", *args],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        procs.append(proc)
        lines = []
        assert proc.stdout is not None
        for _ in range(3):
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line.rstrip("\n"))
        return proc, lines

    yield start
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
        proc.wait(10)


def test_sim_prints_one_line_per_instance_and_unbinds_clients_on_sigterm(sim_process, tmp_path):
    port = _free_block()
    trace = tmp_path / "trace.jsonl"
    proc, lines = sim_process("--port", str(port), "--seed", "3", "--trace", str(trace))
    assert lines == [
        f"SMPP1 listening on 127.0.0.1:{port}",
        f"SMPP2 listening on 127.0.0.1:{port + 1}",
        f"SMPP0 listening on 127.0.0.1:{port + 2}",
    ]
    client = smpplib.client.Client("127.0.0.1", port + 1, timeout=5, allow_unknown_opt_params=True)
    client.connect()
    client.bind_transceiver(system_id="smppkit", password="secret")
    client.send_message(source_addr="t", destination_addr="447700900000", short_message=b"hi")
    assert client.read_pdu().command == "submit_sm_resp"
    proc.send_signal(signal.SIGTERM)
    unbind = client.read_pdu()  # the simulator unbinds its clients before it exits
    assert unbind.command == "unbind"
    resp = smpplib.smpp.make_pdu("unbind_resp", client=client)
    resp.sequence = unbind.sequence
    client.send_pdu(resp)
    assert proc.wait(10) == 0
    client.state = "OPEN"
    client.disconnect()
    events = [json.loads(line) for line in trace.read_text().splitlines()]
    assert [e["command"] for e in events if e["command"]][:4] == [
        "bind_transceiver", "bind_transceiver_resp", "submit_sm", "submit_sm_resp",
    ]
    assert events[0]["instance"] == "SMPP2"
    assert "secret" not in trace.read_text()


def test_sim_rejects_an_unknown_scenario_in_one_line(sim_process):
    proc, _ = sim_process("--port", str(_free_block()), "--scenario", "no-such-thing")
    assert proc.wait(10) == 2
    assert proc.stderr is not None
    err = proc.stderr.read().strip().splitlines()
    assert len(err) == 1 and "unknown scenario 'no-such-thing'" in err[0]


def test_sim_reports_a_taken_port(sim_process):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        proc, _ = sim_process("--port", str(port))
        assert proc.wait(10) == 1
        assert proc.stderr is not None
        assert "cannot listen" in proc.stderr.read()


def test_python_dash_m_and_console_script_agree():
    script = Path(sys.executable).with_name("smppkit")
    outs = [
        subprocess.run(cmd, capture_output=True, text=True, timeout=30)
        for cmd in ([sys.executable, "-m", "smppkit", "sim", "--help"], [str(script), "sim", "--help"])
    ]
    assert all(o.returncode == 0 for o in outs)
    assert "--id-format" in outs[0].stdout and "--dlr-delay" in outs[0].stdout
    assert outs[0].stdout.split("options:")[1] == outs[1].stdout.split("options:")[1]


def test_sim_process_stays_lean(sim_process):
    """`smppkit sim` loads no pandas or pyarrow (the diagnostics commands do)."""
    proc, lines = sim_process("--port", str(_free_block()))
    assert len(lines) == 3
    maps = Path(f"/proc/{proc.pid}/maps")
    if not maps.exists():
        pytest.skip("no /proc here")
    loaded = maps.read_text()
    assert "pyarrow" not in loaded and "pandas" not in loaded
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(10) == 0


def test_diagnostics_commands_are_listed_in_the_help():
    out = subprocess.run([sys.executable, "-m", "smppkit", "--help"], capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0
    assert all(name in out.stdout for name in ("sim", "doctor", "analyze", "kannel"))


def test_sim_options_for_outbind_alerts_and_the_store_take_effect(sim_process):
    """--outbind/--outbind-account, --alert-notification/--alert-delay and
    --max-stored-receipts, each seen from a client (the engine's own tests check the rules)."""
    from simclients import Esme

    from smppkit.protocol.constants import CommandStatus

    port = _free_block(1)
    with socket.create_server(("127.0.0.1", 0)) as listener:
        listener.settimeout(10)
        esme_port = listener.getsockname()[1]
        proc, lines = sim_process(
            "--port", str(port), "--profile", "single", "--dlr-delay", "0.05", "--throughput", "0",
            "--account", "smppkit:secret", "--account", "other:pw",
            "--outbind", f"127.0.0.1:{esme_port}", "--outbind-account", "other",
            "--alert-notification", "--alert-delay", "0.2", "--max-stored-receipts", "2")
        assert lines[0] == f"SMPP0 listening on 127.0.0.1:{port}"
        conn, _ = listener.accept()
        length, command_id, _, _ = struct.unpack(">IIII", conn.recv(16, socket.MSG_WAITALL))
        body = conn.recv(length - 16, socket.MSG_WAITALL)
        assert command_id == 0x0000000B and body.split(b"\x00")[:2] == [b"other", b"pw"]  # §4.1.7
        outbound = Esme(f"127.0.0.1:{port}", sock=conn)
        assert outbound.bind("receiver", system_id="other", password="pw") == 0
        sender = Esme(f"127.0.0.1:{port}")
        assert sender.bind("transmitter", system_id="other", password="pw") == 0
        sender.submit_id("447700900002")  # EXPIRED, err 002: an absent subscriber
        (receipt,) = outbound.collect(1, timeout=3)
        deadline = time.monotonic() + 3
        while not outbound.unsolicited and time.monotonic() < deadline:
            outbound.read(0.1)
        assert [p.command for p in outbound.unsolicited] == ["alert_notification"]  # §4.12
        held = Esme(f"127.0.0.1:{port}")  # smppkit has no receiver: its receipts stay held
        assert held.bind("transmitter") == 0
        statuses = [held.submit("447700900000").status for _ in range(2)]
        time.sleep(0.4)
        statuses.append(held.submit("447700900000").status)
        assert statuses == [0, 0, CommandStatus.ESME_RMSGQFUL]
        for client in (outbound, sender, held):
            client.close()
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(10) == 0


@pytest.mark.parametrize(("option", "value", "says"), [
    ("--outbind", "nowhere", "outbind must be HOST:PORT"),
    ("--outbind-account", "nobody", "outbind_account 'nobody' is not one of the accounts"),
    ("--failure-rate", "1.5", "--failure-rate must be between 0 and 1"),
    ("--max-stored-receipts", "0", "--max-stored-receipts must be above 0"),
])
def test_sim_refuses_a_bad_store_or_outbind_option_in_one_line(sim_process, option, value, says):
    proc, _ = sim_process("--port", str(_free_block()), option, value)
    assert proc.wait(10) == 2
    assert proc.stderr is not None
    err = proc.stderr.read().strip().splitlines()
    assert len(err) == 1 and says in err[0], err


def test_sim_help_gives_the_engine_options_with_their_defaults():
    out = subprocess.run([sys.executable, "-m", "smppkit", "sim", "--help"], capture_output=True,
                         text=True, timeout=30).stdout
    flat = " ".join(out.split("receipts, outbind and alert_notification:")[1].split())
    for option, default in (("--max-stored-receipts N", "200000"), ("--deliver-timeout", "5.0"),
                            ("--retry-delay", "0.5"), ("--alert-delay", "1.0"),
                            ("--failure-rate", "0.08")):
        start = flat.index(option)
        assert f"(default {default})" in flat[start:start + 300], option
    assert "--outbind HOST:PORT" in flat and "--alert-notification" in flat
    assert "0: it sends none" in " ".join(out.split())  # --enquire-link-interval 0: none
