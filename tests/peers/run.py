"""Start a peer SMSC (tests/peers/*.py) as a child process on a free port; stop it by its PID."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

HERE = Path(__file__).resolve().parent

#: name -> (script, environment a client needs: account and a destination number)
PEERS = {
    "mini": ("mini_smsc.py", {"SMPPKIT_SYSTEM_ID": "mini", "SMPPKIT_PASSWORD": "minipass"}),
    "smpp34": ("smpp34_smsc.py", {"SMPPKIT_SYSTEM_ID": "esme", "SMPPKIT_PASSWORD": "any"}),
}


@contextmanager
def peer(name: str, *args: str, timeout: float = 20.0) -> Iterator[tuple[str, dict[str, str]]]:
    """Run peer `name`; yield ("host:port", the SMPPKIT_* environment that points at it)."""
    script, account = PEERS[name]
    proc = subprocess.Popen([sys.executable, str(HERE / script), "--port", "0", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline() if proc.stdout else ""
        if not line.startswith("listening on "):
            raise RuntimeError(f"peer {name} did not start: {line!r} {proc.stderr.read() if proc.stderr else ''}")
        address = line.split()[-1]
        yield address, {"SMPPKIT_SMSC": address, "SMPPKIT_TO": "447000000001", **account}
    finally:
        proc.kill()
        proc.wait(timeout)
