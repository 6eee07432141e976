"""Kannel against the simulator: bearerbox + smsbox run with a generated kannel.conf.

`KannelLab` / `run` start bearerbox and smsbox on free ports against a running simulator
(or any ``{smsc-id: "host:port"}``), with a local HTTP listener for the dlr-url callbacks;
`KannelLab.receipts`, `dlr_frame` and `dlr_lookups` give what happened as DataFrames.

Strategy: everything lives in one temporary directory (config, logs, spool); nothing
listens on anything but 127.0.0.1. Processes are started in the foreground (no ``-d``)
with `subprocess.Popen` so we own their PIDs; `stop()` sends SIGTERM and, after a bounded
wait, SIGKILL -- bearerbox waits for the SMSC's unbind_resp and may never exit on SIGTERM
when it does not come (smpp-facts §5).
"""

from __future__ import annotations

import contextlib
import http.server
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from smppkit.kannel.config import DLR_URL_FIELDS, generate_config, mask_secrets, sendsms_url
from smppkit.kannel.dlr import dlr_lookups, dlr_type_name
from smppkit.kannel.logs import LOG_PREFIX

__all__ = ["KannelLab", "KannelNotInstalled", "SentMessage", "find_kannel", "run"]


class KannelNotInstalled(RuntimeError):
    """bearerbox/smsbox are not on this machine."""


def find_kannel() -> tuple[str, str]:
    """Paths of bearerbox and smsbox.

    Raises:
        KannelNotInstalled: either is missing (``apt-get install kannel`` provides both).
    """
    found = []
    for name in ("bearerbox", "smsbox"):
        path = shutil.which(name) or next(
            (p for p in (f"/usr/sbin/{name}", f"/usr/local/sbin/{name}") if os.access(p, os.X_OK)), None
        )
        if path is None:
            raise KannelNotInstalled(
                f"Kannel is not installed: no '{name}' on PATH or in /usr/sbin "
                "(on Debian/Ubuntu: apt-get install kannel)"
            )
        found.append(path)
    return found[0], found[1]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class SentMessage:
    """One sendsms call: what was sent and what smsbox answered."""

    label: str
    to: str
    text: str
    dlr_mask: int | None
    url: str  # as sent, password included; the repr masks it
    status: int
    body: str
    time: float = field(default_factory=time.time)

    def __repr__(self) -> str:
        return (f"SentMessage(label={self.label!r}, to={self.to!r}, text={self.text!r}, "
                f"dlr_mask={self.dlr_mask!r}, url={mask_secrets(self.url)!r}, "
                f"status={self.status!r}, body={self.body!r}, time={self.time!r})")


class _DlrHandler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        query = urllib.parse.urlsplit(self.path).query
        record: dict[str, Any] = {"received": time.time()}
        for key, value in urllib.parse.parse_qsl(query, keep_blank_values=True, encoding="latin-1"):
            record[key] = value
        self.server.records.append(record)  # type: ignore[attr-defined]
        body = b"ok"
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:  # keep test output clean
        pass


class KannelLab:
    """bearerbox + smsbox against the simulator, with a dlr-url listener. A context manager.

    ::

        with smppkit.simulator.start(seed=7, dlr_delay=0.1) as sim, KannelLab(sim) as lab:
            lab.send("447700900001", "hello", dlr_mask=19)
            lab.wait_for_dlrs(2)
            lab.dlr_frame()

    Args:
        target: a running simulator handle, or ``{smsc-id: "host:port"}``.
        instances: which simulator instances to bind (the document: both of SMPP1, SMPP2).
        system_id, password: SMPP credentials; default: the simulator's account.
        id_format: the SMSC's id format (default: the simulator's) -- picks msg-id-type.
        msg_id_type: 0-3, None (unset), or "auto" (`MSG_ID_TYPE_FOR[id_format]`).
        throughput: per-link messages/s, None for no limit.
        max_pending_submits, enquire_link_interval: as in `generate_config`.
        log_level: 0 dumps every PDU into bearerbox.log (what `kannel_logs` reads).
        workdir: where config and logs go (default: a new temp dir, removed by `stop()`
            unless `keep=True`).
        start_timeout: seconds to wait for the links to come online.
        stop_timeout: seconds to wait after SIGTERM before SIGKILL.
        **config: other `generate_config` arguments.

    Raises:
        KannelNotInstalled: no bearerbox/smsbox.
        TimeoutError: the links did not come online within `start_timeout` (the log tail
            is in the message).
    """

    def __init__(
        self,
        target: Any,
        *,
        instances: Sequence[str] = ("SMPP1", "SMPP2"),
        system_id: str | None = None,
        password: str | None = None,
        id_format: str | None = None,
        msg_id_type: int | None | str = "auto",
        throughput: float | None = 10.0,
        max_pending_submits: int = 10,
        enquire_link_interval: int = 30,
        log_level: int = 0,
        workdir: str | os.PathLike[str] | None = None,
        keep: bool = False,
        start_timeout: float = 20.0,
        stop_timeout: float = 5.0,
        **config: Any,
    ) -> None:
        self.bearerbox_bin, self.smsbox_bin = find_kannel()
        if isinstance(target, Mapping):
            smscs = {k: v for k, v in target.items() if not instances or k in instances}
        else:
            smscs = {name: target.address(name) for name in instances}
            account = target.account
            system_id = system_id or account.system_id
            password = password if password is not None else account.password
            id_format = id_format or target.sim.config.id_format
        self.smscs = smscs
        self.system_id = system_id or "smppkit"
        self._password = password if password is not None else "secret"
        self.id_format = id_format or "nexmo"
        self.msg_id_type = msg_id_type
        self.throughput = throughput
        self.start_timeout = start_timeout
        self.stop_timeout = stop_timeout
        self.keep = keep
        self._own_dir = workdir is None
        self.workdir = Path(workdir or tempfile.mkdtemp(prefix="smppkit-kannel-"))
        self.admin_port = _free_port()
        self.smsbox_port = _free_port()
        self.sendsms_port = _free_port()
        self.admin_password = "lab-admin"
        self.sendsms_username = "lab"
        self.sendsms_password = "lab-pass"
        self.config_text = generate_config(
            smscs,
            system_id=self.system_id,
            password=self._password,
            id_format=self.id_format,
            msg_id_type=msg_id_type,
            throughput=throughput,
            max_pending_submits=max_pending_submits,
            enquire_link_interval=enquire_link_interval,
            admin_port=self.admin_port,
            admin_password=self.admin_password,
            smsbox_port=self.smsbox_port,
            sendsms_port=self.sendsms_port,
            sendsms_username=self.sendsms_username,
            sendsms_password=self.sendsms_password,
            log_dir=str(self.workdir),
            log_level=log_level,
            **config,
        )
        self.config_path = self.workdir / "kannel.conf"
        self.bearerbox_log = self.workdir / "bearerbox.log"
        self.smsbox_log = self.workdir / "smsbox.log"
        self.access_log = self.workdir / "access.log"
        self.smsbox_access_log = self.workdir / "smsbox-access.log"
        self.sent: list[SentMessage] = []
        self.dlrs: list[dict[str, Any]] = []
        self._procs: dict[str, subprocess.Popen[bytes]] = {}
        self._http: http.server.ThreadingHTTPServer | None = None
        self._http_thread: threading.Thread | None = None
        self._labels = 0
        self._lock = threading.Lock()

    # -- life cycle --
    def start(self) -> KannelLab:
        """Write the config, start the dlr listener, bearerbox and smsbox; wait for the links."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.config_path.write_text(self.config_text, encoding="utf-8")
        self._http = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _DlrHandler)
        self._http.records = self.dlrs  # type: ignore[attr-defined]
        self._http.daemon_threads = True
        self._http_thread = threading.Thread(
            target=self._http.serve_forever, kwargs={"poll_interval": 0.1},
            name="smppkit-kannel-dlr", daemon=True,
        )
        self._http_thread.start()
        try:
            self._spawn("bearerbox", self.bearerbox_bin)
            self._wait(lambda: self._status() is not None, "bearerbox's admin page")
            self._spawn("smsbox", self.smsbox_bin)
            self.wait_online()
            self._wait(self._sendsms_up, "smsbox's sendsms port")
        except BaseException:
            self.stop()
            raise
        return self

    def _spawn(self, name: str, binary: str) -> None:
        out = open(self.workdir / f"{name}.stdout", "wb")  # noqa: SIM115 (owned by the child)
        try:
            # -v 2: only warnings on stderr; the log file keeps the full log-level detail
            self._procs[name] = subprocess.Popen(
                [binary, "-v", "2", str(self.config_path)],
                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                cwd=self.workdir,
            )
        finally:
            out.close()

    def _wait(self, ready: Any, what: str, timeout: float | None = None) -> None:
        deadline = time.monotonic() + (timeout or self.start_timeout)
        while time.monotonic() < deadline:
            for name, proc in self._procs.items():
                if proc.poll() is not None:
                    raise RuntimeError(
                        f"{name} exited with status {proc.returncode} while waiting for {what}:\n"
                        + self._tail(name)
                    )
            if ready():
                return
            time.sleep(0.1)
        raise TimeoutError(f"timed out after {timeout or self.start_timeout:g} s waiting for {what}:\n"
                           + self._tail("bearerbox"))

    def _tail(self, name: str, lines: int = 15) -> str:
        texts = []
        for path in (self.workdir / f"{name}.stdout", self.workdir / f"{name}.log"):
            if path.exists():
                texts += path.read_text(errors="replace").splitlines()[-lines:]
        return "\n".join(texts)

    def _status(self, kind: str = "txt") -> str | None:
        url = f"http://127.0.0.1:{self.admin_port}/status.{kind}?password={self.admin_password}"
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                return resp.read().decode("utf-8", "replace")
        except OSError:
            return None

    def status(self) -> str:
        """bearerbox's /status.txt ("" when it does not answer)."""
        return self._status() or ""

    def links(self) -> dict[str, str]:
        """``{link: state}`` from /status.xml: "online", "connecting", "re-connecting", ...

        A link is named by its smsc-admin-id (the `smscs` key), else its smsc-id.
        """
        xml = self._status("xml") or ""
        out = {}
        for block in re.findall(r"<smsc>(.*?)</smsc>", xml, re.S):
            sid = re.search(r"<admin-id>(.+?)</admin-id>", block) or re.search(r"<id>(.*?)</id>", block)
            state = re.search(r"<status>(.*?)</status>", block)
            if sid and state:
                out[sid.group(1)] = state.group(1).split()[0]
        return out

    def wait_online(self, timeout: float | None = None) -> None:
        """Block until every SMPP link is online (bound).

        Raises:
            TimeoutError: not within `timeout` (default `start_timeout`).
        """
        def online() -> bool:
            links = self.links()
            return all(links.get(name) == "online" for name in self.smscs)

        self._wait(online, f"SMPP links {', '.join(self.smscs)} online", timeout)

    def _sendsms_up(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.sendsms_port), timeout=1):
                return True
        except OSError:
            return False

    def stop(self) -> dict[str, int | None]:
        """Stop smsbox, then bearerbox, by PID: SIGTERM, then SIGKILL after `stop_timeout`.

        Returns:
            ``{name: exit status}``; a negative status is the signal that ended it
            (-9: it had to be killed, which happens when the SMSC does not answer unbind).
        """
        codes: dict[str, int | None] = {}
        for name in ("smsbox", "bearerbox"):
            proc = self._procs.pop(name, None)
            if proc is None:
                continue
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(self.stop_timeout)
                except subprocess.TimeoutExpired:
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(proc.pid, signal.SIGKILL)
                    proc.wait(5)
            codes[name] = proc.returncode
        if self._http is not None:
            self._http.shutdown()
            self._http.server_close()
            self._http = None
        if self._own_dir and not self.keep:
            shutil.rmtree(self.workdir, ignore_errors=True)
        return codes

    def __enter__(self) -> KannelLab:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def pids(self) -> dict[str, int]:
        return {name: p.pid for name, p in self._procs.items() if p.poll() is None}

    # -- sending --
    @property
    def dlr_base(self) -> str:
        assert self._http is not None, "start() first"
        return f"http://127.0.0.1:{self._http.server_address[1]}/dlr"

    def dlr_url(self, label: str) -> str:
        """The dlr-url for one message: every `DLR_URL_FIELDS` escape plus its label."""
        fields = "&".join(f"{k}={v}" for k, v in DLR_URL_FIELDS.items())
        return f"{self.dlr_base}?label={urllib.parse.quote(label)}&{fields}"

    def send(
        self,
        to: str,
        text: str,
        *,
        dlr_mask: int | None = 31,
        from_: str = "smppkit",
        charset: str | None = "UTF-8",
        label: str | None = None,
        smsc: str | None = None,
        timeout: float = 10.0,
        **extra: object,
    ) -> SentMessage:
        """Send one text through smsbox's sendsms, with a dlr-url back to this lab.

        Args:
            to: receiver; the simulator's test numbers 447700900000..9 choose the outcome.
            text: the message; over 160 characters it goes out as a concatenated message.
            dlr_mask: Kannel dlr-mask; None sends no dlr-mask (and no dlr-url).
            label: correlates callbacks with this send (``label`` in `dlrs`); default "m1", ...
            Others: as in `sendsms_url`.

        Returns:
            A `SentMessage`; ``status`` 202 and body "0: Accepted for delivery" mean queued.
        """
        with self._lock:
            self._labels += 1
            label = label or f"m{self._labels}"
        url = sendsms_url(
            to, text, base=f"http://127.0.0.1:{self.sendsms_port}",
            username=self.sendsms_username, password=self.sendsms_password,
            from_=from_, charset=charset, dlr_mask=dlr_mask,
            dlr_url=self.dlr_url(label) if dlr_mask else None, smsc=smsc, **extra,
        )
        try:
            with urllib.request.urlopen(url, timeout=timeout) as resp:
                status, body = resp.status, resp.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as exc:
            status, body = exc.code, exc.read().decode("utf-8", "replace")
        sent = SentMessage(label, to, text, dlr_mask, url, status, body.strip())
        self.sent.append(sent)
        return sent

    def wait_for_dlrs(self, n: int = 1, timeout: float = 10.0, **match: str) -> list[dict[str, Any]]:
        """Wait until at least `n` callbacks match `match` (e.g. ``label="m1", d="1"``).

        Returns:
            The matching callbacks so far (possibly fewer than `n` after `timeout`).
        """
        deadline = time.monotonic() + timeout
        while True:
            got = [r for r in list(self.dlrs) if all(r.get(k) == v for k, v in match.items())]
            if len(got) >= n or time.monotonic() >= deadline:
                return got
            time.sleep(0.05)

    def dlr_frame(self) -> Any:
        """The dlr-url callbacks as a DataFrame: received, label and the `DLR_URL_FIELDS` keys."""
        import pandas as pd

        columns = ["received", "label", *DLR_URL_FIELDS]
        frame = pd.DataFrame(list(self.dlrs), columns=columns)
        frame["d"] = pd.to_numeric(frame["d"], errors="coerce").astype("Int64")
        return frame

    def receipts(self) -> Any:
        """The dlr-url callbacks with stable columns only, sorted -- for notebooks and reports.

        No ports, times or ids: ``label``, ``to`` (the receiver, Kannel's %p), ``dlr_mask``
        (of the send), ``d`` (Int64), ``dlr`` (`dlr_type_name` of d) and ``report``: "stat:X
        err:N" of a handset receipt, or the SMSC reply "ACK/" / "NACK/0x.../text". Rows are
        in send order, then SMSC replies, intermediate receipts, final receipts -- not in
        arrival order, which two links and a threaded listener make vary.
        """
        import pandas as pd

        order = {s.label: i for i, s in enumerate(self.sent)}
        masks = {s.label: s.dlr_mask for s in self.sent}
        rows = []
        for r in list(self.dlrs):
            raw = str(r.get("d", ""))
            d = int(raw) if raw.isdigit() else None
            text = r.get("A", "")
            stat, err = re.search(r"stat:(\S+)", text), re.search(r"err:(\S+)", text)
            report = f"stat:{stat.group(1)} err:{err.group(1) if err else '?'}" if stat else text
            phase = 3 if d is None else 0 if d & (8 | 16) else 1 if d & 4 else 2
            rows.append(((order.get(r.get("label"), len(order)), phase, d or 0, report), {
                "label": r.get("label"), "to": r.get("p"), "dlr_mask": masks.get(r.get("label")),
                "d": d, "dlr": dlr_type_name(d), "report": report,
            }))
        rows.sort(key=lambda row: row[0])
        columns = ["label", "to", "dlr_mask", "d", "dlr", "report"]
        frame = pd.DataFrame([row for _, row in rows], columns=columns)
        for column in ("dlr_mask", "d"):
            frame[column] = frame[column].astype("Int64")
        return frame

    def log_lines(self, *needles: str, which: str = "bearerbox") -> list[str]:
        """Lines of a log that contain any of `needles` (all lines if none), without the
        ``date time [pid] [thread]`` prefix: "WARNING: DLR[internal]: DLR from ... not found."."""
        lines = []
        for line in self.log_text(which).splitlines():
            if not needles or any(n in line for n in needles):
                lines.append(LOG_PREFIX.sub("", line))
        return lines

    def wait_for_log(self, *needles: str, n: int = 1, timeout: float = 10.0,
                     which: str = "bearerbox") -> list[str]:
        """Wait until at least `n` lines contain one of `needles`; return them (maybe fewer
        after `timeout`). Kannel logs as it goes, so this is how to wait for a receipt that
        produces no callback (dlr-mask drops it, or it is "not found")."""
        deadline = time.monotonic() + timeout
        while True:
            got = self.log_lines(*needles, which=which)
            if len(got) >= n or time.monotonic() >= deadline:
                return got
            time.sleep(0.05)

    def dlr_lookups(self) -> Any:
        """`dlr_lookups` of this lab's bearerbox.log (needs log_level 0, the lab's default)."""
        from smppkit.kannel.logs import read_bearerbox_log

        events, _ = read_bearerbox_log(self.bearerbox_log)
        return dlr_lookups(events)

    @property
    def sendsms_base(self) -> str:
        """scheme://host:port of this lab's sendsms interface."""
        return f"http://127.0.0.1:{self.sendsms_port}"

    def test_url(self, to: str = "447700900000", text: str = "Hello World", *, dlr_mask: int = 17,
                 label: str = "test") -> str:
        """The source document's test URL for this lab, with a dlr-url back to its listener.

        Defaults as in the document (``dlr-mask=17``, ``from=test``, ISO-8859-1); the
        receiver is the simulator's "delivered" test number.
        """
        return sendsms_url(
            to, text, base=self.sendsms_base, username=self.sendsms_username,
            password=self.sendsms_password, dlr_mask=dlr_mask, dlr_url=self.dlr_url(label),
        )

    def events(self) -> tuple[list[dict[str, Any]], list[tuple[int, str]]]:
        """bearerbox.log + access.log read by `smppkit.kannel_logs.read_kannel_logs`."""
        from smppkit.kannel.logs import read_kannel_logs

        return read_kannel_logs(self.bearerbox_log, self.access_log)

    def log_text(self, which: str = "bearerbox") -> str:
        """The text of "bearerbox", "smsbox", "access" or "smsbox-access" log ("" if absent)."""
        path = {
            "bearerbox": self.bearerbox_log, "smsbox": self.smsbox_log,
            "access": self.access_log, "smsbox-access": self.smsbox_access_log,
        }[which]
        return path.read_text(errors="replace") if path.exists() else ""


def run(target: Any, **options: Any) -> KannelLab:
    """Start a `KannelLab` against `target` (a simulator handle or ``{smsc-id: "host:port"}``).

    Stop it with ``lab.stop()`` or use it in a ``with`` block. See `KannelLab` for options.
    """
    return KannelLab(target, **options).start()
