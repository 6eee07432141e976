"""Regenerate the doctor's corpus: broken and healthy setups made with real peers.

    python data/corpus/make.py              # every case (about 6 minutes; needs root for dumpcap)
    python data/corpus/make.py smpplib-rd0  # some cases
    python data/corpus/make.py --evaluate   # only the tables (what the doctor names, per artifact)

Each case runs real software -- Kannel 1.4.5 (bearerbox + smsbox), a python-smpplib
application (`peers/smpplib_app.py`), a Perl Net::SMPP application (`peers/netsmpp_app.pl`)
-- against the simulator (`smppkit.simulator.start`) or against `tests/peers/mini_smsc.py`,
a stdlib SMSC that behaves differently (decimal ids, receipts only on a receiver bind,
SMSC-side enquire_link, receipts resent; `MINI_SMSC` turns these on). dumpcap captures the SMPP ports on 127.0.0.1. A case keeps only what
a user has on the client side (capture.pcap; bearerbox.log + access.log; the application's
log) and a case.json with the true cause: the doctor finding code that names it, or null
for a healthy control. Passwords are masked. Runs are not byte-identical (real time, real
processes); the causes are.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
PEERS = HERE / "peers"
#: The stdlib SMSC shared with the tests, and the behaviours the corpus runs it with.
MINI_SMSC = HERE.parents[1] / "tests" / "peers" / "mini_smsc.py"
MINI_SMSC_OPTIONS = ("--system-id", "", "--password", "secret", "--first-id", "4000000001",
                     "--dlr-delay", "0.3", "--receipts-to", "receiver", "--outcomes",
                     "--enquire", "2", "--enquire-timeout", "1", "--resend", "2", "--attempts", "3")
PYTHON = sys.executable
LONG = "This long text is split by the sender into parts joined again by the handset. " * 3
UCS2_LONG = "Привет! Ваш код подтверждения 4711, он действует десять минут. Спасибо. " * 2


@dataclass
class Case:
    name: str
    cause: str | None  # the doctor's finding code for the true cause; None: healthy
    description: str
    run: Callable[[Path], dict[str, object]]
    peers: tuple[str, ...] = ()
    smsc: str = "simulator"
    extra: dict[str, object] = field(default_factory=dict)


CASES: list[Case] = []


def case(name: str, cause: str | None, description: str, peers: tuple[str, ...], smsc: str = "simulator"):
    def wrap(fn: Callable[[Path], dict[str, object]]) -> Callable[[Path], dict[str, object]]:
        CASES.append(Case(name, cause, description, fn, peers, smsc))
        return fn
    return wrap


# --- capture and peers ----------------------------------------------------------------------


@contextlib.contextmanager
def capture(out: Path, ports: list[int]) -> Iterator[None]:
    """dumpcap on lo for the SMPP ports; stopped by its PID."""
    bpf = " or ".join(f"tcp port {p}" for p in ports)
    proc = subprocess.Popen(["dumpcap", "-q", "-P", "-i", "lo", "-f", bpf, "-w", str(out)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 10
    while not (out.exists() and out.stat().st_size >= 24):
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"dumpcap did not start: {proc.stderr.read().decode(errors='replace')}")
        time.sleep(0.05)
    time.sleep(0.3)
    try:
        yield
    finally:
        time.sleep(0.5)
        os.kill(proc.pid, signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(5)


def sim_ports(sim: object) -> list[int]:
    return [sim.port(name) for name in ("SMPP1", "SMPP2")]  # type: ignore[attr-defined]


def smpplib_app(out: Path, smscs: list[str], *args: str, timeout: float = 60) -> None:
    cmd = [PYTHON, str(PEERS / "smpplib_app.py"), "--log", str(out / "client.log")]
    for s in smscs:
        cmd += ["--smsc", s]
    subprocess.run(cmd + list(args), timeout=timeout, check=False,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def perl_app(out: Path, port: int, mode: str, count: int, to: str, rd: int = 1) -> None:
    subprocess.run(["perl", str(PEERS / "netsmpp_app.pl"), "127.0.0.1", str(port),
                    str(out / "app.log"), mode, str(count), to, str(rd)],
                   timeout=60, check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


@contextlib.contextmanager
def mini_smsc(*args: str) -> Iterator[int]:
    with tempfile.TemporaryDirectory() as tmp:
        ready = Path(tmp) / "port"
        proc = subprocess.Popen([PYTHON, str(MINI_SMSC), "--ready-file", str(ready), *MINI_SMSC_OPTIONS, *args],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 10
            while not (ready.exists() and ready.read_text().strip()):
                if time.monotonic() > deadline:
                    raise RuntimeError("mini SMSC did not start")
                time.sleep(0.05)
            yield int(ready.read_text())
        finally:
            os.kill(proc.pid, signal.SIGTERM)
            proc.wait(10)


def simulator(**options: object):  # noqa: ANN201
    import smppkit.simulator

    options.setdefault("dlr_delay", 0.2)
    options.setdefault("seed", 7)
    return smppkit.simulator.start(**options)


def _capture_module():  # noqa: ANN202
    spec = importlib.util.spec_from_file_location("kannel_capture", HERE.parent / "kannel" / "capture.py")
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


def kannel(out: Path, sends: list[tuple[str, str, int | None]], *, wait: float = 3.0,
           sim_options: dict | None = None, edit: Callable[[str], str] | None = None,
           raw_urls: list[str] | None = None, **lab_options: object) -> dict[str, object]:
    """bearerbox + smsbox against a fresh simulator; keeps bearerbox.log, access.log, the pcap."""
    from smppkit.kannel.config import sendsms_url
    from smppkit.kannel.runner import KannelLab

    sanitize = _capture_module().sanitize
    with tempfile.TemporaryDirectory() as tmp, simulator(**(sim_options or {})) as sim:
        lab_options.setdefault("start_timeout", 8)
        lab = KannelLab(sim, workdir=tmp, keep=True, **lab_options)
        if edit:
            lab.config_text = edit(lab.config_text)
        started = True
        with capture(out / "capture.pcap", sim_ports(sim)):
            try:
                lab.start()
            except (TimeoutError, RuntimeError):
                started = False
                time.sleep(wait)
            if started:
                try:
                    for to, text, mask in sends:
                        lab.send(to, text, dlr_mask=mask)
                    for to, text in [(u.split("|")[0], u.split("|")[1]) for u in raw_urls or []]:
                        url = sendsms_url(to, text, base=lab.sendsms_base, username=lab.sendsms_username,
                                          password=lab.sendsms_password, dlr_mask=19, dlr_url=None,
                                          charset="UTF-8")
                        with contextlib.suppress(OSError):
                            urllib.request.urlopen(url, timeout=10).read()
                    time.sleep(wait)
                finally:
                    lab.stop()
        for name in ("bearerbox.log", "access.log"):
            src = Path(tmp) / name
            if src.exists():
                (out / name).write_text(sanitize(src.read_text(errors="replace"), lab), encoding="utf-8")
    return {"kannel_started": started}


def sim_smpplib(out: Path, *args: str, instances: tuple[str, ...] = ("SMPP1",), **sim_options: object
                ) -> dict[str, object]:
    with simulator(**sim_options) as sim, capture(out / "capture.pcap", sim_ports(sim)):
        smpplib_app(out, [sim.address(i) for i in instances], *args)
    return {}


# --- the cases ------------------------------------------------------------------------------

K = ("kannel-1.4.5", "dumpcap")
S = ("python-smpplib", "dumpcap")
P = ("perl-net-smpp", "dumpcap")

# Kannel against the simulator


@case("kannel-mask-17", "kannel-dlr-mask", "dlr-mask 17 (success + SMSC reject): failure receipts are ignored", K)
def _k1(out: Path) -> dict:
    return kannel(out, [("447700900000", "Hello", 17), ("447700900001", "undeliverable", 17),
                        ("447700900002", "expires", 17)])


@case("kannel-msg-id-type-unset", "kannel-dlr-not-found", "msg-id-type unset: hex resp ids vs decimal receipts", K)
def _k2(out: Path) -> dict:
    return kannel(out, [("447700900000", "Hello", 19), ("447700900001", "undeliverable", 19)], msg_id_type=None)


@case("kannel-throttled", "throttled", "Kannel throughput 50 against an account limit of 3/s", K)
def _k3(out: Path) -> dict:
    return kannel(out, [("447700900000", f"burst {i}", 19) for i in range(8)], wait=5.0,
                  sim_options={"throughput": 3}, throughput=50, sms_resend_freq=1)


@case("kannel-no-dlr-mask", "registered-delivery-0", "sendsms without dlr-mask: no receipt is asked for", K)
def _k4(out: Path) -> dict:
    return kannel(out, [("447700900000", f"no receipt {i}", None) for i in range(3)])


@case("kannel-early-receipt", "receipt-before-resp", "the SMSC sends the receipt before submit_sm_resp", K)
def _k5(out: Path) -> dict:
    return kannel(out, [("447700900000", f"early {i}", 19) for i in range(3)],
                  sim_options={"scenario": "early-receipt"})


@case("kannel-empty-dlr-url", "dlr-url-missing", "dlr-mask 19 but no dlr-url: receipts go nowhere", K)
def _k6(out: Path) -> dict:
    return kannel(out, [], raw_urls=["447700900000|no url 1", "447700900000|no url 2", "447700900001|no url 3"])


@case("kannel-smsc-id-per-link", "receipts-other-link", "each link its own smsc-id: receipts back on the other link are lost", K)
def _k7(out: Path) -> dict:
    return kannel(out, [("447700900000", f"two links {i}", 19) for i in range(6)], smsc_id=None)


@case("kannel-alt-charset-utf8", "data-coding-0-non-gsm", "alt-charset UTF-8: UTF-8 octets sent as data_coding 0", K)
def _k8(out: Path) -> dict:
    return kannel(out, [("447700900000", "Grüße aus Köln, café ½", 19)],
                  edit=lambda c: c.replace('msg-id-type = "0x01"', 'msg-id-type = "0x01"\nalt-charset = "UTF-8"'))


@case("kannel-wrong-password", "bind-refused", "smsc-password wrong: every bind refused", K)
def _k9(out: Path) -> dict:
    return kannel(out, [], password="wrong-password", wait=4.0)


@case("kannel-already-bound", "already-bound", "two links, an account allowing 1 bind: Kannel submits on the refused link", K)
def _k10(out: Path) -> dict:
    return kannel(out, [("447700900000", f"bound {i}", 19) for i in range(6)], wait=4.0,
                  sim_options={"max_binds": 1}, start_timeout=5)


@case("kannel-duplicate-receipts", "duplicate-receipts", "the SMSC sends every receipt twice", K)
def _k11(out: Path) -> dict:
    return kannel(out, [("447700900000", f"dup {i}", 19) for i in range(3)],
                  sim_options={"scenario": "duplicate-receipts"})


@case("kannel-undelivered", "not-delivered", "every receipt arrives, none says DELIVRD", K)
def _k12(out: Path) -> dict:
    return kannel(out, [("447700900001", "a", 31), ("447700900002", "b", 31), ("447700900003", "c", 31),
                        ("447700900007", "d", 31)])


@case("kannel-dead-keepalive", "enquire-link-unanswered", "the SMSC stops answering enquire_link", K)
def _k13(out: Path) -> dict:
    return kannel(out, [("447700900000", "keepalive", 19)], wait=9.0,
                  sim_options={"scenario": "dead-keepalive"}, enquire_link_interval=2)


@case("kannel-idle-unbind", "idle-unbind", "enquire-link-interval 30 against an SMSC that unbinds after 3 s idle", K)
def _k14(out: Path) -> dict:
    return kannel(out, [("447700900000", "then silence", 19)], wait=7.0,
                  sim_options={"inactivity_timeout": 3.0}, start_timeout=5)


@case("kannel-transmitter-only", "transmitter-only", "transceiver-mode false and no receive-port: a transmitter only", K)
def _k15(out: Path) -> dict:
    return kannel(out, [("447700900000", f"tx only {i}", 19) for i in range(3)],
                  edit=lambda c: c.replace("transceiver-mode = true", "transceiver-mode = false"))


@case("kannel-queue-full", "submit-refused", "the SMSC refuses submits with ESME_RMSGQFUL (2 pending allowed)", K)
def _k16(out: Path) -> dict:
    return kannel(out, [("447700900004", f"queued {i}", 19) for i in range(5)], wait=4.0,
                  sim_options={"max_pending": 2}, instances=("SMPP1",), sms_resend_freq=1)


@case("kannel-healthy-mixed", None, "dlr-mask 31, delivered, undeliverable, intermediate and long messages", K)
def _kh1(out: Path) -> dict:
    return kannel(out, [("447700900000", "Hello", 31), ("447700900000", LONG, 31), ("447700900006", "via ACCEPTD", 31),
                        ("447700900000", "Hello again", 31), ("447700900001", "undeliverable", 31)])


@case("kannel-healthy-ucs2-long", None, "a long Cyrillic text: UCS-2, concatenated", K)
def _kh2(out: Path) -> dict:
    return kannel(out, [("447700900000", UCS2_LONG, 19), ("447700900000", "Привет", 19)])


@case("kannel-healthy-paced", None, "throughput 5 per link, under the account's 30/s", K)
def _kh3(out: Path) -> dict:
    return kannel(out, [("447700900000", f"paced {i}", 19) for i in range(10)], throughput=5, wait=4.0)


# python-smpplib against the simulator


@case("smpplib-transmitter-only", "transmitter-only", "bind_transmitter only, receipts asked for", S)
def _s1(out: Path) -> dict:
    return sim_smpplib(out, "--bind", "tx", "--count", "3")


@case("smpplib-rd0", "registered-delivery-0", "registered_delivery 0", S)
def _s2(out: Path) -> dict:
    return sim_smpplib(out, "--registered-delivery", "0", "--count", "3")


@case("smpplib-rd2-expects-success", "registered-delivery-failure-only",
      "registered_delivery 2 while the application waits for DELIVRD receipts", S)
def _s3(out: Path) -> dict:
    return sim_smpplib(out, "--registered-delivery", "2", "--count", "3")


@case("smpplib-string-ids", "id-mismatch", "receipt ids compared with resp ids as strings (hex vs decimal)", S)
def _s4(out: Path) -> dict:
    return sim_smpplib(out, "--match", "string", "--count", "3")


@case("smpplib-own-sequence", "receipt-resp-missing", "deliver_sm_resp built with make_pdu's own sequence number", S)
def _s5(out: Path) -> dict:
    return sim_smpplib(out, "--resp-seq", "own", "--count", "2", "--wait", "7", deliver_timeout=2.0)


@case("smpplib-resp-throttled", "receipt-resp-retried", "deliver_sm answered with ESME_RTHROTTLED", S)
def _s6(out: Path) -> dict:
    return sim_smpplib(out, "--resp-status", "0x58", "--count", "2", "--wait", "4")


@case("smpplib-resp-refused", "receipt-resp-refused", "deliver_sm answered with ESME_RINVDSTADR (final)", S)
def _s7(out: Path) -> dict:
    return sim_smpplib(out, "--resp-status", "0x0B", "--count", "2")


@case("smpplib-no-resp", "receipt-resp-missing", "deliver_sm never answered", S)
def _s8(out: Path) -> dict:
    return sim_smpplib(out, "--no-resp", "--count", "2", "--wait", "7", deliver_timeout=2.0)


@case("smpplib-burst", "throttled", "60 submits as fast as possible against 30/s", S)
def _s9(out: Path) -> dict:
    return sim_smpplib(out, "--count", "60", "--rate", "0", "--wait", "3")


@case("smpplib-three-binds", "already-bound", "three transceivers for an account allowing two", S)
def _s10(out: Path) -> dict:
    return sim_smpplib(out, "--count", "3", instances=("SMPP1", "SMPP1", "SMPP2"))


@case("smpplib-wrong-password", "bind-refused", "a wrong password", S)
def _s11(out: Path) -> dict:
    return sim_smpplib(out, "--password", "wrong", "--count", "1")


@case("smpplib-utf8-as-gsm", "data-coding-0-non-gsm", "UTF-8 octets sent with data_coding 0", S)
def _s12(out: Path) -> dict:
    return sim_smpplib(out, "--coding", "utf8-as-0", "--text", "Grüße {n}, café", "--count", "2")


@case("smpplib-udh-without-udhi", "udh-without-udhi", "a concatenation UDH without esm_class 0x40", S)
def _s13(out: Path) -> dict:
    return sim_smpplib(out, "--no-udhi", "--text", LONG + "{n}", "--count", "1")


@case("smpplib-split-parts", "split-parts", "the parts of one message sent over SMPP1 and SMPP2", S)
def _s14(out: Path) -> dict:
    return sim_smpplib(out, "--spread", "parts", "--text", LONG + "{n}", "--count", "2", "--wait", "4",
                       instances=("SMPP1", "SMPP2"), concat_timeout=1.0)


@case("smpplib-dead-keepalive", "enquire-link-unanswered", "the SMSC stops answering enquire_link", S)
def _s15(out: Path) -> dict:
    return sim_smpplib(out, "--keepalive", "--count", "1", "--wait", "4", scenario="dead-keepalive")


@case("smpplib-idle-unbind", "idle-unbind", "no enquire_link against an SMSC that unbinds after 2 s idle", S)
def _s16(out: Path) -> dict:
    return sim_smpplib(out, "--idle", "4", "--count", "1", "--wait", "1", inactivity_timeout=2.0)


@case("smpplib-per-bind-table", "receipts-other-session",
      "a transmitter on SMPP1 and a receiver on SMPP2, each matching receipts only against its own messages", S)
def _s17(out: Path) -> dict:
    return sim_smpplib(out, "--bind", "tx,rx", "--table", "per-bind", "--count", "4",
                       instances=("SMPP1", "SMPP2"))


@case("smpplib-early-receipt", "receipt-before-resp", "the SMSC sends the receipt before submit_sm_resp", S)
def _s18(out: Path) -> dict:
    return sim_smpplib(out, "--count", "3", scenario="early-receipt")


@case("smpplib-duplicate-receipts", "duplicate-receipts", "the SMSC sends every receipt twice", S)
def _s19(out: Path) -> dict:
    return sim_smpplib(out, "--count", "3", scenario="duplicate-receipts")


@case("smpplib-undelivered", "not-delivered", "every receipt arrives, none says DELIVRD", S)
def _s20(out: Path) -> dict:
    return sim_smpplib(out, "--to", "447700900001,447700900002,447700900003", "--count", "6")


@case("smpplib-late-resp", "duplicate-receipts", "deliver_sm_resp sent after the SMSC's timeout", S)
def _s21(out: Path) -> dict:
    return sim_smpplib(out, "--resp-delay", "3", "--count", "1", "--wait", "8", deliver_timeout=2.0)


@case("smpplib-queue-full", "submit-refused", "ESME_RMSGQFUL: the SMSC allows 2 pending messages", S)
def _s22(out: Path) -> dict:
    return sim_smpplib(out, "--count", "5", "--rate", "0", "--wait", "1", max_pending=2, dlr_delay=5.0)


@case("smpplib-healthy-mixed", None, "delivered, undeliverable, expired and intermediate receipts", S)
def _sh1(out: Path) -> dict:
    return sim_smpplib(out, "--to", "447700900000,447700900000,447700900006,447700900001,447700900000,447700900002",
                       "--count", "6", "--wait", "3")


@case("smpplib-healthy-ucs2-long", None, "a long Cyrillic text: UCS-2 with a UDH and UDHI", S)
def _sh2(out: Path) -> dict:
    return sim_smpplib(out, "--text", UCS2_LONG + "{n}", "--count", "2")


@case("smpplib-healthy-cluster-tx-rx", None, "a transmitter on SMPP1, a receiver on SMPP2, one table of ids", S)
def _sh3(out: Path) -> dict:
    return sim_smpplib(out, "--bind", "tx,rx", "--count", "4", instances=("SMPP1", "SMPP2"))


@case("smpplib-healthy-idle-keepalive", None, "idle 5 s with enquire_link every second; the SMSC unbinds after 3 s idle", S)
def _sh4(out: Path) -> dict:
    return sim_smpplib(out, "--keepalive", "--idle", "5", "--count", "2", inactivity_timeout=3.0)


@case("smpplib-healthy-paced", None, "20 submits at 10/s, under the 30/s limit", S)
def _sh5(out: Path) -> dict:
    return sim_smpplib(out, "--count", "20", "--rate", "10")


@case("smpplib-healthy-intermediate", None, "ACCEPTD intermediate notifications, then DELIVRD: not duplicates", S)
def _sh6(out: Path) -> dict:
    return sim_smpplib(out, "--to", "447700900006", "--count", "3", "--wait", "3")


@case("perl-string-ids-sim", "id-mismatch",
      "Perl: transmitter + receiver against the simulator; the application compares ids as strings", P)
def _ph2(out: Path) -> dict:
    with simulator() as sim, capture(out / "capture.pcap", sim_ports(sim)):
        perl_app(out, sim.port("SMPP1"), "txrx", 3, "447700900000,447700900001")
    return {}


# Perl Net::SMPP and python-smpplib against the mini SMSC (not the simulator)


@case("perl-transmitter-only-mini", "transmitter-only", "Perl: a transmitter bind only", P, "mini-smsc")
def _p1(out: Path) -> dict:
    with mini_smsc() as port, capture(out / "capture.pcap", [port]):
        perl_app(out, port, "tx", 3, "447700900000")
    return {}


@case("perl-rd0-mini", "registered-delivery-0", "Perl: registered_delivery 0", P, "mini-smsc")
def _p2(out: Path) -> dict:
    with mini_smsc() as port, capture(out / "capture.pcap", [port]):
        perl_app(out, port, "txrx", 3, "447700900000", rd=0)
    return {}


@case("perl-mute-mini", "enquire-link-unanswered", "Perl: the receiver never answers the SMSC's enquire_link", P, "mini-smsc")
def _p3(out: Path) -> dict:
    with mini_smsc("--enquire", "1.5", "--enquire-timeout", "1") as port, capture(out / "capture.pcap", [port]):
        perl_app(out, port, "mute", 2, "447700900000")
    return {}


@case("perl-transmitter-only-sim", "transmitter-only", "Perl: a transmitter bind only, against the simulator", P)
def _p4(out: Path) -> dict:
    with simulator() as sim, capture(out / "capture.pcap", sim_ports(sim)):
        perl_app(out, sim.port("SMPP1"), "tx", 3, "447700900000")
    return {}


@case("smpplib-rd0-mini", "registered-delivery-0", "registered_delivery 0 against the mini SMSC", S, "mini-smsc")
def _m1(out: Path) -> dict:
    with mini_smsc() as port, capture(out / "capture.pcap", [port]):
        smpplib_app(out, [f"127.0.0.1:{port}"] * 2, "--bind", "tx,rx", "--resp-id", "decimal",
                    "--registered-delivery", "0", "--keepalive", "--count", "3")
    return {}


@case("smpplib-no-resp-mini", "receipt-resp-missing", "deliver_sm never answered; the mini SMSC resends", S, "mini-smsc")
def _m2(out: Path) -> dict:
    with mini_smsc() as port, capture(out / "capture.pcap", [port]):
        smpplib_app(out, [f"127.0.0.1:{port}"] * 2, "--bind", "tx,rx", "--resp-id", "decimal", "--no-resp",
                    "--keepalive", "--count", "2", "--wait", "7")
    return {}


@case("perl-healthy-txrx-mini", None, "Perl: transmitter + receiver, answers the SMSC's enquire_link", P, "mini-smsc")
def _ph1(out: Path) -> dict:
    with mini_smsc() as port, capture(out / "capture.pcap", [port]):
        perl_app(out, port, "txrx", 4, "447700900000,447700900001,447700900000")
    return {}


@case("smpplib-healthy-txrx-mini", None, "transmitter + receiver on the mini SMSC, decimal ids, keep-alive", S, "mini-smsc")
def _mh1(out: Path) -> dict:
    with mini_smsc() as port, capture(out / "capture.pcap", [port]):
        smpplib_app(out, [f"127.0.0.1:{port}"] * 2, "--bind", "tx,rx", "--resp-id", "decimal",
                    "--keepalive", "--count", "4", "--wait", "3")
    return {}


# --- running ---------------------------------------------------------------------------------


def make(selected: list[Case], root: Path = HERE) -> None:
    for c in selected:
        out = root / c.name
        shutil.rmtree(out, ignore_errors=True)
        out.mkdir(parents=True)
        t0 = time.monotonic()
        extra = c.run(out)
        for p in out.iterdir():
            p.chmod(0o644)  # dumpcap writes 0600
        artifacts = sorted(p.name for p in out.iterdir())
        meta = {"name": c.name, "cause": c.cause, "healthy": c.cause is None,
                "description": c.description, "peers": list(c.peers), "smsc": c.smsc,
                "artifacts": artifacts, **extra}
        (out / "case.json").write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
        size = sum(p.stat().st_size for p in out.iterdir())
        print(f"{c.name:34} {time.monotonic() - t0:5.1f} s {size / 1024:7.1f} KiB  {', '.join(artifacts)}",
              flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="cases to make (default: all)")
    parser.add_argument("--evaluate", action="store_true", help="only print the tables")
    parser.add_argument("--list", action="store_true")
    parser.add_argument("--out", type=Path, default=HERE, help="where the cases go (default: here)")
    args = parser.parse_args()
    if args.list:
        for c in CASES:
            print(f"{c.name:34} {c.cause or 'healthy'}")
        return
    if not args.evaluate:
        unknown = set(args.names) - {c.name for c in CASES}
        if unknown:
            sys.exit(f"unknown case(s): {', '.join(sorted(unknown))}")
        make([c for c in CASES if not args.names or c.name in args.names], args.out)
    from smppkit.diagnose.corpus import evaluate, tables

    print(tables(evaluate(args.out)))


if __name__ == "__main__":
    main()
