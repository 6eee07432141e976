"""Real Kannel (Debian's bearerbox + smsbox) against the simulator, as the source document sets it up.

Skipped only when the Kannel binaries are absent (CI installs the `kannel` package).
Every process is stopped by PID in the fixtures; every wait is bounded.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

import pytest

import smppkit
from smppkit.kannel.checks import check_config
from smppkit.kannel.logs import read_bearerbox_log
from smppkit.kannel.runner import KannelLab, KannelNotInstalled, find_kannel

pytestmark = pytest.mark.integration

try:
    find_kannel()
except KannelNotInstalled as exc:  # pragma: no cover - depends on the machine
    pytest.skip(str(exc), allow_module_level=True)

DELIVRD, UNDELIV, EXPIRED, NO_RECEIPT = (
    "447700900000",
    "447700900001",
    "447700900002",
    "447700900004",
)
LONG_TEXT = (
    "A long text goes out as a concatenated message with a UDH in every part. " * 5
)  # 370 chars: 3 parts


def wait_until(predicate, timeout: float = 10.0, step: float = 0.05):  # noqa: ANN001, ANN201
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(step)


@pytest.fixture(scope="module")
def sim() -> Iterator[smppkit.simulator.SimulatorHandle]:
    with smppkit.simulator.start(seed=7, dlr_delay=0.1) as handle:
        yield handle


@pytest.fixture(scope="module")
def lab(sim: smppkit.simulator.SimulatorHandle) -> Iterator[KannelLab]:
    lab = KannelLab(sim, start_timeout=20, sms_resend_freq=1)
    with lab:
        yield lab


def callbacks(lab: KannelLab, label: str) -> list[dict]:
    return [r for r in list(lab.dlrs) if r["label"] == label]


# -- the provider setup works -------------------------------------------------------------------


def test_kannel_binds_to_smpp1_and_smpp2(
    lab: KannelLab, sim: smppkit.simulator.SimulatorHandle
) -> None:
    assert lab.links() == {"SMPP1": "online", "SMPP2": "online"}
    trace = sim.trace()
    binds = trace[(trace.command == "bind_transceiver_resp") & (trace.command_status == 0)]
    assert set(binds.instance) == {"SMPP1", "SMPP2"}
    assert set(lab.pids) == {"bearerbox", "smsbox"}


def test_generated_config_passes_its_own_check(
    lab: KannelLab, sim: smppkit.simulator.SimulatorHandle
) -> None:
    assert check_config(lab.config_text, account_throughput=sim.account.throughput) == []


def test_short_and_long_messages_get_receipts(
    lab: KannelLab, sim: smppkit.simulator.SimulatorHandle
) -> None:
    short = lab.send(DELIVRD, "Hello World", dlr_mask=31)
    long = lab.send(DELIVRD, LONG_TEXT, dlr_mask=31)
    assert (short.status, short.body) == (202, "0: Accepted for delivery")
    assert long.status == 202
    for sent in (short, long):
        got = wait_until(lambda s=sent: [r for r in callbacks(lab, s.label) if r["d"] == "1"])
        assert got, f"no delivered callback for {sent.label}: {callbacks(lab, sent.label)}"
        final = got[0]
        assert final["A"].startswith(f"id:{final['F']} ") and "stat:DELIVRD" in final["A"]
        assert final["F"].isdigit()  # %F: the receipt's decimal id, matched to the hex resp
        assert final["i"] == "nexmo" and final["p"] == DELIVRD
        kinds = {r["d"] for r in callbacks(lab, sent.label)}
        assert {"8", "1"} <= kinds  # SMSC ack, then the handset receipt
    trace = sim.trace()
    parts = trace[(trace.command == "submit_sm") & (trace.part_total == 3)]
    assert sorted(parts.part_seq) == [1, 2, 3]
    assert parts.instance.nunique() == 1  # all parts through one cluster instance (V6)
    # Kannel asks for a receipt on the first part only (smpp-facts §5)
    assert list(parts.sort_values("part_seq").registered_delivery & 0x03) == [1, 0, 0]


def test_dlr_url_callbacks_carry_the_dlr_type(lab: KannelLab) -> None:
    sent = {
        to: lab.send(to, "which %d?", dlr_mask=31) for to in (DELIVRD, UNDELIV, EXPIRED, NO_RECEIPT)
    }
    expect = {DELIVRD: "1", UNDELIV: "2", EXPIRED: "34"}  # 1.4.5 adds 32 to an EXPIRED receipt
    for to, d in expect.items():
        got = wait_until(
            lambda to=to, d=d: [r for r in callbacks(lab, sent[to].label) if r["d"] == d]
        )
        assert got, f"{to}: {callbacks(lab, sent[to].label)}"
        assert got[0]["P"] == "smppkit" and got[0]["T"].isdigit()
    # the no-receipt number: only Kannel's own SMSC-level reports (8, and 4 for the
    # intermediate notification mask 31 asks for with registered_delivery 0x11)
    time.sleep(0.5)
    assert {r["d"] for r in callbacks(lab, sent[NO_RECEIPT].label)} <= {"8", "4"}
    frame = lab.dlr_frame()
    assert str(frame["d"].dtype) == "Int64" and {1, 2, 8} <= set(frame["d"].dropna())


# -- dlr-mask 17 --------------------------------------------------------------------------------


def test_dlr_mask_17_drops_the_failure_receipt(lab: KannelLab) -> None:
    masked = lab.send(UNDELIV, "lost under 17", dlr_mask=17)
    wide = [lab.send(UNDELIV, f"seen under {m}", dlr_mask=m) for m in (19, 31)]
    for sent in wide:
        assert wait_until(lambda s=sent: [r for r in callbacks(lab, s.label) if r["d"] == "2"]), (
            sent.label
        )

    def ignored() -> list[dict]:
        events, _ = read_bearerbox_log(lab.bearerbox_log)
        return [e for e in events if "because of mask" in e["note"] and "dlr-mask 17" in e["note"]]

    assert wait_until(ignored), "no 'Ignoring DLR message because of mask' line"
    assert "Ignoring DLR message because of mask type=2 dlr->mask=17" in lab.log_text()
    assert callbacks(lab, masked.label) == []  # nothing at all: not even the 0x00 submit ack


# -- msg-id-type -------------------------------------------------------------------------------


@pytest.mark.parametrize(("msg_id_type", "matched"), [(None, False), ("auto", True)])
def test_msg_id_type_decides_whether_receipts_match(msg_id_type: object, matched: bool) -> None:
    with (
        smppkit.simulator.start(seed=7, dlr_delay=0.05) as sim,
        KannelLab(sim, msg_id_type=msg_id_type) as lab,
    ):
        sent = lab.send(DELIVRD, "match me", dlr_mask=19)
        wait_until(lambda: sim.counters.get("deliver_acked", 0) >= 1, timeout=10)
        if matched:
            assert wait_until(lambda: callbacks(lab, sent.label)), lab.log_text()[-2000:]
        else:
            not_found = wait_until(lambda: "not found." in lab.log_text(), timeout=5)
            assert not_found
            events, _ = read_bearerbox_log(lab.bearerbox_log)
            assert any(e["note"].startswith("DLR not found") for e in events)
            assert callbacks(lab, sent.label) == []
            findings = check_config(lab.config_text)
            assert any("msg-id-type is unset" in f.problem for f in findings)
        pids = list(lab.pids.values())
    for pid in pids:  # stopped by PID, reaped
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


# -- throttling --------------------------------------------------------------------------------


def test_throughput_above_the_account_limit_is_throttled_and_resent() -> None:
    n = 8
    with (
        smppkit.simulator.start(seed=7, dlr_delay=0.05, throughput=3) as sim,
        KannelLab(sim, throughput=50, sms_resend_freq=1) as lab,
    ):
        findings = check_config(lab.config_text, account_throughput=3)
        assert any("above the account's 3/s" in f.problem for f in findings)
        sent = [lab.send(DELIVRD, f"burst {i}", dlr_mask=19) for i in range(n)]

        def delivered() -> bool:
            return all(any(r["d"] == "1" for r in callbacks(lab, s.label)) for s in sent)

        # Kannel requeues a 0x58 (temporary) and resends after sms-resend-freq
        assert wait_until(delivered, timeout=20), [r["label"] for r in lab.dlrs]
        counters = sim.counters
        assert counters["throttled"] > 0
        assert counters["submits"] == n + counters["throttled"]
        trace = sim.trace()
        assert (trace[trace.command == "submit_sm_resp"].command_status == 0x58).sum() == counters[
            "throttled"
        ]
        events, bad = read_bearerbox_log(lab.bearerbox_log)
        assert not bad
        refused = [
            e for e in events if e["command_status"] == 0x58 and "requeues" in (e["note"] or "")
        ]
        assert len(refused) == counters["throttled"]
        assert "0x00000058 (Throttling error)" in lab.log_text()


# -- registered_delivery per dlr-mask (the table in smppkit.meanings) ----------------------------


def test_registered_delivery_per_dlr_mask_is_what_meanings_says(
    lab: KannelLab, sim: smppkit.simulator.SimulatorHandle
) -> None:
    from smppkit.sms.meanings import KANNEL_145_REGISTERED_DELIVERY, explain_dlr_mask

    got = {}
    for mask in sorted(KANNEL_145_REGISTERED_DELIVERY):
        sim.clear_trace()
        lab.send(NO_RECEIPT, f"rd for mask {mask}", dlr_mask=mask)
        trace = wait_until(
            lambda: (t := sim.trace())[t.command == "submit_sm"].registered_delivery.tolist()
        )
        assert len(trace) == 1, (mask, trace)
        got[mask] = trace[0]
    assert got == KANNEL_145_REGISTERED_DELIVERY
    assert all(explain_dlr_mask(m).registered_delivery == rd for m, rd in got.items())


# -- the helpers the notebook uses --------------------------------------------------------------


def test_receipts_log_lines_and_lookups_live(lab: KannelLab) -> None:
    url = lab.test_url()
    assert url.startswith(f"{lab.sendsms_base}/cgi-bin/sendsms?username=lab&password=lab-pass&to=447700900000")
    assert "&dlr-mask=17&dlr-url=" in url
    masked = lab.send(UNDELIV, "17 drops me", dlr_mask=17)
    assert lab.wait_for_log("because of mask type=2 dlr->mask=17")
    wide = lab.send(UNDELIV, "31 shows me", dlr_mask=31)
    assert len(lab.wait_for_dlrs(3, label=wide.label)) == 3
    frame = lab.receipts()
    assert masked.label not in set(frame.label)
    rows = frame[frame.label == wide.label]
    assert rows[["d", "dlr"]].values.tolist() == [[8, "smsc_success"], [4, "buffered"], [2, "failure"]]
    assert rows.report.tolist()[-1] == "stat:UNDELIV err:001"
    lookups = lab.dlr_lookups()
    assert lookups.found.all() and (lookups.stored_id == lookups.receipt_id).all()
    assert "ignored (dlr-mask 17)" in set(lookups.outcome)


# -- smppkit kannel run ----------------------------------------------------------------------------


def test_cli_run_prints_the_urls_reports_callbacks_and_stops_on_sigterm() -> None:
    import signal
    import subprocess
    import sys
    import urllib.request

    proc = subprocess.Popen(
        [sys.executable, "-m", "smppkit", "kannel", "run", "--dlr-delay", "0.05"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        lines = []
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line)
            if line.startswith("Ctrl-C"):
                break
        text = "".join(lines)
        assert "links: SMPP1 online, SMPP2 online" in text, text
        assert "dlr-url listener: http://127.0.0.1:" in text
        url = lines[lines.index("the source document's test URL (dlr-mask=17):\n") + 1].strip()
        assert "dlr-mask=17" in url
        with urllib.request.urlopen(url, timeout=10) as resp:
            assert resp.read().decode().strip() == "0: Accepted for delivery"
        callback = proc.stdout.readline()
        assert callback.startswith("dlr-url: label=test d=1 (success) to=447700900000 id:"), callback
        pids = [int(p) for p in __import__("re").findall(r"(?:bearerbox|smsbox) pid (\d+)", text)]
        assert len(pids) == 2
        proc.send_signal(signal.SIGTERM)
        rest = proc.communicate(timeout=20)[0]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0
    assert rest.startswith("stopped smsbox (pid ") and "exit 0" in rest
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
