"""`make lab` as the README says: it prints the URL, the server answers there, and it adds
--allow-root only when run as root. Uses the venv running the tests (no install)."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from test_cli_sim import _free_block

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]


def _children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in path.read_text().split()] if path.exists() else []


@pytest.mark.skipif(shutil.which("make") is None, reason="no make")
def test_make_lab_prints_a_working_url(tmp_path):
    venv = Path(sys.executable).parent.parent
    if not (venv / "bin" / "jupyter").exists():
        pytest.skip("jupyter is not installed next to this Python")
    port = _free_block(1)
    env = {**os.environ, "JUPYTER_RUNTIME_DIR": str(tmp_path), "DISPLAY": ""}
    proc = subprocess.Popen(
        ["make", "-s", "-C", str(ROOT), "-o", f"{venv}/.installed", "lab", f"VENV={venv}",
         f"PORT={port}"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
        start_new_session=True,
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        match = re.match(rf"JupyterLab: (http://127\.0\.0\.1:{port}/lab\?token=(\w+)) ", first)
        assert match, first
        status = None
        deadline = time.monotonic() + 60
        while status is None and time.monotonic() < deadline and proc.poll() is None:
            try:
                with urllib.request.urlopen(
                        f"http://127.0.0.1:{port}/api/status?token={match[2]}", timeout=2) as r:
                    status = r.status
            except OSError:
                time.sleep(0.5)
        assert status == 200
        with urllib.request.urlopen(match[1], timeout=10) as r:
            assert r.status == 200 and b"JupyterLab" in r.read()
        cmdlines = [Path(f"/proc/{c}/cmdline").read_bytes().split(b"\0")
                    for c in _children(proc.pid)]
        lab = next(c for c in cmdlines if any(b"jupyter" in part for part in c))
        assert (b"--allow-root" in lab) == (os.getuid() == 0)
        assert b"--no-browser" in lab  # no display
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)
