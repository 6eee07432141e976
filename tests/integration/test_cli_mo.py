"""`smppkit sim` for a first bind: it prints the account it accepts, and `--mo FILE` sends MO."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from smppkit import client

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]

LONG = "A reply from a handset that is far too long for one SMS, " * 4


def _start(*args: str) -> tuple[subprocess.Popen[str], list[str]]:
    proc = subprocess.Popen([sys.executable, "-m", "smppkit", "sim", "--port", "0", "--profile", "single", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    last = "MO message" if "--mo" in args else "clock:"
    lines: list[str] = []
    assert proc.stdout is not None
    while not lines or last not in lines[-1]:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line.rstrip("\n"))
    return proc, lines


def _stop(proc: subprocess.Popen[str]) -> None:
    proc.terminate()
    proc.wait(10)


def test_sim_prints_its_built_in_account_and_mo_from_a_file_arrive_whole(tmp_path):
    mo_file = tmp_path / "mo.txt"
    mo_file.write_text(f"# source destination text\n447700900123 smppkit {LONG}\n447700900124 smppkit short one\n")
    proc, lines = _start("--mo", str(mo_file))
    try:
        address = next(line.split()[-1] for line in lines if " listening on " in line)
        assert any("password secret, the simulator's built-in demo account" in line for line in lines)
        assert lines[-1] == "2 MO message(s) from --mo queued for account smppkit"
        conn = client.connect(address, bind="receiver")  # the default account binds: no ESME_RINVPASWD
        deadline = time.monotonic() + 5
        while len(conn.mo()) < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
        mo = conn.mo()
        conn.close()
    finally:
        _stop(proc)
    assert list(mo["text"]) == [LONG, "short one"]
    assert list(mo["parts"]) == [2, 1] and mo["complete"].all()


def test_sim_masks_an_account_given_on_the_command_line(tmp_path):
    proc, lines = _start("--account", "me:hunter2")
    try:
        assert any(line.startswith("account me (password ******)") for line in lines)
        assert not any("hunter2" in line for line in lines)
    finally:
        _stop(proc)


def test_a_malformed_mo_file_is_one_clear_error(tmp_path):
    bad = tmp_path / "bad.txt"
    bad.write_text("447700900123 only-two-fields\n")
    result = subprocess.run([sys.executable, "-m", "smppkit", "sim", "--port", "0", "--mo", str(bad)],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 2
    assert "line 1: expected SOURCE DESTINATION TEXT" in result.stderr
